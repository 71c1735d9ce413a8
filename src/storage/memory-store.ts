import type { FileLayout } from '../metainfo/index.js';
import { checkRead, checkWrite } from './range.js';
import { StorageError, type PieceStore } from './types.js';

/*
 * A PieceStore in memory, for tests and the lab. Pieces are allocated when
 * written, so a 100 GiB torrent costs nothing until data arrives; bytes never
 * written read as zeros. It knows nothing of files: padding (BEP 47) is
 * whatever the verified pieces hold there, i.e. zeros.
 */
export class MemoryStore implements PieceStore {
  private readonly pieces = new Map<number, Uint8Array>();
  private closed = false;

  constructor(readonly layout: FileLayout) {}

  /** A store that already holds `data` (the whole torrent, `layout.length` bytes), for a seeder. `data` is shared, not copied, and never modified. */
  static from(layout: FileLayout, data: Uint8Array): MemoryStore {
    if (data.length !== layout.length) throw new RangeError(`the torrent is ${layout.length} bytes, the data ${data.length}`);
    const store = new MemoryStore(layout);
    for (let i = 0; i < layout.pieceCount; i++) {
      const start = i * layout.pieceLength;
      store.pieces.set(i, data.subarray(start, start + layout.pieceSize(i)));
    }
    return store;
  }

  /** Whether piece `index` was written (or given to `from`). */
  has(index: number): boolean {
    return this.pieces.has(index);
  }

  /** A copy of piece `index` as stored, `undefined` if never written; works after close too, for tests to look at. */
  piece(index: number): Uint8Array | undefined {
    return this.pieces.get(index)?.slice();
  }

  /** Bytes held, for tests of laziness. */
  get bytesAllocated(): number {
    let n = 0;
    for (const p of this.pieces.values()) n += p.length;
    return n;
  }

  async read(index: number, begin: number, length: number): Promise<Uint8Array> {
    this.checkOpen();
    checkRead(this.layout, index, begin, length);
    const piece = this.pieces.get(index);
    // A copy: the caller may keep or change it without touching the store.
    return piece === undefined ? new Uint8Array(length) : Uint8Array.prototype.slice.call(piece, begin, begin + length);
  }

  async writePiece(index: number, data: Uint8Array): Promise<void> {
    this.checkOpen();
    checkWrite(this.layout, index, data);
    // A copy (Buffer#slice would be a view): the caller reuses its buffer.
    this.pieces.set(index, Uint8Array.prototype.slice.call(data));
  }

  /** Closing keeps the data (a test may look at it) but refuses further reads and writes. A second close does nothing. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError('closed', 'the store is closed');
  }
}
