// Engine interoperability: `peerkit get` and `peerkit seed` against clients
// we did not write, and against each other, as real processes on loopback.
//
//   1. libtorrent seeds, `peerkit get` downloads                 byte-identical
//   2. `peerkit seed` seeds, libtorrent downloads                byte-identical
//   3. `peerkit seed` seeds, aria2 downloads                     byte-identical
//   4. a multi-file torrent with nested folders, an empty file and non-ASCII
//      names, both ways (libtorrent → peerkit, peerkit → libtorrent): the
//      whole tree identical
//   5. a swarm: one `peerkit seed` (upload capped), six `peerkit get` and one
//      libtorrent leecher started together; all finish, all identical, and
//      the peerkit leechers uploaded a good share of it to one another
//   6. `peerkit get` killed (SIGKILL) halfway and started again resumes: it
//      finds exactly the pieces that are correct on disk, and the seeder
//      sends it only the rest
//
// Every peer finds the others through one `peerkit tracker` process on
// 127.0.0.1 (HTTP only). The torrents are private (BEP 27), libtorrent has
// DHT, local peer discovery, UPnP and NAT-PMP off (test/interop/py/
// lt_peer.py), aria2 has DHT, LPD and PEX off, and every peerkit process
// listens on 127.0.0.1 (--host): the tracker is the only way to meet.
// Every peerkit process keeps its resume data under its own XDG_DATA_HOME
// in the test's temporary folder.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { decode, type BValue } from '../../src/bencode/index.js';
import { formatBytes } from '../../src/cli/format.js';
import { parseTorrent, type Metainfo } from '../../src/metainfo/index.js';
import { hasCommand, libtorrentPython, PEERKIT_BIN, PY_DIR, requireTool, run } from './tools.js';

const HOST = '127.0.0.1';
const KiB = 1024;
const MiB = 1024 * KiB;
/** Most one wait may take (a start, a download, an exit); the tests take a few seconds each. */
const WAIT_MS = 30_000;

let work: string | undefined;
let tracker: Proc | undefined;
/** The tracker's announce URL, http://127.0.0.1:<port>/announce. */
let announceUrl: string;
/** Every child process still running, whichever test started it. */
const live = new Set<Proc>();

// A test runner that gives up on this file (a timeout, Ctrl-C) must not
// leave seeders behind: kill what is left, synchronously, on the way out.
function killEverything(): void {
  for (const p of live) p.kill('SIGKILL');
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
}
process.once('exit', killEverything);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killEverything();
    process.exit(130);
  });
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'peerkit-interop-engine-'));
  // A short interval: a peer that announced before the others re-announces
  // soon and hears of them (they also dial it, which is how it usually goes).
  tracker = pk('tracker', ['tracker', '--host', HOST, '--http-port', '0', '--udp-port', 'off', '--interval', '5'], join(work, 'xdg-tracker'));
  const m = await tracker.waitFor('the tracker to print its announce URL', () => /announce\s+(http:\/\/127\.0\.0\.1:\d+\/announce)/.exec(tracker!.stdout) ?? undefined);
  announceUrl = m[1]!;
});

after(async () => {
  const procs = [...live];
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exit));
  if (work !== undefined) await rm(work, { recursive: true, force: true });
  work = undefined;
});

// ---------------------------------------------------------------------------
// The tests

test('libtorrent seeds, peerkit get downloads: byte-identical', { timeout: 60_000 }, async (t) => {
  const py = libtorrentPython();
  if (!requireTool(t, 'libtorrent Python bindings', py, 'python3-libtorrent') || py === undefined) return;
  await withCase(t, 'lt-to-pk', async (c) => {
    const data = await randomFile(join(c.dir, 'seed', 'payload.bin'), 8 * MiB + 12_345);
    const meta = await c.create(join(c.dir, 'seed', 'payload.bin'), 64 * KiB);
    const seeder = await startLt(c, py, 'libtorrent seeder', meta.torrent, join(c.dir, 'seed'), 'seed');
    await seederListed(meta, seeder);

    const get = c.pk('peerkit get', ['get', meta.torrent, '-o', join(c.dir, 'get'), ...LOOPBACK]);
    await get.succeeds();
    assert.match(get.stdout, new RegExp(`downloaded ${escape(formatBytes(data.length))} in .*; uploaded .*; payload\\.bin is complete in`));
    assert.ok((await readFile(join(c.dir, 'get', 'payload.bin'))).equals(data), 'peerkit\'s download is byte-identical');
  });
});

test('peerkit seed seeds, libtorrent downloads: byte-identical', { timeout: 60_000 }, async (t) => {
  const py = libtorrentPython();
  if (!requireTool(t, 'libtorrent Python bindings', py, 'python3-libtorrent') || py === undefined) return;
  await withCase(t, 'pk-to-lt', async (c) => {
    const data = await randomFile(join(c.dir, 'seed', 'payload.bin'), 8 * MiB + 12_345);
    const meta = await c.create(join(c.dir, 'seed', 'payload.bin'), 64 * KiB);
    const seeder = await startPkSeeder(c, meta, join(c.dir, 'seed', 'payload.bin'));

    const leecher = await startLt(c, py, 'libtorrent leecher', meta.torrent, join(c.dir, 'lt'), 'leech');
    await leecher.event('the download to complete', (e) => e.event === 'complete');
    await leecher.quit();
    assert.ok((await readFile(join(c.dir, 'lt', 'payload.bin'))).equals(data), 'libtorrent\'s download is byte-identical');
    // The seeder was the only source: it sent at least the whole file.
    const sent = await stopSeeder(seeder);
    assert.ok(sent >= data.length * 0.99, `peerkit seed uploaded ${formatBytes(sent)} of ${formatBytes(data.length)}`);
  });
});

test('peerkit seed --super-seed (BEP 16): libtorrent and aria2 download from it at once, byte-identical', { timeout: 90_000 }, async (t) => {
  const py = libtorrentPython();
  if (!requireTool(t, 'libtorrent Python bindings', py, 'python3-libtorrent') || py === undefined) return;
  if (!requireTool(t, 'aria2c', hasCommand('aria2c'), 'aria2')) return;
  await withCase(t, 'pk-super-seed', async (c) => {
    const data = await randomFile(join(c.dir, 'seed', 'payload.bin'), 8 * MiB + 12_345);
    const meta = await c.create(join(c.dir, 'seed', 'payload.bin'), 64 * KiB);
    const seeder = await startPkSeeder(c, meta, join(c.dir, 'seed', 'payload.bin'), ['--super-seed']);
    assert.match(seeder.stdout, /super-seeding/);
    // They see a seeder that has nothing, then a piece or two at a time: each must still get everything.
    const lt = await startLt(c, py, 'libtorrent leecher', meta.torrent, join(c.dir, 'lt'), 'leech');
    const aria = await startAria2(c, meta.torrent, join(c.dir, 'aria2'));
    await Promise.all([lt.event('the download to complete', (e) => e.event === 'complete'), aria.succeeds()]);
    await lt.quit();
    assert.ok((await readFile(join(c.dir, 'lt', 'payload.bin'))).equals(data), "libtorrent's download is byte-identical");
    assert.ok((await readFile(join(c.dir, 'aria2', 'payload.bin'))).equals(data), "aria2's download is byte-identical");
    // What super-seeding puts on the wire (have-none, a piece or two at a time, rejects) is checked with a scripted
    // peer in test/engine/wire-behaviour.test.ts; here, that two clients we did not write cope with it.
    await stopSeeder(seeder);
  });
});

test('peerkit seed seeds, aria2 downloads: byte-identical', { timeout: 60_000 }, async (t) => {
  if (!requireTool(t, 'aria2c', hasCommand('aria2c'), 'aria2')) return;
  await withCase(t, 'pk-to-aria2', async (c) => {
    const data = await randomFile(join(c.dir, 'seed', 'payload.bin'), 8 * MiB + 12_345);
    const meta = await c.create(join(c.dir, 'seed', 'payload.bin'), 64 * KiB);
    // -v: the seeder says why it drops a connection.
    const seeder = await startPkSeeder(c, meta, join(c.dir, 'seed', 'payload.bin'), ['-v']);

    const aria = await startAria2(c, meta.torrent, join(c.dir, 'aria2'));
    // aria2 retries a dropped peer for a while before it gives up (20 s of
    // nothing, --bt-stop-timeout): fail at once when peerkit rejects what
    // aria2 sent, with the reason.
    const rejected = seeder.waitFor('a rejection', () => /^peerkit: disconnected from .*: (?:a second bitfield|.* after the piece list|.* without the fast extension)$/m.exec(seeder.stderr)?.[0], 60_000);
    rejected.catch(() => undefined);
    await Promise.race([aria.succeeds(), rejected.then((line) => assert.fail(`peerkit seed dropped aria2 for what it sent: "${line}"`))]);
    assert.ok((await readFile(join(c.dir, 'aria2', 'payload.bin'))).equals(data), 'aria2\'s download is byte-identical');
    const sent = await stopSeeder(seeder);
    assert.ok(sent >= data.length * 0.99, `peerkit seed uploaded ${formatBytes(sent)} of ${formatBytes(data.length)}`);
  });
});

test('a multi-file torrent with nested folders, an empty file and non-ASCII names, libtorrent → peerkit and peerkit → libtorrent', { timeout: 60_000 }, async (t) => {
  const py = libtorrentPython();
  if (!requireTool(t, 'libtorrent Python bindings', py, 'python3-libtorrent') || py === undefined) return;
  await withCase(t, 'tree', async (c) => {
    // Sizes that are not multiples of the piece length, so pieces straddle files.
    const src = join(c.dir, 'src');
    const tree = join(src, 'tree');
    await randomFile(join(tree, 'a', 'b', 'c.bin'), 1_500_000);
    await randomFile(join(tree, 'a', 'd.bin'), 700_001);
    await writeFile(join(tree, 'e.txt'), 'hello, swarm\n');
    await writeFile(join(tree, 'empty.dat'), '');
    await randomFile(join(tree, 'ünï cødé', 'ファイル №1.bin'), 300_007);
    await randomFile(join(tree, 'z', 'y', 'x', 'last.bin'), 40_000);
    // Two torrents of the same tree (the source tag changes the infohash), so
    // the two directions are two swarms: each leecher has one possible source.
    const one = await c.create(tree, 32 * KiB, 'lt-to-pk');
    const two = await c.create(tree, 32 * KiB, 'pk-to-lt');
    assert.equal(one.metainfo.files.length, 6);

    // libtorrent seeds (save path: the folder that holds `tree`), peerkit gets.
    const ltSeeder = await startLt(c, py, 'libtorrent seeder', one.torrent, src, 'seed');
    await seederListed(one, ltSeeder);
    const get = c.pk('peerkit get', ['get', one.torrent, '-o', join(c.dir, 'pk'), ...LOOPBACK]);
    await get.succeeds();
    assert.match(get.stdout, /tree is complete in/);
    await sameTree(tree, join(c.dir, 'pk', 'tree'));
    await ltSeeder.quit();

    // peerkit seeds (the data path: the tree itself), libtorrent gets.
    const seeder = await startPkSeeder(c, two, tree);
    const leecher = await startLt(c, py, 'libtorrent leecher', two.torrent, join(c.dir, 'lt'), 'leech');
    await leecher.event('the download to complete', (e) => e.event === 'complete');
    await leecher.quit();
    await sameTree(tree, join(c.dir, 'lt', 'tree'));
    const sent = await stopSeeder(seeder);
    assert.ok(sent >= two.metainfo.length * 0.99, `peerkit seed uploaded ${formatBytes(sent)} of ${formatBytes(two.metainfo.length)}`);
  });
});

test('a swarm of one peerkit seeder, six peerkit leechers and one libtorrent leecher: all finish, and the leechers trade', { timeout: 75_000 }, async (t) => {
  const py = libtorrentPython();
  if (!requireTool(t, 'libtorrent Python bindings', py, 'python3-libtorrent') || py === undefined) return;
  await withCase(t, 'swarm', async (c) => {
    const SIZE = 4 * MiB;
    const LEECHERS = 6;
    const data = await randomFile(join(c.dir, 'seed', 'payload.bin'), SIZE);
    const meta = await c.create(join(c.dir, 'seed', 'payload.bin'), 32 * KiB);
    // At 1 MiB/s the seeder alone would need 7 × 4 s to serve everyone one
    // copy: the leechers have to trade pieces to finish in a few seconds.
    const seeder = await startPkSeeder(c, meta, join(c.dir, 'seed', 'payload.bin'), ['--max-upload', '1M']);

    const began = performance.now();
    const gets = Array.from({ length: LEECHERS }, (_, i) => c.pk(`peerkit get #${i + 1}`, ['get', meta.torrent, '-o', join(c.dir, `pk${i + 1}`), ...LOOPBACK]));
    const lt = await startLt(c, py, 'libtorrent leecher', meta.torrent, join(c.dir, 'lt'), 'leech');
    await Promise.all([...gets.map((g) => g.succeeds(60_000)), lt.event('the download to complete', (e) => e.event === 'complete', 60_000)]);
    const seconds = (performance.now() - began) / 1000;
    await lt.quit();

    for (let i = 0; i < LEECHERS; i++) {
      assert.ok((await readFile(join(c.dir, `pk${i + 1}`, 'payload.bin'))).equals(data), `peerkit leecher #${i + 1}'s download is byte-identical`);
    }
    assert.ok((await readFile(join(c.dir, 'lt', 'payload.bin'))).equals(data), 'libtorrent\'s download is byte-identical');

    const uploaded = gets.map((g) => summaryBytes(g, 'uploaded'));
    const seederSent = await stopSeeder(seeder);
    const peerkitShare = uploaded.reduce((a, b) => a + b, 0);
    const report = `swarm of ${formatBytes(SIZE)} × ${LEECHERS + 1} leechers in ${seconds.toFixed(1)} s: seeder uploaded ${formatBytes(seederSent)}, peerkit leechers ${uploaded.map((u) => formatBytes(u)).join(' + ')} = ${formatBytes(peerkitShare)}`;
    t.diagnostic(report);
    // Seven copies went out in all. Had the leechers only downloaded, the
    // seeder would have sent them all; the peerkit leechers must have sent
    // at least two whole copies between them, and more than one of them must
    // have uploaded something.
    assert.ok(peerkitShare >= 2 * SIZE, `the peerkit leechers traded too little: ${report}`);
    assert.ok(uploaded.filter((u) => u > 0).length >= 2, `only one peerkit leecher uploaded: ${report}`);
    assert.ok(seederSent < (LEECHERS + 1) * SIZE * 0.75, `the seeder sent most of the data itself: ${report}`);
  });
});

test('peerkit get killed halfway (SIGKILL) resumes without downloading verified pieces again', { timeout: 60_000 }, async (t) => {
  await withCase(t, 'resume', async (c) => {
    const SIZE = 4 * MiB;
    const data = await randomFile(join(c.dir, 'seed', 'payload.bin'), SIZE);
    const meta = await c.create(join(c.dir, 'seed', 'payload.bin'), 32 * KiB);
    const { pieceLength, pieceCount } = meta.metainfo;
    const out = join(c.dir, 'get');
    const file = join(out, 'payload.bin');
    // Capped, so the download takes about four seconds and can be caught halfway.
    const slow = await startPkSeeder(c, meta, join(c.dir, 'seed', 'payload.bin'), ['--max-upload', '1M']);

    // 1. Download until at least 40% of the pieces are correct on disk, then SIGKILL.
    const first = c.pk('peerkit get (killed)', ['get', meta.torrent, '-o', out, '-v', ...LOOPBACK]);
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      if (first.exited) assert.fail(`peerkit get exited before it could be killed halfway (is --max-upload honoured?)\n${first.describe()}`);
      if ((await correctPieces(meta.metainfo, file)).length >= 0.4 * pieceCount) break;
      if (Date.now() > deadline) assert.fail(`peerkit get did not get 40% of the pieces in ${WAIT_MS / 1000} s\n${first.describe()}`);
      await sleep(50);
    }
    first.kill('SIGKILL');
    await first.exit;
    assert.equal(first.signal, 'SIGKILL');
    const n = (await correctPieces(meta.metainfo, file)).length;
    assert.ok(n >= 0.4 * pieceCount && n < pieceCount, `${n} of ${pieceCount} pieces correct on disk after the kill`);
    t.diagnostic(`killed with ${n} of ${pieceCount} pieces correct on disk`);

    // 2. A fresh, uncapped seeder, so everything it sends is what the second
    // run asked for: the first one's count includes the killed run's.
    await stopSeeder(slow);
    const seeder = await startPkSeeder(c, meta, join(c.dir, 'seed', 'payload.bin'));

    // 3. The same command again.
    const second = c.pk('peerkit get (restarted)', ['get', meta.torrent, '-o', out, '-v', ...LOOPBACK]);
    await second.succeeds();
    assert.ok((await readFile(file)).equals(data), 'the resumed download is byte-identical');
    // The data had been written since the last resume save (or there was
    // none): every piece on disk is hashed again, and exactly the correct
    // ones are kept.
    assert.match(second.stderr, new RegExp(`resuming: ${n} of ${pieceCount} pieces already verified`), second.describe());
    const missing = SIZE - n * pieceLength;
    assert.match(second.stdout, new RegExp(`^downloaded ${escape(formatBytes(missing))} in `, 'm'));
    // What went over the wire: the seeder sent the missing pieces, and not
    // the ones on disk again (slack: two pieces of requests in flight, and
    // the summary's rounding to a tenth of a MiB).
    const sent = await stopSeeder(seeder);
    const rounding = 0.05 * MiB;
    assert.ok(sent >= missing - rounding && sent <= missing + 2 * pieceLength + rounding, `the seeder sent ${formatBytes(sent)} to the resumed download, which lacked ${formatBytes(missing)}`);
    // And -v says what the check found.
    assert.match(second.stderr, new RegExp(`^peerkit: checked existing data: ${n} pieces verified \\(`, 'm'), second.describe());
  });
});

// ---------------------------------------------------------------------------
// One test's folder and processes

/** Every peerkit get/seed listens on loopback only, on a port of its choosing. */
// --no-dht: the torrents here are private anyway (BEP 27), and a test must never reach the public DHT routers.
const LOOPBACK = ['--host', HOST, '--port', '0', '--no-dht'] as const;

interface Created {
  readonly torrent: string;
  readonly metainfo: Metainfo;
}

class Case {
  readonly procs: Proc[] = [];
  constructor(
    readonly dir: string,
    /** XDG_DATA_HOME of this test's peerkit processes (resume data). */
    readonly xdg: string,
  ) {}

  pk(name: string, args: readonly string[]): Proc {
    const p = pk(name, args, this.xdg);
    this.procs.push(p);
    return p;
  }

  /** `peerkit create --private` naming the test tracker only. */
  async create(path: string, pieceLength: number, source?: string): Promise<Created> {
    const torrent = join(this.dir, `${source ?? 'payload'}.torrent`);
    await run(
      process.execPath,
      [PEERKIT_BIN, 'create', path, '-t', announceUrl, '--private', '-l', String(pieceLength), '-o', torrent, '-f', '--json', ...(source !== undefined ? ['-s', source] : [])],
      { env: { ...process.env, XDG_DATA_HOME: this.xdg } },
    );
    const metainfo = parseTorrent(await readFile(torrent));
    assert.equal(metainfo.private, true);
    return { torrent, metainfo };
  }
}

/**
 * Run one test in its own folder; on failure print what every process said
 * (an interop failure is debugged from that); always kill its processes and
 * remove the folder.
 */
async function withCase(t: TestContext, name: string, body: (c: Case) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(work!, `${name}-`));
  const c = new Case(dir, join(dir, 'xdg'));
  try {
    await body(c);
  } catch (e) {
    process.stderr.write(`--- ${t.name}: tracker ${announceUrl}\n${c.procs.map((p) => p.describe()).join('\n')}\n`);
    throw e;
  } finally {
    for (const p of c.procs) p.kill('SIGKILL');
    await Promise.all(c.procs.map((p) => p.exit));
    await rm(dir, { recursive: true, force: true });
  }
}

/** A child process whose output the test follows. */
class Proc {
  stdout = '';
  stderr = '';
  exited = false;
  code: number | null = null;
  signal: NodeJS.Signals | null = null;
  readonly exit: Promise<void>;
  protected readonly child: ChildProcess;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly command: readonly string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(command[0]!, command.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(this);
    this.child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      this.stdout += s;
      this.changed();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      this.stderr += s;
      this.changed();
    });
    // A child that is gone does not read its stdin: ignore EPIPE.
    this.child.stdin!.on('error', () => undefined);
    this.exit = new Promise((resolve) => {
      const done = (): void => {
        this.exited = true;
        live.delete(this);
        this.changed();
        resolve();
      };
      this.child.on('error', (e) => {
        this.stderr += `[spawn failed: ${String(e)}]`;
        done();
      });
      // 'close': the exit, and stdout and stderr read to the end.
      this.child.on('close', (code, signal) => {
        this.code = code;
        this.signal = signal;
        done();
      });
    });
  }

  protected changed(): void {
    for (const l of this.listeners) l();
  }

  /** Wait until `probe` returns something; fail on timeout or when the process exits first. */
  waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = WAIT_MS): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        let found: T | undefined;
        try {
          found = probe();
        } catch (e) {
          done(() => reject(e as Error));
          return;
        }
        if (found !== undefined) done(() => resolve(found));
        else if (this.exited) done(() => reject(new Error(`${this.name} exited (${this.status()}) while we waited for ${what}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${this.name}: timed out after ${timeoutMs / 1000} s waiting for ${what}`))), timeoutMs);
      const done = (settle: () => void): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Wait for the process to exit by itself, with status 0. */
  async succeeds(timeoutMs = WAIT_MS): Promise<void> {
    const timer = setTimeout(() => this.kill('SIGKILL'), timeoutMs);
    await this.exit;
    clearTimeout(timer);
    assert.ok(this.code === 0, `${this.name} did not finish within ${timeoutMs / 1000} s or failed: ${this.status()}\n${this.describe()}`);
  }

  /** Send a signal and wait for the exit (SIGKILL after `graceMs`). */
  async stopWith(signal: NodeJS.Signals, graceMs = 10_000): Promise<void> {
    this.kill(signal);
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.exit;
    clearTimeout(timer);
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.exited && this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  status(): string {
    return this.exited ? (this.signal !== null ? `signal ${this.signal}` : `exit ${String(this.code)}`) : 'running';
  }

  describe(): string {
    const tail = (s: string): string => (s.length > 6000 ? `[…]${s.slice(-6000)}` : s);
    return `--- ${this.name} (${this.status()}): ${this.command.join(' ')}\n  stdout:\n${tail(this.stdout)}\n  stderr:\n${tail(this.stderr)}`;
  }
}

function pk(name: string, args: readonly string[], xdg: string): Proc {
  return new Proc(name, [process.execPath, PEERKIT_BIN, ...args], { ...process.env, XDG_DATA_HOME: xdg });
}

/** What lt_peer.py prints: one JSON object per line. */
type LtEvent = { event: string } & Record<string, unknown>;

/** One libtorrent session run by test/interop/py/lt_peer.py. */
class LtPeer extends Proc {
  constructor(name: string, python: string, torrent: string, saveDir: string, role: 'seed' | 'leech') {
    // Port 0: libtorrent picks one. 90 s: the helper's own safety net.
    super(name, [python, join(PY_DIR, 'lt_peer.py'), torrent, saveDir, '0', role, '90'], { ...process.env, LC_ALL: 'C.UTF-8' });
  }

  events(): LtEvent[] {
    const out: LtEvent[] = [];
    for (const line of this.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as LtEvent);
      } catch {
        // a line still being written
      }
    }
    return out;
  }

  /** The first event, printed or still to come, that matches; an error event fails. */
  event(what: string, match: (e: LtEvent) => boolean, timeoutMs = WAIT_MS): Promise<LtEvent> {
    return this.waitFor(
      what,
      () => {
        const events = this.events();
        const failed = events.find((e) => e.event === 'error' || e.event === 'tracker_error');
        if (failed !== undefined) throw new Error(`${this.name}: ${JSON.stringify(failed)} while waiting for ${what}`);
        return events.find(match);
      },
      timeoutMs,
    );
  }

  /**
   * Close its stdin: lt_peer.py exits 0 at once, without a `stopped`
   * announce. (Its "stop" command waits for that announce, and libtorrent
   * 2.0.8 paused right after its `completed` announce now and then sends
   * `started` instead, leaving the helper to wait 5 s for an answer that
   * never comes.) Everything libtorrent has hash-checked is in the files
   * already: its storage writes through a shared mapping of them.
   */
  async quit(): Promise<void> {
    this.child.stdin!.end();
    const timer = setTimeout(() => this.kill('SIGKILL'), 10_000);
    await this.exit;
    clearTimeout(timer);
    assert.equal(this.code, 0, `${this.name} did not quit cleanly: ${this.status()}\n${this.describe()}`);
  }
}

/**
 * Start a libtorrent client and wait for the tracker's first answer to it.
 * Debian's python3-libtorrent 2.0.8 now and then crashes (SIGSEGV) within a
 * second of starting (see tracker-server.test.ts); a client that dies that
 * way before the tracker answered it is started once more, and the test says
 * so on stderr.
 */
async function startLt(c: Case, python: string, name: string, torrent: string, saveDir: string, role: 'seed' | 'leech'): Promise<LtPeer> {
  await mkdir(saveDir, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const peer = new LtPeer(name, python, torrent, saveDir, role);
    c.procs.push(peer);
    try {
      await peer.event('the tracker\'s first answer', (e) => e.event === 'tracker_reply');
      return peer;
    } catch (e) {
      await peer.exit;
      if (attempt > 1 || peer.signal !== 'SIGSEGV') throw e;
      process.stderr.write(`NOTE interop: libtorrent ${name} crashed (SIGSEGV) before the tracker answered it; starting it once more\n`);
    }
  }
}

/** `peerkit seed <torrent> <data>`, once it has verified the data and the tracker lists it as a seeder. */
async function startPkSeeder(c: Case, meta: Created, data: string, extra: readonly string[] = []): Promise<Proc> {
  const seeder = c.pk('peerkit seed', ['seed', meta.torrent, data, ...LOOPBACK, ...extra]);
  await seeder.waitFor('its "seeding" line', () => (/^seeding .* on port \d+(?:, super-seeding)?$/m.test(seeder.stdout) ? true : undefined));
  await seederListed(meta, seeder);
  return seeder;
}

/** Ctrl-C a peerkit seeder; it exits 0 and says how much it uploaded. */
async function stopSeeder(seeder: Proc): Promise<number> {
  await seeder.stopWith('SIGINT');
  assert.equal(seeder.code, 0, `peerkit seed did not stop cleanly on SIGINT: ${seeder.status()}\n${seeder.describe()}`);
  return summaryBytes(seeder, 'stopped seeding: uploaded');
}

/** A size from a peerkit summary on stdout: `<label> 3.5 MiB`. */
function summaryBytes(p: Proc, label: string): number {
  const m = new RegExp(`${escape(label)} (\\d+(?:\\.\\d+)? (?:B|KiB|MiB|GiB))`).exec(p.stdout);
  assert.ok(m !== null, `no "${label} <size>" in the output of ${p.name}\n${p.describe()}`);
  // formatBytes rounds to a tenth of the unit: so does this.
  const [value, unit] = m[1]!.split(' ');
  return Math.round(Number(value) * 1024 ** ['B', 'KiB', 'MiB', 'GiB'].indexOf(unit!));
}

/** One aria2c download, kept to our tracker and 127.0.0.1; it exits on completion (--seed-time=0). */
async function startAria2(c: Case, torrent: string, saveDir: string): Promise<Proc> {
  await mkdir(saveDir, { recursive: true });
  const aria = new Proc(
    'aria2c',
    [
      'aria2c',
      '--no-conf', // no ~/.aria2/aria2.conf: no extra trackers, no other settings
      `--torrent-file=${torrent}`,
      `--dir=${saveDir}`,
      `--listen-port=${await freePort()}`,
      '--seed-time=0', // quit once the download is complete and verified
      '--file-allocation=none',
      '--bt-enable-lpd=false',
      '--enable-peer-exchange=false',
      '--enable-dht=false',
      '--enable-dht6=false',
      `--dht-file-path=${join(c.dir, 'dht.dat')}`,
      `--dht-file-path6=${join(c.dir, 'dht6.dat')}`,
      '--disable-ipv6=true',
      '--interface=127.0.0.1',
      '--bt-tracker-connect-timeout=5',
      '--bt-tracker-timeout=5',
      '--bt-stop-timeout=20', // give up when nothing arrives for 20 s
      '--summary-interval=0',
      '--enable-color=false',
      '--console-log-level=warn',
    ],
    process.env,
  );
  c.procs.push(aria);
  return aria;
}

// ---------------------------------------------------------------------------
// The tracker, the data

/** Wait until the tracker lists a seeder of the torrent (its scrape, BEP 48), so the leechers' first announce finds it. */
async function seederListed(meta: Created, seeder?: Proc): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while ((await scrape(meta.metainfo.infoHashHex)).seeders < 1) {
    if (seeder?.exited === true) assert.fail(`the seeder exited (${seeder.status()}) before the tracker listed it\n${seeder.describe()}`);
    if (Date.now() > deadline) assert.fail(`the tracker did not list a seeder of ${meta.metainfo.infoHashHex} within ${WAIT_MS / 1000} s`);
    await sleep(50);
  }
}

async function scrape(infoHashHex: string): Promise<{ seeders: number; leechers: number }> {
  const escaped = infoHashHex.replace(/../g, (b) => `%${b}`);
  const res = await fetch(`${announceUrl.replace(/\/announce$/, '/scrape')}?info_hash=${escaped}`);
  assert.equal(res.status, 200);
  const files = dict(dict(decode(new Uint8Array(await res.arrayBuffer()))).get('files'));
  const entry = files.get(Buffer.from(infoHashHex, 'hex').toString('latin1'));
  if (entry === undefined) return { seeders: 0, leechers: 0 };
  return { seeders: Number(dict(entry).get('complete')), leechers: Number(dict(entry).get('incomplete')) };
}

function dict(v: BValue | undefined): Map<string, BValue> {
  assert.ok(v instanceof Map, 'a bencoded dictionary');
  return v;
}

async function randomFile(path: string, size: number): Promise<Buffer> {
  await mkdir(join(path, '..'), { recursive: true });
  const data = randomBytes(size);
  await writeFile(path, data);
  return data;
}

/** The pieces of a single-file torrent whose data on disk matches their SHA-1. */
async function correctPieces(meta: Metainfo, file: string): Promise<number[]> {
  const bytes = await readFile(file).catch(() => Buffer.alloc(0));
  const good: number[] = [];
  for (let i = 0; i < meta.pieceCount; i++) {
    const piece = bytes.subarray(i * meta.pieceLength, Math.min((i + 1) * meta.pieceLength, meta.length));
    const want = meta.pieces.subarray(i * 20, i * 20 + 20);
    if (piece.length > 0 && createHash('sha1').update(piece).digest().equals(want)) good.push(i);
  }
  return good;
}

/** The same folders, files and contents under both roots, and nothing else. */
async function sameTree(expected: string, actual: string): Promise<void> {
  const list = async (root: string, dir = root): Promise<string[]> => {
    const out: string[] = [];
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      out.push(`${relative(root, path)}${e.isDirectory() ? '/' : ''}`);
      if (e.isDirectory()) out.push(...(await list(root, path)));
    }
    return out.sort();
  };
  const want = await list(expected);
  assert.deepEqual(await list(actual), want, `the downloaded tree ${actual} has the same entries as ${expected}`);
  for (const entry of want) {
    if (entry.endsWith('/')) continue;
    assert.ok((await readFile(join(actual, entry))).equals(await readFile(join(expected, entry))), `${entry} is byte-identical`);
  }
}

/** A port that was free on 127.0.0.1 a moment ago (for aria2, which cannot pick its own). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, HOST, resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
