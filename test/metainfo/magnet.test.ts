import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { base32Encode, formatMagnet, MetainfoError, parseMagnet } from '../../src/metainfo/index.js';

const HEX = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a';

describe('magnet links', () => {
  it('parses a hex infohash with dn, repeated tr, ws, x.pe and so', () => {
    const m = parseMagnet(
      `magnet:?xt=urn:btih:${HEX.toUpperCase()}&dn=Big+Buck%20Bunny&tr=udp%3A%2F%2Ft1%3A1337&tr=http://t2/announce&tr.1=http://t3/a` +
        '&ws=http%3A%2F%2Fseed%2Ffile&x.pe=127.0.0.1:6881&x.pe=[::1]:6881&so=0,2,4-6&xl=12345',
    );
    assert.equal(m.infoHashHex, HEX);
    assert.equal(m.name, 'Big Buck Bunny');
    assert.deepEqual(m.trackers, ['udp://t1:1337', 'http://t2/announce', 'http://t3/a']);
    assert.deepEqual(m.webSeeds, ['http://seed/file']);
    assert.deepEqual(m.peers, ['127.0.0.1:6881', '[::1]:6881']);
    assert.deepEqual(m.selectOnly, [{ first: 0, last: 0 }, { first: 2, last: 2 }, { first: 4, last: 6 }]);
  });

  it('parses the base32 form of urn:btih', () => {
    const b32 = base32Encode(Buffer.from(HEX, 'hex'));
    assert.equal(b32.length, 32);
    assert.equal(parseMagnet(`magnet:?xt=urn:btih:${b32}`).infoHashHex, HEX);
    assert.equal(parseMagnet(`magnet:?xt=urn:btih:${b32.toLowerCase()}`).infoHashHex, HEX);
  });

  it('accepts the same infohash given twice', () => {
    assert.equal(parseMagnet(`magnet:?xt.1=urn:btih:${HEX}&xt.2=urn:btih:${HEX.toUpperCase()}`).infoHashHex, HEX);
  });

  it('keeps a v2 infohash (urn:btmh) alongside', () => {
    const v2 = 'ab'.repeat(32);
    const m = parseMagnet(`magnet:?xt=urn:btih:${HEX}&xt=urn:btmh:1220${v2}`);
    assert.equal(m.infoHashV2Hex, v2);
    assert.equal(m.infoHashHex, HEX);
  });

  it('formats, and parses back what it formats', () => {
    const uri = formatMagnet({ infoHash: HEX, name: 'Über & co', trackers: ['http://t/a?x=1&y=2'], webSeeds: ['http://s/'], peers: ['1.2.3.4:5'], selectOnly: [{ first: 1, last: 3 }] });
    assert.ok(uri.startsWith(`magnet:?xt=urn:btih:${HEX}&dn=`));
    const m = parseMagnet(uri);
    assert.equal(m.name, 'Über & co');
    assert.deepEqual(m.trackers, ['http://t/a?x=1&y=2']);
    assert.deepEqual(m.webSeeds, ['http://s/']);
    assert.deepEqual(m.peers, ['1.2.3.4:5']);
    assert.deepEqual(m.selectOnly, [{ first: 1, last: 3 }]);
  });

  it('round-trips any name, trackers and infohash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.string(), fc.array(fc.webUrl(), { maxLength: 3 }), (hash, name, trackers) => {
        const m = parseMagnet(formatMagnet({ infoHash: hash, name, trackers }));
        assert.deepEqual(m.infoHash, hash);
        assert.equal(m.name, name.length > 0 ? name : undefined);
        assert.deepEqual(m.trackers, [...new Set(trackers)]);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects bad links with a typed error', () => {
    for (const bad of [
      'http://example/',
      'magnet:?dn=x',
      'magnet:?xt=urn:btih:1234',
      `magnet:?xt=urn:btih:${HEX}1`,
      `magnet:?xt=urn:btih:${HEX}&xt=urn:btih:${'0'.repeat(40)}`,
      `magnet:?xt=urn:btih:${HEX}&dn=%E0%A4%A`,
      `magnet:?xt=urn:btih:${HEX}&so=5-2`,
      `magnet:?xt=urn:btih:${HEX}&so=a`,
      `magnet:?xt=urn:btmh:1220abc`,
      `magnet:?xt=urn:btih:${HEX}&tr=${'x'.repeat(70_000)}`,
    ]) {
      assert.throws(() => parseMagnet(bad), (e: unknown) => e instanceof MetainfoError && e.code === 'bad-magnet', bad.slice(0, 80));
    }
  });

  it('gives a typed error on any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        try {
          parseMagnet(`magnet:?${s}`);
        } catch (e) {
          if (!(e instanceof MetainfoError)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});
