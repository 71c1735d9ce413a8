import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { daemonPaths, DaemonError, loadConfig } from '../../src/web/index.js';

/* daemon.json: made at the first start with a new token, private, kept; a broken one is named, never replaced. */

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peerkit-web-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('daemon config', () => {
  it('creates daemon.json with a random token, readable by its owner only, and reads the same one back', async () => {
    const paths = daemonPaths({ configDir: join(dir, 'a', 'config'), dataDir: join(dir, 'a', 'data') });
    const first = await loadConfig(paths);
    assert.equal(first.created, true);
    assert.match(first.config.token, /^[A-Za-z0-9_-]{32}$/);
    assert.equal((await stat(paths.configFile)).mode & 0o777, 0o600);
    assert.equal(first.config.uiPort, 9080);
    assert.equal(first.config.uiHost, '127.0.0.1');
    assert.equal(first.config.downloadDir, join(dir, 'a', 'data', 'downloads'));
    const again = await loadConfig(paths);
    assert.equal(again.created, false);
    assert.equal(again.config.token, first.config.token);
  });

  it('names a daemon.json it cannot use, and leaves it as it is', async () => {
    const paths = daemonPaths({ configDir: join(dir, 'b'), dataDir: join(dir, 'b') });
    await loadConfig(paths);
    for (const text of ['{ not json', '{"token": "short"}', '{"token": "0123456789abcdef", "uiPort": 70000}']) {
      await writeFile(paths.configFile, text);
      await assert.rejects(loadConfig(paths), (e: unknown) => e instanceof DaemonError && e.code === 'bad-config' && e.message.includes(paths.configFile));
      assert.equal(await readFile(paths.configFile, 'utf8'), text);
    }
  });
});
