import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode } from '../../../src/bencode/index.js';
import { OverlayError } from '../../../src/overlay/common/errors.js';
import { Fields } from '../../../src/overlay/common/fields.js';
import { FrameDecoder } from '../../../src/overlay/common/frame.js';
import { badName, decodeSource, encodeSource, matches, parseQuery, queryText, type Source } from '../../../src/overlay/common/shared.js';

const file = { hash: 'a'.repeat(40), name: 'Daft Punk - Around the World.mp3', size: 7_000_000 };

describe('queries', () => {
  it('keywords must all appear in the name, in any case; a hash matches only that content', () => {
    assert.ok(matches(file, parseQuery('daft world')));
    assert.ok(matches(file, parseQuery('  AROUND, punk! ')));
    assert.ok(!matches(file, parseQuery('daft moon')));
    assert.ok(matches(file, parseQuery('A'.repeat(40))));
    assert.ok(!matches(file, parseQuery('b'.repeat(40))));
  });

  it('the text that travels is normalized and parses back to the same query', () => {
    for (const q of ['Daft  PUNK', 'Ünïcode Straße 2', 'F'.repeat(40)]) {
      const parsed = parseQuery(q);
      assert.deepEqual(parseQuery(queryText(parsed)), parsed);
    }
    assert.equal(queryText(parseQuery('Daft  PUNK daft')), 'daft punk');
  });

  it('empty, punctuation-only and oversized queries are refused', () => {
    for (const q of ['', '   ', '!!! ---', 'x'.repeat(300)]) assert.throws(() => parseQuery(q), OverlayError);
  });
});

describe('names and sources', () => {
  it('names that could leave a folder or fool a terminal are refused', () => {
    for (const n of ['', '.', '..', 'a/b', 'a\\b', 'bell\u0007', 'x'.repeat(256)]) assert.notEqual(badName(n), undefined, n);
    for (const n of ['song.mp3', '..hidden', 'über straße.txt']) assert.equal(badName(n), undefined, n);
  });

  it('a source round-trips through its wire form, and a hostile one is refused', () => {
    const s: Source = { ...file, address: { host: '192.168.1.7', port: 8080 } };
    const read = (v: unknown) => {
      const d = new FrameDecoder().push(frame(encode({ t: 'x', s: v as never })))[0]!;
      const f = new Fields(d, 'hit');
      return decodeSource(f, d.get('s')!);
    };
    assert.deepEqual(read(encodeSource(s)), s);
    assert.throws(() => read({ ...encodeSource(s), n: '../../etc/passwd' }), /file name that holds a slash/);
    assert.throws(() => read({ ...encodeSource(s), h: new Uint8Array(19) }), /"h" of 19 bytes/);
    assert.throws(() => read({ ...encodeSource(s), s: -1 }), /"s" that is not an integer/);
  });
});

function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}
