/*
 * Byte helpers shared by the codecs. Plain reads and writes are cheaper than
 * a DataView per message on the hot path.
 */

/** The big-endian unsigned 32-bit number at `at` (the caller checks the length). */
export function readUint32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

export function writeUint32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}

/**
 * A copy of `b[from, to)` as a plain Uint8Array. Not `slice`: Buffer#slice
 * is a view, and even Uint8Array.prototype.slice on a Buffer returns a
 * Buffer (species), so callers would see two types depending on the input.
 */
export function copyBytes(b: Uint8Array, from: number, to: number): Uint8Array {
  const out = new Uint8Array(to - from);
  out.set(b.subarray(from, to));
  return out;
}
