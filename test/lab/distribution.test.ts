import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRate } from '../../src/cli/commands/lab.js';
import { distributionChart, distributionCsv, distributionTable, runDistribution, type DistributionOptions } from '../../src/lab/index.js';

/*
 * The distribution experiment on the simulated network, small: 2 MiB,
 * u_s = 4 MB/s, u = 2 MB/s, pieces of 64 KiB (32 pieces). A few seconds of
 * wall time in all.
 */

const MiB = 1024 * 1024;
const base: DistributionOptions = { peers: [1, 3], size: 2 * MiB, serverUp: 4_000_000, peerUp: 2_000_000, pieceLength: 64 * 1024 };

describe('lab distribution', () => {
  it('is deterministic: the same seed gives the same rows', async () => {
    const a = await runDistribution({ ...base, seed: 7 });
    const b = await runDistribution({ ...base, seed: 7 });
    assert.deepEqual(b, a);
    assert.deepEqual(
      a.map((r) => `${r.mode} ${r.n}`),
      ['client-server 1', 'client-server 3', 'p2p 1', 'p2p 3'],
    );
    for (const r of a) assert.ok(r.seconds > 0 && r.ratio >= 1 && Math.abs(r.ratio - r.seconds / r.bound) < 1e-12, JSON.stringify(r));
    // Another seed runs too (it may or may not differ: the client-server rows never depend on it).
    const c = await runDistribution({ ...base, seed: 8, modes: ['p2p'] });
    assert.equal(c.length, 2);
  });

  it('client-server is within 5% of N·F/u_s', async () => {
    const rows = await runDistribution({ ...base, peers: [4], modes: ['client-server'] });
    const r = rows[0]!;
    assert.ok(Math.abs(r.bound - (4 * 2 * MiB) / 4_000_000) < 1e-9);
    assert.ok(r.ratio >= 1 && r.ratio <= 1.05, `ratio ${r.ratio}`);
  });

  it('P2P beats client-server for N = 5', async () => {
    const rows = await runDistribution({ ...base, peers: [5], seed: 3 });
    const cs = rows.find((r) => r.mode === 'client-server')!;
    const p2p = rows.find((r) => r.mode === 'p2p')!;
    assert.ok(p2p.seconds < cs.seconds * 0.75, `p2p ${p2p.seconds} s, client-server ${cs.seconds} s`);
    assert.ok(p2p.seconds >= p2p.bound, 'not faster than the bound');
  });

  it('over real TCP on 127.0.0.1: every peer gets the file, and the rate limits hold (never faster than the bound)', async () => {
    // Small and quick: 1 MiB, u_s = 2 MB/s, u = 1 MB/s, N = 2 (bounds 1.05 s client-server, 0.52 s P2P).
    const rows = await runDistribution({ peers: [2], size: MiB, serverUp: 2_000_000, peerUp: 1_000_000, pieceLength: 64 * 1024, network: 'real' });
    assert.deepEqual(
      rows.map((r) => r.mode),
      ['client-server', 'p2p'],
    );
    // A limiter that leaked (a full second's burst, say) would beat the bound by a clear margin.
    for (const r of rows) assert.ok(r.ratio >= 0.95, `${r.mode}: ${r.seconds} s against a bound of ${r.bound} s`);
  });

  it('over real TCP, a download cap holds too (F/d is the bound)', async () => {
    const rows = await runDistribution({ peers: [1], size: 4 * MiB, serverUp: 8_000_000, peerUp: 1_000_000, peerDown: 2_000_000, pieceLength: 64 * 1024, network: 'real' });
    for (const r of rows) {
      assert.ok(Math.abs(r.bound - (4 * MiB) / 2_000_000) < 1e-9, 'the download is the bottleneck');
      assert.ok(r.ratio >= 0.95, `${r.mode}: ${r.seconds} s against a bound of ${r.bound} s`);
    }
  });

  it('the chart, CSV and table carry both curves and both bounds', () => {
    const rows = [
      { mode: 'client-server', n: 1, seconds: 2.2, bound: 2.1, ratio: 2.2 / 2.1 },
      { mode: 'client-server', n: 3, seconds: 6.3, bound: 6.29, ratio: 6.3 / 6.29 },
      { mode: 'p2p', n: 1, seconds: 2.2, bound: 2.1, ratio: 2.2 / 2.1 },
      { mode: 'p2p', n: 3, seconds: 3.1, bound: 2.1, ratio: 3.1 / 2.1 },
    ] as const;
    const svg = distributionChart(rows);
    for (const s of ['client-server (measured)', 'client-server bound', 'P2P (measured)', 'P2P bound', 'peers (N)', 'time to distribute (s)']) assert.ok(svg.includes(s), s);
    assert.ok(svg.includes('stroke-dasharray'), 'the bounds are dashed');
    assert.ok(svg.includes('P2P alone, on its own scale'), 'a second panel where the flat P2P curve is not squashed');
    assert.ok(!distributionChart(rows.filter((r) => r.mode === 'p2p')).includes('P2P alone'), 'one panel for one mode');
    assert.ok(!svg.includes('NaN'));
    const csv = distributionCsv(rows).trim().split('\n');
    assert.equal(csv[0], 'mode,n,seconds,bound,ratio');
    assert.equal(csv.length, 5);
    assert.equal(csv[4], `p2p,3,3.1,2.1,${3.1 / 2.1}`);
    assert.match(distributionTable(rows), /^mode\s+N\s+seconds\s+bound\s+ratio\n/);
  });

  it('parses rates: 4MB/s, 4MB, 4000000 (MB = 10^6), 1MiB/s', () => {
    assert.equal(parseRate('4MB/s'), 4_000_000);
    assert.equal(parseRate('4MB'), 4_000_000);
    assert.equal(parseRate('4000000'), 4_000_000);
    assert.equal(parseRate('500kB/s'), 500_000);
    assert.equal(parseRate('1MiB/s'), 1_048_576);
    assert.equal(parseRate('2.5M'), 2_500_000);
    assert.throws(() => parseRate('fast'));
    assert.throws(() => parseRate('0'));
  });
});
