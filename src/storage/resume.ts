import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BencodeError, decode, encode, type BValue } from '../bencode/index.js';
import type { FileLayout } from '../metainfo/index.js';
import { bitfieldBytes, hasBit, setBit } from './bitfield.js';
import { fsError } from './errors.js';
import type { FileStat } from './file-store.js';
import { StorageError } from './types.js';

/*
 * Resume data: what a restart needs so that it downloads nothing twice and
 * trusts nothing unverified. It records which pieces were written and
 * verified (`have`), and the size and modification time of every file at
 * that moment; a piece is trusted on restart only if every file it touches
 * is still exactly as recorded. Anything else that might hold data is
 * re-hashed (recheck.ts), so a lost, stale or hostile resume file costs time,
 * never correctness.
 *
 * Saving, in this order: stat the files, take `have` (pieces whose
 * writePiece resolved), flush the store (so the data is durable before the
 * record that vouches for it), then writeResume. A piece written between the
 * stat and `have` is recorded with its file's older mtime, which costs a
 * recheck of that file next time; the other order would record the newer
 * mtime without the piece, and the piece would be downloaded again.
 *
 * On disk it is a bencoded dictionary (BEP 3), keys sorted:
 *
 *   d
 *     5:files l  l i<size>e i<mtime, µs>e e  or  le (missing)  ... e
 *     4:have <bitfield, MSB first, spare bits 0>
 *     9:info-hash 20:<infohash>
 *     6:pieces i<count>e
 *     14:peerkit resume i1e     (format version)
 *   e
 *
 * Modification times are kept to the microsecond (an integer, as bencode
 * wants), and compared at that precision.
 */

export interface ResumeData {
  /** The torrent's v1 infohash (20 bytes). */
  readonly infoHash: Uint8Array;
  readonly pieceCount: number;
  /** Pieces written and verified: a bitfield, MSB first. */
  readonly have: Uint8Array;
  /** Each file's size and mtime when `have` was taken; `undefined` when it did not exist. */
  readonly files: readonly (FileStat | undefined)[];
}

/** Resume files larger than this are refused (200,000 files and 10 million pieces fit in well under half). */
export const MAX_RESUME_BYTES = 16 * 1024 * 1024;
const VERSION = 1;

export function encodeResume(d: ResumeData): Uint8Array {
  if (d.infoHash.length !== 20) throw new RangeError('an infohash is 20 bytes');
  if (d.have.length !== bitfieldBytes(d.pieceCount)) throw new RangeError(`a bitfield of ${d.pieceCount} pieces is ${bitfieldBytes(d.pieceCount)} bytes`);
  return encode({
    'peerkit resume': VERSION,
    'info-hash': d.infoHash,
    pieces: d.pieceCount,
    have: d.have,
    files: d.files.map((f) => (f === undefined ? [] : [f.size, toMicros(f.mtimeMs)])),
  });
}

/** Decode resume data; a StorageError('bad-resume') for anything malformed. */
export function decodeResume(bytes: Uint8Array): ResumeData {
  if (bytes.length > MAX_RESUME_BYTES) throw bad(`larger than ${MAX_RESUME_BYTES} bytes`);
  let v: BValue;
  try {
    v = decode(bytes, { maxSize: MAX_RESUME_BYTES });
  } catch (e) {
    if (e instanceof BencodeError) throw bad(e.message, e);
    throw e;
  }
  if (!(v instanceof Map)) throw bad('not a dictionary');
  if (v.get('peerkit resume') !== VERSION) throw bad('unknown format version');
  const infoHash = v.get('info-hash');
  if (!(infoHash instanceof Uint8Array) || infoHash.length !== 20) throw bad('info-hash must be 20 bytes');
  const pieceCount = v.get('pieces');
  if (typeof pieceCount !== 'number' || pieceCount < 0) throw bad('pieces must be a count');
  const have = v.get('have');
  if (!(have instanceof Uint8Array) || have.length !== bitfieldBytes(pieceCount)) throw bad(`have must be ${bitfieldBytes(pieceCount)} bytes`);
  const spare = have.length * 8 - pieceCount;
  if (spare > 0 && (have[have.length - 1]! & ((1 << spare) - 1)) !== 0) throw bad('have has spare bits set');
  const list = v.get('files');
  if (!Array.isArray(list)) throw bad('files must be a list');
  const files = list.map((f, i): FileStat | undefined => {
    if (!Array.isArray(f)) throw bad(`files[${i}] must be a list`);
    if (f.length === 0) return undefined;
    const [size, us] = f;
    if (f.length !== 2 || typeof size !== 'number' || size < 0 || typeof us !== 'number') throw bad(`files[${i}] must be [size, mtime]`);
    return { size, mtimeMs: us / 1000 };
  });
  // Copies: the decoded strings are views of the input (a Buffer, when read from a file).
  return { infoHash: new Uint8Array(infoHash), pieceCount, have: new Uint8Array(have), files };
}

let tempCounter = 0;

/**
 * Save resume data atomically: write a temporary file in the same folder,
 * fsync it, rename it over `path` (atomic on POSIX and NTFS), then fsync the
 * folder so the rename itself survives a crash. A reader sees the old file or
 * the new one, never half of one; the temporary file is removed on failure.
 * The folder is made if it is not there (the first torrent on a machine).
 */
export async function writeResume(path: string, d: ResumeData): Promise<void> {
  const bytes = encodeResume(d);
  const temp = `${path}.${process.pid}.${tempCounter++}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    const h = await open(temp, 'wx', 0o666);
    try {
      await h.writeFile(bytes);
      await h.sync();
    } finally {
      await h.close();
    }
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw fsError(e, 'save resume data to', path);
  }
  await syncFolder(dirname(path));
}

/**
 * Load resume data, for the torrent `infoHash` when given. `undefined` when
 * the file is missing, unreadable, malformed, or for another torrent: a bad
 * resume file only costs a recheck, never an error.
 */
export async function readResume(path: string, infoHash?: Uint8Array): Promise<ResumeData | undefined> {
  let bytes: Uint8Array;
  try {
    const h = await open(path, 'r');
    try {
      if ((await h.stat()).size > MAX_RESUME_BYTES) return undefined;
      bytes = await h.readFile();
    } finally {
      await h.close();
    }
  } catch {
    return undefined;
  }
  try {
    const d = decodeResume(bytes);
    return infoHash === undefined || Buffer.from(d.infoHash).equals(infoHash) ? d : undefined;
  } catch {
    return undefined;
  }
}

export interface TrustOptions {
  /** Which files are BEP 47 padding (never on disk, always zeros). @default none */
  readonly padding?: readonly boolean[];
}

/**
 * Decide, from the resume data and the files as they are now, which pieces
 * to trust without hashing and which to hash. For each piece:
 *
 *   its data is not all on disk (a file missing or too short)   -> neither
 *   resume has it and every file it touches is unchanged       -> trusted
 *   a file it touches changed since the resume (or no resume)  -> recheck
 *   resume lacks it and its files are unchanged                -> neither
 *
 * A file changed if its size or mtime differ from the record. Pieces in
 * changed files are rechecked even when the resume lacks them: they may have
 * been written after the resume was saved, and finding them saves a
 * download. With no usable resume (none, or for another piece count or file
 * count) every piece whose data is on disk is rechecked, which is how seeding
 * existing data, or re-adding a finished download, verifies it.
 *
 * Padding files (BEP 47) count as present and unchanged when `padding` says
 * which they are; FileStore.stat() also reports them so (their length, mtime
 * 0), so its output works without `padding`.
 */
export function trustedPieces(
  resume: ResumeData | undefined,
  current: readonly (FileStat | undefined)[],
  layout: FileLayout,
  options: TrustOptions = {},
): { trusted: Uint8Array; recheck: Uint8Array } {
  const fileCount = layout.lengths.length;
  if (current.length !== fileCount) throw new RangeError(`${current.length} file stats for ${fileCount} files`);
  const usable =
    resume !== undefined &&
    resume.pieceCount === layout.pieceCount &&
    resume.files.length === fileCount &&
    resume.have.length === bitfieldBytes(layout.pieceCount);
  const padding = options.padding ?? [];
  const unchanged = current.map((cur, f) => padding[f] === true || (usable && sameStat(resume.files[f], cur)));
  const trusted = new Uint8Array(bitfieldBytes(layout.pieceCount));
  const recheck = new Uint8Array(trusted.length);
  for (let i = 0; i < layout.pieceCount; i++) {
    let present = true;
    let same = true;
    for (const s of layout.pieceSlices(i)) {
      if (padding[s.fileIndex] === true) continue;
      const cur = current[s.fileIndex];
      if (cur === undefined || cur.size < s.fileOffset + s.length) present = false;
      if (!unchanged[s.fileIndex]) same = false;
    }
    if (!present) continue;
    if (!same) setBit(recheck, i);
    else if (usable && hasBit(resume.have, i)) setBit(trusted, i);
  }
  return { trusted, recheck };
}

function sameStat(a: FileStat | undefined, b: FileStat | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.size === b.size && toMicros(a.mtimeMs) === toMicros(b.mtimeMs);
}

function toMicros(ms: number): number {
  return Math.round(ms * 1000);
}

function bad(why: string, cause?: unknown): StorageError {
  const e = new StorageError('bad-resume', `bad resume data: ${why}`);
  if (cause !== undefined) e.cause = cause;
  return e;
}

async function syncFolder(path: string): Promise<void> {
  // POSIX only; Windows cannot open a folder this way and commits renames itself.
  try {
    const h = await open(path, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // Best effort: the data itself is already safe.
  }
}
