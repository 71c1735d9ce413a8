import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RateMeter, TokenBucket, takeAll } from '../../src/engine/rate.js';

/** A sender that sends `size`-byte messages through the buckets as fast as they allow, on a manual time line. */
function send(buckets: TokenBucket[], size: number, until: number, start = 0): { bytes: number; now: number } {
  let now = start;
  let bytes = 0;
  while (now < until) {
    now += takeAll(buckets, size, now);
    bytes += size;
  }
  return { bytes, now };
}

describe('TokenBucket', () => {
  it('enforces the rate over a long run', () => {
    for (const rate of [10_000, 100_000, 1_000_000, 123_456]) {
      const b = new TokenBucket(rate, { burstBytes: 16384 });
      const { bytes, now } = send([b], 16384, 600_000);
      const actual = (bytes * 1000) / now;
      assert.ok(Math.abs(actual - rate) / rate < 0.01, `rate ${rate}: got ${actual.toFixed(0)}`);
    }
  });

  it('is exactly on rate for a caller that waits as told (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1000, max: 10_000_000 }), fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 50, maxLength: 200 }), (rate, sizes) => {
        const b = new TokenBucket(rate);
        let now = 0;
        let bytes = 0;
        for (const n of sizes) {
          const wait = b.take(n, now);
          assert.ok(wait >= 0);
          now += wait;
          bytes += n;
          // Never ahead of the rate by more than the initial burst (plus 1 ms of rounding).
          assert.ok(bytes <= Math.max(rate, 65536) + ((now + 1) * rate) / 1000);
        }
      }),
    );
  });

  it('allows a burst after idling, but no more than the burst', () => {
    const b = new TokenBucket(10_000, { burstBytes: 50_000 });
    assert.equal(b.take(50_000, 0), 0, 'starts full');
    assert.equal(b.take(10_000, 0), 1000, 'then waits for the tokens');
    // Idle for an hour: only the burst accrued.
    assert.equal(b.take(50_000, 3_600_000), 0);
    assert.equal(b.take(1, 3_600_000), 1);
  });

  it('defaults the burst to one second, at least 64 KiB', () => {
    const slow = new TokenBucket(1000);
    assert.equal(slow.take(65536, 0), 0);
    assert.equal(slow.take(1000, 0), 1000);
    const fast = new TokenBucket(1_000_000);
    assert.equal(fast.take(1_000_000, 0), 0);
    assert.equal(fast.take(1000, 0), 1);
  });

  it('is unlimited at Infinity, and changes rate', () => {
    const b = new TokenBucket(Infinity);
    assert.equal(b.take(1e12, 0), 0);
    b.setRate(1000, 0);
    assert.equal(b.take(65536 + 2000, 0), 2000);
    b.setRate(Infinity);
    assert.equal(b.take(1e9, 1), 0);
    assert.throws(() => b.setRate(0), RangeError);
    assert.throws(() => new TokenBucket(-1), RangeError);
  });

  it('takeAll charges every bucket and waits for the slowest', () => {
    const global = new TokenBucket(1000, { burstBytes: 1000 });
    const torrent = new TokenBucket(500, { burstBytes: 1000 });
    assert.equal(takeAll([global, torrent], 1000, 0), 0);
    assert.equal(takeAll([global, torrent], 500, 0), 1000);
    assert.equal(global.take(0, 0), 500, 'the global bucket was charged too');
    const { bytes, now } = send([global, torrent], 100, 100_000, 1000);
    assert.ok(Math.abs((bytes * 1000) / (now - 1000) - 500) < 10);
  });
});

describe('RateMeter', () => {
  it('measures a steady rate over its window', () => {
    const m = new RateMeter(5000);
    for (let t = 0; t <= 20_000; t += 100) m.add(1000, t);
    assert.ok(Math.abs(m.rate(20_000) - 10_000) < 300, `rate ${m.rate(20_000)}`);
    assert.equal(m.total, 201 * 1000);
  });

  it('forgets what is older than the window', () => {
    const m = new RateMeter(5000);
    for (let t = 0; t < 10_000; t += 100) m.add(1000, t);
    assert.ok(m.rate(12_000) > 0);
    assert.equal(m.rate(15_400), 0);
    assert.equal(m.rate(60_000), 0);
    assert.equal(m.total, 100_000);
    m.add(5000, 60_000);
    // After a long idle, one burst is spread over the window (less one slot still filling).
    assert.equal(m.rate(61_000), (5000 * 1000) / 4750);
  });

  it('follows a change within the window', () => {
    const m = new RateMeter(5000);
    for (let t = 0; t < 10_000; t += 100) m.add(1000, t);
    for (let t = 10_000; t < 20_000; t += 100) m.add(100, t);
    assert.ok(Math.abs(m.rate(19_999) - 1000) < 100, `rate ${m.rate(19_999)}`);
  });

  it('averages over the time since the first sample, but at least a second', () => {
    const m = new RateMeter(20_000);
    assert.equal(m.rate(0), 0);
    m.add(16384, 0);
    assert.equal(m.rate(0), 16384, 'one block is not a huge rate');
    m.add(16384, 2000);
    assert.equal(m.rate(2000), 16384);
  });
});
