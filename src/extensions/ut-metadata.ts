import { createHash } from 'node:crypto';
import { BencodeError, decodePrefix, encode, type BValue } from '../bencode/index.js';
import { ExtensionError } from './errors.js';

/*
 * Metadata exchange (BEP 9): a peer that joined from a magnet link fetches
 * the info dictionary (the "metadata") from peers, in 16 KiB pieces, and
 * checks the whole against the infohash. It rides on BEP 10: both sides put
 * `ut_metadata` in their extended handshake's `m` (the side with the
 * metadata also sends `metadata_size`), and each message is
 *
 *   <len=0002+X><id=20><ut_metadata id:1><payload:X>
 *
 * whose payload is a bencoded dictionary, followed, in a data message only,
 * by the piece's bytes:
 *
 *   request  d8:msg_typei0e5:piecei0ee
 *   data     d8:msg_typei1e5:piecei0e10:total_sizei34256ee<16384 bytes of piece 0>
 *   reject   d8:msg_typei2e5:piecei0ee
 *
 * Every piece is 16 KiB except the last, which holds the remainder
 * (`total_size` - 16 KiB * index, 1..16384 bytes).
 *
 * An unknown msg_type decodes to an `unknown` message rather than an error:
 * BEP 9 says an unrecognized message id MUST be ignored (for future
 * extensions), so the caller drops the message and keeps the peer. A
 * malformed known message (no `piece`, a data block of the wrong size) is an
 * ExtensionError.
 */

/** The extension's name in the BEP 10 handshake's `m` dictionary. */
export const UT_METADATA = 'ut_metadata';

/** Size of every metadata piece but the last (BEP 9). */
export const METADATA_PIECE_LENGTH = 16384;

/**
 * Largest ut_metadata payload accepted: one 16 KiB piece plus 1 KiB for the
 * dictionary in front of it (a real one is ~50 bytes). libtorrent drops a
 * peer over the same 17 KiB.
 */
export const MAX_METADATA_MESSAGE_LENGTH = METADATA_PIECE_LENGTH + 1024;

/**
 * Largest metadata (info dictionary) the assembler accepts by default: 16 MiB.
 * BEP 9 sets no bound. libtorrent's default `max_metadata_size` is 30 MiB
 * (3 * 1024 * 10240 bytes), anacrolix/torrent refuses over 10 MB. An info
 * dictionary is ~20 bytes per piece plus its file list, so real ones are a
 * few KiB to a few MiB; 16 MiB is ~800,000 pieces or ~150,000 files. The
 * bound caps what a lying peer can make us download and hash before the
 * SHA-1 check fails (memory follows the pieces actually received, not the
 * announced size). Callers that want more can pass up to parseTorrent's
 * 32 MiB.
 */
export const MAX_METADATA_SIZE = 16 * 1024 * 1024;

/** The three messages of BEP 9. */
export type MetadataMessage =
  | { readonly type: 'request'; readonly piece: number }
  | { readonly type: 'data'; readonly piece: number; readonly totalSize: number; readonly data: Uint8Array }
  | { readonly type: 'reject'; readonly piece: number };

/** A msg_type this version does not know (BEP 9: ignore it). */
export interface UnknownMetadataMessage {
  readonly type: 'unknown';
  readonly msgType: number;
}

export type DecodedMetadataMessage = MetadataMessage | UnknownMetadataMessage;

const MSG_REQUEST = 0;
const MSG_DATA = 1;
const MSG_REJECT = 2;

/** How many pieces metadata of `totalSize` bytes has. */
export function metadataPieceCount(totalSize: number): number {
  return Math.ceil(totalSize / METADATA_PIECE_LENGTH);
}

/** The length of piece `piece` of metadata of `totalSize` bytes (0 if out of range). */
export function metadataPieceLength(totalSize: number, piece: number): number {
  return Math.max(0, Math.min(METADATA_PIECE_LENGTH, totalSize - piece * METADATA_PIECE_LENGTH));
}

/**
 * The payload of a ut_metadata message (send it with `encodeExtended(id, ...)`
 * from src/wire, `id` being the peer's ut_metadata id). Throws RangeError on
 * a piece that is not a non-negative integer, or a data message whose
 * totalSize, piece and block length do not agree.
 */
export function encodeMetadataMessage(m: MetadataMessage): Uint8Array {
  if (!isCount(m.piece)) throw new RangeError(`piece ${m.piece} is not a non-negative integer`);
  switch (m.type) {
    case 'request':
      return encode({ msg_type: MSG_REQUEST, piece: m.piece });
    case 'reject':
      return encode({ msg_type: MSG_REJECT, piece: m.piece });
    case 'data': {
      const problem = dataProblem(m.piece, m.totalSize, m.data.length);
      if (problem !== undefined) throw new RangeError(problem);
      const head = encode({ msg_type: MSG_DATA, piece: m.piece, total_size: m.totalSize });
      const out = new Uint8Array(head.length + m.data.length);
      out.set(head);
      out.set(m.data, head.length);
      return out;
    }
  }
}

/**
 * Decode a ut_metadata payload. A data message's block is a copy, so it does
 * not pin the frame it came in. Throws ExtensionError: `too-long` over
 * MAX_METADATA_MESSAGE_LENGTH, `bad-bencode` when the dictionary is not
 * bencode, `bad-message` when it is not a known message's shape (see the
 * codes in errors.ts). An unknown msg_type is not an error.
 */
export function decodeMetadataMessage(payload: Uint8Array): DecodedMetadataMessage {
  if (payload.length > MAX_METADATA_MESSAGE_LENGTH) {
    throw new ExtensionError('too-long', `ut_metadata message of ${payload.length} bytes, the limit is ${MAX_METADATA_MESSAGE_LENGTH}`, 0);
  }
  let value: BValue;
  let end: number;
  try {
    // Not strict about key order, as for the BEP 10 handshake; few values, shallow.
    ({ value, end } = decodePrefix(payload, { strict: false, maxDepth: 8, maxValues: 1000 }));
  } catch (e) {
    if (e instanceof BencodeError) throw new ExtensionError('bad-bencode', `ut_metadata message is not bencode (${e.code})`, e.offset);
    throw e;
  }
  if (!(value instanceof Map)) throw new ExtensionError('bad-message', 'ut_metadata message is not a dictionary', 0);

  const msgType = value.get('msg_type');
  if (typeof msgType !== 'number') throw new ExtensionError('bad-message', 'msg_type is missing or not an integer', 0);
  if (msgType !== MSG_REQUEST && msgType !== MSG_DATA && msgType !== MSG_REJECT) return { type: 'unknown', msgType };

  const piece = value.get('piece');
  if (!isCount(piece)) throw new ExtensionError('bad-message', 'piece is missing or not a non-negative integer', 0);

  if (msgType !== MSG_DATA) {
    // Only a data message carries bytes after its dictionary.
    if (end !== payload.length) throw new ExtensionError('bad-message', `${payload.length - end} bytes after a ut_metadata ${msgType === MSG_REQUEST ? 'request' : 'reject'}`, end);
    return { type: msgType === MSG_REQUEST ? 'request' : 'reject', piece };
  }
  const totalSize = value.get('total_size');
  if (!isCount(totalSize)) throw new ExtensionError('bad-message', 'total_size is missing or not a non-negative integer', 0);
  const problem = dataProblem(piece, totalSize, payload.length - end);
  if (problem !== undefined) throw new ExtensionError('bad-message', problem, end);
  const data = new Uint8Array(payload.length - end);
  data.set(payload.subarray(end));
  return { type: 'data', piece, totalSize, data };
}

/**
 * What a peer that has the metadata (`info`, the info dictionary's bytes)
 * answers to a request for `piece`: the piece, or a reject when the piece is
 * out of range. Encode it with encodeMetadataMessage. The data is a view
 * into `info`, not a copy.
 */
export function metadataReply(info: Uint8Array, piece: number): MetadataMessage {
  if (!isCount(piece) || piece >= metadataPieceCount(info.length)) return { type: 'reject', piece };
  const begin = piece * METADATA_PIECE_LENGTH;
  return { type: 'data', piece, totalSize: info.length, data: info.subarray(begin, begin + metadataPieceLength(info.length, piece)) };
}

/** What `MetadataAssembler.add` made of a piece. */
export type MetadataAddResult<K> =
  /** Taken (or a duplicate, ignored); pieces are still missing. */
  | { readonly status: 'more' }
  /** Every piece is in and the SHA-1 matches the infohash: `info` is the info dictionary. */
  | { readonly status: 'done'; readonly info: Uint8Array }
  /**
   * Every piece was in but the SHA-1 does not match. The assembler has reset
   * and starts over; `contributors` are the distinct `from` keys of the
   * pieces that made the bad copy (in piece order), for the caller to drop
   * or stop asking.
   */
  | { readonly status: 'bad'; readonly contributors: readonly K[] }
  /** Not taken: the index is out of range or the block is not that piece's length. Nothing changed. */
  | { readonly status: 'invalid'; readonly reason: string };

/**
 * Collects the metadata of one torrent from peers' data messages (BEP 9).
 *
 * The session creates one per torrent once a peer announced `metadata_size`,
 * hands out requests with `nextRequest()` (lowest missing piece first, each
 * piece to one peer at a time), gives back the requests of a peer that
 * rejected or went away with `release()`, and feeds every data block to
 * `add()`. Timeouts are the caller's: it holds the clock, and a request it
 * gives up on is a `release()`.
 *
 * `K` is whatever identifies a peer to the caller (a connection, an address
 * string); the assembler only stores it to report who contributed to a copy
 * that failed the hash check.
 *
 * Pieces are kept as they arrive and joined once all are in, so the memory
 * used follows the bytes peers actually sent, not the size one announced.
 */
export class MetadataAssembler<K = unknown> {
  readonly infoHash: Uint8Array;
  readonly totalSize: number;
  readonly pieceCount: number;
  private pieces: (Uint8Array | undefined)[];
  private sources: (K | undefined)[];
  private requested: boolean[];
  private received = 0;
  private info: Uint8Array | undefined;

  /**
   * Throws ExtensionError('bad-size') when `totalSize` (from a peer's
   * `metadata_size` or `total_size`) is not an integer in 1..maxSize, and
   * RangeError when `infoHash` is not 20 bytes.
   */
  constructor(infoHash: Uint8Array, totalSize: number, maxSize: number = MAX_METADATA_SIZE) {
    if (infoHash.length !== 20) throw new RangeError(`infoHash of ${infoHash.length} bytes, expected 20`);
    if (!Number.isSafeInteger(totalSize) || totalSize <= 0 || totalSize > maxSize) {
      throw new ExtensionError('bad-size', `metadata size ${totalSize} is not in 1..${maxSize}`);
    }
    this.infoHash = Uint8Array.from(infoHash);
    this.totalSize = totalSize;
    this.pieceCount = metadataPieceCount(totalSize);
    this.pieces = new Array<Uint8Array | undefined>(this.pieceCount).fill(undefined);
    this.sources = new Array<K | undefined>(this.pieceCount).fill(undefined);
    this.requested = new Array<boolean>(this.pieceCount).fill(false);
  }

  /** The verified info dictionary once `add` returned 'done', else undefined. */
  get bytes(): Uint8Array | undefined {
    return this.info;
  }

  /** How many pieces are still missing. */
  get missing(): number {
    return this.pieceCount - this.received;
  }

  /**
   * The lowest piece neither received nor already requested, now marked as
   * requested; undefined when there is none (all received, or all missing
   * ones are out with some peer).
   */
  nextRequest(): number | undefined {
    if (this.info !== undefined) return undefined;
    for (let i = 0; i < this.pieceCount; i++) {
      if (this.pieces[i] === undefined && !this.requested[i]) {
        this.requested[i] = true;
        return i;
      }
    }
    return undefined;
  }

  /** Make a requested piece available to `nextRequest` again (the peer rejected it, timed out or disconnected). */
  release(piece: number): void {
    if (Number.isInteger(piece) && piece >= 0 && piece < this.pieceCount) this.requested[piece] = false;
  }

  /**
   * Take piece `piece` (from a data message whose totalSize matched ours;
   * the caller checks that). A piece need not have been requested: any block
   * of the right index and length is as good as another, the hash decides.
   * A piece already received is ignored ('more'), the first copy stays.
   */
  add(piece: number, data: Uint8Array, from?: K): MetadataAddResult<K> {
    if (this.info !== undefined) return { status: 'done', info: this.info };
    if (!Number.isInteger(piece) || piece < 0 || piece >= this.pieceCount) {
      return { status: 'invalid', reason: `piece ${piece} is out of range, the metadata has ${this.pieceCount}` };
    }
    const expected = metadataPieceLength(this.totalSize, piece);
    if (data.length !== expected) return { status: 'invalid', reason: `piece ${piece} has ${data.length} bytes, expected ${expected}` };
    if (this.pieces[piece] !== undefined) return { status: 'more' };

    this.pieces[piece] = data;
    this.sources[piece] = from;
    this.requested[piece] = false;
    this.received++;
    if (this.received < this.pieceCount) return { status: 'more' };

    const hash = createHash('sha1');
    for (const p of this.pieces) hash.update(p!);
    if (equalBytes(hash.digest(), this.infoHash)) {
      const info = new Uint8Array(this.totalSize);
      this.pieces.forEach((p, i) => info.set(p!, i * METADATA_PIECE_LENGTH));
      this.info = info;
      this.pieces = [];
      this.sources = [];
      return { status: 'done', info };
    }
    const contributors: K[] = [];
    for (const s of this.sources) if (s !== undefined && !contributors.includes(s)) contributors.push(s);
    // Start over. No piece is marked requested: each mark was cleared when its piece came in.
    this.pieces.fill(undefined);
    this.sources.fill(undefined);
    this.received = 0;
    return { status: 'bad', contributors };
  }
}

/** Why a data message's piece, total size and block length do not fit together, or undefined if they do. */
function dataProblem(piece: number, totalSize: number, length: number): string | undefined {
  if (!isCount(totalSize)) return `total_size ${totalSize} is not a non-negative integer`;
  if (piece >= metadataPieceCount(totalSize)) return `piece ${piece} is out of range for total_size ${totalSize}`;
  const expected = metadataPieceLength(totalSize, piece);
  if (length !== expected) return `data block of ${length} bytes, piece ${piece} of total_size ${totalSize} has ${expected}`;
  return undefined;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
