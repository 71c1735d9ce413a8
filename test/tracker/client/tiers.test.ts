import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../../../src/net/index.js';
import { shuffle, TrackerTiers, type AnnounceParams, type AnnounceResult, type TrackerClient } from '../../../src/tracker/client/index.js';
import { TrackerError } from '../../../src/tracker/errors.js';
import { id20, utf8 } from './fakes.js';

const params: AnnounceParams = { infoHash: id20(1), peerId: id20(2), port: 1, uploaded: 0, downloaded: 0, left: 0 };
/** A random source that always says 0.999...: Fisher-Yates then leaves the order as it is. */
const noShuffle = () => 0.999999;

/** Fake trackers: `up` lists the URLs that answer; every announce is logged with the params it got. */
function world(up: Set<string>) {
  const log: { url: string; params: AnnounceParams }[] = [];
  const open = (url: string): TrackerClient | undefined =>
    url.startsWith('wss:')
      ? undefined
      : {
          url,
          announce: async (p) => {
            log.push({ url, params: p });
            if (!up.has(url)) throw new TrackerError(url.includes('refuse') ? 'failure' : 'timeout', `${url} is down`);
            return { interval: 60, peers: [], ...(url.includes('tid') && { trackerId: utf8(`id-of-${url}`) }) } satisfies AnnounceResult;
          },
          scrape: async (hashes) => {
            if (!up.has(url)) throw new Error('plain Error from a misbehaving client');
            return hashes.map((infoHash) => ({ infoHash, complete: 1, downloaded: 2, incomplete: 3 }));
          },
        };
  return { log, open, tried: () => log.splice(0).map((e) => e.url) };
}

test('shuffle is Fisher-Yates over the injected random source, and a permutation', () => {
  assert.deepEqual(shuffle(['a', 'b', 'c'], noShuffle), ['a', 'b', 'c']);
  assert.deepEqual(shuffle(['a', 'b', 'c'], () => 0), ['b', 'c', 'a']);
  const r = seededRandom(42);
  for (let i = 0; i < 50; i++) assert.deepEqual(shuffle(['a', 'b', 'c', 'd', 'e'], r).sort(), ['a', 'b', 'c', 'd', 'e']);
  // Same seed, same order: the tier order is reproducible.
  assert.deepEqual(shuffle([1, 2, 3, 4, 5, 6, 7, 8], seededRandom(7)), shuffle([1, 2, 3, 4, 5, 6, 7, 8], seededRandom(7)));
});

test('tiers are shuffled within, never across; empty tiers and repeated URLs dropped', () => {
  const w = world(new Set());
  const t = new TrackerTiers([['a', 'b', 'c'], [], ['d', 'a', 'e']], { random: () => 0, open: w.open });
  assert.deepEqual(t.tiers, [['b', 'c', 'a'], ['e', 'd']]);
});

test('BEP 12: try in order, fall to the next tier, the one that answers moves to the front of its tier', async () => {
  const up = new Set(['c']);
  const w = world(up);
  const t = new TrackerTiers([['a', 'b', 'c'], ['d', 'e']], { random: noShuffle, open: w.open });
  const r = await t.announce(params);
  assert.equal(r.url, 'c');
  assert.deepEqual(r.failed.map((f) => [f.url, f.error.code]), [['a', 'timeout'], ['b', 'timeout']]);
  assert.deepEqual(w.tried(), ['a', 'b', 'c']);
  assert.deepEqual(t.tiers, [['c', 'a', 'b'], ['d', 'e']]);
  // Next time c is asked first.
  await t.announce(params);
  assert.deepEqual(w.tried(), ['c']);
  // The whole first tier goes down: the second tier is used, and its answering tracker promoted there.
  up.clear();
  up.add('e');
  assert.equal((await t.announce(params)).url, 'e');
  assert.deepEqual(w.tried(), ['c', 'a', 'b', 'd', 'e']);
  assert.deepEqual(t.tiers, [['c', 'a', 'b'], ['e', 'd']]);
  // The first tier is still tried first next time (BEP 12 keeps the tier order).
  up.add('b');
  assert.equal((await t.announce(params)).url, 'b');
  assert.deepEqual(t.tiers, [['b', 'c', 'a'], ['e', 'd']]);
});

test('every tracker failing is a TrackerError naming each; unsupported URLs count as failures', async () => {
  const w = world(new Set());
  const t = new TrackerTiers([['wss://x/announce', 'refuse-a'], ['b']], { random: noShuffle, open: w.open });
  await assert.rejects(t.announce(params), (e: unknown) => e instanceof TrackerError && e.code === 'timeout' && /wss:\/\/x.*refuse-a.*b is down/.test(e.message));
  await assert.rejects(new TrackerTiers([], { random: noShuffle, open: w.open }).announce(params), (e: unknown) => e instanceof TrackerError && e.code === 'bad-param');
});

test('a client that throws a plain Error still yields TrackerErrors; scrape follows the same order', async () => {
  const w = world(new Set(['b']));
  const t = new TrackerTiers([['a', 'b']], { random: noShuffle, open: w.open });
  const r = await t.scrape([id20(5)]);
  assert.equal(r.url, 'b');
  assert.ok(r.failed[0]!.error instanceof TrackerError);
  assert.deepEqual(r.result, [{ infoHash: id20(5), complete: 1, downloaded: 2, incomplete: 3 }]);
  assert.deepEqual(t.tiers, [['b', 'a']]);
});

test('the tracker id (BEP 3) is remembered per tracker and sent back only to that tracker', async () => {
  const up = new Set(['tid-a']);
  const w = world(up);
  const t = new TrackerTiers([['tid-a', 'plain-b']], { random: noShuffle, open: w.open });
  await t.announce(params);
  assert.equal(w.log[0]!.params.trackerId, undefined);
  await t.announce(params);
  assert.deepEqual(w.log[1]!.params.trackerId, utf8('id-of-tid-a'));
  assert.deepEqual(t.trackerId('tid-a'), utf8('id-of-tid-a'));
  up.clear();
  up.add('plain-b');
  w.log.length = 0;
  await t.announce(params);
  assert.deepEqual(w.log.map((e) => [e.url, e.params.trackerId === undefined]), [['tid-a', false], ['plain-b', true]]);
});

test('an aborted announce stops walking the tiers', async () => {
  const w = world(new Set(['b']));
  const t = new TrackerTiers([['a', 'b']], { random: noShuffle, open: w.open });
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(t.announce(params, { signal: controller.signal }), (e: unknown) => e instanceof TrackerError && e.code === 'network');
  assert.deepEqual(w.tried(), []);
});
