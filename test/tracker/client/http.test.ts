import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode } from '../../../src/bencode/index.js';
import { HttpError } from '../../../src/net/index.js';
import { createTrackerClient, HttpTrackerClient } from '../../../src/tracker/client/index.js';
import { TrackerError } from '../../../src/tracker/errors.js';
import { fakeHttpGet, id20, utf8 } from './fakes.js';

const params = { infoHash: id20(1), peerId: id20(2), port: 6881, uploaded: 0, downloaded: 0, left: 100, event: 'started' as const };
const isCode = (code: string) => (e: unknown) => e instanceof TrackerError && e.code === code;
const ok = (body: Uint8Array) => ({ status: 200, body });

test('announce GETs the BEP 3 URL with the size cap and returns the parsed response', async () => {
  const get = fakeHttpGet((_url, options) => {
    assert.equal(options.maxBytes, 4096);
    return ok(encode({ interval: 900, peers: Uint8Array.of(127, 0, 0, 1, 0x1a, 0xe1) }));
  });
  const client = new HttpTrackerClient('http://t.example/announce', { httpGet: get }, { maxBytes: 4096 });
  const r = await client.announce(params);
  assert.deepEqual(r, { interval: 900, peers: [{ host: '127.0.0.1', port: 6881 }] });
  assert.equal(get.urls.length, 1);
  assert.match(get.urls[0]!, /^http:\/\/t\.example\/announce\?info_hash=(%01){20}&peer_id=(%02){20}&port=6881&uploaded=0&downloaded=0&left=100&event=started&compact=1$/);
});

test('scrape GETs the BEP 48 URL; a tracker without one is bad-param; no hashes asks nothing', async () => {
  const get = fakeHttpGet(() => ok(encode({ files: new Map([['\x01'.repeat(20), { complete: 3, downloaded: 4, incomplete: 5 }]]) })));
  const client = new HttpTrackerClient('http://t.example/announce.php?k=1', { httpGet: get });
  assert.equal(client.scrapeUrl, 'http://t.example/scrape.php?k=1');
  assert.deepEqual(await client.scrape([id20(1)]), [{ infoHash: id20(1), complete: 3, downloaded: 4, incomplete: 5 }]);
  assert.ok(get.urls[0]!.startsWith('http://t.example/scrape.php?k=1&info_hash=%01'));
  assert.deepEqual(await client.scrape([]), []);
  assert.equal(get.urls.length, 1);
  await assert.rejects(new HttpTrackerClient('http://t.example/tracker', { httpGet: get }).scrape([id20(1)]), isCode('bad-param'));
});

test('a failure reason is a failure even with a 4xx status; other non-200s are network errors', async () => {
  const failing = fakeHttpGet(() => ({ status: 403, body: encode({ 'failure reason': 'not on the allow-list' }) }));
  await assert.rejects(new HttpTrackerClient('http://t/announce', { httpGet: failing }).announce(params), (e: unknown) => isCode('failure')(e) && (e as Error).message === 'not on the allow-list');
  const bad = fakeHttpGet(() => ({ status: 502, body: utf8('<html>Bad Gateway</html>') }));
  await assert.rejects(new HttpTrackerClient('http://t/announce', { httpGet: bad }).announce(params), isCode('network'));
  const okFailure = fakeHttpGet(() => ok(encode({ 'failure reason': 'no' })));
  await assert.rejects(new HttpTrackerClient('http://t/announce', { httpGet: okFailure }).announce(params), isCode('failure'));
});

test('port errors become TrackerErrors: timeout, too-large (malformed), anything else network', async () => {
  const cases: [unknown, string][] = [
    [new HttpError('timeout', 'slow'), 'timeout'],
    [new HttpError('too-large', 'big'), 'malformed'],
    [new HttpError('network', 'ECONNREFUSED'), 'network'],
    [new Error('boom'), 'network'],
    ['a string', 'network'],
  ];
  for (const [thrown, code] of cases) {
    const get = fakeHttpGet(() => Promise.reject(thrown));
    await assert.rejects(new HttpTrackerClient('http://t/announce', { httpGet: get }).announce(params), isCode(code));
  }
});

test('a port that ignores maxBytes still cannot hand the parser an oversized body', async () => {
  const get = fakeHttpGet(() => ok(encode({ interval: 1, peers: new Uint8Array(2000) })));
  await assert.rejects(new HttpTrackerClient('http://t/announce', { httpGet: get }, { maxBytes: 1000 }).announce(params), isCode('malformed'));
});

test('bad parameters are refused before anything is sent', async () => {
  const get = fakeHttpGet(() => ok(encode({ interval: 1 })));
  await assert.rejects(new HttpTrackerClient('http://t/announce', { httpGet: get }).announce({ ...params, infoHash: new Uint8Array(3) }), isCode('bad-param'));
  assert.equal(get.urls.length, 0);
});

test('the signal is passed to the port', async () => {
  const controller = new AbortController();
  const get = fakeHttpGet((_url, options) => {
    assert.equal(options.signal, controller.signal);
    return ok(encode({ interval: 1 }));
  });
  await new HttpTrackerClient('http://t/announce', { httpGet: get }).announce(params, { signal: controller.signal });
});

test('createTrackerClient picks the client by scheme', () => {
  const get = fakeHttpGet(() => ok(encode({})));
  assert.ok(createTrackerClient('http://t/announce', { httpGet: get }) instanceof HttpTrackerClient);
  assert.ok(createTrackerClient('HTTPS://t/announce', { httpGet: get }) instanceof HttpTrackerClient);
  assert.equal(createTrackerClient('udp://t:1', { httpGet: get }), undefined);
  assert.equal(createTrackerClient('wss://t/announce', { httpGet: get }), undefined);
  assert.equal(createTrackerClient('http://t/announce', {}), undefined);
});
