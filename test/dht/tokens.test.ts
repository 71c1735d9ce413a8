import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TOKEN_ROTATE_MS, TokenIssuer } from '../../src/dht/tokens.js';
import { seededRandom } from '../../src/net/index.js';

/*
 * Write tokens (BEP 5, "get_peers" and "announce_peer"): a token proves the
 * announcer got it at the address it announces from, and is accepted for a
 * while (BitTorrent's own: a secret that changes every 5 minutes, tokens up
 * to 10 minutes old).
 */

const MIN = 60_000;

describe('TokenIssuer', () => {
  it('accepts a token from the address it was issued to, and only there', () => {
    const tokens = new TokenIssuer(seededRandom(1), 0);
    const tok = tokens.issue('203.0.113.5', 0);
    assert.equal(tok.length, 8);
    assert.ok(tokens.valid(tok, '203.0.113.5', 1));
    assert.ok(!tokens.valid(tok, '203.0.113.6', 1));
    assert.ok(!tokens.valid(tok.subarray(0, 7), '203.0.113.5', 1));
    assert.ok(!tokens.valid(new Uint8Array(0), '203.0.113.5', 1));
  });

  it('is stable within a period, and differs between addresses', () => {
    const tokens = new TokenIssuer(seededRandom(2), 0);
    assert.deepEqual(tokens.issue('198.51.100.1', 0), tokens.issue('198.51.100.1', TOKEN_ROTATE_MS - 1));
    assert.notDeepEqual(tokens.issue('198.51.100.1', 0), tokens.issue('198.51.100.2', 0));
  });

  it('two issuers have different secrets', () => {
    const a = new TokenIssuer(seededRandom(3), 0);
    const b = new TokenIssuer(seededRandom(4), 0);
    assert.ok(!b.valid(a.issue('198.51.100.1', 0), '198.51.100.1', 0));
  });

  it('accepts a token through one rotation, not through two', () => {
    const tokens = new TokenIssuer(seededRandom(5), 0);
    const tok = tokens.issue('198.51.100.1', 0);
    assert.ok(tokens.valid(tok, '198.51.100.1', 6 * MIN), 'after one rotation');
    assert.notDeepEqual(tokens.issue('198.51.100.1', 6 * MIN), tok, 'a new secret');
    assert.ok(tokens.valid(tok, '198.51.100.1', 9 * MIN));
    assert.ok(!tokens.valid(tok, '198.51.100.1', 11 * MIN), 'after the second rotation');
  });

  it('forgets both secrets after two idle periods', () => {
    const tokens = new TokenIssuer(seededRandom(6), 0);
    const tok = tokens.issue('198.51.100.1', 0);
    assert.ok(!tokens.valid(tok, '198.51.100.1', 2 * TOKEN_ROTATE_MS));
  });

  it('every token lives at least 5 minutes and at most 15, whatever the calls (property)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.array(fc.integer({ min: 1, max: 4 * MIN }), { minLength: 1, maxLength: 40 }), fc.nat(40), (seed, steps, issueAt) => {
        const tokens = new TokenIssuer(seededRandom(seed), 0);
        let now = 0;
        let issued: { tok: Uint8Array; at: number } | undefined;
        steps.forEach((dt, i) => {
          now += dt;
          if (i === issueAt % steps.length) issued = { tok: tokens.issue('192.0.2.1', now), at: now };
          if (issued === undefined) return;
          const ok = tokens.valid(issued.tok, '192.0.2.1', now);
          if (now - issued.at < TOKEN_ROTATE_MS) assert.ok(ok, `refused at age ${now - issued.at}`);
          if (now - issued.at >= 3 * TOKEN_ROTATE_MS) assert.ok(!ok, `accepted at age ${now - issued.at}`);
        });
      }),
      { numRuns: 500 },
    );
  });
});
