import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, createServer as createTcpServer, type Socket as TcpSocket } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Tracker } from '../src/tracker/server/index.js';
import { decodeResponse, encodeRequest, type ScrapeCounts, type UdpRequest, type UdpResponse } from '../src/tracker/udp-codec.js';

/*
 * bench:tracker (BENCH.md, "tracker"): the same load generator against
 * opentracker and against `peerkit tracker`, each its own process, for UDP
 * (BEP 15) and HTTP announces over 1000 info hashes, then the memory a peer
 * costs.
 *
 *   npm run bench:tracker -- [--seconds 5] [--rounds 1] [--window 128] [--clients 32]
 *                            [--connections 64] [--peers 1000000] [--ot-peers 1000000]
 *                            [--profile <dir>]
 *
 * The generator runs in a child process (this same file with --child), so
 * neither tracker shares a process, a CPU account or an event loop with it.
 * The child reads the tracker's user+sys time from /proc/<pid>/stat at the
 * start and at the end of the measured window itself, so the CPU figure
 * covers exactly the answers it counts. With two cores and one generator,
 * the generator is often the limit on throughput; CPU per announce is the
 * figure that compares the trackers' own work (BENCH.md).
 *
 * Both trackers get the same allow-list of the 1000 hashes (opentracker
 * answers nothing else), numwant=50 in every announce (opentracker's UDP
 * default is 200, peerkit's 50: the same reply size keeps it fair), random
 * ports and peer ids, one in five announces from a seeder.
 *
 * UDP keeps 128 requests in flight by default: a tracker socket's default
 * receive buffer (rmem_default, 208 KiB) holds about 160 queued announces,
 * since each small datagram costs over 1 KiB of kernel memory. Beyond that
 * the kernel drops whatever arrives while the tracker is busy, and every
 * drop idles a slot until the timeout: the run would measure the drops, not
 * the tracker. opentracker, which answers one request per HTTP connection,
 * gets a new connection for each (as wrk does); peerkit keeps them alive.
 */

// This file runs as dist/bench/tracker.js: the repository is two levels up.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const PEERKIT = join(ROOT, 'bin', 'peerkit.js');
const HOST = '127.0.0.1';
const HASHES = 1000;
const NUM_WANT = 50;
/** Unmeasured load before each window: connects, JIT warm-up, swarms filling up. */
const WARMUP_MS = 1000;
/** A UDP request unanswered this long is counted lost and sent again. */
const UDP_TIMEOUT_MS = 100;

const THROUGHPUT_TARGET = 0.95; // peerkit/opentracker announces per second, at least
const CPU_TARGET = 1.0; // peerkit/opentracker CPU per announce, at most
const BYTES_PER_PEER_TARGET = 16; // under, at one million peers

// ---------------------------------------------------------------------------
// Shared: process CPU and memory from /proc

const TICKS_PER_SECOND = ((): number => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

/** user+sys seconds of a whole process (all its threads), from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // The command name (field 2) may hold spaces; fields after it are plain numbers.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m === null ? NaN : Number(m[1]) * 1024;
}

function readHashes(file: string): Buffer {
  const lines = readFileSync(file, 'latin1').split('\n').filter((l) => l.trim() !== '');
  return Buffer.from(lines.join(''), 'hex');
}

function percentEncode(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += `%${c.toString(16).padStart(2, '0')}`;
  return s;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// The child: load generators and the in-process memory measure

interface LoadConfig {
  readonly role: 'udp' | 'http';
  readonly port: number;
  /** The tracker's pid, for its CPU time. */
  readonly pid: number;
  readonly hashes: string;
  readonly seconds: number;
  readonly window: number;
  readonly clients: number;
  readonly connections: number;
}

interface FillConfig {
  readonly role: 'fill';
  readonly port: number;
  readonly hashes: string;
  readonly perHash: number;
}

interface MemoryConfig {
  readonly role: 'memory';
  readonly peers: number;
}

type ChildConfig = LoadConfig | FillConfig | MemoryConfig;

interface LoadReport {
  /** Answers (non-error replies) received inside the measured window. */
  readonly answers: number;
  /** Error replies and HTTP failure reasons: none is expected. */
  readonly errors: number;
  readonly firstError: string | undefined;
  /** UDP requests with no answer within UDP_TIMEOUT_MS; HTTP connections lost mid-request. */
  readonly lost: number;
  readonly seconds: number;
  readonly trackerCpu: number;
  readonly generatorCpu: number;
}

interface Window {
  readonly start: () => void;
  readonly stop: () => LoadReport;
}

/**
 * Counters and the CPU snapshots of the measured window, shared by the UDP
 * and HTTP generators.
 */
function measurement(pid: number): Window & { answer(): void; error(message: string): void; lose(): void } {
  let answers = 0;
  let errors = 0;
  let lost = 0;
  let firstError: string | undefined;
  let on = false;
  let t0 = 0;
  let cpu0 = 0;
  let self0 = process.cpuUsage();
  return {
    answer: () => void (on && answers++),
    error: (message) => {
      firstError ??= message;
      if (on) errors++;
    },
    lose: () => void (on && lost++),
    start() {
      answers = errors = lost = 0;
      on = true;
      t0 = performance.now();
      cpu0 = cpuSeconds(pid);
      self0 = process.cpuUsage();
    },
    stop() {
      const trackerCpu = cpuSeconds(pid) - cpu0;
      const seconds = (performance.now() - t0) / 1000;
      const self = process.cpuUsage(self0);
      on = false;
      return { answers, errors, firstError, lost, seconds, trackerCpu, generatorCpu: (self.user + self.system) / 1e6 };
    },
  };
}

/** Run `load` for WARMUP_MS unmeasured, then `seconds` measured. */
async function timedWindow(w: Window, seconds: number): Promise<LoadReport> {
  await sleep(WARMUP_MS);
  w.start();
  await sleep(seconds * 1000);
  return w.stop();
}

/** xorshift32: the generator's own randomness, cheaper than Math.random and crypto. */
function fastRandom(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** Bind a UDP socket connected to the tracker: no address lookup per send, and only its replies come in. */
async function udpClient(port: number): Promise<UdpSocket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, HOST, () => s.connect(port, HOST, () => {
      s.off('error', reject);
      resolve();
    }));
  });
  s.on('error', () => undefined); // ICMP refusals and such: the timeout sweep deals with them
  return s;
}

/**
 * Send one BEP 15 request on a connected socket and wait for the reply with
 * its transaction id, or undefined after `timeoutMs`.
 */
function udpAsk(s: UdpSocket, request: UdpRequest, timeoutMs: number): Promise<UdpResponse | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      s.off('message', onMessage);
      resolve(undefined);
    }, timeoutMs);
    const onMessage = (msg: Buffer): void => {
      const r = decodeResponse(msg);
      if (r.transactionId !== request.transactionId) return;
      clearTimeout(timer);
      s.off('message', onMessage);
      resolve(r);
    };
    s.on('message', onMessage);
    s.send(encodeRequest(request));
  });
}

/** BEP 15 connect, retried: the connection id this client then uses for every announce. */
async function udpConnectId(s: UdpSocket): Promise<bigint> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const r = await udpAsk(s, { action: 'connect', transactionId: randomBytes(4).readUInt32BE(0) }, 500);
    if (r?.action === 'connect') return r.connectionId;
  }
  throw new Error(`no answer to a UDP connect on port ${s.remoteAddress().port}`);
}

/**
 * UDP announces: `clients` sockets (one simulated client each, connected
 * once), `window` requests in flight spread over them. Each reply sends the
 * next request from its slot; a sweep resends the ones lost.
 *
 * Transaction id = slot << 16 | sequence, so a reply finds its slot without
 * a map, and a late reply to a request already resent is recognised as stale.
 */
async function udpLoad(c: LoadConfig): Promise<LoadReport> {
  const hashes = readHashes(c.hashes);
  const sockets = await Promise.all(Array.from({ length: c.clients }, () => udpClient(c.port)));
  const ids = await Promise.all(sockets.map(udpConnectId));
  // Each client's request with its fixed fields, made by the codec; the varying fields are patched into a copy.
  const templates = ids.map((connectionId) =>
    Buffer.from(
      encodeRequest({
        action: 'announce', connectionId, transactionId: 0, infoHash: new Uint8Array(20), peerId: Buffer.from('-PB0001-000000000000'),
        downloaded: 0n, left: 0n, uploaded: 0n, event: 'none', ip: 0, key: 0, numWant: NUM_WANT, port: 0,
      }),
    ),
  );
  const m = measurement(c.pid);
  const rand = fastRandom(process.pid);
  const sentAt = new Float64Array(c.window);
  const expected = new Uint32Array(c.window);
  let seq = 0;
  let running = true;

  const send = (slot: number): void => {
    const client = slot % c.clients;
    const buf = Buffer.allocUnsafe(98); // a fresh buffer: dgram may still hold the last one
    templates[client]!.copy(buf);
    seq = (seq + 1) & 0xffff;
    const tid = ((slot << 16) | seq) >>> 0;
    expected[slot] = tid;
    sentAt[slot] = performance.now();
    buf.writeUInt32BE(tid, 12);
    const h = (rand() % HASHES) * 20;
    hashes.copy(buf, 16, h, h + 20);
    buf.writeUInt32BE(rand(), 44); // peer id: "-PB0001-" then 12 random bytes
    buf.writeUInt32BE(rand(), 48);
    buf.writeUInt32BE(rand(), 52);
    buf.writeUInt32BE(rand() % 5 === 0 ? 0 : (rand() >>> 1) + 1, 68); // left: 0 (a seeder) one time in five
    buf.writeUInt32BE(rand(), 88); // key
    buf.writeUInt16BE((rand() % 65535) + 1, 96); // port
    sockets[client]!.send(buf);
  };

  for (const s of sockets) {
    s.on('message', (msg: Buffer) => {
      if (msg.length < 8) return;
      const tid = msg.readUInt32BE(4);
      const slot = tid >>> 16;
      if (slot >= c.window || expected[slot] !== tid) return; // stale: answered after being counted lost
      const action = msg.readUInt32BE(0);
      if (action === 1 && msg.length >= 20) m.answer();
      else m.error(action === 3 ? msg.subarray(8).toString() : `action ${action}`);
      if (running) send(slot);
    });
  }
  const sweep = setInterval(() => {
    const late = performance.now() - UDP_TIMEOUT_MS;
    for (let slot = 0; slot < c.window; slot++) {
      if (sentAt[slot]! < late) {
        m.lose();
        send(slot);
      }
    }
  }, UDP_TIMEOUT_MS / 2);
  for (let slot = 0; slot < c.window; slot++) send(slot);

  const report = await timedWindow(m, c.seconds);
  running = false;
  clearInterval(sweep);
  await sleep(50);
  for (const s of sockets) s.close();
  return report;
}

/**
 * HTTP announces over `connections` keep-alive connections, one request in
 * flight on each (what a browser-like client or wrk does). Raw sockets
 * rather than node:http: its client costs more CPU per request than either
 * tracker, and the generator must not be the thing measured. A server that
 * closes after each reply (opentracker does) gets a new connection.
 */
async function httpLoad(c: LoadConfig): Promise<LoadReport> {
  const hashes = readHashes(c.hashes);
  const encoded = Array.from({ length: HASHES }, (_, i) => percentEncode(hashes.subarray(i * 20, i * 20 + 20)));
  const m = measurement(c.pid);
  const rand = fastRandom(process.pid);
  let running = true;
  const open = new Set<TcpSocket>();
  const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

  const request = (): string => {
    let id = '-PB0001-';
    for (let i = 0; i < 12; i++) id += ALNUM[rand() % ALNUM.length];
    const left = rand() % 5 === 0 ? 0 : (rand() >>> 1) + 1;
    return (
      `GET /announce?info_hash=${encoded[rand() % HASHES]}&peer_id=${id}&port=${(rand() % 65535) + 1}` +
      `&uploaded=0&downloaded=0&left=${left}&compact=1&numwant=${NUM_WANT}&key=${rand().toString(16)} HTTP/1.1\r\n` +
      `Host: ${HOST}:${c.port}\r\n\r\n`
    );
  };

  // Learned from the server: it answers one request per connection and then
  // closes, although its HTTP/1.1 replies do not say so (opentracker). From
  // then on each connection waits for the server's close instead of sending
  // a second request that would be dropped.
  let oneShot = false;

  const connection = (): void => {
    if (!running) return;
    const s = tcpConnect({ host: HOST, port: c.port, noDelay: true });
    open.add(s);
    let pending: Buffer | undefined;
    let keepAlive = true;
    let inFlight = false;
    let replies = 0;
    const next = (): void => {
      inFlight = true;
      s.write(request());
    };
    s.on('connect', next);
    s.on('data', (chunk: Buffer) => {
      pending = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
      const head = pending.indexOf('\r\n\r\n');
      if (head < 0) return;
      const headers = pending.toString('latin1', 0, head).toLowerCase();
      const length = /\r\ncontent-length:\s*(\d+)/.exec(headers);
      if (length === null) {
        m.error('reply without content-length');
        s.destroy();
        return;
      }
      const end = head + 4 + Number(length[1]);
      if (pending.length < end) return;
      const body = pending.subarray(head + 4, end);
      if (!headers.startsWith('http/1.1 200') && !headers.startsWith('http/1.0 200')) m.error(headers.slice(0, headers.indexOf('\r\n')));
      else if (body[0] !== 0x64 /* d */ || body.subarray(0, 20).includes('failure reason')) m.error(body.toString('latin1', 0, 200));
      else m.answer();
      keepAlive = !oneShot && headers.startsWith('http/1.1') && !/\r\nconnection:\s*close/.test(headers);
      pending = undefined;
      inFlight = false;
      replies++;
      if (running && keepAlive) next();
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      open.delete(s);
      if (inFlight && replies > 0 && pending === undefined) oneShot = true;
      else if (inFlight) m.lose();
      connection();
    });
  };
  for (let i = 0; i < c.connections; i++) connection();

  const report = await timedWindow(m, c.seconds);
  running = false;
  for (const s of open) s.destroy();
  return report;
}

/**
 * Announce `perHash` distinct peers (ports 1..perHash from 127.0.0.1) to
 * every hash with numwant=0, then scrape all hashes to count what the
 * tracker holds. Used to measure opentracker's memory per peer.
 */
async function udpFill(c: FillConfig): Promise<{ announced: number; peers: number }> {
  const hashes = readHashes(c.hashes);
  const s = await udpClient(c.port);
  const connectionId = await udpConnectId(s);
  const total = HASHES * c.perHash;
  const WINDOW = 256;
  const template = Buffer.from(
    encodeRequest({
      action: 'announce', connectionId, transactionId: 0, infoHash: new Uint8Array(20), peerId: Buffer.from('-PB0001-000000000000'),
      downloaded: 0n, left: 1n, uploaded: 0n, event: 'started', ip: 0, key: 0, numWant: 0, port: 0,
    }),
  );
  // Announce number i (its transaction id): hash i mod 1000, port i div 1000 + 1. In flight: i -> when sent.
  const inFlight = new Map<number, number>();
  const send = (i: number): void => {
    inFlight.set(i, performance.now());
    const buf = Buffer.allocUnsafe(98);
    template.copy(buf);
    buf.writeUInt32BE(i, 12);
    hashes.copy(buf, 16, (i % HASHES) * 20, (i % HASHES) * 20 + 20);
    buf.writeUInt32BE(i, 52);
    buf.writeUInt16BE(Math.floor(i / HASHES) + 1, 96);
    s.send(buf);
  };
  let next = 0;
  await new Promise<void>((resolve) => {
    const sweep = setInterval(() => {
      const late = performance.now() - UDP_TIMEOUT_MS;
      for (const [i, at] of inFlight) if (at < late) send(i);
    }, UDP_TIMEOUT_MS);
    s.on('message', (msg: Buffer) => {
      // Late answers to a request sent twice are not in flight any more.
      if (msg.length < 8 || !inFlight.delete(msg.readUInt32BE(4))) return;
      if (next < total) send(next++);
      else if (inFlight.size === 0) {
        clearInterval(sweep);
        resolve();
      }
    });
    while (next < Math.min(total, WINDOW)) send(next++);
  });
  s.removeAllListeners('message');
  // Scrape in packets of 74 hashes (BEP 15's limit): seeders + leechers = peers held.
  let peers = 0;
  for (let first = 0; first < HASHES; first += 74) {
    const list: Uint8Array[] = [];
    for (let i = first; i < Math.min(HASHES, first + 74); i++) list.push(hashes.subarray(i * 20, i * 20 + 20));
    const r = await udpAsk(s, { action: 'scrape', connectionId, transactionId: 0x8000_0000 + first, infoHashes: list }, 2000);
    if (r?.action !== 'scrape') throw new Error('no answer to a scrape');
    const files: readonly ScrapeCounts[] = r.files;
    for (const f of files) peers += f.seeders + f.leechers;
  }
  s.close();
  return { announced: total, peers };
}

/**
 * The peerkit tracker core alone (no network): `peers` distinct IPv4 peers
 * over 1000 swarms, fed to Tracker.announce in a scrambled order (arrival
 * order is random in life; it matters for the sorted arrays' slack). Heap
 * plus array buffers after a full GC, before and after. Needs --expose-gc.
 */
function memoryPerPeer(c: MemoryConfig): { bytes: number; peers: number; torrents: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('the memory child needs --expose-gc');
  const infoHashes = Array.from({ length: HASHES }, () => new Uint8Array(randomBytes(20)));
  const peerId = new Uint8Array(randomBytes(20));
  const used = (): number => {
    gc();
    gc();
    const u = process.memoryUsage();
    return u.heapUsed + u.external;
  };
  // A modulus coprime with the count: visits every i once, in a scattered order.
  let stride = 7919;
  while (gcd(stride, c.peers) !== 1) stride += 2;
  const before = used();
  const tracker = new Tracker(() => 0.5);
  for (let k = 0; k < c.peers; k++) {
    const i = (k * stride) % c.peers;
    const ip = 0x0a000000 + Math.floor(i / 4); // 10.0.0.0/8, four ports per address
    tracker.announce(
      {
        infoHash: infoHashes[i % HASHES]!,
        peerId,
        host: `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`,
        port: 6881 + (i % 4),
        left: 1,
        event: 'started',
        numWant: 0,
        wantPeerIds: false,
      },
      0,
    );
  }
  const after = used();
  const stats = tracker.stats();
  return { bytes: (after - before) / stats.peers, peers: stats.peers, torrents: stats.torrents };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

async function child(config: ChildConfig): Promise<void> {
  let result: unknown;
  if (config.role === 'memory') result = memoryPerPeer(config);
  else if (config.role === 'fill') result = await udpFill(config);
  else result = config.role === 'udp' ? await udpLoad(config) : await httpLoad(config);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/**
 * Run this file as a child with `config`; its one JSON line of output. A
 * child still running after `timeoutMs` is killed and the bench fails: a
 * tracker that stops answering must not hang it.
 */
function runChild<T>(config: ChildConfig, timeoutMs: number, nodeFlags: readonly string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...nodeFlags, SELF, '--child', JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(p);
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`${config.role} child ${signal === 'SIGKILL' ? `killed after ${timeoutMs / 1000} s` : `exited with ${code}`}:\n${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
    });
  });
}

/** Every process this bench starts (trackers and generators), killed when it exits, however it exits. */
const children: ChildProcess[] = [];

function killChildren(): void {
  for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}

// ---------------------------------------------------------------------------
// The parent: trackers, runs, summary

interface Config {
  readonly seconds: number;
  readonly rounds: number;
  readonly window: number;
  readonly clients: number;
  readonly connections: number;
  readonly peers: number;
  readonly otPeers: number;
  readonly profile: string | undefined;
}

function config(): Config {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string' },
      rounds: { type: 'string' },
      window: { type: 'string' },
      clients: { type: 'string' },
      connections: { type: 'string' },
      peers: { type: 'string' },
      'ot-peers': { type: 'string' },
      profile: { type: 'string' },
    },
  });
  const whole = (name: string, text: string | undefined, fallback: number, min: number): number => {
    const n = Number(text ?? fallback);
    if (!Number.isInteger(n) || n < min) fail(`--${name} must be a whole number of at least ${min}`);
    return n;
  };
  const seconds = Number(values.seconds ?? 5);
  if (!(seconds > 0 && seconds <= 600)) fail('--seconds must be a number from 0 to 600');
  return {
    seconds,
    rounds: whole('rounds', values.rounds, 1, 1),
    window: whole('window', values.window, 128, 1),
    clients: whole('clients', values.clients, 32, 1),
    connections: whole('connections', values.connections, 64, 1),
    peers: whole('peers', values.peers, 1_000_000, 1000),
    otPeers: whole('ot-peers', values['ot-peers'], 1_000_000, 0),
    profile: values.profile,
  };
}

function fail(message: string): never {
  process.stderr.write(`bench:tracker: ${message}\n`);
  process.exit(1);
}

function hasOpentracker(): boolean {
  const r = spawnSync('opentracker', ['-h'], { stdio: 'ignore' });
  return (r.error as NodeJS.ErrnoException | undefined)?.code !== 'ENOENT';
}

/** A port free for both TCP and UDP right now (the tracker binds it a moment later). */
async function freePort(): Promise<number> {
  for (;;) {
    const server = createTcpServer();
    const port = await new Promise<number>((resolve) => server.listen(0, HOST, () => resolve((server.address() as { port: number }).port)));
    const udp = createSocket('udp4');
    const free = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, HOST, () => resolve(true));
    });
    await new Promise<void>((r) => server.close(() => r()));
    if (free) {
      await new Promise<void>((r) => udp.close(() => r()));
      return port;
    }
  }
}

interface RunningTracker {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  readonly udpPort: number;
  readonly httpPort: number;
  readonly output: () => string;
}

async function startTracker(name: string, command: string, args: (udp: number, http: number) => string[], cwd: string): Promise<RunningTracker> {
  const udpPort = await freePort();
  const httpPort = await freePort();
  const p = spawn(command, args(udpPort, httpPort), { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(p);
  let output = '';
  p.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  if (p.pid === undefined) fail(`${name} did not start`);
  const t: RunningTracker = { name, process: p, pid: p.pid, udpPort, httpPort, output: () => output };
  // Ready when it answers a UDP connect.
  const probe = await (async () => {
    const s = createSocket('udp4');
    try {
      for (let i = 0; i < 50; i++) {
        if (p.exitCode !== null) return false;
        const ok = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 100);
          s.once('message', () => {
            clearTimeout(timer);
            resolve(true);
          });
          s.send(encodeRequest({ action: 'connect', transactionId: i }), udpPort, HOST);
        });
        if (ok) return true;
      }
      return false;
    } finally {
      s.close();
    }
  })();
  if (!probe) fail(`${name} did not answer on udp://${HOST}:${udpPort}:\n${output}`);
  return t;
}

async function stopTracker(t: RunningTracker): Promise<void> {
  if (t.process.exitCode !== null || t.process.signalCode !== null) return;
  const exited = new Promise<void>((r) => t.process.once('exit', () => r()));
  t.process.kill('SIGTERM');
  const timer = setTimeout(() => t.process.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function opentracker(dir: string): Promise<RunningTracker> {
  // Run as root it chroots into -d and drops to "nobody", then reads the
  // allow-list: hence a path relative to that folder, and cwd there too for
  // the case where it does not chroot.
  return startTracker('opentracker', 'opentracker', (udp, http) => ['-i', HOST, '-p', String(http), '-P', String(udp), '-d', dir, '-w', 'allow-list.txt'], dir);
}

function peerkit(dir: string, profile: string | undefined): Promise<RunningTracker> {
  const flags = profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profile];
  return startTracker(
    'peerkit',
    process.execPath,
    (udp, http) => [...flags, PEERKIT, 'tracker', '--host', HOST, '--http-port', String(http), '--udp-port', String(udp), '--interval', '1800', '--allow-list', join(dir, 'allow-list.txt')],
    dir,
  );
}

interface Summary {
  readonly rate: number;
  readonly cpuPerAnnounce: number;
  readonly report: LoadReport;
}

function summarize(reports: readonly LoadReport[]): Summary {
  // Median run by rate (lower median), with its own CPU figure.
  const sorted = [...reports].sort((a, b) => a.answers / a.seconds - b.answers / b.seconds);
  const report = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return { rate: report.answers / report.seconds, cpuPerAnnounce: report.trackerCpu / Math.max(1, report.answers), report };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const cfg = config();
  if (!hasOpentracker()) {
    process.stderr.write('bench:tracker needs opentracker: apt-get install -y opentracker\n');
    process.exit(1);
  }
  const dir = mkdtempSync(join(tmpdir(), 'peerkit-bench-tracker-'));
  // opentracker may read its allow-list as "nobody" after dropping root.
  chmodSync(dir, 0o755);
  const hashList = join(dir, 'allow-list.txt');
  writeFileSync(hashList, `${Array.from({ length: HASHES }, () => randomBytes(20).toString('hex')).join('\n')}\n`, { mode: 0o644 });
  // fail() and signals end the process without unwinding: clean up on exit.
  process.on('exit', () => {
    killChildren();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

  try {
    process.stdout.write(
      `tracker: ${HASHES} info hashes, numwant ${NUM_WANT}, ${cfg.seconds} s per run after ${WARMUP_MS / 1000} s warm-up, ${cfg.rounds} round(s); ` +
        `UDP ${cfg.window} in flight over ${cfg.clients} clients, HTTP ${cfg.connections} connections; ${availableParallelism()} cores\n`,
    );
    const trackers = [await opentracker(dir), await peerkit(dir, cfg.profile)];
    const results = new Map<string, LoadReport[]>();
    // Alternate the trackers within each round, so a burst of load from
    // elsewhere on a shared machine falls on both rather than on one's series.
    for (let round = 0; round < cfg.rounds; round++) {
      for (const role of ['udp', 'http'] as const) {
        for (const t of trackers) {
          const report = await runChild<LoadReport>(
            {
              role, port: role === 'udp' ? t.udpPort : t.httpPort, pid: t.pid, hashes: hashList, seconds: cfg.seconds,
              window: cfg.window, clients: cfg.clients, connections: cfg.connections,
            },
            (WARMUP_MS / 1000 + cfg.seconds + 30) * 1000,
          );
          if (t.process.exitCode !== null) fail(`${t.name} exited during the run:\n${t.output()}`);
          const key = `${t.name} ${role}`;
          results.set(key, [...(results.get(key) ?? []), report]);
        }
      }
    }
    for (const t of trackers) await stopTracker(t);

    const summaries = new Map<string, Summary>();
    for (const role of ['udp', 'http'] as const) {
      for (const t of trackers) {
        const key = `${t.name} ${role}`;
        const s = summarize(results.get(key)!);
        summaries.set(key, s);
        const r = s.report;
        const problems = [r.errors > 0 ? `${fmt(r.errors)} errors (first: ${JSON.stringify(r.firstError)})` : '', r.lost > 0 ? `${fmt(r.lost)} lost` : ''].filter((x) => x !== '');
        process.stdout.write(
          `${t.name.padEnd(11)}  ${role.padEnd(4)}  ${fmt(s.rate).padStart(7)} announces/s  ${(s.cpuPerAnnounce * 1e6).toFixed(2).padStart(6)} µs CPU/announce  ` +
            `(tracker ${((r.trackerCpu / r.seconds) * 100).toFixed(0)}% of a core, generator ${((r.generatorCpu / r.seconds) * 100).toFixed(0)}%)` +
            `${problems.length > 0 ? `  ${problems.join(', ')}` : ''}\n`,
        );
      }
    }
    for (const role of ['udp', 'http'] as const) {
      const ot = summaries.get(`opentracker ${role}`)!;
      const pk = summaries.get(`peerkit ${role}`)!;
      const rate = pk.rate / ot.rate;
      const cpu = pk.cpuPerAnnounce / ot.cpuPerAnnounce;
      process.stdout.write(`tracker ${role}: peerkit/opentracker throughput ratio ${rate.toFixed(2)} (target >= ${THROUGHPUT_TARGET.toFixed(2)})${rate < THROUGHPUT_TARGET ? '  MISSED' : ''}\n`);
      process.stdout.write(`tracker ${role}: peerkit/opentracker CPU per announce ratio ${cpu.toFixed(2)} (target <= ${CPU_TARGET.toFixed(2)})${cpu > CPU_TARGET ? '  MISSED' : ''}\n`);
    }

    // Memory: the peerkit core in a fresh process, so nothing else lives on its heap.
    const mem = await runChild<{ bytes: number; peers: number; torrents: number }>({ role: 'memory', peers: cfg.peers }, 300_000, ['--expose-gc']);
    if (cfg.otPeers > 0) {
      // opentracker: RSS growth of a fresh process while it takes in that many peers over UDP.
      const ot = await opentracker(dir);
      try {
        await sleep(200);
        const before = rssBytes(ot.pid);
        const fill = await runChild<{ announced: number; peers: number }>({ role: 'fill', port: ot.udpPort, hashes: hashList, perHash: Math.ceil(cfg.otPeers / HASHES) }, 300_000);
        const grown = rssBytes(ot.pid) - before;
        process.stdout.write(`memory: opentracker ${(grown / fill.peers).toFixed(1)} bytes/peer (RSS grew ${(grown / 2 ** 20).toFixed(1)} MiB for ${fmt(fill.peers)} peers over ${HASHES} torrents)\n`);
      } finally {
        await stopTracker(ot);
      }
    }
    const over = mem.bytes >= BYTES_PER_PEER_TARGET;
    process.stdout.write(
      `memory: peerkit ${mem.bytes.toFixed(1)} bytes/peer at ${fmt(mem.peers)} peers over ${fmt(mem.torrents)} torrents, heap + array buffers (target < ${BYTES_PER_PEER_TARGET})${over ? '  MISSED' : ''}\n`,
    );
    if (cfg.profile !== undefined) process.stdout.write(`tracker: CPU profile of the peerkit tracker in ${cfg.profile}\n`);
  } finally {
    killChildren();
  }
}

const childArg = process.argv.indexOf('--child');
if (childArg >= 0) await child(JSON.parse(process.argv[childArg + 1]!) as ChildConfig);
else await main();
