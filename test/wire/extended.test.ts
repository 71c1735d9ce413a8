import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encode, type BEncodable } from '../../src/bencode/index.js';
import { decodeExtendedHandshake, encodeExtended, encodeExtendedHandshake, EXTENDED_HANDSHAKE_ID, MAX_EXTENDED_HANDSHAKE_LENGTH, WireDecoder, WireError, type ExtendedHandshake } from '../../src/wire/index.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

const handshakeArb: fc.Arbitrary<ExtendedHandshake> = fc.record(
  {
    m: fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz_'.split('')) }), fc.integer({ min: 0, max: 255 }))).map((e) => new Map(e)),
    v: fc.string({ maxLength: 20 }),
    reqq: fc.integer({ min: 0, max: 100_000 }),
    yourip: fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 })),
    p: fc.integer({ min: 1, max: 65535 }),
    metadataSize: fc.integer({ min: 0, max: 2 ** 40 }),
    ipv4: fc.uint8Array({ minLength: 4, maxLength: 4 }),
    ipv6: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    uploadOnly: fc.boolean(),
  },
  { requiredKeys: ['m'] },
).map((h) => ({ ...h })); // fc.record makes null-prototype objects

describe('extended handshake (BEP 10)', () => {
  it('encodes the keys BEP 10 (and BEP 9, BEP 21) name', () => {
    const payload = encodeExtendedHandshake({ m: new Map([['ut_metadata', 1], ['ut_pex', 2]]), p: 6881, v: 'peerkit 0.1', reqq: 250, metadataSize: 31235, uploadOnly: true });
    assert.equal(Buffer.from(payload).toString('latin1'), 'd1:md11:ut_metadatai1e6:ut_pexi2ee13:metadata_sizei31235e1:pi6881e4:reqqi250e11:upload_onlyi1e1:v11:peerkit 0.1e');
  });

  it('round-trips any handshake (property)', () => {
    fc.assert(
      fc.property(handshakeArb, (h) => {
        // `v` is text: lone surrogates do not survive UTF-8, so compare what was actually sent.
        const expected = h.v === undefined ? h : { ...h, v: new TextDecoder().decode(new TextEncoder().encode(h.v)) };
        assert.deepEqual(decodeExtendedHandshake(encodeExtendedHandshake(h)), expected);
      }),
      { numRuns: 500 },
    );
  });

  it('ignores unknown keys, wrong-typed known keys and bad m entries', () => {
    const payload = encode(
      new Map<string, BEncodable>([
        ['m', new Map<string, BEncodable>([['ut_metadata', 3], ['big', 256], ['neg', -1], ['text', ascii('1')], ['list', []]])],
        ['p', ascii('6881')],
        ['v', 42],
        ['reqq', -5],
        ['yourip', ascii('12345')],
        ['ipv4', new Uint8Array(16)],
        ['ipv6', new Uint8Array(4)],
        ['metadata_size', ascii('9')],
        ['upload_only', ascii('1')],
        ['complete_ago', 1],
        ['lt_donthave', new Map([['x', [1, 2]]])],
      ]),
    );
    assert.deepEqual(decodeExtendedHandshake(payload), { m: new Map([['ut_metadata', 3]]) });
  });

  it('treats a missing or malformed m as empty, and accepts unsorted keys', () => {
    assert.deepEqual(decodeExtendedHandshake(ascii('de')), { m: new Map() });
    assert.deepEqual(decodeExtendedHandshake(ascii('d1:mi3ee')), { m: new Map() });
    assert.deepEqual(decodeExtendedHandshake(ascii('d1:pi1e1:md1:bi2e1:ai1eee')), { m: new Map([['b', 2], ['a', 1]]), p: 1 });
  });

  it("throws 'bad-extended' when the payload is not a bencoded dictionary", () => {
    for (const bad of ['', 'i1e', 'le', '4:spam', 'd1:m', 'de trailing', 'd1:ai1e1:ai2ee']) {
      assert.throws(() => decodeExtendedHandshake(ascii(bad)), (e: unknown) => e instanceof WireError && e.code === 'bad-extended', bad);
    }
    const huge = new Uint8Array(MAX_EXTENDED_HANDSHAKE_LENGTH + 1);
    assert.throws(() => decodeExtendedHandshake(huge), (e: unknown) => e instanceof WireError && e.code === 'bad-extended' && /limit/.test(e.message));
  });

  it('random bytes decode or throw WireError (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        try {
          decodeExtendedHandshake(bytes);
        } catch (e) {
          if (!(e instanceof WireError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses fields that do not fit the protocol with RangeError', () => {
    assert.throws(() => encodeExtendedHandshake({ m: new Map([['x', 256]]) }), RangeError);
    assert.throws(() => encodeExtendedHandshake({ m: new Map(), p: 0 }), RangeError);
    assert.throws(() => encodeExtendedHandshake({ m: new Map(), yourip: new Uint8Array(5) }), RangeError);
    assert.throws(() => encodeExtendedHandshake({ m: new Map(), ipv6: new Uint8Array(4) }), RangeError);
    assert.throws(() => encodeExtended(256, new Uint8Array(0)), RangeError);
  });

  it('frames it as <len><20><0><payload>, and the decoder hands the payload back', () => {
    const payload = encodeExtendedHandshake({ m: new Map([['ut_pex', 1]]), p: 51413 });
    const frame = encodeExtended(EXTENDED_HANDSHAKE_ID, payload);
    assert.deepEqual(frame.subarray(0, 6), Uint8Array.of(0, 0, 0, payload.length + 2, 20, 0));
    const d = new WireDecoder({ handshake: false });
    d.push(frame);
    const m = d.next();
    assert.ok(m?.type === 'extended' && m.id === EXTENDED_HANDSHAKE_ID);
    assert.deepEqual(decodeExtendedHandshake(m.payload), { m: new Map([['ut_pex', 1]]), p: 51413 });
  });
});
