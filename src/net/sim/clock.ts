import type { Clock, Timer } from '../clock.js';

/*
 * The simulator's virtual clock (DESIGN.md: the Clock port's second
 * implementation). Time is a number of milliseconds starting at 0 that moves
 * only when `run` jumps it to the next scheduled event, so a simulated hour
 * with nothing to do costs nothing, and a run is repeatable: events are
 * ordered by (due time, order of scheduling), never by wall time.
 *
 * The code under simulation is ordinary async code: it awaits promises
 * (memory stores, async functions) between events. The driver therefore
 * alternates two steps:
 *
 *   1. yield one macrotask turn (setImmediate), so every pending promise
 *      callback and process.nextTick callback runs at the current virtual
 *      instant (they may schedule events "now", which step 2 picks up);
 *   2. jump to the earliest pending event and run every event due at that
 *      instant, including those the batch itself schedules for it.
 *
 * Yielding once per instant rather than once per event is what makes a
 * 100-peer swarm affordable: a setImmediate turn costs about a microsecond,
 * and there are hundreds of thousands of instants in such a run. The cost is
 * that promise callbacks started by one event of a batch run after the rest
 * of the batch; that order is still deterministic, and no virtual time
 * passes in between, so nothing the simulated code can observe depends on it
 * except the order of same-instant events, which is fixed.
 */

interface Event {
  readonly at: number;
  readonly seq: number;
  fn: (() => void) | undefined;
}

export interface SimRunOptions {
  /** Stop as soon as this returns true (checked before each instant, after promise callbacks ran). */
  readonly until?: () => boolean;
  /** Stop before running any event due after this virtual time (the clock then reads maxTime). */
  readonly maxTime?: number;
}

export class SimClock implements Clock {
  private t = 0;
  private seq = 0;
  /** A binary min-heap on (at, seq). Cancelled events stay in it with fn undefined until they surface. */
  private readonly heap: Event[] = [];
  private running = false;

  now(): number {
    return this.t;
  }

  /** Run `fn` at now + ms (negative or NaN: now). Equal due times run in the order they were set. */
  setTimer(ms: number, fn: () => void): Timer {
    return this.setTimerAt(this.t + (ms > 0 ? ms : 0), fn);
  }

  /**
   * Run `fn` at virtual time `at` (now if that has passed). For the network's
   * packets: an absolute time, so now + (at - now) rounding cannot land a
   * hair before `at`.
   */
  setTimerAt(at: number, fn: () => void): Timer {
    const event: Event = { at: at > this.t ? at : this.t, seq: this.seq++, fn };
    this.pushEvent(event);
    return { cancel: () => void (event.fn = undefined) };
  }

  /** Events scheduled and not yet run or cancelled (for tests and progress lines). */
  get pending(): number {
    let n = 0;
    for (const e of this.heap) if (e.fn !== undefined) n++;
    return n;
  }

  /**
   * Drive the simulation: let promise callbacks run, jump to the next event
   * and run it, and so on, until `until()` is true, the next event is past
   * `maxTime`, or nothing is scheduled. Rejects with whatever an event threw.
   */
  async run(options: SimRunOptions = {}): Promise<void> {
    if (this.running) throw new Error('SimClock.run is already running');
    this.running = true;
    try {
      for (;;) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (options.until?.() === true) return;
        const next = this.peekLive();
        if (next === undefined) return;
        if (options.maxTime !== undefined && next.at > options.maxTime) {
          this.t = Math.max(this.t, options.maxTime);
          return;
        }
        this.t = next.at;
        this.runInstant();
      }
    } finally {
      this.running = false;
    }
  }

  /** Run every live event due at the current instant, in (at, seq) order. */
  private runInstant(): void {
    for (;;) {
      const top = this.peekLive();
      if (top === undefined || top.at > this.t) return;
      this.popTop();
      const fn = top.fn!;
      top.fn = undefined;
      fn();
    }
  }

  /** The earliest event that was not cancelled, discarding cancelled ones on top. */
  private peekLive(): Event | undefined {
    const h = this.heap;
    while (h.length > 0 && h[0]!.fn === undefined) this.popTop();
    return h[0];
  }

  private pushEvent(e: Event): void {
    const h = this.heap;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (!before(e, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = e;
  }

  private popTop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    // Sift `last` down from the root.
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[child]!, last)) break;
      h[i] = h[child]!;
      i = child;
    }
    h[i] = last;
  }
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
