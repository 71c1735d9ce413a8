import type { DatagramSocket } from '../datagram.js';
import { seededRandom, type Random } from '../random.js';
import type { StreamTransport } from '../stream.js';
import type { SimClock } from './clock.js';
import { SimUdpSocket, UdpInbound } from './datagram.js';
import { netError } from './errors.js';
import { Link, type Packet } from './link.js';
import { simConnect, simListen, type SimListener } from './transport.js';

/*
 * The simulated network (DESIGN.md: the network port's second
 * implementation): nodes with an IPv4-looking address and an access link,
 * all in one process on a SimClock, so the real engine, tracker and DHT code
 * runs with 100 peers faster than real time, and the same seed gives the
 * same run.
 *
 * The model, in the order a byte meets it:
 *
 *   1. Uplink: each node sends one packet (<= 16 KiB + 64 bytes) at a time
 *      at its `up` rate, round-robin among its connections and UDP sockets
 *      that have data queued: flows sharing a bottleneck get equal shares,
 *      as TCP flows roughly do. `bufferedAmount` counts bytes written and
 *      not yet through the uplink; `write` returns false past 256 KiB.
 *   2. Latency: the packet then travels the one-way latency between the two
 *      nodes (default `latencyMs`, per pair with `setLatency`; 0 to itself).
 *      The core is not a bottleneck: only access links have rates.
 *   3. Downlink: the receiver takes packets at its `down` rate, round-robin
 *      among its incoming flows, and hands stream data to onData (unless
 *      paused) and datagrams to their socket.
 *
 * Streams are reliable and ordered, with a 1 MiB window per direction (a
 * paused reader eventually stops the writer); datagrams are dropped with
 * probability `loss` and never reordered. Rates are payload bytes per
 * second (MB = 10^6): no header or TCP slow-start is modelled, so a 10 MiB
 * transfer at up = 1 MB/s takes 10,485,760 / 10^6 s plus one latency.
 * A connect takes one round trip (SYN, SYN-ACK) and fails after one round
 * trip with ECONNREFUSED when nobody listens at that address (transport.ts).
 * See stream.ts for a connection's life and closing.
 */

export interface SimNetworkOptions {
  readonly clock: SimClock;
  /** Seeds the random source that decides datagram loss. @default 1 */
  readonly seed?: number;
  /** One-way latency between any two nodes, in ms. @default 10 */
  readonly latencyMs?: number;
  /** Probability that a datagram is lost. @default 0 */
  readonly loss?: number;
}

export interface SimNodeOptions {
  /** Uplink capacity, bytes per second. @default unlimited */
  readonly up?: number | undefined;
  /** Downlink capacity, bytes per second. @default unlimited */
  readonly down?: number | undefined;
}

export class SimNetwork {
  readonly clock: SimClock;
  readonly loss: number;
  private readonly defaultLatency: number;
  private readonly random: Random;
  private readonly nodes = new Map<string, SimNode>();
  /** Per-pair latencies, by "a b" with a < b. */
  private readonly latencies = new Map<string, number>();

  constructor(options: SimNetworkOptions) {
    const { latencyMs = 10, loss = 0 } = options;
    if (!(latencyMs >= 0) || !Number.isFinite(latencyMs)) throw new RangeError(`latencyMs must be a finite number >= 0, got ${latencyMs}`);
    if (!(loss >= 0 && loss <= 1)) throw new RangeError(`loss must be in [0, 1], got ${loss}`);
    this.clock = options.clock;
    this.defaultLatency = latencyMs;
    this.loss = loss;
    this.random = seededRandom(options.seed ?? 1);
  }

  /** A new node at `host` (e.g. '10.0.0.1'). */
  addNode(host: string, options: SimNodeOptions = {}): SimNode {
    if (this.nodes.has(host)) throw new Error(`a node at ${host} already exists`);
    const node = new SimNode(this, host, rate(options.up, 'up'), rate(options.down, 'down'));
    this.nodes.set(host, node);
    return node;
  }

  node(host: string): SimNode | undefined {
    return this.nodes.get(host);
  }

  /** One-way latency between `a` and `b`, both ways, from now on (packets already in flight keep theirs). */
  setLatency(a: string, b: string, ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`latency must be a finite number >= 0, got ${ms}`);
    this.latencies.set(pairKey(a, b), ms);
  }

  /** One-way latency from `a` to `b`, in ms. */
  latency(a: string, b: string): number {
    if (this.latencies.size > 0) {
      const ms = this.latencies.get(pairKey(a, b));
      if (ms !== undefined) return ms;
    }
    return a === b ? 0 : this.defaultLatency;
  }

  /** @internal */
  linkLatency(a: SimNode, b: SimNode): number {
    return this.latency(a.host, b.host);
  }

  /** @internal A datagram left `from`'s uplink: lose it, or deliver it one latency later, in order. */
  route(from: SimNode, p: Packet): void {
    if (this.loss > 0 && this.random() < this.loss) return;
    const to = this.nodes.get(p.to!.host);
    if (to === undefined) return;
    const at = Math.max(this.clock.now() + this.latency(from.host, to.host), from.lastDatagramAt.get(to) ?? 0);
    from.lastDatagramAt.set(to, at);
    this.clock.setTimerAt(at, () => to.udpInbound.arrive(p));
  }
}

/** A host on the simulated network, with its access link and its ports. */
export class SimNode {
  readonly transport: StreamTransport;
  /** Payload bytes through the uplink and the downlink (stream data and datagrams). */
  readonly stats = { bytesUp: 0, bytesDown: 0 };
  /** @internal */ readonly clock: SimClock;
  /** @internal */ readonly uplink: Link;
  /** @internal undefined: unlimited, packets are delivered as they land. */
  readonly downlink: Link | undefined;
  /** @internal */ readonly listeners = new Map<number, SimListener>();
  /** @internal */ readonly udpInbound = new UdpInbound(this);
  /** @internal When the last datagram to each node lands (datagrams are not reordered). */
  readonly lastDatagramAt = new Map<SimNode, number>();
  private readonly udpSockets = new Map<number, SimUdpSocket>();
  private nextTcpPort = FIRST_EPHEMERAL;
  private nextUdpPort = FIRST_EPHEMERAL;

  /** @internal use SimNetwork.addNode */
  constructor(
    readonly network: SimNetwork,
    readonly host: string,
    up: number,
    down: number,
  ) {
    this.clock = network.clock;
    this.uplink = new Link(this.clock, up, (n) => void (this.stats.bytesUp += n));
    this.downlink = down === Infinity ? undefined : new Link(this.clock, down, (n) => void (this.stats.bytesDown += n));
    this.transport = {
      connect: (to, options) => simConnect(this, to, options),
      listen: (host, port, onConnection) => simListen(this, host, port, onConnection),
    };
  }

  /** A UDP socket on `port` (0: a free one); rejects with EADDRINUSE when taken. */
  bindUdp(port = 0): Promise<DatagramSocket> {
    if (!Number.isInteger(port) || port < 0 || port > 65535) return Promise.reject(new RangeError(`port must be an integer in [0, 65535], got ${port}`));
    if (port !== 0 && this.udpSockets.has(port)) return Promise.reject(netError('EADDRINUSE', 'bind', `${this.host}:${port}`));
    if (port === 0) {
      port = this.nextUdpPort;
      if (this.udpSockets.has(port)) port = nextFree(port, this.udpSockets);
      this.nextUdpPort = nextFree(port, this.udpSockets);
    }
    const socket = new SimUdpSocket(this, port);
    this.udpSockets.set(port, socket);
    return Promise.resolve(socket);
  }

  /** @internal */
  udpSocket(port: number): SimUdpSocket | undefined {
    return this.udpSockets.get(port);
  }

  /** @internal */
  unbindUdp(socket: SimUdpSocket): void {
    if (this.udpSockets.get(socket.local.port) === socket) this.udpSockets.delete(socket.local.port);
  }

  /** @internal A port for an outgoing connection or a listener on port 0 (not one being listened on). */
  ephemeralTcpPort(): number {
    let port = this.nextTcpPort;
    if (this.listeners.has(port)) port = nextFree(port, this.listeners);
    this.nextTcpPort = nextFree(port, this.listeners);
    return port;
  }
}

/** The IANA dynamic range, where operating systems pick ephemeral ports. */
const FIRST_EPHEMERAL = 49152;

/** The port after `port` in the ephemeral range (wrapping), skipping those in `used`. */
function nextFree(port: number, used: ReadonlyMap<number, unknown>): number {
  for (let i = 0; i < 65536 - FIRST_EPHEMERAL; i++) {
    port = port >= 65535 ? FIRST_EPHEMERAL : port + 1;
    if (!used.has(port)) return port;
  }
  throw new Error('no free port');
}

function rate(r: number | undefined, name: string): number {
  if (r === undefined) return Infinity;
  if (!(r > 0)) throw new RangeError(`${name} must be a positive number of bytes per second, got ${r}`);
  return r;
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}
