import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BencodeError, decode, decodePrefix, decodeWithSpans, encode, text, utf8Bytes, type BValue } from '../../src/bencode/index.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

function rejects(input: string | Uint8Array, code: string, offset?: number, options = {}): void {
  const bytes = typeof input === 'string' ? b(input) : input;
  assert.throws(
    () => decode(bytes, options),
    (e: unknown) => {
      assert.ok(e instanceof BencodeError, `expected a BencodeError, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      if (offset !== undefined) assert.equal(e.offset, offset, e.message);
      return true;
    },
  );
}

describe('bencode decode', () => {
  it('decodes integers, including beyond 2^53 as bigint', () => {
    assert.equal(decode(b('i0e')), 0);
    assert.equal(decode(b('i42e')), 42);
    assert.equal(decode(b('i-7e')), -7);
    assert.equal(decode(b('i9007199254740991e')), Number.MAX_SAFE_INTEGER);
    assert.equal(decode(b('i9007199254740992e')), 9007199254740992n);
    assert.equal(decode(b('i-123456789012345678901234567890e')), -123456789012345678901234567890n);
  });

  it('decodes byte strings as bytes, not text', () => {
    const v = decode(b('4:\xff\x00ab'));
    assert.deepEqual(v, new Uint8Array([0xff, 0, 0x61, 0x62]));
    assert.deepEqual(decode(b('0:')), new Uint8Array());
    assert.equal(text(decode(utf8Bytes('5:Über')) as Uint8Array), 'Über');
  });

  it('decodes lists and dictionaries', () => {
    const v = decode(b('d3:cow3:moo4:spaml1:a1:bi3eee')) as Map<string, BValue>;
    assert.ok(v instanceof Map);
    assert.deepEqual([...v.keys()], ['cow', 'spam']);
    assert.equal(text(v.get('cow') as Uint8Array), 'moo');
    const list = v.get('spam') as BValue[];
    assert.equal(list.length, 3);
    assert.equal(list[2], 3);
  });

  it('rejects what BEP 3 calls invalid, with the byte offset', () => {
    rejects('i03e', 'leading-zero', 1);
    rejects('i-0e', 'negative-zero', 0);
    rejects('ie', 'unexpected-byte', 1);
    rejects('i-e', 'unexpected-byte', 2);
    rejects('i1.5e', 'unexpected-byte', 2);
    rejects('03:abc', 'leading-zero', 0);
    rejects('5:abc', 'truncated', 0);
    rejects('i42', 'truncated', 3);
    rejects('l', 'truncated', 1);
    rejects('d3:cow', 'truncated', 6);
    rejects('di1ei2ee', 'unexpected-byte', 1);
    rejects('x', 'unexpected-byte', 0);
    rejects('', 'truncated', 0);
    rejects('i1ei2e', 'trailing-data', 3);
    rejects('d1:bi1e1:ai2ee', 'unsorted-keys', 7);
    rejects('d1:ai1e1:ai2ee', 'duplicate-key', 7);
  });

  it('accepts unsorted keys only in lenient mode, and never duplicates', () => {
    const v = decode(b('d1:bi1e1:ai2ee'), { strict: false }) as Map<string, BValue>;
    assert.deepEqual([...v.entries()], [['b', 1], ['a', 2]]);
    rejects('d1:ai1e1:ai2ee', 'duplicate-key', 7, { strict: false });
  });

  it('orders keys byte-wise, not by code point of decoded text', () => {
    // 0xc3 (first byte of UTF-8 "Ü") sorts after 'z'.
    assert.doesNotThrow(() => decode(utf8Bytes('d1:zi1e2:Üi2ee')));
    rejects(utf8Bytes('d2:Üi2e1:zi1ee'), 'unsorted-keys');
  });

  it('bounds nesting depth without overflowing the stack', () => {
    const deep = b('l'.repeat(100_000) + 'e'.repeat(100_000));
    rejects(deep, 'too-deep', 256);
    const dicts = b('d1:a'.repeat(100_000));
    rejects(dicts, 'too-deep');
    assert.deepEqual(decode(b('llee'), { maxDepth: 2 }), [[]]);
    rejects('llee', 'too-deep', 1, { maxDepth: 1 });
  });

  it('refuses oversized input and absurd length prefixes before allocating', () => {
    rejects(new Uint8Array(101), 'too-large', 0, { maxSize: 100 });
    rejects('999999999999999:x', 'truncated', 0);
    rejects('9999999999999999999999:x', 'string-too-long', 0);
    rejects(`i${'9'.repeat(300)}e`, 'integer-too-long', 1);
  });

  it('bounds the number of values and the length of keys', () => {
    rejects(`l${'0:'.repeat(11)}e`, 'too-large', 21, { maxValues: 11 });
    assert.equal((decode(b(`l${'0:'.repeat(10)}e`), { maxValues: 11 }) as BValue[]).length, 10);
    rejects(`d2000:${'k'.repeat(2000)}i1ee`, 'string-too-long', 1);
  });

  it('copies byte strings out of a Buffer input instead of aliasing it', () => {
    const input = Buffer.from('l4:spame');
    const v = decode(input) as Uint8Array[];
    input[3] = 0x58;
    assert.equal(text(v[0]!), 'spam');
  });

  it('reports the exact bytes of a top-level value even when not canonical', () => {
    // The info dict here has unsorted keys: the span must cover the original bytes.
    const input = b('d4:infod1:zi1e1:ai2ee3:zzz0:e');
    const { spans } = decodeWithSpans(input, { strict: false });
    const span = spans.get('info')!;
    assert.equal(Buffer.from(input.subarray(span.start, span.end)).toString('latin1'), 'd1:zi1e1:ai2ee');
    assert.notDeepEqual(encode(decode(input.subarray(span.start, span.end), { strict: false })), input.subarray(span.start, span.end));
  });

  it('decodes a prefix and says where it ends (BEP 9 data messages)', () => {
    const { value, end } = decodePrefix(b('d1:ai1eeRAW'));
    assert.ok(value instanceof Map);
    assert.equal(end, 8);
  });
});
