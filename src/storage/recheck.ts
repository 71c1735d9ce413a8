import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { hashPieces, type FileLayout, type HashSource } from '../metainfo/index.js';
import { bitfieldBytes, hasBit, setBit } from './bitfield.js';

/*
 * Re-hashing data already on disk (after a restart without trustworthy
 * resume data, or to seed existing files): which of the asked-for pieces
 * match their SHA-1?
 *
 * Bulk work goes to `hashPieces` (src/metainfo), which spreads whole files
 * laid end to end over worker threads. It cannot skip a missing file, a
 * short file or a padding file (none exists on disk), so the files are first
 * cut into segments, maximal runs of complete files, and each segment with
 * enough work is handed over on its own. A segment that does not start on a
 * piece boundary (the file before it is missing) is preceded by a few
 * throw-away bytes, read from any complete file, so the pool's pieces line
 * up with the torrent's; the piece that straddles the gap is not compared
 * (it is hashed in-thread, and fails if its data is missing). After a BEP 47
 * padding file, the next file starts on a boundary by design.
 *
 * Everything else (a few pieces, pieces across a gap or a padding file,
 * segments where most pieces are not asked for) is hashed here, piece by
 * piece, padding read as zeros. A piece whose data is missing or short fails;
 * nothing throws but an abort.
 */

/** A file of the torrent: its length, or its length and whether it is padding (a plain number is a real file). */
export type RecheckFile = number | RecheckFileInfo;

export interface RecheckFileInfo {
  readonly length: number;
  /** BEP 47 padding: never read, all zeros. @default false */
  readonly padding?: boolean;
}

export interface RecheckOptions {
  /** Called as hashing goes, with the bytes of asked-for pieces done so far and their total. */
  readonly onProgress?: (bytesDone: number, bytesTotal: number) => void;
  readonly signal?: AbortSignal;
  /** Hashing threads for large jobs, the calling one included. @default os.availableParallelism() */
  readonly workers?: number;
}

/** A job for the hashing pool: the pieces `[first, last]` of the sources, compared for `pieces`. */
export interface PoolJob {
  readonly sources: readonly HashSource[];
  /** The torrent piece that the first 20 bytes of the pool's output are. */
  readonly base: number;
  readonly pieces: readonly number[];
  readonly bytes: number;
}

export interface RecheckPlan {
  readonly pool: readonly PoolJob[];
  readonly inThread: readonly number[];
  /** Bytes of asked-for pieces whose data is on disk. */
  readonly bytes: number;
}

/** Below this many bytes of asked-for pieces in a segment, hash them in the calling thread. */
const POOL_MIN_BYTES = 8 * 1024 * 1024;
/** Use the pool only when it hashes at most this many times the bytes asked for (one core hashes ~1.5 GB/s, about what reading gives). */
const POOL_MAX_WASTE = 1.5;
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const MAX_OPEN = 16;

/**
 * A bitfield of the pieces in `which` whose data on disk matches
 * `pieceHashes` (20 bytes per piece). `fileList` is the torrent's files in
 * order (`metainfo.files` fits), or just their lengths; plain lengths say
 * nothing of BEP 47 padding, so a padding file is then looked for on disk,
 * not found, and the pieces it touches fail: pass the files when the torrent
 * may have padding.
 */
export async function recheckPieces(
  paths: readonly string[],
  fileList: readonly RecheckFile[],
  layout: FileLayout,
  pieceHashes: Uint8Array,
  which: Uint8Array,
  options: RecheckOptions = {},
): Promise<Uint8Array> {
  if (paths.length !== fileList.length || fileList.length !== layout.lengths.length) throw new RangeError('paths, files and layout disagree');
  if (pieceHashes.length !== layout.pieceCount * 20) throw new RangeError(`${layout.pieceCount} pieces need ${layout.pieceCount * 20} bytes of hashes`);
  if (which.length !== bitfieldBytes(layout.pieceCount)) throw new RangeError(`a bitfield of ${layout.pieceCount} pieces is ${bitfieldBytes(layout.pieceCount)} bytes`);
  options.signal?.throwIfAborted();
  const files = fileList.map((f): RecheckFileInfo => (typeof f === 'number' ? { length: f } : f));
  const sizes = await Promise.all(
    paths.map(async (p, f) => {
      if (files[f]!.padding === true) return Infinity;
      try {
        const st = await lstat(p);
        return st.isFile() ? st.size : -1;
      } catch {
        return -1;
      }
    }),
  );
  const plan = planRecheck(paths, files, layout, which, sizes);
  const good = new Uint8Array(which.length);
  let done = 0;
  const progress = (bytes: number): void => {
    done += bytes;
    options.onProgress?.(done, plan.bytes);
  };
  const leftOver: number[] = [];
  for (const job of plan.pool) {
    let hashes: Uint8Array;
    const before = done;
    try {
      hashes = await hashPieces(job.sources, layout.pieceLength, {
        ...(options.workers !== undefined && { workers: options.workers }),
        ...(options.signal !== undefined && { signal: options.signal }),
        onProgress: (d, t) => options.onProgress?.(before + Math.floor((job.bytes * d) / t), plan.bytes),
      });
    } catch (e) {
      if (options.signal?.aborted === true) throw e;
      // A file changed under us (shorter, gone): piece by piece, where a failure is only a mismatch.
      leftOver.push(...job.pieces);
      continue;
    }
    for (const i of job.pieces) {
      if (equal(hashes, (i - job.base) * 20, pieceHashes, i * 20)) setBit(good, i);
    }
    done = before;
    progress(job.bytes);
  }
  const hasher = new InThreadHasher(paths, files, layout, options.signal);
  try {
    await hasher.check([...plan.inThread, ...leftOver], pieceHashes, good, progress);
  } finally {
    await hasher.close();
  }
  return good;
}

/**
 * Decide what goes to the pool and what is hashed here. `sizes` are the
 * files' sizes on disk (-1 when missing, Infinity for padding). Only pieces
 * whose data is all on disk are planned; the rest simply fail.
 */
export function planRecheck(
  paths: readonly string[],
  files: readonly RecheckFileInfo[],
  layout: FileLayout,
  which: Uint8Array,
  sizes: readonly number[],
): RecheckPlan {
  const P = layout.pieceLength;
  const end = (i: number): number => Math.min(layout.length, (i + 1) * P);
  const present = (i: number): boolean =>
    layout.pieceSlices(i).every((s) => sizes[s.fileIndex]! >= s.fileOffset + s.length);
  const wanted: number[] = [];
  let bytes = 0;
  for (let i = 0; i < layout.pieceCount; i++) {
    if (!hasBit(which, i) || !present(i)) continue;
    wanted.push(i);
    bytes += end(i) - i * P;
  }
  // Complete, real files: the pool can read all of them. Empty files are read by nobody.
  const complete = files.map((f, i) => f.padding !== true && (f.length === 0 || sizes[i]! >= f.length));
  const pool: PoolJob[] = [];
  const inThread: number[] = [];
  let w = 0; // next wanted piece to place
  for (let first = 0; first < files.length; ) {
    if (!complete[first]) {
      first++;
      continue;
    }
    let last = first;
    while (last + 1 < files.length && complete[last + 1]) last++;
    const start = layout.offsets[first]!;
    const stop = layout.offsets[last]! + layout.lengths[last]!;
    // Wanted pieces before this segment, or across its start, are not the pool's.
    while (w < wanted.length && wanted[w]! * P < start) inThread.push(wanted[w++]!);
    const inside: number[] = [];
    while (w < wanted.length && end(wanted[w]!) <= stop) inside.push(wanted[w++]!);
    if (inside.length > 0) {
      const job = poolJob(inside, paths, files, layout, sizes, complete);
      if (job !== undefined) pool.push(job);
      else inThread.push(...inside);
    }
    first = last + 1;
  }
  while (w < wanted.length) inThread.push(wanted[w++]!);
  return { pool, inThread, bytes };
}

/** A pool job for `pieces` (all inside one segment of complete files), or undefined when in-thread hashing is cheaper. */
function poolJob(
  pieces: readonly number[],
  paths: readonly string[],
  files: readonly RecheckFileInfo[],
  layout: FileLayout,
  sizes: readonly number[],
  complete: readonly boolean[],
): PoolJob | undefined {
  const P = layout.pieceLength;
  const a = pieces[0]!;
  const b = pieces[pieces.length - 1]!;
  const bytes = pieces.reduce((n, i) => n + layout.pieceSize(i), 0);
  if (bytes < POOL_MIN_BYTES) return undefined;
  // The files that hold pieces a..b (empty files in between are harmless).
  const fa = layout.pieceSlices(a)[0]!.fileIndex;
  const lastSlices = layout.pieceSlices(b);
  const fb = lastSlices[lastSlices.length - 1]!.fileIndex;
  const from = layout.offsets[fa]!;
  const covered = layout.offsets[fb]! + layout.lengths[fb]! - from;
  if (covered > POOL_MAX_WASTE * bytes) return undefined;
  const base = Math.floor(from / P);
  const skew = from - base * P;
  const sources: HashSource[] = [];
  if (skew > 0) {
    const donor = files.findIndex((f, i) => complete[i] === true && f.length >= skew && sizes[i]! >= skew);
    if (donor < 0) return undefined;
    sources.push({ path: paths[donor]!, length: skew }); // throw-away bytes: they only shift piece boundaries
  }
  for (let f = fa; f <= fb; f++) sources.push({ path: paths[f]!, length: layout.lengths[f]! });
  return { sources, base, pieces, bytes };
}

/** Piece-by-piece hashing in the calling thread, reading the next piece while hashing this one. */
class InThreadHasher {
  private readonly open = new Map<number, Promise<FileHandle>>(); // LRU order

  constructor(
    private readonly paths: readonly string[],
    private readonly files: readonly RecheckFileInfo[],
    private readonly layout: FileLayout,
    private readonly signal: AbortSignal | undefined,
  ) {}

  async check(pieces: readonly number[], hashes: Uint8Array, good: Uint8Array, progress: (bytes: number) => void): Promise<void> {
    if (pieces.length === 0) return;
    const buffers = [new Uint8Array(this.layout.pieceLength), new Uint8Array(this.layout.pieceLength)];
    let next = this.read(pieces[0]!, buffers[0]!);
    for (let k = 0; k < pieces.length; k++) {
      this.signal?.throwIfAborted();
      const i = pieces[k]!;
      const ok = await next;
      if (k + 1 < pieces.length) next = this.read(pieces[k + 1]!, buffers[(k + 1) & 1]!);
      const size = this.layout.pieceSize(i);
      if (ok) {
        const digest = createHash('sha1').update(buffers[k & 1]!.subarray(0, size)).digest();
        if (equal(digest, 0, hashes, i * 20)) setBit(good, i);
      }
      progress(size);
    }
  }

  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((h) => h.then((x) => x.close()).catch(() => undefined)));
  }

  /** Read piece `index` into `buf`; false when some of it cannot be read. */
  private async read(index: number, buf: Uint8Array): Promise<boolean> {
    for (const s of this.layout.pieceSlices(index)) {
      if (this.files[s.fileIndex]!.padding === true) {
        buf.fill(0, s.pieceOffset, s.pieceOffset + s.length);
        continue;
      }
      try {
        const h = await this.handle(s.fileIndex);
        for (let done = 0; done < s.length; ) {
          const { bytesRead } = await h.read(buf, s.pieceOffset + done, s.length - done, s.fileOffset + done);
          if (bytesRead === 0) return false;
          done += bytesRead;
        }
      } catch {
        return false;
      }
    }
    return true;
  }

  private handle(file: number): Promise<FileHandle> {
    let h = this.open.get(file);
    if (h !== undefined) {
      this.open.delete(file);
    } else {
      h = open(this.paths[file]!, constants.O_RDONLY | NOFOLLOW);
      const opening = h;
      opening.catch(() => {
        if (this.open.get(file) === opening) this.open.delete(file);
      });
      if (this.open.size >= MAX_OPEN) {
        const [oldest, old] = this.open.entries().next().value as [number, Promise<FileHandle>];
        this.open.delete(oldest);
        // At most one read is in flight ahead (the prefetch), and it uses a newer handle.
        void old.then((x) => x.close()).catch(() => undefined);
      }
    }
    this.open.set(file, h);
    return h;
  }
}

function equal(a: Uint8Array, at: number, b: Uint8Array, bt: number): boolean {
  for (let i = 0; i < 20; i++) if (a[at + i] !== b[bt + i]) return false;
  return true;
}
