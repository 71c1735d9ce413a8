import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ManualClock, tcpTransport, type Endpoint } from '../../../src/net/index.js';
import { parseQuery, type SharedFile, type Source } from '../../../src/overlay/index.js';
import { superPeerCodec, SuperPeerLeader, type SuperPeerLeaderOptions, type SuperPeerMessage } from '../../../src/overlay/superpeer/index.js';
import { HOST, RawPeer, searchUntil, until } from './helpers.js';

/*
 * A leader against peers that follow the format but not the spirit: a
 * stranger that says hello with the id of a leader already linked (the id is
 * no secret: a leader says it in every hello), two leaders that dial each
 * other at once (which must still end with one link), a member without a
 * files port that sends `add`s anyway, a link that sends hits for queries it
 * was never sent, and searchers that send queries faster than the rate limit
 * or with fresh ids to push the searches in progress out of the table.
 */

type Of<T extends SuperPeerMessage['t']> = Extract<SuperPeerMessage, { t: T }>;
const is =
  <T extends SuperPeerMessage['t']>(t: T) =>
  (m: SuperPeerMessage): m is Of<T> =>
    m.t === t;

const quiet = { announceMs: 600_000, pingMs: 600_000 };
const hash = (n: number): string => n.toString(16).padStart(40, '0');
const song: SharedFile = { hash: hash(1), name: 'quiet song.mp3', size: 1234 };
const qid = (n: number): string => n.toString(16).padStart(32, '0');
const fakeSource = (port: number): Source => ({ hash: hash(7), name: 'forged.txt', size: 7, address: { host: HOST, port } });

describe('superpeer leader against abuse', () => {
  const closers: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });
  const leader = async (options: SuperPeerLeaderOptions): Promise<{ leader: SuperPeerLeader; at: Endpoint }> => {
    const l = new SuperPeerLeader({ transport: tcpTransport, ...quiet, ...options });
    closers.push(() => l.close());
    return { leader: l, at: await l.listen(HOST, 0) };
  };
  const raw = async (at: Endpoint): Promise<RawPeer> => {
    const r = await RawPeer.open(at);
    // Closed before the leaders (pushed later, so run earlier).
    closers.push(() => r.close());
    return r;
  };
  /** A raw connection that poses as a leader linked to `at`. */
  const fakeLink = async (at: Endpoint, n: number): Promise<RawPeer> => {
    const r = await raw(at);
    r.send({ t: 'link', id: qid(n), port: 40_000 + n, members: 0, maxMembers: 10 });
    await r.next(is('link'), 'the hello back');
    return r;
  };

  it('keeps an established link when a stranger says hello with the linked leader\u2019s id', async () => {
    // Fixed ids: b's is the smaller, and a dials b, which is the case the old tie-break got wrong.
    const { leader: a, at: aAt } = await leader({ random: () => 0.9 });
    const { leader: b, at: bAt } = await leader({ random: () => 0.1, files: [song], filesPort: 7001 });
    assert.ok(b.id < a.id);
    assert.equal(await a.link([bAt]), 1);
    await until(() => a.stats().links === 1 && b.stats().links === 1, 'a and b are linked');

    for (const [to, claimed] of [
      [aAt, b.id],
      [bAt, a.id],
    ] as const) {
      const r = await raw(to);
      r.send({ t: 'link', id: claimed, port: 40_009, members: 0, maxMembers: 10 });
      await until(() => r.closed, 'the impostor is refused');
      assert.ok(
        r.received.some((m) => m.t === 'bye' && m.reason === 'already linked'),
        JSON.stringify(r.received),
      );
      assert.equal(r.received.some((m) => m.t === 'link'), false, 'no hello back to the impostor');
    }
    assert.equal(a.stats().links, 1);
    assert.equal(b.stats().links, 1);
    // The real link still carries queries and hits.
    const hits = await searchUntil((q, o) => a.search(q, o), parseQuery('quiet song'), 2, (h) => h.length > 0);
    assert.deepEqual(
      hits.map((h) => h.source.address),
      [{ host: HOST, port: 7001 }],
    );
  });

  it('ends with one link per pair when two leaders dial each other at once', async () => {
    for (let i = 0; i < 4; i++) {
      const { leader: x, at: xAt } = await leader({});
      const { leader: y, at: yAt } = await leader({ files: [song], filesPort: 7100 + i });
      await Promise.all([x.link([yAt]), y.link([xAt])]);
      await until(() => x.stats().links === 1 && y.stats().links === 1, `pair ${i} is linked`);
      await sleep(50);
      assert.deepEqual([x.stats().links, y.stats().links], [1, 1], `pair ${i} kept one link`);
      // No link was lost and dialled again: at most a hello each way on each of the two connections.
      assert.ok(x.stats().sent.link! + y.stats().sent.link! <= 4, `pair ${i}: ${x.stats().sent.link} + ${y.stats().sent.link} hellos`);
      const hits = await searchUntil((q, o) => x.search(q, o), parseQuery(song.hash), 2, (h) => h.length > 0);
      assert.deepEqual(
        hits.map((h) => h.source.address.port),
        [7100 + i],
      );
    }
  });

  it('indexes nothing from a member that gave no files port, not even its later adds', async () => {
    const { leader: l, at } = await leader({});
    const m = await raw(at);
    m.send({ t: 'join', filesPort: 0, files: [] });
    await m.next(is('welcome'), 'the welcome');
    m.send({ t: 'add', files: [{ hash: hash(9), name: 'sneaky.txt', size: 1 }] });
    await m.barrier();
    assert.equal(l.stats().members, 1);
    assert.equal(l.stats().files, 0);
    const s = await raw(at);
    s.send({ t: 'query', id: qid(1), ttl: 1, hops: 0, query: parseQuery('sneaky') });
    await s.barrier();
    assert.deepEqual(s.received.filter(is('hit')), [], 'no source at a placeholder address');
    assert.equal(m.closed, false);
  });

  it('takes hits only from the links a query was sent to', async () => {
    const { leader: l, at } = await leader({ maxTtl: 5 });
    const a = await fakeLink(at, 1);
    const b = await fakeLink(at, 2);
    const s = await raw(at);
    await until(() => l.stats().links === 2, 'both fake links are up');
    const dropped = l.stats().droppedHits;

    // TTL 1: the query goes to no link, so no link may answer it.
    s.send({ t: 'query', id: qid(10), ttl: 1, hops: 0, query: parseQuery('forged') });
    await s.barrier();
    a.send({ t: 'hit', id: qid(10), hops: 1, sources: [fakeSource(7201)] });
    await a.barrier();
    assert.equal(l.stats().droppedHits, dropped + 1);

    // From link a with TTL 2: sent on to b only. a's own hit is dropped, b's goes back to a.
    a.send({ t: 'query', id: qid(11), ttl: 2, hops: 1, query: parseQuery('forged') });
    await b.next((m): m is Of<'query'> => m.t === 'query' && m.id === qid(11), 'the query forwarded to b');
    a.send({ t: 'hit', id: qid(11), hops: 1, sources: [fakeSource(7202)] });
    await a.barrier();
    assert.equal(l.stats().droppedHits, dropped + 2);
    b.send({ t: 'hit', id: qid(11), hops: 2, sources: [fakeSource(7203)] });
    const back = await a.next((m): m is Of<'hit'> => m.t === 'hit' && m.id === qid(11), 'b\u2019s hit relayed to a');
    assert.deepEqual(back.sources, [fakeSource(7203)]);

    await s.barrier();
    assert.deepEqual(s.received.filter(is('hit')), [], 'the searcher got no forged hit');
    assert.equal(a.received.filter(is('hit')).length, 1);
  });

  it('rate-limits the queries of each connection on its clock, and closes one far over the limit', async () => {
    const clock = new ManualClock();
    const { leader: l, at } = await leader({ clock, files: [song], filesPort: 7300 });
    const burst = (r: RawPeer, from: number, n: number): void =>
      r.write(Buffer.concat(Array.from({ length: n }, (_, i) => superPeerCodec.encode({ t: 'query', id: qid(from + i), ttl: 1, hops: 0, query: parseQuery('quiet') }))));

    // 20 a second, 40 at once: 40 of 60 answered, 20 dropped, still connected.
    const s = await raw(at);
    burst(s, 1000, 60);
    await s.barrier();
    assert.equal(s.received.filter(is('hit')).length, 40);
    assert.equal(l.stats().droppedQueries, 20);
    assert.equal(s.closed, false);
    // Tokens come back with time: one second later, 20 more.
    clock.advance(1_000);
    burst(s, 2000, 25);
    await s.barrier();
    assert.equal(s.received.filter(is('hit')).length, 60);
    assert.equal(l.stats().droppedQueries, 25);
    // Far over the limit (more than a burst's worth of excess at once): closed.
    burst(s, 3000, 60);
    await until(() => s.closed, 'the flooder is closed');
    assert.equal(l.stats().droppedQueries, 25 + 36);

    // Every connection has its own bucket; a link's is ten times larger.
    const other = await raw(at);
    burst(other, 4000, 5);
    await other.barrier();
    assert.equal(other.received.filter(is('hit')).length, 5);
    const link = await fakeLink(at, 3);
    burst(link, 5000, 410);
    await link.barrier();
    assert.equal(l.stats().droppedQueries, 61 + 10);
    assert.equal(link.closed, false);
  });

  it('keeps its own searches and relayed ones when a stranger sends many fresh query ids', async () => {
    const { leader: l, at } = await leader({ maxTtl: 5, seenCapacity: 30 });
    const a = await fakeLink(at, 1);
    const b = await fakeLink(at, 2);
    await until(() => l.stats().links === 2, 'both fake links are up');
    // A search relayed from a to b, and one of the leader's own, both in progress.
    a.send({ t: 'query', id: qid(20), ttl: 2, hops: 1, query: parseQuery('forged') });
    await b.next((m): m is Of<'query'> => m.t === 'query' && m.id === qid(20), 'the relayed query at b');
    const stop = new AbortController();
    const ownHits: Source[] = [];
    const own = l.search(parseQuery('forged'), { ttl: 2, waitMs: 10_000, signal: stop.signal, onHit: (x) => ownHits.push(x) });
    const ownQuery = await b.next((m): m is Of<'query'> => m.t === 'query' && m.id !== qid(20), 'the leader\u2019s own query at b');

    // A searcher sends 40 fresh ids (within its burst), more than the whole table holds.
    const s = await raw(at);
    s.write(Buffer.concat(Array.from({ length: 40 }, (_, i) => superPeerCodec.encode({ t: 'query', id: qid(100 + i), ttl: 1, hops: 0, query: parseQuery('nothing here') }))));
    await s.barrier();
    assert.equal(l.stats().droppedQueries, 0);

    b.send({ t: 'hit', id: qid(20), hops: 2, sources: [fakeSource(7401)] });
    b.send({ t: 'hit', id: ownQuery.id, hops: 1, sources: [fakeSource(7402)] });
    const relayed = await a.next((m): m is Of<'hit'> => m.t === 'hit' && m.id === qid(20), 'the relayed hit back at a');
    assert.deepEqual(relayed.sources, [fakeSource(7401)]);
    await until(() => ownHits.length === 1, 'the own search got its hit');
    stop.abort();
    assert.deepEqual((await own).hits.map((h) => h.source), [fakeSource(7402)]);
  });
});
