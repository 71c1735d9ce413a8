import assert from 'node:assert/strict';
import { test } from 'node:test';
import { announceUrl, percentEncodeBytes, scrapeRequestUrl, scrapeUrl } from '../../../src/tracker/client/index.js';
import { TrackerError } from '../../../src/tracker/errors.js';
import { id20, utf8 } from './fakes.js';

const base = { infoHash: id20(0xab), peerId: utf8('-PK0100-abc~def_.xyz'), port: 6881, uploaded: 1, downloaded: 2n, left: 3 };

test('percent-encoding is byte-wise and keeps only unreserved characters', () => {
  assert.equal(percentEncodeBytes(Uint8Array.of(0x00, 0x41, 0x7e, 0x20, 0x2b, 0xff, 0x2d, 0x2e, 0x5f)), '%00A~%20%2B%FF-._');
  // Every byte value survives a decodeURIComponent-free round trip through unescape-by-byte.
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const back = percentEncodeBytes(all).replace(/%([0-9A-F]{2})|(.)/g, (_, hex: string | undefined, ch: string | undefined) => String.fromCharCode(hex !== undefined ? parseInt(hex, 16) : ch!.charCodeAt(0)));
  assert.deepEqual(Uint8Array.from(back, (c) => c.charCodeAt(0)), all);
});

test('announce URL carries every BEP 3 parameter, compact=1, and no event for a regular announce', () => {
  const url = announceUrl('http://t.example:8000/announce', base);
  assert.equal(
    url,
    `http://t.example:8000/announce?info_hash=${'%AB'.repeat(20)}&peer_id=-PK0100-abc~def_.xyz&port=6881&uploaded=1&downloaded=2&left=3&compact=1`,
  );
});

test('announce URL: event, numwant, key (8 hex digits), trackerid, and an existing query kept', () => {
  const url = announceUrl('https://t.example/x/announce?passkey=s3cret#frag', { ...base, event: 'started', numWant: 50, key: 0x1a2b, trackerId: Uint8Array.of(0x61, 0x20, 0xc3) });
  const query = url.split('?')[1]!.split('&');
  assert.ok(url.startsWith('https://t.example/x/announce?passkey=s3cret&info_hash='));
  assert.ok(!url.includes('#'));
  assert.ok(query.includes('event=started'));
  assert.ok(query.includes('numwant=50'));
  assert.ok(query.includes('key=00001a2b'));
  assert.equal(query[query.length - 1], 'trackerid=a%20%C3');
  assert.ok(query.indexOf('compact=1') < query.indexOf('numwant=50'));
});

test('announce URL refuses what cannot be sent', () => {
  for (const bad of [{ infoHash: new Uint8Array(19) }, { peerId: new Uint8Array(21) }, { port: 70000 }, { left: -1 }, { uploaded: 1.5 }, { key: 2 ** 32 }]) {
    assert.throws(() => announceUrl('http://t/announce', { ...base, ...bad }), (e: unknown) => e instanceof TrackerError && e.code === 'bad-param');
  }
});

test('BEP 48 scrape URL: the last segment "announce..." becomes "scrape..."', () => {
  const cases: [string, string | undefined][] = [
    ['http://example.com/announce', 'http://example.com/scrape'],
    ['http://example.com/x/announce', 'http://example.com/x/scrape'],
    ['http://example.com/announce.php', 'http://example.com/scrape.php'],
    ['http://example.com/a', undefined],
    ['http://example.com/announce?x2%0644', 'http://example.com/scrape?x2%0644'],
    ['http://example.com/announce?x=2/4', 'http://example.com/scrape?x=2/4'],
    ['http://example.com/x%064announce', undefined],
    ['http://example.com/announce/x', undefined],
    ['http://example.com', undefined],
    ['http://announce.example.com', undefined],
  ];
  for (const [announce, scrape] of cases) assert.equal(scrapeUrl(announce), scrape, announce);
});

test('scrape URL repeats info_hash for each torrent', () => {
  assert.equal(scrapeRequestUrl('http://t/scrape?k=1', [id20(1), id20(0x41)]), `http://t/scrape?k=1&info_hash=${'%01'.repeat(20)}&info_hash=${'A'.repeat(20)}`);
});
