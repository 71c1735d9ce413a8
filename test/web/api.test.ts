import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseTorrent } from '../../src/metainfo/index.js';
import type { ApiErrorBody, LabView, SessionView, TorrentDetails, TorrentSummary, TrackerView } from '../../src/web/index.js';
import { bytesOf, multiInfo, singleInfo, torrentBytes } from '../metainfo/fixtures.js';
import { json, request, startDaemon, until, type RunningDaemon } from './daemon.js';

/*
 * The daemon's HTTP API as its clients meet it: the real `peerkit daemon`
 * process, over loopback. What is refused and how it says so, the life of a
 * torrent (add, pause, resume, remove), and what survives a restart.
 */

let dir: string;
let d: RunningDaemon;
const data = bytesOf(300_000, 7);
const single = torrentBytes(singleInfo(data, 16384, 'single.bin'), { announce: 'http://127.0.0.1:9/announce' });
const files = [
  { path: ['a.txt'], data: bytesOf(40_000, 1) },
  { path: ['sub', 'b.bin'], data: bytesOf(70_000, 2) },
];
const multi = torrentBytes(multiInfo(files, 16384, 'folder'), { announce: 'http://127.0.0.1:9/announce' });
const hashOf = (t: Uint8Array): string => parseTorrent(t).infoHashHex;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peerkit-web-api-'));
  d = await startDaemon(dir);
});
after(async () => {
  await d.stop();
  await rm(dir, { recursive: true, force: true });
});

async function torrent(hash: string): Promise<TorrentDetails> {
  const r = await request(d, 'GET', `/api/torrents/${hash}`);
  assert.equal(r.status, 200, r.text);
  return r.json<TorrentDetails>();
}

const inState = (hash: string, state: string) => async (): Promise<TorrentDetails | undefined> => {
  const t = await torrent(hash);
  return t.state === state ? t : undefined;
};

describe('peerkit daemon: who may use the API', () => {
  it('refuses a request without the token, or with a wrong one, with 401 and a JSON error that says what to send', async () => {
    for (const r of [
      await request(d, 'GET', '/api/torrents', { token: null }),
      await request(d, 'GET', '/api/torrents', { token: 'not-the-token-at-all' }),
      await request(d, 'GET', '/api/events', { token: null }),
      await request(d, 'POST', '/api/share', { token: null, body: '{"path":"/"}', type: 'application/json' }),
      await request(d, 'GET', '/api/torrents', { token: null, headers: { Cookie: `peerkit-${d.port}=wrong-token-value` } }),
    ]) {
      assert.equal(r.status, 401);
      const body = r.json<ApiErrorBody>();
      assert.equal(body.code, 'unauthorized');
      assert.match(body.error, /Authorization: Bearer <token>/);
    }
    assert.equal((await request(d, 'GET', '/api/torrents')).status, 200);
  });

  it('serves the UI itself without the token (it holds no data), but nothing else', async () => {
    const page = await request(d, 'GET', '/', { token: null });
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.match(page.text, /<script type="module" src="\/app.js">/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    assert.equal((await request(d, 'GET', '/app.js', { token: null })).status, 200);
    assert.equal((await request(d, 'GET', '/../config/daemon.json', { token: null })).status, 404);
  });

  it('the login link sets an HttpOnly, SameSite=Strict cookie that the API accepts; a wrong token sets none', async () => {
    const ok = await request(d, 'GET', `/login?token=${d.token}`, { token: null });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.location, '/', 'the token leaves the address bar');
    const cookie = String(ok.headers['set-cookie']);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const r = await request(d, 'GET', '/api/session', { token: null, headers: { Cookie: cookie.split(';')[0]! } });
    assert.equal(r.status, 200);
    assert.equal(r.json<SessionView>().dht, false);

    const bad = await request(d, 'GET', '/login?token=guess-guess-guess', { token: null });
    assert.equal(bad.status, 303);
    assert.equal(bad.headers['set-cookie'], undefined);
    const form = await request(d, 'POST', '/login', { token: null, body: '{"token":"guess-guess-guess"}', type: 'application/json' });
    assert.equal(form.status, 401);
  });

  it('refuses a Host that is not an address of this machine (DNS rebinding), even with the token', async () => {
    const r = await request(d, 'GET', '/api/torrents', { headers: { Host: `evil.example:${d.port}` } });
    assert.equal(r.status, 403);
    assert.match(r.json<ApiErrorBody>().error, /Host "evil\.example:\d+" is not this machine's address/);
    assert.equal((await request(d, 'GET', '/api/torrents', { headers: { Host: `localhost:${d.port}` } })).status, 200);
  });

  it('refuses a state-changing request sent by another site, even with the token', async () => {
    const body = JSON.stringify({ magnet: `magnet:?xt=urn:btih:${'c'.repeat(40)}&tr=http://127.0.0.1:9/announce` });
    const r = await request(d, 'POST', '/api/torrents', { body, type: 'application/json', headers: { Origin: 'http://evil.example' } });
    assert.equal(r.status, 403);
    assert.match(r.json<ApiErrorBody>().error, /another site/);
    const list = (await request(d, 'GET', '/api/torrents')).json<TorrentSummary[]>();
    assert.ok(!list.some((t) => t.infoHash === 'c'.repeat(40)), 'nothing was added');
  });
});

describe('peerkit daemon: bad input gets a clear JSON error', () => {
  const cases: readonly [string, string, string | undefined, string | undefined, number, RegExp][] = [
    ['POST', '/api/torrents', 'hello', 'text/plain', 415, /send a \.torrent as application\/x-bittorrent/],
    ['POST', '/api/torrents', '{"magnet": ', 'application/json', 400, /not valid JSON/],
    ['POST', '/api/torrents', '[1, 2]', 'application/json', 400, /must be a JSON object/],
    ['POST', '/api/torrents', '{"magnet": "nope"}', 'application/json', 400, /magnet/],
    ['POST', '/api/torrents', '{"magnet": 42}', 'application/json', 400, /"magnet" must be a string/],
    ['POST', '/api/torrents', '{}', 'application/json', 400, /expected \{"magnet"/],
    ['POST', '/api/torrents', 'd4:infoi1ee', 'application/x-bittorrent', 400, /info/],
    ['POST', '/api/torrents', `{"magnet": "magnet:?xt=urn:btih:${'a'.repeat(40)}"}`, 'application/json', 400, /the DHT is off, and the magnet link names no tracker/],
    ['POST', '/api/torrents', '{"url": "ftp://example.org/x.torrent"}', 'application/json', 400, /http:\/\/, https:\/\/ or magnet:/],
    ['GET', '/api/torrents/xyz', undefined, undefined, 400, /"xyz" is not an info hash/],
    ['GET', `/api/torrents/${'e'.repeat(40)}`, undefined, undefined, 404, /no torrent e{40}/],
    ['GET', '/api/nothing-here', undefined, undefined, 404, /no such API route/],
    ['DELETE', '/api/torrents', undefined, undefined, 405, /DELETE is not allowed/],
    ['POST', '/api/share', '{"path": "relative/dir"}', 'application/json', 400, /must be absolute/],
    ['POST', '/api/share', '{"path": "/no/such/folder/anywhere"}', 'application/json', 400, /no such file or folder/],
    ['POST', '/api/lab/distribution', '{"peers": [0, 1000]}', 'application/json', 400, /"peers" must be a list/],
    ['POST', '/api/lab/distribution', '{"size": "big"}', 'application/json', 400, /"size" must be a number/],
  ];
  for (const [method, path, body, type, status, message] of cases) {
    it(`${method} ${path} ${body ?? ''} → ${status}`, async () => {
      const r = await request(d, method, path, { ...(body !== undefined && { body }), ...(type !== undefined && { type }) });
      assert.equal(r.status, status, r.text);
      assert.match(String(r.headers['content-type']), /application\/json/);
      const e = r.json<ApiErrorBody>();
      assert.match(e.error, message);
      assert.equal(typeof e.code, 'string');
    });
  }

  it('a body larger than the limit is refused with 413 before it is read', async () => {
    const r = await request(d, 'POST', '/api/share', { body: JSON.stringify({ path: 'x'.repeat(100_000) }), type: 'application/json' });
    assert.equal(r.status, 413);
    assert.match(r.json<ApiErrorBody>().error, /at most 65536/);
  });
});

describe('peerkit daemon: the lab', () => {
  it('runs the distribution experiment on request and keeps the result', async () => {
    const r = await json(d, 'POST', '/api/lab/distribution', { peers: [1, 3], size: 256 * 1024 });
    assert.equal(r.status, 200, r.text);
    const view = r.json<LabView>();
    assert.equal(view.state, 'done');
    assert.deepEqual(view.rows.map((row) => [row.mode, row.n]), [['client-server', 1], ['client-server', 3], ['p2p', 1], ['p2p', 3]]);
    for (const row of view.rows) assert.ok(row.ratio >= 1 - 1e-9, `${row.mode} ${row.n}: never faster than its lower bound`);
    assert.match(view.svg!, /^<svg[^>]*>/);
    assert.deepEqual((await request(d, 'GET', '/api/lab')).json<LabView>().rows, view.rows);
  });
});

describe('peerkit daemon: a torrent from add to remove, and a restart', () => {
  const singleHash = hashOf(single);
  const multiHash = hashOf(multi);
  let have: string;
  let empty: string;
  let sharedHash = '';

  before(async () => {
    have = join(dir, 'have');
    empty = join(dir, 'empty');
    await mkdir(join(have, 'folder', 'sub'), { recursive: true });
    await writeFile(join(have, 'single.bin'), data);
    for (const f of files) await writeFile(join(have, 'folder', ...f.path), f.data);
  });

  it('adds a .torrent whose data is there: it is checked, then seeds at 100%; adding it twice is a conflict', async () => {
    const r = await request(d, 'POST', `/api/torrents?savePath=${encodeURIComponent(have)}`, { body: single, type: 'application/x-bittorrent' });
    assert.equal(r.status, 201, r.text);
    const added = r.json<TorrentSummary>();
    assert.equal(added.infoHash, singleHash);
    assert.equal(added.name, 'single.bin');
    const t = await until('seeding', inState(singleHash, 'seeding'));
    assert.equal(t.progress, 1);
    assert.equal(t.have, '1'.repeat(t.pieceCount));
    assert.equal(t.files[0]!.done, data.length);
    const again = await request(d, 'POST', `/api/torrents?savePath=${encodeURIComponent(have)}`, { body: single, type: 'application/x-bittorrent' });
    assert.equal(again.status, 409);
    assert.match(again.json<ApiErrorBody>().error, /already in the daemon/);
  });

  it('pauses (progress stays, no peers) and resumes (checked again from the resume data, seeding)', async () => {
    const paused = await request(d, 'POST', `/api/torrents/${singleHash}/pause`);
    assert.equal(paused.status, 200);
    assert.equal(paused.json<TorrentSummary>().state, 'paused');
    const t = await torrent(singleHash);
    assert.equal(t.state, 'paused');
    assert.equal(t.progress, 1, 'a paused torrent still shows what it has');
    assert.equal((await request(d, 'GET', `/api/torrents/${singleHash}/peers`)).text, '[]');
    assert.equal((await request(d, 'POST', `/api/torrents/${singleHash}/resume`)).status, 200);
    await until('seeding again', inState(singleHash, 'seeding'));
  });

  it('adds a multi-file torrent from a browser form to an empty folder; skipping a file and raising one are kept', async () => {
    const boundary = 'peerkit-test-boundary';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="savePath"\r\n\r\n${empty}\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="torrent"; filename="folder.torrent"\r\nContent-Type: application/x-bittorrent\r\n\r\n`),
      Buffer.from(multi),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const r = await request(d, 'POST', '/api/torrents', { body, type: `multipart/form-data; boundary=${boundary}` });
    assert.equal(r.status, 201, r.text);
    const t = await until('downloading', inState(multiHash, 'downloading'));
    assert.deepEqual(
      t.files.map((f) => [f.path, f.size, f.priority]),
      [
        ['folder/a.txt', 40_000, 'normal'],
        ['folder/sub/b.bin', 70_000, 'normal'],
      ],
    );
    const changed = await json(d, 'PATCH', `/api/torrents/${multiHash}/files`, { files: [{ index: 0, priority: 'skip' }, { index: 1, priority: 'high' }] });
    assert.equal(changed.status, 200, changed.text);
    assert.deepEqual(changed.json<TorrentDetails>().files.map((f) => f.priority), ['skip', 'high']);
    const bad = await json(d, 'PATCH', `/api/torrents/${multiHash}/files`, { files: [{ index: 5, priority: 'high' }] });
    assert.equal(bad.status, 400);
    assert.match(bad.json<ApiErrorBody>().error, /no file 5 \(the torrent has 2\)/);
  });

  it('shares a folder: makes the torrent with the embedded tracker in it, seeds it, and the tracker hears of it', async () => {
    const photos = join(have, 'photos');
    await mkdir(photos, { recursive: true });
    await writeFile(join(photos, 'one.jpg'), bytesOf(50_000, 11));
    await writeFile(join(photos, 'two.jpg'), bytesOf(20_000, 12));
    const r = await json(d, 'POST', '/api/share', { path: photos });
    assert.equal(r.status, 201, r.text);
    const shared = r.json<TorrentSummary & { magnet: string }>();
    sharedHash = shared.infoHash;
    assert.equal(shared.name, 'photos');
    assert.ok(shared.magnet.startsWith(`magnet:?xt=urn:btih:${sharedHash}&dn=photos&tr=`), shared.magnet);
    assert.equal(new URLSearchParams(shared.magnet.slice('magnet:?'.length)).get('tr'), d.trackerUrl, 'the embedded tracker');
    await until('seeding', inState(sharedHash, 'seeding'));
    const stats = await until('the announce', async () => {
      const t = (await request(d, 'GET', '/api/tracker')).json<TrackerView>();
      return t.stats!.torrents >= 1 ? t.stats! : undefined;
    });
    assert.equal(stats.seeders, 1);
    const trackers = (await torrent(sharedHash)).trackers;
    assert.deepEqual(trackers.map((t) => [t.url, t.status]), [[d.trackerUrl, 'working']]);
  });

  it('a restart (SIGTERM, then start again) brings back every torrent as it was, and the token', async () => {
    const before = (await request(d, 'GET', '/api/torrents')).json<TorrentSummary[]>();
    const code = await d.stop();
    assert.equal(code, 0, d.stderr());
    assert.match(d.stdout(), /SIGTERM: stopping .*\nstopped\n$/);
    const token = d.token;
    d = await startDaemon(dir);
    assert.equal(d.token, token, 'the token is kept in daemon.json');
    const list = (await request(d, 'GET', '/api/torrents')).json<TorrentSummary[]>();
    assert.deepEqual(
      list.map((t) => [t.infoHash, t.name, t.savePath]),
      before.map((t) => [t.infoHash, t.name, t.savePath]),
    );
    await until('seeding after the restart', inState(singleHash, 'seeding'));
    assert.deepEqual((await torrent(multiHash)).files.map((f) => f.priority), ['skip', 'high']);
  });

  it('pauses across a restart too', async () => {
    await request(d, 'POST', `/api/torrents/${singleHash}/pause`);
    await d.stop();
    d = await startDaemon(dir);
    const t = await torrent(singleHash);
    assert.equal(t.state, 'paused');
    assert.equal(t.progress, 1, 'read back from the resume data');
  });

  it('removes a torrent keeping its data, and one with its data', async () => {
    const kept = await request(d, 'DELETE', `/api/torrents/${singleHash}`);
    assert.equal(kept.status, 200, kept.text);
    assert.deepEqual(kept.json(), { removed: singleHash, dataDeleted: false });
    assert.deepEqual(await readFile(join(have, 'single.bin')), Buffer.from(data));
    assert.equal((await request(d, 'GET', `/api/torrents/${singleHash}`)).status, 404);

    const gone = await request(d, 'DELETE', `/api/torrents/${sharedHash}?deleteData=true`);
    assert.equal(gone.status, 200, gone.text);
    assert.ok(!existsSync(join(have, 'photos')), 'the shared folder and its files are deleted');
    assert.ok(existsSync(join(have, 'single.bin')), 'and nothing else');
    assert.deepEqual((await request(d, 'GET', '/api/torrents')).json<TorrentSummary[]>().map((t) => t.infoHash), [multiHash]);
  });

  it('adds by URL (a .torrent served over HTTP) and by magnet link, which waits for its metadata', async () => {
    const third = torrentBytes(singleInfo(bytesOf(50_000, 9), 16384, 'from-url.bin'), { announce: 'http://127.0.0.1:9/announce' });
    const server = createServer((_req, res) => res.end(third));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/from-url.torrent`;
      const r = await json(d, 'POST', '/api/torrents', { url, savePath: empty });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json<TorrentSummary>().name, 'from-url.bin');
      assert.equal(r.json<TorrentSummary>().infoHash, hashOf(third));
    } finally {
      server.close();
    }
    const hash = 'f'.repeat(40);
    const m = await json(d, 'POST', '/api/torrents', { magnet: `magnet:?xt=urn:btih:${hash}&dn=Some%20Album&tr=http%3A%2F%2F127.0.0.1%3A9%2Fannounce` });
    assert.equal(m.status, 201, m.text);
    const t = await torrent(hash);
    assert.deepEqual([t.name, t.state, t.size, t.files], ['Some Album', 'metadata', 0, []]);
    const files = await json(d, 'PATCH', `/api/torrents/${hash}/files`, { files: [{ index: 0, priority: 'skip' }] });
    assert.equal(files.status, 409);
    assert.match(files.json<ApiErrorBody>().error, /metadata has not arrived/);
    for (const h of [hash, hashOf(third)]) assert.equal((await request(d, 'DELETE', `/api/torrents/${h}`)).status, 200);
  });
});
