import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FileLayout } from '../../src/metainfo/index.js';
import type { StorageTorrent } from '../../src/storage/index.js';
import { StorageError, type StorageErrorCode } from '../../src/storage/index.js';

export interface FileSpec {
  readonly path: readonly string[];
  readonly length: number;
  readonly padding?: boolean;
}

/** A torrent shape for the stores: multi-file unless `single` (then the one file is `name`). */
export function torrentOf(files: readonly FileSpec[], pieceLength: number, name = 'T', single = false): StorageTorrent {
  const list = files.map((f) => ({ path: f.path, length: f.length, padding: f.padding === true }));
  return { name, multiFile: !single, files: list, layout: new FileLayout(list, pieceLength) };
}

/** Deterministic bytes (a tiny LCG), zero where a padding file lies. */
export function contentOf(t: StorageTorrent, seed = 1): Uint8Array {
  const out = new Uint8Array(t.layout.length);
  let x = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  t.files.forEach((f, i) => {
    if (f.padding) out.fill(0, t.layout.offsets[i]!, t.layout.offsets[i]! + f.length);
  });
  return out;
}

export function pieceOf(t: StorageTorrent, data: Uint8Array, index: number): Uint8Array {
  const start = index * t.layout.pieceLength;
  return data.subarray(start, start + t.layout.pieceSize(index));
}

export function hashesOf(t: StorageTorrent, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(t.layout.pieceCount * 20);
  for (let i = 0; i < t.layout.pieceCount; i++) out.set(createHash('sha1').update(pieceOf(t, data, i)).digest(), i * 20);
  return out;
}

/** Write the torrent's real files under `root` as a finished download would hold them. */
export async function writeTree(t: StorageTorrent, root: string, data: Uint8Array): Promise<string[]> {
  const paths = t.files.map((f) => (t.multiFile ? join(root, t.name, ...f.path) : join(root, t.name)));
  for (let i = 0; i < t.files.length; i++) {
    const f = t.files[i]!;
    if (f.padding) continue;
    await mkdir(dirname(paths[i]!), { recursive: true });
    await writeFile(paths[i]!, data.subarray(t.layout.offsets[i]!, t.layout.offsets[i]! + f.length));
  }
  return paths;
}

/** A fresh folder under the system temp folder, removed by the returned function. */
export async function tempDir(tag: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `peerkit-storage-${tag}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** For assert.rejects / assert.throws: a StorageError with this code. */
export function storageError(code: StorageErrorCode): (e: unknown) => boolean {
  return (e) => {
    if (!(e instanceof StorageError)) throw new Error(`expected a StorageError ${code}, got ${String(e)}`);
    if (e.code !== code) throw new Error(`expected StorageError ${code}, got ${e.code}: ${e.message}`);
    return true;
  };
}

/** Bits as a string, one character per piece: "1010". */
export function bitsOf(bits: Uint8Array, count: number): string {
  let s = '';
  for (let i = 0; i < count; i++) s += (bits[i >>> 3]! & (0x80 >>> (i & 7))) !== 0 ? '1' : '0';
  return s;
}

/** A bitfield from a string, one character per piece. */
export function bitfield(s: string): Uint8Array {
  const out = new Uint8Array(Math.ceil(s.length / 8));
  for (let i = 0; i < s.length; i++) if (s[i] === '1') out[i >>> 3]! |= 0x80 >>> (i & 7);
  return out;
}
