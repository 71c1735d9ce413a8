import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encode, type BEncodable } from '../../src/bencode/index.js';
import {
  decodeMetadataMessage,
  encodeMetadataMessage,
  ExtensionError,
  MAX_METADATA_MESSAGE_LENGTH,
  MAX_METADATA_SIZE,
  METADATA_PIECE_LENGTH,
  MetadataAssembler,
  metadataPieceCount,
  metadataPieceLength,
  metadataReply,
  type MetadataMessage,
} from '../../src/extensions/index.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const sha1 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha1').update(b).digest());
/** Deterministic filler bytes (no Math.random in tests either: failures must reproduce). */
const filler = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);

const isExtensionError =
  (code?: string) =>
  (e: unknown): boolean =>
    e instanceof ExtensionError && (code === undefined || e.code === code);

/** A data message whose piece, total size and block agree. */
const dataArb: fc.Arbitrary<MetadataMessage> = fc
  .integer({ min: 1, max: 5 * METADATA_PIECE_LENGTH })
  .chain((totalSize) => fc.record({ totalSize: fc.constant(totalSize), piece: fc.integer({ min: 0, max: metadataPieceCount(totalSize) - 1 }) }))
  .chain(({ totalSize, piece }) => {
    const n = metadataPieceLength(totalSize, piece);
    return fc.uint8Array({ minLength: n, maxLength: n }).map((data): MetadataMessage => ({ type: 'data', piece, totalSize, data }));
  });

const messageArb: fc.Arbitrary<MetadataMessage> = fc.oneof(
  fc.nat().map((piece): MetadataMessage => ({ type: 'request', piece })),
  fc.nat().map((piece): MetadataMessage => ({ type: 'reject', piece })),
  dataArb,
);

describe('ut_metadata messages (BEP 9)', () => {
  it('encodes and decodes the BEP 9 examples byte for byte', () => {
    assert.equal(latin1(encodeMetadataMessage({ type: 'request', piece: 0 })), 'd8:msg_typei0e5:piecei0ee');
    assert.deepEqual(decodeMetadataMessage(ascii('d8:msg_typei0e5:piecei0ee')), { type: 'request', piece: 0 });
    assert.equal(latin1(encodeMetadataMessage({ type: 'reject', piece: 0 })), 'd8:msg_typei2e5:piecei0ee');
    assert.deepEqual(decodeMetadataMessage(ascii('d8:msg_typei2e5:piecei0ee')), { type: 'reject', piece: 0 });

    // The BEP's data example: piece 0 of 34256 bytes of metadata, followed by the piece.
    const piece = filler(METADATA_PIECE_LENGTH);
    const payload = encodeMetadataMessage({ type: 'data', piece: 0, totalSize: 34256, data: piece });
    const head = 'd8:msg_typei1e5:piecei0e10:total_sizei34256ee';
    assert.equal(latin1(payload.subarray(0, head.length)), head);
    assert.deepEqual(payload.subarray(head.length), piece);
    assert.equal(payload.length, head.length + METADATA_PIECE_LENGTH);
  });

  it('takes the bytes after a data message\'s dictionary as the piece', () => {
    // Piece 2 of 34256 bytes is the 1488-byte remainder.
    const block = filler(34256 - 2 * METADATA_PIECE_LENGTH, 3);
    const payload = concat(ascii('d8:msg_typei1e5:piecei2e10:total_sizei34256ee'), block);
    const m = decodeMetadataMessage(payload);
    assert.deepEqual(m, { type: 'data', piece: 2, totalSize: 34256, data: block });
    // A copy: the message does not alias (or pin) the frame it came in.
    assert.ok(m.type === 'data');
    payload[payload.length - 1] = payload[payload.length - 1]! ^ 0xff;
    assert.equal(m.data[m.data.length - 1], block[block.length - 1]);
  });

  it('accepts unsorted keys and ignores unknown ones', () => {
    assert.deepEqual(decodeMetadataMessage(ascii('d5:piecei7e8:msg_typei0e3:zzz3:abce')), { type: 'request', piece: 7 });
  });

  it('decodes an unknown msg_type to an unknown message (BEP 9: ignore it), with or without a piece', () => {
    assert.deepEqual(decodeMetadataMessage(ascii('d8:msg_typei3e5:piecei0ee')), { type: 'unknown', msgType: 3 });
    assert.deepEqual(decodeMetadataMessage(ascii('d8:msg_typei-1ee')), { type: 'unknown', msgType: -1 });
    assert.deepEqual(decodeMetadataMessage(ascii('d8:msg_typei77e3:fooli1eee')), { type: 'unknown', msgType: 77 });
  });

  it('round-trips any message (property)', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        assert.deepEqual(decodeMetadataMessage(encodeMetadataMessage(m)), m);
      }),
      { numRuns: 300 },
    );
  });

  it('re-encodes any message it decoded to the exact input bytes when the input is canonical (property)', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const bytes = encodeMetadataMessage(m);
        const decoded = decodeMetadataMessage(bytes);
        assert.ok(decoded.type !== 'unknown');
        assert.deepEqual(encodeMetadataMessage(decoded), bytes);
      }),
      { numRuns: 200 },
    );
  });

  it("throws 'too-long' over 16 KiB + 1 KiB", () => {
    const big = new Uint8Array(MAX_METADATA_MESSAGE_LENGTH + 1);
    assert.throws(() => decodeMetadataMessage(big), isExtensionError('too-long'));
  });

  it("throws 'bad-bencode' with the offset when the dictionary is not bencode", () => {
    for (const bad of ['', 'd', 'd8:msg_type', 'x', 'd8:msg_typei01ee', 'd8:msg_typei0e8:msg_typei0ee']) {
      assert.throws(() => decodeMetadataMessage(ascii(bad)), isExtensionError('bad-bencode'), bad);
    }
    try {
      decodeMetadataMessage(ascii('d8:msg_typei0e5:piecei0x'));
      assert.fail('no error');
    } catch (e) {
      assert.ok(e instanceof ExtensionError);
      assert.equal(e.offset, 23);
    }
  });

  it("throws 'bad-message' on the wrong shape", () => {
    const cases: readonly (readonly [string, Uint8Array])[] = [
      ['not a dict', ascii('li1ee')],
      ['an integer', ascii('i0e')],
      ['no msg_type', ascii('d5:piecei0ee')],
      ['msg_type a string', ascii('d8:msg_type1:05:piecei0ee')],
      ['msg_type a bigint', ascii('d8:msg_typei99999999999999999999e5:piecei0ee')],
      ['no piece', ascii('d8:msg_typei0ee')],
      ['negative piece', ascii('d8:msg_typei0e5:piecei-1ee')],
      ['piece a string', ascii('d8:msg_typei2e5:piece1:0e')],
      ['bytes after a request', ascii('d8:msg_typei0e5:piecei0eeXX')],
      ['bytes after a reject', ascii('d8:msg_typei2e5:piecei0ee\x00')],
      ['data without total_size', concat(ascii('d8:msg_typei1e5:piecei0ee'), filler(10))],
      ['data with a short block', concat(ascii('d8:msg_typei1e5:piecei0e10:total_sizei100ee'), filler(99))],
      ['data with a long block', concat(ascii('d8:msg_typei1e5:piecei0e10:total_sizei100ee'), filler(101))],
      ['data piece out of range', concat(ascii('d8:msg_typei1e5:piecei1e10:total_sizei16384ee'), filler(1))],
      ['data over 16 KiB', concat(ascii('d8:msg_typei1e5:piecei0e10:total_sizei99999ee'), filler(METADATA_PIECE_LENGTH + 1))],
      ['data of a 0-byte total', ascii('d8:msg_typei1e5:piecei0e10:total_sizei0ee')],
    ];
    for (const [what, payload] of cases) assert.throws(() => decodeMetadataMessage(payload), isExtensionError('bad-message'), what);
  });

  it('random bytes decode or throw ExtensionError, never another error (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeMetadataMessage(bytes);
        } catch (e) {
          if (!(e instanceof ExtensionError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('mutated valid messages decode or throw ExtensionError (property)', () => {
    fc.assert(
      fc.property(messageArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), (m, edits, cut) => {
        const bytes = encodeMetadataMessage(m).slice();
        for (const [at, v] of edits) if (bytes.length > 0) bytes[at % bytes.length] = v;
        try {
          decodeMetadataMessage(bytes.subarray(0, bytes.length - (cut % 4)));
        } catch (e) {
          if (!(e instanceof ExtensionError)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses messages that do not fit the protocol with RangeError', () => {
    assert.throws(() => encodeMetadataMessage({ type: 'request', piece: -1 }), RangeError);
    assert.throws(() => encodeMetadataMessage({ type: 'reject', piece: 1.5 }), RangeError);
    assert.throws(() => encodeMetadataMessage({ type: 'data', piece: 0, totalSize: 10, data: filler(9) }), RangeError);
    assert.throws(() => encodeMetadataMessage({ type: 'data', piece: 1, totalSize: 10, data: filler(10) }), RangeError);
    assert.throws(() => encodeMetadataMessage({ type: 'data', piece: 0, totalSize: 0, data: filler(0) }), RangeError);
    assert.throws(() => encodeMetadataMessage({ type: 'data', piece: 0, totalSize: 99_999, data: filler(METADATA_PIECE_LENGTH + 1) }), RangeError);
  });
});

describe('metadataReply', () => {
  it('answers a request with the piece, the last one being the remainder', () => {
    const info = filler(2 * METADATA_PIECE_LENGTH + 5);
    assert.deepEqual(metadataReply(info, 0), { type: 'data', piece: 0, totalSize: info.length, data: info.subarray(0, METADATA_PIECE_LENGTH) });
    const last = metadataReply(info, 2);
    assert.ok(last.type === 'data');
    assert.deepEqual(last.data, info.subarray(2 * METADATA_PIECE_LENGTH));
    assert.equal(last.data.length, 5);
  });

  it('rejects a piece out of range', () => {
    const info = filler(METADATA_PIECE_LENGTH);
    assert.deepEqual(metadataReply(info, 1), { type: 'reject', piece: 1 });
    assert.deepEqual(metadataReply(info, 1_000_000), { type: 'reject', piece: 1_000_000 });
    assert.deepEqual(metadataReply(new Uint8Array(0), 0), { type: 'reject', piece: 0 });
    // What it returns always encodes.
    assert.equal(latin1(encodeMetadataMessage(metadataReply(info, 1))), 'd8:msg_typei2e5:piecei1ee');
  });
});

/** Fetch `info` through the assembler the way a session would: request, reply, encode, decode, add. */
function fetchAll(assembler: MetadataAssembler<string>, info: Uint8Array, from = 'peer'): ReturnType<MetadataAssembler<string>['add']> {
  let result: ReturnType<MetadataAssembler<string>['add']> = { status: 'more' };
  for (let piece = assembler.nextRequest(); piece !== undefined; piece = assembler.nextRequest()) {
    const reply = decodeMetadataMessage(encodeMetadataMessage(metadataReply(info, piece)));
    assert.ok(reply.type === 'data');
    assert.equal(reply.totalSize, assembler.totalSize);
    result = assembler.add(reply.piece, reply.data, from);
  }
  return result;
}

describe('MetadataAssembler', () => {
  for (const size of [1, METADATA_PIECE_LENGTH - 1, METADATA_PIECE_LENGTH, METADATA_PIECE_LENGTH + 1, 3 * METADATA_PIECE_LENGTH, 34256]) {
    it(`assembles and verifies ${size} bytes of metadata`, () => {
      const info = filler(size, size);
      const a = new MetadataAssembler<string>(sha1(info), size);
      assert.equal(a.pieceCount, Math.ceil(size / METADATA_PIECE_LENGTH));
      const result = fetchAll(a, info);
      assert.equal(result.status, 'done');
      assert.ok(result.status === 'done');
      assert.deepEqual(result.info, info);
      assert.deepEqual(a.bytes, info);
      assert.equal(a.missing, 0);
      assert.equal(a.nextRequest(), undefined);
    });
  }

  it('checks every piece is 16 KiB but the last, which is the remainder', () => {
    const info = filler(METADATA_PIECE_LENGTH + 1);
    const a = new MetadataAssembler(sha1(info), info.length);
    assert.equal(a.add(0, info.subarray(0, METADATA_PIECE_LENGTH - 1)).status, 'invalid');
    assert.equal(a.add(0, info).status, 'invalid');
    assert.equal(a.add(1, info.subarray(0, 2)).status, 'invalid');
    assert.equal(a.add(1, new Uint8Array(0)).status, 'invalid');
    assert.equal(a.missing, 2);
    assert.equal(a.add(1, info.subarray(METADATA_PIECE_LENGTH)).status, 'more');
    assert.equal(a.add(0, info.subarray(0, METADATA_PIECE_LENGTH)).status, 'done');
  });

  it("answers 'invalid' for a piece out of range and changes nothing", () => {
    const info = filler(100);
    const a = new MetadataAssembler(sha1(info), info.length);
    for (const piece of [1, -1, 0.5, 2 ** 40, Number.NaN]) {
      const r = a.add(piece, info);
      assert.equal(r.status, 'invalid', String(piece));
    }
    assert.equal(a.missing, 1);
    assert.equal(a.add(0, info).status, 'done');
  });

  it("answers 'bad' on a hash mismatch, names the contributors and starts over", () => {
    const info = filler(2 * METADATA_PIECE_LENGTH + 10);
    const a = new MetadataAssembler<string>(sha1(info), info.length);
    assert.equal(a.nextRequest(), 0);
    assert.equal(a.nextRequest(), 1);
    assert.equal(a.nextRequest(), 2);
    assert.equal(a.add(0, info.subarray(0, METADATA_PIECE_LENGTH), 'alice').status, 'more');
    const forged = info.slice(METADATA_PIECE_LENGTH, 2 * METADATA_PIECE_LENGTH);
    forged[0] = forged[0]! ^ 1;
    assert.equal(a.add(1, forged, 'mallory').status, 'more');
    const r = a.add(2, info.subarray(2 * METADATA_PIECE_LENGTH), 'alice');
    assert.deepEqual(r, { status: 'bad', contributors: ['alice', 'mallory'] });
    assert.equal(a.bytes, undefined);

    // Reset: every piece is missing and requestable again.
    assert.equal(a.missing, 3);
    const again = fetchAll(a, info, 'bob');
    assert.equal(again.status, 'done');
    assert.deepEqual(a.bytes, info);
  });

  it("answers 'bad' for a single-piece copy with the wrong bytes", () => {
    const a = new MetadataAssembler<number>(sha1(ascii('d4:name1:ae')), 11);
    assert.deepEqual(a.add(0, ascii('d4:name1:be'), 7), { status: 'bad', contributors: [7] });
    assert.equal(a.add(0, ascii('d4:name1:ae'), 8).status, 'done');
  });

  it('hands each piece to one request at a time, lowest first, until released', () => {
    const info = filler(3 * METADATA_PIECE_LENGTH);
    const a = new MetadataAssembler(sha1(info), info.length);
    assert.equal(a.nextRequest(), 0);
    assert.equal(a.nextRequest(), 1);
    assert.equal(a.nextRequest(), 2);
    assert.equal(a.nextRequest(), undefined);
    a.release(1); // the peer rejected piece 1
    a.release(7); // out of range: ignored
    assert.equal(a.nextRequest(), 1);
    assert.equal(a.nextRequest(), undefined);
    assert.equal(a.add(0, info.subarray(0, METADATA_PIECE_LENGTH)).status, 'more');
    a.release(0); // already received: stays received
    assert.equal(a.nextRequest(), undefined);
    a.release(2);
    assert.equal(a.nextRequest(), 2);
  });

  it('ignores a piece it already has, keeping the first copy', () => {
    const info = filler(METADATA_PIECE_LENGTH + 3);
    const a = new MetadataAssembler<string>(sha1(info), info.length);
    assert.equal(a.add(1, info.subarray(METADATA_PIECE_LENGTH), 'a').status, 'more');
    assert.equal(a.add(1, filler(3, 9), 'b').status, 'more');
    assert.equal(a.missing, 1);
    assert.equal(a.add(0, info.subarray(0, METADATA_PIECE_LENGTH), 'a').status, 'done');
    // After 'done' everything else is a no-op.
    assert.equal(a.add(0, filler(METADATA_PIECE_LENGTH, 5)).status, 'done');
    assert.deepEqual(a.bytes, info);
  });

  it('assembles any metadata from pieces in any order (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 * METADATA_PIECE_LENGTH }).chain((n) => fc.tuple(fc.uint8Array({ minLength: n, maxLength: n }), fc.shuffledSubarray([...Array(metadataPieceCount(n)).keys()], { minLength: metadataPieceCount(n) }))),
        ([info, order]) => {
          const a = new MetadataAssembler(sha1(info), info.length);
          let last = '';
          for (const piece of order) {
            const reply = metadataReply(info, piece);
            assert.ok(reply.type === 'data');
            last = a.add(piece, reply.data).status;
          }
          assert.equal(last, 'done');
          assert.deepEqual(a.bytes, info);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("refuses a size of 0 or over the limit with ExtensionError('bad-size')", () => {
    const hash = new Uint8Array(20);
    for (const size of [0, -1, 1.5, Number.NaN, MAX_METADATA_SIZE + 1]) {
      assert.throws(() => new MetadataAssembler(hash, size), isExtensionError('bad-size'), String(size));
    }
    assert.doesNotThrow(() => new MetadataAssembler(hash, MAX_METADATA_SIZE));
    assert.throws(() => new MetadataAssembler(hash, 1001, 1000), isExtensionError('bad-size'));
    assert.equal(new MetadataAssembler(hash, 1000, 1000).pieceCount, 1);
    assert.throws(() => new MetadataAssembler(new Uint8Array(19), 10), RangeError);
  });

  it('works with the size from a real info dictionary', () => {
    const info = encode(new Map<string, BEncodable>([['length', 1], ['name', 'a'], ['piece length', 16384], ['pieces', new Uint8Array(20)]]));
    const a = new MetadataAssembler<string>(sha1(info), info.length);
    assert.equal(fetchAll(a, info).status, 'done');
  });
});
