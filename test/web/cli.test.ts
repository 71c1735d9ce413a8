import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCleanFailure, peerkit } from '../cli/run.js';
import { startDaemon } from './daemon.js';

/* `peerkit daemon` as a command: its help, its usage mistakes, a port already taken, each named by the option that sets it. */

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peerkit-web-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('peerkit daemon (the command)', () => {
  it('is listed by peerkit --help, and its --help names every option', async () => {
    const top = await peerkit(['--help']);
    assert.match(top.stdout, /^ {2}daemon +run the daemon with its web UI on http:\/\/127\.0\.0\.1:9080/m);
    const r = await peerkit(['daemon', '--help']);
    assert.equal(r.code, 0);
    for (const flag of ['--port', '--host', '--allow-host', '--download-dir', '--config-dir', '--data-dir', '--peer-port', '--peer-host', '--tracker-port', '--tracker-host', '--announce-url', '--no-tracker', '--max-upload', '--max-download', '--bootstrap', '--no-dht']) {
      assert.match(r.stdout, new RegExp(`^ +${flag}\\b`, 'm'), flag);
    }
  });

  it('a usage mistake is one line and exit 2', async () => {
    for (const args of [['--port', 'http'], ['--peer-port', '70000'], ['extra'], ['--host', 'my-laptop'], ['--announce-url', 'not a url'], ['--max-upload', 'fast'], ['--bogus']]) {
      const r = await peerkit(['daemon', '--config-dir', join(dir, 'c'), '--data-dir', join(dir, 'd'), ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(isCleanFailure(r), r.stderr);
    }
  });

  it('a peer port already in use is one line that names --peer-port (--port is the web UI)', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const taken = (busy.address() as AddressInfo).port;
      const r = await peerkit(['daemon', '--config-dir', join(dir, 'p'), '--data-dir', join(dir, 'p'), '--port', '0', '--peer-host', '127.0.0.1', '--peer-port', String(taken), '--no-tracker', '--no-dht']);
      assert.equal(r.code, 1, r.stderr);
      assert.ok(isCleanFailure(r), r.stderr);
      assert.match(r.stderr, new RegExp(`port ${taken} is already in use: choose another with --peer-port$`, 'm'));
    } finally {
      busy.close();
    }
  });

  it("a uiHost in daemon.json that is not an address is named as daemon.json's, not as --host", async () => {
    const config = join(dir, 'h', 'config');
    await mkdir(config, { recursive: true });
    await writeFile(join(config, 'daemon.json'), JSON.stringify({ token: 'abcdefghijklmnopqrstuvwx', uiHost: 'my-laptop' }));
    const r = await peerkit(['daemon', '--config-dir', config, '--data-dir', join(dir, 'h', 'data'), '--no-tracker', '--no-dht']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /"uiHost" in .*daemon\.json "my-laptop" must be an IP address or localhost/);
  });

  it('a web UI port already in use is one line that says what to do, and exit 1', async () => {
    const first = await startDaemon(join(dir, 'first'));
    try {
      const r = await peerkit(['daemon', '--config-dir', join(dir, 'c'), '--data-dir', join(dir, 'd'), '--port', String(first.port), '--peer-host', '127.0.0.1', '--peer-port', '0', '--tracker-port', '0', '--no-dht']);
      assert.equal(r.code, 1, r.stderr);
      assert.ok(isCleanFailure(r), r.stderr);
      assert.match(r.stderr, new RegExp(`port ${first.port} is already in use .*--port`));
    } finally {
      await first.stop();
    }
  });
});
