import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { binary, encode } from '../../../src/bencode/index.js';
import { encodeFrame, FrameDecoder } from '../../../src/overlay/common/frame.js';
import { OverlayError } from '../../../src/overlay/common/errors.js';
import { compactEndpoint, Fields } from '../../../src/overlay/common/fields.js';

/* The framing every overlay shares: length-prefixed bencoded dictionaries. */

function frameOf(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

describe('frames', () => {
  it('a message comes back whole, however the stream is cut', () => {
    const frames = [encodeFrame({ t: 'query', q: 'free music', ttl: 7 }), encodeFrame({ t: 'ping' }), encodeFrame({ t: 'hit', n: new Uint8Array(300).fill(7) })];
    const stream = Buffer.concat(frames);
    for (const cut of [1, 3, 4, 5, 17, stream.length - 1]) {
      const d = new FrameDecoder();
      const got = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      assert.deepEqual(
        got.map((m) => binary(m.get('t') as Uint8Array)),
        ['query', 'ping', 'hit'],
      );
      assert.equal(d.pending, 0);
    }
  });

  it('a length over the limit is refused before its body arrives, with the offset', () => {
    const d = new FrameDecoder(1000);
    const ok = encodeFrame({ t: 'ping' });
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, 1001);
    assert.equal(d.push(ok).length, 1);
    assert.throws(
      () => d.push(head),
      (e) => e instanceof OverlayError && e.code === 'too-large' && e.offset === ok.length,
    );
  });

  it('a body that is not one bencoded dictionary is a bad message', () => {
    for (const body of [Buffer.from('i42e'), Buffer.from('d1:t4:ping'), Buffer.from('d1:t4:pinge1:x'), Buffer.from('l1:te')]) {
      assert.throws(
        () => new FrameDecoder().push(frameOf(body)),
        (e) => e instanceof OverlayError && e.code === 'bad-message' && e.offset >= 4,
      );
    }
  });

  it('random bytes only ever give frames or an OverlayError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          new FrameDecoder(200).push(bytes);
        } catch (e) {
          assert.ok(e instanceof OverlayError, String(e));
        }
      }),
    );
  });
});

describe('fields', () => {
  const dict = (o: Record<string, unknown>): Map<string, never> => new FrameDecoder().push(frameOf(encode(o as never)))[0] as Map<string, never>;

  it('typed reads give values, and a clear error naming the message and field otherwise', () => {
    const f = new Fields(dict({ t: 'query', ttl: 3, q: 'abc', id: new Uint8Array(16), a: compactEndpoint({ host: '10.0.0.1', port: 6346 }), l: [1, 2] }), 'query');
    assert.equal(f.int('ttl', 1, 7), 3);
    assert.equal(f.text('q', 10), 'abc');
    assert.equal(f.bytes('id', 16).length, 16);
    assert.deepEqual(f.endpoint('a'), { host: '10.0.0.1', port: 6346 });
    assert.deepEqual(
      f.list('l', 5, (v) => v),
      [1, 2],
    );
    assert.throws(() => f.int('ttl', 4, 7), /query message has "ttl" that is not an integer from 4 to 7/);
    assert.throws(() => f.int('missing', 0, 1), /query message has no "missing"/);
    assert.throws(() => f.bytes('id', 20), /"id" of 16 bytes \(expected 20\)/);
    assert.throws(() => f.text('q', 2), /"q" of 3 bytes/);
    assert.throws(() => f.list('l', 1, (v) => v), /with 2 items \(at most 1\)/);
  });

  it('compact endpoints refuse what is not IPv4 with a port', () => {
    assert.throws(() => compactEndpoint({ host: '::1', port: 1 }), OverlayError);
    assert.throws(() => compactEndpoint({ host: '1.2.3.4', port: 0 }), OverlayError);
    assert.throws(() => new Fields(dict({ t: 'x', a: new Uint8Array(6) }), 'x').endpoint('a'), /port 0/);
  });
});

describe('frames arriving in small pieces', () => {
  it('are joined once: the bytes copied grow with the frame, not with its length times its pieces', () => {
    const frame = encodeFrame({ t: 'hit', n: new Uint8Array(20_000).fill(9) });
    const proto = Uint8Array.prototype as unknown as { set: (this: Uint8Array, array: ArrayLike<number>, offset?: number) => void };
    const realSet = proto.set;
    let copied = 0;
    proto.set = function (array, offset) {
      copied += array.length;
      realSet.call(this, array, offset);
    };
    let got: ReturnType<FrameDecoder['push']> = [];
    const d = new FrameDecoder();
    try {
      for (let i = 0; i < frame.length; i++) got = [...got, ...d.push(frame.subarray(i, i + 1))];
    } finally {
      proto.set = realSet;
    }
    assert.equal(got.length, 1);
    assert.equal((got[0]!.get('n') as Uint8Array).length, 20_000);
    assert.equal(d.pending, 0);
    assert.ok(copied < 3 * frame.length, `${copied} bytes copied for a frame of ${frame.length}`);
  });

  it('pieces that cut the length prefix, and many frames in one piece, come out the same', () => {
    const frames = Array.from({ length: 50 }, (_, i) => encodeFrame({ t: 'ping', i }));
    const stream = Buffer.concat(frames);
    for (const size of [1, 2, 3, 5, 7, 64, stream.length]) {
      const d = new FrameDecoder();
      const ids: number[] = [];
      for (let at = 0; at < stream.length; at += size) ids.push(...d.push(stream.subarray(at, at + size)).map((m) => m.get('i') as number));
      assert.deepEqual(ids, Array.from({ length: 50 }, (_, i) => i), `pieces of ${size}`);
      assert.equal(d.pending, 0);
    }
  });

  it('a length over the limit, cut across pieces, is refused with its offset', () => {
    const d = new FrameDecoder(1000);
    const ok = encodeFrame({ t: 'ping' });
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, 5000);
    const stream = Buffer.concat([ok, head]);
    const pieces = [stream.subarray(0, ok.length + 1), stream.subarray(ok.length + 1, ok.length + 3)];
    assert.equal(d.push(pieces[0]!).length, 1);
    assert.deepEqual(d.push(pieces[1]!), []);
    assert.throws(
      () => d.push(stream.subarray(ok.length + 3)),
      (e) => e instanceof OverlayError && e.code === 'too-large' && e.offset === ok.length,
    );
  });
});
