import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from '../cli/run.js';
import { bytesOf } from '../metainfo/fixtures.js';
import type { TorrentSummary, TrackerView } from '../../src/web/index.js';
import { request, spawnPeerkit, startDaemon, until, type RunningDaemon, type Spawned } from './daemon.js';

/*
 * The web UI in a real browser (Debian's chromium, driven by
 * playwright-core), as a person uses it: log in with the printed link, add
 * a torrent that another `peerkit seed` process seeds, open its peers and
 * its pieces while it downloads, watch it reach 100%, look at the DHT, the
 * tracker and the lab. Screenshots at 1280x800 and at phone width go to
 * test-artifacts/. Everything is on 127.0.0.1: the daemon, the seeder, a
 * second downloader (so pieces differ in availability) and a DHT node to
 * bootstrap from.
 *
 * Without chromium the test is skipped with a loud message; in CI
 * (CI=true), where .ci/run installs it, it fails instead.
 */

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');
const MiB = 1024 * 1024;

function requireChromium(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return true;
  const why = `chromium not installed at ${CHROMIUM}: apt-get install -y chromium`;
  if (process.env['CI'] === 'true') throw new Error(`browser missing in CI (${why}); .ci/run is supposed to install it`);
  process.stderr.write(`SKIPPED e2e (${why})\n`);
  t.skip(`SKIPPED e2e (${why})`);
  return false;
}

async function launch(dir: string): Promise<BrowserContext> {
  // A fresh profile; without the background-networking flags Chromium reaches for the network on its own.
  return chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

test('the web UI: add a torrent a seeder has, watch it download in the peers and pieces views, to 100%', { timeout: 180_000 }, async (t) => {
  if (!requireChromium(t)) return;
  await mkdir(ARTIFACTS, { recursive: true });
  const dir = await mkdtemp(join(tmpdir(), 'peerkit-e2e-'));
  const env = { XDG_DATA_HOME: join(dir, 'xdg-data'), XDG_CONFIG_HOME: join(dir, 'xdg-config') };
  const processes: (Spawned | RunningDaemon)[] = [];
  let context: BrowserContext | undefined;
  try {
    // A DHT node to bootstrap from, with a dead address as its own bootstrap: it stays on loopback.
    const dhtNode = await spawnPeerkit(['dht', '--host', '127.0.0.1', '--port', '0', '--bootstrap', '127.0.0.1:9', '--state', join(dir, 'node.dat')], /dht node [0-9a-f]{40} on 127\.0\.0\.1:\d+/, env);
    processes.push(dhtNode);
    const bootstrap = `127.0.0.1:${/on 127\.0\.0\.1:(\d+)/.exec(dhtNode.stdout())![1]}`;
    const daemon = await startDaemon(join(dir, 'daemon'), ['--bootstrap', bootstrap]);
    processes.push(daemon);

    // The data, its torrent (announcing to the daemon's own tracker), and a seeder that uploads at 1 MB/s, so the download takes seconds to watch.
    const data = bytesOf(12 * MiB, 42);
    await mkdir(join(dir, 'seed'), { recursive: true });
    await writeFile(join(dir, 'seed', 'lecture.mp4'), data);
    const torrent = join(dir, 'lecture.torrent');
    const created = await spawnPeerkit(['create', join(dir, 'seed', 'lecture.mp4'), '-t', daemon.trackerUrl!, '-l', '32K', '-o', torrent], /^infohash/m, env);
    await created.stop();
    const seeder = await spawnPeerkit(['seed', torrent, join(dir, 'seed', 'lecture.mp4'), '--host', '127.0.0.1', '--port', '0', '--bootstrap', bootstrap, '--max-upload', '1MB'], /^seeding .* on port \d+/m, env);
    processes.push(seeder);

    // A second downloader, slower, started first: when the daemon joins, the pieces it has are on two peers, the others on one.
    const leecher = await spawnPeerkit(['get', torrent, '-o', join(dir, 'leech'), '--host', '127.0.0.1', '--port', '0', '--no-dht', '--max-download', '400K', '--max-upload', '300K'], null, env);
    processes.push(leecher);
    await until('the seeder and the leecher announced', async () => ((await request(daemon, 'GET', '/api/tracker')).json<TrackerView>().stats!.peers >= 2 ? true : undefined));

    context = await launch(dir);
    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));

    // The printed link logs the browser in, and the token leaves the address bar.
    await page.goto(daemon.loginUrl);
    await page.getByRole('heading', { name: 'Torrents' }).waitFor();
    assert.equal(new URL(page.url()).search, '', 'no token in the address bar');
    await page.getByText('No torrents yet.').waitFor();

    // Add the .torrent by file.
    await page.getByRole('button', { name: '+ Add torrent' }).click();
    await page.locator('#add-file').setInputFiles(torrent);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByText('Added lecture.mp4').waitFor();
    const row = page.locator('li.torrent', { hasText: 'lecture.mp4' });
    await row.waitFor();

    // Its peers, while it downloads: the seeder is there (it has every piece), unchoking us. It may have dialled us
    // (peer exchange told it of us), so its address is not always its listening port.
    await row.getByRole('link', { name: 'lecture.mp4' }).click();
    await page.getByRole('link', { name: /^Peers/ }).click();
    const seederRow = page.locator('table.peers tbody tr', { has: page.locator('td[data-label="Has"]', { hasText: /^100%$/ }) });
    await seederRow.waitFor({ timeout: 20_000 });
    await seederRow.getByText('peerkit 0.1.0').waitFor();
    await seederRow.locator('.dir.flowing').first().waitFor();
    await page.locator('table.peers tbody tr').nth(1).waitFor({ timeout: 20_000 }); // the leecher too
    await shot(page, 'peers-1280x800');

    // Its pieces, on the way: some ours, the rest coloured by availability.
    await page.getByRole('link', { name: 'Pieces' }).click();
    const map = page.getByRole('img', { name: /piece map: \d+ of 384 pieces verified/ });
    await map.waitFor();
    await page.getByText(/of 384 pieces \(32 KiB each\) verified/).waitFor();
    await page.getByText('on 2 (common)').waitFor({ timeout: 20_000 }); // availability differs: 1 or 2 peers
    await shot(page, 'pieces-1280x800');
    const midway = await map.getAttribute('aria-label');
    assert.doesNotMatch(midway!, /384 of 384/, 'the piece map was seen before the end');

    // The rates chart, then back to the list to watch it finish.
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('img', { name: /download and upload rate/ }).waitFor();
    await shot(page, 'torrent-overview-1280x800');
    await page.getByRole('link', { name: '← Torrents' }).click();
    await row.getByRole('progressbar').getByText('100%').waitFor({ timeout: 60_000 });
    await row.getByText('seeding').waitFor();
    await shot(page, 'torrents-1280x800');
    const list = (await request(daemon, 'GET', '/api/torrents')).json<TorrentSummary[]>();
    assert.deepEqual(await readFile(join(list[0]!.savePath, 'lecture.mp4')), Buffer.from(data), 'every byte arrived');

    // The DHT, the tracker, the lab.
    await page.getByRole('link', { name: 'DHT' }).click();
    await page.getByRole('table', { name: 'DHT nodes' }).getByText(bootstrap).waitFor();
    await shot(page, 'dht-1280x800');
    await page.getByRole('link', { name: 'Tracker' }).click();
    await page.locator('.stat', { hasText: 'torrents' }).getByText('1', { exact: true }).waitFor();
    await shot(page, 'tracker-1280x800');
    await page.getByRole('link', { name: 'Lab' }).click();
    await page.getByLabel('N, peers (up to 50)').fill('1, 2, 5, 10');
    await page.getByRole('button', { name: 'Run the experiment' }).click();
    await page.getByRole('img', { name: /time to distribute against N/ }).waitFor({ timeout: 60_000 });
    assert.equal(await page.getByRole('table', { name: 'results' }).locator('tbody tr').count(), 8);
    await shot(page, 'lab-1280x800');

    // Phone width: the same pages fit.
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${daemon.base}/`);
    await phone.locator('li.torrent', { hasText: 'lecture.mp4' }).getByText('100%').waitFor();
    await shot(phone, 'torrents-390x844');
    const hash = list[0]!.infoHash;
    await phone.goto(`${daemon.base}/#/torrent/${hash}/pieces`);
    await phone.getByRole('img', { name: 'piece map: 384 of 384 pieces verified' }).waitFor();
    await shot(phone, 'pieces-390x844');
    await phone.goto(`${daemon.base}/#/torrent/${hash}/peers`);
    await phone.getByRole('link', { name: /^Peers/ }).waitFor();
    await shot(phone, 'peers-390x844');
    // Runs in the page (a string: this file is compiled without the DOM's types).
    const overflow = await phone.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    assert.equal(overflow, 0, 'nothing sticks out sideways at phone width');
    await phone.goto(`${daemon.base}/#/lab`);
    await phone.getByRole('img', { name: /time to distribute against N/ }).waitFor();
    await shot(phone, 'lab-390x844');

    // Removed elsewhere (here by the API) while its page is open: the page says so and goes back to the list.
    await page.goto(`${daemon.base}/#/torrent/${hash}/overview`);
    await page.getByRole('heading', { name: 'lecture.mp4' }).waitFor();
    assert.equal((await request(daemon, 'DELETE', `/api/torrents/${hash}`)).status, 200);
    await page.getByText('This torrent was removed.').waitFor();
    await page.getByText('No torrents yet.').waitFor();

    assert.deepEqual(problems, [], 'no errors in the page');

    // The browser goes away with its event streams open; the daemon does not notice beyond closing them.
    await context.close();
    context = undefined;
    assert.equal((await request(daemon, 'GET', '/api/session')).status, 200);
    assert.equal(daemon.child.exitCode, null);
  } catch (e) {
    // What the browser showed when it went wrong, next to the other screenshots.
    const page = context?.pages()[0];
    if (page !== undefined) await shot(page, 'failure').catch(() => undefined);
    throw e;
  } finally {
    await context?.close().catch(() => undefined);
    for (const p of processes.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
