import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  freeRiderChart,
  freeRiderTable,
  optimisticChart,
  optimisticTable,
  pieceOrderChart,
  pieceOrderCsv,
  pieceOrderTable,
  runFreeRider,
  runOptimistic,
  runPieceOrders,
  type PolicyOptions,
} from '../../src/lab/index.js';

/*
 * The policy experiments, small enough for a few seconds of wall time each:
 * a few MiB over slow simulated links.
 */

const MiB = 1024 * 1024;
const base: PolicyOptions = { peers: 8, size: 4 * MiB, serverUp: 400_000, peerUp: 200_000, seeds: [1], pieceLength: 64 * 1024 };

describe('lab pieces: rarest first, random, sequential', () => {
  it('every policy completes; sequential is slowest; the rarest piece spreads; deterministic', async () => {
    const r = await runPieceOrders({ ...base, peers: 10, size: 8 * MiB });
    assert.deepEqual(
      r.rows.map((x) => x.policy),
      ['rarest-first', 'random', 'sequential'],
    );
    const by = Object.fromEntries(r.rows.map((x) => [x.policy, x]));
    // Everyone wants the same few low pieces, so peers have little to trade.
    assert.ok(by['sequential']!.median > by['rarest-first']!.median * 1.05, JSON.stringify(r.rows));
    for (const x of r.rows) assert.ok(x.allOut > 0 && x.allOut <= x.seconds && x.median <= x.seconds, JSON.stringify(x));
    for (const s of r.rarest) {
      assert.equal(s.points[0]![1], 0, 'at the start no leecher holds anything');
      assert.equal(s.points.at(-1)![1], 10, 'at the end every leecher holds every piece');
      for (let i = 1; i < s.points.length; i++) assert.ok(s.points[i]![0] >= s.points[i - 1]![0], 'time goes forward');
    }
    assert.deepEqual(await runPieceOrders({ ...base, peers: 10, size: 8 * MiB, orders: ['random'] }), { rows: [r.rows[1]], rarest: [r.rarest[1]] });
    assert.match(pieceOrderTable(r), /^policy\s+last done \(s\)/);
    assert.equal(pieceOrderCsv(r).summary.split('\n')[0], 'policy,seconds,median,all_out');
    const svg = pieceOrderChart(r);
    for (const t of ['rarest-first', 'random', 'sequential', 'time (s)', 'leechers holding the rarest piece']) assert.ok(svg.includes(t), t);
  });

  it('with the server gone once every piece is out, the leechers still finish', async () => {
    const r = await runPieceOrders({ ...base, orders: ['rarest-first'], serverLeaves: true });
    assert.ok(r.rows[0]!.seconds >= r.rows[0]!.allOut);
  });
});

describe('lab optimistic: newcomers in a busy swarm', () => {
  it('measures every newcomer, with and without the optimistic unchoke', async () => {
    const r = await runOptimistic({ ...base, newcomers: 2, firstJoinMs: 10_000, joinEveryMs: 5_000 });
    assert.deepEqual(
      r.rows.map((x) => [x.optimistic, x.newcomers]),
      [
        [true, 2],
        [false, 2],
      ],
    );
    for (const x of r.rows) assert.ok(x.medianWait >= 0 && x.maxWait >= x.medianWait && x.medianDone > x.maxWait, JSON.stringify(x));
    assert.match(optimisticTable(r), /4 regular \+ optimistic.*\n5 regular, no optimistic/);
    assert.ok(optimisticChart(r).includes('first piece'));
  });
});

describe('lab free-rider', () => {
  it('peers that upload nothing get a clearly lower download rate than those that reciprocate', async () => {
    // 20 leechers, each given 15 others (and dialled by more): slots are contested. In a full mesh of 16 the
    // riders fared as well as the others, taking the slots that come free between choke rounds.
    const rows = await runFreeRider({ ...base, peers: 20, size: 8 * MiB, riders: 2, seeds: [1, 2] });
    const [others, riders] = rows;
    assert.equal(others!.peer, 'reciprocating');
    assert.equal(riders!.count, 4);
    assert.equal(riders!.uploaded, 0, 'free riders upload nothing');
    assert.ok(riders!.rate < others!.rate * 0.8, `free riders ${riders!.rate} B/s, the others ${others!.rate} B/s`);
    assert.match(freeRiderTable(rows), /free rider/);
    assert.ok(freeRiderChart(rows).includes('kB/s'));
  });
});
