import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decode, type BValue } from '../../../src/bencode/index.js';
import { seededRandom } from '../../../src/net/index.js';
import { TrackerError } from '../../../src/tracker/errors.js';
import { encodeAnnounceReply, encodeFailure, encodeScrapeReply, MAX_QUERY, parseAnnounce, parseQuery, parseScrape, percentDecode } from '../../../src/tracker/server/http-codec.js';
import { Tracker, type AnnounceReply } from '../../../src/tracker/server/tracker.js';

/*
 * The HTTP tracker codec: query strings to bytes and announces (BEP 3),
 * replies to bencode (BEP 3 dictionary model, BEP 23 compact, BEP 7 peers6,
 * BEP 48 scrape). Replies are checked by decoding them with our bencode decoder.
 */

const HASH = Uint8Array.from({ length: 20 }, (_, i) => i * 13); // has bytes that need escaping
const PEER_ID = new TextEncoder().encode('-PK0001-abcdefghijkl');

function esc(b: Uint8Array): string {
  return [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('');
}

const base = `info_hash=${esc(HASH)}&peer_id=${esc(PEER_ID)}&port=6881`;

function badParam(e: unknown): boolean {
  return e instanceof TrackerError && e.code === 'bad-param';
}

function dict(bytes: Uint8Array): Map<string, BValue> {
  const v = decode(bytes);
  assert.ok(v instanceof Map);
  return v;
}

function reply(over: Partial<AnnounceReply> = {}): AnnounceReply {
  return { interval: 1800, minInterval: 900, seeders: 3, leechers: 4, peers: new Uint8Array(0), peers6: new Uint8Array(0), peerIds: undefined, ...over };
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('percentDecode', () => {
  it('decodes escapes to raw bytes, + to space, the rest as is', () => {
    assert.deepEqual(percentDecode('%00%ff%FF%41+a~-._'), Uint8Array.from([0, 255, 255, 0x41, 0x20, 0x61, 0x7e, 0x2d, 0x2e, 0x5f]));
    assert.deepEqual(percentDecode(''), new Uint8Array(0));
    assert.deepEqual(percentDecode('%2B%25'), bytes('+%'));
    assert.deepEqual(percentDecode(esc(HASH)), HASH);
  });

  it('round-trips every byte string (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.boolean(), { maxLength: 64 }), (b, upper) => {
        // Escape some bytes in either case, leave unreserved ones bare at random.
        const s = [...b]
          .map((x, i) => {
            if (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(x)) && upper[i] === true) return String.fromCharCode(x);
            const h = x.toString(16).padStart(2, '0');
            return `%${upper[i] === true ? h.toUpperCase() : h}`;
          })
          .join('');
        assert.deepEqual(percentDecode(s), b);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses malformed escapes and unescaped bytes with a TrackerError', () => {
    for (const s of ['%', '%4', 'a%', 'a%4', '%zz', '%g0', '%0g', '% 1', '%%41', 'é', '\u0000', '\n', 'a\u007fb', '\u20ac']) {
      assert.throws(() => percentDecode(s), badParam, JSON.stringify(s));
    }
  });
});

describe('parseQuery', () => {
  it('splits on & and =, keeps repeats in order, skips empty parts', () => {
    const q = parseQuery('a=1&&b&c=&a=2&d=x=y&%61=3');
    assert.deepEqual(q.get('a'), [bytes('1'), bytes('2'), bytes('3')]);
    assert.deepEqual(q.get('b'), [new Uint8Array(0)]);
    assert.deepEqual(q.get('c'), [new Uint8Array(0)]);
    assert.deepEqual(q.get('d'), [bytes('x=y')]);
    assert.equal(parseQuery('').size, 0);
  });

  it('keeps at most 100 values per key and refuses over-long queries', () => {
    assert.equal(parseQuery(Array.from({ length: 150 }, () => 'k=v').join('&')).get('k')?.length, 100);
    assert.throws(() => parseQuery('a='.padEnd(MAX_QUERY + 1, 'x')), badParam);
  });
});

describe('parseAnnounce', () => {
  it('reads every BEP 3 parameter', () => {
    const a = parseAnnounce(`${base}&uploaded=10&downloaded=20&left=30&event=started&compact=1&no_peer_id=1&numwant=80&ip=192.0.2.1&key=abc%21&trackerid=T1`);
    assert.deepEqual(a, {
      infoHash: HASH,
      peerId: PEER_ID,
      port: 6881,
      uploaded: 10n,
      downloaded: 20n,
      left: 30n,
      event: 'started',
      numWant: 80,
      compact: true,
      noPeerId: true,
      ip: '192.0.2.1',
      key: 'abc!',
      trackerId: 'T1',
    });
  });

  it('has defaults for the optional parameters', () => {
    const a = parseAnnounce(base);
    assert.deepEqual([a.uploaded, a.downloaded, a.left, a.event, a.numWant, a.compact, a.noPeerId, a.ip, a.key, a.trackerId], [0n, 0n, undefined, 'none', undefined, false, false, undefined, undefined, undefined]);
  });

  it('reads 64-bit and larger byte counts exactly', () => {
    const a = parseAnnounce(`${base}&left=18446744073709551615&uploaded=99999999999999999999`);
    assert.equal(a.left, 2n ** 64n - 1n);
    assert.equal(a.uploaded, 99999999999999999999n);
  });

  it('knows the event values', () => {
    const ev = (e: string): string => parseAnnounce(`${base}&event=${e}`).event;
    // 'empty' is BEP 3's spelling of no event; 'none' is accepted too, leniently;
    // 'paused' (BEP 21, libtorrent) is a regular announce.
    assert.deepEqual(['started', 'stopped', 'completed', 'empty', '', 'none', 'paused'].map(ev), ['started', 'stopped', 'completed', 'none', 'none', 'none', 'none']);
    for (const e of ['Started', '%00', 'started%00', 'pause']) assert.throws(() => ev(e), badParam, e);
  });

  it('caps a huge numwant instead of failing, and the tracker caps it again', () => {
    assert.equal(parseAnnounce(`${base}&numwant=99999999999999999999`).numWant, 100_000);
    assert.equal(parseAnnounce(`${base}&numwant=-1`).numWant, -1);
    const t = new Tracker(seededRandom(1));
    for (let n = 1; n <= 250; n++) t.announce({ infoHash: HASH, peerId: PEER_ID, host: `10.0.0.${n}`, port: 1, left: 1n, event: 'none', numWant: 0, wantPeerIds: false }, 0);
    const a = parseAnnounce(`${base}&numwant=99999999999999999999`);
    const r = t.announce({ infoHash: a.infoHash, peerId: a.peerId, host: '10.0.1.1', port: a.port, left: a.left ?? -1n, event: a.event, numWant: a.numWant, wantPeerIds: false }, 0);
    assert.equal(r.peers.length / 6, 200);
  });

  it('refuses missing, mis-sized and malformed parameters with a TrackerError', () => {
    const bad = [
      '',
      `peer_id=${esc(PEER_ID)}&port=1`,
      `info_hash=${esc(HASH)}&port=1`,
      `info_hash=${esc(HASH)}&peer_id=${esc(PEER_ID)}`,
      `info_hash=${esc(HASH.subarray(1))}&peer_id=${esc(PEER_ID)}&port=1`,
      `info_hash=${esc(HASH)}00&peer_id=${esc(PEER_ID)}&port=1`,
      `info_hash=${esc(HASH)}&peer_id=short&port=1`,
      `info_hash=${esc(HASH)}&peer_id=${esc(PEER_ID)}&port=0`,
      `info_hash=${esc(HASH)}&peer_id=${esc(PEER_ID)}&port=65536`,
      `info_hash=${esc(HASH)}&peer_id=${esc(PEER_ID)}&port=-5`,
      `info_hash=${esc(HASH)}&peer_id=${esc(PEER_ID)}&port=12x`,
      `info_hash=${esc(HASH)}&peer_id=${esc(PEER_ID)}&port=`,
      `info_hash=${esc(HASH)}&peer_id=${esc(PEER_ID)}&port=1e3`,
      `info_hash=${esc(HASH)}&peer_id=${esc(PEER_ID)}&port=123456789012345678901`,
      `${base}&left=abc`,
      `${base}&left=1.5`,
      `${base}&numwant=`,
      `${base}&uploaded=%`,
      `info_hash=%zz${esc(HASH.subarray(1))}&peer_id=${esc(PEER_ID)}&port=1`,
    ];
    for (const q of bad) assert.throws(() => parseAnnounce(q), badParam, q);
  });

  it('random query strings parse or give a TrackerError (property)', () => {
    const part = fc.oneof(
      fc.constantFrom('info_hash', 'peer_id', 'port', 'left', 'event', 'numwant', 'compact', '%', '=', '&', '%41', '%zz', '+', '1', '-'),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(part, { maxLength: 20 }), fc.boolean(), (parts, prefix) => {
        try {
          parseAnnounce((prefix ? `${base}&` : '') + parts.join(''));
        } catch (e) {
          if (!(e instanceof TrackerError)) throw e;
        }
        try {
          parseScrape(parts.join(''));
        } catch (e) {
          if (!(e instanceof TrackerError)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseScrape', () => {
  it('reads any number of info hashes, none meaning all', () => {
    const other = new Uint8Array(20).fill(7);
    assert.deepEqual(parseScrape(`info_hash=${esc(HASH)}&info_hash=${esc(other)}&x=1`), [HASH, other]);
    assert.deepEqual(parseScrape(''), []);
    assert.throws(() => parseScrape(`info_hash=${esc(HASH)}&info_hash=abc`), badParam);
  });
});

describe('HTTP replies', () => {
  const peers = Uint8Array.from([192, 0, 2, 1, 0x1a, 0xe1, 10, 0, 0, 2, 0, 80]);
  const peers6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1, 0x1a, 0xe1]);

  it('compact: peers as 6-byte entries, peers6 only when there are some', () => {
    const d = dict(encodeAnnounceReply(reply({ peers }), true, false));
    assert.deepEqual(
      d,
      new Map<string, BValue>([
        ['complete', 3],
        ['incomplete', 4],
        ['interval', 1800],
        ['min interval', 900],
        ['peers', peers],
      ]),
    );
    const d6 = dict(encodeAnnounceReply(reply({ peers, peers6 }), true, true));
    assert.deepEqual(d6.get('peers6'), peers6);
    assert.deepEqual(d6.get('peers'), peers);
    assert.deepEqual(dict(encodeAnnounceReply(reply(), true, false)).get('peers'), new Uint8Array(0), 'peers is always there');
  });

  it('a warning message goes in when given', () => {
    assert.deepEqual(dict(encodeAnnounceReply(reply(), true, false, 'be nice')).get('warning message'), bytes('be nice'));
  });

  it('dictionary model with peer ids, IPv4 then IPv6', () => {
    const ids = [new Uint8Array(20).fill(1), new Uint8Array(20).fill(2), new Uint8Array(20).fill(3)];
    const d = dict(encodeAnnounceReply(reply({ peers, peers6, peerIds: ids }), false, false));
    assert.deepEqual(d.get('peers'), [
      new Map<string, BValue>([['ip', bytes('192.0.2.1')], ['peer id', ids[0]!], ['port', 6881]]),
      new Map<string, BValue>([['ip', bytes('10.0.0.2')], ['peer id', ids[1]!], ['port', 80]]),
      new Map<string, BValue>([['ip', bytes('2001:db8:0:0:0:0:0:1')], ['peer id', ids[2]!], ['port', 6881]]),
    ]);
    assert.equal(d.get('interval'), 1800);
  });

  it('dictionary model without peer ids (no_peer_id=1)', () => {
    const ids = [new Uint8Array(20).fill(1), new Uint8Array(20).fill(2)];
    const d = dict(encodeAnnounceReply(reply({ peers, peerIds: ids }), false, true));
    assert.deepEqual(d.get('peers'), [
      new Map<string, BValue>([['ip', bytes('192.0.2.1')], ['port', 6881]]),
      new Map<string, BValue>([['ip', bytes('10.0.0.2')], ['port', 80]]),
    ]);
    assert.deepEqual(dict(encodeAnnounceReply(reply(), false, false)).get('peers'), []);
  });

  it('failure reason', () => {
    assert.deepEqual(dict(encodeFailure('torrent not registered')), new Map([['failure reason', bytes('torrent not registered')]]));
  });

  it('scrape: a files dict keyed by the raw info hash', () => {
    const other = new Uint8Array(20).fill(0xff);
    const d = dict(
      encodeScrapeReply([
        { infoHash: HASH, counts: { seeders: 5, completed: 9, leechers: 2 } },
        { infoHash: other, counts: { seeders: 0, completed: 0, leechers: 0 } },
      ]),
    );
    const files = d.get('files');
    assert.ok(files instanceof Map);
    assert.deepEqual([...files.keys()], [String.fromCharCode(...HASH), String.fromCharCode(...other)]);
    assert.deepEqual(
      files.get(String.fromCharCode(...HASH)),
      new Map([
        ['complete', 5],
        ['downloaded', 9],
        ['incomplete', 2],
      ]),
    );
    assert.deepEqual(files.get(String.fromCharCode(...other)), new Map([['complete', 0], ['downloaded', 0], ['incomplete', 0]]));
    assert.deepEqual(dict(encodeScrapeReply([])), new Map([['files', new Map()]]));
  });
});
