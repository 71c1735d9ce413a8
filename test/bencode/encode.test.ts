import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BencodeError, decode, encode } from '../../src/bencode/index.js';

const s = (u: Uint8Array): string => Buffer.from(u).toString('latin1');

describe('bencode encode', () => {
  it('writes the BEP 3 forms', () => {
    assert.equal(s(encode(42)), 'i42e');
    assert.equal(s(encode(-0)), 'i0e');
    assert.equal(s(encode(2n ** 70n)), 'i1180591620717411303424e');
    assert.equal(s(encode('spam')), '4:spam');
    assert.equal(s(encode(new Uint8Array([0, 255]))), '2:\x00\xff');
    assert.equal(s(encode(['a', 1, []])), 'l1:ai1elee');
  });

  it('sorts dictionary keys byte-wise and leaves out undefined values', () => {
    assert.equal(s(encode({ zeta: 1, alpha: 2, skip: undefined })), 'd5:alphai2e4:zetai1ee');
    assert.equal(s(encode(new Map([['b', 1], ['a', 2]]))), 'd1:ai2e1:bi1ee');
    // Binary-string keys: \xc3 sorts after 'z'.
    assert.equal(s(encode(new Map([['\xc3', 1], ['z', 2]]))), 'd1:zi2e1:\xc3i1ee');
  });

  it('writes UTF-8 for string values', () => {
    assert.deepEqual(encode('Ü'), new Uint8Array([0x32, 0x3a, 0xc3, 0x9c]));
  });

  it('refuses what bencode cannot express', () => {
    assert.throws(() => encode(1.5), BencodeError);
    assert.throws(() => encode(Number.MAX_SAFE_INTEGER + 1), BencodeError);
    assert.throws(() => encode(true as unknown as number), BencodeError);
    assert.throws(() => encode(new Map([['\u0100', 1]])), BencodeError);
  });

  it('round-trips through decode', () => {
    const v = new Map<string, unknown>([
      ['a', [1, -2, 3n ** 50n]],
      ['b', new Uint8Array([1, 2, 3])],
    ]);
    const bytes = encode(v as never);
    assert.deepEqual(encode(decode(bytes)), bytes);
  });
});
