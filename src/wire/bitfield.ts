import { copyBytes } from './bytes.js';
import { WireError } from './errors.js';

/*
 * Which pieces a peer has (BEP 3): one bit per piece, most significant bit
 * first, so piece 0 is the high bit of byte 0.
 *
 *   pieces 0..7 -> byte 0   [0 1 2 3 4 5 6 7]
 *   pieces 8..  -> byte 1   [8 9 ...          ]   spare bits at the end are 0
 *
 * `count` is kept up to date on every change, because the picker and the
 * interest check ask "how many" far more often than pieces change.
 */

/** Set bits in each byte value. */
const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1]!;

export class Bitfield {
  /** Number of pieces. */
  readonly length: number;
  /** ceil(length / 8) bytes, spare bits zero: what a bitfield message carries. */
  readonly bytes: Uint8Array;
  private setBits = 0;

  /**
   * A bitfield of `length` pieces, all clear, or over `bytes` (adopted, not
   * copied; use fromBytes for bytes from a peer). Throws RangeError for a bad
   * length, WireError('bad-bitfield') when `bytes` has the wrong size or a
   * spare bit set.
   */
  constructor(length: number, bytes?: Uint8Array) {
    // Piece indices are 32-bit on the wire (BEP 3 `have`), so no torrent has more.
    if (length >>> 0 !== length) throw new RangeError(`bitfield length ${length} is not a 32-bit unsigned integer`);
    const size = Math.ceil(length / 8);
    this.length = length;
    if (bytes === undefined) {
      this.bytes = new Uint8Array(size);
      return;
    }
    if (bytes.length !== size) throw new WireError('bad-bitfield', `bitfield of ${bytes.length} bytes for ${length} pieces, expected ${size}`);
    const spare = size * 8 - length;
    if (spare > 0 && (bytes[size - 1]! & ((1 << spare) - 1)) !== 0) {
      throw new WireError('bad-bitfield', `bitfield has bits set past piece ${length - 1}`, size - 1);
    }
    this.bytes = bytes;
    for (const b of bytes) this.setBits += POPCOUNT[b]!;
  }

  /** Check a received bitfield: ceil(length/8) bytes and spare bits zero, else WireError('bad-bitfield'). The bytes are copied. */
  static fromBytes(bytes: Uint8Array, length: number): Bitfield {
    return new Bitfield(length, copyBytes(bytes, 0, bytes.length));
  }

  /** Number of pieces set. */
  get count(): number {
    return this.setBits;
  }

  /** Whether every piece is set (true for a zero-length bitfield). */
  get complete(): boolean {
    return this.setBits === this.length;
  }

  /** Whether piece `i` is set; false outside 0..length-1 (a peer's `have` may name any index). */
  has(i: number): boolean {
    if (i >>> 0 !== i || i >= this.length) return false;
    return (this.bytes[i >>> 3]! & (0x80 >>> (i & 7))) !== 0;
  }

  /** Set piece `i`. Throws RangeError outside 0..length-1. */
  set(i: number): void {
    this.check(i);
    const mask = 0x80 >>> (i & 7);
    const b = this.bytes[i >>> 3]!;
    if ((b & mask) === 0) {
      this.bytes[i >>> 3] = b | mask;
      this.setBits++;
    }
  }

  /** Clear piece `i`. Throws RangeError outside 0..length-1. */
  clear(i: number): void {
    this.check(i);
    const mask = 0x80 >>> (i & 7);
    const b = this.bytes[i >>> 3]!;
    if ((b & mask) !== 0) {
      this.bytes[i >>> 3] = b & ~mask;
      this.setBits--;
    }
  }

  /** Set every piece (a seed, or a peer's `have all`, BEP 6). */
  setAll(): void {
    this.bytes.fill(0xff);
    const spare = this.bytes.length * 8 - this.length;
    if (spare > 0) this.bytes[this.bytes.length - 1] = (0xff << spare) & 0xff;
    this.setBits = this.length;
  }

  clone(): Bitfield {
    return new Bitfield(this.length, copyBytes(this.bytes, 0, this.bytes.length));
  }

  private check(i: number): void {
    if (i >>> 0 !== i || i >= this.length) throw new RangeError(`piece ${i} outside 0..${this.length - 1}`);
  }
}
