import type { AnnounceResult } from './types.js';

/*
 * When to announce next: a pure policy over plain data (DESIGN.md). The
 * caller keeps an AnnounceState per torrent, folds each outcome into it
 * (afterAnnounce / afterFailure) and asks nextAnnounceAt(state, now) when to
 * set its timer. Times are Clock milliseconds; intervals are seconds, as
 * trackers send them.
 *
 * - `interval` (BEP 3): regular re-announces happen this often.
 * - `min interval` (BEP 3, optional): the tracker wants no announce more
 *   often than this, including early ones for more peers.
 * - events: `completed` and `stopped` are sent when they happen (BEP 3 says
 *   the tracker must hear them), not on the timer; `started` is the first.
 * - failures back off: 60 s, 120 s, 240 s ... capped at one hour, so a dead
 *   tracker is not hammered (every request already retransmitted, BEP 15).
 *
 * The `tracker id` (BEP 3) is per tracker, not per schedule: TrackerTiers
 * remembers it for each URL and sends it back (see rememberTrackerId).
 */

export interface AnnouncePolicy {
  /** Floor on the tracker's interval, so `interval 0` cannot make us hammer it; also the gap for early announces when there is no `min interval`. @default 60 */
  readonly minimumIntervalSeconds?: number;
  /** The wait after the first failure; it doubles per consecutive failure. @default 60 */
  readonly retryBaseSeconds?: number;
  /** @default 3600 */
  readonly retryMaxSeconds?: number;
}

export interface AnnounceState {
  /** When the last answered announce was sent, Clock ms. */
  readonly lastSuccessAt?: number;
  /** Seconds, from the last answer. */
  readonly interval?: number;
  readonly minInterval?: number;
  /** Failed announces since the last answer. */
  readonly failures: number;
  readonly lastFailureAt?: number;
}

/**
 * Why the caller wants to announce:
 * - 'regular': the periodic re-announce;
 * - 'more-peers': early, because the swarm ran dry (min interval applies);
 * - 'event': a `completed` or `stopped` to report (only failure backoff applies).
 */
export type AnnounceReason = 'regular' | 'more-peers' | 'event';

export const INITIAL_ANNOUNCE_STATE: AnnounceState = { failures: 0 };

/** Fold a tracker's answer into the state. `now` is when the announce was sent. */
export function afterAnnounce(_state: AnnounceState, result: AnnounceResult, now: number): AnnounceState {
  return {
    lastSuccessAt: now,
    interval: result.interval,
    ...(result.minInterval !== undefined && { minInterval: result.minInterval }),
    failures: 0,
  };
}

/** Fold a failed announce (every tracker of every tier failed) into the state. */
export function afterFailure(state: AnnounceState, now: number): AnnounceState {
  return { ...state, failures: state.failures + 1, lastFailureAt: now };
}

/** When the next announce is due, Clock ms; never before `now`. */
export function nextAnnounceAt(state: AnnounceState, now: number, reason: AnnounceReason = 'regular', policy: AnnouncePolicy = {}): number {
  const floor = policy.minimumIntervalSeconds ?? 60;
  const base = policy.retryBaseSeconds ?? 60;
  const cap = policy.retryMaxSeconds ?? 3600;
  let due = now;
  if (state.failures > 0 && state.lastFailureAt !== undefined) {
    const wait = Math.min(base * 2 ** (state.failures - 1), cap);
    due = Math.max(due, state.lastFailureAt + wait * 1000);
  }
  if (state.lastSuccessAt !== undefined && reason !== 'event') {
    // The floor holds even against a tracker that says `min interval 0`.
    const minGap = Math.max(state.minInterval ?? floor, floor);
    const gap = reason === 'regular' ? Math.max(state.interval ?? 0, minGap, floor) : minGap;
    due = Math.max(due, state.lastSuccessAt + gap * 1000);
  }
  return due;
}

/**
 * BEP 3: "If absent, do not discard the old value." A tracker id is kept per
 * tracker URL until that tracker sends a new one.
 */
export function rememberTrackerId(ids: ReadonlyMap<string, Uint8Array>, url: string, result: AnnounceResult): ReadonlyMap<string, Uint8Array> {
  if (result.trackerId === undefined) return ids;
  return new Map(ids).set(url, result.trackerId);
}
