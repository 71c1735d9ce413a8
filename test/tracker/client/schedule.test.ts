import assert from 'node:assert/strict';
import { test } from 'node:test';
import { afterAnnounce, afterFailure, INITIAL_ANNOUNCE_STATE, nextAnnounceAt, rememberTrackerId } from '../../../src/tracker/client/index.js';
import { utf8 } from './fakes.js';

const S = 1000;

test('the first announce is due now', () => {
  assert.equal(nextAnnounceAt(INITIAL_ANNOUNCE_STATE, 5 * S), 5 * S);
});

test('regular announces follow interval; early ones wait for min interval; events go at once', () => {
  const s = afterAnnounce(INITIAL_ANNOUNCE_STATE, { interval: 1800, minInterval: 300, peers: [] }, 100 * S);
  assert.equal(nextAnnounceAt(s, 200 * S), 1900 * S);
  assert.equal(nextAnnounceAt(s, 200 * S, 'more-peers'), 400 * S);
  assert.equal(nextAnnounceAt(s, 500 * S, 'more-peers'), 500 * S);
  assert.equal(nextAnnounceAt(s, 200 * S, 'event'), 200 * S);
  // Overdue is "now", never in the past.
  assert.equal(nextAnnounceAt(s, 5000 * S), 5000 * S);
});

test('a tiny or zero interval is floored, so a tracker cannot make us hammer it', () => {
  const s = afterAnnounce(INITIAL_ANNOUNCE_STATE, { interval: 0, peers: [] }, 0);
  assert.equal(nextAnnounceAt(s, 0), 60 * S);
  assert.equal(nextAnnounceAt(s, 0, 'more-peers'), 60 * S);
  assert.equal(nextAnnounceAt(s, 0, 'regular', { minimumIntervalSeconds: 5 }), 5 * S);
  // `min interval 0` does not lift the floor for early announces either.
  const zero = afterAnnounce(INITIAL_ANNOUNCE_STATE, { interval: 1800, minInterval: 0, peers: [] }, 0);
  assert.equal(nextAnnounceAt(zero, 0, 'more-peers'), 60 * S);
  // min interval above interval wins for regular announces too.
  const odd = afterAnnounce(INITIAL_ANNOUNCE_STATE, { interval: 100, minInterval: 500, peers: [] }, 0);
  assert.equal(nextAnnounceAt(odd, 0), 500 * S);
});

test('failures back off 60, 120, 240 s ... up to an hour; success resets', () => {
  let s = afterAnnounce(INITIAL_ANNOUNCE_STATE, { interval: 1800, peers: [] }, 0);
  const waits: number[] = [];
  let now = 2000 * S;
  for (let i = 0; i < 8; i++) {
    s = afterFailure(s, now);
    const due = nextAnnounceAt(s, now, 'event');
    waits.push((due - now) / S);
    now = due;
  }
  assert.deepEqual(waits, [60, 120, 240, 480, 960, 1920, 3600, 3600]);
  // Before the last success's interval is up, a regular announce still waits for it.
  const early = afterFailure(afterAnnounce(INITIAL_ANNOUNCE_STATE, { interval: 1800, peers: [] }, 0), 10 * S);
  assert.equal(nextAnnounceAt(early, 10 * S), 1800 * S);
  s = afterAnnounce(s, { interval: 900, peers: [] }, now);
  assert.equal(s.failures, 0);
  assert.equal(nextAnnounceAt(s, now), now + 900 * S);
});

test('a tracker id is kept until the tracker sends a new one (BEP 3)', () => {
  let ids: ReadonlyMap<string, Uint8Array> = new Map();
  ids = rememberTrackerId(ids, 'a', { interval: 1, peers: [], trackerId: utf8('x') });
  ids = rememberTrackerId(ids, 'a', { interval: 1, peers: [] });
  assert.deepEqual(ids.get('a'), utf8('x'));
  ids = rememberTrackerId(ids, 'a', { interval: 1, peers: [], trackerId: utf8('y') });
  assert.deepEqual(ids.get('a'), utf8('y'));
});
