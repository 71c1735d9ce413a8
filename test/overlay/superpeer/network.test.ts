import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tcpTransport, type Endpoint } from '../../../src/net/index.js';
import { downloadFromAny, parseQuery } from '../../../src/overlay/index.js';
import { searchLeaders, SuperPeerLeader, SuperPeerMember, type SuperPeerMemberEvent } from '../../../src/overlay/superpeer/index.js';
import { HOST, searchUntil, shareFiles, until, type Shared } from './helpers.js';

/*
 * Three leaders linked together on loopback, nine members spread over them,
 * three of them sharing real files served over HTTP. A member finds, by
 * keyword and by hash, a file held by a member of another leader, with that
 * member's address, and downloads it; a searcher that shares nothing gets
 * answers too; then a leader goes away and its members attach to the
 * others, where their files are found again.
 */

const quiet = { announceMs: 60_000, pingMs: 60_000 };
const key = (e: Endpoint | undefined): string => (e === undefined ? 'none' : `${e.host}:${e.port}`);

describe('superpeer network: 3 leaders, 9 members', () => {
  const leaders: SuperPeerLeader[] = [];
  const addresses: Endpoint[] = [];
  const members: SuperPeerMember[] = [];
  const events: SuperPeerMemberEvent[][] = [];
  const shared: (Shared | undefined)[] = [];
  let out = '';

  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'peerkit-sp-out-'));
    for (let i = 0; i < 3; i++) {
      const l = new SuperPeerLeader({ transport: tcpTransport, ...quiet });
      addresses.push(await l.listen(HOST, 0));
      leaders.push(l);
    }
    assert.equal(await leaders[1]!.link([addresses[0]!]), 1);
    assert.equal(await leaders[2]!.link([addresses[0]!, addresses[1]!]), 2);
    await until(() => leaders.every((l) => l.stats().links === 2), 'the leaders are linked in a triangle');

    const contents: Record<number, Record<string, string>> = {
      0: { 'alpha song.txt': 'the alpha song, sung by member 0\n'.repeat(50) },
      4: { 'beta report.txt': 'beta report of member 4\n'.repeat(100) },
      8: { 'gamma notes.txt': 'gamma notes of member 8\n'.repeat(20), 'delta.bin': 'delta' },
    };
    for (let i = 0; i < 9; i++) {
      const s = contents[i] === undefined ? undefined : await shareFiles(contents[i]!);
      shared.push(s);
      const log: SuperPeerMemberEvent[] = [];
      events.push(log);
      const m = new SuperPeerMember({
        transport: tcpTransport,
        pingMs: 60_000,
        retryMs: 200,
        onEvent: (e) => log.push(e),
        ...(s !== undefined && { files: s.files, filesPort: s.server.address.port }),
      });
      members.push(m);
      // Member i goes to leader i % 3.
      assert.deepEqual(await m.attach([addresses[i % 3]!]), addresses[i % 3]);
    }
  });

  after(async () => {
    await Promise.all(members.map((m) => m.close()));
    await Promise.all(leaders.map((l) => l.close()));
    await Promise.all(shared.map((s) => s?.close()));
    await rm(out, { recursive: true, force: true });
  });

  it('indexes each member at its leader', () => {
    assert.deepEqual(
      leaders.map((l) => l.stats().members),
      [3, 3, 3],
    );
    // Leader 0 holds member 0's file, leader 1 member 4's, leader 2 member 8's two.
    assert.deepEqual(
      leaders.map((l) => l.stats().files),
      [1, 1, 2],
    );
    assert.deepEqual(events[0]!.map((e) => e.kind), ['attached']);
    assert.equal(leaders[0]!.stats().leaders, 3);
  });

  it('finds a file of another leader\'s member by keyword, with that member\'s address, and downloads it', async () => {
    const gamma = shared[8]!.files.find((f) => f.name === 'gamma notes.txt')!;
    // Member 3 is attached to leader 0; member 8 (who has the file) to leader 2.
    const hits = await searchUntil((q, o) => members[3]!.search(q, o), parseQuery('Gamma'), 3, (h) => h.length > 0);
    assert.equal(hits.length, 1);
    assert.deepEqual(hits[0]!.source, { hash: gamma.hash, name: gamma.name, size: gamma.size, address: { host: HOST, port: shared[8]!.server.address.port } });
    assert.equal(hits[0]!.hops, 1);
    const got = await downloadFromAny([hits[0]!.source], out);
    assert.deepEqual(await readFile(got.path), await readFile(gamma.path));
  });

  it('finds a file by hash', async () => {
    const beta = shared[4]!.files[0]!;
    const hits = await searchUntil((q, o) => members[2]!.search(q, o), parseQuery(beta.hash.toUpperCase()), 3, (h) => h.length > 0);
    assert.deepEqual(
      hits.map((h) => h.source),
      [{ hash: beta.hash, name: 'beta report.txt', size: beta.size, address: { host: HOST, port: shared[4]!.server.address.port } }],
    );
    const got = await downloadFromAny([hits[0]!.source], out);
    assert.deepEqual(await readFile(got.path), await readFile(beta.path));
  });

  it('with ttl 1 asks only the member\'s own leader', async () => {
    const own = await searchUntil((q, o) => members[6]!.search(q, o), parseQuery('delta'), 1, (h) => h.length > 0, 300);
    assert.equal(own.length, 0, 'member 6 is on leader 0, delta is on leader 2');
    const local = await searchUntil((q, o) => members[2]!.search(q, o), parseQuery('delta'), 1, (h) => h.length > 0);
    assert.deepEqual(
      local.map((h) => [h.source.name, h.hops]),
      [['delta.bin', 0]],
    );
  });

  it('answers a searcher that shares nothing and never joins', async () => {
    const before = leaders[1]!.stats().members;
    const hits = await searchUntil((q, o) => searchLeaders([{ host: HOST, port: 1 }, addresses[1]!], q, { ...o, connectTimeoutMs: 1_000 }), parseQuery('alpha song'), 3, (h) => h.length > 0);
    assert.deepEqual(
      hits.map((h) => [h.source.name, key(h.source.address)]),
      [['alpha song.txt', `${HOST}:${shared[0]!.server.address.port}`]],
    );
    assert.equal(leaders[1]!.stats().members, before);
  });

  it('a searcher with nobody to ask gets an unreachable error', async () => {
    await assert.rejects(searchLeaders([{ host: HOST, port: 1 }], parseQuery('x'), { ttl: 2, waitMs: 100 }), { name: 'OverlayError', code: 'unreachable' });
  });

  it('when a leader closes, its members attach to the others and their files are found again', async () => {
    await leaders[2]!.close();
    const orphans = [2, 5, 8];
    await until(() => orphans.every((i) => members[i]!.leader() !== undefined && key(members[i]!.leader()) !== key(addresses[2])), 'the members of leader 2 re-attached');
    for (const i of orphans) {
      assert.deepEqual(
        events[i]!.map((e) => e.kind),
        ['attached', 'lost-leader', 'attached'],
      );
      assert.ok([key(addresses[0]), key(addresses[1])].includes(key(members[i]!.leader())));
    }
    await until(() => leaders[0]!.stats().members + leaders[1]!.stats().members === 9, 'all nine members are attached to the two leaders left');
    await until(() => leaders[0]!.stats().files + leaders[1]!.stats().files === 4, 'member 8\'s files are indexed again');
    const gamma = shared[8]!.files.find((f) => f.name === 'gamma notes.txt')!;
    const hits = await searchUntil((q, o) => members[0]!.search(q, o), parseQuery(gamma.hash), 3, (h) => h.length > 0);
    assert.deepEqual(
      hits.map((h) => h.source.address),
      [{ host: HOST, port: shared[8]!.server.address.port }],
    );
  });
});
