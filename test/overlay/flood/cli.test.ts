import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createFloodKind, floodKind } from '../../../src/cli/commands/flood.js';
import type { RunningNode } from '../../../src/cli/overlay.js';
import type { Endpoint } from '../../../src/net/index.js';
import { OverlayError, parseQuery, type Source } from '../../../src/overlay/index.js';
import { silentServer, until } from './helpers.js';

/*
 * The flood overlay as the CLI runs it (src/cli/commands/flood.ts): a relay
 * started by serve, a sharing node that joins it, and a search from a leaf
 * that only knows the relay. Nodes listen on 127.0.0.1, port 0.
 */

const FILE = { hash: '3f786850e387550fdab836ed7e6dc881de23001b', name: 'Field Notes.pdf', size: 2 };

describe('peerkit flood (the OverlayKind)', () => {
  const kind = createFloodKind({ maintainMs: 60_000 });
  const logs: string[] = [];
  const log = (m: string): void => void logs.push(m);
  let relay: RunningNode;
  let sharer: RunningNode;
  let relayAddress: Endpoint;

  before(async () => {
    relay = await kind.serve({ host: '127.0.0.1', port: 0, contacts: [], log });
    relayAddress = { host: '127.0.0.1', port: Number(/:(\d+);/.exec(logs[0]!)![1]) };
    sharer = await kind.share({ host: '127.0.0.1', port: 0, contacts: [relayAddress], files: [FILE], filesPort: 18082, log });
  });

  after(async () => {
    await Promise.all([relay.close(), sharer.close()]);
  });

  it('has the documented defaults', () => {
    assert.deepEqual([floodKind.name, floodKind.contactFlag, floodKind.serveTakesContacts, floodKind.shareNeedsContact, floodKind.defaultPort, floodKind.defaultTtl, floodKind.defaultWaitSeconds], ['flood', 'peer', true, false, 6346, 7, 3]);
  });

  it('finds a shared file through the relay and reports it with its hop count', async () => {
    const found: [Source, number][] = [];
    const stop = new AbortController();
    await kind.search({ contacts: [relayAddress], query: parseQuery('field notes'), ttl: 3, waitMs: 5_000, signal: stop.signal, log, onHit: (s, hops) => (found.push([s, hops]), stop.abort()) });
    assert.deepEqual(found, [[{ ...FILE, address: { host: '127.0.0.1', port: 18082 } }, 2]]);
    await until(() => relay.status() === '1 neighbour, 1 query relayed, 0 answered', 'the relay counts the query (the leaf has left)');
    assert.equal(sharer.status(), '1 neighbour, 1 query relayed, 1 answered');
  });

  it('stops at once when interrupted while joining (a contact that never says hello)', async () => {
    const hung = await silentServer();
    try {
      const stop = new AbortController();
      const t = performance.now();
      setTimeout(() => stop.abort(), 100);
      // The node waits 5 s for a hello: the abort must not wait for that.
      await kind.search({ contacts: [hung.address], query: parseQuery('x'), ttl: 3, waitMs: 5_000, signal: stop.signal, log, onHit: () => undefined });
      assert.ok(performance.now() - t < 1_500, `the search ended ${Math.round(performance.now() - t)} ms after it started`);
    } finally {
      await hung.close();
    }
  });

  it('rejects a search when no contact answers', async () => {
    const closed = { host: '127.0.0.1', port: 1 };
    await assert.rejects(
      kind.search({ contacts: [closed], query: parseQuery('x'), ttl: 3, waitMs: 100, signal: new AbortController().signal, log, onHit: () => undefined }),
      (e: unknown) => e instanceof OverlayError && e.code === 'unreachable' && e.message === 'none of 127.0.0.1:1 answered',
    );
  });
});
