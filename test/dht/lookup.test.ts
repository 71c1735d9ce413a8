import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { ALPHA, lookup, MAX_LOOKUP_QUERIES, SLOW_MS, type LookupResult } from '../../src/dht/lookup.js';
import { commonPrefixLength, compareDistance, idHex, randomId, randomIdWithPrefix, type Contact, type NodeId } from '../../src/dht/node-id.js';
import { K } from '../../src/dht/routing-table.js';
import { ManualClock, seededRandom, type Random } from '../../src/net/index.js';

/*
 * The iterative lookup (Kademlia section 2.3) against an in-memory network:
 * a few hundred ids, each node knowing its true K closest and a few random
 * others from each of its buckets, answering find_node with the K closest to
 * the target it knows. (The random links must be spread over the buckets:
 * with only the K closest and a few random ids, the XOR "K nearest" graph
 * splits into clusters that no lookup can leave, and lookups end in the
 * wrong region. That is the structure Kademlia's buckets exist for.)
 * Answers resolve through Promise.resolve, so a lookup runs to its end in
 * microtasks; time (SLOW_MS, timeouts) moves only when the test advances the
 * ManualClock.
 */

/** Random nodes each node knows per bucket (per length of the prefix shared with its id). */
const RANDOM_PER_BUCKET = 3;
const byHex = (cs: readonly Contact[]): string[] => cs.map((c) => idHex(c.id));

class FakeNetwork {
  readonly nodes: Contact[];
  private readonly known = new Map<string, Contact[]>();

  constructor(count: number, random: Random) {
    this.nodes = Array.from({ length: count }, (_, i) => ({ id: randomId(random), host: `10.0.${i >> 8}.${i & 255}`, port: 6881 }));
    for (const n of this.nodes) {
      const near = this.closestTo(n.id, K + 1).filter((c) => c !== n);
      const byBucket = new Map<number, Contact[]>();
      for (const c of this.nodes) {
        if (c === n) continue;
        const p = commonPrefixLength(c.id, n.id);
        byBucket.set(p, [...(byBucket.get(p) ?? []), c]);
      }
      const far: Contact[] = [];
      for (const bucket of byBucket.values()) {
        for (let i = 0; i < RANDOM_PER_BUCKET && bucket.length > 0; i++) far.push(bucket.splice(Math.floor(random() * bucket.length), 1)[0]!);
      }
      this.known.set(idHex(n.id), [...new Set([...near, ...far])]);
    }
  }

  /** The true `count` closest nodes of the whole network. */
  closestTo(target: NodeId, count: number): Contact[] {
    return [...this.nodes].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, count);
  }

  /** find_node as `node` answers it: the K closest to `target` that it knows. */
  answer(node: Contact, target: NodeId): Contact[] {
    const known = this.known.get(idHex(node.id)) ?? [];
    return [...known].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, K);
  }
}

interface Run {
  readonly done: Promise<LookupResult>;
  /** Every contact asked, in order. */
  readonly asked: Contact[];
  /** The largest number of queries in flight at once. */
  maxInFlight(): number;
  result(): LookupResult | undefined;
}

/**
 * Run a lookup on `net`; `special` may answer for a node instead of the
 * network (to make it slow, fail, or never answer).
 */
function run(net: FakeNetwork, target: NodeId, start: readonly Contact[], clock: ManualClock, special: (c: Contact) => Promise<readonly Contact[]> | undefined = () => undefined): Run {
  const asked: Contact[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let result: LookupResult | undefined;
  const done = lookup({
    target,
    start,
    clock,
    query: (c) => {
      asked.push(c);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const p = special(c) ?? Promise.resolve(net.answer(c, target));
      // Registered before the lookup's own handlers, so it runs first.
      p.then(
        () => inFlight--,
        () => inFlight--,
      );
      return p;
    },
  });
  void done.then((r) => (result = r));
  return { done, asked, maxInFlight: () => maxInFlight, result: () => result };
}

/** A promise settled by the clock: rejects (a timeout) or resolves with `nodes` after `ms`. */
function after(clock: ManualClock, ms: number, nodes?: readonly Contact[]): Promise<readonly Contact[]> {
  return new Promise((resolve, reject) => {
    clock.setTimer(ms, () => (nodes === undefined ? reject(new Error('timeout')) : resolve(nodes)));
  });
}

const never = (): Promise<readonly Contact[]> => new Promise(() => undefined);

describe('lookup', () => {
  const random = seededRandom(2024);
  const net = new FakeNetwork(400, random);

  it('finds the true K closest nodes, from random starting points', async () => {
    for (let i = 0; i < 30; i++) {
      const target = randomId(random);
      const start = Array.from({ length: 3 }, () => net.nodes[Math.floor(random() * net.nodes.length)]!);
      const clock = new ManualClock();
      const r = run(net, target, start, clock);
      const result = await r.done;
      assert.deepEqual(byHex(result.closest), byHex(net.closestTo(target, K)), `target ${idHex(target)}`);
      assert.equal(clock.now(), 0, 'no time passed');
    }
  });

  it('counts its queries; asks each node once, at most ALPHA at a time', async () => {
    const queries: number[] = [];
    for (let i = 0; i < 30; i++) {
      const target = randomId(random);
      const r = run(net, target, [net.nodes[i]!], new ManualClock());
      const result = await r.done;
      assert.equal(result.queries, r.asked.length);
      assert.equal(result.failures, 0);
      assert.equal(new Set(byHex(r.asked)).size, r.asked.length, 'a node asked twice');
      assert.ok(r.maxInFlight() <= ALPHA, `${r.maxInFlight()} in flight`);
      assert.ok(result.rounds >= 1);
      queries.push(result.queries);
    }
    // A lookup among 400 nodes takes a few dozen queries, far from asking everyone.
    const mean = queries.reduce((a, b) => a + b) / queries.length;
    assert.ok(mean < 60, `mean ${mean} queries`);
    assert.ok(Math.max(...queries) <= MAX_LOOKUP_QUERIES);
  });

  it('ends at once with no starting nodes', async () => {
    const result = await lookup({ target: randomId(random), start: [], clock: new ManualClock(), query: () => Promise.reject(new Error('no')) });
    assert.deepEqual(result, { closest: [], queries: 0, failures: 0, rounds: 0 });
  });

  it('counts failures; ends empty when every node fails', async () => {
    const start = net.nodes.slice(0, 5);
    const r = run(net, randomId(random), start, new ManualClock(), () => Promise.reject(new Error('unreachable')));
    const result = await r.done;
    assert.deepEqual(result, { closest: [], queries: 5, failures: 5, rounds: 0 });
  });

  it('a node that never answers does not stall the lookup beyond SLOW_MS', async () => {
    const target = randomId(random);
    const ranked = net.closestTo(target, net.nodes.length);
    // The three closest starting nodes never answer; they are not among the K closest.
    const dead = ranked.slice(20, 23);
    const live = ranked.slice(200, 205);
    const clock = new ManualClock();
    const deadIds = new Set(byHex(dead));
    const r = run(net, target, [...live, ...dead], clock, (c) => (deadIds.has(idHex(c.id)) ? never() : undefined));
    await tick();
    assert.deepEqual(byHex(r.asked), byHex(dead), 'the three closest are asked first');
    assert.equal(r.result(), undefined, 'waiting for them');
    clock.advance(SLOW_MS - 1);
    await tick();
    assert.equal(r.asked.length, 3, 'not yet slow');
    clock.advance(1);
    await tick();
    const result = r.result();
    assert.ok(result !== undefined, 'the lookup went on without them');
    assert.deepEqual(byHex(result.closest), byHex(ranked.slice(0, K)));
    assert.equal(result.failures, 0);
    assert.equal(clock.now(), SLOW_MS);
  });

  it('a slow node among the closest is waited for, and counts when it answers', async () => {
    const target = randomId(random);
    const ranked = net.closestTo(target, net.nodes.length);
    const slow = ranked[2]!;
    const clock = new ManualClock();
    const r = run(net, target, ranked.slice(100, 103), clock, (c) => (c === slow ? after(clock, 1500, net.answer(c, target)) : undefined));
    await tick();
    assert.equal(r.result(), undefined, 'one of the K closest has not answered');
    clock.advance(SLOW_MS);
    await tick();
    assert.equal(r.result(), undefined);
    clock.advance(1500 - SLOW_MS);
    await tick();
    const result = r.result();
    assert.ok(result !== undefined);
    assert.deepEqual(byHex(result.closest), byHex(ranked.slice(0, K)));
    assert.equal(r.asked.filter((c) => c === slow).length, 1);
  });

  it('nodes among the closest that time out are counted as failures and left out', async () => {
    const target = randomId(random);
    const ranked = net.closestTo(target, net.nodes.length);
    const failing = new Set([idHex(ranked[0]!.id), idHex(ranked[4]!.id)]);
    const clock = new ManualClock();
    const r = run(net, target, ranked.slice(150, 153), clock, (c) => (failing.has(idHex(c.id)) ? after(clock, 2000) : undefined));
    await tick();
    clock.advance(SLOW_MS);
    await tick();
    assert.equal(r.result(), undefined);
    clock.advance(2000);
    await tick();
    const result = r.result();
    assert.ok(result !== undefined);
    assert.equal(result.failures, 2);
    assert.deepEqual(
      byHex(result.closest),
      byHex(ranked.slice(0, K + 2)).filter((h) => !failing.has(h)),
    );
  });

  it('reports the round trips: the depth of the deepest of the closest', async () => {
    // A chain: each node knows only the next one, closer to the target.
    const target = randomId(random);
    const chain = [1, 10, 40, 80, 120].map((p, i): Contact => ({ id: randomIdWithPrefix(target, p, random), host: '10.1.0.1', port: 1000 + i }));
    const depths = new Map<string, number>();
    const result = await lookup({
      target,
      start: [chain[0]!],
      clock: new ManualClock(),
      query: (c, depth) => {
        depths.set(idHex(c.id), depth);
        const i = chain.indexOf(c);
        return Promise.resolve(i + 1 < chain.length ? [chain[i + 1]!] : []);
      },
    });
    assert.deepEqual([...depths.values()], [1, 2, 3, 4, 5]);
    assert.equal(result.rounds, 5);
    assert.deepEqual(byHex(result.closest), byHex([...chain].reverse()));
  });

  it(`stops after MAX_LOOKUP_QUERIES (${MAX_LOOKUP_QUERIES}) queries`, async () => {
    // Every answer brings K new nodes closer than any before: the lookup would go on for ~160 levels.
    const target = randomId(random);
    let port = 0;
    const prefixOf = new Map<string, number>();
    const start: Contact = { id: randomIdWithPrefix(target, 0, random), host: '10.2.0.1', port: port++ };
    prefixOf.set(idHex(start.id), 0);
    const result = await lookup({
      target,
      start: [start],
      clock: new ManualClock(),
      query: (c) => {
        const p = Math.min(prefixOf.get(idHex(c.id))! + 1, 158);
        const out = Array.from({ length: K }, (): Contact => {
          const n = { id: randomIdWithPrefix(target, p, random), host: '10.2.0.1', port: port++ };
          prefixOf.set(idHex(n.id), p);
          return n;
        });
        return Promise.resolve(out);
      },
    });
    assert.equal(result.queries, MAX_LOOKUP_QUERIES);
    assert.equal(result.closest.length, K);
  });

  it('alpha and k are options', async () => {
    const target = randomId(random);
    const r = lookup({ target, start: net.nodes.slice(0, 10), clock: new ManualClock(), alpha: 1, k: 3, query: (c) => Promise.resolve(net.answer(c, target)) });
    const result = await r;
    assert.deepEqual(byHex(result.closest), byHex(net.closestTo(target, 3)));
  });
});
