import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Endpoint } from '../../../src/net/index.js';
import { OverlayError, parseQuery, type Source } from '../../../src/overlay/index.js';
import { createDirectoryKind, directoryKind } from '../../../src/cli/commands/directory.js';
import type { RunningNode } from '../../../src/cli/overlay.js';
import { until } from './helpers.js';

/*
 * The directory as the CLI runs it (OverlayKind): serve, share and search
 * on 127.0.0.1. Share survives the server going away: it says so, shows
 * "server unreachable, retrying", and registers again when the server is
 * back; search meanwhile fails with the unreachable error.
 */

const files = [
  { hash: '1'.repeat(40), name: 'Come Together.mp3', size: 100 },
  { hash: '2'.repeat(40), name: 'Something.mp3', size: 200 },
];

async function serve(port: number, log: string[]): Promise<{ node: RunningNode; at: Endpoint }> {
  const node = await directoryKind.serve({ host: '127.0.0.1', port, contacts: [], log: (m) => log.push(m) });
  const m = /listening on 127\.0\.0\.1:(\d+)$/.exec(log.at(-1) ?? '');
  assert.ok(m !== null, `serve logs where it listens (${log.at(-1)})`);
  return { node, at: { host: '127.0.0.1', port: Number(m[1]) } };
}

async function search(at: Endpoint, text: string, signal = new AbortController().signal): Promise<{ source: Source; hops: number }[]> {
  const hits: { source: Source; hops: number }[] = [];
  await directoryKind.search({ contacts: [at], query: parseQuery(text), ttl: 0, waitMs: 2000, signal, log: () => undefined, onHit: (source, hops) => hits.push({ source, hops }) });
  return hits;
}

describe('peerkit directory (OverlayKind)', () => {
  it('has the documented shape', () => {
    assert.equal(directoryKind.name, 'directory');
    assert.equal(directoryKind.contactFlag, 'server');
    assert.equal(directoryKind.serveTakesContacts, false);
    assert.equal(directoryKind.shareNeedsContact, true);
    assert.equal(directoryKind.defaultPort, 8888);
    assert.equal(directoryKind.defaultTtl, undefined);
    assert.equal(directoryKind.defaultWaitSeconds, 10);
    assert.match(directoryKind.about, /single point of failure/);
  });

  it('serves, shares, searches; share re-registers after the server comes back', async () => {
    const serverLog: string[] = [];
    const first = await serve(0, serverLog);
    const at = first.at;
    let server = first.node;
    const shareLog: string[] = [];
    const sharer = await createDirectoryKind({ retryMs: 20 }).share({ host: '127.0.0.1', port: 0, contacts: [at], files, filesPort: 7777, log: (m) => shareLog.push(m) });
    try {
      assert.equal(sharer.status(), `registered 2 files with 127.0.0.1:${at.port}`);
      assert.equal(server.status(), '1 peer, 2 files, 0 searches');

      const hits = await search(at, 'together');
      assert.deepEqual(hits, [{ source: { ...files[0]!, address: { host: '127.0.0.1', port: 7777 } }, hops: 1 }]);
      assert.equal(server.status(), '1 peer, 2 files, 1 search');

      await server.close();
      await until(() => sharer.status() === 'server unreachable, retrying', 'share to notice');
      assert.match(shareLog.at(-1)!, /went away.*single point of failure.*; retrying every 0\.02 s$/);
      await assert.rejects(search(at, 'together'), (e: unknown) => e instanceof OverlayError && e.code === 'unreachable' && /single point of failure/.test(e.message));

      server = (await serve(at.port, serverLog)).node;
      await until(() => sharer.status() === `registered 2 files with 127.0.0.1:${at.port}`, 'share to register again');
      assert.match(shareLog.at(-1)!, /is back: registered 2 files again/);
      assert.equal((await search(at, files[1]!.hash)).length, 1);
    } finally {
      await sharer.close();
      await server.close();
    }
  });

  it('fails at once when share cannot reach the server at the start', async () => {
    const { node, at } = await serve(0, []);
    await node.close();
    await assert.rejects(
      directoryKind.share({ host: '127.0.0.1', port: 0, contacts: [at], files, filesPort: 7777, log: () => undefined }),
      (e: unknown) => e instanceof OverlayError && e.code === 'unreachable',
    );
  });

  it('search returns at once, with no hits, when already aborted', async () => {
    const { node, at } = await serve(0, []);
    try {
      const abort = new AbortController();
      abort.abort();
      assert.deepEqual(await search(at, 'anything', abort.signal), []);
    } finally {
      await node.close();
    }
  });
});
