import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { tcpTransport, type Endpoint } from '../../../src/net/index.js';
import { parseQuery, type SharedFile } from '../../../src/overlay/index.js';
import { SuperPeerLeader, SuperPeerMember, type SuperPeerMemberEvent } from '../../../src/overlay/superpeer/index.js';
import { freePort, HOST, searchUntil, until } from './helpers.js';

/*
 * Promotion: one leader that takes three members and needs no other
 * leader. Capable members join one by one; the fourth finds it full with
 * no other leader to go to, so the member attached longest is asked to
 * lead, starts a leader on its capable address and links to the old one,
 * and the newcomer is sent to it. Every member's file is still found from
 * every member, through either leader. A second case: a leader that knows
 * fewer than minLeaders leaders promotes as soon as it has two members.
 */

const quiet = { announceMs: 60_000, pingMs: 60_000 };
const key = (e: Endpoint | undefined): string => (e === undefined ? 'none' : `${e.host}:${e.port}`);
const track = (i: number): SharedFile => ({ hash: (i + 1).toString(16).padStart(40, '0'), name: `track ${i}.ogg`, size: 1000 + i });

describe('superpeer promotion', () => {
  const leaders: SuperPeerLeader[] = [];
  const members: SuperPeerMember[] = [];

  after(async () => {
    await Promise.all(members.map((m) => m.close()));
    await Promise.all(leaders.map((l) => l.close()));
  });

  async function member(i: number, events: SuperPeerMemberEvent[], leaderOptions = { maxMembers: 3, minLeaders: 1, ...quiet }): Promise<SuperPeerMember> {
    const m = new SuperPeerMember({
      transport: tcpTransport,
      files: [track(i)],
      filesPort: 9000 + i,
      capable: { host: HOST, port: await freePort() },
      pingMs: 60_000,
      leader: leaderOptions,
      onEvent: (e) => events.push(e),
    });
    members.push(m);
    return m;
  }

  it('promotes the longest-attached member when the leader is full, and sends the newcomer there', async () => {
    const leader = new SuperPeerLeader({ transport: tcpTransport, maxMembers: 3, minLeaders: 1, ...quiet });
    leaders.push(leader);
    const at = await leader.listen(HOST, 0);
    const events: SuperPeerMemberEvent[][] = [[], [], [], []];
    const group: SuperPeerMember[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await member(i, events[i]!);
      group.push(m);
      assert.deepEqual(await m.attach([at]), at);
    }
    assert.equal(leader.stats().promotions, 0);

    const newcomer = await member(3, events[3]!);
    group.push(newcomer);
    const joined = await newcomer.attach([at]);

    const first = group[0]!;
    await until(() => first.promotedLeader() !== undefined, 'the member attached longest leads');
    const promoted = first.promotedLeader()!;
    assert.deepEqual(
      events[0]!.map((e) => e.kind),
      ['attached', 'promoted'],
    );
    assert.deepEqual(first.leader(), promoted.address());
    assert.equal(key(joined), key(promoted.address()), 'the newcomer is attached to the new leader');
    assert.deepEqual(
      events[3]!.map((e) => e.kind),
      ['redirected', 'attached'],
    );
    assert.equal(leader.stats().promotions, 1);
    await until(() => leader.stats().members === 2 && promoted.stats().members === 1, 'two members stay, the newcomer is with the new leader');
    assert.equal(leader.stats().links, 1);
    assert.equal(promoted.stats().links, 1);
    assert.equal(promoted.stats().files, 2, 'the new leader indexes its own file and the newcomer\'s');

    for (const [i, m] of group.entries()) {
      const hits = await searchUntil((q, o) => m.search(q, o), parseQuery('track'), 2, (h) => h.length === 4);
      assert.deepEqual(
        hits.map((h) => h.source.name).sort(),
        ['track 0.ogg', 'track 1.ogg', 'track 2.ogg', 'track 3.ogg'],
        `member ${i} finds every file`,
      );
    }
    // Member 0's file is served by member 0 itself, at the address its leader's links see.
    const zero = await searchUntil((q, o) => group[1]!.search(q, o), parseQuery('track 0'), 2, (h) => h.length > 0);
    assert.deepEqual(zero[0]!.source.address, { host: HOST, port: 9000 });
  });

  it('promotes a member when it knows fewer than minLeaders leaders', async () => {
    const leader = new SuperPeerLeader({ transport: tcpTransport, minLeaders: 2, ...quiet });
    leaders.push(leader);
    const at = await leader.listen(HOST, 0);
    const a = await member(10, [], { maxMembers: 50, minLeaders: 2, ...quiet });
    const b = await member(11, [], { maxMembers: 50, minLeaders: 2, ...quiet });
    await a.attach([at]);
    assert.equal(a.promotedLeader(), undefined, 'one member: nobody to spare');
    await b.attach([at]);
    await until(() => a.promotedLeader() !== undefined, 'member a leads');
    await until(() => leader.stats().leaders === 2 && leader.stats().promotions === 1, 'the leader knows the new one');
    const hits = await searchUntil((q, o) => b.search(q, o), parseQuery('track 10'), 2, (h) => h.length > 0);
    assert.deepEqual(
      hits.map((h) => [h.source.name, h.hops]),
      [['track 10.ogg', 1]],
    );
  });
});
