import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encode, type BEncodable, type BValue } from '../../../src/bencode/index.js';
import { encodeFrame, FrameDecoder, OverlayError, parseQuery } from '../../../src/overlay/index.js';
import { clipReason, directoryCodec, MAX_FILES_PER_MESSAGE, MAX_REASON_BYTES, MAX_RESULTS_PER_MESSAGE, type DirectoryMessage } from '../../../src/overlay/directory/index.js';

/*
 * The directory's messages (docs/directory.md): every message survives
 * encode -> frame decoder -> decode unchanged; anything off the documented
 * format (unknown type, missing or ill-typed field, list or text over its
 * limit) is OverlayError('bad-message'); and no input at all makes the
 * decoder throw anything but an OverlayError.
 */

const HASH = 'a9993e364706816aba3e25717850c26c9cd0d89d';
const file = { hash: HASH, name: 'Abbey Road - Come Together.mp3', size: 4_200_000 };
const source = { ...file, address: { host: '127.0.0.1', port: 6699 } };

function roundTrip(m: DirectoryMessage): DirectoryMessage {
  const frames = new FrameDecoder().push(directoryCodec.encode(m));
  assert.equal(frames.length, 1);
  return directoryCodec.decode(frames[0]!);
}

/** Decode one dictionary given as a plain object. */
function decodeDict(d: Record<string, BEncodable>): DirectoryMessage {
  const frames = new FrameDecoder().push(encodeFrame(d as { t: string }));
  return directoryCodec.decode(frames[0]!);
}

function badMessage(d: Record<string, BEncodable>, pattern: RegExp): void {
  assert.throws(
    () => decodeDict(d),
    (e: unknown) => e instanceof OverlayError && e.code === 'bad-message' && pattern.test(e.message),
  );
}

const fileDict = { h: Buffer.from(HASH, 'hex'), n: 'song.mp3', s: 3 };

describe('directory codec', () => {
  it('round-trips every message', () => {
    const messages: DirectoryMessage[] = [
      { type: 'register', filesPort: 6699, files: [file, { hash: 'f'.repeat(40), name: 'ünïcödé 名前.txt', size: 0 }] },
      { type: 'register', filesPort: 1, files: [] },
      { type: 'add', files: [file] },
      { type: 'ping', id: 0 },
      { type: 'pong', id: 0xffff_ffff },
      { type: 'search', id: 7, query: parseQuery('come together') },
      { type: 'search', id: 8, query: parseQuery(HASH.toUpperCase()) },
      { type: 'results', id: 7, sources: [source], truncated: false },
      { type: 'results', id: 9, sources: [], truncated: true },
      { type: 'error', reason: 'the directory is full (10000 peers)' },
      { type: 'error', reason: 'no', id: 3 },
      { type: 'bye' },
    ];
    for (const m of messages) assert.deepEqual(roundTrip(m), m);
  });

  it('carries the largest lists allowed', () => {
    const files = Array.from({ length: MAX_FILES_PER_MESSAGE }, (_, i) => ({ hash: i.toString(16).padStart(40, '0'), name: `file ${i}.txt`, size: i }));
    assert.deepEqual(roundTrip({ type: 'add', files }), { type: 'add', files });
    const sources = files.slice(0, MAX_RESULTS_PER_MESSAGE).map((f) => ({ ...f, address: { host: '10.0.0.1', port: 80 } }));
    assert.deepEqual(roundTrip({ type: 'results', id: 1, sources, truncated: true }), { type: 'results', id: 1, sources, truncated: true });
  });

  it('rejects unknown types and a missing or ill-typed "t"', () => {
    badMessage({ t: 'hello' }, /unknown type "hello"/);
    badMessage({ x: 1 }, /has no "t"/);
    badMessage({ t: 5 }, /"t" that is not a byte string/);
    badMessage({ t: 'x'.repeat(33) }, /"t" of 33 bytes/);
  });

  it('rejects missing and ill-typed fields', () => {
    badMessage({ t: 'register', f: [] }, /register message has no "p"/);
    badMessage({ t: 'register', p: 0, f: [] }, /"p" that is not an integer from 1 to 65535/);
    badMessage({ t: 'register', p: 70000, f: [] }, /"p"/);
    badMessage({ t: 'register', p: 'x', f: [] }, /"p"/);
    badMessage({ t: 'register', p: 1, f: 'nope' }, /"f" that is not a list/);
    badMessage({ t: 'add', f: [5] }, /file entry that is not a dictionary/);
    badMessage({ t: 'add', f: [{ ...fileDict, h: Buffer.alloc(19) }] }, /"h" of 19 bytes/);
    badMessage({ t: 'add', f: [{ ...fileDict, n: 'a/b' }] }, /file name that holds a slash/);
    badMessage({ t: 'add', f: [{ ...fileDict, n: '' }] }, /file name that is empty/);
    badMessage({ t: 'add', f: [{ ...fileDict, n: Buffer.from([0xff, 0xfe]) }] }, /"n" that is not UTF-8/);
    badMessage({ t: 'add', f: [{ ...fileDict, s: -1 }] }, /"s"/);
    badMessage({ t: 'ping' }, /ping message has no "i"/);
    badMessage({ t: 'pong', i: -1 }, /"i"/);
    badMessage({ t: 'ping', i: 2 ** 32 }, /"i"/);
    badMessage({ t: 'search', i: 1, q: '!!!' }, /"q" that is not a query/);
    badMessage({ t: 'search', i: 1 }, /has no "q"/);
    badMessage({ t: 'results', i: 1, r: [{ ...fileDict, a: Buffer.from([127, 0, 0, 1, 0, 0]) }], x: 0 }, /port 0/);
    badMessage({ t: 'results', i: 1, r: [{ ...fileDict, a: Buffer.alloc(4) }], x: 0 }, /"a" of 4 bytes/);
    badMessage({ t: 'results', i: 1, r: [], x: 2 }, /"x"/);
    badMessage({ t: 'error' }, /has no "e"/);
    badMessage({ t: 'error', e: 'why', i: 'one' }, /"i"/);
  });

  it('rejects lists and texts over their limits', () => {
    const many = Array.from({ length: MAX_FILES_PER_MESSAGE + 1 }, () => fileDict);
    badMessage({ t: 'register', p: 1, f: many }, /with 1001 items \(at most 1000\)/);
    badMessage({ t: 'add', f: many }, /with 1001 items/);
    const sources = Array.from({ length: MAX_RESULTS_PER_MESSAGE + 1 }, () => ({ ...fileDict, a: Buffer.from([127, 0, 0, 1, 1, 1]) }));
    badMessage({ t: 'results', i: 1, r: sources, x: 1 }, /with 201 items \(at most 200\)/);
    badMessage({ t: 'add', f: [{ ...fileDict, n: 'x'.repeat(256) }] }, /"n" of 256 bytes/);
    badMessage({ t: 'search', i: 1, q: 'x'.repeat(257) }, /"q" of 257 bytes/);
    badMessage({ t: 'error', e: 'x'.repeat(MAX_REASON_BYTES + 1) }, /"e" of 301 bytes/);
  });

  it('clips a long reason so that an error message always decodes', () => {
    const long = 'é'.repeat(400);
    const m = roundTrip({ type: 'error', reason: clipReason(long) });
    assert.equal(m.type, 'error');
    assert.ok(Buffer.byteLength((m as { reason: string }).reason) <= MAX_REASON_BYTES);
    assert.match((m as { reason: string }).reason, /^é+\.\.\.$/);
  });

  it('never throws anything but OverlayError on random bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }), (chunks) => {
        const decoder = new FrameDecoder(4096);
        try {
          for (const c of chunks) for (const d of decoder.push(c)) directoryCodec.decode(d);
        } catch (e) {
          if (!(e instanceof OverlayError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but OverlayError on well-framed dictionaries with random fields', () => {
    const value: fc.Arbitrary<BValue> = fc.letrec<{ v: BValue }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.integer({ min: -5, max: 70_000 }),
        fc.constant(2n ** 70n),
        fc.uint8Array({ maxLength: 24 }),
        fc.constantFrom('register', 'add', 'ping', 'pong', 'search', 'results', 'error', 'bye', 'song mp3').map((s) => Buffer.from(s)),
        fc.array(tie('v'), { maxLength: 3 }),
        fc.array(fc.tuple(fc.constantFrom('h', 'n', 's', 'a'), tie('v')), { maxLength: 4 }).map((e) => new Map(e)),
      ),
    })).v;
    const dict = fc.tuple(
      fc.constantFrom('register', 'add', 'ping', 'pong', 'search', 'results', 'error', 'bye', 'other'),
      fc.array(fc.tuple(fc.constantFrom('p', 'f', 'i', 'q', 'r', 'x', 'e'), value), { maxLength: 4 }),
    );
    fc.assert(
      fc.property(dict, ([t, fields]) => {
        const bytes = encode(new Map<string, BValue>([['t', Buffer.from(t)], ...fields]));
        const frame = new Uint8Array(4 + bytes.length);
        new DataView(frame.buffer).setUint32(0, bytes.length);
        frame.set(bytes, 4);
        try {
          for (const d of new FrameDecoder().push(frame)) directoryCodec.decode(d);
        } catch (e) {
          if (!(e instanceof OverlayError)) throw e;
          assert.ok(e.code === 'bad-message', `unexpected code ${e.code}`);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
