import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_MAX_MESSAGE_LENGTH, encodeHandshake, encodeMessage, WireDecoder, WireError, type Handshake, type Message } from '../../src/wire/index.js';
import { concat, frameArb, messageArb, split } from './arbitraries.js';

const infoHash = new Uint8Array(20).fill(0xaa);
const peerId = new Uint8Array(20).fill(0xbb);
const handshakeBytes = encodeHandshake(infoHash, peerId, { fast: true, extended: true, dht: false });

/** Push every chunk, then drain: everything the decoder yields. */
function decodeAll(chunks: readonly Uint8Array[], handshake: boolean): (Handshake | Message)[] {
  const d = new WireDecoder({ handshake });
  const out: (Handshake | Message)[] = [];
  for (const c of chunks) {
    d.push(c);
    for (let m = d.next(); m !== undefined; m = d.next()) out.push(m);
  }
  assert.equal(d.buffered, 0);
  return out;
}

function isWireError(code: string): (e: unknown) => boolean {
  return (e) => e instanceof WireError && e.code === code;
}

describe('WireDecoder', () => {
  it('decodes a handshake, then messages', () => {
    const messages: Message[] = [{ type: 'unchoke' }, { type: 'have', index: 3 }, { type: 'keep-alive' }, { type: 'piece', index: 1, begin: 2, block: Uint8Array.of(9, 8, 7) }];
    const out = decodeAll([concat([handshakeBytes, ...messages.map(encodeMessage)])], true);
    assert.deepEqual(out, [
      { type: 'handshake', infoHash, peerId, reserved: Uint8Array.of(0, 0, 0, 0, 0, 0x10, 0, 0x04), extensions: { fast: true, extended: true, dht: false } },
      ...messages,
    ]);
  });

  it('starts with messages when told there is no handshake', () => {
    assert.deepEqual(decodeAll([encodeMessage({ type: 'choke' })], false), [{ type: 'choke' }]);
  });

  it('yields the same messages however the stream is split (property)', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(messageArb, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (withHandshake, messages, cuts) => {
        const stream = concat([...(withHandshake ? [handshakeBytes] : []), ...messages.map(encodeMessage)]);
        const whole = decodeAll([stream], withHandshake);
        assert.deepEqual(whole.slice(withHandshake ? 1 : 0), messages);
        assert.deepEqual(decodeAll(split(stream, cuts), withHandshake), whole);
      }),
      { numRuns: 1000 },
    );
  });

  it('decodes a stream fed one byte at a time', () => {
    const messages: Message[] = [{ type: 'bitfield', bitfield: Uint8Array.of(0xff, 0x80) }, { type: 'request', index: 1, begin: 2, length: 3 }, { type: 'extended', id: 1, payload: Uint8Array.of(1) }];
    const stream = concat([handshakeBytes, ...messages.map(encodeMessage)]);
    const out = decodeAll([...stream].map((b) => Uint8Array.of(b)), true);
    assert.equal(out.length, 4);
    assert.deepEqual(out.slice(1), messages);
  });

  it('re-encodes any valid frames to the exact input bytes (property)', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
        const stream = concat(frames);
        const out = decodeAll(split(stream, cuts), false) as Message[];
        assert.equal(out.length, frames.length);
        assert.deepEqual(concat(out.map(encodeMessage)), stream);
      }),
      { numRuns: 1000 },
    );
  });

  it('only ever throws WireError on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (handshake, chunks) => {
        mustDecodeOrWireError(chunks, handshake);
      }),
      { numRuns: 3000 },
    );
  });

  it('only ever throws WireError on mutated valid streams (property)', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(messageArb, { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (handshake, messages, flips, cuts) => {
          const stream = concat([...(handshake ? [handshakeBytes] : []), ...messages.map(encodeMessage)]);
          for (const [at, byte] of flips) stream[at % stream.length] = byte;
          mustDecodeOrWireError(split(stream, cuts), handshake);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("throws 'too-long' on a 4 GiB length prefix without waiting for the body", () => {
    const d = new WireDecoder({ handshake: false });
    d.push(Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    assert.throws(() => d.next(), (e: unknown) => isWireError('too-long')(e) && (e as WireError).offset === 0);
    assert.equal(d.buffered, 4);
  });

  it('honours maxMessageLength exactly, and defaults to 1 MiB + 9', () => {
    assert.equal(DEFAULT_MAX_MESSAGE_LENGTH, 1024 * 1024 + 9);
    const atLimit = encodeMessage({ type: 'piece', index: 0, begin: 0, block: new Uint8Array(91) }); // length prefix 100
    const d = new WireDecoder({ handshake: false, maxMessageLength: 100 });
    d.push(atLimit);
    assert.equal(d.next()?.type, 'piece');
    const over = new WireDecoder({ handshake: false, maxMessageLength: 99 });
    over.push(atLimit.subarray(0, 4));
    assert.throws(() => over.next(), isWireError('too-long'));

    const big = new WireDecoder({ handshake: false });
    big.push(encodeMessage({ type: 'piece', index: 0, begin: 0, block: new Uint8Array(1024 * 1024) }));
    assert.equal(big.next()?.type, 'piece');
    assert.throws(() => new WireDecoder({ maxMessageLength: 0 }), RangeError);
  });

  it("throws 'bad-length' as soon as the id is in, before the body arrives", () => {
    const d = new WireDecoder({ handshake: false });
    d.push(concat([encodeMessage({ type: 'choke' }), Uint8Array.of(0, 0, 0x10, 0, 4)])); // a 4 KiB `have`
    assert.deepEqual(d.next(), { type: 'choke' });
    assert.throws(() => d.next(), (e: unknown) => isWireError('bad-length')(e) && (e as WireError).offset === 5);
  });

  it('keeps failing once it has failed', () => {
    const d = new WireDecoder({ handshake: false });
    d.push(Uint8Array.of(0, 0, 0, 2, 0, 0));
    assert.throws(() => d.next(), isWireError('bad-length'));
    d.push(encodeMessage({ type: 'choke' }));
    assert.throws(() => d.next(), isWireError('bad-length'));
  });

  it('hands out a piece block inside one chunk as a view on that chunk (zero copy)', () => {
    const block = new Uint8Array(16384).map((_, i) => i);
    const chunk = concat([encodeMessage({ type: 'have', index: 1 }), encodeMessage({ type: 'piece', index: 5, begin: 16384, block }), Uint8Array.of(0, 0)]);
    const d = new WireDecoder({ handshake: false });
    d.push(chunk);
    assert.equal(d.next()?.type, 'have');
    const m = d.next();
    assert.ok(m?.type === 'piece');
    assert.equal(m.block.buffer, chunk.buffer);
    assert.equal(m.block.byteOffset, chunk.byteOffset + 9 + 13);
    assert.deepEqual(m.block, block);
    assert.equal(d.next(), undefined);
    assert.equal(d.buffered, 2);
  });

  it('copies a piece block that straddles chunks, once it is complete', () => {
    const block = new Uint8Array(1000).fill(7);
    const frame = encodeMessage({ type: 'piece', index: 1, begin: 0, block });
    const d = new WireDecoder({ handshake: false });
    d.push(frame.slice(0, 500));
    assert.equal(d.next(), undefined);
    assert.equal(d.buffered, 500);
    d.push(frame.slice(500));
    const m = d.next();
    assert.ok(m?.type === 'piece');
    assert.deepEqual(m.block, block);
    assert.equal(d.buffered, 0);
  });

  it('returns plain Uint8Arrays, and copies all but piece blocks, when fed Buffers', () => {
    const chunk = Buffer.from(concat([encodeMessage({ type: 'bitfield', bitfield: Uint8Array.of(0xf0) }), encodeMessage({ type: 'piece', index: 0, begin: 0, block: Uint8Array.of(1) })]));
    const d = new WireDecoder({ handshake: false });
    d.push(chunk);
    const bitfield = d.next();
    const piece = d.next();
    assert.ok(bitfield?.type === 'bitfield' && piece?.type === 'piece');
    assert.equal(Object.getPrototypeOf(bitfield.bitfield), Uint8Array.prototype);
    assert.equal(Object.getPrototypeOf(piece.block), Uint8Array.prototype);
    assert.notEqual(bitfield.bitfield.buffer, chunk.buffer);
    assert.equal(piece.block.buffer, chunk.buffer);
  });

  it('skips unknown message ids (BEP 3) and goes on', () => {
    const d = new WireDecoder({ handshake: false });
    d.push(concat([Uint8Array.of(0, 0, 0, 3, 0x42, 1, 2), encodeMessage({ type: 'interested' })]));
    assert.deepEqual(d.next(), { type: 'unknown', id: 0x42, payload: Uint8Array.of(1, 2) });
    assert.deepEqual(d.next(), { type: 'interested' });
  });

  it("refuses a wrong protocol string at its first wrong byte with 'bad-handshake'", () => {
    const d = new WireDecoder();
    d.push(Uint8Array.of(18));
    assert.throws(() => d.next(), (e: unknown) => isWireError('bad-handshake')(e) && (e as WireError).offset === 0);

    const http = new WireDecoder();
    http.push(new TextEncoder().encode('GET / HTTP/1.1\r\n'));
    assert.throws(() => http.next(), isWireError('bad-handshake'));

    const wrong = handshakeBytes.slice(0, 10);
    wrong[5] = 0x74; // 'BitTt...'
    const w = new WireDecoder();
    w.push(wrong);
    assert.throws(() => w.next(), (e: unknown) => isWireError('bad-handshake')(e) && (e as WireError).offset === 5);
  });

  it('waits for the rest of a good handshake prefix', () => {
    const d = new WireDecoder();
    d.push(handshakeBytes.subarray(0, 67));
    assert.equal(d.next(), undefined);
    d.push(handshakeBytes.subarray(67));
    assert.equal(d.next()?.type, 'handshake');
    assert.equal(d.next(), undefined);
  });

  it('reports stream offsets past the handshake', () => {
    const d = new WireDecoder();
    d.push(concat([handshakeBytes, encodeMessage({ type: 'choke' }), Uint8Array.of(0, 0, 0, 1, 4)]));
    d.next();
    d.next();
    assert.throws(() => d.next(), (e: unknown) => e instanceof WireError && e.offset === 68 + 5);
  });
});

function mustDecodeOrWireError(chunks: readonly Uint8Array[], handshake: boolean): void {
  const d = new WireDecoder({ handshake, maxMessageLength: 4096 });
  let total = 0;
  try {
    for (const c of chunks) {
      d.push(c);
      total += c.length;
      while (d.next() !== undefined);
    }
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
    assert.ok(e.offset !== undefined && e.offset >= 0 && e.offset < total, `offset ${e.offset} outside the ${total}-byte stream`);
  }
}
