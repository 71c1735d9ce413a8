import { createHmac, randomBytes } from 'node:crypto';
import type { Endpoint } from '../../net/index.js';
import { ipv4ToNumber } from '../compact.js';
import { TrackerError } from '../errors.js';
import { decodeRequest, encodeResponse, type UdpResponse } from '../udp-codec.js';
import type { Tracker } from './tracker.js';

/*
 * The UDP side of the tracker (BEP 15), as a function from a packet to the
 * packet to send back: no socket here, so it is tested and fuzzed directly.
 *
 * Connection ids are not stored: an id is a keyed hash of the client's
 * address and the current minute, so the tracker keeps no state per client
 * and a flood of connects costs nothing but CPU. An id is accepted during
 * the minute it was made and the next one, as BEP 15 asks ("accepted for two
 * minutes"; clients use it for one).
 */

const WINDOW_MS = 60_000;

export interface UdpHandlerOptions {
  /** Use the `ip` field of announces instead of the packet's source address. @default false */
  readonly allowIpParam?: boolean;
  /** The key for connection ids. @default 32 random bytes */
  readonly secret?: Uint8Array;
}

export class UdpTrackerHandler {
  private readonly secret: Uint8Array;
  private readonly allowIpParam: boolean;

  constructor(
    private readonly tracker: Tracker,
    options: UdpHandlerOptions = {},
  ) {
    this.secret = options.secret ?? randomBytes(32);
    this.allowIpParam = options.allowIpParam ?? false;
  }

  /** The reply to `packet` from `from`, or undefined when it deserves none (too short to answer). */
  handle(packet: Uint8Array, from: Endpoint, nowMs: number): Uint8Array | undefined {
    if (packet.length < 16) return undefined;
    const transactionId = new DataView(packet.buffer, packet.byteOffset, packet.byteLength).getUint32(12);
    let response: UdpResponse;
    try {
      response = this.respond(packet, from, nowMs);
    } catch (e) {
      if (!(e instanceof TrackerError)) throw e;
      response = { action: 'error', transactionId, message: e.message };
    }
    return encodeResponse(response);
  }

  connectionId(from: Endpoint, window: number): bigint {
    const mac = createHmac('sha256', this.secret).update(`${window}|${from.host}|${from.port}`).digest();
    return mac.readBigUInt64BE(0);
  }

  private respond(packet: Uint8Array, from: Endpoint, nowMs: number): UdpResponse {
    const req = decodeRequest(packet);
    const window = Math.floor(nowMs / WINDOW_MS);
    if (req.action === 'connect') return { action: 'connect', transactionId: req.transactionId, connectionId: this.connectionId(from, window) };
    if (req.connectionId !== this.connectionId(from, window) && req.connectionId !== this.connectionId(from, window - 1)) {
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
        numWant: req.numWant < 0 ? undefined : req.numWant,
        wantPeerIds: false,
      },
      nowMs,
    );
    // BEP 15 sizes peers by the transport: IPv4 peers to an IPv4 client, IPv6 to IPv6.
    const v4 = ipv4ToNumber(from.host) !== undefined;
    return {
      action: 'announce',
      transactionId: req.transactionId,
      interval: reply.interval,
      leechers: reply.leechers,
      seeders: reply.seeders,
      peers: v4 ? reply.peers : reply.peers6,
    };
  }
}
