import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeHandshake, encodeHandshake, extensionsOf, HANDSHAKE_LENGTH, reservedFor, WireError, type Extensions } from '../../src/wire/index.js';

const infoHash = Uint8Array.from({ length: 20 }, (_, i) => i);
const peerId = new TextEncoder().encode('-PK0100-abcdefghijkl');
const none: Extensions = { fast: false, extended: false, dht: false };

describe('wire handshake', () => {
  it('lays out <19>"BitTorrent protocol"<reserved><info_hash><peer_id> in 68 bytes', () => {
    const h = encodeHandshake(infoHash, peerId, none);
    assert.equal(h.length, HANDSHAKE_LENGTH);
    assert.equal(h[0], 19);
    assert.equal(Buffer.from(h.subarray(1, 20)).toString('latin1'), 'BitTorrent protocol');
    assert.deepEqual(h.subarray(20, 28), new Uint8Array(8));
    assert.deepEqual(h.subarray(28, 48), infoHash);
    assert.deepEqual(h.subarray(48, 68), peerId);
  });

  it('sets one reserved bit per extension (BEP 5, 6, 10)', () => {
    assert.deepEqual(reservedFor({ ...none, dht: true }), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0x01));
    assert.deepEqual(reservedFor({ ...none, fast: true }), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0x04));
    assert.deepEqual(reservedFor({ ...none, extended: true }), Uint8Array.of(0, 0, 0, 0, 0, 0x10, 0, 0));
    assert.deepEqual(encodeHandshake(infoHash, peerId, { fast: true, extended: true, dht: true }).subarray(20, 28), Uint8Array.of(0, 0, 0, 0, 0, 0x10, 0, 0x05));
  });

  it('reads the extensions from any reserved bytes, ignoring the other bits', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (reserved) => {
        assert.deepEqual(extensionsOf(reserved), { fast: (reserved[7]! & 4) !== 0, extended: (reserved[5]! & 0x10) !== 0, dht: (reserved[7]! & 1) !== 0 });
      }),
    );
    // Azureus' messaging bit (reserved[0] & 0x80) and the like mean nothing to us.
    assert.deepEqual(extensionsOf(Uint8Array.of(0x80, 0xff, 0xff, 0xff, 0xff, 0xef, 0xff, 0xfa)), none);
  });

  it('round-trips, keeping unknown reserved bits as received', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.uint8Array({ minLength: 8, maxLength: 8 }), (ih, id, reserved) => {
        const bytes = encodeHandshake(ih, id, none);
        bytes.set(reserved, 20);
        const h = decodeHandshake(bytes);
        assert.deepEqual(h, { type: 'handshake', infoHash: ih, peerId: id, reserved, extensions: extensionsOf(reserved) });
        assert.deepEqual(encodeHandshake(h.infoHash, h.peerId, h.extensions).subarray(20, 28), reservedFor(h.extensions));
      }),
    );
  });

  it("rejects a wrong pstrlen or protocol string with 'bad-handshake'", () => {
    const good = encodeHandshake(infoHash, peerId, none);
    for (let i = 0; i < 20; i++) {
      const bad = good.slice();
      bad[i] = bad[i]! ^ 0x20;
      assert.throws(() => decodeHandshake(bad), (e: unknown) => e instanceof WireError && e.code === 'bad-handshake' && e.offset === i);
    }
    assert.throws(() => decodeHandshake(good.subarray(0, 67)), { code: 'bad-handshake' });
  });

  it('refuses info hashes and peer ids that are not 20 bytes', () => {
    assert.throws(() => encodeHandshake(new Uint8Array(19), peerId, none), RangeError);
    assert.throws(() => encodeHandshake(infoHash, new Uint8Array(32), none), RangeError);
  });
});
