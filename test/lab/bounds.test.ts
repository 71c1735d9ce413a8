import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientServerBound, p2pBound } from '../../src/lab/index.js';

const MB = 1_000_000;

describe('the Kurose-Ross distribution bounds', () => {
  it('client-server: N·F/u_s, or F/d_min when the download is the bottleneck', () => {
    // F = 10 MB, u_s = 2 MB/s, N = 4: 4 x 10 / 2 = 20 s.
    assert.equal(clientServerBound(4, { size: 10 * MB, serverUp: 2 * MB, peerUp: MB }), 20);
    // d_min = 0.25 MB/s: one copy takes 40 s at the slowest peer, more than the server's 20 s.
    assert.equal(clientServerBound(4, { size: 10 * MB, serverUp: 2 * MB, peerUp: MB, peerDown: 0.25 * MB }), 40);
    // The textbook's example: F = 15 Gbit, u_s = 30 Mb/s, d = 2 Mb/s, N = 10: max(5000, 7500) = 7500 s.
    assert.equal(clientServerBound(10, { size: 15e9, serverUp: 30e6, peerUp: 0, peerDown: 2e6 }), 7500);
  });

  it('p2p: the largest of F/u_s, F/d_min and N·F/(u_s + Σu_i)', () => {
    // N = 1: only the server uploads something new: F/u_s = 5 s.
    assert.equal(p2pBound(1, { size: 10 * MB, serverUp: 2 * MB, peerUp: MB }), 5);
    // N = 8: 80 MB through 2 + 8 = 10 MB/s = 8 s, more than F/u_s = 5 s.
    assert.equal(p2pBound(8, { size: 10 * MB, serverUp: 2 * MB, peerUp: MB }), 8);
    // Per-peer rates: 3 peers of 1, 2, 3 MB/s: 30 / (2 + 6) = 3.75 s, less than F/u_s.
    assert.equal(p2pBound(3, { size: 10 * MB, serverUp: 2 * MB, peerUp: [1 * MB, 2 * MB, 3 * MB] }), 5);
    assert.equal(p2pBound(3, { size: 10 * MB, serverUp: 4 * MB, peerUp: [1 * MB, 2 * MB, 3 * MB] }), 3);
    // The download limit: d = 1 MB/s makes every peer need 10 s.
    assert.equal(p2pBound(8, { size: 10 * MB, serverUp: 2 * MB, peerUp: MB, peerDown: MB }), 10);
    // The lab's defaults: 32 MiB, 4 MB/s, 2 MB/s, N = 100: 100 F / 204 MB/s.
    assert.ok(Math.abs(p2pBound(100, { size: 32 * 2 ** 20, serverUp: 4 * MB, peerUp: 2 * MB }) - 16.4482) < 1e-3);
  });

  it('P2P grows with N to at most F/u, client-server linearly', () => {
    const p = { size: 10 * MB, serverUp: 2 * MB, peerUp: MB };
    for (const n of [1, 10, 100, 1000]) {
      assert.ok(p2pBound(n, p) <= clientServerBound(n, p));
      assert.ok(p2pBound(n, p) <= 10);
    }
  });

  it('refuses nonsense', () => {
    assert.throws(() => p2pBound(0, { size: 1, serverUp: 1, peerUp: 1 }), RangeError);
    assert.throws(() => clientServerBound(1, { size: 1, serverUp: 0, peerUp: 1 }), RangeError);
    assert.throws(() => p2pBound(3, { size: 1, serverUp: 1, peerUp: [1, 2] }), RangeError);
  });
});
