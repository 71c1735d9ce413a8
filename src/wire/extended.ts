import { BencodeError, decode, encode, text, type BEncodable, type BValue } from '../bencode/index.js';
import { WireError } from './errors.js';
import { encodeExtendedFrame } from './messages.js';

/*
 * The extension protocol (BEP 10). Peers that both set reserved[5] & 0x10
 * exchange extended messages:
 *
 *   <len=0002+X><id=20><extended id:1><payload:X>
 *
 * Extended id 0 is the extended handshake, whose payload is a bencoded
 * dictionary; every other id is whatever the receiver's handshake mapped it
 * to in `m` (ids are chosen by the side that receives the messages, so the
 * two directions of a connection may use different ids for one extension).
 *
 *   d1:md11:ut_metadatai1e6:ut_pexi2ee        extension name -> id, 0 = disabled
 *     1:pi6881e                               our listen port
 *     1:v13:peerkit 0.1.0                     client name and version (UTF-8)
 *     6:yourip4:<4 or 16 bytes>               the address we see the peer at
 *     4:ipv4<4 bytes>, 4:ipv6<16 bytes>       our own addresses
 *     4:reqqi250e                             how many requests we queue
 *     13:metadata_sizei31235e                 BEP 9, the info dict's size
 *     11:upload_onlyi1e                       BEP 21, we are a seed (or partial seed)
 *   e
 *
 * BEP 10 says to ignore keys one does not know; we also ignore known keys of
 * the wrong type or out of range (a `p` of "6881", a 5-byte `yourip`) rather
 * than drop a peer over a field we can do without.
 */

/** The extended message id of the extended handshake. */
export const EXTENDED_HANDSHAKE_ID = 0;

/**
 * Largest extended handshake accepted. Real ones are 100-300 bytes; 64 KiB
 * leaves room for long `m` dictionaries and unknown keys while bounding what
 * bencode decoding of one message can cost.
 */
export const MAX_EXTENDED_HANDSHAKE_LENGTH = 64 * 1024;

export interface ExtendedHandshake {
  /**
   * Extension name -> the extended message id to send it with (0 = the
   * extension is disabled). Names are binary strings (one char per byte, as
   * bencode dictionary keys are); for the ASCII names in use that is the name.
   */
  readonly m: ReadonlyMap<string, number>;
  /** Client name and version. */
  readonly v?: string;
  /** How many outstanding requests the sender queues. */
  readonly reqq?: number;
  /** The receiver's address as the sender sees it: 4 (IPv4) or 16 (IPv6) bytes. */
  readonly yourip?: Uint8Array;
  /** The sender's TCP listen port. */
  readonly p?: number;
  /** BEP 9 `metadata_size`: bytes of the info dictionary. */
  readonly metadataSize?: number;
  /** The sender's IPv4 address, 4 bytes. */
  readonly ipv4?: Uint8Array;
  /** The sender's IPv6 address, 16 bytes. */
  readonly ipv6?: Uint8Array;
  /** BEP 21 `upload_only`: the sender will not download (a seed, or partial seed). */
  readonly uploadOnly?: boolean;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The whole extended message frame: <len><20><id><payload>. Throws RangeError unless `id` is a byte. */
export function encodeExtended(id: number, payload: Uint8Array): Uint8Array {
  return encodeExtendedFrame(id, payload);
}

/**
 * The bencoded payload of an extended handshake (send it with
 * `encodeExtended(EXTENDED_HANDSHAKE_ID, ...)`). Throws RangeError when a
 * field does not fit the protocol (an id over 255, a 5-byte address).
 */
export function encodeExtendedHandshake(h: ExtendedHandshake): Uint8Array {
  for (const [name, id] of h.m) {
    if ((id & 0xff) !== id) throw new RangeError(`extension ${JSON.stringify(name)} has id ${id}, ids are 0..255`);
  }
  if (h.p !== undefined && !isPort(h.p)) throw new RangeError(`p ${h.p} is not a port`);
  if (h.reqq !== undefined && !isCount(h.reqq)) throw new RangeError(`reqq ${h.reqq} is not a non-negative integer`);
  if (h.metadataSize !== undefined && !isCount(h.metadataSize)) throw new RangeError(`metadataSize ${h.metadataSize} is not a non-negative integer`);
  checkAddress('yourip', h.yourip, [4, 16]);
  checkAddress('ipv4', h.ipv4, [4]);
  checkAddress('ipv6', h.ipv6, [16]);
  const dict: { readonly [key: string]: BEncodable | undefined } = {
    m: h.m,
    p: h.p,
    v: h.v,
    yourip: h.yourip,
    ipv4: h.ipv4,
    ipv6: h.ipv6,
    reqq: h.reqq,
    metadata_size: h.metadataSize,
    upload_only: h.uploadOnly === undefined ? undefined : h.uploadOnly ? 1 : 0,
  };
  return encode(dict);
}

/**
 * Decode an extended handshake's payload. Unknown keys and known keys of the
 * wrong type are ignored; a missing `m` is an empty map (BEP 10 lets later
 * handshakes update only some fields). Throws WireError('bad-extended') when
 * the payload is over MAX_EXTENDED_HANDSHAKE_LENGTH, is not bencode, or is
 * not a dictionary; the offset is in `payload`.
 */
export function decodeExtendedHandshake(payload: Uint8Array): ExtendedHandshake {
  if (payload.length > MAX_EXTENDED_HANDSHAKE_LENGTH) {
    throw new WireError('bad-extended', `extended handshake of ${payload.length} bytes, the limit is ${MAX_EXTENDED_HANDSHAKE_LENGTH}`, 0);
  }
  let value: BValue;
  try {
    // Not strict about key order: some clients write their keys unsorted.
    value = decode(payload, { strict: false, maxDepth: 32, maxValues: 10_000 });
  } catch (e) {
    if (e instanceof BencodeError) throw new WireError('bad-extended', `extended handshake is not bencode: ${e.message}`, e.offset);
    throw e;
  }
  if (!(value instanceof Map)) throw new WireError('bad-extended', 'extended handshake is not a dictionary', 0);

  const m = new Map<string, number>();
  const rawM = value.get('m');
  if (rawM instanceof Map) {
    for (const [name, id] of rawM) if (typeof id === 'number' && (id & 0xff) === id) m.set(name, id);
  }
  const out: Mutable<ExtendedHandshake> = { m };
  const v = value.get('v');
  if (v instanceof Uint8Array) out.v = text(v);
  const reqq = value.get('reqq');
  if (isCount(reqq)) out.reqq = reqq;
  const yourip = address(value.get('yourip'), [4, 16]);
  if (yourip !== undefined) out.yourip = yourip;
  const p = value.get('p');
  if (isPort(p)) out.p = p;
  const metadataSize = value.get('metadata_size');
  if (isCount(metadataSize)) out.metadataSize = metadataSize;
  const ipv4 = address(value.get('ipv4'), [4]);
  if (ipv4 !== undefined) out.ipv4 = ipv4;
  const ipv6 = address(value.get('ipv6'), [16]);
  if (ipv6 !== undefined) out.ipv6 = ipv6;
  const uploadOnly = value.get('upload_only');
  if (typeof uploadOnly === 'number') out.uploadOnly = uploadOnly !== 0;
  return out;
}

function isPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 0xffff;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function address(v: BValue | undefined, lengths: readonly number[]): Uint8Array | undefined {
  return v instanceof Uint8Array && lengths.includes(v.length) ? v : undefined;
}

function checkAddress(what: string, v: Uint8Array | undefined, lengths: readonly number[]): void {
  if (v !== undefined && !lengths.includes(v.length)) throw new RangeError(`${what} of ${v.length} bytes, expected ${lengths.join(' or ')}`);
}
