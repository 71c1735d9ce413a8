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
 */
export class FrameDecoder {
  private buffer: Uint8Array = new Uint8Array(0);
  private consumed = 0;

  constructor(private readonly maxFrame = MAX_FRAME) {}

  push(chunk: Uint8Array): BDict[] {
    this.buffer = this.buffer.length === 0 ? chunk : concat(this.buffer, chunk);
    const out: BDict[] = [];
    let pos = 0;
    while (this.buffer.length - pos >= 4) {
      const length = new DataView(this.buffer.buffer, this.buffer.byteOffset + pos, 4).getUint32(0);
      if (length > this.maxFrame) throw new OverlayError('too-large', `frame of ${length} bytes exceeds the ${this.maxFrame}-byte limit`, this.consumed + pos);
      if (this.buffer.length - pos - 4 < length) break;
      const body = this.buffer.subarray(pos + 4, pos + 4 + length);
      out.push(decodeBody(body, this.consumed + pos + 4, this.maxFrame));
      pos += 4 + length;
    }
    this.consumed += pos;
    this.buffer = pos === this.buffer.length ? new Uint8Array(0) : this.buffer.slice(pos);
    return out;
  }

  /** Bytes received and not yet part of a whole frame. */
  get pending(): number {
    return this.buffer.length;
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

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
