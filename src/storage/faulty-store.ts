import { realClock, type Clock } from '../net/index.js';
import { StorageError, type PieceStore } from './types.js';

/*
 * A PieceStore that misbehaves on purpose, wrapped around a real one, to test
 * how the engine copes with a bad disk (libtorrent's test_disk does the same):
 *
 * - disk full: once `diskFullAfterBytes` would be exceeded, writePiece
 *   rejects with 'disk-full' and passes nothing of that piece to the inner
 *   store; the disk then stays full (every later write is refused too, even a
 *   smaller one), as a real full disk does until someone frees space. Pieces
 *   written before are all there: from the engine's side each piece is all or
 *   nothing.
 * - corrupt reads: when `corruptReads(index, begin)` says so, the block read
 *   has one byte inverted (the middle one), enough to fail the peer's hash
 *   check, which is what a flaky disk or a bad cable looks like.
 * - latency: every operation first waits `latencyMs` on the injected clock,
 *   so the simulator's virtual time stays in charge.
 */

export interface Faults {
  /** Bytes the disk holds (across all writePiece calls) before it is full. @default unlimited */
  readonly diskFullAfterBytes?: number;
  /** Whether the block `begin` of piece `index` is to be read corrupted. @default never */
  readonly corruptReads?: (index: number, begin: number) => boolean;
  /** Delay before every operation, in ms. @default 0 */
  readonly latencyMs?: number;
  /** The clock the delay runs on. @default realClock */
  readonly clock?: Clock;
}

export class FaultyStore implements PieceStore {
  private written = 0;
  private full = false;

  constructor(
    readonly inner: PieceStore,
    private readonly faults: Faults = {},
  ) {}

  /** Bytes passed to the inner store by successful writes. */
  get bytesWritten(): number {
    return this.written;
  }

  async read(index: number, begin: number, length: number): Promise<Uint8Array> {
    await this.delay();
    const data = await this.inner.read(index, begin, length);
    if (data.length === 0 || this.faults.corruptReads?.(index, begin) !== true) return data;
    const out = Uint8Array.prototype.slice.call(data); // a copy even of a Buffer
    const at = out.length >>> 1;
    out[at] = out[at]! ^ 0xff;
    return out;
  }

  async writePiece(index: number, data: Uint8Array): Promise<void> {
    await this.delay();
    const limit = this.faults.diskFullAfterBytes;
    if (this.full || (limit !== undefined && this.written + data.length > limit)) {
      this.full = true;
      throw new StorageError('disk-full', `no space left for piece ${index} (fault injected after ${limit ?? 0} bytes)`);
    }
    // Counted before the write, so two writes in flight cannot both squeeze under the limit.
    this.written += data.length;
    try {
      await this.inner.writePiece(index, data);
    } catch (e) {
      this.written -= data.length;
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.delay();
    await this.inner.close();
  }

  private delay(): Promise<void> {
    const ms = this.faults.latencyMs ?? 0;
    if (ms <= 0) return Promise.resolve();
    const clock = this.faults.clock ?? realClock;
    return new Promise((resolve) => clock.setTimer(ms, resolve));
  }
}
