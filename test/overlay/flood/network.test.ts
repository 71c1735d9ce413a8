import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { seededRandom } from '../../../src/net/index.js';
import { downloadFromAny, formatEndpoint, parseQuery, scanShared, serveFiles, type FileServer, type LocalFile, type Query } from '../../../src/overlay/index.js';
import { floodCost, type FloodHit } from '../../../src/overlay/flood/index.js';
import { chainJoin, closeAll, startNodes, until, waitSettled, type Started } from './helpers.js';

/*
 * Ten real nodes on 127.0.0.1, joined one after another through a random
 * earlier node; three of them share real files over HTTP. A search from the
 * far side of the graph finds each file at its server's address, with the
 * hop count of the graph distance, and the download verifies. A node that
 * leaves while a query is in flight breaks nothing: its neighbours replace
 * it on the next maintenance ticks and later searches still succeed.
 */

const TARGET = 2;
const SHARERS = [1, 4, 7];
const NAMES = ['alpha-song.mp3', 'beta-notes.txt', 'gamma-video.mkv'];

describe('a flood network of 10 nodes', () => {
  let dir = '';
  let nodes: Started[] = [];
  const servers: FileServer[] = [];
  const shared: LocalFile[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'peerkit-flood-'));
    const random = seededRandom(7);
    for (const name of NAMES) {
      await writeFile(join(dir, name), Uint8Array.from({ length: 50_000 + Math.floor(random() * 50_000) }, () => Math.floor(random() * 256)));
      const [file] = await scanShared([join(dir, name)]);
      shared.push(file!);
      servers.push(await serveFiles([file!], '127.0.0.1', 0));
    }
    nodes = await startNodes(10, (i) => {
      const k = SHARERS.indexOf(i);
      const base = { targetNeighbours: TARGET, maxNeighbours: 4, maintainMs: 200, connectTimeoutMs: 2_000 };
      return k < 0 ? base : { ...base, files: [shared[k]!], filesPort: servers[k]!.address.port };
    });
    await chainJoin(nodes, 42);
  });

  after(async () => {
    await closeAll(nodes);
    await Promise.all(servers.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  /** The node farthest from `sharer` in the graph now, and its distance. */
  async function farthestFrom(sharer: Started): Promise<{ searcher: Started; distance: number }> {
    const graph = await waitSettled(nodes);
    const { distances } = floodCost(graph, sharer.key, 0);
    assert.equal(distances.size, nodes.length, 'the graph is connected');
    const [key, distance] = [...distances].reduce((a, b) => (b[1] > a[1] ? b : a));
    return { searcher: nodes.find((s) => s.key === key)!, distance };
  }

  /** Search until a hit for `hash` arrives (or 5 s pass). */
  async function find(from: Started, query: Query, hash: string): Promise<FloodHit[]> {
    const stop = new AbortController();
    const { hits } = await from.node.search(query, { ttl: 7, waitMs: 5_000, signal: stop.signal, onHit: (s) => s.hash === hash && stop.abort() });
    return hits;
  }

  it('finds a file by keywords from the far side, at the right address and hop count, and downloads it', async () => {
    const { searcher, distance } = await farthestFrom(nodes[SHARERS[0]!]!);
    const hits = await find(searcher, parseQuery('Alpha SONG'), shared[0]!.hash);
    assert.deepEqual(hits, [{ source: { hash: shared[0]!.hash, name: 'alpha-song.mp3', size: shared[0]!.size, address: servers[0]!.address }, hops: distance }]);
    const out = join(dir, 'out');
    const got = await downloadFromAny(hits.map((h) => h.source), out);
    assert.deepEqual(await readFile(got.path), await readFile(shared[0]!.path));
  });

  it('finds a file by its hash', async () => {
    const { searcher, distance } = await farthestFrom(nodes[SHARERS[1]!]!);
    const hits = await find(searcher, parseQuery(shared[1]!.hash.toUpperCase()), shared[1]!.hash);
    assert.equal(hits.length, 1);
    assert.equal(hits[0]!.source.name, 'beta-notes.txt');
    assert.deepEqual(hits[0]!.source.address, servers[1]!.address);
    assert.equal(hits[0]!.hops, distance);
  });

  it('keeps working when a node leaves with a query in flight: its neighbours replace it', async () => {
    const graph = await waitSettled(nodes);
    const searcher = nodes[9]!;
    const free = (s: Started): boolean => !SHARERS.some((i) => nodes[i] === s) && s !== searcher;
    // A node with just TARGET neighbours loses one that neither shares nor searches: it must find another.
    const short = nodes.find((s) => graph.get(s.key)!.length === TARGET && nodes.some((v) => free(v) && graph.get(s.key)!.includes(v.key)))!;
    assert.ok(short, `some node has just ${TARGET} neighbours, one of which neither shares nor searches`);
    const victim = nodes.find((v) => free(v) && graph.get(short.key)!.includes(v.key))!;
    const before = new Set(graph.get(short.key));
    const pending = searcher.node.search(parseQuery('gamma'), { ttl: 7, waitMs: 500 });
    await victim.node.close();
    await pending;

    const rest = nodes.filter((s) => s !== victim);
    await until(() => rest.every((s) => s.node.stats().neighbours >= TARGET && !s.node.neighbours().some((e) => formatEndpoint(e) === victim.key)), `every remaining node is back to ${TARGET} neighbours, none of them the one that left`);
    assert.ok(
      short.node.neighbours().some((e) => !before.has(formatEndpoint(e))),
      'the node that ran short has a new neighbour',
    );
    nodes = rest;
    for (const [i, file] of shared.entries()) {
      const hits = await find(searcher, parseQuery(file.hash), file.hash);
      assert.deepEqual(
        hits.map((h) => h.source.address),
        [servers[i]!.address],
        `${file.name} is still found`,
      );
    }
    assert.equal(
      rest.reduce((n, s) => n + s.node.stats().badPeers, 0),
      0,
      'no node saw a protocol violation',
    );
    nodes.push(victim); // after() closes it again: closing twice is harmless
  });
});
