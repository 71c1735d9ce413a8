import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decode, type BValue } from '../src/bencode/index.js';
import { formatBytes, parseSize } from '../src/cli/format.js';
import { libtorrentPython } from '../test/interop/tools.js';
import { randomDataFile } from './data.js';

/*
 * bench:transfer (BENCH.md, "transfer"): one seeder and one leecher of a
 * random file (512 MiB, pieces of 256 KiB) over loopback TCP, found through
 * a tracker on 127.0.0.1, for the pairs (seeder-leecher)
 *
 *   lt-lt  libtorrent → libtorrent   the anchor
 *   lt-pk  libtorrent → peerkit
 *   pk-lt  peerkit → libtorrent
 *   pk-pk  peerkit → peerkit
 *
 *   npm run bench:transfer -- [--size 512MiB] [--rounds 1] [--pairs lt-lt,lt-pk,pk-lt,pk-pk]
 *                             [--timeout 120]
 *
 * BENCH_SIZE and BENCH_ROUNDS set the same as the flags.
 *
 * Each pair gets a fresh tracker (`peerkit tracker`, HTTP only, on the same
 * port all run long, which the .torrent names), a seeder that has checked
 * the data and that the tracker lists as a seeder, and then a leecher with
 * an empty folder. The time runs from adding the torrent at the leecher to
 * the leecher having every piece verified on disk:
 *
 *   - libtorrent (test/interop/py/lt_bench.py) times itself, from
 *     add_torrent to torrent_finished_alert, so Python's start-up is not
 *     counted;
 *   - peerkit is timed as a whole process, from spawning `peerkit get` to its
 *     exit 0 (or to its "done" line, PK.leechDone, when there is one),
 *     Node's start-up (~40 ms) included: against peerkit, never in its
 *     favour.
 *
 * Afterwards the leecher's file is compared with the original byte for byte
 * (not timed), and removed. The leecher runs under GNU time (/usr/bin/time)
 * for its peak RSS and CPU; without it, VmHWM is polled from /proc.
 * Pairs alternate within each round, so a burst of load from elsewhere falls
 * on all of them rather than on one pair's series.
 */

/**
 * The repository root: the first folder up from this file whose package.json
 * is peerkit's (this file runs as dist/bench/transfer.js, or from another
 * output folder).
 */
const ROOT = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === 'peerkit') return dir;
    } catch {
      // no package.json here: go on up
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('bench:transfer: cannot find the peerkit repository above this file');
    dir = up;
  }
})();
const DATA = join(ROOT, 'bench', '.data');
const PEERKIT = join(ROOT, 'bin', 'peerkit.js');
const LT_HELPER = join(ROOT, 'test', 'interop', 'py', 'lt_bench.py');
const HOST = '127.0.0.1';
const PIECE_LENGTH = 256 * 1024;
/** Chunk for writing and comparing the data file. */
const CHUNK = 16 * 1024 * 1024;
const GNU_TIME = '/usr/bin/time';

const RATIO_TARGET = 1.0; // pk-pk and lt-pk against lt-lt, at least
const RSS_TARGET = 200e6; // bytes, peak RSS of the peerkit leecher, under
/** How long a seeder may take to check its data and be listed by the tracker. */
const SEEDER_READY_MS = 60_000;
/**
 * When the tracker lists the seeder but its ready line has not been seen,
 * wait this long more for the line, then go by the tracker alone.
 */
const READY_LINE_GRACE_MS = 1000;

/**
 * The peerkit commands, all in this one place: the lead is writing them,
 * and their exact form (the readiness line above all) is still to be
 * settled.
 */
const PK = {
  /** Exits 0 once every piece is verified on disk. */
  leech: (torrent: string, dir: string, port: number): string[] => [PEERKIT, 'get', torrent, '-o', dir, '--host', '127.0.0.1', '--port', String(port), '--no-dht'],
  /** Verifies the data (the file itself, for this single-file torrent), then seeds until killed. */
  seed: (torrent: string, file: string, port: number): string[] => [PEERKIT, 'seed', torrent, file, '--host', '127.0.0.1', '--port', String(port), '--no-dht'],
  /**
   * A line of the seeder's output (stdout or stderr) that says it is ready.
   * The bench also waits for the tracker to list it as a seeder, and goes by
   * the tracker alone if the line does not come (READY_LINE_GRACE_MS).
   */
  seedReady: (line: string): boolean => /seeding/i.test(line),
  /**
   * A line of the leecher's output that says every piece is verified on
   * disk, to stop the clock before its shut-down (a stopped announce, say);
   * undefined: the clock stops at its exit. It must still exit 0.
   */
  leechDone: undefined as ((line: string) => boolean) | undefined,
  /** The subcommands the peerkit pairs need. */
  commands: ['get', 'seed'] as const,
};

// ---------------------------------------------------------------------------
// Configuration

type Client = 'lt' | 'pk';
interface Pair {
  readonly name: string;
  readonly seeder: Client;
  readonly leecher: Client;
}
const ALL_PAIRS: readonly Pair[] = [
  { name: 'lt-lt', seeder: 'lt', leecher: 'lt' },
  { name: 'lt-pk', seeder: 'lt', leecher: 'pk' },
  { name: 'pk-lt', seeder: 'pk', leecher: 'lt' },
  { name: 'pk-pk', seeder: 'pk', leecher: 'pk' },
];
const CLIENT_NAME: Record<Client, string> = { lt: 'libtorrent', pk: 'peerkit' };

interface Config {
  readonly size: number;
  readonly rounds: number;
  readonly pairs: readonly Pair[];
  readonly timeoutMs: number;
}

function config(): Config {
  const { values } = parseArgs({
    options: { size: { type: 'string' }, rounds: { type: 'string' }, pairs: { type: 'string' }, timeout: { type: 'string' } },
  });
  const sizeText = values.size ?? process.env['BENCH_SIZE'] ?? '512MiB';
  const size = parseSize(sizeText);
  if (size === undefined || size < PIECE_LENGTH) fail(`--size ${JSON.stringify(sizeText)}: give a size of at least 256KiB, such as 64MiB or 512MiB`);
  const rounds = Number(values.rounds ?? process.env['BENCH_ROUNDS'] ?? 1);
  if (!Number.isInteger(rounds) || rounds < 1) fail('--rounds must be a whole number of at least 1');
  const names = (values.pairs ?? ALL_PAIRS.map((p) => p.name).join(',')).split(',').map((s) => s.trim()).filter((s) => s !== '');
  const pairs: Pair[] = [];
  for (const n of names) {
    const p = ALL_PAIRS.find((q) => q.name === n);
    if (p === undefined) fail(`--pairs: unknown pair ${JSON.stringify(n)} (choose from ${ALL_PAIRS.map((q) => q.name).join(', ')})`);
    if (!pairs.includes(p)) pairs.push(p);
  }
  if (pairs.length === 0) fail('--pairs: name at least one pair');
  const timeout = Number(values.timeout ?? 120);
  if (!(timeout > 0)) fail('--timeout must be a number of seconds above 0');
  return { size, rounds, pairs, timeoutMs: timeout * 1000 };
}

function fail(message: string): never {
  process.stderr.write(`bench:transfer: ${message}\n`);
  process.exit(1);
}

/** The runs of Node children go without NODE_EXTRA_CA_CERTS: ~30 ms at every start, a setting of the machine (see bench/create.ts). */
const nodeEnv = ((): NodeJS.ProcessEnv => {
  const { NODE_EXTRA_CA_CERTS: _, ...rest } = process.env;
  // peerkit keeps resume data in the user's data folder: keep the bench's out of it.
  return { ...rest, XDG_DATA_HOME: join(DATA, 'xdg') };
})();
/** libtorrent converts file names through the C locale (see test/interop/tools.ts). */
const pythonEnv: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C.UTF-8' };

// ---------------------------------------------------------------------------
// Data and torrent

function dataFile(size: number): Promise<string> {
  return randomDataFile(DATA, size, 'bench:transfer');
}

/** Are two files the same bytes? Reads both whole: this also warms the source for the next seeder. */
async function sameContents(a: string, b: string): Promise<boolean> {
  if (!existsSync(b) || statSync(a).size !== statSync(b).size) return false;
  const fa = await open(a, 'r');
  const fb = await open(b, 'r');
  try {
    const ba = Buffer.allocUnsafe(CHUNK);
    const bb = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, CHUNK), fb.read(bb, 0, CHUNK)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
    }
  } finally {
    await fa.close();
    await fb.close();
  }
}

/** `peerkit create`, private (BEP 27: the tracker is the only way to find peers), 256 KiB pieces. */
function createTorrent(file: string, announce: string, out: string): { infoHash: Buffer; name: string } {
  const r = spawnSync(process.execPath, [PEERKIT, 'create', file, '-t', announce, '-l', '256K', '--private', '-o', out, '-f', '--json'], {
    encoding: 'utf8',
    env: nodeEnv,
  });
  if (r.status !== 0) fail(`peerkit create ${file} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  const json = JSON.parse(r.stdout) as { infoHash?: unknown; name?: unknown };
  if (typeof json.infoHash !== 'string' || typeof json.name !== 'string') fail(`peerkit create --json: no infoHash or name in ${r.stdout}`);
  return { infoHash: Buffer.from(json.infoHash, 'hex'), name: json.name };
}

// ---------------------------------------------------------------------------
// Child processes

/**
 * A child in its own process group (detached), so that killing the group
 * also ends what it started (GNU time's child, for one).
 */
interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** The last 64 KiB of stdout and stderr together, to explain a failure. */
  tail(): string;
  /** Resolves with the first line (of stdout or stderr) that `match` accepts. */
  line(match: (line: string) => boolean): Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
}

/** Every process group this bench starts, killed when it exits, however it exits. */
const groups = new Set<Proc>();

function start(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env });
  if (child.pid === undefined) fail(`${name}: ${command} did not start`);
  let tail = '';
  let exited = false;
  const waiters: { match: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  const onData = (): ((d: Buffer) => void) => {
    let partial = '';
    return (d: Buffer) => {
      const text = d.toString();
      tail = (tail + text).slice(-65536);
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        for (let i = waiters.length - 1; i >= 0; i--) {
          if (waiters[i]!.match(l)) waiters.splice(i, 1)[0]!.resolve(l);
        }
      }
    };
  };
  child.stdout!.on('data', onData());
  child.stderr!.on('data', onData());
  // A child that goes away before reading its stdin must not crash the bench.
  child.stdin!.on('error', () => {});
  const exitedPromise = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    });
  });
  const p: Proc = {
    name,
    child,
    pid: child.pid,
    tail: () => tail,
    line: (match) => new Promise((resolve) => waiters.push({ match, resolve })),
    exited: exitedPromise,
    hasExited: () => exited,
  };
  groups.add(p);
  void exitedPromise.then(() => groups.delete(p));
  return p;
}

function killGroup(p: Proc, signal: NodeJS.Signals): void {
  // Only while the leader has not been reaped, so the group id is still ours.
  if (p.hasExited()) return;
  try {
    process.kill(-p.pid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM, then SIGKILL after `graceMs`. */
async function stop(p: Proc, graceMs = 2000): Promise<void> {
  if (p.hasExited()) return;
  killGroup(p, 'SIGTERM');
  const timer = setTimeout(() => killGroup(p, 'SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
}

function killAll(): void {
  for (const p of groups) killGroup(p, 'SIGKILL');
}

class PairError extends Error {}

/** Rejects with `what` and the process's output when it exits first, or when `ms` pass. */
function within<T>(p: Proc, what: string, ms: number, promise: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new PairError(`${p.name}: no ${what} after ${ms / 1000} s${outputOf(p)}`)), ms);
    void p.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new PairError(`${p.name} exited (${code ?? signal}) before ${what}${outputOf(p)}`));
    });
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

function outputOf(p: Proc): string {
  const lines = p.tail().trimEnd().split('\n').slice(-15).join('\n  ');
  return lines === '' ? ' (no output)' : `; its last output:\n  ${lines}`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A TCP port free on 127.0.0.1 right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------
// Tracker

/** GET a path of the tracker; the body, or undefined when it does not answer. */
function trackerGet(port: number, path: string): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const req = httpGet({ host: HOST, port, path, timeout: 1000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve(res.statusCode === 200 ? Buffer.concat(chunks) : undefined));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

async function startTracker(port: number): Promise<Proc> {
  const p = start('tracker', process.execPath, [PEERKIT, 'tracker', '--host', HOST, '--http-port', String(port), '--udp-port', 'off'], nodeEnv);
  const deadline = Date.now() + 10_000;
  while ((await trackerGet(port, '/stats')) === undefined) {
    if (p.hasExited() || Date.now() > deadline) throw new PairError(`peerkit tracker did not answer on http://${HOST}:${port}/stats${outputOf(p)}`);
    await sleep(50);
  }
  return p;
}

/** How many seeders the tracker lists for the torrent (an HTTP scrape, BEP 48). */
async function seeders(port: number, infoHash: Buffer): Promise<number> {
  const q = Array.from(infoHash, (b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  const body = await trackerGet(port, `/scrape?info_hash=${q}`);
  if (body === undefined) return 0;
  let reply: BValue;
  try {
    reply = decode(body);
  } catch {
    return 0; // not a scrape reply: not listed
  }
  const files = dict(dict(reply)?.get('files'));
  const counts = dict(files?.get(infoHash.toString('latin1')));
  const complete = counts?.get('complete');
  return typeof complete === 'number' ? complete : 0;
}

function dict(v: BValue | undefined): Map<string, BValue> | undefined {
  return v instanceof Map ? v : undefined;
}

// ---------------------------------------------------------------------------
// Seeders and leechers

interface Run {
  readonly torrent: string;
  readonly infoHash: Buffer;
  readonly name: string;
  readonly data: string;
  readonly trackerPort: number;
  readonly work: string;
  readonly python: string | undefined;
  readonly timeoutMs: number;
}

/** A JSON event line of lt_bench.py, or undefined for any other line. */
function ltEvent(line: string): { event?: string; [k: string]: unknown } | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as { event?: string };
  } catch {
    return undefined;
  }
}

function startSeeder(run: Run, client: Client, port: number): Proc {
  if (client === 'lt') {
    // save_path is the folder of the data file: the torrent's name is the file's.
    return start('libtorrent seeder', run.python!, [LT_HELPER, 'seed', run.torrent, DATA, String(port), '3600'], pythonEnv);
  }
  return start('peerkit seeder', process.execPath, PK.seed(run.torrent, run.data, port), nodeEnv);
}

/**
 * Ready when the seeder has said so (libtorrent: checked; peerkit: its ready
 * line) and the tracker lists it as a seeder, so the leecher's first
 * announce finds it. If the tracker lists it but the line has not come
 * within READY_LINE_GRACE_MS, the tracker is enough (the line may change).
 */
async function seederReady(run: Run, client: Client, seeder: Proc): Promise<{ sawLine: boolean }> {
  let sawLine = false;
  const lineMatch =
    client === 'lt'
      ? (l: string): boolean => {
          const e = ltEvent(l);
          if (e?.event === 'error') return true;
          return e?.event === 'checked';
        }
      : PK.seedReady;
  void seeder.line(lineMatch).then((l) => {
    // lt_bench.py exits after an error; within() reports the exit with the output.
    if (ltEvent(l)?.event !== 'error') sawLine = true;
  });
  const listed = (async (): Promise<void> => {
    let listedSince: number | undefined;
    for (;;) {
      if (seeder.hasExited()) throw new PairError(`${seeder.name} exited`); // within() says how
      if ((await seeders(run.trackerPort, run.infoHash)) >= 1) listedSince ??= Date.now();
      if (listedSince !== undefined && (sawLine || Date.now() - listedSince >= READY_LINE_GRACE_MS)) return;
      await sleep(50);
    }
  })();
  await within(seeder, 'sign of being ready (checked and listed by the tracker as a seeder)', SEEDER_READY_MS, listed);
  return { sawLine };
}

interface Leech {
  readonly seconds: number;
  readonly peakRss: number | undefined;
  readonly cpu: number | undefined;
}

/** GNU time's report: peak RSS (KiB), user and system seconds, on the last line of its -o file. */
function readGnuTime(file: string): { peakRss: number; cpu: number } | undefined {
  if (!existsSync(file)) return undefined;
  const last = readFileSync(file, 'utf8').trim().split('\n').pop() ?? '';
  const m = /^(\d+) ([\d.]+) ([\d.]+)$/.exec(last);
  return m === null ? undefined : { peakRss: Number(m[1]) * 1024, cpu: Number(m[2]) + Number(m[3]) };
}

/** Peak RSS by polling /proc/<pid>/status (VmHWM is the high-water mark so far) while the process lives. */
function pollPeakRss(pid: number): { stop(): number | undefined } {
  let peak: number | undefined;
  const read = (): void => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
      if (m !== null) peak = Math.max(peak ?? 0, Number(m[1]) * 1024);
    } catch {
      // gone
    }
  };
  const timer = setInterval(read, 50);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

async function runLeecher(run: Run, client: Client, port: number, dir: string, tag: string): Promise<Leech> {
  const command = client === 'lt' ? run.python! : process.execPath;
  const args = client === 'lt' ? [LT_HELPER, 'leech', run.torrent, dir, String(port), String(run.timeoutMs / 1000)] : PK.leech(run.torrent, dir, port);
  const env = client === 'lt' ? pythonEnv : nodeEnv;
  const gnuTime = existsSync(GNU_TIME);
  const timeFile = join(run.work, `time-${tag}.txt`);
  rmSync(timeFile, { force: true });
  const name = `${CLIENT_NAME[client]} leecher`;
  const began = process.hrtime.bigint();
  const p = gnuTime ? start(name, GNU_TIME, ['-f', '%M %U %S', '-o', timeFile, command, ...args], env) : start(name, command, args, env);
  const poll = gnuTime ? undefined : pollPeakRss(p.pid);
  try {
    let seconds: number;
    if (client === 'lt') {
      const line = await within(p, 'complete event', run.timeoutMs, p.line((l) => ['complete', 'error'].includes(ltEvent(l)?.event ?? '')));
      const e = ltEvent(line)!;
      if (e.event === 'error') throw new PairError(`${name}: ${String(e['message'])}`);
      seconds = Number(e['seconds']);
      // It exits by itself after "complete"; GNU time writes its report then.
      const timer = setTimeout(() => killGroup(p, 'SIGKILL'), 10_000);
      await p.exited;
      clearTimeout(timer);
    } else {
      // Its exit is the event: no within() here, which takes an exit for a failure.
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(p, 'SIGKILL');
      }, run.timeoutMs);
      let doneAt: bigint | undefined;
      if (PK.leechDone !== undefined) void p.line(PK.leechDone).then(() => (doneAt ??= process.hrtime.bigint()));
      const { code, signal } = await p.exited;
      seconds = Number((doneAt ?? process.hrtime.bigint()) - began) / 1e9;
      clearTimeout(timer);
      if (timedOut) throw new PairError(`${name}: not done after ${run.timeoutMs / 1000} s${outputOf(p)}`);
      if (code !== 0) throw new PairError(`${name} exited with ${code ?? signal}${outputOf(p)}`);
    }
    const polled = poll?.stop();
    const report = gnuTime ? readGnuTime(timeFile) : undefined;
    return { seconds, peakRss: report?.peakRss ?? polled, cpu: report?.cpu };
  } finally {
    poll?.stop();
    killGroup(p, 'SIGKILL');
    rmSync(timeFile, { force: true });
  }
}

// ---------------------------------------------------------------------------
// One pair

interface Result {
  readonly seconds: number;
  readonly peakRss: number | undefined;
  readonly cpu: number | undefined;
  readonly note: string;
}

async function runPair(run: Run, pair: Pair, round: number): Promise<Result> {
  const procs: Proc[] = [];
  const leechDir = join(run.work, `leech-${pair.name}`);
  rmSync(leechDir, { recursive: true, force: true });
  mkdirSync(leechDir, { recursive: true });
  try {
    const tracker = await startTracker(run.trackerPort);
    procs.push(tracker);
    const seeder = startSeeder(run, pair.seeder, await freePort());
    procs.push(seeder);
    const { sawLine } = await seederReady(run, pair.seeder, seeder);
    const leech = await runLeecher(run, pair.leecher, await freePort(), leechDir, `${pair.name}-${round}`);
    if (seeder.hasExited()) throw new PairError(`the seeder exited during the transfer${outputOf(seeder)}`);
    if (!(await sameContents(run.data, join(leechDir, run.name)))) {
      throw new PairError(`the leecher's ${join(leechDir, run.name)} is not the same as ${run.data}`);
    }
    const note = pair.seeder === 'pk' && !sawLine ? 'peerkit seeder: ready line not seen, went by the tracker' : '';
    return { ...leech, note };
  } finally {
    // Seeder and tracker first, then the leecher's copy: its dirty pages go with it, unwritten.
    for (const p of procs.reverse()) await stop(p);
    rmSync(leechDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// Summary

/** Lower median: with an even count, the faster of the two middle runs. */
function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

const mbps = (bytes: number, seconds: number): number => bytes / seconds / 1e6;
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;

/** Why a client cannot take part, or undefined when it can. */
function unavailable(client: Client, python: string | undefined): string | undefined {
  if (client === 'lt') return python === undefined ? 'python3-libtorrent is not installed: apt-get install -y python3-libtorrent' : undefined;
  const missing = PK.commands.filter((c) => spawnSync(process.execPath, [PEERKIT, c, '--help'], { stdio: 'ignore', env: nodeEnv }).status !== 0);
  return missing.length === 0
    ? undefined
    : `peerkit has no \`${missing.join('` or `')}\` command yet (\`node bin/peerkit.js ${missing[0]} --help\` fails); build it, then \`npm run build\``;
}

async function main(): Promise<void> {
  const cfg = config();
  if (!existsSync(join(ROOT, 'dist', 'bin', 'peerkit.js'))) fail('peerkit is not built: run `npm run build`');
  const python = libtorrentPython();
  const why = new Map<Client, string | undefined>([
    ['lt', unavailable('lt', python)],
    ['pk', unavailable('pk', python)],
  ]);

  const data = await dataFile(cfg.size);
  mkdirSync(DATA, { recursive: true });
  const work = mkdtempSync(join(DATA, 'transfer-'));
  // fail() and signals end the process without unwinding: clean up on exit.
  process.on('exit', () => {
    killAll();
    rmSync(work, { recursive: true, force: true });
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => process.exit(130));

  try {
    const trackerPort = await freePort();
    const torrentPath = join(work, 'transfer.torrent');
    const { infoHash, name } = createTorrent(data, `http://${HOST}:${trackerPort}/announce`, torrentPath);
    const run: Run = { torrent: torrentPath, infoHash, name, data, trackerPort, work, python, timeoutMs: cfg.timeoutMs };
    process.stdout.write(
      `transfer: ${formatBytes(cfg.size)}, pieces of 256 KiB, TCP over ${HOST}, peerkit tracker, ${cfg.rounds} round(s), ` +
        `${availableParallelism()} cores; MB/s = 10^6 bytes/s\n` +
        'transfer: libtorrent leechers time themselves from add_torrent; peerkit leechers are timed as whole processes\n',
    );

    const times = new Map<string, number[]>();
    const rss = new Map<string, number[]>();
    const cpu = new Map<string, number[]>();
    const failed = new Map<string, string>();
    const notes = new Set<string>();
    for (const p of cfg.pairs) {
      const reason = why.get(p.seeder) ?? why.get(p.leecher);
      if (reason !== undefined) failed.set(p.name, reason);
    }
    for (let round = 0; round < cfg.rounds; round++) {
      for (const pair of cfg.pairs) {
        if (failed.has(pair.name)) continue;
        try {
          const r = await runPair(run, pair, round);
          times.set(pair.name, [...(times.get(pair.name) ?? []), r.seconds]);
          if (r.peakRss !== undefined) rss.set(pair.name, [...(rss.get(pair.name) ?? []), r.peakRss]);
          if (r.cpu !== undefined) cpu.set(pair.name, [...(cpu.get(pair.name) ?? []), r.cpu]);
          if (r.note !== '') notes.add(r.note);
        } catch (e) {
          if (!(e instanceof PairError)) throw e;
          failed.set(pair.name, e.message);
        }
      }
    }

    const rate = new Map<string, number>();
    for (const pair of cfg.pairs) {
      const label = `${pair.name}  ${`${CLIENT_NAME[pair.seeder]} → ${CLIENT_NAME[pair.leecher]}`.padEnd(24)}`;
      const reason = failed.get(pair.name);
      if (reason !== undefined) {
        process.stdout.write(`${label}  FAILED: ${reason}\n`);
        continue;
      }
      const runs = times.get(pair.name)!;
      const m = median(runs);
      rate.set(pair.name, mbps(cfg.size, m));
      const peak = rss.get(pair.name);
      const used = cpu.get(pair.name);
      const leecher = [
        peak === undefined ? '' : `peak RSS ${mb(Math.max(...peak))}`,
        used === undefined ? '' : `CPU ${median(used).toFixed(1)} s`,
      ].filter((s) => s !== '');
      process.stdout.write(
        `${label}  ${mbps(cfg.size, m).toFixed(1).padStart(6)} MB/s  median ${m.toFixed(3)} s  (${runs.length} run${runs.length === 1 ? '' : 's'}: ` +
          `${runs.map((s) => s.toFixed(3)).join(' ')})${leecher.length > 0 ? `  leecher ${leecher.join(', ')}` : ''}\n`,
      );
    }
    for (const n of notes) process.stdout.write(`transfer: note: ${n}\n`);

    const anchor = rate.get('lt-lt');
    for (const name of ['pk-pk', 'lt-pk']) {
      const pair = ALL_PAIRS.find((p) => p.name === name)!;
      const what = `${CLIENT_NAME[pair.seeder]}→${CLIENT_NAME[pair.leecher]} / libtorrent→libtorrent`;
      const r = rate.get(name);
      if (!cfg.pairs.includes(pair)) continue;
      if (anchor === undefined || r === undefined) {
        process.stdout.write(`transfer: ${what} ratio n/a (target >= ${RATIO_TARGET.toFixed(2)})  MISSED (${anchor === undefined ? 'lt-lt' : name} not measured)\n`);
      } else {
        const ratio = r / anchor;
        process.stdout.write(`transfer: ${what} ratio ${ratio.toFixed(2)} (target >= ${RATIO_TARGET.toFixed(2)})${ratio < RATIO_TARGET ? '  MISSED' : ''}\n`);
      }
    }
    const pk = rate.get('pk-lt');
    if (pk !== undefined && anchor !== undefined) process.stdout.write(`transfer: peerkit→libtorrent / libtorrent→libtorrent ratio ${(pk / anchor).toFixed(2)} (no target)\n`);
    const pkLeechers = cfg.pairs.filter((p) => p.leecher === 'pk');
    if (pkLeechers.length > 0) {
      const peaks = pkLeechers.flatMap((p) => rss.get(p.name) ?? []);
      if (peaks.length === 0) {
        process.stdout.write(`transfer: peerkit leecher peak RSS n/a (target < ${mb(RSS_TARGET)})  MISSED (not measured)\n`);
      } else {
        const peak = Math.max(...peaks);
        process.stdout.write(
          `transfer: peerkit leecher peak RSS ${mb(peak)} over ${pkLeechers.map((p) => p.name).join(', ')} (target < ${mb(RSS_TARGET)})${peak >= RSS_TARGET ? '  MISSED' : ''}\n`,
        );
      }
    }
    if (failed.size > 0) process.exitCode = 1;
  } finally {
    killAll();
  }
}

await main();
