import { parentPort, workerData } from 'node:worker_threads';
import { HashReadError, PieceHasher, type HashSource } from './hash-read.js';

/*
 * A hashing worker. Workers, and the calling thread beside them, take batches
 * of pieces from a shared counter (Atomics.add), so a slow disk region or a
 * busy core never leaves the others idle, and write the digests straight into
 * a shared output buffer. They report each finished batch so the caller can
 * show progress.
 */

export interface HashWorkerData {
  readonly files: readonly HashSource[];
  readonly pieceLength: number;
  readonly batch: number;
  /** Int32 [next piece to take, cancel flag]. */
  readonly control: SharedArrayBuffer;
  readonly out: SharedArrayBuffer;
}

export type HashWorkerMessage =
  | { readonly type: 'progress'; readonly pieces: number; readonly bytes: number }
  | { readonly type: 'done' }
  | { readonly type: 'error'; readonly message: string; readonly path: string | undefined; readonly errno: string | undefined };

const data = workerData as HashWorkerData;
const port = parentPort!;
const control = new Int32Array(data.control);
const out = new Uint8Array(data.out);
const hasher = new PieceHasher(data.files, data.pieceLength);

try {
  for (;;) {
    if (Atomics.load(control, 1) !== 0) break;
    const first = Atomics.add(control, 0, data.batch);
    if (first >= hasher.pieceCount) break;
    const count = Math.min(data.batch, hasher.pieceCount - first);
    const bytes = hasher.hashRange(first, count, out);
    port.postMessage({ type: 'progress', pieces: count, bytes } satisfies HashWorkerMessage);
  }
  port.postMessage({ type: 'done' } satisfies HashWorkerMessage);
} catch (e) {
  const message = e instanceof Error ? e.message : String(e);
  const path = e instanceof HashReadError ? e.path : undefined;
  const errno = e instanceof HashReadError ? e.errno : undefined;
  port.postMessage({ type: 'error', message, path, errno } satisfies HashWorkerMessage);
} finally {
  hasher.close();
}
