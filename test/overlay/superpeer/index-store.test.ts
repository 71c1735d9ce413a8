import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { matches, parseQuery, type SharedFile } from '../../../src/overlay/index.js';
import { IndexStore, KnownLeaders, wordsOf } from '../../../src/overlay/superpeer/index.js';

/*
 * A leader's index of its members' files, without any network: lookups by
 * hash and by keywords, the per-member and member caps, removing a member
 * at once, and agreement with `matches` (the rule every overlay uses) on
 * random names and queries. Also the known-leaders table: self addresses,
 * backoff and forgetting, and the order members try leaders in.
 */

const hash = (n: number): string => n.toString(16).padStart(40, '0');
const file = (n: number, name: string): SharedFile => ({ hash: hash(n), name, size: n });
const a = { host: '127.0.0.1', port: 8001 };
const b = { host: '127.0.0.1', port: 8002 };

describe('superpeer index store', () => {
  it('finds files by hash and by keywords, with the member address', () => {
    const s = new IndexStore();
    assert.equal(s.addMember('a', a), true);
    assert.equal(s.addMember('b', b), true);
    assert.equal(s.add('a', [file(1, 'Blue Moon.mp3'), file(2, 'red-sun.ogg')]), 2);
    assert.equal(s.add('b', [file(1, 'blue_moon (copy).mp3'), file(3, 'moonlight.flac')]), 2);
    assert.equal(s.fileCount, 4);

    const byHash = s.search(parseQuery(hash(1)));
    assert.deepEqual(byHash.map((x) => x.address).sort((x, y) => x.port - y.port), [a, b]);
    assert.deepEqual(s.search(parseQuery('MOON blue')).map((x) => x.name).sort(), ['Blue Moon.mp3', 'blue_moon (copy).mp3']);
    // Keywords match inside words, as `matches` does: "moon" is in "moonlight".
    assert.deepEqual(s.search(parseQuery('moon')).length, 3);
    assert.deepEqual(s.search(parseQuery('sun'))[0], { hash: hash(2), name: 'red-sun.ogg', size: 2, address: a });
    assert.deepEqual(s.search(parseQuery('green')), []);
    assert.equal(s.search(parseQuery('moon'), 2).length, 2);
  });

  it('removes a member and all its files in one call, and single files by hash', () => {
    const s = new IndexStore();
    s.addMember('a', a);
    s.addMember('b', b);
    s.add('a', [file(1, 'one'), file(2, 'two')]);
    s.add('b', [file(1, 'one')]);
    assert.equal(s.removeMember('a'), 2);
    assert.equal(s.fileCount, 1);
    assert.equal(s.memberCount, 1);
    assert.deepEqual(s.search(parseQuery('two')), []);
    assert.deepEqual(s.search(parseQuery('one')).map((x) => x.address), [b]);
    assert.equal(s.remove('b', [hash(1), hash(9)]), 1);
    assert.equal(s.fileCount, 0);
    assert.equal(s.removeMember('nobody'), 0);
  });

  it('is bounded: members, files per member, duplicates', () => {
    const s = new IndexStore({ maxMembers: 2, maxFilesPerMember: 3 });
    assert.equal(s.addMember('a', a), true);
    assert.equal(s.addMember('a', b), false);
    assert.equal(s.addMember('b', b), true);
    assert.equal(s.addMember('c', b), false);
    assert.equal(s.add('a', [file(1, 'x'), file(1, 'x'), file(2, 'y'), file(3, 'z'), file(4, 'w')]), 3);
    assert.equal(s.add('a', [file(5, 'v')]), 0);
    assert.equal(s.filesOf('a'), 3);
    assert.equal(s.add('nobody', [file(6, 'u')]), 0);
    assert.equal(s.fileCount, 3);
  });

  it('agrees with matches() on random names and queries', () => {
    const word = fc.stringMatching(/^[a-zA-Zéß0-9]{1,6}$/);
    const name = fc.array(word, { minLength: 1, maxLength: 4 }).chain((ws) => fc.constantFrom(' ', '-', '_', '.', '').map((sep) => ws.join(sep)));
    fc.assert(
      fc.property(fc.array(name, { minLength: 1, maxLength: 20 }), fc.array(word, { minLength: 1, maxLength: 2 }), (names, words) => {
        const s = new IndexStore();
        s.addMember('a', a);
        const files = names.map((n, i) => file(i + 1, n));
        s.add('a', files);
        let query;
        try {
          query = parseQuery(words.join(' '));
        } catch {
          return;
        }
        const expected = files.filter((f) => matches(f, query)).map((f) => f.hash).sort();
        assert.deepEqual(s.search(query).map((x) => x.hash).sort(), expected);
      }),
      { numRuns: 500 },
    );
  });

  it('splits names into lower-case words of letters and digits', () => {
    assert.deepEqual(wordsOf('The_Best-of (2019) Live.MP3'), ['the', 'best', 'of', '2019', 'live', 'mp3']);
    assert.deepEqual(wordsOf('a a A'), ['a']);
  });
});

describe('superpeer known leaders', () => {
  it('never lists its own addresses, and refreshes what it knows', () => {
    const k = new KnownLeaders();
    k.markSelf(a);
    k.learn({ address: a, members: 1, maxMembers: 5 }, 0);
    k.learn({ address: b, members: 1, maxMembers: 5 }, 0);
    k.learn({ address: b, members: 4, maxMembers: 5 }, 10);
    assert.deepEqual(k.list().map((l) => [l.address, l.members]), [[b, 4]]);
    // An entry with unknown capacity (0) does not overwrite a known one.
    k.learn({ address: b, members: 0, maxMembers: 0 }, 20);
    assert.equal(k.get(b)?.maxMembers, 5);
  });

  it('backs off from a leader that fails and forgets it after four failures', () => {
    const k = new KnownLeaders();
    k.learn({ address: b, members: 0, maxMembers: 5 }, 0);
    k.failed(b, 100);
    assert.equal(k.get(b)?.retryAt, 2_100);
    k.failed(b, 200);
    assert.equal(k.get(b)?.retryAt, 4_200);
    k.failed(b, 300);
    k.failed(b, 400);
    assert.equal(k.get(b), undefined);
  });

  it('orders leaders for attaching: room first, then unknown, then full; expires the old', () => {
    const k = new KnownLeaders(3);
    const c = { host: '127.0.0.1', port: 8003 };
    const d = { host: '127.0.0.1', port: 8004 };
    k.learn({ address: a, members: 5, maxMembers: 5 }, 0);
    k.learn({ address: b, members: 0, maxMembers: 0 }, 1);
    k.learn({ address: c, members: 2, maxMembers: 5 }, 2);
    assert.deepEqual(k.attachOrder(), [c, b, a]);
    assert.deepEqual(k.withRoom().map((l) => l.address), [c]);
    // Over capacity: the entry heard of longest ago goes.
    k.learn({ address: d, members: 0, maxMembers: 5 }, 3);
    assert.equal(k.get(a), undefined);
    k.expire(100, 50, (key) => key === '127.0.0.1:8003');
    assert.deepEqual(k.list().map((l) => l.address), [c]);
  });
});
