import type { Clock, Timer } from '../net/index.js';
import type { PieceStore } from '../storage/index.js';
import type { PeerConnection } from './peer.js';
import type { BlockRef } from './picker.js';
import { takeAll, type TokenBucket } from './rate.js';

/*
 * Serving blocks to unchoked peers. Peers ask for 16 KiB blocks, usually
 * every block of a piece in a row, so whole pieces are read from the store
 * once and kept in a small cache; a block is then a view into its piece.
 * Sending stops while a peer's socket buffer is full (resumed on drain), and
 * upload caps are token buckets: a block waits until its bytes are paid for.
 */

export interface UploaderComponents {
  readonly store: PieceStore;
  readonly clock: Clock;
  /** Global and per-torrent caps. */
  readonly limits: readonly TokenBucket[];
  readonly pieceSize: (index: number) => number;
  readonly onSent: (peer: PeerConnection, bytes: number, index: number) => void;
  readonly onError: (e: Error) => void;
}

/** Whole pieces kept for serving: enough for several peers reading different pieces at once. */
const CACHE_BYTES = 16 * 1024 * 1024;
/** Blocks being read for one peer at once. */
const READS_PER_PEER = 4;

export class Uploader {
  private readonly cache = new Map<number, Promise<Uint8Array>>();
  private readonly cacheSlots: number;
  private paused: Timer | undefined;
  private readonly waiting = new Set<PeerConnection>();

  constructor(
    private readonly c: UploaderComponents,
    pieceLength: number,
  ) {
    this.cacheSlots = Math.max(2, Math.floor(CACHE_BYTES / pieceLength));
  }

  enqueue(peer: PeerConnection, r: BlockRef): void {
    peer.requests.push({ index: r.index, begin: r.begin, length: r.length });
    this.serve(peer);
  }

  /** BEP 3 cancel: drop a queued request (one already being read is sent anyway). */
  cancel(peer: PeerConnection, r: BlockRef): void {
    const i = peer.requests.findIndex((q) => q.index === r.index && q.begin === r.begin && q.length === r.length);
    if (i >= 0) peer.requests.splice(i, 1);
  }

  /** We choked the peer: its queue is void (BEP 6 peers are told so with reject). */
  choked(peer: PeerConnection): void {
    const now = this.c.clock.now();
    if (peer.extensions.fast) for (const r of peer.requests) peer.send({ type: 'reject', ...r }, now);
    peer.requests.length = 0;
  }

  forget(peer: PeerConnection): void {
    peer.requests.length = 0;
    this.waiting.delete(peer);
  }

  /** Send what the peer asked for, as far as its socket, the caps and the read slots allow. */
  serve(peer: PeerConnection): void {
    while (peer.requests.length > 0 && peer.reading < READS_PER_PEER && peer.writable && !peer.amChoking) {
      if (this.paused !== undefined) {
        this.waiting.add(peer);
        return;
      }
      const r = peer.requests.shift()!;
      const now = this.c.clock.now();
      const wait = takeAll(this.c.limits, r.length, now);
      if (wait > 0) {
        // Paid for; everyone waits until the buckets are out of debt.
        this.waiting.add(peer);
        this.paused = this.c.clock.setTimer(wait, () => {
          this.paused = undefined;
          const ready = [...this.waiting];
          this.waiting.clear();
          for (const p of ready) if (!p.isClosed) this.serve(p);
        });
      }
      peer.reading++;
      this.block(r).then(
        (block) => {
          peer.reading--;
          if (peer.isClosed) return;
          // Choked while we read it: BEP 6 has every request answered, so a fast peer hears it will not come.
          if (peer.amChoking) {
            if (peer.extensions.fast) peer.send({ type: 'reject', index: r.index, begin: r.begin, length: r.length }, this.c.clock.now());
            return;
          }
          peer.sendBlock(r.index, r.begin, block, this.c.clock.now());
          this.c.onSent(peer, block.length, r.index);
          this.serve(peer);
        },
        (e: unknown) => {
          peer.reading--;
          this.c.onError(e instanceof Error ? e : new Error(String(e)));
        },
      );
    }
  }

  private async block(r: BlockRef): Promise<Uint8Array> {
    const cached = this.cache.get(r.index);
    if (cached !== undefined) {
      // Most recently used goes last.
      this.cache.delete(r.index);
      this.cache.set(r.index, cached);
      return (await cached).subarray(r.begin, r.begin + r.length);
    }
    const piece = this.c.store.read(r.index, 0, this.c.pieceSize(r.index));
    this.cache.set(r.index, piece);
    piece.catch(() => this.cache.delete(r.index));
    if (this.cache.size > this.cacheSlots) this.cache.delete(this.cache.keys().next().value!);
    return (await piece).subarray(r.begin, r.begin + r.length);
  }
}
