import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Session } from '../../src/engine/index.js';
import { parseTorrent, type Metainfo } from '../../src/metainfo/index.js';
import { seededRandom } from '../../src/net/index.js';
import { MemoryStore } from '../../src/storage/index.js';
import type { Message } from '../../src/wire/index.js';
import { bytesOf, singleInfo, torrentBytes } from '../metainfo/fixtures.js';
import { rawPeer } from './raw-peer.js';

/*
 * What a peerkit seed puts on the wire, seen by a scripted peer over
 * loopback TCP: the answers other clients rely on (BEP 3, BEP 6 fast
 * extension, BEP 16 super-seeding), including to peers that do not behave
 * like peerkit.
 */

const BLOCK = 16 * 1024;
const sessions: Session[] = [];
after(async () => {
  for (const s of sessions) await s.close();
});

async function seed(superSeed: boolean): Promise<{ port: number; m: Metainfo }> {
  const data = bytesOf(1024 * 1024, 9);
  const m = parseTorrent(torrentBytes(singleInfo(data, 64 * 1024))); // 16 pieces of 4 blocks
  const s = await Session.start({ random: seededRandom(3) }, { host: '127.0.0.1', port: 0 });
  sessions.push(s);
  await s.add(m, { store: MemoryStore.from(m.layout, data), trackers: false, dht: false, assumeComplete: true, superSeed });
  return { port: s.port, m };
}

const haves = (ms: readonly Message[]): number[] => ms.flatMap((x) => (x.type === 'have' ? [x.index] : []));
const blocksOf = (ms: readonly Message[], index: number): number => ms.filter((x) => x.type === 'piece' && x.index === index).length;
const requestAll = (send: (m: Message) => void, index: number): void => {
  for (let b = 0; b < 4; b++) send({ type: 'request', index, begin: b * BLOCK, length: BLOCK });
};

describe('a seed on the wire', () => {
  it('answers a request from a peer it chokes with a reject of that very block (BEP 6)', async () => {
    const { port, m } = await seed(false);
    const p = rawPeer(port, m);
    assert.ok(await p.waitFor((ms) => ms.some((x) => x.type === 'have-all')), 'a fast seed says have-all');
    // Not interested, so still choked: the request must be refused, as a reject, not echoed back as a request.
    p.send({ type: 'request', index: 3, begin: BLOCK, length: BLOCK });
    assert.ok(await p.waitFor((ms) => ms.some((x) => x.type === 'reject')));
    assert.deepEqual(
      p.messages.filter((x) => x.type === 'reject' || x.type === 'request'),
      [{ type: 'reject', index: 3, begin: BLOCK, length: BLOCK }],
    );
    p.close();
  });
});

describe('a super-seeder on the wire (BEP 16)', () => {
  it('says have-none, offers a piece or two, refuses the others, serves the offered ones', async () => {
    const { port, m } = await seed(true);
    const p = rawPeer(port, m);
    p.send({ type: 'have-none' });
    assert.ok(await p.waitFor((ms) => haves(ms).length >= 2));
    assert.ok(p.messages.some((x) => x.type === 'have-none') && !p.messages.some((x) => x.type === 'have-all' || x.type === 'bitfield'));
    const offered = haves(p.messages);
    assert.ok(offered.length <= 2, `offered ${offered.join(',')}`);
    const other = [...Array(m.pieceCount).keys()].find((i) => !offered.includes(i))!;
    p.send({ type: 'interested' });
    assert.ok(await p.waitFor((ms) => ms.some((x) => x.type === 'unchoke')));
    p.send({ type: 'request', index: other, begin: 0, length: BLOCK });
    requestAll(p.send, offered[0]!);
    assert.ok(await p.waitFor((ms) => blocksOf(ms, offered[0]!) === 4 && ms.some((x) => x.type === 'reject')));
    assert.deepEqual(
      p.messages.filter((x) => x.type === 'reject'),
      [{ type: 'reject', index: other, begin: 0, length: BLOCK }],
    );
    p.close();
  });

  it('keeps offering a peer that never announces what it got (some clients do not send have to their source)', async () => {
    const { port, m } = await seed(true);
    const p = rawPeer(port, m);
    p.send({ type: 'have-none' });
    p.send({ type: 'interested' });
    assert.ok(await p.waitFor((ms) => haves(ms).length >= 1 && ms.some((x) => x.type === 'unchoke')));
    const first = haves(p.messages);
    for (const i of first) requestAll(p.send, i);
    assert.ok(await p.waitFor((ms) => first.every((i) => blocksOf(ms, i) === 4)));
    // No `have` from us: the offers count as taken up a few seconds after they were sent.
    assert.ok(await p.waitFor((ms) => haves(ms).length > first.length, 8000), 'new offers without a have');
    p.close();
  });

  it('offers pieces to a peer without the fast extension after no bitfield at all', async () => {
    const { port, m } = await seed(true);
    const p = rawPeer(port, m, { fast: false, extended: false, dht: false });
    assert.ok(await p.waitFor((ms) => haves(ms).length >= 1, 4000), 'offers come at the next tick');
    assert.ok(!p.messages.some((x) => x.type === 'bitfield' || x.type === 'have-none' || x.type === 'have-all'));
    p.close();
  });
});

describe('upload slots', () => {
  it('never more than 4 + 1 unchoked, however often peers lose and regain interest', async () => {
    const { port, m } = await seed(false);
    const peers = Array.from({ length: 9 }, (_, i) => rawPeer(port, m, { fast: true, extended: false, dht: false }, `SLOT${i}`));
    const unchoked = (p: (typeof peers)[number]): boolean => p.messages.filter((x) => x.type === 'choke' || x.type === 'unchoke').at(-1)?.type === 'unchoke';
    for (const p of peers) assert.ok(await p.waitFor((ms) => ms.some((x) => x.type === 'have-all')));
    for (const p of peers) p.send({ type: 'interested' });
    const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 300));
    await settle();
    assert.equal(peers.filter(unchoked).length, 5);
    for (let round = 0; round < 3; round++) {
      for (const p of peers.filter(unchoked)) p.send({ type: 'not-interested' });
      await settle();
      for (const p of peers) p.send({ type: 'interested' });
      await settle();
      assert.ok(peers.filter(unchoked).length <= 5, `round ${round}: ${peers.filter(unchoked).length} unchoked`);
    }
    for (const p of peers) p.close();
  });
});
