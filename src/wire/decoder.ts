import { readUint32 } from './bytes.js';
import { WireError } from './errors.js';
import { checkHandshakePrefix, decodeHandshake, HANDSHAKE_LENGTH, PROTOCOL_BYTES, type Handshake } from './handshake.js';
import { checkPayloadLength, decodePayload, KEEP_ALIVE, type Message } from './messages.js';

/*
 * The incremental decoder for one connection's byte stream: an optional
 * handshake, then length-prefixed messages (see messages.ts for the frames).
 *
 * It sits on the hot path (16 KiB blocks arriving in ~64 KiB TCP chunks at
 * 150+ MB/s), so it never concatenates the stream: received chunks wait in a
 * queue with a read offset into the first one, and a frame that lies inside
 * one chunk is decoded in place, its piece block handed out as a view on
 * that chunk. Only a frame that straddles chunks is copied, once, when its
 * last byte has arrived. The cost per message is the message object.
 *
 * Limits are checked as early as the bytes allow: the length prefix against
 * `maxMessageLength` as soon as its 4 bytes are in, the length against the
 * message id as soon as the id is in, the protocol string byte by byte. So a
 * peer announcing a 4 GiB message, or a `have` of a megabyte, is refused
 * before its body is waited for or buffered.
 */

/**
 * 1 MiB + 9: the length prefix of a piece message carrying a 1 MiB block
 * (<id><index><begin> is 9 bytes; clients request 16 KiB, some old ones up to
 * 128 KiB), and room for a bitfield of 8,388,608 pieces, far beyond any real
 * torrent (a 16 TiB torrent with 2 MiB pieces has 8,388,608). It is also the
 * most one connection can make us buffer.
 */
export const DEFAULT_MAX_MESSAGE_LENGTH = 1024 * 1024 + 9;

export interface WireDecoderOptions {
  /**
   * Largest message accepted, as its length prefix (id + payload). A larger
   * prefix throws WireError('too-long') before any of the body is buffered.
   * @default DEFAULT_MAX_MESSAGE_LENGTH (1 MiB + 9)
   */
  readonly maxMessageLength?: number;
  /** Whether the stream starts with a handshake. @default true */
  readonly handshake?: boolean;
}

/** Put in place of a consumed chunk so the queue does not keep it alive. */
const EMPTY = new Uint8Array(0);

export class WireDecoder {
  private readonly maxMessageLength: number;
  private awaitingHandshake: boolean;
  /** Received chunks; those before `head` are consumed (and replaced by EMPTY). */
  private chunks: Uint8Array[] = [];
  private head = 0;
  /** Read position in `chunks[head]`. */
  private offset = 0;
  /** Bytes buffered and not yet decoded. */
  private size = 0;
  /** Stream offset of the next byte to decode, for error offsets. */
  private position = 0;
  /** The error that ended the stream: malformed input stays malformed. */
  private failure: WireError | undefined;

  constructor(options: WireDecoderOptions = {}) {
    const max = options.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH;
    if (!Number.isInteger(max) || max < 1 || max > 0xffff_ffff) throw new RangeError(`maxMessageLength ${max} is not a length in 1..2^32-1`);
    this.maxMessageLength = max;
    this.awaitingHandshake = options.handshake ?? true;
  }

  /**
   * Append bytes received from the connection. The decoder keeps a reference
   * (piece blocks may be views on it): do not reuse or modify the chunk.
   */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** Bytes buffered and not yet decoded. */
  get buffered(): number {
    return this.size;
  }

  /**
   * The next complete handshake or message, or undefined when more bytes are
   * needed. Throws WireError on malformed input, and the same error on every
   * later call (the connection is to be dropped).
   */
  next(): Handshake | Message | undefined {
    if (this.failure !== undefined) throw this.failure;
    try {
      return this.awaitingHandshake ? this.handshake() : this.message();
    } catch (e) {
      if (e instanceof WireError) this.failure = e;
      throw e;
    }
  }

  private handshake(): Handshake | undefined {
    if (this.size < HANDSHAKE_LENGTH) {
      // Check what is in already: a non-BitTorrent peer fails on its first byte.
      if (this.size > 0) checkHandshakePrefix(this.copyOut(Math.min(this.size, 1 + PROTOCOL_BYTES.length), false), this.position);
      return undefined;
    }
    const start = this.position;
    const h = decodeHandshake(this.copyOut(HANDSHAKE_LENGTH, true), start);
    this.awaitingHandshake = false;
    return h;
  }

  private message(): Message | undefined {
    if (this.size < 4) return undefined;
    const chunk = this.chunks[this.head]!;
    const at = this.offset;
    const inChunk = chunk.length - at;
    const length = inChunk >= 4 ? readUint32(chunk, at) : this.peekUint32();
    if (length > this.maxMessageLength) {
      throw new WireError('too-long', `message of ${length} bytes, the limit is ${this.maxMessageLength}`, this.position);
    }
    if (length === 0) {
      this.skip(4);
      return KEEP_ALIVE;
    }
    if (this.size < 5) return undefined;
    const id = inChunk >= 5 ? chunk[at + 4]! : this.peekByte(4);
    checkPayloadLength(id, length - 1, this.position);
    if (this.size < 4 + length) return undefined;
    if (inChunk >= 4 + length) {
      // The common case: the whole frame is in this chunk, decode in place.
      const m = decodePayload(id, chunk, at + 5, length - 1);
      this.skip(4 + length);
      return m;
    }
    // The frame straddles chunks: copy its payload once, now that it is all here.
    this.skip(5);
    return decodePayload(id, this.copyOut(length - 1, true), 0, length - 1);
  }

  /** The byte `k` bytes past the read position (the caller checks `k < size`). */
  private peekByte(k: number): number {
    let i = this.head;
    let at = this.offset + k;
    while (at >= this.chunks[i]!.length) at -= this.chunks[i++]!.length;
    return this.chunks[i]![at]!;
  }

  /** The length prefix when it straddles chunks. */
  private peekUint32(): number {
    return ((this.peekByte(0) << 24) | (this.peekByte(1) << 16) | (this.peekByte(2) << 8) | this.peekByte(3)) >>> 0;
  }

  /** A copy of the next `n` buffered bytes (n <= size), consumed when `consume`. */
  private copyOut(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n);
    let i = this.head;
    let at = this.offset;
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[i]!;
      const take = Math.min(n - filled, chunk.length - at);
      out.set(chunk.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (at === chunk.length) {
        i++;
        at = 0;
      }
    }
    if (consume) this.skip(n);
    return out;
  }

  /** Consume `n` buffered bytes (n <= size), dropping the chunks used up. */
  private skip(n: number): void {
    this.size -= n;
    this.position += n;
    let at = this.offset + n;
    while (this.head < this.chunks.length && at >= this.chunks[this.head]!.length) {
      at -= this.chunks[this.head]!.length;
      this.chunks[this.head++] = EMPTY;
    }
    this.offset = at;
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
    } else if (this.head >= 1024) {
      // A peer trickling single bytes would otherwise grow the array for ever.
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}
