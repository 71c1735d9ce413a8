import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { MetainfoError } from './errors.js';
import { HashReadError, PieceHasher, type HashSource } from './hash-read.js';
import type { HashWorkerData, HashWorkerMessage } from './hash-worker.js';

/*
 * SHA-1 piece hashing spread over worker threads: used to create torrents and
 * to re-check data on disk. One core hashes ~1.4 GB/s, so on a warm page
 * cache the workers, not the disk, set the pace; small inputs are hashed in
 * the calling thread, where starting workers would cost more than it saves.
 */

export interface HashOptions {
  /** Worker threads. @default os.availableParallelism() */
  readonly workers?: number;
  /** Called after each batch with the bytes hashed so far and the total. */
  readonly onProgress?: (bytesDone: number, bytesTotal: number) => void;
  readonly signal?: AbortSignal;
}

export type { HashSource } from './hash-read.js';

/** Below this many bytes, hash in the calling thread. */
const IN_THREAD_LIMIT = 8 * 1024 * 1024;
/** Bytes per batch a worker takes at a time. */
const BATCH_BYTES = 4 * 1024 * 1024;

/** The concatenated 20-byte SHA-1 hashes of every piece of `files` laid end to end. */
export async function hashPieces(files: readonly HashSource[], pieceLength: number, options: HashOptions = {}): Promise<Uint8Array> {
  const total = files.reduce((n, f) => n + f.length, 0);
  const pieceCount = Math.ceil(total / pieceLength);
  options.signal?.throwIfAborted();
  const batch = Math.max(1, Math.floor(BATCH_BYTES / pieceLength));
  const workers = Math.max(1, Math.min(options.workers ?? availableParallelism(), Math.ceil(pieceCount / batch)));
  if (total <= IN_THREAD_LIMIT || options.workers === 1) return hashInThread(files, pieceLength, total, batch, options);

  const control = new SharedArrayBuffer(8);
  const out = new SharedArrayBuffer(pieceCount * 20);
  const data: HashWorkerData = { files: files.map((f) => ({ path: f.path, length: f.length })), pieceLength, batch, control, out };
  const flags = new Int32Array(control);
  let done = 0;

  await new Promise<void>((resolve, reject) => {
    const pool: Worker[] = [];
    let running = workers;
    let failed = false;
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      Atomics.store(flags, 1, 1);
      for (const w of pool) void w.terminate();
      reject(err);
    };
    const onAbort = (): void => fail(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    for (let i = 0; i < workers; i++) {
      const w = new Worker(new URL('./hash-worker.js', import.meta.url), { workerData: data });
      pool.push(w);
      w.on('message', (m: HashWorkerMessage) => {
        if (m.type === 'progress') {
          done += m.bytes;
          options.onProgress?.(done, total);
        } else if (m.type === 'error') {
          fail(new MetainfoError('io', m.message, { cause: new HashReadError(m.message, m.path ?? '', m.errno) }));
        } else if (--running === 0 && !failed) {
          options.signal?.removeEventListener('abort', onAbort);
          resolve();
        }
      });
      w.on('error', (e) => fail(e));
    }
  });
  // A private copy: callers get ordinary memory, not a view shared with threads.
  return new Uint8Array(out).slice();
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
