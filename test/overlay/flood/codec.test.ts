import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encode, type BEncodable } from '../../../src/bencode/index.js';
import { FrameDecoder, OverlayError, parseQuery, type Source } from '../../../src/overlay/index.js';
import { FLOOD_MAX_FRAME, floodCodec, MAX_ADDRESSES, MAX_SOURCES, type FloodMessage } from '../../../src/overlay/flood/index.js';

/*
 * The flood messages (docs/flood.md): each type survives a round trip
 * through the frame decoder, every documented limit is enforced with an
 * OverlayError naming the field, and arbitrary bytes or dictionaries only
 * ever make decoding throw OverlayError.
 */

const id = (n: number): Uint8Array => new Uint8Array(16).fill(n);
const hash = 'a9993e364706816aba3e25717850c26c9cd0d89d';
const source = (port: number, name = 'song.mp3'): Source => ({ hash, name, size: 1234, address: { host: '10.0.0.7', port } });

/** Encode, cut into frames, decode: what the other end sees. */
function wire(m: FloodMessage): FloodMessage {
  const dicts = new FrameDecoder(FLOOD_MAX_FRAME).push(floodCodec.encode(m));
  assert.equal(dicts.length, 1);
  return floodCodec.decode(dicts[0]!);
}

/** Decode a raw dictionary as if it had arrived. */
function decodeDict(d: { readonly [key: string]: BEncodable | undefined }): FloodMessage {
  const body = encode(d);
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  return floodCodec.decode(new FrameDecoder(FLOOD_MAX_FRAME).push(frame)[0]!);
}

const isBad = (pattern: RegExp) => (e: unknown) => e instanceof OverlayError && e.code === 'bad-message' && pattern.test(e.message);

describe('flood codec', () => {
  it('round-trips every message type', () => {
    const messages: FloodMessage[] = [
      { t: 'hello', port: 6346, id: id(1) },
      { t: 'hello', port: 0, id: id(2) },
      { t: 'ping' },
      { t: 'pong', addresses: [] },
      { t: 'pong', addresses: [{ host: '127.0.0.1', port: 6346 }, { host: '192.168.1.20', port: 65535 }] },
      { t: 'query', id: id(3), ttl: 7, hops: 1, query: parseQuery('Free Jazz') },
      { t: 'query', id: id(4), ttl: 255, hops: 255, query: parseQuery(hash) },
      { t: 'hit', id: id(5), hops: 3, sources: [source(8080), source(8081, 'other name.txt')] },
      { t: 'bye', addresses: [] },
      { t: 'bye', addresses: [{ host: '1.2.3.4', port: 5 }], reason: 'full' },
    ];
    for (const m of messages) assert.deepEqual(wire(m), m);
  });

  it('carries the largest hit in one frame', () => {
    const long = 'x'.repeat(250);
    const sources = Array.from({ length: MAX_SOURCES }, (_, i) => source(1000 + i, `${long}${i}`));
    const m: FloodMessage = { t: 'hit', id: id(6), hops: 7, sources };
    assert.ok(floodCodec.encode(m).length < FLOOD_MAX_FRAME);
    assert.deepEqual(wire(m), m);
  });

  it('rejects messages that break the documented limits, naming the field', () => {
    assert.throws(() => decodeDict({ t: 'shout' }), isBad(/type "shout" is unknown/));
    assert.throws(() => decodeDict({ x: 1 }), isBad(/has no "t"/));
    assert.throws(() => decodeDict({ t: 7 }), isBad(/"t" that is not a byte string/));
    assert.throws(() => decodeDict({ t: 'hello', p: 1 }), isBad(/hello message has no "id"/));
    assert.throws(() => decodeDict({ t: 'hello', p: 70000, id: id(1) }), isBad(/"p" that is not an integer from 0 to 65535/));
    assert.throws(() => decodeDict({ t: 'hello', p: 1, id: new Uint8Array(15) }), isBad(/"id" of 15 bytes/));
    const q = { t: 'query', id: id(1), ttl: 3, hops: 1, q: 'jazz' };
    assert.throws(() => decodeDict({ ...q, ttl: 0 }), isBad(/"ttl" that is not an integer from 1 to 255/));
    assert.throws(() => decodeDict({ ...q, ttl: 256 }), isBad(/"ttl"/));
    assert.throws(() => decodeDict({ ...q, hops: 0 }), isBad(/"hops"/));
    assert.throws(() => decodeDict({ ...q, q: '   ' }), isBad(/no letters or digits/));
    assert.throws(() => decodeDict({ ...q, q: 'a'.repeat(257) }), isBad(/"q" of 257 bytes/));
    assert.throws(() => decodeDict({ ...q, q: new Uint8Array([0xff, 0xfe]) }), isBad(/not UTF-8/));
    const addr = Uint8Array.of(127, 0, 0, 1, 0x18, 0xca);
    assert.throws(() => decodeDict({ t: 'pong', a: Array(MAX_ADDRESSES + 1).fill(addr) }), isBad(/21 items \(at most 20\)/));
    assert.throws(() => decodeDict({ t: 'pong', a: [addr.subarray(0, 5)] }), isBad(/address that is not 6 bytes/));
    assert.throws(() => decodeDict({ t: 'pong', a: [Uint8Array.of(127, 0, 0, 1, 0, 0)] }), isBad(/port 0/));
    assert.throws(() => decodeDict({ t: 'bye', r: 'x'.repeat(201) }), isBad(/"r" of 201 bytes/));
    const s = { h: new Uint8Array(20), n: 'a.txt', s: 1, a: addr };
    assert.throws(() => decodeDict({ t: 'hit', id: id(1), hops: 1, s: Array(MAX_SOURCES + 1).fill(s) }), isBad(/51 items/));
    assert.throws(() => decodeDict({ t: 'hit', id: id(1), hops: 1, s: [{ ...s, h: new Uint8Array(19) }] }), isBad(/"h" of 19 bytes/));
    assert.throws(() => decodeDict({ t: 'hit', id: id(1), hops: 1, s: [{ ...s, n: '../etc/passwd' }] }), isBad(/file name that holds a slash/));
    assert.throws(() => decodeDict({ t: 'hit', id: id(1), hops: 1, s: [{ ...s, s: -1 }] }), isBad(/"s"/));
  });

  it('ignores keys it does not know (room for extensions)', () => {
    assert.deepEqual(decodeDict({ t: 'ping', x: 'later' }), { t: 'ping' });
  });

  it('round-trips any valid query, hit and pong', () => {
    const idArb = fc.uint8Array({ minLength: 16, maxLength: 16 });
    const endpointArb = fc.record({ host: fc.ipV4(), port: fc.integer({ min: 1, max: 65535 }) });
    const wordsArb = fc.array(fc.stringMatching(/^[a-z0-9]{1,8}$/), { minLength: 1, maxLength: 16 });
    const messageArb: fc.Arbitrary<FloodMessage> = fc.oneof(
      fc.record({ t: fc.constant('query' as const), id: idArb, ttl: fc.integer({ min: 1, max: 255 }), hops: fc.integer({ min: 1, max: 255 }), query: wordsArb.map((w) => parseQuery(w.join(' '))) }),
      fc.record({ t: fc.constant('pong' as const), addresses: fc.array(endpointArb, { maxLength: MAX_ADDRESSES }) }),
      fc.record({
        t: fc.constant('hit' as const),
        id: idArb,
        hops: fc.integer({ min: 1, max: 255 }),
        sources: fc.array(
          fc.record({ hash: fc.stringMatching(/^[0-9a-f]{40}$/), name: fc.stringMatching(/^[a-z0-9. -]{1,40}$/).filter((n) => n !== '.' && n !== '..'), size: fc.nat(), address: endpointArb }),
          { maxLength: MAX_SOURCES },
        ),
      }),
    );
    // fast-check builds records without a prototype; structuredClone gives the plain objects decode returns.
    fc.assert(fc.property(messageArb, (m) => assert.deepEqual(wire(m), structuredClone(m))));
  });

  it('only ever throws OverlayError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          for (const d of new FrameDecoder(FLOOD_MAX_FRAME).push(bytes)) floodCodec.decode(d);
        } catch (e) {
          assert.ok(e instanceof OverlayError, String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('only ever throws OverlayError on arbitrary dictionaries with the right keys', () => {
    const value: fc.Arbitrary<BEncodable> = fc.oneof(fc.integer({ min: -5, max: 70000 }), fc.uint8Array({ maxLength: 24 }), fc.string({ maxLength: 12 }), fc.array(fc.uint8Array({ maxLength: 8 }), { maxLength: 3 }));
    const dictArb = fc.record(
      { t: fc.constantFrom('hello', 'ping', 'pong', 'query', 'hit', 'bye', 'x'), p: value, id: value, ttl: value, hops: value, q: value, a: value, s: value, r: value },
      { requiredKeys: ['t'] },
    );
    fc.assert(
      fc.property(dictArb, (d) => {
        try {
          decodeDict(d);
        } catch (e) {
          assert.ok(e instanceof OverlayError, String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
