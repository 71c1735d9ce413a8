import { copyBytes } from './bytes.js';
import { WireError } from './errors.js';

/*
 * The handshake (BEP 3), the first thing each side sends:
 *
 *   <pstrlen=19:1><pstr="BitTorrent protocol":19><reserved:8><info_hash:20><peer_id:20>
 *
 * 68 bytes. The reserved bytes announce extensions, one bit each:
 *
 *   reserved[5] & 0x10   extension protocol (BEP 10)
 *   reserved[7] & 0x04   fast extension     (BEP 6)
 *   reserved[7] & 0x01   DHT, port message  (BEP 5)
 *
 * Other bits are set by other clients for their own ends; they are kept in
 * `reserved` as received, and never echoed back.
 */

export const PROTOCOL = 'BitTorrent protocol';
/** The pstr bytes, to compare without decoding text. */
export const PROTOCOL_BYTES: Uint8Array = new TextEncoder().encode(PROTOCOL);
export const HANDSHAKE_LENGTH = 68;
/** Offsets in the handshake: after pstrlen and pstr come the reserved bytes, then the two hashes. */
export const RESERVED_OFFSET = 20;
export const INFO_HASH_OFFSET = 28;
export const PEER_ID_OFFSET = 48;

export interface Extensions {
  /** BEP 6: have all/none, suggest, reject, allowed fast. */
  readonly fast: boolean;
  /** BEP 10: the extended message (id 20) and its handshake. */
  readonly extended: boolean;
  /** BEP 5: the peer runs a DHT node and may send a port message. */
  readonly dht: boolean;
}

export interface Handshake {
  readonly type: 'handshake';
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  /** The 8 reserved bytes as received. */
  readonly reserved: Uint8Array;
  readonly extensions: Extensions;
}

/** Encode our 68-byte handshake. Throws RangeError unless both ids are 20 bytes. */
export function encodeHandshake(infoHash: Uint8Array, peerId: Uint8Array, extensions: Extensions): Uint8Array {
  if (infoHash.length !== 20) throw new RangeError(`info hash of ${infoHash.length} bytes, expected 20`);
  if (peerId.length !== 20) throw new RangeError(`peer id of ${peerId.length} bytes, expected 20`);
  const out = new Uint8Array(HANDSHAKE_LENGTH);
  out[0] = PROTOCOL_BYTES.length;
  out.set(PROTOCOL_BYTES, 1);
  out.set(reservedFor(extensions), RESERVED_OFFSET);
  out.set(infoHash, INFO_HASH_OFFSET);
  out.set(peerId, PEER_ID_OFFSET);
  return out;
}

/** The 8 reserved bytes that announce `extensions`. */
export function reservedFor(extensions: Extensions): Uint8Array {
  const reserved = new Uint8Array(8);
  if (extensions.extended) reserved[5]! |= 0x10;
  if (extensions.fast) reserved[7]! |= 0x04;
  if (extensions.dht) reserved[7]! |= 0x01;
  return reserved;
}

/** The extensions a peer's reserved bytes announce. */
export function extensionsOf(reserved: Uint8Array): Extensions {
  const b5 = reserved[5] ?? 0;
  const b7 = reserved[7] ?? 0;
  return { fast: (b7 & 0x04) !== 0, extended: (b5 & 0x10) !== 0, dht: (b7 & 0x01) !== 0 };
}

/**
 * Check the protocol string in `bytes`, which hold the first `bytes.length`
 * bytes of a handshake (any prefix of it): throws WireError('bad-handshake')
 * at the first byte that cannot be right, so a non-BitTorrent peer (or an
 * encrypted stream, BEP 8/MSE) is refused after one byte, not 68.
 * `base` is added to the error offsets (the handshake's place in the stream).
 */
export function checkHandshakePrefix(bytes: Uint8Array, base = 0): void {
  const n = Math.min(bytes.length, 1 + PROTOCOL_BYTES.length);
  if (n > 0 && bytes[0] !== PROTOCOL_BYTES.length) {
    throw new WireError('bad-handshake', `protocol string length ${bytes[0]!}, expected ${PROTOCOL_BYTES.length}`, base);
  }
  for (let i = 1; i < n; i++) {
    if (bytes[i] !== PROTOCOL_BYTES[i - 1]) throw new WireError('bad-handshake', `protocol string is not "${PROTOCOL}"`, base + i);
  }
}

/**
 * Decode a complete 68-byte handshake (the fields are copies). Throws
 * WireError('bad-handshake'). WireDecoder uses this once the bytes are in.
 */
export function decodeHandshake(bytes: Uint8Array, base = 0): Handshake {
  if (bytes.length !== HANDSHAKE_LENGTH) throw new WireError('bad-handshake', `handshake of ${bytes.length} bytes, expected ${HANDSHAKE_LENGTH}`, base);
  checkHandshakePrefix(bytes, base);
  const slice = (from: number, to: number): Uint8Array => copyBytes(bytes, from, to);
  const reserved = slice(RESERVED_OFFSET, INFO_HASH_OFFSET);
  return {
    type: 'handshake',
    infoHash: slice(INFO_HASH_OFFSET, PEER_ID_OFFSET),
    peerId: slice(PEER_ID_OFFSET, HANDSHAKE_LENGTH),
    reserved,
    extensions: extensionsOf(reserved),
  };
}
