// Tracker client interoperability: peerkit's HTTP (BEP 3/23/48) and UDP
// (BEP 15) clients against Debian's opentracker, a tracker we did not write.
// Three peerkit "peers" (different peer ids and ports) announce; each must
// get back the others, and scrape counts must match what was announced.
// Also the real HttpGet (src/net/http.ts) against a local node:http server:
// its size cap, deadline and redirects. All traffic stays on 127.0.0.1.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bindUdp, createHttpGet, HttpError, httpGet, realClock, seededRandom, type DatagramSocket } from '../../src/net/index.js';
import { createTrackerClient, HttpTrackerClient, TrackerTiers, UdpTrackerSocket, type AnnounceParams, type TrackerClient } from '../../src/tracker/client/index.js';
import { TrackerError } from '../../src/tracker/errors.js';
import { hasCommand, requireTool } from './tools.js';

const HOST = '127.0.0.1';
const haveOpentracker = hasCommand('opentracker');
const HTTP_HASH = randomBytes(20);
const UDP_HASH = randomBytes(20);
const PROBE_HASH = randomBytes(20);

let work: string | undefined;
let tracker: ChildProcess | undefined;
let trackerLog = '';
let httpUrl = '';
let udpUrl = '';
let socket: DatagramSocket | undefined;
let udp: UdpTrackerSocket | undefined;

/** A port nobody listens on right now (bind to 0, read it, close). */
async function freeTcpPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, HOST, resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(resolve));
  return port;
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

before(async () => {
  if (!haveOpentracker) return;
  work = await mkdtemp(join(tmpdir(), 'peerkit-interop-tracker-'));
  // As root, opentracker chroots into -d and drops to "nobody", who must be able to read the allow-list.
  await chmod(work, 0o755);
  await writeFile(join(work, 'whitelist'), [HTTP_HASH, UDP_HASH, PROBE_HASH].map((h) => `${h.toString('hex')}\n`).join(''), { mode: 0o644 });
  const [tcpPort, udpPort] = [await freeTcpPort(), await freeUdpPort()];
  httpUrl = `http://${HOST}:${tcpPort}/announce`;
  udpUrl = `udp://${HOST}:${udpPort}`;
  // A relative -w works both chrooted (root) and not (opentracker only chdirs into -d then).
  tracker = spawn('opentracker', ['-i', HOST, '-p', String(tcpPort), '-P', String(udpPort), '-d', work, '-w', 'whitelist'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  tracker.stdout?.on('data', (d: Buffer) => (trackerLog += d.toString()));
  tracker.stderr?.on('data', (d: Buffer) => (trackerLog += d.toString()));
  // Ready when it answers an announce for an allowed hash (the allow-list is loaded by a thread, a moment after start).
  const probe = new HttpTrackerClient(httpUrl, { httpGet: createHttpGet({ timeoutMs: 1000 }) });
  for (let i = 0; ; i++) {
    try {
      await probe.announce({ ...peer(99), infoHash: PROBE_HASH, event: 'stopped' });
      break;
    } catch (e) {
      if (i >= 100 || tracker.exitCode !== null) throw new Error(`opentracker did not come up: ${String(e)}\n${trackerLog}`);
      await sleep(100);
    }
  }
  socket = await bindUdp(HOST);
  udp = new UdpTrackerSocket({ socket, clock: realClock, random: seededRandom(2) }, { baseTimeoutMs: 2000, maxN: 2 });
});

after(async () => {
  udp?.close();
  socket?.close();
  if (tracker !== undefined && tracker.exitCode === null) {
    const exited = new Promise((resolve) => tracker!.once('exit', resolve));
    tracker.kill('SIGTERM');
    await Promise.race([exited, sleep(2000)]);
    if (tracker.exitCode === null) tracker.kill('SIGKILL');
  }
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/** Peer number n: its own peer id and port. */
function peer(n: number, left = 100): AnnounceParams {
  return { infoHash: HTTP_HASH, peerId: Buffer.from(`-PK0100-interop${String(n).padStart(5, '0')}`), port: 40000 + n, uploaded: 0, downloaded: 0, left, event: 'started', numWant: 50 };
}
const ports = (peers: readonly { host: string; port: number }[]) => peers.filter((p) => p.host === HOST).map((p) => p.port).sort();
const http = (): TrackerClient => new HttpTrackerClient(httpUrl, { httpGet });
const udpClient = (): TrackerClient => udp!.client(udpUrl);

test('HTTP: announces see each other, scrape counts match (opentracker)', async (t) => {
  if (!requireTool(t, 'opentracker', haveOpentracker, 'opentracker')) return;
  const c = http();
  await c.announce(peer(1, 0)); // a seeder
  await c.announce(peer(2));
  const r = await c.announce(peer(3));
  assert.ok(r.interval > 0);
  assert.deepEqual([r.complete, r.incomplete], [1, 2]);
  // opentracker includes the asking peer itself.
  assert.deepEqual(ports(r.peers), [40001, 40002, 40003]);
  assert.deepEqual(await c.scrape([HTTP_HASH]), [{ infoHash: new Uint8Array(HTTP_HASH), complete: 1, downloaded: 0, incomplete: 2 }]);
  // Peer 3 finishes, peer 2 leaves.
  await c.announce({ ...peer(3, 0), event: 'completed', downloaded: 100 });
  const after2 = await c.announce({ ...peer(2), event: 'stopped' });
  assert.ok(after2.interval > 0);
  const [counts] = await c.scrape([HTTP_HASH]);
  assert.deepEqual([counts?.complete, counts?.incomplete, counts?.downloaded], [2, 0, 1]);
  assert.deepEqual(ports((await c.announce({ ...peer(1, 0), event: 'none' })).peers), [40001, 40003]);
});

test('UDP: announces see each other, also peers announced over HTTP; scrape counts match (opentracker)', async (t) => {
  if (!requireTool(t, 'opentracker', haveOpentracker, 'opentracker')) return;
  const c = udpClient();
  const u = (n: number, left = 100) => ({ ...peer(n, left), infoHash: UDP_HASH });
  await c.announce(u(11, 0));
  await http().announce(u(12)); // the same swarm, reached over the other protocol
  const r = await c.announce(u(13));
  assert.ok(r.interval > 0);
  assert.deepEqual([r.complete, r.incomplete], [1, 2]);
  assert.deepEqual(ports(r.peers), [40011, 40012, 40013]);
  // Scrape two torrents in one packet: ours and one nobody announced.
  const counts = await c.scrape([UDP_HASH, PROBE_HASH]);
  assert.deepEqual(counts[0], { infoHash: new Uint8Array(UDP_HASH), complete: 1, downloaded: 0, incomplete: 2 });
  assert.deepEqual([counts[1]?.complete, counts[1]?.incomplete], [0, 0]);
  await c.announce({ ...u(13, 0), event: 'completed' });
  const [again] = await c.scrape([UDP_HASH]);
  assert.deepEqual([again?.complete, again?.incomplete, again?.downloaded], [2, 1, 1]);
});

test('a torrent off the allow-list is refused: a failure with the tracker text over HTTP, a TrackerError over UDP (opentracker)', async (t) => {
  if (!requireTool(t, 'opentracker', haveOpentracker, 'opentracker')) return;
  const stranger = { ...peer(21), infoHash: randomBytes(20) };
  await assert.rejects(http().announce(stranger), (e: unknown) => e instanceof TrackerError && e.code === 'failure' && /not authorized/i.test(e.message));
  // Debian's opentracker answers a bare 8-byte <action=1><transaction_id> (no interval, no counts)
  // rather than a BEP 15 error packet; the client must refuse it as malformed, not read past its end.
  // (Builds that send an error packet give 'failure'.)
  await assert.rejects(udpClient().announce(stranger), (e: unknown) => e instanceof TrackerError && (e.code === 'malformed' || e.code === 'failure'));
});

test('BEP 12 tiers over real trackers: a dead UDP tracker is skipped, the live one answers and moves up (opentracker)', async (t) => {
  if (!requireTool(t, 'opentracker', haveOpentracker, 'opentracker')) return;
  const s = await bindUdp(HOST);
  try {
    const quick = new UdpTrackerSocket({ socket: s, clock: realClock, random: seededRandom(3) }, { baseTimeoutMs: 200, maxN: 0 });
    const dead = `udp://${HOST}:${await freeUdpPort()}`;
    const tiers = new TrackerTiers([[dead, httpUrl]], { random: () => 0.99, open: (url) => createTrackerClient(url, { httpGet, udp: quick }) });
    assert.deepEqual(tiers.tiers, [[dead, httpUrl]]);
    const r = await tiers.announce({ ...peer(31), event: 'none' });
    assert.equal(r.url, httpUrl);
    assert.deepEqual(r.failed.map((f) => f.error.code), ['timeout']);
    assert.deepEqual(tiers.tiers, [[httpUrl, dead]]);
  } finally {
    s.close();
  }
});

// The real HttpGet port, against a local server that misbehaves on purpose.
let server: Server | undefined;
let base = '';
before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'content-length': '5000' });
      res.end(Buffer.alloc(5000));
    } else if (req.url === '/stream') {
      res.writeHead(200); // chunked: no length up front, the cap must count bytes
      for (let i = 0; i < 10; i++) res.write(Buffer.alloc(1000));
      res.end();
    } else if (req.url === '/hang') {
      res.writeHead(200);
      res.write('d'); // then nothing
    } else if (req.url === '/moved') {
      res.writeHead(302, { location: '/ok' });
      res.end();
    } else {
      res.writeHead(req.url === '/ok' ? 200 : 404);
      res.end('d8:intervali60ee');
    }
  });
  await new Promise<void>((resolve) => server!.listen(0, HOST, resolve));
  base = `http://${HOST}:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

test('real HttpGet: body, status, redirect', async () => {
  const ok = await httpGet(`${base}/moved`, { maxBytes: 100 });
  assert.deepEqual([ok.status, Buffer.from(ok.body).toString()], [200, 'd8:intervali60ee']);
  assert.equal((await httpGet(`${base}/missing`, { maxBytes: 100 })).status, 404);
});

test('real HttpGet: the size cap holds with and without a content-length', async () => {
  for (const path of ['/big', '/stream']) {
    await assert.rejects(httpGet(`${base}${path}`, { maxBytes: 4096 }), (e: unknown) => e instanceof HttpError && e.code === 'too-large');
  }
  assert.equal((await httpGet(`${base}/stream`, { maxBytes: 10_000 })).body.length, 10_000);
});

test('real HttpGet: deadline, caller abort, refused connection', async () => {
  const started = performance.now();
  await assert.rejects(createHttpGet({ timeoutMs: 300 })(`${base}/hang`, { maxBytes: 100 }), (e: unknown) => e instanceof HttpError && e.code === 'timeout');
  assert.ok(performance.now() - started < 5000);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  await assert.rejects(httpGet(`${base}/hang`, { maxBytes: 100, signal: controller.signal }), (e: unknown) => e instanceof HttpError && e.code === 'aborted');
  await assert.rejects(httpGet(`http://${HOST}:${await freeTcpPort()}/announce`, { maxBytes: 100 }), (e: unknown) => e instanceof HttpError && e.code === 'network');
  await assert.rejects(httpGet('ftp://x/announce', { maxBytes: 100 }), (e: unknown) => e instanceof HttpError && e.code === 'bad-url');
});
