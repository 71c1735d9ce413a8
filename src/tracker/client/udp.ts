import { isIP, isIPv6 } from 'node:net';
import type { Clock, DatagramSocket, Endpoint, Random } from '../../net/index.js';
import { decodePeers4, decodePeers6, plainHost } from '../compact.js';
import { TrackerError } from '../errors.js';
import { decodeResponse, encodeRequest, MAX_SCRAPE_HASHES, type UdpRequest, type UdpResponse } from '../udp-codec.js';
import { byteCount, checkAnnounceParams, checkInfoHash } from './params.js';
import type { AnnounceParams, AnnounceResult, RequestOptions, ScrapeFile, TrackerClient } from './types.js';

/*
 * UDP trackers (BEP 15), over the injected DatagramSocket and Clock.
 *
 *   client                                 tracker
 *     connect  <0x41727101980><0><tx1>  ->
 *                                       <-  <0><tx1><connection_id>
 *     announce <connection_id><1><tx2>...  ->                 (98 bytes)
 *                                       <-  <1><tx2><interval><leechers><seeders><peers>
 *
 * - A connection id may be used until one minute after it was received; it
 *   is cached per tracker endpoint and shared by every request to it.
 * - No answer after 15·2^n seconds: send again, n += 1, up to n = 8
 *   (3,840 s). n counts over the whole request, connect and announce
 *   together, and a retransmit reconnects first when the id has expired.
 * - Each packet gets a fresh random 32-bit transaction id; replies are
 *   matched on it (and on the tracker's address), anything else is dropped.
 *
 * One UdpTrackerSocket serves any number of concurrent requests to any
 * number of trackers on one socket. The socket stays the caller's to close.
 */

export interface UdpTrackerComponents {
  readonly socket: DatagramSocket;
  readonly clock: Clock;
  /** For transaction ids. */
  readonly random: Random;
}

export interface UdpTrackerInit {
  /** Highest n in the 15·2^n s retransmit schedule; the wait at n = maxN is the last. @default 8 */
  readonly maxN?: number;
  /** The "15 s" of the schedule, for callers that want shorter deadlines. @default 15000 */
  readonly baseTimeoutMs?: number;
  /** @default 60000 (BEP 15) */
  readonly connectionIdTtlMs?: number;
}

interface Pending {
  readonly to: Endpoint;
  settle(r: UdpResponse, v6: boolean): void;
  fail(e: TrackerError): void;
}

interface Reply {
  readonly response: UdpResponse;
  /** Reached over IPv6: peers are 18 bytes each (BEP 15). */
  readonly v6: boolean;
}

export class UdpTrackerSocket {
  private readonly socket: DatagramSocket;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly maxN: number;
  private readonly baseTimeoutMs: number;
  private readonly ttlMs: number;
  private readonly pending = new Map<number, Pending>();
  private readonly connections = new Map<string, { readonly id: bigint; readonly at: number }>();

  constructor(components: UdpTrackerComponents, init: UdpTrackerInit = {}) {
    this.socket = components.socket;
    this.clock = components.clock;
    this.random = components.random;
    this.maxN = init.maxN ?? 8;
    this.baseTimeoutMs = init.baseTimeoutMs ?? 15_000;
    this.ttlMs = init.connectionIdTtlMs ?? 60_000;
    this.socket.onMessage((data, from) => void this.receive(data, from));
  }

  /** A TrackerClient for one udp://host:port URL on this socket. */
  client(url: string): UdpTrackerClient {
    return new UdpTrackerClient(url, this);
  }

  async announce(to: Endpoint, p: AnnounceParams, options: RequestOptions = {}): Promise<AnnounceResult> {
    checkAnnounceParams(p);
    const { response: r, v6 } = await this.exchange(
      to,
      (connectionId, transactionId) => ({
        action: 'announce',
        connectionId,
        transactionId,
        infoHash: p.infoHash,
        peerId: p.peerId,
        downloaded: byteCount('downloaded', p.downloaded),
        left: byteCount('left', p.left),
        uploaded: byteCount('uploaded', p.uploaded),
        event: p.event ?? 'none',
        ip: 0,
        key: p.key ?? 0,
        numWant: p.numWant ?? -1,
        port: p.port,
      }),
      options.signal,
    );
    if (r.action !== 'announce') throw new TrackerError('malformed', `expected an announce response, got ${r.action}`);
    return { interval: r.interval, complete: r.seeders, incomplete: r.leechers, peers: v6 ? decodePeers6(r.peers) : decodePeers4(r.peers) };
  }

  /** Scrape in packets of at most 74 info hashes (BEP 15), one after the other. */
  async scrape(to: Endpoint, infoHashes: readonly Uint8Array[], options: RequestOptions = {}): Promise<ScrapeFile[]> {
    for (const h of infoHashes) checkInfoHash('info_hash', h);
    const out: ScrapeFile[] = [];
    for (let i = 0; i < infoHashes.length; i += MAX_SCRAPE_HASHES) {
      const batch = infoHashes.slice(i, i + MAX_SCRAPE_HASHES);
      const { response: r } = await this.exchange(to, (connectionId, transactionId) => ({ action: 'scrape', connectionId, transactionId, infoHashes: batch }), options.signal);
      if (r.action !== 'scrape') throw new TrackerError('malformed', `expected a scrape response, got ${r.action}`);
      // Counts come back in request order; a short reply covers a prefix.
      r.files.slice(0, batch.length).forEach((f, j) => out.push({ infoHash: new Uint8Array(batch[j]!), complete: f.seeders, downloaded: f.completed, incomplete: f.leechers }));
    }
    return out;
  }

  /** Reject every request in flight. The socket itself is the caller's to close. */
  close(): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.fail(new TrackerError('network', 'UDP tracker socket closed'));
  }

  /** Handle one datagram; true if it answered a request in flight. Exposed for callers that demultiplex a shared socket. */
  receive(data: Uint8Array, from: Endpoint): boolean {
    if (data.length < 8) return false;
    const transactionId = new DataView(data.buffer, data.byteOffset, 8).getUint32(4);
    const p = this.pending.get(transactionId);
    if (p === undefined) return false;
    // Only the tracker we asked may answer (a hostname cannot be compared; the random id must do).
    if (from.port !== p.to.port || (isIP(p.to.host) !== 0 && plainHost(from.host) !== plainHost(p.to.host))) return false;
    const v6 = isIPv6(from.host) && isIP(plainHost(from.host)) === 6;
    let r: UdpResponse;
    try {
      r = decodeResponse(data, v6 ? 18 : 6);
    } catch (e) {
      p.fail(e instanceof TrackerError ? e : new TrackerError('malformed', String(e)));
      return true;
    }
    if (r.action === 'error') p.fail(new TrackerError('failure', r.message));
    else p.settle(r, v6);
    return true;
  }

  private key(to: Endpoint): string {
    return `${to.host}|${to.port}`;
  }

  /** The cached connection id, if it is less than a minute old. */
  private connectionId(to: Endpoint): bigint | undefined {
    const c = this.connections.get(this.key(to));
    if (c === undefined) return undefined;
    if (this.clock.now() - c.at >= this.ttlMs) {
      this.connections.delete(this.key(to));
      return undefined;
    }
    return c.id;
  }

  /** Connect if needed, then send `build(...)` until it is answered, on the 15·2^n schedule. */
  private async exchange(to: Endpoint, build: (connectionId: bigint, transactionId: number) => UdpRequest, signal: AbortSignal | undefined): Promise<Reply> {
    // An id just received is used at once, whatever the TTL (a TTL of 0 must not loop on connects).
    let fresh: bigint | undefined;
    for (let n = 0; ; ) {
      const waitMs = this.baseTimeoutMs * 2 ** n;
      const connectionId = fresh ?? this.connectionId(to);
      fresh = undefined;
      const reply =
        connectionId === undefined
          ? await this.send(to, (transactionId) => ({ action: 'connect', transactionId }), waitMs, signal)
          : await this.send(to, (transactionId) => build(connectionId, transactionId), waitMs, signal);
      if (reply === undefined) {
        n += 1;
        if (n > this.maxN) throw new TrackerError('timeout', `no answer from ${to.host}:${to.port} after ${n} tries`);
        continue;
      }
      if (connectionId !== undefined) return reply;
      if (reply.response.action !== 'connect') throw new TrackerError('malformed', `expected a connect response, got ${reply.response.action}`);
      fresh = reply.response.connectionId;
      this.connections.set(this.key(to), { id: fresh, at: this.clock.now() });
    }
  }

  /** Send one packet; resolve with its reply, or undefined when `waitMs` passes first. */
  private send(to: Endpoint, build: (transactionId: number) => UdpRequest, waitMs: number, signal: AbortSignal | undefined): Promise<Reply | undefined> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(new TrackerError('network', 'aborted'));
        return;
      }
      const transactionId = this.newTransactionId();
      const done = (): void => {
        this.pending.delete(transactionId);
        timer.cancel();
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        done();
        reject(new TrackerError('network', 'aborted'));
      };
      const timer = this.clock.setTimer(waitMs, () => {
        done();
        resolve(undefined);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      const request = build(transactionId);
      this.pending.set(transactionId, {
        to,
        settle: (response, v6) => {
          done();
          resolve({ response, v6 });
        },
        fail: (e) => {
          done();
          // An error may mean the tracker forgot our connection id: get a new one next time.
          if (request.action !== 'connect') this.connections.delete(this.key(to));
          reject(e);
        },
      });
      try {
        this.socket.send(encodeRequest(request), to);
      } catch (e) {
        done();
        reject(new TrackerError('network', e instanceof Error ? e.message : String(e)));
      }
    });
  }

  /** A random 32-bit id not used by a request in flight. */
  private newTransactionId(): number {
    for (;;) {
      const id = Math.floor(this.random() * 2 ** 32) >>> 0;
      if (!this.pending.has(id)) return id;
    }
  }
}

/** A TrackerClient for one udp://host:port URL (BEP 15; a BEP 41 path is not sent). */
export class UdpTrackerClient implements TrackerClient {
  readonly url: string;
  readonly endpoint: Endpoint;
  private readonly socket: UdpTrackerSocket;

  constructor(url: string, socket: UdpTrackerSocket) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TrackerError('bad-param', `not a URL: ${url}`);
    }
    const port = Number(parsed.port);
    if (parsed.protocol !== 'udp:' || parsed.hostname === '' || !(port > 0)) throw new TrackerError('bad-param', `not a udp://host:port tracker URL: ${url}`);
    this.url = url;
    this.endpoint = { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port };
    this.socket = socket;
  }

  announce(params: AnnounceParams, options?: RequestOptions): Promise<AnnounceResult> {
    return this.socket.announce(this.endpoint, params, options);
  }

  scrape(infoHashes: readonly Uint8Array[], options?: RequestOptions): Promise<ScrapeFile[]> {
    return this.socket.scrape(this.endpoint, infoHashes, options);
  }
}
