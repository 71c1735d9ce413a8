import type { FileLayout } from '../metainfo/index.js';
import { StorageError, type PieceStore } from '../storage/index.js';

/**
 * A PieceStore that keeps which pieces it holds, not their bytes: every
 * written piece passed its SHA-1 check, so it is the original, served from
 * the one shared buffer. For the lab only.
 */
export class SharedStore implements PieceStore {
  private readonly held: Uint8Array;
  private closed = false;

  constructor(
    readonly layout: FileLayout,
    private readonly data: Uint8Array,
    complete: boolean,
  ) {
    this.held = new Uint8Array(layout.pieceCount).fill(complete ? 1 : 0);
  }

  async read(index: number, begin: number, length: number): Promise<Uint8Array> {
    this.check();
    if (this.held[index] !== 1 || begin < 0 || length < 0 || begin + length > this.layout.pieceSize(index)) throw new StorageError('range', `read of piece ${index} [${begin}, +${length}) not held`);
    const at = index * this.layout.pieceLength + begin;
    return this.data.subarray(at, at + length);
  }

  async writePiece(index: number, data: Uint8Array): Promise<void> {
    this.check();
    if (!(index >= 0 && index < this.layout.pieceCount) || data.length !== this.layout.pieceSize(index)) throw new StorageError('range', `write of piece ${index}, ${data.length} bytes`);
    this.held[index] = 1;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new StorageError('closed', 'the store is closed');
  }
}
