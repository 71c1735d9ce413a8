import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Bitfield, WireError } from '../../src/wire/index.js';

const isBadBitfield = (e: unknown): boolean => e instanceof WireError && e.code === 'bad-bitfield';

describe('Bitfield', () => {
  it('puts piece 0 in the high bit of byte 0 (BEP 3)', () => {
    const b = new Bitfield(10);
    b.set(0);
    b.set(9);
    assert.deepEqual(b.bytes, Uint8Array.of(0x80, 0x40));
    assert.ok(b.has(0) && b.has(9) && !b.has(1));
  });

  it('keeps count in step with a set model (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }).chain((n) => fc.tuple(fc.constant(n), fc.array(fc.tuple(fc.boolean(), fc.nat()), { maxLength: 60 }))), ([n, ops]) => {
        const b = new Bitfield(n);
        const model = new Set<number>();
        for (const [on, raw] of ops) {
          if (n === 0) break;
          const i = raw % n;
          if (on) {
            b.set(i);
            model.add(i);
          } else {
            b.clear(i);
            model.delete(i);
          }
        }
        assert.equal(b.count, model.size);
        assert.equal(b.complete, model.size === n);
        for (let i = 0; i < n; i++) assert.equal(b.has(i), model.has(i));
        // The bytes are a valid received bitfield, and read back the same.
        assert.equal(Bitfield.fromBytes(b.bytes, n).count, model.size);
      }),
    );
  });

  it('setAll sets every piece and leaves the spare bits clear', () => {
    for (const n of [0, 1, 7, 8, 9, 15, 16, 17]) {
      const b = new Bitfield(n);
      b.setAll();
      assert.equal(b.count, n);
      assert.ok(b.complete);
      assert.equal(Bitfield.fromBytes(b.bytes, n).count, n);
    }
    const b = new Bitfield(10);
    b.setAll();
    assert.deepEqual(b.bytes, Uint8Array.of(0xff, 0xc0));
  });

  it("fromBytes checks the size and the spare bits with 'bad-bitfield'", () => {
    assert.throws(() => Bitfield.fromBytes(Uint8Array.of(0xff), 10), isBadBitfield);
    assert.throws(() => Bitfield.fromBytes(Uint8Array.of(0xff, 0xc0, 0), 10), isBadBitfield);
    assert.throws(() => Bitfield.fromBytes(Uint8Array.of(0xff, 0xe0), 10), (e: unknown) => isBadBitfield(e) && (e as WireError).offset === 1);
    assert.throws(() => Bitfield.fromBytes(Uint8Array.of(0x01), 7), isBadBitfield);
    assert.equal(Bitfield.fromBytes(Uint8Array.of(0xff, 0xc0), 10).count, 10);
    assert.equal(Bitfield.fromBytes(new Uint8Array(0), 0).count, 0);
  });

  it('fromBytes and clone copy, so changes do not leak', () => {
    const received = Buffer.from([0x80]);
    const b = Bitfield.fromBytes(received, 8);
    received[0] = 0;
    assert.ok(b.has(0));
    const c = b.clone();
    c.set(1);
    c.clear(0);
    assert.ok(b.has(0) && !b.has(1) && b.count === 1);
    assert.ok(!c.has(0) && c.has(1) && c.count === 1);
    assert.equal(Object.getPrototypeOf(b.bytes), Uint8Array.prototype);
  });

  it('answers has() with false outside the range, and refuses set/clear there', () => {
    const b = new Bitfield(8);
    b.setAll();
    for (const i of [-1, 8, 2 ** 32, 0.5, NaN]) {
      assert.equal(b.has(i), false);
      assert.throws(() => b.set(i), RangeError);
      assert.throws(() => b.clear(i), RangeError);
    }
    assert.throws(() => new Bitfield(-1), RangeError);
    assert.throws(() => new Bitfield(1.5), RangeError);
  });

  it('set and clear are idempotent for the count', () => {
    const b = new Bitfield(3);
    b.set(1);
    b.set(1);
    assert.equal(b.count, 1);
    b.clear(2);
    b.clear(1);
    b.clear(1);
    assert.equal(b.count, 0);
  });
});
