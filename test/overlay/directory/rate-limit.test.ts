import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/net/index.js';
import { encodeFrame, FrameDecoder, OverlayError, parseQuery } from '../../../src/overlay/index.js';
import { DirectoryClient, DirectoryServer, directoryCodec, type DirectoryMessage } from '../../../src/overlay/directory/index.js';
import { closed, rawConnect, until } from './helpers.js';

/*
 * Searches need no registration, so each connection has a token bucket of
 * them (20 a second, bursts of 40 by default). The server's clock is
 * manual, so "at once" is exact: a pipelined burst gets 40 answers and an
 * error for each search over; a second later 20 more are answered; a
 * connection that keeps going far over the rate is dropped.
 */

const hash = (n: number): string => n.toString(16).padStart(40, '0');

/** Everything the server sends on `s`, as it arrives. */
function collect(s: Socket): DirectoryMessage[] {
  const decoder = new FrameDecoder();
  const out: DirectoryMessage[] = [];
  s.on('data', (chunk) => out.push(...decoder.push(new Uint8Array(chunk)).map((d) => directoryCodec.decode(d))));
  return out;
}

function searches(from: number, n: number, q = 'song'): Buffer {
  return Buffer.concat(Array.from({ length: n }, (_, i) => encodeFrame({ t: 'search', i: from + i, q })));
}

describe('the directory limits searches per connection', () => {
  it('answers a burst of 40, refuses the rest by id, and refills at 20 a second', { timeout: 10_000 }, async () => {
    const clock = new ManualClock();
    const server = new DirectoryServer({ clock });
    const at = await server.listen('127.0.0.1', 0);
    const peer = await DirectoryClient.connect(at);
    const raw = await rawConnect(at);
    try {
      await peer.register([{ hash: hash(1), name: 'a song.mp3', size: 1 }], 5000);
      const got = collect(raw);
      raw.write(searches(0, 45));
      await until(() => got.length === 45, '45 answers');
      assert.deepEqual(
        got.slice(0, 40).map((m) => (m.type === 'results' ? m.id : -1)),
        Array.from({ length: 40 }, (_, i) => i),
      );
      assert.equal(got[0]?.type === 'results' && got[0].sources.length, 1);
      assert.deepEqual(
        got.slice(40),
        [40, 41, 42, 43, 44].map((id) => ({ type: 'error', id, reason: 'too many searches' })),
      );
      assert.equal(server.stats().searches, 40);
      assert.equal(server.stats().searchesRefused, 5);

      // A second: 20 tokens, of which the 5 refused searches are owed; 15 are answered, then refusals again.
      clock.advance(1000);
      raw.write(searches(100, 16));
      await until(() => got.length === 45 + 16, '16 more answers');
      assert.equal(got.slice(45, 60).filter((m) => m.type === 'results').length, 15);
      assert.deepEqual(got.at(-1), { type: 'error', id: 115, reason: 'too many searches' });
      assert.equal(raw.closed, false, 'a connection a little over the rate stays');
      // The registered peer's own searches have their own bucket.
      assert.equal((await peer.search(parseQuery('song'))).length, 1);
    } finally {
      raw.destroy();
      await peer.close();
      await server.close();
    }
  });

  it('drops a connection that keeps going far over the rate, and the client sees a refused search', { timeout: 10_000 }, async () => {
    const clock = new ManualClock();
    const drops: string[] = [];
    const server = new DirectoryServer({ clock, searchRate: 2, searchBurst: 4, onDrop: (_r, why) => drops.push(why) });
    const at = await server.listen('127.0.0.1', 0);
    const raw = await rawConnect(at);
    const client = await DirectoryClient.connect(at);
    try {
      const got = collect(raw);
      raw.write(searches(0, 50));
      await closed(raw);
      // 4 answered, 4 refused by id, then the connection is refused as a whole.
      assert.deepEqual(
        got.map((m) => m.type),
        [...Array<string>(4).fill('results'), ...Array<string>(4).fill('error'), 'error'],
      );
      const last = got.at(-1);
      assert.ok(last?.type === 'error' && last.id === undefined && /too many searches/.test(last.reason), JSON.stringify(last));
      assert.match(drops.at(-1) ?? '', /too many searches/);

      const answers = await Promise.allSettled(Array.from({ length: 5 }, () => client.search(parseQuery('anything'))));
      assert.deepEqual(
        answers.map((a) => a.status),
        ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected'],
      );
      const fifth = answers[4];
      const refused = fifth?.status === 'rejected' ? (fifth.reason as unknown) : undefined;
      assert.ok(refused instanceof OverlayError && /too many searches/.test(refused.message), String(refused));
      assert.equal(client.isClosed, false, 'one refused search does not cost the connection');
    } finally {
      raw.destroy();
      await client.close();
      await server.close();
    }
  });
});
