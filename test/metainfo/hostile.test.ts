import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encode, type BEncodable } from '../../src/bencode/index.js';
import { MetainfoError, parseTorrent } from '../../src/metainfo/index.js';
import { bytesOf, multiInfo, singleInfo, torrentBytes } from './fixtures.js';
import { hostileCorpus } from './hostile-corpus.js';

function parsesOrMetainfoError(bytes: Uint8Array): void {
  try {
    const m = parseTorrent(bytes);
    // Whatever got through is safe to join under a download folder.
    for (const f of m.files) for (const c of [m.name, ...f.path]) assert.ok(c !== '' && c !== '.' && c !== '..' && !/[/\\\0]/.test(c) && !/^[A-Za-z]:/.test(c), c);
  } catch (e) {
    if (!(e instanceof MetainfoError)) throw e;
  }
}

describe('hostile .torrent input', () => {
  for (const [name, bytes] of hostileCorpus) {
    it(`refuses ${name} with a MetainfoError`, () => {
      assert.throws(() => parseTorrent(bytes), MetainfoError);
    });
  }

  it('mutated valid torrents parse or give a MetainfoError (property)', () => {
    const seeds = [
      torrentBytes(singleInfo(bytesOf(40_000))),
      torrentBytes(multiInfo([{ path: ['a', 'b'], data: bytesOf(100) }, { path: ['c'], data: bytesOf(20_000) }]), { 'announce-list': [['http://x/']] }),
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.option(fc.nat()),
        (seed, flips, cut) => {
          const bytes = seed.slice();
          for (const [at, value] of flips) bytes[at % bytes.length] = value;
          parsesOrMetainfoError(cut === null ? bytes : bytes.subarray(0, cut % bytes.length));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('structurally random info dictionaries parse or give a MetainfoError (property)', () => {
    const anyValue: fc.Arbitrary<BEncodable> = fc.oneof(
      fc.integer({ min: -5, max: 1 << 20 }),
      fc.constantFrom('..', '.', '', 'a/b', 'x\0y', 'ok', '/abs'),
      fc.uint8Array({ maxLength: 60 }),
      fc.array(fc.constantFrom('..', 'a', '', '.', 'b/c', 'ok'), { maxLength: 4 }),
    );
    const fileArb = fc.record({ length: anyValue, path: anyValue }, { requiredKeys: [] });
    const infoArb = fc.record(
      {
        name: anyValue,
        'piece length': fc.oneof(anyValue, fc.constant(16384)),
        pieces: fc.oneof(anyValue, fc.uint8Array({ minLength: 20, maxLength: 20 })),
        length: anyValue,
        files: fc.array(fileArb, { maxLength: 4 }),
        private: anyValue,
      },
      { requiredKeys: [] },
    );
    fc.assert(fc.property(infoArb, (info) => parsesOrMetainfoError(encode({ info: info as BEncodable }))), { numRuns: 2000 });
  });
});
