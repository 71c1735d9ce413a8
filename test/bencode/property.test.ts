import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BencodeError, decode, encode, type BValue } from '../../src/bencode/index.js';

/*
 * Property tests: canonical values round-trip byte for byte, and arbitrary or
 * mutated input either decodes or fails with a BencodeError, never anything
 * else (no RangeError, no stack overflow, no hang).
 */

const keyArb = fc.uint8Array({ maxLength: 8 }).map((u) => Buffer.from(u).toString('latin1'));
const valueArb: fc.Arbitrary<BValue> = fc.letrec<{ v: BValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: -1e15, max: 1e15 }),
    fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }).map((n) => (n >= -(2n ** 53n) + 1n && n <= 2n ** 53n - 1n ? Number(n) : n)),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('v'), { maxLength: 5 }),
    fc.array(fc.tuple(keyArb, tie('v')), { maxLength: 5 }).map((entries) => new Map(entries)),
  ),
})).v;

function decodesOrBencodeError(bytes: Uint8Array, strict: boolean): void {
  try {
    decode(bytes, { strict });
  } catch (e) {
    if (!(e instanceof BencodeError)) throw e;
    assert.ok(e.offset >= 0 && e.offset <= bytes.length, `offset ${e.offset} outside the input`);
  }
}

describe('bencode properties', () => {
  it('encode then decode gives the value back, and re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        const bytes = encode(v);
        const back = decode(bytes);
        assert.deepEqual(back, v instanceof Map ? new Map([...v.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) : back);
        assert.deepEqual(encode(back), bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes decode or give a BencodeError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, strict) => decodesOrBencodeError(bytes, strict)), { numRuns: 2000 });
  });

  it('mutated valid encodings decode or give a BencodeError', () => {
    fc.assert(
      fc.property(valueArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(), (v, flips, cut) => {
        const bytes = encode(v).slice();
        for (const [at, byte] of flips) if (bytes.length > 0) bytes[at % bytes.length] = byte;
        decodesOrBencodeError(bytes, true);
        decodesOrBencodeError(bytes.subarray(0, cut % (bytes.length + 1)), false);
      }),
      { numRuns: 1000 },
    );
  });
});
