import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/net/index.js';
import { OverlayError, parseQuery } from '../../../src/overlay/index.js';
import { DirectoryClient, DirectoryServer } from '../../../src/overlay/directory/index.js';
import { until } from './helpers.js';

/*
 * Heartbeats and expiry, with the time on manual clocks (the sockets are
 * real): a peer that keeps sending heartbeats stays listed, one that falls
 * silent is dropped after expireMs with its files; a client whose server
 * stops answering gives up with a clear error; a search that gets no answer
 * times out.
 */

const hash = (n: number): string => n.toString(16).padStart(40, '0');

describe('directory heartbeats and expiry', () => {
  it('drops a peer that stopped heartbeating, and keeps one that did not', async () => {
    const serverClock = new ManualClock();
    const server = new DirectoryServer({ clock: serverClock, expireMs: 90_000 });
    const at = await server.listen('127.0.0.1', 0);
    const silentClock = new ManualClock();
    const beatingClock = new ManualClock();
    const silent = await DirectoryClient.connect(at, { clock: silentClock, heartbeatMs: 30_000 });
    const beating = await DirectoryClient.connect(at, { clock: beatingClock, heartbeatMs: 30_000 });
    try {
      await silent.register([{ hash: hash(1), name: 'silent song.mp3', size: 1 }], 5001);
      await beating.register([{ hash: hash(2), name: 'beating song.mp3', size: 2 }], 5002);
      const silentGone = new Promise<Error | undefined>((resolve) => silent.onClose(resolve));

      serverClock.advance(60_000);
      assert.equal(server.stats().peers, 2, 'nobody expires before expireMs');
      // The beating peer's clock reaches its heartbeat: a ping now reaches the server at its 60 s.
      assert.equal(beating.stats().messagesIn, 1, 'the pong that confirmed the registration');
      beatingClock.advance(30_000);
      await until(() => beating.stats().messagesIn === 2, 'the pong to the heartbeat');

      serverClock.advance(60_000); // 120 s: silent last heard at 0, beating at 60 s
      assert.equal(server.stats().peers, 1);
      assert.equal(server.stats().files, 1);
      const reason = await silentGone;
      assert.ok(reason instanceof OverlayError && reason.code === 'unreachable', `silent peer sees the directory close its connection (${String(reason)})`);

      const searcher = await DirectoryClient.connect(at);
      assert.deepEqual(
        (await searcher.search(parseQuery('song'))).map((s) => s.address.port),
        [5002],
      );
      await searcher.close();
    } finally {
      await beating.close();
      await silent.close();
      await server.close();
    }
  });

  it('gives up on a server that stops answering heartbeats', async () => {
    const clock = new ManualClock();
    // The server's clock never moves, so it never expires the client.
    const server = new DirectoryServer({ clock: new ManualClock() });
    const at = await server.listen('127.0.0.1', 0);
    const client = await DirectoryClient.connect(at, { clock, heartbeatMs: 1000, timeoutMs: 500 });
    try {
      const gone = new Promise<Error | undefined>((resolve) => client.onClose(resolve));
      const ping = client.ping().catch((e: unknown) => e);
      // Advance before the pong can arrive: the ping times out on the client's clock.
      clock.advance(500);
      const e = await ping;
      assert.ok(e instanceof OverlayError && e.code === 'timeout' && /did not answer a ping within 0\.5 s/.test(e.message), String(e));
      // The pong arrives late (at client time 0.5 s): the connection itself is fine.
      await until(() => client.stats().messagesIn === 1, 'the late pong');
      assert.equal(client.isClosed, false);
      // advance() runs the timers at once, so no pong can be read in between: the heartbeats at 1 s and 2 s
      // go unanswered, and at 3 s the server has been silent for more than heartbeat + timeout.
      clock.advance(10_000);
      const reason = await gone;
      assert.ok(reason instanceof OverlayError && reason.code === 'timeout' && /stopped answering heartbeats/.test(reason.message), String(reason));
      assert.equal(client.isClosed, true);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('times a search out on the client clock', async () => {
    const clock = new ManualClock();
    const server = new DirectoryServer();
    const at = await server.listen('127.0.0.1', 0);
    const client = await DirectoryClient.connect(at, { clock, timeoutMs: 2000 });
    try {
      const search = client.search(parseQuery('anything')).catch((e: unknown) => e);
      clock.advance(2000);
      const e = await search;
      assert.ok(e instanceof OverlayError && e.code === 'timeout');
      assert.match(e.message, /^directory server 127\.0\.0\.1:\d+ did not answer the search within 2 s$/);
      assert.deepEqual(await client.search(parseQuery('anything')), []);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
