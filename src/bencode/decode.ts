import { BencodeError } from './errors.js';
import type { BDict, BValue, Span } from './types.js';

/*
 * Bencode decoder (BEP 3).
 *
 *   integer      i<decimal>e          i42e  i-7e      (no leading zeros, no -0)
 *   byte string  <length>:<bytes>     4:spam  0:
 *   list         l<values>e           l4:spami42ee
 *   dictionary   d<key><value>...e    d3:cow3:mooe     (keys are byte strings,
 *                                                      sorted byte-wise, unique)
 *
 * Strict by default: anything BEP 3 calls invalid is rejected with a
 * BencodeError that carries the byte offset. The lenient mode accepts only the
 * one deviation common in real .torrent files, dictionary keys out of order;
 * duplicate keys stay an error in both modes because they make the meaning
 * ambiguous.
 *
 * Recursion depth is bounded (`maxDepth`) before any recursion happens, so a
 * 100,000-deep `llll...` input is a typed error and never a stack overflow.
 */

export interface DecodeOptions {
  /** Reject unsorted dictionary keys. @default true */
  readonly strict?: boolean;
  /** Maximum nesting of lists and dictionaries. @default 256 */
  readonly maxDepth?: number;
  /** Maximum input size in bytes. @default 64 MiB */
  readonly maxSize?: number;
  /**
   * Maximum number of values (integers, strings, lists, dicts) in the input.
   * A decoded value costs far more memory than its few encoded bytes (an
   * empty string is 2 bytes on the wire, ~100 in the heap), so size alone
   * does not bound memory. @default 1,000,000
   */
  readonly maxValues?: number;
  /** Maximum length of a dictionary key in bytes. @default 1024 */
  readonly maxKeyLength?: number;
}

export interface DecodedWithSpans {
  readonly value: BValue;
  /**
   * For a top-level dictionary: the exact bytes of each key's value in the
   * input, keyed like the dictionary (binary strings). This is what makes the
   * infohash the SHA-1 of the *original* `info` bytes even when the file is
   * not canonical.
   */
  readonly spans: ReadonlyMap<string, Span>;
}

export const DEFAULT_MAX_DEPTH = 256;
export const DEFAULT_MAX_SIZE = 64 * 1024 * 1024;
export const DEFAULT_MAX_VALUES = 1_000_000;
export const DEFAULT_MAX_KEY_LENGTH = 1024;
/** Integers longer than this many digits are refused (bigint parsing is not free). */
const MAX_INTEGER_DIGITS = 256;
/** A length prefix longer than this cannot be satisfied by any input we accept. */
const MAX_LENGTH_DIGITS = 15;

const CH_0 = 0x30;
const CH_9 = 0x39;
const CH_COLON = 0x3a;
const CH_MINUS = 0x2d;
const CH_D = 0x64;
const CH_E = 0x65;
const CH_I = 0x69;
const CH_L = 0x6c;

/** Decode exactly one bencoded value; anything after it is an error. */
export function decode(input: Uint8Array, options: DecodeOptions = {}): BValue {
  const d = new Decoder(input, options, false);
  const value = d.value(0);
  d.expectEnd();
  return value;
}

/** Decode one value and report the byte spans of a top-level dictionary's values. */
export function decodeWithSpans(input: Uint8Array, options: DecodeOptions = {}): DecodedWithSpans {
  const d = new Decoder(input, options, true);
  const value = d.value(0);
  d.expectEnd();
  return { value, spans: d.spans };
}

/**
 * Decode one value at the start of `input` and return where it ends, for
 * framings that put raw bytes after a bencoded header (BEP 9 `data` messages).
 */
export function decodePrefix(input: Uint8Array, options: DecodeOptions = {}): { value: BValue; end: number } {
  const d = new Decoder(input, options, false);
  const value = d.value(0);
  return { value, end: d.pos };
}

class Decoder {
  pos = 0;
  readonly spans = new Map<string, Span>();
  private readonly buf: Uint8Array;
  private readonly strict: boolean;
  private readonly maxDepth: number;
  private readonly maxKeyLength: number;
  private valuesLeft: number;
  private readonly wantSpans: boolean;

  constructor(buf: Uint8Array, options: DecodeOptions, wantSpans: boolean) {
    const maxSize = options.maxSize ?? DEFAULT_MAX_SIZE;
    if (buf.length > maxSize) {
      throw new BencodeError('too-large', `input of ${buf.length} bytes exceeds the ${maxSize}-byte limit`, 0);
    }
    this.buf = buf;
    this.strict = options.strict ?? true;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.maxKeyLength = options.maxKeyLength ?? DEFAULT_MAX_KEY_LENGTH;
    this.valuesLeft = options.maxValues ?? DEFAULT_MAX_VALUES;
    this.wantSpans = wantSpans;
  }

  expectEnd(): void {
    if (this.pos !== this.buf.length) {
      throw new BencodeError('trailing-data', `${this.buf.length - this.pos} bytes after the value`, this.pos);
    }
  }

  value(depth: number): BValue {
    if (--this.valuesLeft < 0) throw new BencodeError('too-large', 'too many values', this.pos);
    const c = this.peek();
    if (c === CH_I) return this.integer();
    if (c >= CH_0 && c <= CH_9) return this.bytes();
    if (c === CH_L || c === CH_D) {
      if (depth >= this.maxDepth) {
        throw new BencodeError('too-deep', `nesting deeper than ${this.maxDepth}`, this.pos);
      }
      return c === CH_L ? this.list(depth + 1) : this.dict(depth + 1);
    }
    throw new BencodeError('unexpected-byte', `unexpected ${describe(c)}, expected a value`, this.pos);
  }

  private peek(): number {
    const c = this.buf[this.pos];
    if (c === undefined) throw new BencodeError('truncated', 'input ends inside a value', this.pos);
    return c;
  }

  private integer(): number | bigint {
    const start = this.pos;
    this.pos++; // 'i'
    let negative = false;
    if (this.peek() === CH_MINUS) {
      negative = true;
      this.pos++;
    }
    const digitsStart = this.pos;
    let c = this.peek();
    while (c >= CH_0 && c <= CH_9) {
      this.pos++;
      c = this.peek();
    }
    const digits = this.pos - digitsStart;
    if (c !== CH_E) throw new BencodeError('unexpected-byte', `unexpected ${describe(c)} in an integer`, this.pos);
    if (digits === 0) throw new BencodeError('unexpected-byte', 'integer without digits', digitsStart);
    if (this.buf[digitsStart] === CH_0 && digits > 1) {
      throw new BencodeError('leading-zero', 'integer with a leading zero', digitsStart);
    }
    if (negative && this.buf[digitsStart] === CH_0) throw new BencodeError('negative-zero', 'integer -0', start);
    if (digits > MAX_INTEGER_DIGITS) {
      throw new BencodeError('integer-too-long', `integer of more than ${MAX_INTEGER_DIGITS} digits`, digitsStart);
    }
    this.pos++; // 'e'
    if (digits <= 15) {
      let n = 0;
      for (let i = digitsStart; i < digitsStart + digits; i++) n = n * 10 + (this.buf[i]! - CH_0);
      return negative ? -n : n;
    }
    let text = '';
    for (let i = digitsStart; i < digitsStart + digits; i++) text += String.fromCharCode(this.buf[i]!);
    const big = negative ? -BigInt(text) : BigInt(text);
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  private length(): number {
    const start = this.pos;
    let n = 0;
    let c = this.peek();
    while (c >= CH_0 && c <= CH_9) {
      if (this.pos - start >= MAX_LENGTH_DIGITS) {
        throw new BencodeError('string-too-long', 'byte string length prefix too long', start);
      }
      n = n * 10 + (c - CH_0);
      this.pos++;
      c = this.peek();
    }
    if (c !== CH_COLON) throw new BencodeError('unexpected-byte', `unexpected ${describe(c)} in a string length`, this.pos);
    if (this.buf[start] === CH_0 && this.pos - start > 1) {
      throw new BencodeError('leading-zero', 'string length with a leading zero', start);
    }
    this.pos++; // ':'
    if (n > this.buf.length - this.pos) {
      throw new BencodeError('truncated', `byte string of ${n} bytes but only ${this.buf.length - this.pos} remain`, start);
    }
    return n;
  }

  private bytes(): Uint8Array {
    const n = this.length();
    // A copy, so a decoded value never pins (or aliases) a large input buffer.
    // Uint8Array's slice, not Buffer's: Buffer#slice returns a view.
    const out = Uint8Array.prototype.slice.call(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private binaryKey(): string {
    const keyStart = this.pos;
    const c = this.peek();
    if (c < CH_0 || c > CH_9) {
      throw new BencodeError('unexpected-byte', `unexpected ${describe(c)}, dictionary keys are byte strings`, keyStart);
    }
    const n = this.length();
    if (n > this.maxKeyLength) throw new BencodeError('string-too-long', `dictionary key longer than ${this.maxKeyLength} bytes`, keyStart);
    let key = '';
    // Chunked to stay clear of argument-count limits for long keys.
    for (let i = 0; i < n; i += 4096) {
      key += String.fromCharCode(...this.buf.subarray(this.pos + i, this.pos + Math.min(n, i + 4096)));
    }
    this.pos += n;
    return key;
  }

  private list(depth: number): BValue[] {
    this.pos++; // 'l'
    const out: BValue[] = [];
    while (this.peek() !== CH_E) out.push(this.value(depth));
    this.pos++;
    return out;
  }

  private dict(depth: number): BDict {
    this.pos++; // 'd'
    const out: BDict = new Map();
    const top = depth === 1 && this.wantSpans;
    let previous: string | undefined;
    while (this.peek() !== CH_E) {
      const keyAt = this.pos;
      const key = this.binaryKey();
      if (out.has(key)) throw new BencodeError('duplicate-key', `duplicate dictionary key ${quote(key)}`, keyAt);
      if (this.strict && previous !== undefined && key < previous) {
        throw new BencodeError('unsorted-keys', `dictionary key ${quote(key)} is out of order`, keyAt);
      }
      previous = key;
      const valueStart = this.pos;
      out.set(key, this.value(depth));
      if (top) this.spans.set(key, { start: valueStart, end: this.pos });
    }
    this.pos++;
    return out;
  }
}

function describe(c: number): string {
  return c >= 0x21 && c <= 0x7e ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, '0')}`;
}

function quote(key: string): string {
  const shown = key.length > 40 ? `${key.slice(0, 40)}...` : key;
  return JSON.stringify(shown);
}
