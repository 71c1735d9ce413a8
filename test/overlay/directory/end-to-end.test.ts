import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Endpoint } from '../../../src/net/index.js';
import { downloadFromAny, encodeFrame, formatEndpoint, OverlayError, parseQuery, type FileServer, type LocalFile } from '../../../src/overlay/index.js';
import { DirectoryClient, DirectoryServer } from '../../../src/overlay/directory/index.js';
import { bytes, closed, rawConnect, shareFolder, tempDir, until } from './helpers.js';

/*
 * The directory over real sockets on 127.0.0.1: a server, three peers that
 * share real files over HTTP, and searchers. What a user sees: a search
 * finds the right addresses, the file downloads and verifies, a peer that
 * leaves disappears from results, and a stopped server makes searching fail
 * with an error that names the single point of failure.
 */

interface Peer {
  readonly files: LocalFile[];
  readonly http: FileServer;
  readonly client: DirectoryClient;
}

const song = bytes(300_000, 1);
const live = bytes(120_000, 2);

describe('directory end to end', () => {
  let root: { path: string; remove: () => Promise<void> };
  let server: DirectoryServer;
  let address: Endpoint;
  const peers: Record<string, Peer> = {};
  const searchers: DirectoryClient[] = [];

  async function startPeer(name: string, contents: Record<string, Uint8Array | string>): Promise<Peer> {
    const { files, server: http } = await shareFolder(join(root.path, name), contents);
    const client = await DirectoryClient.connect(address);
    await client.register(files, http.address.port);
    return (peers[name] = { files, http, client });
  }

  async function searcher(): Promise<DirectoryClient> {
    const c = await DirectoryClient.connect(address);
    searchers.push(c);
    return c;
  }

  before(async () => {
    root = await tempDir('e2e');
    // These searchers poll and loop quickly: lift the per-connection search rate (rate-limit.test.ts tests it).
    server = new DirectoryServer({ searchRate: 10_000, searchBurst: 10_000 });
    address = await server.listen('127.0.0.1', 0);
    await startPeer('alice', { 'Come Together.mp3': song, 'notes.txt': 'alice was here\n' });
    await startPeer('bob', { 'Come Together (live).mp3': live });
    await startPeer('carol', { 'come_together_copy.mp3': song, 'photo.jpg': bytes(5000, 3) });
  });

  after(async () => {
    for (const c of [...Object.values(peers).map((p) => p.client), ...searchers]) await c.close();
    for (const p of Object.values(peers)) await p.http.close();
    await server.close();
    await root.remove();
  });

  it('indexes the three peers and their files', () => {
    const s = server.stats();
    assert.equal(s.peers, 3);
    assert.equal(s.files, 5);
  });

  it('finds by keywords, at the address each peer serves its files on', async () => {
    const found = await (await searcher()).search(parseQuery('Come Together'));
    const byPort = new Map(found.map((s) => [s.address.port, s]));
    assert.equal(found.length, 3);
    for (const name of ['alice', 'bob', 'carol']) {
      const p = peers[name]!;
      const s = byPort.get(p.http.address.port);
      assert.ok(s !== undefined, `${name}'s file is in the results`);
      assert.equal(s.address.host, '127.0.0.1');
      assert.equal(s.hash, p.files.find((f) => f.name.toLowerCase().includes('together'))!.hash);
    }
    const photo = peers['carol']!.files.find((f) => f.name === 'photo.jpg')!;
    assert.deepEqual(await (await searcher()).search(parseQuery('photo')), [{ hash: photo.hash, name: 'photo.jpg', size: 5000, address: { host: '127.0.0.1', port: peers['carol']!.http.address.port } }]);
    assert.deepEqual(await (await searcher()).search(parseQuery('nothing like this')), []);
  });

  it('finds by content hash, and the file downloads from a source and matches byte for byte', async () => {
    const hash = peers['alice']!.files.find((f) => f.name === 'Come Together.mp3')!.hash;
    const found = await (await searcher()).search(parseQuery(hash));
    assert.deepEqual(found.map((s) => s.address.port).sort(), [peers['alice']!.http.address.port, peers['carol']!.http.address.port].sort());
    const out = await tempDir('out');
    try {
      const got = await downloadFromAny(found, out.path);
      assert.deepEqual(new Uint8Array(await readFile(got.path)), song);
    } finally {
      await out.remove();
    }
  });

  it('answers a searcher that never registered, and counts its messages', async () => {
    const c = await searcher();
    const before = server.stats();
    await c.search(parseQuery('notes'));
    assert.deepEqual(c.stats(), { messagesIn: 1, messagesOut: 1 });
    const s = server.stats();
    assert.equal(s.searches, before.searches + 1);
    assert.equal(s.messagesIn, before.messagesIn + 1);
    assert.equal(s.messagesOut, before.messagesOut + 1);
    assert.equal(s.peers, 3);
  });

  it('forgets a peer as soon as its close() has resolved', async () => {
    const bob = peers['bob']!;
    await bob.client.close();
    assert.equal(bob.client.isClosed, true);
    const found = await (await searcher()).search(parseQuery('together'));
    assert.ok(!found.some((s) => s.address.port === bob.http.address.port), 'bob is gone');
    assert.equal(found.length, 2);
    assert.equal(server.stats().peers, 2);
    await assert.rejects(bob.client.search(parseQuery('x')), (e: unknown) => e instanceof OverlayError && e.code === 'closed');
  });

  it('forgets a peer whose connection dies without a bye', async () => {
    const raw = await rawConnect(address);
    raw.write(encodeFrame({ t: 'register', p: 4444, f: [{ h: Buffer.alloc(20, 7), n: 'ghost.txt', s: 1 }] }));
    const c = await searcher();
    await until(async () => (await c.search(parseQuery('ghost'))).length === 1, 'the ghost to be listed');
    raw.destroy();
    await until(async () => (await c.search(parseQuery('ghost'))).length === 0, 'the ghost to be forgotten');
  });

  it('keeps answering everyone while a peer leaves in the middle of a search loop', async () => {
    const carol = peers['carol']!;
    const c = await searcher();
    const answers: number[] = [];
    let left = false;
    const loop = (async () => {
      for (let i = 0; i < 60; i++) {
        answers.push((await c.search(parseQuery('together'))).length);
        if (i === 20) await carol.client.close().then(() => (left = true));
      }
    })();
    // Carol also searches while she leaves: her own search fails with a clear error, nobody else's does.
    const hers = carol.client.search(parseQuery('photo')).then(
      (r) => r.length,
      (e: unknown) => (e instanceof OverlayError ? e.code : 'other'),
    );
    await loop;
    assert.equal(left, true);
    assert.equal(answers.length, 60);
    assert.ok(answers.every((n) => n === 1 || n === 2));
    assert.equal(answers.at(-1), 1);
    assert.ok([1, 'closed'].includes(await hers));
    const alice = await peers['alice']!.client.search(parseQuery('notes'));
    assert.equal(alice.length, 1);
    assert.equal(server.stats().peers, 1);
  });

  it('with the server stopped, searching fails as unreachable, naming the single point of failure', async () => {
    const alone = new DirectoryServer();
    const at = await alone.listen('127.0.0.1', 0);
    const client = await DirectoryClient.connect(at);
    const gone = new Promise<Error | undefined>((resolve) => client.onClose(resolve));
    await alone.close();
    await assert.rejects(client.search(parseQuery('anything')), (e: unknown) => e instanceof OverlayError && e.code === 'unreachable' && /single point of failure/.test(e.message));
    const reason = await gone;
    assert.ok(reason instanceof OverlayError && reason.code === 'unreachable');
    await assert.rejects(DirectoryClient.connect(at), (e: unknown) => {
      assert.ok(e instanceof OverlayError);
      assert.equal(e.code, 'unreachable');
      assert.match(e.message, new RegExp(`^directory server ${formatEndpoint(at).replace(/\./g, '\\.')} is unreachable \\(ECONNREFUSED\\): the directory is the single point of failure`));
      return true;
    });
  });

  it('a raw peer sees the server close its connection after bye', async () => {
    const raw = await rawConnect(address);
    raw.write(encodeFrame({ t: 'bye' }));
    await closed(raw);
  });
});
