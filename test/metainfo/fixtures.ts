import { createHash } from 'node:crypto';
import { encode, type BEncodable } from '../../src/bencode/index.js';

/** Build a .torrent from parts, for tests: valid by default, each part overridable. */
export function torrentBytes(info: Record<string, BEncodable | undefined>, outer: Record<string, BEncodable | undefined> = {}): Uint8Array {
  return encode({ announce: 'http://127.0.0.1:8000/announce', ...outer, info });
}

/** A valid single-file info dict for `data` in pieces of `pieceLength`. */
export function singleInfo(data: Uint8Array, pieceLength = 16384, name = 'file.bin'): Record<string, BEncodable | undefined> {
  return { length: data.length, name, 'piece length': pieceLength, pieces: piecesOf(data, pieceLength) };
}

/** A valid multi-file info dict. */
export function multiInfo(files: readonly { path: string[]; data: Uint8Array }[], pieceLength = 16384, name = 'folder'): Record<string, BEncodable | undefined> {
  const all = Buffer.concat(files.map((f) => f.data));
  return {
    files: files.map((f) => ({ length: f.data.length, path: f.path })),
    name,
    'piece length': pieceLength,
    pieces: piecesOf(all, pieceLength),
  };
}

export function piecesOf(data: Uint8Array, pieceLength: number): Uint8Array {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += pieceLength) out.push(createHash('sha1').update(data.subarray(i, i + pieceLength)).digest());
  return Buffer.concat(out);
}

/** Deterministic bytes (a tiny LCG), so tests need no randomness. */
export function bytesOf(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
