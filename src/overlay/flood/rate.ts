/*
 * How many new queries one neighbour may send (docs/flood.md, "Limits"): a
 * token bucket on the node's clock, as Gnutella servents had. Each new query
 * takes a token; tokens come back at `rate` a second up to `burst`; a query
 * that finds none is dropped. Dropped queries pile up as `excess`, which
 * drains at the same rate: a neighbour that keeps sending well over twice
 * the rate (so the pile passes CUT_FACTOR x burst) is to be disconnected.
 */

/** Dropped queries, in bursts, a neighbour may pile up before it is disconnected. */
export const CUT_FACTOR = 4;

export type Verdict = 'accept' | 'drop' | 'cut';

export class QueryBudget {
  private tokens: number;
  private excess = 0;
  private at: number;

  constructor(
    /** Queries a second, on average. */
    readonly rate: number,
    /** Queries at once. */
    readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** A new query arrived at `now`. */
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
    return this.excess > CUT_FACTOR * this.burst ? 'cut' : 'drop';
  }
}
