import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { get } from 'node:http';
import { describe, it } from 'node:test';
import { ManualClock, seededRandom } from '../../../src/net/index.js';
import { startTrackerServer, type Announce } from '../../../src/tracker/server/index.js';

/*
 * startTrackerServer: the wiring of the core to the sockets and the clock.
 * The clock is a ManualClock, so expiry and the announce rate are driven by
 * `advance`, not by waiting.
 */

const HASH = new Uint8Array(20).fill(5);

function announce(n: number): Announce {
  return { infoHash: HASH, peerId: new Uint8Array(20).fill(n), host: `10.0.0.${n}`, port: 1000 + n, left: 1, event: 'started', numWant: 0, wantPeerIds: false };
}

function getJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
    }).on('error', reject);
  });
}

describe('startTrackerServer', () => {
  it('survives a bug in a handler: that request fails, the error is reported, the rest is served', async () => {
    const errors: unknown[] = [];
    const server = await startTrackerServer({ host: '127.0.0.1', httpPort: 0, udpPort: 0, onError: (e) => errors.push(e) });
    try {
      const original = server.tracker.announce.bind(server.tracker);
      server.tracker.announce = () => {
        throw new Error('boom');
      };
      const q = `info_hash=${'%05'.repeat(20)}&peer_id=${'p'.repeat(20)}&port=7000&left=1&compact=1`;
      const status = await new Promise<number | undefined>((resolve, reject) => {
        get(`${server.httpUrl!}?${q}`, (res) => {
          res.resume();
          resolve(res.statusCode);
        }).on('error', reject);
      });
      assert.equal(status, 500);
      assert.equal(errors.length, 1);
      assert.match(String(errors[0]), /boom/);
      server.tracker.announce = original;
      const stats = (await getJson(server.httpUrl!.replace(/announce$/, 'stats'))) as Record<string, number>;
      assert.equal(stats.torrents, 0);
    } finally {
      await server.close();
    }
  });


  it('expires peers on the injected clock and reports the announce rate', async () => {
    const clock = new ManualClock();
    const server = await startTrackerServer({ host: '127.0.0.1', httpPort: 0, udpPort: null, interval: 60, clock, random: seededRandom(1) });
    try {
      assert.equal(server.udpUrl, undefined);
      assert.match(server.httpUrl!, /^http:\/\/127\.0\.0\.1:\d+\/announce$/);
      for (let n = 1; n <= 20; n++) server.tracker.announce(announce(n), clock.now());
      clock.advance(10_000); // one rate window: 20 announces in 10 s
      const stats = (await getJson(server.httpUrl!.replace(/announce$/, 'stats'))) as Record<string, number>;
      assert.equal(stats.peers, 20);
      assert.equal(stats.announcesPerSecond, 2);
      assert.equal(stats.uptimeSeconds, 10);
      clock.advance(60_000 * 3); // peer timeout: 60 * 2 + 60 s = 3 minutes, not more
      assert.equal(server.tracker.stats().peers, 20);
      clock.advance(60_000);
      assert.equal(server.tracker.stats().peers, 0, 'expired by the server\'s own timer');
      assert.equal(server.tracker.stats().torrents, 0);
    } finally {
      await server.close();
    }
  });

  it('can run UDP only', async () => {
    const server = await startTrackerServer({ host: '127.0.0.1', httpPort: null, udpPort: 0, clock: new ManualClock() });
    assert.equal(server.httpUrl, undefined);
    assert.match(server.udpUrl!, /^udp:\/\/127\.0\.0\.1:\d+$/);
    await server.close();
  });

  it('a failed start (UDP port taken) rejects and leaves nothing that keeps the process alive', () => {
    // In a child process, so that a regression (a forgotten listening HTTP server) fails here instead of hanging the suite.
    const module = new URL('../../../src/tracker/server/index.js', import.meta.url).href;
    const script = `
      import { createSocket } from 'node:dgram';
      import { startTrackerServer } from ${JSON.stringify(module)};
      const taken = createSocket('udp4');
      await new Promise((resolve) => taken.bind(0, '127.0.0.1', resolve));
      const e = await startTrackerServer({ host: '127.0.0.1', httpPort: 0, udpPort: taken.address().port }).then(() => undefined, (e) => e);
      taken.close();
      process.stdout.write(String(e?.code));
    `;
    // The timeout is only a safety net: a good run exits as soon as its event loop is empty.
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.stdout, 'EADDRINUSE', r.stderr);
    assert.equal(r.signal, null, 'the process did not exit by itself');
    assert.equal(r.status, 0, r.stderr);
  });
});
