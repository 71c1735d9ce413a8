// DHT and trackerless interoperability with libtorrent, on loopback.
//
//   1. peerkit's node and three libtorrent DHT nodes join each other
//   2. get_peers both ways: peerkit finds the peer libtorrent announced, and
//      libtorrent finds the one peerkit announced
//   3. BEP 44 immutable items both ways, and mutable items (signed, salted)
//      both ways
//   4. `peerkit get "magnet:..."` downloads from a libtorrent seeder found
//      through the DHT alone (no tracker anywhere), metadata and data
//   5. `peerkit get "magnet:..." --no-dht` given only a libtorrent peer that
//      has (almost) nothing: the seeder it downloads from is known only
//      through peer exchange (ut_pex): peerkit reads the middle peer's
//      ut_pex, and the seeder hears of peerkit through it
//
// libtorrent runs in test/interop/py/lt_dht.py: three sessions on
// 127.0.0.1 with the guards against many nodes on one address lifted, no
// bootstrap routers, LSD/UPnP/NAT-PMP off. Nothing leaves 127.0.0.1.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { encode } from '../../src/bencode/index.js';
import { DhtNode, idHex, keysFromSeed, mutableTarget } from '../../src/dht/index.js';
import { formatMagnet, parseTorrent } from '../../src/metainfo/index.js';
import { bindUdp } from '../../src/net/index.js';
import { libtorrentPython, PEERKIT_BIN, PY_DIR, requireTool, run } from './tools.js';

const HOST = '127.0.0.1';
const WAIT_MS = 30_000;

type LtReply = { event: string } & Record<string, unknown>;

/** lt_dht.py: N libtorrent sessions driven by JSON lines. */
class LtDht {
  readonly child: ChildProcess;
  stderr = '';
  private buffer = '';
  private readonly waiting: ((r: LtReply) => void)[] = [];
  private readonly replies: LtReply[] = [];
  private exited = false;

  constructor(python: string, count: number) {
    this.child = spawn(python, [join(PY_DIR, 'lt_dht.py'), String(count), '240'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    this.child.stdin!.on('error', () => undefined);
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
    this.child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      this.buffer += s;
      for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const r = JSON.parse(line) as LtReply;
        const w = this.waiting.shift();
        if (w !== undefined) w(r);
        else this.replies.push(r);
      }
    });
    this.child.on('close', () => {
      this.exited = true;
      for (const w of this.waiting.splice(0)) w({ event: 'exited', message: this.stderr.slice(-2000) });
    });
  }

  /** The next line it prints. */
  next(timeoutMs = WAIT_MS): Promise<LtReply> {
    const queued = this.replies.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.exited) return Promise.resolve({ event: 'exited', message: this.stderr.slice(-2000) });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`lt_dht.py: no answer within ${timeoutMs / 1000} s\n${this.stderr.slice(-2000)}`)), timeoutMs);
      this.waiting.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  }

  async send(cmd: Record<string, unknown>, timeoutMs = WAIT_MS): Promise<LtReply> {
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    const r = await this.next(timeoutMs);
    if (r.event === 'error' || r.event === 'exited') throw new Error(`lt_dht.py ${JSON.stringify(cmd)}: ${JSON.stringify(r)}`);
    return r;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const closed = new Promise((r) => this.child.once('close', r));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await closed;
    clearTimeout(timer);
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('DHT interop with libtorrent', () => {
  let lt: LtDht | undefined;
  let ltPorts: number[] = [];
  let ours: DhtNode | undefined;
  let work: string;
  let skip: string | undefined;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'peerkit-interop-dht-'));
    const python = libtorrentPython();
    if (python === undefined) {
      skip = 'python3-libtorrent';
      return;
    }
    lt = new LtDht(python, 3);
    const ready = await lt.next(60_000);
    assert.equal(ready.event, 'ready', JSON.stringify(ready));
    ltPorts = (ready.sessions as { port: number }[]).map((s) => s.port);
    await lt.send({ cmd: 'join' });
    ours = new DhtNode({ socket: await bindUdp(HOST, 0), bootstrap: ltPorts.map((port) => ({ host: HOST, port })), queryRate: Infinity });
    await lt.send({ cmd: 'add_node', host: HOST, port: ours.local.port });
    await ours.bootstrap();
  });

  after(async () => {
    ours?.close();
    await lt?.stop();
    await rm(work, { recursive: true, force: true });
  });

  const ready = (t: TestContext): boolean => requireTool(t, 'libtorrent for Python 3', skip === undefined, skip ?? '');

  it('the nodes join: ours knows the libtorrent nodes, and they know ours', async (t) => {
    if (!ready(t)) return;
    assert.ok(ours!.tableSize >= 3, `our table has ${ours!.tableSize} nodes`);
    const stats = await lt!.send({ cmd: 'stats' });
    for (const s of stats.sessions as { index: number; nodes: number }[]) assert.ok(s.nodes >= 3, `libtorrent session ${s.index} knows ${s.nodes} nodes`);
  });

  it('get_peers: peerkit finds the peer libtorrent announced', async (t) => {
    if (!ready(t)) return;
    const infoHash = randomBytes(20);
    const announced = await lt!.send({ cmd: 'announce', infohash: hex(infoHash), session: 1 });
    const port = announced.port as number;
    const found = await ours!.getPeers(infoHash);
    assert.ok(
      found.peers.some((p) => p.host === HOST && p.port === port),
      `peerkit found ${JSON.stringify(found.peers)}, not 127.0.0.1:${port}`,
    );
  });

  it('get_peers: libtorrent finds the peer peerkit announced', async (t) => {
    if (!ready(t)) return;
    const infoHash = randomBytes(20);
    const r = await ours!.announce(infoHash, 42_421);
    assert.ok(r.stored >= 1, 'some libtorrent node took the announce');
    const found = await lt!.send({ cmd: 'get_peers', infohash: hex(infoHash), session: 2 });
    assert.ok((found.peers as string[]).includes(`${HOST}:42421`), `libtorrent found ${JSON.stringify(found.peers)}`);
  });

  it('immutable items (BEP 44) both ways', async (t) => {
    if (!ready(t)) return;
    const mine = encode({ from: 'peerkit', n: 7, list: ['a', 'b'] });
    const put = await ours!.putImmutable(mine);
    assert.ok(put.stored >= 1, 'stored on a libtorrent node');
    const read = await lt!.send({ cmd: 'get_immutable', target: hex(put.target), session: 1 });
    assert.equal(read.value, hex(mine), 'libtorrent read what peerkit stored');

    const theirs = encode(`from libtorrent ${hex(randomBytes(4))}`);
    const ltPut = await lt!.send({ cmd: 'put_immutable', value: hex(theirs), session: 2 });
    const got = await ours!.getImmutable(Buffer.from(ltPut.target as string, 'hex'));
    assert.ok(got.item !== undefined, 'peerkit found the item libtorrent stored');
    assert.equal(hex(got.item), hex(theirs));
  });

  it('mutable items (BEP 44, ed25519, salt) both ways', async (t) => {
    if (!ready(t)) return;
    const keys = keysFromSeed(randomBytes(32));
    const salt = new TextEncoder().encode('peerkit-salt');
    const value = encode('signed by peerkit');
    const put = await ours!.putMutable(keys, value, { salt });
    assert.ok(put.stored >= 1, 'stored on a libtorrent node');
    const read = await lt!.send({ cmd: 'get_mutable', public_key: hex(keys.publicKey), salt: 'peerkit-salt', session: 1 });
    assert.equal(read.value, hex(value), `libtorrent read ${JSON.stringify(read)}`);
    assert.equal(read.seq, put.seq);

    const seed = randomBytes(32);
    const ltValue = encode('signed by libtorrent');
    const ltPut = await lt!.send({ cmd: 'put_mutable', seed: hex(seed), salt: 'lt-salt', value: hex(ltValue), session: 2 });
    const pk = Buffer.from(ltPut.public_key as string, 'hex');
    assert.equal(hex(pk), hex(keysFromSeed(seed).publicKey), 'the same ed25519 public key from the same seed');
    const got = await ours!.getMutable(pk, new TextEncoder().encode('lt-salt'));
    assert.ok(got.item !== undefined, `peerkit found no item at ${idHex(mutableTarget(pk, new TextEncoder().encode('lt-salt')))}`);
    assert.equal(hex(got.item.v), hex(ltValue));
    assert.equal(got.item.seq, ltPut.seq);
  });

  it('peerkit get of a magnet link: a libtorrent seeder found through the DHT only', { timeout: 90_000 }, async (t) => {
    if (!ready(t)) return;
    const dir = join(work, 'magnet-dht');
    const data = randomBytes(3 * 1024 * 1024 + 4321);
    const { torrent, infoHash } = await makeTorrent(dir, 'trackerless.bin', data);
    const added = await lt!.send({ cmd: 'add_torrent', torrent, save_path: join(dir, 'seed'), session: 1 });
    assert.equal(added.infohash, infoHash);
    // Wait until the seeder's DHT announce is stored somewhere we can see it.
    await eventually(async () => (await ours!.getPeers(Buffer.from(infoHash, 'hex'))).peers.length > 0, 'the seeder to announce itself on the DHT');
    const magnet = formatMagnet({ infoHash, name: 'trackerless.bin' });
    const out = join(dir, 'got');
    const r = await peerkitRun(['get', magnet, '-o', out, '--host', HOST, '--port', '0', '--bootstrap', `${HOST}:${ltPorts[0]}`, '-v'], join(dir, 'xdg'));
    assert.equal(r.code, 0, r.output);
    assert.ok((await readFile(join(out, 'trackerless.bin'))).equals(data), 'byte-identical');
  });

  it('peerkit get of a magnet link with --no-dht: the source it downloads from is known only through peer exchange', { timeout: 90_000 }, async (t) => {
    if (!ready(t)) return;
    const dir = join(work, 'magnet-pex');
    const data = randomBytes(4 * 1024 * 1024);
    const { torrent, infoHash } = await makeTorrent(dir, 'pex.bin', data);
    // Session 1 seeds; session 2 downloads from it at a trickle, so it has next to nothing to give.
    const seeder = await lt!.send({ cmd: 'add_torrent', torrent, save_path: join(dir, 'seed'), session: 1 });
    await mkdir(join(dir, 'middle'), { recursive: true });
    const middle = await lt!.send({ cmd: 'add_torrent', torrent, save_path: join(dir, 'middle'), download_limit: 2048, session: 2 });
    await lt!.send({ cmd: 'connect_peer', infohash: infoHash, host: HOST, port: seeder.port, session: 2 });
    // A libtorrent torrent still checking its files turns peers away: wait until the middle one trades.
    await eventually(async () => ((await lt!.send({ cmd: 'status', infohash: infoHash, session: 2 })).peers as unknown[]).length > 0, 'the middle peer to connect to the seeder');
    const magnet = formatMagnet({ infoHash, name: 'pex.bin', peers: [`${HOST}:${middle.port as number}`] });
    const out = join(dir, 'got');
    const r = await peerkitRun(['get', magnet, '-o', out, '--host', HOST, '--port', '0', '--no-dht', '-v'], join(dir, 'xdg'));
    assert.equal(r.code, 0, r.output);
    assert.ok((await readFile(join(out, 'pex.bin'))).equals(data), 'byte-identical');
    // peerkit read the middle peer's ut_pex message; libtorrent's PEX also named peerkit to the seeder,
    // which may dial first. Either way the seeder, which peerkit was never given, became its source.
    assert.match(r.output, new RegExp(`peer exchange from ${HOST}:${middle.port as number}: ${HOST}:\\d+`), 'peerkit decoded the middle peer\'s ut_pex');
    const status = await lt!.send({ cmd: 'status', infohash: infoHash, session: 1 });
    assert.ok((status.total_upload as number) >= data.length * 0.5, `the seeder uploaded ${String(status.total_upload)} bytes`);
    const middleStatus = await lt!.send({ cmd: 'status', infohash: infoHash, session: 2 });
    assert.ok((middleStatus.total_upload as number) < data.length * 0.25, `the middle peer uploaded ${String(middleStatus.total_upload)} bytes: it was not the source`);
  });
});

async function makeTorrent(dir: string, name: string, data: Uint8Array): Promise<{ torrent: string; infoHash: string }> {
  await mkdir(join(dir, 'seed'), { recursive: true });
  await writeFile(join(dir, 'seed', name), data);
  const torrent = join(dir, `${name}.torrent`);
  // No tracker at all: the DHT (or a given peer) is the only way to meet.
  await run(process.execPath, [PEERKIT_BIN, 'create', join(dir, 'seed', name), '-l', '64K', '-o', torrent, '-f', '--json']);
  return { torrent, infoHash: parseTorrent(await readFile(torrent)).infoHashHex };
}

/** Run the peerkit CLI to its exit (90 s at most); stdout and stderr together. */
function peerkitRun(args: readonly string[], xdg: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PEERKIT_BIN, ...args], { env: { ...process.env, XDG_DATA_HOME: xdg }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), 80_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: `peerkit ${args.join(' ')}\n${output}` });
    });
  });
}

async function eventually(probe: () => Promise<boolean>, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}
