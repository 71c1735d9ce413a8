import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encode, type BEncodable, type BValue } from '../../../src/bencode/index.js';
import { FrameDecoder, MAX_FRAME, OverlayError, parseQuery, type SharedFile } from '../../../src/overlay/index.js';
import { chunkFiles, MAX_BATCH_FILES, MESSAGE_TYPES, superPeerCodec, type SuperPeerMessage } from '../../../src/overlay/superpeer/index.js';

/*
 * The super-peer messages: every message type survives encode and decode
 * unchanged; malformed dictionaries are rejected with a one-line
 * OverlayError('bad-message') naming the field; random bytes and random
 * dictionaries never make the decoder throw anything else; and file batches
 * are cut so that every join or add fits in one frame.
 */

const decodeOne = (bytes: Uint8Array): SuperPeerMessage => {
  const dicts = new FrameDecoder().push(bytes);
  assert.equal(dicts.length, 1);
  return superPeerCodec.decode(dicts[0]!);
};

/** Decode a message given as a plain object (what a hostile peer could send). */
const decodeRaw = (message: { [key: string]: BEncodable }): SuperPeerMessage => {
  const body = encode(message);
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  return decodeOne(frame);
};

const hash = (n: number): string => n.toString(16).padStart(40, '0');
const file = (n: number, name = `file-${n}.txt`): SharedFile => ({ hash: hash(n), name, size: n * 1000 });
const id = 'ab'.repeat(16);
const ep = { host: '127.0.0.1', port: 6348 };

const samples: SuperPeerMessage[] = [
  { t: 'join', filesPort: 8080, leaderPort: 7000, files: [file(1), file(2, 'Ünïcode name.mp3')] },
  { t: 'join', filesPort: 0, files: [] },
  { t: 'add', files: [file(3)] },
  { t: 'remove', hashes: [hash(1), hash(2)] },
  { t: 'welcome', maxFiles: 10_000, leaders: [{ address: ep, members: 3, maxMembers: 50 }] },
  { t: 'redirect', leaders: [ep, { host: '127.0.0.1', port: 1 }] },
  { t: 'leaders', leaders: [{ address: ep, members: 0, maxMembers: 0 }] },
  { t: 'link', id, port: 6348, members: 12, maxMembers: 50 },
  { t: 'query', id, ttl: 4, hops: 0, query: parseQuery('blue moon') },
  { t: 'query', id, ttl: 1, hops: 3, query: parseQuery(hash(7)) },
  { t: 'hit', id, hops: 2, sources: [{ ...file(5), address: { host: '127.0.0.1', port: 8000 } }] },
  { t: 'promote', leaders: [ep] },
  { t: 'ping' },
  { t: 'pong' },
  { t: 'bye', reason: 'leader closing' },
];

function rejects(message: { [key: string]: BEncodable }, pattern: RegExp): void {
  assert.throws(
    () => decodeRaw(message),
    (e: unknown) => e instanceof OverlayError && e.code === 'bad-message' && pattern.test(e.message),
  );
}

describe('superpeer codec', () => {
  it('round-trips every message type', () => {
    assert.deepEqual(new Set(samples.map((m) => m.t)), new Set(MESSAGE_TYPES));
    for (const m of samples) assert.deepEqual(decodeOne(superPeerCodec.encode(m)), m);
  });

  it('rejects malformed messages with the field named', () => {
    rejects({ t: 'hello' }, /unknown message type "hello"/);
    rejects({ x: 1 }, /has no "t"/);
    rejects({ t: 'query', id: new Uint8Array(15), ttl: 3, hops: 0, q: 'a' }, /"id" of 15 bytes/);
    rejects({ t: 'query', id: new Uint8Array(16), ttl: -1, hops: 0, q: 'a' }, /"ttl"/);
    rejects({ t: 'query', id: new Uint8Array(16), ttl: 3, hops: 0, q: '  !! ' }, /query that .*no letters/);
    rejects({ t: 'query', id: new Uint8Array(16), ttl: 3, hops: 0, q: 'x'.repeat(300) }, /"q" of 300 bytes/);
    rejects({ t: 'join', fp: 80, c: 1, f: [] }, /has no "lp"/);
    rejects({ t: 'join', fp: 70_000, c: 0, f: [] }, /"fp"/);
    rejects({ t: 'add', f: [{ h: new Uint8Array(20), n: '../etc/passwd', s: 1 }] }, /file name that holds a slash/);
    rejects({ t: 'remove', h: [new Uint8Array(19)] }, /hash that is not 20 bytes/);
    rejects({ t: 'link', id: new Uint8Array(16), p: 0, m: 0, x: 0 }, /"p"/);
    rejects({ t: 'redirect', l: [new Uint8Array(5)] }, /"a" of 5 bytes/);
    rejects({ t: 'hit', id: new Uint8Array(16), hops: 1, s: [{ h: new Uint8Array(20), n: 'a', s: 1, a: Uint8Array.of(1, 2, 3, 4, 0, 0) }] }, /port 0/);
  });

  it('bounds every list: a join of 1001 files, a hit of 201 sources, a list of 101 leaders', () => {
    const f = { h: new Uint8Array(20), n: 'a', s: 1 };
    rejects({ t: 'join', fp: 1, c: 0, f: Array.from({ length: MAX_BATCH_FILES + 1 }, () => f) }, /1001 items \(at most 1000\)/);
    rejects({ t: 'hit', id: new Uint8Array(16), hops: 0, s: Array.from({ length: 201 }, () => ({ ...f, a: Uint8Array.of(1, 2, 3, 4, 0, 80) })) }, /201 items/);
    rejects({ t: 'promote', l: Array.from({ length: 101 }, () => Uint8Array.of(1, 2, 3, 4, 0, 80)) }, /101 items/);
  });

  it('cuts files into batches that each fit a frame', () => {
    const long = Array.from({ length: 2500 }, (_, i) => file(i + 1, `${'n'.repeat(240)}-${i}`));
    const batches = chunkFiles(long);
    assert.deepEqual(batches.flat(), long);
    for (const b of batches) {
      assert.ok(b.length <= MAX_BATCH_FILES);
      const frame = superPeerCodec.encode({ t: 'join', filesPort: 65535, leaderPort: 65535, files: b });
      assert.ok(frame.length <= MAX_FRAME, `a batch of ${b.length} files is ${frame.length} bytes`);
      assert.deepEqual(decodeOne(frame), { t: 'join', filesPort: 65535, leaderPort: 65535, files: b });
    }
    assert.deepEqual(chunkFiles([]), []);
    assert.equal(chunkFiles(Array.from({ length: 2001 }, (_, i) => file(i + 1))).length, 3);
  });

  it('random bytes only ever fail with an OverlayError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const withLength = new Uint8Array(4 + bytes.length);
        new DataView(withLength.buffer).setUint32(0, bytes.length);
        withLength.set(bytes, 4);
        for (const input of [bytes, withLength]) {
          try {
            for (const d of new FrameDecoder().push(input)) superPeerCodec.decode(d);
          } catch (e) {
            assert.ok(e instanceof OverlayError, `threw ${String(e)}`);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('random dictionaries with a known type only ever fail with an OverlayError', () => {
    const keys = fc.constantFrom('t', 'id', 'ttl', 'hops', 'q', 'f', 'fp', 'c', 'lp', 'h', 'l', 'mf', 'p', 'm', 'x', 's', 'r', 'n', 'a');
    const value: fc.Arbitrary<BValue> = fc.letrec<{ v: BValue }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.integer({ min: -5, max: 70_000 }),
        fc.uint8Array({ maxLength: 24 }),
        fc.constantFrom(...MESSAGE_TYPES).map((t) => new Uint8Array(Buffer.from(t))),
        fc.array(tie('v'), { maxLength: 3 }),
        fc.array(fc.tuple(keys, tie('v')), { maxLength: 4 }).map((e) => new Map(e)),
      ),
    })).v;
    fc.assert(
      fc.property(fc.constantFrom(...MESSAGE_TYPES), fc.array(fc.tuple(keys, value), { maxLength: 6 }), (t, entries) => {
        const dict = new Map<string, BValue>(entries);
        dict.set('t', new Uint8Array(Buffer.from(t)));
        try {
          const m = superPeerCodec.decode(dict);
          // Whatever decodes must encode again.
          superPeerCodec.encode(m);
        } catch (e) {
          assert.ok(e instanceof OverlayError, `threw ${String(e)}`);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
