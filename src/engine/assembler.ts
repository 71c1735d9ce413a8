import { createHash } from 'node:crypto';
import type { PieceStore } from '../storage/index.js';

/*
 * Where downloaded blocks become pieces. Blocks are copied into one buffer
 * per piece; when the picker says a piece has all its blocks, it is hashed
 * (SHA-1, against the hash in the .torrent, BEP 3) and only a piece that
 * matches goes to the store. Nothing unverified ever reaches the disk.
 *
 * Two resources are bounded here: piece buffers are reused (a fresh 256 KiB
 * buffer per piece is real work for the garbage collector at 200 MB/s), and
 * pieces waiting for the disk are capped: past the cap the torrent stops
 * reading from its peers, so a disk slower than the network slows the
 * senders (TCP flow control) instead of filling our memory.
 */

export interface AssemblerEvents {
  /** The piece matched its hash and is on the store. */
  readonly written: (index: number) => void;
  /** The piece did not match its hash; its data is gone. */
  readonly failed: (index: number) => void;
  /** The store refused a write (disk full...). */
  readonly error: (e: Error) => void;
  /** Too many pieces wait for the disk (true), or the queue has drained enough (false). */
  readonly backpressure: (full: boolean) => void;
}

/** Verified pieces waiting for the disk before we stop reading from peers. */
const MAX_WRITES_QUEUED = 32;
/** Piece buffers kept for reuse. */
const MAX_SPARE_BUFFERS = 16;

export class PieceAssembler {
  private readonly partial = new Map<number, Uint8Array>();
  private readonly spare: Uint8Array[] = [];
  private writing = 0;

  constructor(
    private readonly store: PieceStore,
    /** 20-byte SHA-1 per piece. */
    private readonly hashes: Uint8Array,
    private readonly pieceLength: number,
    private readonly pieceSize: (index: number) => number,
    private readonly events: AssemblerEvents,
  ) {}

  /** Copy a block into its piece's buffer. */
  block(index: number, begin: number, data: Uint8Array): void {
    let buf = this.partial.get(index);
    if (buf === undefined) {
      const size = this.pieceSize(index);
      buf = (size === this.pieceLength ? this.spare.pop() : undefined) ?? Buffer.allocUnsafe(size);
      this.partial.set(index, buf);
    }
    buf.set(data, begin);
  }

  /** Every block of `index` is in: hash it, and write it if it matches. */
  complete(index: number): void {
    const data = this.partial.get(index);
    if (data === undefined) return;
    this.partial.delete(index);
    const expected = this.hashes.subarray(index * 20, index * 20 + 20);
    if (!createHash('sha1').update(data).digest().equals(expected)) {
      this.recycle(data);
      this.events.failed(index);
      return;
    }
    if (++this.writing === MAX_WRITES_QUEUED) this.events.backpressure(true);
    this.store.writePiece(index, data).then(
      () => {
        if (this.writing-- === MAX_WRITES_QUEUED >> 1) this.events.backpressure(false);
        this.recycle(data);
        this.events.written(index);
      },
      (e: unknown) => this.events.error(e instanceof Error ? e : new Error(String(e))),
    );
  }

  private recycle(buf: Uint8Array): void {
    if (buf.length === this.pieceLength && this.spare.length < MAX_SPARE_BUFFERS) this.spare.push(buf);
  }
}
