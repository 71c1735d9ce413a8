import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommandError, UsageError } from '../../../src/cli/errors.js';
import { MAX_GET_SOURCES, overlayCommand, type OverlayKind, type SearchContext } from '../../../src/cli/overlay.js';
import type { Source } from '../../../src/overlay/index.js';
import { shareFolder, tempDir } from './helpers.js';

/*
 * `peerkit <overlay> get` with an overlay that answers whatever the test
 * says: however many sources the overlay names, get tries at most
 * MAX_GET_SOURCES of them; --max-size refuses a source before fetching;
 * an error of the local disk stops get instead of trying the next source.
 */

const HASH = 'ab'.repeat(20);

/** An overlay whose search names the given sources. */
function fakeKind(sources: () => readonly Source[]): OverlayKind {
  return {
    name: 'fake',
    summary: 'a test overlay',
    about: 'A test overlay.',
    contactFlag: 'server',
    contactHelp: 'ignored',
    serveTakesContacts: false,
    shareNeedsContact: true,
    defaultPort: 1,
    defaultTtl: undefined,
    defaultWaitSeconds: 1,
    serve: () => Promise.reject(new Error('not here')),
    share: () => Promise.reject(new Error('not here')),
    search: (ctx: SearchContext) => {
      for (const s of sources()) ctx.onHit(s, 1);
      return Promise.resolve();
    },
  };
}

/** Run `args` through the command, with what it writes on stderr and stdout captured. */
async function run(kind: OverlayKind, args: readonly string[]): Promise<{ result: number | Error; stderr: string[]; stdout: string }> {
  const stderr: string[] = [];
  let stdout = '';
  const realErr = process.stderr.write.bind(process.stderr);
  const realOut = process.stdout.write.bind(process.stdout);
  process.stderr.write = ((chunk: string | Uint8Array) => (stderr.push(String(chunk)), true)) as typeof process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  try {
    return { result: await overlayCommand(kind).run(args), stderr, stdout };
  } catch (e) {
    return { result: e as Error, stderr, stdout };
  } finally {
    process.stderr.write = realErr;
    process.stdout.write = realOut;
  }
}

/** `n` ports of 127.0.0.1 that nothing listens on (listened on, then closed). */
async function closedPorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  for (let i = 0; i < n; i++) {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
  }
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

describe('peerkit <overlay> get', () => {
  let root: { path: string; remove: () => Promise<void> };
  before(async () => {
    root = await tempDir('cli-get');
  });
  after(() => root.remove());

  it(`tries at most ${MAX_GET_SOURCES} of the sources an overlay names`, { timeout: 60_000 }, async () => {
    const ports = await closedPorts(MAX_GET_SOURCES + 50);
    const sources = ports.map((port) => ({ hash: HASH, name: 'x.bin', size: 10, address: { host: '127.0.0.1', port } }));
    // Each source twice: duplicates are dropped before the cap counts.
    const { result, stderr } = await run(
      fakeKind(() => [...sources, ...sources]),
      ['get', HASH, '--server', '127.0.0.1:1', '-o', join(root.path, 'cap')],
    );
    assert.ok(result instanceof CommandError && /no source gave/.test(result.message), String(result));
    const tried = stderr.filter((l) => /^peerkit: 127\.0\.0\.1:\d+: cannot download/.test(l));
    assert.equal(tried.length, MAX_GET_SOURCES);
    assert.equal(stderr.filter((l) => /more than 200 sources answered; trying the first 200/.test(l)).length, 1);
  });

  it('--max-size refuses a source whose file is larger, before fetching', async () => {
    const { files, server } = await shareFolder(join(root.path, 'share'), { 'two.bin': new Uint8Array(2048).fill(2) });
    try {
      const f = files[0]!;
      const kind = fakeKind(() => [{ hash: f.hash, name: f.name, size: f.size, address: server.address }]);
      const out = join(root.path, 'max');
      const refused = await run(kind, ['get', f.hash, '--server', '127.0.0.1:1', '-o', out, '--max-size', '1KiB']);
      assert.ok(refused.result instanceof CommandError && /over the limit of 1024/.test(refused.result.message), String(refused.result));
      assert.equal(server.stats.requests, 0);
      const taken = await run(kind, ['get', f.hash, '--server', '127.0.0.1:1', '-o', out, '--max-size', '2KiB']);
      assert.equal(taken.result, 0);
      assert.equal(taken.stdout, `${join(out, 'two.bin')}\n`);
      const bad = await run(kind, ['get', f.hash, '--server', '127.0.0.1:1', '--max-size', 'lots']);
      assert.ok(bad.result instanceof UsageError && /--max-size "lots" is not a size/.test(bad.result.message), String(bad.result));
    } finally {
      await server.close();
    }
  });

  it('stops at an error of the local disk instead of trying the next source', async () => {
    const { files, server } = await shareFolder(join(root.path, 'share2'), { 'three.bin': new Uint8Array(3000).fill(3) });
    try {
      const f = files[0]!;
      const source = { hash: f.hash, name: f.name, size: f.size, address: server.address };
      const ports = await closedPorts(1);
      const kind = fakeKind(() => [source, { ...source, address: { host: '127.0.0.1', port: ports[0]! } }]);
      // The output folder is under a file: the folder cannot be made.
      await mkdir(join(root.path, 'disk'));
      await writeFile(join(root.path, 'disk', 'file'), 'x');
      const { result, stderr } = await run(kind, ['get', f.hash, '--server', '127.0.0.1:1', '-o', join(root.path, 'disk', 'file', 'out')]);
      assert.ok(result instanceof CommandError && /cannot create the folder .*not a folder \(ENOTDIR\).*not trying other sources/.test(result.message), String(result));
      assert.deepEqual(stderr, []);
    } finally {
      await server.close();
    }
  });
});
