import type { FileHandle } from 'node:fs/promises';

/*
 * A bounded set of open files, least recently used closed first, so a
 * torrent of 100,000 files never runs out of descriptors. A handle in use is
 * never closed under its user: when every cached handle is busy the cache
 * briefly holds more than `max` (one per operation in flight) and trims
 * itself as they finish.
 */

interface Entry {
  readonly file: number;
  readonly writable: boolean;
  readonly handle: Promise<FileHandle>;
  users: number;
  /** Out of the cache (evicted, replaced by a writable handle, or failed): close when the last user is done. */
  retired: boolean;
}

export type Opener = (file: number, writable: boolean) => Promise<FileHandle>;

export class HandleCache {
  /** Live entries by file, in LRU order (oldest first). */
  private readonly entries = new Map<number, Entry>();
  private readonly closing = new Set<Promise<void>>();

  constructor(
    private readonly max: number,
    private readonly opener: Opener,
  ) {}

  /** Handles open or opening, for tests and diagnostics. */
  get size(): number {
    return this.entries.size;
  }

  /** Run `fn` with a handle of `file`, opened read-only unless `writable` (a writable one serves reads too). */
  async use<T>(file: number, writable: boolean, fn: (handle: FileHandle) => Promise<T>): Promise<T> {
    const entry = this.acquire(file, writable);
    try {
      return await fn(await entry.handle);
    } finally {
      this.release(entry);
    }
  }

  /** Close every handle; the caller makes sure none is in use. */
  async closeAll(): Promise<void> {
    for (const e of [...this.entries.values()]) this.retire(e);
    await Promise.all([...this.closing]);
  }

  private acquire(file: number, writable: boolean): Entry {
    const cached = this.entries.get(file);
    if (cached !== undefined && (cached.writable || !writable)) {
      this.entries.delete(file);
      this.entries.set(file, cached);
      cached.users++;
      return cached;
    }
    // Missing, or read-only when a write needs it: open a new one (the old one closes when idle).
    if (cached !== undefined) this.retire(cached);
    const entry: Entry = { file, writable, handle: this.opener(file, writable), users: 1, retired: false };
    // A failed open is not cached: the next operation tries again.
    entry.handle.catch(() => this.retire(entry));
    this.entries.set(file, entry);
    this.trim();
    return entry;
  }

  private release(entry: Entry): void {
    entry.users--;
    if (entry.users > 0) return;
    if (entry.retired) this.close(entry);
    else this.trim();
  }

  private retire(entry: Entry): void {
    if (this.entries.get(entry.file) === entry) this.entries.delete(entry.file);
    if (entry.retired) return;
    entry.retired = true;
    if (entry.users === 0) this.close(entry);
  }

  private trim(): void {
    for (const e of this.entries.values()) {
      if (this.entries.size <= this.max) break;
      if (e.users === 0) this.retire(e);
    }
  }

  private close(entry: Entry): void {
    // A close error loses nothing that flush() (datasync) did not already report.
    const p = entry.handle.then(
      (h) => h.close().catch(() => undefined),
      () => undefined,
    );
    this.closing.add(p);
    void p.then(() => this.closing.delete(p));
  }
}
