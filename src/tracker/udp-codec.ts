import { TrackerError } from './errors.js';

/*
 * The UDP tracker protocol (BEP 15). Big-endian throughout.
 *
 *   connect    request  <protocol_id=0x41727101980:8><action=0:4><transaction_id:4>
 *              response <action=0:4><transaction_id:4><connection_id:8>
 *   announce   request  <connection_id:8><action=1:4><transaction_id:4><info_hash:20>
 *                       <peer_id:20><downloaded:8><left:8><uploaded:8><event:4>
 *                       <ip:4><key:4><num_want:4><port:2>          (98 bytes; BEP 41
 *                       options may follow and are ignored)
 *              response <action=1:4><transaction_id:4><interval:4><leechers:4>
 *                       <seeders:4> then <ip:4><port:2> per IPv4 peer, or
 *                       <ip:16><port:2> per IPv6 peer (when asked over IPv6)
 *   scrape     request  <connection_id:8><action=2:4><transaction_id:4><info_hash:20>...
 *              response <action=2:4><transaction_id:4> then per hash
 *                       <seeders:4><completed:4><leechers:4>
 *   error      response <action=3:4><transaction_id:4><message>
 */

export const PROTOCOL_ID = 0x41727101980n;
/** PROTOCOL_ID's two 32-bit halves, to check a connect without a BigInt. */
const PROTOCOL_ID_HI = Number(PROTOCOL_ID >> 32n);
const PROTOCOL_ID_LO = Number(PROTOCOL_ID & 0xffff_ffffn);
export const Action = { connect: 0, announce: 1, scrape: 2, error: 3 } as const;
/** BEP 15 event codes. */
export const UdpEvent = { none: 0, completed: 1, started: 2, stopped: 3 } as const;
export type AnnounceEvent = 'none' | 'completed' | 'started' | 'stopped';
const EVENT_NAMES: readonly AnnounceEvent[] = ['none', 'completed', 'started', 'stopped'];

/** More info hashes than this do not fit a scrape in one ~1,000-byte packet (BEP 15). */
export const MAX_SCRAPE_HASHES = 74;
/** Largest datagram either side accepts: a reply with 200 IPv6 peers fits. */
export const MAX_PACKET = 4096;

export interface ConnectRequest {
  readonly action: 'connect';
  readonly transactionId: number;
}
export interface AnnounceRequest {
  readonly action: 'announce';
  readonly connectionId: bigint;
  readonly transactionId: number;
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly downloaded: bigint;
  readonly left: bigint;
  readonly uploaded: bigint;
  readonly event: AnnounceEvent;
  /** 0 means "the address the packet came from". */
  readonly ip: number;
  readonly key: number;
  /** -1 means "the tracker's default". */
  readonly numWant: number;
  readonly port: number;
}
export interface ScrapeRequest {
  readonly action: 'scrape';
  readonly connectionId: bigint;
  readonly transactionId: number;
  readonly infoHashes: readonly Uint8Array[];
}
export type UdpRequest = ConnectRequest | AnnounceRequest | ScrapeRequest;

export interface ScrapeCounts {
  readonly seeders: number;
  readonly completed: number;
  readonly leechers: number;
}
export interface ConnectResponse {
  readonly action: 'connect';
  readonly transactionId: number;
  readonly connectionId: bigint;
}
export interface AnnounceResponse {
  readonly action: 'announce';
  readonly transactionId: number;
  readonly interval: number;
  readonly leechers: number;
  readonly seeders: number;
  /** Compact peers: 6 bytes each (IPv4) or 18 bytes each (IPv6). */
  readonly peers: Uint8Array;
}
export interface ScrapeResponse {
  readonly action: 'scrape';
  readonly transactionId: number;
  readonly files: readonly ScrapeCounts[];
}
export interface ErrorResponse {
  readonly action: 'error';
  readonly transactionId: number;
  readonly message: string;
}
export type UdpResponse = ConnectResponse | AnnounceResponse | ScrapeResponse | ErrorResponse;

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/*
 * Small packets from a shared slab. `new Uint8Array(320)` is not a small
 * object to V8: anything over 64 bytes gets its own malloc'd backing store,
 * freed later by a GC thread, and on a busy tracker the main thread and that
 * thread then fight over malloc's lock (perf showed futex wake-ups as the
 * top cost, ~0.5 µs per allocation). Views on one 64 KiB ArrayBuffer cost a
 * tenth of that. The slab is never reused, only replaced when full, so
 * every view starts zeroed like a fresh array and stays valid; a slab is
 * freed once all its views are garbage (as with Node's Buffer pool).
 */
const SLAB_SIZE = 64 * 1024;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabUsed = 0;

/** A zero-filled Uint8Array of `n` bytes: a view on the shared slab when small. */
export function allocBytes(n: number): Uint8Array {
  if (n > SLAB_SIZE / 16) return new Uint8Array(n);
  if (slabUsed + n > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, n);
  slabUsed += (n + 7) & ~7; // keep views 8-byte aligned
  return out;
}

/*
 * Plain byte reads and writes for the fields a tracker touches on every
 * packet: cheaper than making a DataView per packet, and no BigInt.
 */

/** The big-endian unsigned 32-bit number at `at` (the caller checks the length). */
export function readUint32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** Write `v` big-endian at `at` (the caller checks the length). */
export function writeUint32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}

/**
 * The big-endian signed 64-bit number at `at` as a plain number when it is
 * a safe integer (always, in practice), else as a BigInt: no BigInt for
 * the `left` of every announce.
 */
export function readInt64Number(b: Uint8Array, at: number): number | bigint {
  const hi = readUint32(b, at);
  return hi < 0x200000 ? hi * 0x1_0000_0000 + readUint32(b, at + 4) : readInt64(b, at);
}

/** The big-endian signed 64-bit number at `at`, built from two halves (DataView's BigInt read, without the DataView). */
function readInt64(b: Uint8Array, at: number): bigint {
  const hi = readUint32(b, at);
  const lo = readUint32(b, at + 4);
  // The common values (0, and anything under 2^53) skip BigInt arithmetic.
  if (hi < 0x200000) return BigInt(hi * 0x1_0000_0000 + lo);
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

function short(what: string, need: number, got: number): TrackerError {
  return new TrackerError('malformed', `${what} packet of ${got} bytes, need at least ${need}`, got);
}

/** Byte offsets of an announce request's fields (BEP 15), for readers that take them straight from the packet. */
export const AnnounceAt = {
  connectionId: 0, action: 8, transactionId: 12, infoHash: 16, peerId: 36, downloaded: 56,
  left: 64, uploaded: 72, event: 80, ip: 84, key: 88, numWant: 92, port: 96,
} as const;
/** An announce request without BEP 41 options. */
export const ANNOUNCE_LENGTH = 98;

/**
 * Check the request of `length` bytes at `at` in `packet` the way
 * decodeRequest does, without decoding it: its action, or a TrackerError.
 * For a server that then reads the fields it needs in place (AnnounceAt);
 * `length` may exceed what `packet` holds past `at` (a datagram cut at
 * MAX_PACKET), and is refused then without reading beyond the header.
 */
export function checkRequest(packet: Uint8Array, at = 0, length = packet.length - at): (typeof Action)[keyof typeof Action] {
  if (length < 16) throw short('request', 16, length);
  if (length > MAX_PACKET) throw new TrackerError('malformed', `request of ${length} bytes is too large`, MAX_PACKET);
  const action = readUint32(packet, at + 8);
  if (action === Action.connect) {
    if (readUint32(packet, at) !== PROTOCOL_ID_HI || readUint32(packet, at + 4) !== PROTOCOL_ID_LO) throw new TrackerError('malformed', 'wrong protocol id in connect', 0);
    return action;
  }
  if (action === Action.announce) {
    if (length < ANNOUNCE_LENGTH) throw short('announce', ANNOUNCE_LENGTH, length);
    const eventCode = readUint32(packet, at + AnnounceAt.event);
    if (eventCode >= EVENT_NAMES.length) throw new TrackerError('malformed', `unknown announce event ${eventCode}`, AnnounceAt.event);
    return action;
  }
  if (action === Action.scrape) {
    const n = (length - 16) / 20;
    if (!Number.isInteger(n) || n < 1) throw new TrackerError('malformed', 'scrape must carry whole 20-byte info hashes', 16);
    if (n > MAX_SCRAPE_HASHES) throw new TrackerError('malformed', `scrape of ${n} info hashes, at most ${MAX_SCRAPE_HASHES}`, 16);
    return action;
  }
  throw new TrackerError('malformed', `unknown action ${action}`, 8);
}

/** The name of a BEP 15 event code that checkRequest accepted. */
export function eventName(code: number): AnnounceEvent {
  return EVENT_NAMES[code] ?? 'none';
}

/** Decode a packet a client sent to a tracker. Throws TrackerError. */
export function decodeRequest(packet: Uint8Array): UdpRequest {
  const action = checkRequest(packet);
  const transactionId = readUint32(packet, 12);
  if (action === Action.connect) return { action: 'connect', transactionId };
  const connectionId = view(packet).getBigUint64(0);
  if (action === Action.announce) {
    return {
      action: 'announce',
      connectionId,
      transactionId,
      infoHash: packet.slice(16, 36),
      peerId: packet.slice(36, 56),
      downloaded: readInt64(packet, 56),
      left: readInt64(packet, 64),
      uploaded: readInt64(packet, 72),
      event: eventName(readUint32(packet, 80)),
      ip: readUint32(packet, 84),
      key: readUint32(packet, 88),
      numWant: readUint32(packet, 92) | 0,
      port: (packet[96]! << 8) | packet[97]!,
    };
  }
  const infoHashes: Uint8Array[] = [];
  for (let at = 16; at < packet.length; at += 20) infoHashes.push(packet.slice(at, at + 20));
  return { action: 'scrape', connectionId, transactionId, infoHashes };
}

/** Encode a client's request. */
export function encodeRequest(r: UdpRequest): Uint8Array {
  if (r.action === 'connect') {
    const out = new Uint8Array(16);
    const v = view(out);
    v.setBigUint64(0, PROTOCOL_ID);
    v.setUint32(8, Action.connect);
    v.setUint32(12, r.transactionId);
    return out;
  }
  if (r.action === 'announce') {
    const out = new Uint8Array(98);
    const v = view(out);
    v.setBigUint64(0, r.connectionId);
    v.setUint32(8, Action.announce);
    v.setUint32(12, r.transactionId);
    out.set(r.infoHash, 16);
    out.set(r.peerId, 36);
    v.setBigInt64(56, r.downloaded);
    v.setBigInt64(64, r.left);
    v.setBigInt64(72, r.uploaded);
    v.setUint32(80, UdpEvent[r.event]);
    v.setUint32(84, r.ip);
    v.setUint32(88, r.key);
    v.setInt32(92, r.numWant);
    v.setUint16(96, r.port);
    return out;
  }
  const out = new Uint8Array(16 + 20 * r.infoHashes.length);
  const v = view(out);
  v.setBigUint64(0, r.connectionId);
  v.setUint32(8, Action.scrape);
  v.setUint32(12, r.transactionId);
  r.infoHashes.forEach((h, i) => out.set(h, 16 + i * 20));
  return out;
}

/** Encode a tracker's response. */
export function encodeResponse(r: UdpResponse): Uint8Array {
  switch (r.action) {
    case 'connect': {
      const out = new Uint8Array(16);
      const v = view(out);
      v.setUint32(0, Action.connect);
      v.setUint32(4, r.transactionId);
      v.setBigUint64(8, r.connectionId);
      return out;
    }
    case 'announce': {
      const out = allocBytes(20 + r.peers.length);
      writeUint32(out, 0, Action.announce);
      writeUint32(out, 4, r.transactionId);
      writeUint32(out, 8, r.interval);
      writeUint32(out, 12, r.leechers);
      writeUint32(out, 16, r.seeders);
      out.set(r.peers, 20);
      return out;
    }
    case 'scrape': {
      const out = new Uint8Array(8 + 12 * r.files.length);
      const v = view(out);
      v.setUint32(0, Action.scrape);
      v.setUint32(4, r.transactionId);
      r.files.forEach((f, i) => {
        v.setUint32(8 + i * 12, f.seeders);
        v.setUint32(12 + i * 12, f.completed);
        v.setUint32(16 + i * 12, f.leechers);
      });
      return out;
    }
    case 'error': {
      const message = new TextEncoder().encode(r.message);
      const out = new Uint8Array(8 + message.length);
      const v = view(out);
      v.setUint32(0, Action.error);
      v.setUint32(4, r.transactionId);
      out.set(message, 8);
      return out;
    }
  }
}

/**
 * Decode a tracker's response. `peerLength` is 6 for a tracker reached over
 * IPv4 and 18 over IPv6 (BEP 15 sizes peers by the transport). Throws TrackerError.
 */
export function decodeResponse(packet: Uint8Array, peerLength: 6 | 18 = 6): UdpResponse {
  if (packet.length < 8) throw short('response', 8, packet.length);
  if (packet.length > MAX_PACKET * 4) throw new TrackerError('malformed', `response of ${packet.length} bytes is too large`, 0);
  const v = view(packet);
  const action = v.getUint32(0);
  const transactionId = v.getUint32(4);
  switch (action) {
    case Action.connect:
      if (packet.length < 16) throw short('connect response', 16, packet.length);
      return { action: 'connect', transactionId, connectionId: v.getBigUint64(8) };
    case Action.announce: {
      if (packet.length < 20) throw short('announce response', 20, packet.length);
      const body = packet.length - 20;
      // A trailing partial entry is dropped rather than failing the announce.
      const peers = packet.slice(20, 20 + body - (body % peerLength));
      return { action: 'announce', transactionId, interval: v.getUint32(8), leechers: v.getUint32(12), seeders: v.getUint32(16), peers };
    }
    case Action.scrape: {
      const n = Math.floor((packet.length - 8) / 12);
      const files: ScrapeCounts[] = [];
      for (let i = 0; i < n; i++) files.push({ seeders: v.getUint32(8 + i * 12), completed: v.getUint32(12 + i * 12), leechers: v.getUint32(16 + i * 12) });
      return { action: 'scrape', transactionId, files };
    }
    case Action.error:
      return { action: 'error', transactionId, message: new TextDecoder().decode(packet.subarray(8, 8 + 1024)) };
    default:
      throw new TrackerError('malformed', `unknown action ${action}`, 0);
  }
}
