import { connect, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { seededRandom, type Endpoint } from '../../../src/net/index.js';
import { FrameDecoder, formatEndpoint } from '../../../src/overlay/index.js';
import { FLOOD_MAX_FRAME, floodCodec, FloodNode, type FloodMessage, type FloodNodeOptions } from '../../../src/overlay/flood/index.js';

/*
 * What the flood tests share: a raw peer that speaks the protocol (or not)
 * over a plain socket, polling until a condition holds, starting a network
 * of real nodes on 127.0.0.1, and reading its graph back, and a server that
 * accepts connections and never says a word.
 */

/** Poll `cond` until it holds; fails after `timeoutMs` saying what was awaited. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

/** A peer driven by the test: sends what it is told, records every message it gets. */
export class RawPeer {
  readonly received: FloodMessage[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  /** Set when the node sent something that does not decode (it never should). */
  error: unknown;
  /** Answer every ping with an empty pong, as a live node would. */
  answerPings = false;
  private readonly decoder = new FrameDecoder(FLOOD_MAX_FRAME);

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk) => {
      try {
        for (const d of this.decoder.push(new Uint8Array(chunk))) {
          const m = floodCodec.decode(d);
          this.received.push(m);
          if (m.t === 'ping' && this.answerPings) this.send({ t: 'pong', addresses: [] });
        }
      } catch (e) {
        this.error = e;
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  static connect(to: Endpoint): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: to.host, port: to.port }, () => {
        s.off('error', reject);
        resolve(new RawPeer(s));
      });
      s.once('error', reject);
    });
  }

  /** Connect and exchange hellos (as a leaf unless `port` is given). */
  static async neighbour(to: Endpoint, idByte: number, port = 0): Promise<RawPeer> {
    const p = await RawPeer.connect(to);
    p.send({ t: 'hello', port, id: new Uint8Array(16).fill(idByte) });
    await p.next('hello');
    return p;
  }

  send(m: FloodMessage): void {
    this.socket.write(floodCodec.encode(m));
  }

  sendBytes(b: Uint8Array): void {
    this.socket.write(b);
  }

  /** Messages of type `t` received so far. */
  all<T extends FloodMessage['t']>(t: T): Extract<FloodMessage, { t: T }>[] {
    return this.received.filter((m): m is Extract<FloodMessage, { t: T }> => m.t === t);
  }

  /** The next message of type `t` not taken before (removes it from `received`). */
  async next<T extends FloodMessage['t']>(t: T, what = `a ${t} arrives`): Promise<Extract<FloodMessage, { t: T }>> {
    await until(() => this.received.some((m) => m.t === t), what);
    const i = this.received.findIndex((m) => m.t === t);
    return this.received.splice(i, 1)[0] as Extract<FloodMessage, { t: T }>;
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface Started {
  readonly node: FloodNode;
  readonly address: Endpoint;
  readonly key: string;
}

/** Start `n` listening nodes; `options(i)` gives each one's options (a seeded random is added). */
export async function startNodes(n: number, options: (i: number) => FloodNodeOptions): Promise<Started[]> {
  const out: Started[] = [];
  for (let i = 0; i < n; i++) {
    const node = new FloodNode({ random: seededRandom(1000 + i), ...options(i) });
    const address = await node.listen('127.0.0.1', 0);
    out.push({ node, address, key: formatEndpoint(address) });
  }
  return out;
}

/** Join each node after the first through a random earlier one (chosen by a seeded random). */
export async function chainJoin(nodes: readonly Started[], seed: number): Promise<void> {
  const random = seededRandom(seed);
  for (let i = 1; i < nodes.length; i++) await nodes[i]!.node.join([nodes[Math.floor(random() * i)]!.address]);
}

/** The graph as the nodes report it, keyed by listen address. */
export function graphOf(nodes: readonly Started[]): Map<string, string[]> {
  return new Map(nodes.map((s) => [s.key, s.node.neighbours().map(formatEndpoint).sort()]));
}

/** Every link listed at both ends, and no node counts a link it does not list (no handshakes or duplicates pending). */
export function settled(nodes: readonly Started[]): boolean {
  const g = graphOf(nodes);
  for (const s of nodes) {
    const mine = g.get(s.key)!;
    if (mine.length !== s.node.stats().neighbours) return false;
    if (mine.some((other) => g.get(other)?.includes(s.key) !== true)) return false;
  }
  return true;
}

/** Wait until the graph is settled and the same on two looks 100 ms apart. */
export async function waitSettled(nodes: readonly Started[], timeoutMs = 8_000): Promise<Map<string, string[]>> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    await until(() => settled(nodes), 'every link is listed at both ends', Math.max(0, end - performance.now()));
    const before = JSON.stringify([...graphOf(nodes)]);
    await sleep(100);
    if (settled(nodes) && JSON.stringify([...graphOf(nodes)]) === before) return graphOf(nodes);
  }
}

/** Query messages sent and received over all nodes. */
export function queryTotals(nodes: readonly Started[]): { sent: number; received: number } {
  let sent = 0;
  let received = 0;
  for (const s of nodes) {
    const st = s.node.stats();
    sent += st.sent.query;
    received += st.received.query;
  }
  return { sent, received };
}

export async function closeAll(nodes: readonly Started[]): Promise<void> {
  await Promise.all(nodes.map((s) => s.node.close()));
}

/** A TCP server on 127.0.0.1 that accepts connections and never sends anything (a hung node). */
export async function silentServer(): Promise<{ address: Endpoint; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no port');
  return {
    address: { host: '127.0.0.1', port: a.port },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
