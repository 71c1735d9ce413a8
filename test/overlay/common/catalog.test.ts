import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { matches, parseQuery, sourceKey, type Query, type SharedFile } from '../../../src/overlay/index.js';
import { Catalog } from '../../../src/overlay/common/catalog.js';

/*
 * The catalog (the directory's and each leader's index) gives exactly what a scan with `matches()` (the
 * rule every overlay uses) gives, whatever the names and queries, and
 * forgets a peer's files completely when the peer goes.
 */

const hashOf = (i: number): string => i.toString(16).padStart(40, '0');

describe('the catalog (the index of the directory and of each leader)', () => {
  it('finds by keyword inside words, any case, all keywords required', () => {
    const c = new Catalog();
    const a = c.newListing({ host: '127.0.0.1', port: 1000 });
    c.add(a, { hash: hashOf(1), name: 'Abbey_Road-Come.Together.MP3', size: 1 });
    c.add(a, { hash: hashOf(2), name: 'Together Alone.flac', size: 2 });
    c.add(a, { hash: hashOf(3), name: 'readme.txt', size: 3 });
    const names = (q: string): string[] => c.find(parseQuery(q), 10).sources.map((s) => s.name).sort();
    assert.deepEqual(names('together'), ['Abbey_Road-Come.Together.MP3', 'Together Alone.flac']);
    assert.deepEqual(names('GETH mp3'), ['Abbey_Road-Come.Together.MP3']);
    assert.deepEqual(names('road alone'), []);
    assert.deepEqual(names('me'), ['Abbey_Road-Come.Together.MP3', 'readme.txt']);
    assert.deepEqual(names(hashOf(3)), ['readme.txt']);
  });

  it('lists a file once per address, and says when it left matches out', () => {
    const c = new Catalog();
    const a = c.newListing({ host: '127.0.0.1', port: 1000 });
    const same = c.newListing({ host: '127.0.0.1', port: 1000 });
    const b = c.newListing({ host: '127.0.0.2', port: 1000 });
    const f: SharedFile = { hash: hashOf(9), name: 'x.bin', size: 9 };
    assert.equal(c.add(a, f), true);
    assert.equal(c.add(a, { ...f, name: 'other name.bin' }), false);
    c.add(same, f);
    c.add(b, f);
    assert.equal(c.files, 3);
    const all = c.find(parseQuery(f.hash), 10);
    assert.deepEqual(all.sources.map((s) => s.address.host), ['127.0.0.1', '127.0.0.2']);
    assert.equal(all.truncated, false);
    const one = c.find(parseQuery('x'), 1);
    assert.equal(one.sources.length, 1);
    assert.equal(one.truncated, true);
    c.clear(a);
    c.clear(same);
    c.clear(b);
    assert.equal(c.files, 0);
    assert.deepEqual(c.find(parseQuery('x'), 10).sources, []);
  });

  it('gives what a scan with matches() gives (property)', () => {
    const word = fc.stringMatching(/^[a-zA-Z0-9éÉß]{1,6}$/);
    const name = fc.array(word, { minLength: 1, maxLength: 4 }).chain((ws) => fc.constantFrom(' ', '.', '_', '-').map((sep) => ws.join(sep)));
    const peers = fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), name), { maxLength: 8 }), { minLength: 1, maxLength: 4 });
    const queries = fc.array(fc.oneof(fc.array(word, { minLength: 1, maxLength: 2 }).map((ws) => ws.join(' ')), fc.integer({ min: 0, max: 20 }).map(hashOf)), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(peers, queries, fc.integer({ min: 0, max: 3 }), (listed, texts, gone) => {
        const c = new Catalog();
        const all: { file: SharedFile; port: number; peer: number }[] = [];
        const listings = listed.map((files, p) => {
          const l = c.newListing({ host: '127.0.0.1', port: 1000 + p });
          for (const [h, n] of files) if (c.add(l, { hash: hashOf(h), name: n, size: h })) all.push({ file: { hash: hashOf(h), name: n, size: h }, port: 1000 + p, peer: p });
          return l;
        });
        const left = listings[gone];
        if (left !== undefined) c.clear(left);
        const expected = (q: Query): string[] => all.filter((e) => e.peer !== gone && matches(e.file, q)).map((e) => sourceKey({ ...e.file, address: { host: '127.0.0.1', port: e.port } })).sort();
        for (const t of texts) {
          const q = parseQuery(t);
          const got = c.find(q, 1000);
          assert.deepEqual(got.sources.map(sourceKey).sort(), expected(q));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('the cost of one search', () => {
  it('examines at most 20,000 candidates, and says the answer may be incomplete', () => {
    const c = new Catalog();
    const a = c.newListing({ host: '127.0.0.1', port: 1000 });
    // Two broad words, never together: a search for both would otherwise check 25,000 names to find nothing.
    for (let i = 0; i < 25_000; i++) {
      c.add(a, { hash: hashOf(2 * i + 1), name: `left ${i}.txt`, size: 1 });
      c.add(a, { hash: hashOf(2 * i + 2), name: `right ${i}.txt`, size: 1 });
    }
    const both = c.find(parseQuery('left right'), 200);
    assert.deepEqual(both.sources, []);
    assert.equal(both.truncated, true);
    assert.ok(both.examined <= 20_000, `${both.examined} examined`);
    // A selective keyword is still answered completely.
    const one = c.find(parseQuery('left 12345'), 200);
    assert.deepEqual(
      one.sources.map((s) => s.name),
      ['left 12345.txt'],
    );
    assert.equal(one.truncated, false);
    assert.ok(one.examined <= 20, `${one.examined} examined`);
  });

  it('the bound is an option, and a hash search is bounded too', () => {
    const c = new Catalog({ maxExamined: 10 });
    const f: SharedFile = { hash: hashOf(1), name: 'same.bin', size: 1 };
    for (let p = 0; p < 30; p++) c.add(c.newListing({ host: '127.0.0.1', port: 2000 + p }), f);
    const found = c.find(parseQuery(f.hash), 200);
    assert.equal(found.sources.length, 10);
    assert.equal(found.truncated, true);
    assert.equal(found.examined, 10);
    assert.equal(c.find(parseQuery('same'), 200).sources.length, 10);
  });
});
