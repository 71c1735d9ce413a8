import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSuperpeerKind, superpeerKind } from '../../../src/cli/commands/superpeer.js';
import { tcpTransport, type Endpoint, type StreamTransport } from '../../../src/net/index.js';
import { parseQuery, type Source } from '../../../src/overlay/index.js';
import { HOST, shareFiles, until } from './helpers.js';

/*
 * The CLI side: `peerkit superpeer` as an OverlayKind. serve runs a leader
 * and says where; share attaches a member with real served files and shows
 * it in its status line; search asks the leader without joining and reports
 * each source; a search with nobody to ask is an unreachable error; Ctrl-C
 * (the context's signal) ends a search that is still connecting.
 */

describe('superpeer CLI kind', () => {
  it('has the documented defaults', () => {
    assert.equal(superpeerKind.name, 'superpeer');
    assert.equal(superpeerKind.contactFlag, 'leader');
    assert.equal(superpeerKind.serveTakesContacts, true);
    assert.equal(superpeerKind.shareNeedsContact, true);
    assert.equal(superpeerKind.defaultPort, 6348);
    assert.equal(superpeerKind.defaultTtl, 4);
    assert.equal(superpeerKind.defaultWaitSeconds, 3);
  });

  it('serve, share and search', async () => {
    const kind = createSuperpeerKind({ transport: tcpTransport });
    const serveLog: string[] = [];
    const leader = await kind.serve({ host: HOST, port: 0, contacts: [], log: (m) => serveLog.push(m) });
    const m = /listening on (127\.0\.0\.1):(\d+)/.exec(serveLog.join('\n'));
    assert.ok(m !== null, serveLog.join('\n'));
    const at: Endpoint = { host: m[1]!, port: Number(m[2]) };
    const shared = await shareFiles({ 'kind test.txt': 'hello from the cli test\n' });
    const shareLog: string[] = [];
    const member = await kind.share({ host: HOST, port: 0, contacts: [at], files: shared.files, filesPort: shared.server.address.port, log: (x) => shareLog.push(x) });
    try {
      assert.equal(member.status(), `member of ${HOST}:${at.port}`);
      assert.deepEqual(shareLog, [`attached to leader ${HOST}:${at.port}`]);
      await until(() => leader.status() === 'leader of 1 member (1 file), linked to 0 leaders', 'the leader shows its member');

      const found: Source[] = [];
      const stop = new AbortController();
      await kind.search({
        contacts: [at],
        query: parseQuery('kind test'),
        ttl: 4,
        waitMs: 3_000,
        signal: stop.signal,
        log: () => undefined,
        onHit: (s) => {
          found.push(s);
          stop.abort();
        },
      });
      assert.deepEqual(found, [{ hash: shared.files[0]!.hash, name: 'kind test.txt', size: shared.files[0]!.size, address: { host: HOST, port: shared.server.address.port } }]);
      await assert.rejects(
        kind.search({ contacts: [{ host: HOST, port: 1 }], query: parseQuery('x'), ttl: 1, waitMs: 10, signal: new AbortController().signal, log: () => undefined, onHit: () => undefined }),
        { name: 'OverlayError', code: 'unreachable' },
      );
    } finally {
      await member.close();
      await leader.close();
      await shared.close();
    }
  });

  it('search (and so get) stops on Ctrl-C while it is still connecting', async () => {
    // A network where connecting never completes: only the abort signal ends it.
    const hanging: StreamTransport = {
      connect: (_to, options) =>
        new Promise((_resolve, reject) => {
          options?.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        }),
      listen: () => Promise.reject(new Error('no listening here')),
    };
    const kind = createSuperpeerKind({ transport: hanging });
    const stop = new AbortController();
    const t = performance.now();
    const found: Source[] = [];
    const search = kind.search({ contacts: [{ host: HOST, port: 9 }], query: parseQuery('x'), ttl: 1, waitMs: 60_000, signal: stop.signal, log: () => undefined, onHit: (s) => found.push(s) });
    setTimeout(() => stop.abort(), 50);
    await search;
    assert.ok(performance.now() - t < 2_000, 'it ended at once, not after the connect timeout');
    assert.deepEqual(found, []);
    // Already interrupted: nothing is dialled at all.
    let dialled = 0;
    const counting = createSuperpeerKind({ transport: { ...hanging, connect: (to, o) => (dialled++, hanging.connect(to, o)) } });
    await counting.search({ contacts: [{ host: HOST, port: 9 }], query: parseQuery('x'), ttl: 1, waitMs: 60_000, signal: stop.signal, log: () => undefined, onHit: () => undefined });
    assert.equal(dialled, 0);
  });
});
