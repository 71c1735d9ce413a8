import { BencodeError, decode, encode, type BDict, type BEncodable } from '../../bencode/index.js';
import { OverlayError } from './errors.js';

/*
 * The framing shared by the three search overlays (docs/overlays.md): every
 * message on a TCP connection is a 4-byte big-endian length followed by that
 * many bytes of one bencoded dictionary, whose "t" key names the message.
 * Each overlay's codec (src/overlay/<name>/codec.ts) turns the dictionaries
 * into typed messages; this file only cuts the stream into them.
 */

/** Largest frame body accepted by default (a directory registration is chunked well below it). */
export const MAX_FRAME = 256 * 1024;

/** One message as bytes on the wire: length prefix and bencoded dictionary. */
export function encodeFrame(message: { readonly t: string; readonly [key: string]: BEncodable | undefined }): Uint8Array {
  const body = encode(message);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/**
 * Cuts a byte stream into frames and decodes each to a dictionary. `push`
 * throws OverlayError ('too-large' for a length over the limit, before the
 * body is read; 'bad-message' for a body that is not one bencoded
 * dictionary), with the offset in the stream; after that the stream is
 * unusable and the connection should be dropped.
 *
 * Chunks are kept as they arrive and joined once, when the frame they hold
 * is complete, so a frame that arrives in many small pieces costs its
 * length, not its length times the number of pieces.
 */
export class FrameDecoder {
  /** The bytes not yet part of a whole frame: chunks[first] from `head` on, then the chunks after it. */
  private chunks: Uint8Array[] = [];
  private first = 0;
  private head = 0;
  private buffered = 0;
  /** Stream offset of the first pending byte. */
  private consumed = 0;

  constructor(private readonly maxFrame = MAX_FRAME) {}

  push(chunk: Uint8Array): BDict[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: BDict[] = [];
    while (this.buffered >= 4) {
      const length = this.peekLength();
      if (length > this.maxFrame) throw new OverlayError('too-large', `frame of ${length} bytes exceeds the ${this.maxFrame}-byte limit`, this.consumed);
      if (this.buffered - 4 < length) break;
      this.take(4);
      const bodyOffset = this.consumed;
      out.push(decodeBody(this.take(length), bodyOffset, this.maxFrame));
    }
    return out;
  }

  /** Bytes received and not yet part of a whole frame. */
  get pending(): number {
    return this.buffered;
  }

  /** The big-endian length in the next 4 bytes (which may span chunks); needs buffered >= 4. */
  private peekLength(): number {
    let value = 0;
    let index = this.first;
    let at = this.head;
    for (let i = 0; i < 4; i++) {
      let c = this.chunks[index]!;
      while (at >= c.length) {
        c = this.chunks[++index]!;
        at = 0;
      }
      value = value * 256 + c[at++]!;
    }
    return value;
  }

  /** Remove the next `n` bytes (n <= buffered) and return them: a view when one chunk holds them all, else one copy. */
  private take(n: number): Uint8Array {
    this.buffered -= n;
    this.consumed += n;
    const c = this.chunks[this.first];
    if (c === undefined || n === 0) return new Uint8Array(0);
    if (c.length - this.head >= n) {
      const view = c.subarray(this.head, this.head + n);
      this.advance(c, n);
      return view;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const from = this.chunks[this.first]!;
      const count = Math.min(from.length - this.head, n - filled);
      out.set(from.subarray(this.head, this.head + count), filled);
      filled += count;
      this.advance(from, count);
    }
    return out;
  }

  /** Move past `count` bytes of the first chunk `c`, dropping it when it is used up. */
  private advance(c: Uint8Array, count: number): void {
    this.head += count;
    if (this.head < c.length) return;
    this.head = 0;
    this.first++;
    if (this.first === this.chunks.length) {
      this.chunks = [];
      this.first = 0;
    } else if (this.first >= 1024 && this.first * 2 >= this.chunks.length) {
      // Forget the used chunks now and then (not one shift per chunk, which would be quadratic again).
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }
}

function decodeBody(body: Uint8Array, offset: number, maxSize: number): BDict {
  let value;
  try {
    value = decode(body, { maxSize, maxDepth: 8 });
  } catch (e) {
    if (e instanceof BencodeError) throw new OverlayError('bad-message', `frame is not bencode: ${e.message.replace(/ at byte \d+$/, '')}`, offset + e.offset);
    throw e;
  }
  if (!(value instanceof Map)) throw new OverlayError('bad-message', 'frame is not a dictionary', offset);
  return value;
}
