import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, isCleanFailure, peerkit } from './run.js';

/*
 * The three search overlays as a user runs them: real `peerkit` processes
 * on 127.0.0.1 (serve, share, search, get), the downloaded file compared
 * byte for byte, and the errors a user sees.
 */

interface Running {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves when stderr (or stdout) has matched `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<number | null>;
}

function start(args: readonly string[], cwd: string): Running {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PEERKIT_DEBUG: undefined } });
  const r: Running = {
    child,
    stdout: '',
    stderr: '',
    waitFor: (re, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${re} from peerkit ${args.join(' ')}; stderr: ${r.stderr}`)), timeoutMs);
        const check = (): void => {
          if (re.test(r.stderr) || re.test(r.stdout)) {
            clearTimeout(timer);
            resolve();
          } else if (child.exitCode !== null) {
            clearTimeout(timer);
            reject(new Error(`peerkit ${args.join(' ')} exited ${child.exitCode}: ${r.stderr}`));
          } else setTimeout(check, 25);
        };
        check();
      }),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('close', (code) => resolve(code));
        child.kill('SIGINT');
      }),
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (r.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (r.stderr += d));
  return r;
}

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const overlays = [
  { name: 'directory', flag: '--server', ready: /registered 1 file/ },
  { name: 'flood', flag: '--peer', ready: /joined with \d+ neighbour/ },
  { name: 'superpeer', flag: '--leader', ready: /attached to leader/ },
] as const;

describe('peerkit directory | flood | superpeer', () => {
  let dir: string;
  const movie = randomBytes(1_500_000);
  const running: Running[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'peerkit-overlay-cli-'));
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    await writeFile(join(dir, 'a', 'Night of the Living Dead (1968).mkv'), movie);
    await writeFile(join(dir, 'b', 'notes.txt'), 'nothing to see\n');
  });
  after(async () => {
    await Promise.all(running.map((r) => r.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  for (const o of overlays) {
    it(`${o.name}: serve, share, search by keywords, get by hash: the file arrives intact; Ctrl-C stops the nodes`, async () => {
      const port = await freePort();
      const node = start([o.name, 'serve', '--host', '127.0.0.1', '--port', String(port)], dir);
      running.push(node);
      await node.waitFor(/listening on 127\.0\.0\.1:/);
      const contact = `127.0.0.1:${port}`;
      const sharer = start([o.name, 'share', 'a', o.flag, contact, '--host', '127.0.0.1', '--port', String(await freePort())], dir);
      running.push(sharer);
      await sharer.waitFor(o.ready);
      const hash = sharer.stdout.split(' ')[0]!;
      assert.match(sharer.stdout, /^[0-9a-f]{40} 1500000 "Night of the Living Dead \(1968\)\.mkv"\n$/);

      const found = await peerkit([o.name, 'search', 'living DEAD', o.flag, contact, '--wait', '2']);
      assert.equal(found.code, 0, found.stderr);
      const [line, ...rest] = found.stdout.trim().split('\n');
      assert.equal(rest.length, 0);
      assert.match(line!, new RegExp(`^${hash} "Night of the Living Dead \\(1968\\)\\.mkv" 1500000 127\\.0\\.0\\.1:\\d+$`));

      const out = join(dir, `out-${o.name}`);
      const got = await peerkit([o.name, 'get', hash, o.flag, contact, '-o', out, '--wait', '2']);
      assert.equal(got.code, 0, got.stderr);
      assert.match(got.stderr, /SHA-1 verified/);
      assert.deepEqual(await readFile(join(out, 'Night of the Living Dead (1968).mkv')), movie);

      const none = await peerkit([o.name, 'search', 'zombies', o.flag, contact, '--wait', '1']);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /nothing found for "zombies"/);

      assert.equal(await sharer.stop(), 130);
      assert.equal(await node.stop(), 130);
    });
  }

  it('directory: with the server down, a search fails and says why (the single point of failure)', async () => {
    const r = await peerkit(['directory', 'search', 'anything', '--server', `127.0.0.1:${await freePort()}`]);
    assert.ok(isCleanFailure(r), r.stderr);
    assert.match(r.stderr, /unreachable.*single point of failure/);
  });

  it('usage mistakes are one line and exit 2', async () => {
    for (const args of [
      ['flood', 'search', 'x'],
      ['directory', 'get', 'not-a-hash', '--server', '127.0.0.1:1'],
      ['superpeer', 'search', 'x', '--leader', 'nowhere'],
      ['flood', 'search', 'x', '--peer', '127.0.0.1:1', '--ttl', '9'],
      ['directory', 'search', 'x', '--server', '127.0.0.1:1', '--ttl', '3'],
      ['superpeer', 'bogus'],
      ['flood', 'share', '--peer', '127.0.0.1:1'],
    ]) {
      const r = await peerkit(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(isCleanFailure(r), r.stderr);
    }
  });
});
