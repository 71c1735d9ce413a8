import { createHmac } from 'node:crypto';
import type { Endpoint } from '../../net/index.js';
import { TrackerError } from '../errors.js';
import { decodeRequest, encodeResponse, readUint32, type UdpResponse } from '../udp-codec.js';
import { ipv4ToNumber } from '../compact.js';
import type { Tracker } from './tracker.js';

/*
 * The UDP side of the tracker (BEP 15), as a function from a packet to the
 * packet to send back: no socket here, so it is tested and fuzzed directly.
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

export class UdpTrackerHandler {
  private readonly ids: ConnectionIds;
  private readonly allowIpParam: boolean;

  constructor(
    private readonly tracker: Tracker,
    options: UdpHandlerOptions,
  ) {
    this.ids = new ConnectionIds(options.secret);
    this.allowIpParam = options.allowIpParam ?? false;
  }

  /** The reply to `packet` from `from`, or undefined when it deserves none (too short to answer). */
  handle(packet: Uint8Array, from: Endpoint, nowMs: number): Uint8Array | undefined {
    if (packet.length < 16) return undefined;
    let response: UdpResponse;
    try {
      response = this.respond(packet, from, nowMs);
    } catch (e) {
      if (!(e instanceof TrackerError)) throw e;
      response = { action: 'error', transactionId: readUint32(packet, 12), message: e.message };
      const reply = encodeResponse(response);
      return reply.length <= packet.length ? reply : encodeResponse({ ...response, message: e.message.slice(0, Math.max(0, packet.length - 8)) });
    }
    return encodeResponse(response);
  }

  connectionId(from: Endpoint, window: number): bigint {
    this.ids.compute(window, from.host, ipv4ToNumber(from.host), from.port);
    return (BigInt(this.ids.hi) << 32n) | BigInt(this.ids.lo);
  }

  private respond(packet: Uint8Array, from: Endpoint, nowMs: number): UdpResponse {
    const req = decodeRequest(packet);
    const window = Math.floor(nowMs / WINDOW_MS);
    if (req.action === 'connect') return { action: 'connect', transactionId: req.transactionId, connectionId: this.connectionId(from, window) };
    // Compared as two 32-bit words straight from the packet: no BigInt per announce.
    const v4 = ipv4ToNumber(from.host);
    // Made in this minute or either of the two before: an id is accepted for at
    // least two minutes after it was sent, as BEP 15 asks of trackers.
    if (
      !this.ids.matches(packet, window, from.host, v4, from.port) &&
      !this.ids.matches(packet, window - 1, from.host, v4, from.port) &&
      !this.ids.matches(packet, window - 2, from.host, v4, from.port)
    ) {
      throw new TrackerError('bad-param', 'connection id expired or wrong: connect again');
    }
    if (req.action === 'scrape') {
      return { action: 'scrape', transactionId: req.transactionId, files: this.tracker.scrape(req.infoHashes).map((f) => f.counts) };
    }
    const host = this.allowIpParam && req.ip !== 0 ? `${req.ip >>> 24}.${(req.ip >>> 16) & 255}.${(req.ip >>> 8) & 255}.${req.ip & 255}` : from.host;
    const reply = this.tracker.announce(
      {
        infoHash: req.infoHash,
        peerId: req.peerId,
        host,
        port: req.port,
        left: req.left,
        event: req.event,
        numWant: v4 !== undefined ? (req.numWant < 0 ? undefined : req.numWant) : Math.min(req.numWant < 0 ? MAX_PEERS6 : req.numWant, MAX_PEERS6),
        wantPeerIds: false,
      },
      nowMs,
    );
    // BEP 15 sizes peers by the transport: IPv4 peers to an IPv4 client, IPv6 to IPv6.
    return {
      action: 'announce',
      transactionId: req.transactionId,
      interval: reply.interval,
      leechers: reply.leechers,
      seeders: reply.seeders,
      peers: v4 !== undefined ? reply.peers : reply.peers6,
    };
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

  /** Whether the 8 bytes at the start of `packet` are the id for this address in `window`. */
  matches(packet: Uint8Array, window: number, host: string, v4: number | undefined, port: number): boolean {
    this.compute(window, host, v4, port);
    return readUint32(packet, 0) === this.hi && readUint32(packet, 4) === this.lo;
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
