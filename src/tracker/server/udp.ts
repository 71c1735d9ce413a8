import { createHmac } from 'node:crypto';
import { Info, INFO_WORDS, type DatagramBatch, type Endpoint } from '../../net/index.js';
import { bytesToIpv6, ipv4ToNumber } from '../compact.js';
import { TrackerError } from '../errors.js';
import { Action, AnnounceAt, checkRequest, eventName, MAX_PACKET, readInt64Number, readUint32, writeUint32 } from '../udp-codec.js';
import type { Tracker } from './tracker.js';

/*
 * The UDP side of the tracker (BEP 15), as a function from a packet to the
 * packet to send back: no socket here, so it is tested and fuzzed directly.
 * Two doors lead to the same code (answer): handle() takes one packet and
 * returns its reply, for node:dgram; handleBatch() takes a batch from the
 * native socket (net/batch-udp.ts) and writes every reply straight into its
 * send buffer, reading the request's fields in place: no packet object, no
 * address text for IPv4 clients, no reply allocated per datagram.
 *
 * Connection ids are not stored: an id is a keyed hash of the client's
 * address and the current minute, so the tracker keeps no state per client
 * and a flood of connects costs nothing but CPU. An id is accepted during
 * the minute it was made and the two after it, so for at least two minutes
 * as BEP 15 asks (clients use one for one minute).
 *
 * An error reply is never larger than the packet it answers, so spoofed junk
 * cannot turn the tracker into an amplifier against a third party.
 */

const WINDOW_MS = 60_000;

export interface UdpHandlerOptions {
  /** Use the `ip` field of announces instead of the packet's source address. @default false */
  readonly allowIpParam?: boolean;
  /** The key for connection ids (secret: whoever knows it can forge ids). */
  readonly secret: Uint8Array;
}

/** IPv6 peers in one UDP reply: 66 x 18 bytes + 20 stays under ~1,200 bytes, one unfragmented datagram. */
const MAX_PEERS6 = 66;

const utf8 = new TextEncoder();

export class UdpTrackerHandler {
  private readonly ids: ConnectionIds;
  private readonly allowIpParam: boolean;
  /** handle() writes each reply here, then returns a copy of it. */
  private readonly scratch = new Uint8Array(MAX_PACKET);
  /** Where the tracker writes an IPv4 reply's peers: reused, set before each announce. */
  private readonly into: { out: Uint8Array; at: number; readonly room: number; written: number } = { out: this.scratch, at: 0, room: MAX_PACKET - 20, written: -1 };
  /**
   * Views on the info hash and peer id of each slot of the batch buffer last
   * seen: made once, since the buffer never moves, rather than twice per
   * announce.
   */
  private slotViews: { rx: Uint8Array; rxSlot: number; infoHash: Uint8Array[]; peerId: Uint8Array[] } | undefined;

  constructor(
    private readonly tracker: Tracker,
    options: UdpHandlerOptions,
  ) {
    this.ids = new ConnectionIds(options.secret);
    this.allowIpParam = options.allowIpParam ?? false;
  }

  /** The reply to `packet` from `from`, or undefined when it deserves none (too short to answer). */
  handle(packet: Uint8Array, from: Endpoint, nowMs: number): Uint8Array | undefined {
    const n = this.answer(packet, 0, packet.length, ipv4ToNumber(from.host), from.host, from.port, nowMs, this.scratch, 0);
    return n === 0 ? undefined : this.scratch.slice(0, n);
  }

  /**
   * Answer the first `count` datagrams of a batch from the native socket:
   * reply i goes into `tx` at i * txSlot, its length into replyLength[i]
   * (0: none). Datagrams cut short by the socket (longer than rxSlot) are
   * refused as too large, like any request over MAX_PACKET. A datagram
   * that makes the tracker fail (a bug, not bad input: that gets an error
   * reply) is told to `onError` and left unanswered; the rest of the batch
   * is answered as usual.
   */
  handleBatch(batch: DatagramBatch, count: number, nowMs: number, onError: (e: unknown) => void): void {
    const { rx, rxSlot, info, infoBytes, tx, txSlot, replyLength } = batch;
    if (rxSlot < MAX_PACKET || txSlot < MAX_PACKET) throw new Error(`a UDP tracker batch needs slots of at least ${MAX_PACKET} bytes`);
    if (this.slotViews?.rx !== rx || this.slotViews.rxSlot !== rxSlot) {
      const slots = Math.floor(rx.length / rxSlot);
      const view = (i: number, field: number): Uint8Array => rx.subarray(i * rxSlot + field, i * rxSlot + field + 20);
      this.slotViews = {
        rx,
        rxSlot,
        infoHash: Array.from({ length: slots }, (_, i) => view(i, AnnounceAt.infoHash)),
        peerId: Array.from({ length: slots }, (_, i) => view(i, AnnounceAt.peerId)),
      };
    }
    for (let i = 0, w = 0; i < count; i++, w += INFO_WORDS) {
      const family = info[w + Info.family];
      const length = info[w + Info.length]!;
      const port = info[w + Info.port]!;
      let n = 0;
      try {
        if (family === 4) n = this.answer(rx, i * rxSlot, length, info[w + Info.ipv4]!, '', port, nowMs, tx, i * txSlot);
        else if (family === 6) {
          // IPv6 clients are rare: their address as text, as node:dgram would give it.
          const a = (w + Info.ipv6) * 4;
          n = this.answer(rx, i * rxSlot, length, undefined, bytesToIpv6(infoBytes.subarray(a, a + 16)), port, nowMs, tx, i * txSlot);
        }
      } catch (e) {
        n = 0;
        onError(e);
      }
      replyLength[i] = n;
    }
  }

  connectionId(from: Endpoint, window: number): bigint {
    this.ids.compute(window, from.host, ipv4ToNumber(from.host), from.port);
    return (BigInt(this.ids.hi) << 32n) | BigInt(this.ids.lo);
  }

  /**
   * Write the reply to the request of `length` bytes at `at` in `p` into
   * `out` at `o` (room for MAX_PACKET bytes): its length, or 0 for none.
   * The client is `v4` (an IPv4 address as a number) or else `host` (text),
   * and `port`.
   */
  private answer(p: Uint8Array, at: number, length: number, v4: number | undefined, host: string, port: number, nowMs: number, out: Uint8Array, o: number): number {
    if (length < 16) return 0;
    try {
      return this.respond(p, at, length, v4, host, port, nowMs, out, o);
    } catch (e) {
      if (!(e instanceof TrackerError)) throw e;
      // Never larger than the request (no amplification): the message is cut to fit.
      const limit = Math.min(length, MAX_PACKET);
      writeUint32(out, o, Action.error);
      writeUint32(out, o + 4, readUint32(p, at + 12));
      return 8 + utf8.encodeInto(e.message, out.subarray(o + 8, o + limit)).written;
    }
  }

  private respond(p: Uint8Array, at: number, length: number, v4: number | undefined, host: string, port: number, nowMs: number, out: Uint8Array, o: number): number {
    const action = checkRequest(p, at, length);
    const transactionId = readUint32(p, at + 12);
    const window = Math.floor(nowMs / WINDOW_MS);
    if (action === Action.connect) {
      this.ids.compute(window, host, v4, port);
      writeUint32(out, o, Action.connect);
      writeUint32(out, o + 4, transactionId);
      writeUint32(out, o + 8, this.ids.hi);
      writeUint32(out, o + 12, this.ids.lo);
      return 16;
    }
    // Made in this minute or either of the two before: an id is accepted for at
    // least two minutes after it was sent, as BEP 15 asks of trackers.
    if (!this.ids.matches(p, at, window, host, v4, port) && !this.ids.matches(p, at, window - 1, host, v4, port) && !this.ids.matches(p, at, window - 2, host, v4, port)) {
      throw new TrackerError('bad-param', 'connection id expired or wrong: connect again');
    }
    writeUint32(out, o + 4, transactionId);
    if (action === Action.scrape) {
      const hashes: Uint8Array[] = [];
      for (let h = at + 16; h < at + length; h += 20) hashes.push(p.subarray(h, h + 20));
      // At most MAX_SCRAPE_HASHES: 8 + 74 x 12 bytes.
      let w = o + 8;
      for (const { counts } of this.tracker.scrape(hashes)) {
        writeUint32(out, w, counts.seeders);
        writeUint32(out, w + 4, counts.completed);
        writeUint32(out, w + 8, counts.leechers);
        w += 12;
      }
      writeUint32(out, o, Action.scrape);
      return w - o;
    }
    const numWant = readUint32(p, at + AnnounceAt.numWant) | 0;
    const ip = readUint32(p, at + AnnounceAt.ip);
    // IPv4 peers go straight to their place in the reply.
    const into = this.into;
    into.out = out;
    into.at = o + 20;
    into.written = -1;
    // Views, not copies (the tracker copies what it keeps): the slot's own when p is the batch buffer.
    const views = this.slotViews;
    const slot = views !== undefined && views.rx === p ? at / views.rxSlot : -1;
    const reply = this.tracker.announce(
      {
        infoHash: slot >= 0 ? views!.infoHash[slot]! : p.subarray(at + AnnounceAt.infoHash, at + AnnounceAt.infoHash + 20),
        peerId: slot >= 0 ? views!.peerId[slot]! : p.subarray(at + AnnounceAt.peerId, at + AnnounceAt.peerId + 20),
        host: this.allowIpParam && ip !== 0 ? ip : (v4 ?? host),
        port: (p[at + AnnounceAt.port]! << 8) | p[at + AnnounceAt.port + 1]!,
        left: readInt64Number(p, at + AnnounceAt.left),
        event: eventName(readUint32(p, at + AnnounceAt.event)),
        numWant: v4 !== undefined ? (numWant < 0 ? undefined : numWant) : Math.min(numWant < 0 ? MAX_PEERS6 : numWant, MAX_PEERS6),
        wantPeerIds: false,
      },
      nowMs,
      v4 !== undefined ? into : undefined,
    );
    // BEP 15 sizes peers by the transport: IPv4 peers to an IPv4 client, IPv6 to IPv6.
    const peers = v4 !== undefined ? reply.peers : reply.peers6;
    // Whole entries that fit MAX_PACKET (only a maxNumWant far above the default needs the cut).
    const entry = v4 !== undefined ? 6 : 18;
    const fit = Math.min(peers.length, Math.floor((MAX_PACKET - 20) / entry) * entry);
    writeUint32(out, o, Action.announce);
    writeUint32(out, o + 8, reply.interval);
    writeUint32(out, o + 12, reply.leechers);
    writeUint32(out, o + 16, reply.seeders);
    // Already in place when the tracker wrote them there (IPv4); copied otherwise.
    if (into.written < 0 || v4 === undefined) out.set(fit === peers.length ? peers : peers.subarray(0, fit), o + 20);
    return 20 + fit;
  }
}

/*
 * Connection ids: SipHash-2-4 (a keyed PRF made for short inputs, the one
 * Linux uses for SYN cookies) of the minute, the port and the address, under
 * a 128-bit key derived once from the secret. It used to be an HMAC-SHA256
 * per packet (two for an id from the previous minute): a Node Hmac object,
 * its digest and a BigInt each time, a fifth of an announce's CPU. SipHash
 * here is ~60 ns, in 32-bit halves because JavaScript has no fast 64-bit
 * integers.
 *
 * The message, in 64-bit little-endian words (lo, hi):
 *   IPv4       (window, port)  (address, 0)
 *   any other  (window, port | (length + 1) << 16)  then the host text's
 *              UTF-16 code units, four per word, zero-padded
 */
class ConnectionIds {
  /** The id last computed, as two 32-bit halves (hi is the first 4 bytes on the wire). */
  hi = 0;
  lo = 0;
  private readonly k: Uint32Array; // k0 lo, k0 hi, k1 lo, k1 hi
  private words = new Uint32Array(32);
  /** SipHash state v0..v3 as (lo, hi) pairs. */
  private readonly v = new Uint32Array(8);

  constructor(secret: Uint8Array) {
    const key = createHmac('sha256', secret).update('peerkit udp connection id').digest();
    this.k = new Uint32Array([key.readUInt32LE(0), key.readUInt32LE(4), key.readUInt32LE(8), key.readUInt32LE(12)]);
  }

  /** Whether the 8 bytes at `at` in `packet` are the id for this address in `window`. */
  matches(packet: Uint8Array, at: number, window: number, host: string, v4: number | undefined, port: number): boolean {
    this.compute(window, host, v4, port);
    return readUint32(packet, at) === this.hi && readUint32(packet, at + 4) === this.lo;
  }

  compute(window: number, host: string, v4: number | undefined, port: number): void {
    const w = this.words;
    w[0] = window;
    let count: number;
    if (v4 !== undefined) {
      w[1] = port;
      w[2] = v4;
      w[3] = 0;
      count = 2;
    } else {
      count = 1 + Math.ceil(host.length / 4);
      // A longer host than ever before: a bigger array, so the first two words go into it, not into the old one.
      if (w.length < count * 2) this.words = new Uint32Array(count * 2);
      const words = this.words;
      words[0] = window;
      words[1] = port | ((host.length + 1) << 16);
      words.fill(0, 2, count * 2);
      for (let i = 0; i < host.length; i++) words[2 + (i >> 1)]! |= host.charCodeAt(i) << ((i & 1) * 16);
    }
    this.sipHash(count);
  }

  /** SipHash-2-4 of `count` whole words of `this.words`; the result goes to hi/lo. */
  private sipHash(count: number): void {
    const k = this.k;
    const w = this.words;
    const v = this.v;
    // The key xored with "somepseudorandomlygeneratedbytes".
    v[0] = k[0]! ^ 0x70736575; v[1] = k[1]! ^ 0x736f6d65; // v0
    v[2] = k[2]! ^ 0x6e646f6d; v[3] = k[3]! ^ 0x646f7261; // v1
    v[4] = k[0]! ^ 0x6e657261; v[5] = k[1]! ^ 0x6c796765; // v2
    v[6] = k[2]! ^ 0x79746573; v[7] = k[3]! ^ 0x74656462; // v3
    for (let i = 0; i < count; i++) {
      v[6]! ^= w[2 * i]!; v[7]! ^= w[2 * i + 1]!;
      sipRounds(v, 2);
      v[0]! ^= w[2 * i]!; v[1]! ^= w[2 * i + 1]!;
    }
    // The last block: the length in bytes in the top byte, nothing else (whole words only).
    const last = (count * 8) << 24;
    v[7]! ^= last;
    sipRounds(v, 2);
    v[1]! ^= last;
    v[4]! ^= 0xff;
    sipRounds(v, 4);
    this.lo = (v[0]! ^ v[2]! ^ v[4]! ^ v[6]!) >>> 0;
    this.hi = (v[1]! ^ v[3]! ^ v[5]! ^ v[7]!) >>> 0;
  }
}

/**
 * `n` SipRounds over the state v0..v3 held as (lo, hi) pairs in `v`:
 *   v0 += v1; v1 <<<= 13; v1 ^= v0; v0 <<<= 32;
 *   v2 += v3; v3 <<<= 16; v3 ^= v2;
 *   v0 += v3; v3 <<<= 21; v3 ^= v0;
 *   v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32;
 * A 64-bit add carries from lo into hi; a rotation by b < 32 moves the top
 * b bits of each half into the other.
 */
function sipRounds(v: Uint32Array, n: number): void {
  let v0l = v[0]!, v0h = v[1]!, v1l = v[2]!, v1h = v[3]!, v2l = v[4]!, v2h = v[5]!, v3l = v[6]!, v3h = v[7]!;
  let t: number;
  for (let r = 0; r < n; r++) {
    t = (v0l + v1l) >>> 0; v0h = (v0h + v1h + (t < v0l ? 1 : 0)) >>> 0; v0l = t;
    t = v1h; v1h = ((v1h << 13) | (v1l >>> 19)) >>> 0; v1l = ((v1l << 13) | (t >>> 19)) >>> 0;
    v1l = (v1l ^ v0l) >>> 0; v1h = (v1h ^ v0h) >>> 0;
    t = v0h; v0h = v0l; v0l = t;

    t = (v2l + v3l) >>> 0; v2h = (v2h + v3h + (t < v2l ? 1 : 0)) >>> 0; v2l = t;
    t = v3h; v3h = ((v3h << 16) | (v3l >>> 16)) >>> 0; v3l = ((v3l << 16) | (t >>> 16)) >>> 0;
    v3l = (v3l ^ v2l) >>> 0; v3h = (v3h ^ v2h) >>> 0;

    t = (v0l + v3l) >>> 0; v0h = (v0h + v3h + (t < v0l ? 1 : 0)) >>> 0; v0l = t;
    t = v3h; v3h = ((v3h << 21) | (v3l >>> 11)) >>> 0; v3l = ((v3l << 21) | (t >>> 11)) >>> 0;
    v3l = (v3l ^ v0l) >>> 0; v3h = (v3h ^ v0h) >>> 0;

    t = (v2l + v1l) >>> 0; v2h = (v2h + v1h + (t < v2l ? 1 : 0)) >>> 0; v2l = t;
    t = v1h; v1h = ((v1h << 17) | (v1l >>> 15)) >>> 0; v1l = ((v1l << 17) | (t >>> 15)) >>> 0;
    v1l = (v1l ^ v2l) >>> 0; v1h = (v1h ^ v2h) >>> 0;
    t = v2h; v2h = v2l; v2l = t;
  }
  v[0] = v0l; v[1] = v0h; v[2] = v1l; v[3] = v1h; v[4] = v2l; v[5] = v2h; v[6] = v3l; v[7] = v3h;
}
