import type { Endpoint } from '../net/index.js';

/*
 * Addresses we might connect to (from trackers, --peer, later the DHT and
 * PEX), with what happened when we tried. A peer that does not answer is
 * tried again after a growing pause, and forgotten after a few failures, so
 * a stale tracker list does not keep us dialling dead addresses.
 */

interface Candidate {
  readonly endpoint: Endpoint;
  failures: number;
  retryAt: number;
  /** Connected, or being dialled. */
  busy: boolean;
}

/** The first retry waits this long; each failure adds as much again. */
const RETRY_MS = 30_000;
const MAX_FAILURES = 5;
/** Addresses remembered per torrent: a tracker cannot make us hold an unbounded list. */
const MAX_CANDIDATES = 2000;

const key = (e: Endpoint): string => `${e.host}:${e.port}`;

export class PeerCandidates {
  private readonly list = new Map<string, Candidate>();

  /** `retryMs`: the first retry's wait (the metadata fetch of a magnet link, with few peers to try, waits less). */
  constructor(private readonly retryMs = RETRY_MS) {}

  get size(): number {
    return this.list.size;
  }

  add(endpoints: readonly Endpoint[]): void {
    for (const endpoint of endpoints) {
      if (this.list.size >= MAX_CANDIDATES) return;
      const k = key(endpoint);
      if (!this.list.has(k)) this.list.set(k, { endpoint, failures: 0, retryAt: 0, busy: false });
    }
  }

  /** Up to `max` addresses to dial now (marked busy), skipping those `skip` refuses. */
  take(max: number, now: number, skip: (e: Endpoint) => boolean): Endpoint[] {
    const out: Endpoint[] = [];
    for (const c of this.list.values()) {
      if (out.length >= max) break;
      if (c.busy || c.retryAt > now || skip(c.endpoint)) continue;
      c.busy = true;
      out.push(c.endpoint);
    }
    return out;
  }

  /** The dial failed: back off, and forget an address that never answers. */
  failed(e: Endpoint, now: number): void {
    const c = this.list.get(key(e));
    if (c === undefined) return;
    c.busy = false;
    c.failures++;
    c.retryAt = now + this.retryMs * c.failures;
    if (c.failures >= MAX_FAILURES) this.list.delete(key(e));
  }

  /** The connection to `e` ended (or the dial succeeded and later closed): it may be dialled again from `retryAt` on. */
  released(e: Endpoint, retryAt = 0): void {
    const c = this.list.get(key(e));
    if (c === undefined) return;
    c.busy = false;
    c.retryAt = Math.max(c.retryAt, retryAt);
  }
}
