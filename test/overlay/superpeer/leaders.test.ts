import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { tcpTransport, type Endpoint } from '../../../src/net/index.js';
import { parseQuery } from '../../../src/overlay/index.js';
import { SuperPeerLeader, SuperPeerMember } from '../../../src/overlay/superpeer/index.js';
import { HOST, searchUntil, until } from './helpers.js';

/*
 * The leaders' own overlay: six leaders that are each given only the first
 * one (which has room for all five links) learn the others from the `leaders` lists (never counting themselves
 * twice), keep at least targetLinks links, and when the first
 * one goes away they forget it and replace the lost links, so a query still
 * reaches a member at the far end.
 */

describe('superpeer leader links', () => {
  const leaders: SuperPeerLeader[] = [];
  const addresses: Endpoint[] = [];
  const members: SuperPeerMember[] = [];

  after(async () => {
    await Promise.all(members.map((m) => m.close()));
    await Promise.all(leaders.map((l) => l.close()));
  });

  it('learn each other from lists, keep targetLinks links, and repair them when a leader goes', async () => {
    for (let i = 0; i < 6; i++) {
      const l = new SuperPeerLeader({ transport: tcpTransport, targetLinks: 2, maxLinks: 5, announceMs: 100, pingMs: 600_000 });
      addresses.push(await l.listen(HOST, 0));
      leaders.push(l);
    }
    for (let i = 1; i < 6; i++) assert.equal(await leaders[i]!.link([addresses[0]!]), 1);
    await until(() => leaders.every((l) => l.stats().leaders === 6 && l.stats().links >= 2), 'every leader knows the six and has two links');

    const far = new SuperPeerMember({ transport: tcpTransport, pingMs: 600_000, files: [{ hash: 'f'.repeat(40), name: 'far away.txt', size: 3 }], filesPort: 4321 });
    const near = new SuperPeerMember({ transport: tcpTransport, pingMs: 600_000 });
    members.push(far, near);
    await far.attach([addresses[5]!]);
    await near.attach([addresses[1]!]);

    await leaders[0]!.close();
    const rest = leaders.slice(1);
    await until(() => rest.every((l) => l.stats().leaders === 5 && l.stats().links >= 2), 'the five left forget the first and have two links each', 10_000);
    const hits = await searchUntil((q, o) => near.search(q, o), parseQuery('far away'), 5, (h) => h.length > 0);
    assert.deepEqual(
      hits.map((h) => h.source.address),
      [{ host: HOST, port: 4321 }],
    );
  });
});
