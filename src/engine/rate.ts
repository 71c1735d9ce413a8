/*
 * Rate limiting and rate measuring on an injected clock: every call takes
 * `now` (ms), so the same code runs on the wall clock and on the simulator's
 * virtual one (DESIGN.md), and tests drive a manual time line.
 */

/** At least this much burst, so a limit never splits a 16 KiB block message in two waits. */
const MIN_BURST = 64 * 1024;

/**
 * A token bucket: tokens accrue at `bytesPerSecond` up to `burstBytes`; a take
 * spends them, and may overdraw. Rate Infinity = unlimited.
 */
export class TokenBucket {
  private rate = Infinity;
  private burst = Infinity;
  private readonly fixedBurst: number | undefined;
  private tokens = Infinity;
  private last: number | undefined;

  /** burstBytes defaults to one second's worth, at least 64 KiB. */
  constructor(bytesPerSecond: number, options: { burstBytes?: number } = {}) {
    if (options.burstBytes !== undefined && !(options.burstBytes > 0)) throw new RangeError(`burstBytes must be positive, got ${options.burstBytes}`);
    this.fixedBurst = options.burstBytes;
    this.setRate(bytesPerSecond);
    this.tokens = this.burst;
  }

  get bytesPerSecond(): number {
    return this.rate;
  }

  /**
   * Change the rate (0 is refused: pass Infinity for unlimited, and to pause
   * simply stop sending). With `now`, tokens earned so far count at the old
   * rate.
   */
  setRate(bytesPerSecond: number, now?: number): void {
    if (!(bytesPerSecond > 0)) throw new RangeError(`rate must be positive or Infinity, got ${bytesPerSecond}`);
    if (now !== undefined) this.refill(now);
    this.rate = bytesPerSecond;
    this.burst = this.fixedBurst ?? Math.max(bytesPerSecond, MIN_BURST);
    this.tokens = Math.min(this.tokens, this.burst);
  }

  /**
   * Take `n` bytes at `now`: 0 if they may go now, else the ms to wait before
   * sending them. The bucket goes into debt, so a caller that waits that long
   * and sends is exactly on rate, and the next caller waits behind it.
   */
  take(n: number, now: number): number {
    if (this.rate === Infinity) return 0;
    this.refill(now);
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.rate);
  }

  /** Bytes that may go at `now` without waiting (Infinity when unlimited; negative while in debt). */
  available(now: number): number {
    if (this.rate === Infinity) return Infinity;
    this.refill(now);
    return this.tokens;
  }

  private refill(now: number): void {
    if (this.last === undefined || now < this.last) {
      // First call, or a clock that went backwards: start counting from here.
      this.last = now;
      return;
    }
    const dt = now - this.last;
    this.last = now;
    if (dt > 0 && this.rate !== Infinity) this.tokens = Math.min(this.burst, this.tokens + (dt * this.rate) / 1000);
  }
}

/** Several buckets at once (global and per torrent): all are charged, and the wait is the longest. */
export function takeAll(buckets: readonly TokenBucket[], n: number, now: number): number {
  let wait = 0;
  for (const b of buckets) wait = Math.max(wait, b.take(n, now));
  return wait;
}

/**
 * The window for the choker's rates. Cohen ("Incentives Build Robustness in
 * BitTorrent", §3.2) ranks peers by "a rolling 20-second average": longer
 * than the 10 s choke round, so a peer's rank reflects what it did over the
 * last round or two and not one burst.
 */
export const CHOKE_RATE_WINDOW_MS = 20_000;

/** Slots per window: the window slides in steps of windowMs / SLOTS. */
const SLOTS = 20;
/** A slot number's place in the ring (times before 0 too). */
const mod = (slot: number): number => ((slot % SLOTS) + SLOTS) % SLOTS;

/**
 * A rolling transfer rate (bytes/s) over a window, in fixed slots (a ring).
 *
 * windowMs defaults to 5000: progress lines and request queue depths should
 * follow a change within a few seconds, yet a 5 s window smooths TCP's
 * sawtooth and the arrival of 16 KiB blocks in bursts. The choker uses
 * CHOKE_RATE_WINDOW_MS instead.
 */
export class RateMeter {
  readonly windowMs: number;
  private readonly slotMs: number;
  private readonly slots = new Float64Array(SLOTS);
  /** The absolute slot number (floor(time / slotMs)) of the newest slot. */
  private head = 0;
  private first: number | undefined;
  private sum = 0;

  constructor(windowMs = 5000) {
    if (!(windowMs > 0) || !Number.isFinite(windowMs)) throw new RangeError(`windowMs must be positive, got ${windowMs}`);
    this.windowMs = windowMs;
    this.slotMs = windowMs / SLOTS;
  }

  /** Every byte ever added. */
  get total(): number {
    return this.sum;
  }

  add(bytes: number, now: number): void {
    if (this.first === undefined) {
      this.first = now;
      this.head = Math.floor(now / this.slotMs);
    }
    this.advance(now);
    this.slots[mod(this.head)]! += bytes;
    this.sum += bytes;
  }

  /**
   * Bytes/s over the window ending at `now`, or since the first add if that is
   * more recent; never over less than a second (or the window, if shorter),
   * so one block that just arrived does not read as a huge rate.
   */
  rate(now: number): number {
    if (this.first === undefined) return 0;
    this.advance(now);
    let bytes = 0;
    for (const b of this.slots) bytes += b;
    const span = Math.min((SLOTS - 1) * this.slotMs + (now - this.head * this.slotMs), now - this.first);
    return (bytes * 1000) / Math.max(span, Math.min(1000, this.windowMs));
  }

  /** Zero the slots that the window slid past since the last call. */
  private advance(now: number): void {
    const slot = Math.floor(now / this.slotMs);
    if (slot <= this.head) return;
    if (slot - this.head >= SLOTS) this.slots.fill(0);
    else for (let s = this.head + 1; s <= slot; s++) this.slots[mod(s)] = 0;
    this.head = slot;
  }
}
