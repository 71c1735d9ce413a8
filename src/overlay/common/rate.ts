/*
 * How many requests one connection may make (searches at a directory,
 * queries at a flood node or a leader): a token bucket on the node's clock,
 * as Gnutella servents had. Each request takes a token; tokens come back at
 * `rate` a second up to `burst`; a request that finds none is dropped (and,
 * where the service says so, owed: the bucket goes below empty, so a
 * connection that keeps sending must slow down to be answered again).
 * Dropped requests pile up as `excess`, which drains at the same rate: a
 * connection whose pile passes `cutAfter` keeps sending well over the rate
 * and is to be disconnected.
 */

export type Verdict = 'accept' | 'drop' | 'cut';

export class RateBudget {
  private tokens: number;
  private excess = 0;
  private at: number;

  constructor(
    /** Requests a second, on average. */
    readonly rate: number,
    /** Requests at once. */
    readonly burst: number,
    now: number,
    /** Dropped requests (not yet paid back) a connection may pile up before it is cut. @default burst */
    readonly cutAfter = burst,
    /** Whether a dropped request costs a token too. @default false */
    readonly oweDropped = false,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** A request arrived at `now`. */
  take(now: number): Verdict {
    const back = (Math.max(0, now - this.at) / 1000) * this.rate;
    this.at = Math.max(this.at, now);
    if (back > 0) {
      this.tokens = Math.min(this.burst, this.tokens + back);
      this.excess = Math.max(0, this.excess - back);
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 'accept';
    }
    this.excess += 1;
    if (this.oweDropped) this.tokens -= 1;
    return this.excess > this.cutAfter ? 'cut' : 'drop';
  }
}
