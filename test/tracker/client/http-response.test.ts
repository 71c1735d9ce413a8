import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encode, type BEncodable } from '../../../src/bencode/index.js';
import { parseAnnounceResponse, parseScrapeResponse } from '../../../src/tracker/client/index.js';
import { TrackerError } from '../../../src/tracker/errors.js';
import { id20, utf8 } from './fakes.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const isCode = (code: string) => (e: unknown) => e instanceof TrackerError && e.code === code;

test('compact IPv4 peers (BEP 23), counts, intervals, tracker id, warning', () => {
  const body = encode({
    interval: 1800,
    'min interval': 900,
    complete: 5,
    incomplete: 3,
    peers: bytes(10, 0, 0, 1, 0x1a, 0xe1, 192, 168, 1, 2, 0, 80),
    'tracker id': 'abc',
    'warning message': 'slow down ✓',
  });
  const r = parseAnnounceResponse(body);
  assert.deepEqual(r, {
    interval: 1800,
    minInterval: 900,
    complete: 5,
    incomplete: 3,
    peers: [
      { host: '10.0.0.1', port: 6881 },
      { host: '192.168.1.2', port: 80 },
    ],
    trackerId: utf8('abc'),
    warning: 'slow down ✓',
  });
});

test('dictionary peers (BEP 3) with and without peer id; port 0 entries dropped', () => {
  const body = encode({
    interval: 60,
    peers: [
      { ip: '10.0.0.1', port: 6881, 'peer id': id20(7) },
      { ip: '2001:db8::1', port: 51413 },
      { ip: 'peer.example', port: 1 },
      { ip: '10.0.0.2', port: 0 },
    ],
  });
  assert.deepEqual(parseAnnounceResponse(body).peers, [
    { host: '10.0.0.1', port: 6881, peerId: id20(7) },
    { host: '2001:db8::1', port: 51413 },
    { host: 'peer.example', port: 1 },
  ]);
});

test('peers6 (BEP 7) follow the IPv4 peers; trailing partial entries are ignored', () => {
  const v6 = new Uint8Array(18 * 2 + 5);
  v6[15] = 1; // ::1
  v6.set([0x1a, 0xe1], 16);
  v6.set([0x20, 0x01, 0x0d, 0xb8], 18);
  v6.set([0, 80], 34);
  const r = parseAnnounceResponse(encode({ interval: 1, peers: bytes(1, 2, 3, 4, 0, 1, 9), peers6: v6 }));
  assert.deepEqual(r.peers, [
    { host: '1.2.3.4', port: 1 },
    { host: '0:0:0:0:0:0:0:1', port: 6881 },
    { host: '2001:db8:0:0:0:0:0:0', port: 80 },
  ]);
});

test('failure reason wins over everything else and carries the tracker text', () => {
  const body = encode({ 'failure reason': 'torrent not registered', interval: 'garbage' });
  assert.throws(() => parseAnnounceResponse(body), (e: unknown) => isCode('failure')(e) && (e as Error).message === 'torrent not registered');
  assert.throws(() => parseScrapeResponse(body, [id20(1)]), isCode('failure'));
});

test('a missing interval falls back to 1800 s (what libtorrent does); a missing peers key is no peers', () => {
  assert.deepEqual(parseAnnounceResponse(encode({ complete: 1 })), { interval: 1800, complete: 1, peers: [] });
});

test('malformed announce responses are TrackerError("malformed")', () => {
  const cases: Uint8Array[] = [
    utf8(''),
    utf8('<html>502 Bad Gateway</html>'),
    utf8('d8:intervali1800e'), // truncated
    encode([1, 2]),
    encode({ interval: -1 }),
    encode({ interval: 'soon' }),
    encode({ interval: 10n ** 30n }),
    encode({ interval: 1, peers: 5 }),
    encode({ interval: 1, peers: [5] }),
    encode({ interval: 1, peers: [{ ip: '1.2.3.4' }] }),
    encode({ interval: 1, peers: [{ ip: '1.2.3.4', port: 65536 }] }),
    encode({ interval: 1, peers: [{ ip: 'a b', port: 1 }] }),
    encode({ interval: 1, peers6: [] }),
    encode({ 'failure reason': 1 }),
  ];
  for (const body of cases) assert.throws(() => parseAnnounceResponse(body), isCode('malformed'), new TextDecoder().decode(body));
});

test('responses over the size cap are refused before decoding', () => {
  const body = encode({ interval: 1, peers: new Uint8Array(600) });
  assert.throws(() => parseAnnounceResponse(body, 500), isCode('malformed'));
  assert.equal(parseAnnounceResponse(body, 700).peers.length, 100);
});

test('scrape (BEP 48): counts for the requested torrents, in request order, unknown ones left out', () => {
  const files = new Map<string, BEncodable>([
    ['\x02'.repeat(20), { complete: 1, downloaded: 2, incomplete: 3, name: 'b' }],
    ['\x01'.repeat(20), { complete: 4, downloaded: 5, incomplete: 6 }],
  ]);
  const r = parseScrapeResponse(encode({ files }), [id20(1), id20(9), id20(2)]);
  assert.deepEqual(r, [
    { infoHash: id20(1), complete: 4, downloaded: 5, incomplete: 6 },
    { infoHash: id20(2), complete: 1, downloaded: 2, incomplete: 3 },
  ]);
  assert.throws(() => parseScrapeResponse(encode({ interval: 1 }), [id20(1)]), isCode('malformed'));
  assert.throws(() => parseScrapeResponse(encode({ files: new Map([['\x01'.repeat(20), 5]]) }), [id20(1)]), isCode('malformed'));
});

/** Parsing anything either succeeds or throws a TrackerError ('failure' or 'malformed'): never another exception. */
function onlyTrackerErrors(body: Uint8Array): void {
  for (const parse of [() => parseAnnounceResponse(body, 4096), () => parseScrapeResponse(body, [id20(1), id20(2)], 4096)]) {
    try {
      parse();
    } catch (e) {
      if (!(e instanceof TrackerError) || (e.code !== 'malformed' && e.code !== 'failure')) throw e;
    }
  }
}

const KEYS = ['interval', 'min interval', 'complete', 'incomplete', 'peers', 'peers6', 'tracker id', 'warning message', 'failure reason', 'files', 'ip', 'port', 'peer id', 'downloaded', '\x01'.repeat(20)];

/** Bencode values shaped like tracker responses: the right keys, any value types. */
const responseLike = fc.letrec<{ value: BEncodable }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: -70000, max: 70000 }),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
    fc.uint8Array({ maxLength: 40 }),
    fc.constantFrom('1.2.3.4', '::1', 'host.example', ''),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('value'), { maxKeys: 6 }),
  ),
}));

test('property: random bytes never throw anything but TrackerError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), onlyTrackerErrors), { numRuns: 2000 });
});

test('property: response-shaped bencode never throws anything but TrackerError', () => {
  fc.assert(fc.property(fc.dictionary(fc.constantFrom(...KEYS), responseLike.value, { maxKeys: 8 }), (d) => onlyTrackerErrors(encode(d))), { numRuns: 2000 });
});

test('property: mutated valid responses never throw anything but TrackerError', () => {
  const valid = encode({
    complete: 2,
    files: new Map([['\x01'.repeat(20), { complete: 1, downloaded: 2, incomplete: 3 }]]),
    interval: 1800,
    peers: [{ ip: '10.0.0.1', 'peer id': id20(3), port: 6881 }],
    peers6: new Uint8Array(18),
  });
  const mutation = fc.array(fc.tuple(fc.nat({ max: valid.length + 4 }), fc.integer({ min: -1, max: 255 })), { minLength: 1, maxLength: 6 });
  fc.assert(
    fc.property(mutation, (edits) => {
      let b = Array.from(valid);
      for (const [at, v] of edits) {
        if (v < 0) b = [...b.slice(0, at), ...b.slice(at + 1)]; // delete a byte
        else if (at >= b.length) b.push(v); // append
        else b[at] = v; // overwrite
      }
      onlyTrackerErrors(Uint8Array.from(b));
    }),
    { numRuns: 3000 },
  );
});
