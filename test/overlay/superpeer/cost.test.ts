import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { tcpTransport, type Endpoint } from '../../../src/net/index.js';
import { parseQuery, type SharedFile } from '../../../src/overlay/index.js';
import { SuperPeerLeader, SuperPeerMember, type SuperPeerStats } from '../../../src/overlay/superpeer/index.js';
import { HOST, searchUntil, until } from './helpers.js';

/*
 * What a search costs: 4 leaders linked in a full mesh and 20 members, 5 on
 * each. One search is counted from every node's stats before and after: the
 * query travels member -> leader -> leaders only, so the whole search costs
 * far fewer messages than there are members (flat flooding would send the
 * query over every peer's links), and no member other than the asker sends
 * or receives anything. This is the figure the overlay benchmark compares.
 */

const quiet = { announceMs: 600_000, pingMs: 600_000 };
const file = (i: number, name: string): SharedFile => ({ hash: (i + 1).toString(16).padStart(40, '0'), name, size: i });
const words = 'alfa bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november oscar papa quebec romeo sierra tango'.split(' ');

describe('superpeer cost of one search', () => {
  const leaders: SuperPeerLeader[] = [];
  const addresses: Endpoint[] = [];
  const members: SuperPeerMember[] = [];

  before(async () => {
    for (let i = 0; i < 4; i++) {
      const l = new SuperPeerLeader({ transport: tcpTransport, ...quiet });
      addresses.push(await l.listen(HOST, 0));
      leaders.push(l);
    }
    for (let i = 1; i < 4; i++) await leaders[i]!.link(addresses.slice(0, i));
    await until(() => leaders.every((l) => l.stats().links === 3), 'the four leaders are fully linked');
    for (let i = 0; i < 20; i++) {
      const m = new SuperPeerMember({ transport: tcpTransport, pingMs: 600_000, files: [file(2 * i, `common ${i}.txt`), file(2 * i + 1, `unique-${words[i]}.txt`)], filesPort: 7000 + i });
      await m.attach([addresses[i % 4]!]);
      members.push(m);
    }
    // Let the lists sent when links came up settle before counting.
    let last = -1;
    while (last !== total()) {
      last = total();
      await sleep(150);
    }
  });

  after(async () => {
    await Promise.all(members.map((m) => m.close()));
    await Promise.all(leaders.map((l) => l.close()));
  });

  const all = (): SuperPeerStats[] => [...leaders.map((l) => l.stats()), ...members.map((m) => m.stats())];
  const total = (): number => all().reduce((n, s) => n + s.messagesOut, 0);

  it('one search reaches every leader with far fewer messages than members', async () => {
    const before = all();
    // Member 0 (leader 0) looks for a file of member 7 (leader 3).
    const hits = await searchUntil((q, o) => members[0]!.search(q, o), parseQuery('unique hotel'), 4, (h) => h.length > 0);
    assert.deepEqual(
      hits.map((h) => h.source.name),
      ['unique-hotel.txt'],
    );
    // Let the copies of the query between leaders arrive before counting.
    await sleep(200);
    const afterwards = all();
    const sum = (list: SuperPeerStats[], f: (s: SuperPeerStats) => number): number => list.reduce((n, s) => n + f(s), 0);
    const sent = sum(afterwards, (s) => s.messagesOut) - sum(before, (s) => s.messagesOut);
    assert.equal(sum(afterwards, (s) => s.messagesIn) - sum(before, (s) => s.messagesIn), sent, 'every message sent was received');
    // At most: 1 query to leader 0, 3 from it to the other leaders, 2 from each of those to the
    // others (duplicates, dropped: each leader forwards a query id once), 1 hit to leader 0, 1 to the member.
    assert.ok(sent <= 1 + 3 + 6 + 2, `${sent} messages`);
    assert.ok(sent < members.length / 1.5, `${sent} messages for ${members.length} members`);
    const queries = sum(afterwards.slice(0, 4), (s) => s.received.query!) - sum(before.slice(0, 4), (s) => s.received.query!);
    const duplicates = sum(afterwards.slice(0, 4), (s) => s.duplicates) - sum(before.slice(0, 4), (s) => s.duplicates);
    assert.equal(queries - duplicates, 4, 'each leader handled the query once');
    for (let i = 1; i < members.length; i++) {
      assert.equal(afterwards[4 + i]!.messagesIn, before[4 + i]!.messagesIn, `member ${i} received nothing`);
      assert.equal(afterwards[4 + i]!.messagesOut, before[4 + i]!.messagesOut, `member ${i} sent nothing`);
    }
    assert.equal(afterwards[4]!.sent.query! - before[4]!.sent.query!, 1);
  });
});
