import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Session, type TorrentEvent } from '../../src/engine/index.js';
import { parseTorrent, type Metainfo } from '../../src/metainfo/index.js';
import { seededRandom } from '../../src/net/index.js';
import { FaultyStore, MemoryStore, StorageError } from '../../src/storage/index.js';
import { bytesOf, singleInfo, torrentBytes } from '../metainfo/fixtures.js';
import { readAll, until } from './loopback.js';

/*
 * The whole engine in one process, on real loopback TCP (127.0.0.1): sessions
 * trade pieces of an in-memory torrent with each other, no tracker (peers are
 * given). These check what a user would see: the leecher ends with exactly
 * the seeder's bytes, a peer that sends corrupt data is banned while the
 * download still completes, and a full disk stops the torrent with a clear
 * error and no piece counted that was not written.
 */

const sessions: Session[] = [];
after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
});

async function session(seed: number): Promise<Session> {
  const s = await Session.start({ random: seededRandom(seed) }, { host: '127.0.0.1', port: 0 });
  sessions.push(s);
  return s;
}

function torrentOf(data: Uint8Array, pieceLength: number): Metainfo {
  return parseTorrent(torrentBytes(singleInfo(data, pieceLength)));
}

const endpoint = (s: Session) => ({ host: '127.0.0.1', port: s.port });

describe('engine on loopback', () => {
  it('a leecher downloads every byte from a seeder', async () => {
    const data = bytesOf(3 * 1024 * 1024 + 12345, 7);
    const m = torrentOf(data, 64 * 1024);
    const a = await session(1);
    const b = await session(2);
    const seeder = await a.add(m, { store: MemoryStore.from(m.layout, data), trackers: false, assumeComplete: true });
    assert.equal(seeder.complete, true);
    const store = new MemoryStore(m.layout);
    const leecher = await b.add(m, { store, trackers: false, peers: [endpoint(a)] });
    assert.equal(leecher.complete, false);
    await until(leecher, 'complete');
    assert.ok(Buffer.from(data).equals(await readAll(store, m)), 'byte-identical');
    assert.equal(leecher.progress.pieces, m.pieceCount);
    assert.ok(seeder.uploaded >= data.length, 'the seeder counted what it sent');
  });

  it('bans a peer that sends corrupt blocks and completes from the others', async () => {
    const data = bytesOf(2 * 1024 * 1024, 9);
    const m = torrentOf(data, 32 * 1024);
    const good = await session(3);
    const bad = await session(4);
    const me = await session(5);
    await good.add(m, { store: MemoryStore.from(m.layout, data), trackers: false, assumeComplete: true });
    const corrupt = new FaultyStore(MemoryStore.from(m.layout, data), { corruptReads: () => true });
    await bad.add(m, { store: corrupt, trackers: false, assumeComplete: true });
    const store = new MemoryStore(m.layout);
    const leecher = await me.add(m, { store, trackers: false, peers: [endpoint(bad), endpoint(good)] });
    const events: TorrentEvent[] = [];
    leecher.on((e) => events.push(e));
    await until(leecher, 'complete');
    assert.ok(Buffer.from(data).equals(await readAll(store, m)), 'byte-identical despite the corrupt peer');
    const banned = events.filter((e) => e.type === 'peer-banned');
    assert.deepEqual(
      banned.map((e) => e.type === 'peer-banned' && e.address),
      [`127.0.0.1:${bad.port}`],
      'exactly the corrupt peer was banned',
    );
    assert.ok(events.some((e) => e.type === 'hash-failed'));
  });

  it('a full disk stops the download with a disk-full error and counts only written pieces', async () => {
    const data = bytesOf(1024 * 1024, 11);
    const m = torrentOf(data, 16 * 1024);
    const a = await session(6);
    const b = await session(7);
    await a.add(m, { store: MemoryStore.from(m.layout, data), trackers: false, assumeComplete: true });
    const inner = new MemoryStore(m.layout);
    const store = new FaultyStore(inner, { diskFullAfterBytes: 10 * 16 * 1024 });
    const leecher = await b.add(m, { store, trackers: false, peers: [endpoint(a)] });
    const e = await until(leecher, 'error');
    assert.ok(e.type === 'error' && e.error instanceof StorageError && e.error.code === 'disk-full', 'a disk-full StorageError');
    assert.equal(leecher.state, 'error');
    assert.ok(leecher.progress.pieces <= 10, `at most the 10 pieces that fit were counted, got ${leecher.progress.pieces}`);
    for (let i = 0; i < m.pieceCount; i++) {
      if (!leecher.hasPiece(i)) continue;
      assert.ok(Buffer.from(inner.piece(i)!).equals(data.subarray(i * 16384, (i + 1) * 16384)), `piece ${i} counted and intact`);
    }
  });
});
