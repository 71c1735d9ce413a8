import type { Endpoint, StreamConnection } from '../net/index.js';
import { Bitfield, encodeMessage, encodePieceHeader, WireError, type Extensions, type Message, type WireDecoder } from '../wire/index.js';
import type { PeerKey } from './picker.js';
import { CHOKE_RATE_WINDOW_MS, RateMeter } from './rate.js';

/** Blocks queued in the socket to a peer: what it sends in this long, within the two bounds (bytes). */
const SEND_BUFFER_MS = 50;
const MIN_SEND_BUFFER = 48 * 1024;
const MAX_SEND_BUFFER = 1024 * 1024;
/** Round-trip samples kept per peer. */
const RTT_SAMPLES = 4;

/*
 * One neighbour: a TCP connection after a successful handshake (BEP 3).
 * It holds the four bits of state each side keeps about the other:
 *
 *   am_choking      we refuse to upload to it          (starts true)
 *   am_interested   it has pieces we want              (starts false)
 *   peer_choking    it refuses to upload to us         (starts true)
 *   peer_interested it wants pieces we have            (starts false)
 *
 * plus what it has (a Bitfield), what it asked us for, and transfer rates.
 * It frames and sends messages and decodes what arrives; what the messages
 * mean for the torrent is the Torrent's business (`onMessage`).
 */

export interface PeerEvents {
  message(peer: PeerConnection, m: Message): void;
  /** The connection is gone; `reason` says why, for --verbose. */
  closed(peer: PeerConnection, reason: string): void;
  /** The send buffer has room again. */
  drain(peer: PeerConnection): void;
}

export interface PeerInit {
  readonly key: PeerKey;
  readonly conn: StreamConnection;
  /** The decoder that read the handshake: it may already hold the first messages. */
  readonly decoder: WireDecoder;
  readonly peerId: Uint8Array;
  /** Extensions both sides support (BEP 6, 10, 5). */
  readonly extensions: Extensions;
  readonly pieceCount: number;
  readonly now: number;
  readonly outgoing: boolean;
}

/** BEP 3 peer ids often start with a client tag (BEP 20 style `-LT2080-`): show it, for humans. */
export function clientName(peerId: Uint8Array): string {
  const s = Buffer.from(peerId.subarray(0, 8)).toString('latin1');
  const m = /^-([A-Za-z]{2})(\w{4})-$/.exec(s);
  return m !== null ? `${m[1]} ${m[2]}` : Buffer.from(peerId.subarray(0, 8)).toString('hex');
}

export class PeerConnection {
  readonly key: PeerKey;
  readonly remote: Endpoint;
  readonly peerId: Uint8Array;
  readonly extensions: Extensions;
  readonly connectedAt: number;
  readonly outgoing: boolean;
  amChoking = true;
  amInterested = false;
  peerChoking = true;
  peerInterested = false;
  /** What it has; replaced by its bitfield / have-all, updated by have. */
  pieces: Bitfield;
  /** Whether it sent its bitfield (or have-all/none) yet: only one is allowed, and only first. */
  sentPieces = false;
  /** BEP 6 allowed-fast pieces it offered us: requestable while it chokes us. */
  readonly allowedFast = new Set<number>();
  /** Its BEP 10 `reqq`: how many requests it queues. */
  maxRequests = 250;
  /** Its BEP 10 `m`: extension name -> the id it wants in messages we send. */
  extensionIds: ReadonlyMap<string, number> = new Map();
  clientVersion: string | undefined;
  /** Payload bytes, excluding protocol overhead. */
  readonly download = new RateMeter();
  readonly upload = new RateMeter();
  /** The same over Cohen's 20 s window, which the choker ranks by: short bursts should not win a slot. */
  readonly downloadAverage = new RateMeter(CHOKE_RATE_WINDOW_MS);
  readonly uploadAverage = new RateMeter(CHOKE_RATE_WINDOW_MS);
  /** When it last sent us anything / a block we asked for; when we last sent it anything. */
  lastReceivedAt: number;
  lastBlockAt: number;
  /** When requests last went out to it on an empty pipeline. */
  requestedAt: number;
  lastSentAt: number;
  snubbed = false;
  /** Requests went out on an empty pipeline: when, and the first of them, whose block times the round trip. */
  private rttProbe: { readonly at: number; readonly index: number; readonly begin: number } | undefined;
  /** The last few round-trip samples, ms. */
  private readonly rttSamples: number[] = [];
  /** Its requests to us, in arrival order, waiting for us to send the block. */
  readonly requests: { index: number; begin: number; length: number }[] = [];
  /** Blocks being read from storage for it right now. */
  reading = 0;
  private closed = false;
  /** The last write found the send buffer over its mark; cleared when it drains. */
  private full = false;
  private readonly goneHandlers: (() => void)[] = [];
  private readonly conn: StreamConnection;
  private readonly decoder: WireDecoder;
  private events: PeerEvents | undefined;

  constructor(init: PeerInit) {
    this.key = init.key;
    this.conn = init.conn;
    this.decoder = init.decoder;
    this.remote = init.conn.remote;
    this.peerId = init.peerId;
    this.extensions = init.extensions;
    this.connectedAt = init.now;
    this.lastReceivedAt = init.now;
    this.lastBlockAt = init.now;
    this.requestedAt = init.now;
    this.lastSentAt = init.now;
    this.outgoing = init.outgoing;
    this.pieces = new Bitfield(init.pieceCount);
  }

  /**
   * The round trip to this peer (request to block, when nothing else was queued at it), ms; undefined until measured.
   * The largest of the last few samples: a sample taken while our own uplink or theirs was idle understates the
   * round trip under load, and too short a request queue starves a link, while too long a one only claims more.
   */
  get rtt(): number | undefined {
    return this.rttSamples.length === 0 ? undefined : Math.max(...this.rttSamples);
  }

  /** Requests are going out and none were outstanding: time the block of the first of them. */
  startRttProbe(now: number, first: { readonly index: number; readonly begin: number }): void {
    this.rttProbe ??= { at: now, index: first.index, begin: first.begin };
  }

  /** A block arrived: a sample if it is the probe's (a block asked for earlier, and released since, is not). */
  blockArrived(now: number, index: number, begin: number): void {
    const probe = this.rttProbe;
    if (probe === undefined || probe.index !== index || probe.begin !== begin) return;
    if (this.rttSamples.length >= RTT_SAMPLES) this.rttSamples.shift();
    this.rttSamples.push(now - probe.at);
    this.rttProbe = undefined;
  }

  /** Our requests were dropped (choke, reject, snub): the probe's block may never come. */
  cancelRttProbe(): void {
    this.rttProbe = undefined;
  }

  get address(): string {
    return `${this.remote.host}:${this.remote.port}`;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Whether more bulk data may be queued now: not after the connection said its send buffer is full (a write returned false),
   * until it drains. The transport's own mark decides, so no constant here can disagree with it and wait for a drain that
   * never comes.
   */
  get writable(): boolean {
    return !this.closed && !this.full;
  }

  /** Start delivering messages (those that arrived with the handshake first). */
  attach(events: PeerEvents, now: () => number): void {
    this.events = events;
    this.conn.onData((chunk) => {
      this.lastReceivedAt = now();
      this.decoder.push(chunk);
      this.drainDecoder();
    });
    this.conn.onDrain(() => {
      this.full = false;
      this.events?.drain(this);
    });
    this.conn.onClose((e) => this.gone(e !== undefined ? `connection lost: ${e.message}` : 'closed by peer'));
    this.drainDecoder();
    this.conn.resume();
  }

  /** Run `fn` once the connection is gone. */
  onGone(fn: () => void): void {
    if (this.closed) fn();
    else this.goneHandlers.push(fn);
  }

  /** Several messages in one write (a batch of requests). */
  sendAll(ms: readonly Message[], now: number): void {
    if (this.closed || ms.length === 0) return;
    this.lastSentAt = now;
    if (!this.conn.write(Buffer.concat(ms.map(encodeMessage)))) this.full = true;
  }

  send(m: Message, now: number): void {
    if (this.closed) return;
    this.lastSentAt = now;
    if (!this.conn.write(encodeMessage(m))) this.full = true;
  }

  /**
   * A block, written as header then data, so the block is never copied into a frame. The send buffer is kept to
   * about SEND_BUFFER_MS of this peer's rate: blocks still in the uploader's queue can be cancelled, and dropped
   * when we choke, while what is in the socket goes out regardless. (Over TCP this bounds Node's own buffer only:
   * the kernel's send buffer, often a megabyte or more, is beyond recall either way.)
   */
  sendBlock(index: number, begin: number, block: Uint8Array, now: number): void {
    if (this.closed) return;
    this.lastSentAt = now;
    this.upload.add(block.length, now);
    this.uploadAverage.add(block.length, now);
    this.conn.highWater = Math.min(MAX_SEND_BUFFER, Math.max(MIN_SEND_BUFFER, (this.upload.rate(now) * SEND_BUFFER_MS) / 1000));
    this.conn.write(encodePieceHeader(index, begin, block.length));
    if (!this.conn.write(block)) this.full = true;
  }

  pause(): void {
    this.conn.pause();
  }

  resume(): void {
    this.conn.resume();
  }

  close(reason: string): void {
    if (this.closed) return;
    this.conn.destroy();
    this.gone(reason);
  }

  private gone(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.goneHandlers.splice(0)) fn();
    this.events?.closed(this, reason);
  }

  private drainDecoder(): void {
    try {
      for (;;) {
        if (this.closed) return;
        const m = this.decoder.next();
        if (m === undefined) return;
        if (m.type === 'handshake') throw new WireError('bad-handshake', 'a second handshake');
        this.events?.message(this, m);
      }
    } catch (e) {
      this.close(e instanceof WireError ? `protocol error: ${e.message}` : `error: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
