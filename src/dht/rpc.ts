import type { BDict } from '../bencode/index.js';
import type { Clock, DatagramSocket, Endpoint, Timer } from '../net/index.js';
import { DhtError } from './errors.js';
import { decodeKrpc, encodeError, encodeQuery, encodeResponse, type Args, type KrpcMessage } from './krpc.js';

/*
 * The KRPC transport: sends queries and matches replies to them by
 * transaction id and address, with a timeout on the injected clock; hands
 * incoming queries to the node; drops garbage and floods.
 *
 * Transaction ids are 2 bytes from a counter. A reply counts only when it
 * comes from the address the query went to, so a third party cannot answer
 * for a node it is not.
 *
 * Floods: each source address gets a token bucket of two seconds' worth of
 * queries, refilled at `queryRate` per second; queries beyond it are dropped without
 * an answer. The table of buckets is bounded (oldest entries go first).
 */

export const DEFAULT_QUERY_TIMEOUT_MS = 2_000;
/** Queries per second accepted from one address, and the burst above that. */
export const DEFAULT_QUERY_RATE = 50;
const BURST_SECONDS = 2;
const MAX_TRACKED_SOURCES = 10_000;
const MAX_PENDING = 4_096;

export interface Reply {
  readonly r: BDict;
  readonly from: Endpoint;
  /** Our address as the replier sees it (BEP 42 `ip`), when it said. */
  readonly ip?: Endpoint;
}

export type QueryMessage = Extract<KrpcMessage, { y: 'q' }>;

interface Pending {
  readonly to: Endpoint;
  readonly resolve: (r: Reply) => void;
  readonly reject: (e: DhtError) => void;
  readonly timer: Timer;
}

export interface RpcStats {
  queriesSent: number;
  repliesReceived: number;
  timeouts: number;
  queriesReceived: number;
  /** Datagrams dropped: malformed, unexpected replies, rate-limited. */
  dropped: number;
}

export interface RpcOptions {
  /** @default DEFAULT_QUERY_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** Queries per second accepted from one address (Infinity: no limit, for a network of many nodes on one host). @default DEFAULT_QUERY_RATE */
  readonly queryRate?: number;
}

export class Rpc {
  readonly stats: RpcStats = { queriesSent: 0, repliesReceived: 0, timeouts: 0, queriesReceived: 0, dropped: 0 };
  private readonly pending = new Map<string, Pending>();
  private readonly sources = new Map<string, { tokens: number; at: number }>();
  private readonly timeoutMs: number;
  private readonly queryRate: number;
  private nextTid = 0;
  private closed = false;

  constructor(
    private readonly socket: DatagramSocket,
    private readonly clock: Clock,
    private readonly onQuery: (msg: QueryMessage, from: Endpoint) => void,
    options: RpcOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    this.queryRate = options.queryRate ?? DEFAULT_QUERY_RATE;
    socket.onMessage((data, from) => this.receive(data, from));
  }

  get local(): Endpoint {
    return this.socket.local;
  }

  query(to: Endpoint, q: string, a: Args, readOnly = false): Promise<Reply> {
    if (this.closed) return Promise.reject(new DhtError('closed', 'the DHT node is closed'));
    if (this.pending.size >= MAX_PENDING) return Promise.reject(new DhtError('timeout', 'too many queries in flight'));
    const tid = this.nextTid;
    this.nextTid = (this.nextTid + 1) & 0xffff;
    const t = new Uint8Array([tid >> 8, tid & 0xff]);
    const key = pendingKey(t, to);
    return new Promise<Reply>((resolve, reject) => {
      const timer = this.clock.setTimer(this.timeoutMs, () => {
        if (this.pending.get(key)?.timer !== timer) return;
        this.pending.delete(key);
        this.stats.timeouts++;
        reject(new DhtError('timeout', `no answer from ${to.host}:${to.port} to ${q}`));
      });
      this.pending.get(key)?.reject(new DhtError('timeout', 'transaction id reused'));
      this.pending.set(key, { to, resolve, reject, timer });
      this.stats.queriesSent++;
      this.socket.send(encodeQuery(t, q, a, readOnly), to);
    });
  }

  respond(to: Endpoint, t: Uint8Array, r: Args): void {
    if (!this.closed) this.socket.send(encodeResponse(t, r, to), to);
  }

  error(to: Endpoint, t: Uint8Array, code: number, message: string): void {
    if (!this.closed) this.socket.send(encodeError(t, code, message), to);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) {
      p.timer.cancel();
      p.reject(new DhtError('closed', 'the DHT node is closed'));
    }
    this.pending.clear();
    this.socket.close();
  }

  private receive(data: Uint8Array, from: Endpoint): void {
    let msg: KrpcMessage;
    try {
      msg = decodeKrpc(data);
    } catch (e) {
      if (!(e instanceof DhtError)) throw e;
      this.stats.dropped++;
      return;
    }
    if (msg.y === 'q') {
      if (!this.allow(from.host)) {
        this.stats.dropped++;
        return;
      }
      this.stats.queriesReceived++;
      this.onQuery(msg, from);
      return;
    }
    const key = pendingKey(msg.t, from);
    const p = this.pending.get(key);
    if (p === undefined) {
      this.stats.dropped++;
      return;
    }
    this.pending.delete(key);
    p.timer.cancel();
    this.stats.repliesReceived++;
    if (msg.y === 'e') p.reject(new DhtError('remote-error', `${from.host}:${from.port} answered error ${msg.code}: ${msg.message}`, msg.code));
    else p.resolve(msg.ip === undefined ? { r: msg.r, from } : { r: msg.r, from, ip: msg.ip });
  }

  /** The per-address token bucket. */
  private allow(host: string): boolean {
    if (this.queryRate === Infinity) return true;
    const burst = this.queryRate * BURST_SECONDS;
    const now = this.clock.now();
    let s = this.sources.get(host);
    if (s === undefined) {
      if (this.sources.size >= MAX_TRACKED_SOURCES) {
        const oldest = this.sources.keys().next().value;
        if (oldest !== undefined) this.sources.delete(oldest);
      }
      s = { tokens: burst, at: now };
    } else {
      this.sources.delete(host); // re-insert: the map's order is least recently seen first
      s.tokens = Math.min(burst, s.tokens + ((now - s.at) / 1000) * this.queryRate);
      s.at = now;
    }
    this.sources.set(host, s);
    if (s.tokens < 1) return false;
    s.tokens--;
    return true;
  }
}

function pendingKey(t: Uint8Array, from: Endpoint): string {
  let k = '';
  for (const b of t) k += String.fromCharCode(b);
  return `${k}|${from.host}|${from.port}`;
}
