/*
 * Bitfields as the wire sends them (BEP 3 `bitfield`): one bit per piece,
 * the high bit of the first byte is piece 0, spare bits at the end are zero.
 */

export function bitfieldBytes(pieceCount: number): number {
  return Math.ceil(pieceCount / 8);
}

export function hasBit(bits: Uint8Array, index: number): boolean {
  return ((bits[index >>> 3] ?? 0) & (0x80 >>> (index & 7))) !== 0;
}

export function setBit(bits: Uint8Array, index: number): void {
  const i = index >>> 3;
  bits[i] = (bits[i] ?? 0) | (0x80 >>> (index & 7));
}

/** The number of bits set. */
export function countBits(bits: Uint8Array): number {
  let n = 0;
  for (let b of bits) {
    for (; b !== 0; b &= b - 1) n++;
  }
  return n;
}
