import { availableParallelism } from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { MetainfoError } from './errors.js';
import { HashReadError, PieceHasher, type HashSource } from './hash-read.js';
import type { HashWorkerData, HashWorkerMessage } from './hash-worker.js';

/*
 * SHA-1 piece hashing spread over threads: used to create torrents and to
 * re-check data on disk. One core reads and hashes ~1.6 GB/s, so on a warm
 * page cache the CPU, not the disk, sets the pace, and fixed costs count: a
 * worker thread takes 25-40 ms of CPU to boot (a whole Node environment). So
 * the calling thread is one of the hashers: it starts at once, while the
 * workers boot, and one worker fewer is booted. It takes small batches and
 * yields to its event loop after each, so timers and sockets keep running
 * (a pause of under a millisecond at a time, plus the read itself on a cold
 * disk). Small inputs are hashed in the calling thread alone, where starting
 * workers would cost more than it saves.
 */

export interface HashOptions {
  /** Threads that hash, the calling one included. @default os.availableParallelism() */
  readonly workers?: number;
  /** Called after each batch with the bytes hashed so far and the total. */
  readonly onProgress?: (bytesDone: number, bytesTotal: number) => void;
  readonly signal?: AbortSignal;
}

export type { HashSource } from './hash-read.js';

/** Below this many bytes, hash in the calling thread. */
const IN_THREAD_LIMIT = 8 * 1024 * 1024;
/** Bytes per batch a worker takes at a time: few enough batches that the shared counter and progress messages cost nothing. */
const BATCH_BYTES = 4 * 1024 * 1024;
/** Bytes per batch the calling thread takes between yields to its event loop (~0.6 ms of hashing). */
const HERE_BATCH_BYTES = 1024 * 1024;

/** The concatenated 20-byte SHA-1 hashes of every piece of `files` laid end to end. */
export async function hashPieces(files: readonly HashSource[], pieceLength: number, options: HashOptions = {}): Promise<Uint8Array> {
  const total = files.reduce((n, f) => n + f.length, 0);
  const pieceCount = Math.ceil(total / pieceLength);
  options.signal?.throwIfAborted();
  const batch = Math.max(1, Math.floor(BATCH_BYTES / pieceLength));
  const threads = Math.max(1, Math.min(options.workers ?? availableParallelism(), Math.ceil(pieceCount / batch)));
  if (total <= IN_THREAD_LIMIT || threads === 1) return hashInThread(files, pieceLength, total, batch, options);

  const control = new SharedArrayBuffer(8);
  const out = new SharedArrayBuffer(pieceCount * 20);
  const data: HashWorkerData = { files: files.map((f) => ({ path: f.path, length: f.length })), pieceLength, batch, control, out };
  const flags = new Int32Array(control);
  let done = 0;
  const progress = (bytes: number): void => {
    done += bytes;
    options.onProgress?.(done, total);
  };

  await new Promise<void>((resolve, reject) => {
    const pool: Worker[] = [];
    let running = threads;
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      Atomics.store(flags, 1, 1);
      for (const w of pool) void w.terminate();
      options.signal?.removeEventListener('abort', onAbort);
      reject(err instanceof HashReadError ? new MetainfoError('io', err.message, { cause: err }) : err);
    };
    const finished = (): void => {
      if (--running > 0 || failed) return;
      options.signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = (): void => fail(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    for (let i = 1; i < threads; i++) {
      const w = new Worker(new URL('./hash-worker.js', import.meta.url), { workerData: data });
      pool.push(w);
      let over = false;
      w.on('message', (m: HashWorkerMessage) => {
        if (m.type === 'progress') progress(m.bytes);
        else if (m.type === 'error') fail(new HashReadError(m.message, m.path ?? '', m.errno));
        else {
          over = true;
          finished();
        }
      });
      w.on('error', fail);
      // A worker that dies without a word (killed, out of memory) must not leave the job waiting forever.
      w.on('exit', (code) => {
        if (!over) fail(new Error(`a hashing worker stopped unexpectedly (exit code ${code})`));
      });
    }
    hashHere(files, pieceLength, flags, new Uint8Array(out), progress).then(finished, fail);
  });
  // A private copy: callers get ordinary memory, not a view shared with threads.
  return new Uint8Array(out).slice();
}

/** The calling thread's share of a pooled job: batches from the same counter as the workers. */
async function hashHere(
  files: readonly HashSource[],
  pieceLength: number,
  flags: Int32Array,
  out: Uint8Array,
  progress: (bytes: number) => void,
): Promise<void> {
  const hasher = new PieceHasher(files, pieceLength);
  const batch = Math.max(1, Math.floor(HERE_BATCH_BYTES / pieceLength));
  try {
    while (Atomics.load(flags, 1) === 0) {
      const first = Atomics.add(flags, 0, batch);
      if (first >= hasher.pieceCount) break;
      progress(hasher.hashRange(first, Math.min(batch, hasher.pieceCount - first), out));
      await nextTurn();
    }
  } finally {
    hasher.close();
  }
}

function hashInThread(
  files: readonly HashSource[],
  pieceLength: number,
  total: number,
  batch: number,
  options: HashOptions,
): Uint8Array {
  const hasher = new PieceHasher(files, pieceLength);
  const out = new Uint8Array(hasher.pieceCount * 20);
  try {
    for (let first = 0; first < hasher.pieceCount; first += batch) {
      options.signal?.throwIfAborted();
      const count = Math.min(batch, hasher.pieceCount - first);
      hasher.hashRange(first, count, out);
      options.onProgress?.(Math.min(total, (first + count) * pieceLength), total);
    }
  } catch (e) {
    if (e instanceof HashReadError) throw new MetainfoError('io', e.message, { cause: e });
    throw e;
  } finally {
    hasher.close();
  }
  return out;
}
