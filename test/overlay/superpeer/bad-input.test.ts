import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encode } from '../../../src/bencode/index.js';
import { tcpTransport, type Endpoint } from '../../../src/net/index.js';
import { parseQuery, type SharedFile } from '../../../src/overlay/index.js';
import { SuperPeerLeader, SuperPeerMember, type SuperPeerMessage } from '../../../src/overlay/superpeer/index.js';
import { HOST, RawPeer, searchUntil, until } from './helpers.js';

/*
 * A leader on a real loopback socket against peers that break the rules:
 * garbage, a frame length over the limit, a join of 20,000 files, a message
 * that makes no sense before joining, a replayed query id, a hit for a
 * query nobody asked, and a TTL far over the maximum. Each bad connection
 * is dropped or its message ignored, nothing else is touched, and the
 * leader answers a normal search afterwards.
 */

type Of<T extends SuperPeerMessage['t']> = Extract<SuperPeerMessage, { t: T }>;
const is =
  <T extends SuperPeerMessage['t']>(t: T) =>
  (m: SuperPeerMessage): m is Of<T> =>
    m.t === t;

const quiet = { announceMs: 600_000, pingMs: 600_000 };
const hash = (n: number): string => n.toString(16).padStart(40, '0');
const song: SharedFile = { hash: hash(1), name: 'quiet song.mp3', size: 1234 };

function frame(message: Parameters<typeof encode>[0]): Uint8Array {
  const body = encode(message);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

describe('superpeer leader against bad input', () => {
  let leader: SuperPeerLeader;
  let at: Endpoint;
  let member: SuperPeerMember;
  const raws: RawPeer[] = [];
  const raw = async (): Promise<RawPeer> => {
    const r = await RawPeer.open(at);
    raws.push(r);
    return r;
  };

  before(async () => {
    leader = new SuperPeerLeader({ transport: tcpTransport, maxTtl: 5, ...quiet });
    at = await leader.listen(HOST, 0);
    member = new SuperPeerMember({ transport: tcpTransport, files: [song], filesPort: 8765, pingMs: 600_000 });
    await member.attach([at]);
  });

  after(async () => {
    for (const r of raws) r.close();
    await member.close();
    await leader.close();
  });

  it('drops a connection that sends garbage', async () => {
    const r = await raw();
    r.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await until(() => r.closed, 'the garbage sender is dropped');
  });

  it('drops a connection that announces a frame over the size limit', async () => {
    const r = await raw();
    r.write(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x64));
    await until(() => r.closed, 'the oversized frame sender is dropped');
  });

  it('drops a join of 20,000 files and indexes none of them', async () => {
    const r = await raw();
    const files = Array.from({ length: 20_000 }, (_, i) => ({ h: Buffer.from(hash(i + 100), 'hex'), n: `f${i}`, s: i }));
    r.write(frame({ t: 'join', fp: 9999, c: 0, f: files }));
    await until(() => r.closed, 'the join is refused');
    // The same, small enough for a frame but over the 1000 files of a batch.
    const r2 = await raw();
    r2.write(frame({ t: 'join', fp: 9999, c: 0, f: files.slice(0, 1001) }));
    await until(() => r2.closed, 'the 1001-file join is refused');
    assert.equal(leader.stats().files, 1);
    assert.equal(leader.stats().members, 1);
  });

  it('drops a connection that sends an index update without joining', async () => {
    const r = await raw();
    r.send({ t: 'add', files: [{ hash: hash(5), name: 'sneaky.txt', size: 1 }] });
    await until(() => r.closed, 'the add before join is refused');
    assert.equal(leader.stats().files, 1);
  });

  it('answers a query id once: a replay is dropped as a duplicate', async () => {
    const r = await raw();
    const id = 'cd'.repeat(16);
    const before = leader.stats().duplicates;
    r.send({ t: 'query', id, ttl: 1, hops: 0, query: parseQuery('quiet') });
    const hit = await r.next(is('hit'), 'a hit');
    assert.deepEqual(hit.sources.map((s) => s.name), ['quiet song.mp3']);
    r.send({ t: 'query', id, ttl: 1, hops: 0, query: parseQuery('quiet') });
    await r.barrier();
    assert.equal(r.received.filter((m) => m.t === 'hit').length, 1);
    assert.equal(leader.stats().duplicates, before + 1);
  });

  it('ignores a hit for a query it never forwarded, and lowers a huge TTL', async () => {
    // Two raw connections pose as leaders linked to this one.
    const a = await raw();
    const b = await raw();
    a.send({ t: 'link', id: '01'.repeat(16), port: 40001, members: 0, maxMembers: 10 });
    b.send({ t: 'link', id: '02'.repeat(16), port: 40002, members: 0, maxMembers: 10 });
    await a.next(is('link'), 'the hello back to a');
    await b.next(is('link'), 'the hello back to b');
    await until(() => leader.stats().links === 2, 'both links are up');

    const dropped = leader.stats().droppedHits;
    a.send({ t: 'hit', id: 'ee'.repeat(16), hops: 1, sources: [{ ...song, hash: hash(7), address: { host: HOST, port: 1 } }] });
    await a.barrier();
    assert.equal(leader.stats().droppedHits, dropped + 1);
    assert.equal(a.closed, false, 'a late hit is not a reason to drop a link');

    const id = 'ab'.repeat(16);
    a.send({ t: 'query', id, ttl: 1_000_000, hops: 1, query: parseQuery('quiet song') });
    const hit = await a.next(is('hit'), 'a hit back to a');
    assert.equal(hit.hops, 1);
    assert.deepEqual(hit.sources, [{ ...song, address: { host: HOST, port: 8765 } }]);
    const forwarded = await b.next(is('query'), 'the query forwarded to b');
    assert.deepEqual([forwarded.id, forwarded.ttl, forwarded.hops], [id, 4, 2], 'ttl lowered to maxTtl (5), minus one');
    assert.equal(a.received.some((m) => m.t === 'query'), false, 'not sent back to where it came from');
    a.close();
    b.close();
    await until(() => leader.stats().links === 0, 'the fake links are gone');
  });

  it('still answers a normal search afterwards', async () => {
    const searcher = new SuperPeerMember({ transport: tcpTransport, pingMs: 600_000 });
    try {
      await searcher.attach([at]);
      const hits = await searchUntil((q, o) => searcher.search(q, o), parseQuery(song.hash), 3, (h) => h.length > 0);
      assert.deepEqual(
        hits.map((h) => h.source),
        [{ ...song, address: { host: HOST, port: 8765 } }],
      );
      assert.equal(leader.closed, false);
    } finally {
      await searcher.close();
    }
  });
});
