import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeMessage, encodeMessage, encodePieceHeader, MessageId, WireError, type Message, type MessageType } from '../../src/wire/index.js';
import { FIXED_PAYLOAD, messageArb } from './arbitraries.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** One message of each type with its exact frame (BEP 3, 5, 6, 10), written out by hand. */
const EXAMPLES: readonly (readonly [Message, string])[] = [
  [{ type: 'keep-alive' }, '00000000'],
  [{ type: 'choke' }, '0000000100'],
  [{ type: 'unchoke' }, '0000000101'],
  [{ type: 'interested' }, '0000000102'],
  [{ type: 'not-interested' }, '0000000103'],
  [{ type: 'have', index: 0x01020304 }, '000000050401020304'],
  [{ type: 'bitfield', bitfield: Uint8Array.of(0xa0, 0x01) }, '0000000305a001'],
  [{ type: 'request', index: 1, begin: 0x4000, length: 0x4000 }, '0000000d06' + '00000001' + '00004000' + '00004000'],
  [{ type: 'piece', index: 2, begin: 0, block: Uint8Array.of(0xde, 0xad) }, '0000000b07' + '00000002' + '00000000' + 'dead'],
  [{ type: 'cancel', index: 0xffffffff, begin: 1, length: 2 }, '0000000d08' + 'ffffffff' + '00000001' + '00000002'],
  [{ type: 'port', port: 6881 }, '00000003091ae1'],
  [{ type: 'suggest', index: 7 }, '000000050d00000007'],
  [{ type: 'have-all' }, '000000010e'],
  [{ type: 'have-none' }, '000000010f'],
  [{ type: 'reject', index: 3, begin: 4, length: 5 }, '0000000d10' + '00000003' + '00000004' + '00000005'],
  [{ type: 'allowed-fast', index: 9 }, '000000051100000009'],
  [{ type: 'extended', id: 0, payload: Uint8Array.of(0x64, 0x65) }, '00000004' + '14' + '00' + '6465'],
  [{ type: 'unknown', id: 0x15, payload: Uint8Array.of(1, 2, 3) }, '0000000415010203'],
];

describe('wire messages', () => {
  it('has an example for every message type', () => {
    const all: readonly MessageType[] = ['keep-alive', 'choke', 'unchoke', 'interested', 'not-interested', 'have', 'bitfield', 'request', 'piece', 'cancel', 'port', 'suggest', 'have-all', 'have-none', 'reject', 'allowed-fast', 'extended', 'unknown'];
    assert.deepEqual(new Set(EXAMPLES.map(([m]) => m.type)), new Set(all));
  });

  for (const [m, frame] of EXAMPLES) {
    it(`encodes and decodes ${m.type} exactly`, () => {
      assert.equal(hex(encodeMessage(m)), frame);
      assert.deepEqual(decodeMessage(Buffer.from(frame, 'hex')), m);
    });
  }

  it('round-trips any message (property)', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const frame = encodeMessage(m);
        assert.equal(new DataView(frame.buffer).getUint32(0), frame.length - 4);
        const back = decodeMessage(frame);
        assert.deepEqual(back, m);
        assert.deepEqual(encodeMessage(back), frame);
      }),
      { numRuns: 2000 },
    );
  });

  it('encodePieceHeader is the first 13 bytes of the piece frame', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.uint8Array({ maxLength: 100 }), (index, begin, block) => {
        const header = encodePieceHeader(index, begin, block.length);
        assert.equal(header.length, 13);
        assert.deepEqual(Buffer.concat([header, block]), Buffer.from(encodeMessage({ type: 'piece', index, begin, block })));
      }),
    );
    assert.equal(hex(encodePieceHeader(1, 0x4000, 0x4000)), '00004009' + '07' + '00000001' + '00004000');
  });

  it('refuses fields that do not fit their wire width with RangeError', () => {
    const bad: Message[] = [
      { type: 'have', index: -1 },
      { type: 'have', index: 2 ** 32 },
      { type: 'suggest', index: 1.5 },
      { type: 'request', index: 0, begin: 2 ** 32, length: 1 },
      { type: 'reject', index: 0, begin: 0, length: NaN },
      { type: 'piece', index: -1, begin: 0, block: new Uint8Array(1) },
      { type: 'port', port: 65536 },
      { type: 'extended', id: 256, payload: new Uint8Array(0) },
      { type: 'unknown', id: MessageId.have, payload: new Uint8Array(4) },
      { type: 'unknown', id: 300, payload: new Uint8Array(0) },
    ];
    for (const m of bad) assert.throws(() => encodeMessage(m), RangeError, JSON.stringify(m));
    assert.throws(() => encodePieceHeader(0, 0, 2 ** 32), RangeError);
  });

  it('rejects a payload of the wrong length for its id with bad-length', () => {
    for (const [id, size] of FIXED_PAYLOAD) {
      for (const wrong of [size - 1, size + 1, size + 1000].filter((n) => n >= 0)) {
        const frame = new Uint8Array(5 + wrong);
        new DataView(frame.buffer).setUint32(0, 1 + wrong);
        frame[4] = id;
        assert.throws(() => decodeMessage(frame), (e: unknown) => e instanceof WireError && e.code === 'bad-length', `id ${id} with ${wrong} bytes`);
      }
    }
    // piece needs <index><begin>, extended needs its extended id.
    assert.throws(() => decodeMessage(Buffer.from('000000080700000000000000', 'hex')), { code: 'bad-length' });
    assert.throws(() => decodeMessage(Buffer.from('0000000114', 'hex')), { code: 'bad-length' });
    // A prefix that disagrees with the frame's size.
    assert.throws(() => decodeMessage(Buffer.from('0000000200', 'hex')), { code: 'bad-length' });
    assert.throws(() => decodeMessage(Buffer.from('000000', 'hex')), { code: 'bad-length' });
  });

  it('accepts an empty piece block and an empty bitfield (the engine judges them)', () => {
    assert.deepEqual(decodeMessage(Buffer.from('000000090700000001' + '00000002', 'hex')), { type: 'piece', index: 1, begin: 2, block: new Uint8Array(0) });
    assert.deepEqual(decodeMessage(Buffer.from('0000000105', 'hex')), { type: 'bitfield', bitfield: new Uint8Array(0) });
  });

  it('copies variable payloads other than piece blocks out of the frame', () => {
    const frame = Buffer.from('0000000305a001', 'hex');
    const m = decodeMessage(frame);
    assert.ok(m.type === 'bitfield');
    assert.equal(Object.getPrototypeOf(m.bitfield), Uint8Array.prototype);
    frame[5] = 0;
    assert.equal(m.bitfield[0], 0xa0);
  });
});
