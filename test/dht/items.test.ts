import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DEFAULT_ITEM_LIFETIME_MS,
  immutableTarget,
  ItemError,
  ItemStore,
  MAX_ITEM_VALUE_LENGTH,
  MAX_SALT_LENGTH,
  mutableTarget,
  signedPayload,
  signMutable,
  validImmutable,
  validMutable,
  type ItemErrorCode,
  type MutableItem,
} from '../../src/dht/items.js';
import { formatKeyFile, generateKeys, KeyFileError, keysFromSeed, parseKeyFile, verifySignature, type KeyFileErrorCode } from '../../src/dht/keys.js';

const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const flipBit = (b: Uint8Array, bit: number): Uint8Array => {
  const out = b.slice();
  out[(bit >> 3) % out.length]! ^= 1 << (bit & 7);
  return out;
};

/*
 * BEP 44 "Test vectors". The BEP gives the private key as the 64-byte
 * expanded form (SHA-512 of a seed, clamped: ref10/libtorrent's format), not
 * the 32-byte seed node:crypto signs with, and the seed cannot be recovered
 * from it. So the BEP's signatures are asserted by verifying them over the
 * bytes signedPayload builds: ed25519 verification fails on any byte of
 * difference, so this pins the signed bytes exactly. Our own signing is
 * pinned byte for byte by the RFC 8032 vectors below.
 */
const BEP44 = {
  value: ascii('12:Hello World!'),
  publicKey: fromHex('77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548'),
  salt: ascii('foobar'),
  unsalted: {
    signed: '3:seqi1e1:v12:Hello World!',
    target: '4a533d47ec9c7d95b1ad75f576cffc641853b750',
    sig: fromHex('305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff 1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01'),
  },
  salted: {
    signed: '4:salt6:foobar3:seqi1e1:v12:Hello World!',
    target: '411eba73b6f087ca51a3795d9c8c938d365e32c1',
    sig: fromHex('6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17d df9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08'),
  },
  immutableTarget: 'e5f96f6f38320f0f33959cb4d3d656452117aadb',
};

/** RFC 8032 section 7.1, TEST 1 and TEST 2: seed, public key, message, signature. */
const RFC8032 = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];

/** Written by `openssl genpkey -algorithm ed25519` (OpenSSL 3.0); seed and public key from `openssl pkey -text`. A test key, used for nothing else. */
const OPENSSL_PEM = {
  pem: '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIOsiGDBobv02iu19xNP3vkOH+u9GIxZknUoLIylhakMM\n-----END PRIVATE KEY-----\n',
  seed: 'eb221830686efd368aed7dc4d3f7be4387faef462316649d4a0b2329616a430c',
  publicKey: 'c1e1517901e64568383d044c6ab30d264de93556b87f655578fa3dda88a0b344',
};

const keysA = keysFromSeed(new Uint8Array(32).fill(1));
const keysB = keysFromSeed(new Uint8Array(32).fill(2));

function expectItemError(fn: () => unknown, code: ItemErrorCode): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ItemError, `expected ItemError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

function expectKeyFileError(contents: string, code: KeyFileErrorCode): void {
  assert.throws(() => parseKeyFile(contents), (e: unknown) => {
    assert.ok(e instanceof KeyFileError, `expected KeyFileError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** A bencoded byte string of `n` bytes of value (`<len>:xxx`). */
function bstring(n: number, fill = 'x'): Uint8Array {
  return ascii(`${n}:${fill.repeat(n)}`);
}

/** A bencoded value whose encoding is exactly `total` bytes (total >= 3). */
function valueOfLength(total: number): Uint8Array {
  for (let n = total; n >= 0; n--) {
    const v = bstring(n);
    if (v.length === total) return v;
  }
  throw new Error(`no string bencodes to ${total} bytes`);
}

describe('BEP 44 test vectors', () => {
  it('immutable: the target of 12:Hello World! (test 3)', () => {
    assert.equal(toHex(immutableTarget(BEP44.value)), BEP44.immutableTarget);
    assert.ok(validImmutable(fromHex(BEP44.immutableTarget), BEP44.value));
    const store = new ItemStore();
    assert.equal(toHex(store.putImmutable(BEP44.value, 0)), BEP44.immutableTarget);
    assert.deepEqual(store.get(fromHex(BEP44.immutableTarget), 0), { kind: 'immutable', v: BEP44.value });
  });

  for (const [name, salt, vec] of [['without salt (test 1)', undefined, BEP44.unsalted], ['with salt "foobar" (test 2)', BEP44.salt, BEP44.salted]] as const) {
    it(`mutable ${name}: signed bytes, target, signature`, () => {
      assert.equal(Buffer.from(signedPayload(1, BEP44.value, salt)).toString('latin1'), vec.signed);
      assert.equal(toHex(mutableTarget(BEP44.publicKey, salt)), vec.target);
      assert.equal(verifySignature(BEP44.publicKey, signedPayload(1, BEP44.value, salt), vec.sig), true);
      // ... and only over exactly these bytes: another seq, no salt / a salt, or another value fail.
      assert.equal(verifySignature(BEP44.publicKey, signedPayload(2, BEP44.value, salt), vec.sig), false);
      assert.equal(verifySignature(BEP44.publicKey, signedPayload(1, BEP44.value, salt === undefined ? BEP44.salt : undefined), vec.sig), false);
      assert.equal(verifySignature(BEP44.publicKey, signedPayload(1, ascii('12:Hello world!'), salt), vec.sig), false);

      const item: MutableItem = { v: BEP44.value, k: BEP44.publicKey, sig: vec.sig, seq: 1, salt };
      assert.equal(validMutable(fromHex(vec.target), item), true);
      const store = new ItemStore();
      assert.equal(toHex(store.putMutable(item, 0)), vec.target);
      const got = store.get(fromHex(vec.target), 0);
      assert.ok(got?.kind === 'mutable');
      assert.equal(got.seq, 1);
      assert.deepEqual(got.sig, vec.sig);
    });
  }

  it('an empty salt is no salt: same target, same signed bytes', () => {
    assert.deepEqual(mutableTarget(BEP44.publicKey, new Uint8Array(0)), mutableTarget(BEP44.publicKey));
    assert.deepEqual(signedPayload(1, BEP44.value, new Uint8Array(0)), signedPayload(1, BEP44.value));
    const store = new ItemStore();
    const target = store.putMutable({ v: BEP44.value, k: BEP44.publicKey, sig: BEP44.unsalted.sig, seq: 1, salt: new Uint8Array(0) }, 0);
    assert.equal(toHex(target), BEP44.unsalted.target);
    const got = store.get(target, 0);
    assert.ok(got?.kind === 'mutable');
    assert.equal('salt' in got, false);
  });

  it('the signed bytes of a large seq and a non-string value', () => {
    assert.equal(Buffer.from(signedPayload(Number.MAX_SAFE_INTEGER, ascii('d1:ai1ee'))).toString('latin1'), `3:seqi${Number.MAX_SAFE_INTEGER}e1:vd1:ai1ee`);
    assert.throws(() => signedPayload(-1, BEP44.value), RangeError);
    assert.throws(() => signedPayload(1.5, BEP44.value), RangeError);
  });
});

describe('ed25519 through node:crypto', () => {
  for (const [i, vec] of RFC8032.entries()) {
    it(`RFC 8032 test ${i + 1}: public key and signature from the seed`, () => {
      const keys = keysFromSeed(fromHex(vec.seed));
      assert.equal(toHex(keys.publicKey), vec.publicKey);
      assert.equal(toHex(keys.seed), vec.seed);
      assert.equal(toHex(keys.sign(fromHex(vec.message))), vec.sig);
      assert.equal(verifySignature(keys.publicKey, fromHex(vec.message), fromHex(vec.sig)), true);
    });
  }

  it('keysFromSeed refuses a seed that is not 32 bytes, and copies the seed', () => {
    assert.throws(() => keysFromSeed(new Uint8Array(31)), RangeError);
    assert.throws(() => keysFromSeed(new Uint8Array(64)), RangeError);
    const seed = new Uint8Array(32).fill(9);
    const keys = keysFromSeed(seed);
    seed.fill(0);
    assert.deepEqual(keys.seed, new Uint8Array(32).fill(9));
  });

  it('generateKeys gives distinct working key pairs', () => {
    const a = generateKeys();
    const b = generateKeys();
    assert.notDeepEqual(a.seed, b.seed);
    assert.deepEqual(keysFromSeed(a.seed).publicKey, a.publicKey);
    const msg = ascii('hello');
    assert.equal(verifySignature(a.publicKey, msg, a.sign(msg)), true);
    assert.equal(verifySignature(b.publicKey, msg, a.sign(msg)), false);
  });

  it('sign then verify round-trips; any flipped bit in signature, value, seq, salt or key fails (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.option(fc.uint8Array({ minLength: 1, maxLength: MAX_SALT_LENGTH }), { nil: undefined }),
        fc.nat(),
        (seed, raw, seq, salt, bit) => {
          const keys = keysFromSeed(seed);
          const v = new Uint8Array([...ascii(`${raw.length}:`), ...raw]);
          const sig = keys.sign(signedPayload(seq, v, salt));
          assert.equal(sig.length, 64);
          assert.equal(verifySignature(keys.publicKey, signedPayload(seq, v, salt), sig), true);
          assert.equal(verifySignature(keys.publicKey, signedPayload(seq, v, salt), flipBit(sig, bit)), false);
          assert.equal(verifySignature(keys.publicKey, signedPayload(seq, flipBit(v, bit), salt), sig), false);
          assert.equal(verifySignature(keys.publicKey, signedPayload(seq === 0 ? 1 : seq - 1, v, salt), sig), false);
          if (salt !== undefined) assert.equal(verifySignature(keys.publicKey, signedPayload(seq, v, flipBit(salt, bit)), sig), false);
          assert.equal(verifySignature(flipBit(keys.publicKey, bit), signedPayload(seq, v, salt), sig), false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('verifySignature is false, never throws, for malformed keys and signatures', () => {
    const msg = ascii('m');
    const sig = keysA.sign(msg);
    assert.equal(verifySignature(keysA.publicKey.subarray(0, 31), msg, sig), false);
    assert.equal(verifySignature(new Uint8Array(33), msg, sig), false);
    assert.equal(verifySignature(new Uint8Array(0), msg, sig), false);
    assert.equal(verifySignature(keysA.publicKey, msg, sig.subarray(0, 63)), false);
    assert.equal(verifySignature(keysA.publicKey, msg, new Uint8Array(65)), false);
    assert.equal(verifySignature(keysA.publicKey, msg, new Uint8Array(64)), false);
    assert.equal(verifySignature(keysA.publicKey, msg, new Uint8Array(64).fill(0xff)), false);
    assert.equal(verifySignature(new Uint8Array(32).fill(0xff), msg, sig), false);
    assert.equal(verifySignature(new Uint8Array(32), msg, new Uint8Array(64)), false);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 64, maxLength: 64 }), (k, s) => {
        assert.equal(verifySignature(k, msg, s), false);
      }),
      { numRuns: 200 },
    );
  });
});

describe('ItemStore: immutable puts', () => {
  it('stores under SHA-1(v), copies v, and returns the target', () => {
    const store = new ItemStore();
    const buffer = ascii('xxd1:ai1eexx');
    const v = buffer.subarray(2, 10);
    const target = store.putImmutable(v, 0);
    assert.deepEqual(target, immutableTarget(ascii('d1:ai1ee')));
    buffer.fill(0);
    const got = store.get(target, 0);
    assert.ok(got?.kind === 'immutable');
    assert.deepEqual(got.v, ascii('d1:ai1ee'));
    assert.equal(got.v.buffer.byteLength, 8, 'not a view into the caller buffer');
    assert.equal(store.size, 1);
    assert.equal(store.get(new Uint8Array(20), 0), undefined);
  });

  it('205 over 1000 bytes; exactly 1000 is accepted', () => {
    const store = new ItemStore();
    const ok = valueOfLength(MAX_ITEM_VALUE_LENGTH);
    assert.equal(ok.length, 1000);
    store.putImmutable(ok, 0);
    expectItemError(() => store.putImmutable(valueOfLength(MAX_ITEM_VALUE_LENGTH + 1), 0), 205);
    assert.equal(store.size, 1);
  });

  it('203 unless v is exactly one bencoded value; unsorted keys are kept verbatim', () => {
    const store = new ItemStore();
    for (const bad of ['', '5:abc', 'i1', '1:ab', 'i1ei2e', 'x', 'd1:a']) expectItemError(() => store.putImmutable(ascii(bad), 0), 203);
    assert.equal(store.size, 0);
    const unsorted = ascii('d1:bi1e1:ai2ee');
    assert.deepEqual(store.get(store.putImmutable(unsorted, 0), 0), { kind: 'immutable', v: unsorted });
  });
});

describe('ItemStore: mutable puts', () => {
  const v1 = ascii('5:first');
  const v2 = ascii('6:second');
  const put = (store: ItemStore, keys: typeof keysA, v: Uint8Array, seq: number, extra: { salt?: Uint8Array; cas?: number } = {}, now = 0): Uint8Array =>
    store.putMutable({ ...signMutable(keys, v, seq, extra.salt), cas: extra.cas }, now);
  const seqOf = (store: ItemStore, target: Uint8Array, now = 0): number | undefined => {
    const got = store.get(target, now);
    return got?.kind === 'mutable' ? got.seq : undefined;
  };

  it('stores a signed item under SHA-1(k + salt) and replaces it with a higher seq', () => {
    const store = new ItemStore();
    const target = put(store, keysA, v1, 1, { salt: ascii('s') });
    assert.deepEqual(target, mutableTarget(keysA.publicKey, ascii('s')));
    const got = store.get(target, 0);
    assert.ok(got?.kind === 'mutable');
    assert.deepEqual(got.k, keysA.publicKey);
    assert.deepEqual(got.salt, ascii('s'));
    assert.equal(validMutable(target, got), true);
    put(store, keysA, v2, 5, { salt: ascii('s') });
    assert.equal(seqOf(store, target), 5);
    assert.deepEqual(store.get(target, 0)?.v, v2);
    // Another salt is another item.
    const other = put(store, keysA, v1, 1);
    assert.notDeepEqual(other, target);
    assert.equal(store.size, 2);
  });

  it('203 for k, sig, seq or cas of the wrong shape, and v that is not bencode', () => {
    const store = new ItemStore();
    const good = signMutable(keysA, v1, 1);
    expectItemError(() => store.putMutable({ ...good, k: good.k.subarray(0, 31) }, 0), 203);
    expectItemError(() => store.putMutable({ ...good, sig: good.sig.subarray(0, 63) }, 0), 203);
    expectItemError(() => store.putMutable({ ...good, sig: new Uint8Array(65) }, 0), 203);
    for (const seq of [-1, 1.5, Number.NaN, Infinity, 2 ** 53]) {
      expectItemError(() => store.putMutable({ ...good, seq }, 0), 203);
      expectItemError(() => store.putMutable({ ...good, cas: seq }, 0), 203);
    }
    const junk = ascii('3:ab');
    expectItemError(() => store.putMutable({ ...good, v: junk, sig: keysA.sign(signedPayload(1, junk)) }, 0), 203);
    assert.equal(store.size, 0);
  });

  it('205 for a value over 1000 bytes, 207 for a salt over 64 bytes (both limits inclusive)', () => {
    const store = new ItemStore();
    put(store, keysA, valueOfLength(1000), 1, { salt: new Uint8Array(64).fill(7) });
    const big = valueOfLength(1001);
    expectItemError(() => store.putMutable({ v: big, k: keysA.publicKey, seq: 1, sig: keysA.sign(signedPayload(1, big)) }, 0), 205);
    const salt = new Uint8Array(65).fill(7);
    expectItemError(() => store.putMutable({ v: v1, k: keysA.publicKey, seq: 1, salt, sig: keysA.sign(signedPayload(1, v1, salt)) }, 0), 207);
    // signMutable refuses what a storing node would refuse.
    expectItemError(() => signMutable(keysA, big, 1), 205);
    expectItemError(() => signMutable(keysA, v1, 1, salt), 207);
    expectItemError(() => signMutable(keysA, v1, -1), 203);
    assert.equal(store.size, 1);
  });

  it('206 for a signature that does not cover the put: flipped bit, other key, other seq, other salt', () => {
    const store = new ItemStore();
    const good = signMutable(keysA, v1, 3, ascii('salt'));
    expectItemError(() => store.putMutable({ ...good, sig: flipBit(good.sig, 100) }, 0), 206);
    expectItemError(() => store.putMutable({ ...good, k: keysB.publicKey }, 0), 206);
    expectItemError(() => store.putMutable({ ...good, seq: 4 }, 0), 206);
    expectItemError(() => store.putMutable({ ...good, salt: ascii('other') }, 0), 206);
    expectItemError(() => store.putMutable({ ...good, salt: undefined }, 0), 206);
    expectItemError(() => store.putMutable({ ...good, v: ascii('5:fIrst') }, 0), 206);
    assert.equal(store.size, 0);
    store.putMutable(good, 0);
    assert.equal(store.size, 1);
  });

  it('206 is checked before the stored seq: an unsigned put changes nothing, not even the timeout', () => {
    const store = new ItemStore({ lifetimeMs: 100 });
    const target = put(store, keysA, v1, 5, {}, 0);
    const forged = { ...signMutable(keysA, v1, 5), sig: new Uint8Array(64) };
    expectItemError(() => store.putMutable(forged, 90), 206);
    expectItemError(() => store.putMutable({ ...forged, seq: 1 }, 90), 206);
    assert.equal(store.get(target, 100), undefined, 'not refreshed');
  });

  it('302 for a lower seq, and for an equal seq with another value', () => {
    const store = new ItemStore();
    const target = put(store, keysA, v1, 5);
    expectItemError(() => put(store, keysA, v2, 4), 302);
    expectItemError(() => put(store, keysA, v2, 0), 302);
    expectItemError(() => put(store, keysA, v2, 5), 302);
    assert.equal(seqOf(store, target), 5);
    assert.deepEqual(store.get(target, 0)?.v, v1);
  });

  it('an equal seq with the same value refreshes the timeout (BEP 44: SHOULD reset its timeout counter)', () => {
    const store = new ItemStore({ lifetimeMs: 100 });
    const item = signMutable(keysA, v1, 5);
    const target = store.putMutable(item, 0);
    // A republisher repeats the put without the private key.
    assert.deepEqual(store.putMutable(item, 90), target);
    assert.equal(seqOf(store, target, 150), 5);
    assert.equal(store.get(target, 190), undefined);
  });

  it('cas: a matching cas replaces, a mismatched one is 301, with nothing stored it is ignored', () => {
    const store = new ItemStore();
    // Nothing stored: cas is ignored (BEP 44 SHOULD).
    const target = put(store, keysA, v1, 1, { cas: 42 });
    assert.equal(seqOf(store, target), 1);
    put(store, keysA, v2, 2, { cas: 1 });
    assert.equal(seqOf(store, target), 2);
    expectItemError(() => put(store, keysA, v1, 3, { cas: 1 }), 301);
    expectItemError(() => put(store, keysA, v1, 3, { cas: 3 }), 301);
    assert.equal(seqOf(store, target), 2);
    // cas is compared before seq: a stale writer learns to re-read (301), not just that seq is low.
    expectItemError(() => put(store, keysA, v1, 1, { cas: 1 }), 301);
    // A matching cas does not excuse a seq that does not increase.
    expectItemError(() => put(store, keysA, v1, 1, { cas: 2 }), 302);
    put(store, keysA, v1, 3, { cas: 2 });
    assert.equal(seqOf(store, target), 3);
    // After expiry nothing is stored, so a stale cas is ignored again.
    put(store, keysA, v2, 1, { cas: 99 }, DEFAULT_ITEM_LIFETIME_MS);
    assert.equal(seqOf(store, target, DEFAULT_ITEM_LIFETIME_MS), 1);
  });

  it('copies k, sig, v and salt out of the caller buffers', () => {
    const store = new ItemStore();
    const item = signMutable(keysA, v1, 1, ascii('salt'));
    const copies = { v: item.v.slice(), k: item.k.slice(), sig: item.sig.slice(), salt: ascii('salt') };
    const target = store.putMutable(item, 0);
    item.v.fill(0);
    item.k.fill(0);
    item.sig.fill(0);
    item.salt?.fill(0);
    const got = store.get(target, 0);
    assert.ok(got?.kind === 'mutable');
    assert.deepEqual({ v: got.v, k: got.k, sig: got.sig, salt: got.salt }, copies);
  });
});

describe('ItemStore: expiry and bounds', () => {
  it('an item lives lifetimeMs after its last store or refresh (2 hours by default)', () => {
    const store = new ItemStore();
    const t = store.putImmutable(ascii('1:a'), 1000);
    assert.ok(store.get(t, 1000 + DEFAULT_ITEM_LIFETIME_MS - 1));
    assert.equal(store.get(t, 1000 + DEFAULT_ITEM_LIFETIME_MS), undefined);
    assert.equal(store.size, 0, 'get drops the expired item');
  });

  it('expire drops what was not refreshed and says how many', () => {
    const store = new ItemStore({ lifetimeMs: 100 });
    const a = store.putImmutable(ascii('1:a'), 0);
    const b = store.putImmutable(ascii('1:b'), 10);
    const c = store.putImmutable(ascii('1:c'), 20);
    store.putImmutable(ascii('1:a'), 60); // refresh
    assert.equal(store.expire(99), 0);
    assert.equal(store.expire(115), 1);
    assert.equal(store.get(b, 115), undefined);
    assert.ok(store.get(a, 115));
    assert.ok(store.get(c, 115));
    assert.equal(store.expire(1000), 2);
    assert.equal(store.size, 0);
    assert.equal(store.expire(2000), 0);
  });

  it('expire does not rely on the clock only moving forward', () => {
    const store = new ItemStore({ lifetimeMs: 100 });
    store.putImmutable(ascii('1:a'), 500);
    const old = store.putImmutable(ascii('1:b'), 0); // stored "in the past", after a newer one
    assert.equal(store.expire(150), 1);
    assert.equal(store.get(old, 150), undefined);
  });

  it('when full, a new item evicts the least recently stored or refreshed one', () => {
    const store = new ItemStore({ maxItems: 3 });
    const a = store.putImmutable(ascii('1:a'), 0);
    const b = store.putImmutable(ascii('1:b'), 1);
    const c = store.putImmutable(ascii('1:c'), 2);
    store.putImmutable(ascii('1:a'), 3); // a is now the most recent
    const d = store.putImmutable(ascii('1:d'), 4);
    assert.equal(store.size, 3);
    assert.equal(store.get(b, 4), undefined);
    for (const t of [a, c, d]) assert.ok(store.get(t, 4));
    // A mutable update of a stored target evicts nothing.
    const m = store.putMutable(signMutable(keysA, ascii('1:x'), 1), 5); // evicts c
    store.putMutable(signMutable(keysA, ascii('1:y'), 2), 6);
    assert.equal(store.size, 3);
    assert.equal(store.get(c, 6), undefined);
    for (const t of [a, d, m]) assert.ok(store.get(t, 6));
  });

  it('never holds more than maxItems, and always holds the last put (property)', () => {
    const op = fc.record({ value: fc.integer({ min: 0, max: 30 }), dt: fc.integer({ min: 0, max: 40 }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 100 }), (maxItems, ops) => {
        const store = new ItemStore({ maxItems, lifetimeMs: 100 });
        let now = 0;
        for (const { value, dt } of ops) {
          now += dt;
          const target = store.putImmutable(ascii(`i${value}e`), now);
          assert.ok(store.size <= maxItems);
          assert.ok(store.get(target, now));
          if (dt % 7 === 0) store.expire(now);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses options that cannot bound anything', () => {
    assert.throws(() => new ItemStore({ maxItems: 0 }), RangeError);
    assert.throws(() => new ItemStore({ maxItems: 1.5 }), RangeError);
    assert.throws(() => new ItemStore({ lifetimeMs: 0 }), RangeError);
    assert.throws(() => new ItemStore({ lifetimeMs: Number.NaN }), RangeError);
  });
});

describe('validImmutable and validMutable (items from get responses)', () => {
  it('validImmutable: the hash must match and the size be within the limit', () => {
    const v = ascii('3:abc');
    assert.equal(validImmutable(immutableTarget(v), v), true);
    assert.equal(validImmutable(immutableTarget(v), ascii('3:abd')), false);
    assert.equal(validImmutable(new Uint8Array(20), v), false);
    const big = valueOfLength(1001);
    assert.equal(validImmutable(immutableTarget(big), big), false);
  });

  it('validMutable: target, salt, sizes and signature, never throwing', () => {
    const salt = ascii('n');
    const item = signMutable(keysA, ascii('3:abc'), 7, salt);
    const target = mutableTarget(keysA.publicKey, salt);
    assert.equal(validMutable(target, item), true);
    assert.equal(validMutable(mutableTarget(keysA.publicKey), item), false, 'target without the salt');
    assert.equal(validMutable(target, { ...item, salt: undefined }), false, 'get responses do not carry the salt: the caller must supply it');
    assert.equal(validMutable(target, { ...item, k: keysB.publicKey }), false);
    assert.equal(validMutable(target, { ...item, sig: flipBit(item.sig, 3) }), false);
    assert.equal(validMutable(target, { ...item, seq: 8 }), false);
    assert.equal(validMutable(target, { ...item, seq: -7 }), false);
    assert.equal(validMutable(target, { ...item, v: ascii('3:abd') }), false);
    assert.equal(validMutable(target, { ...item, k: new Uint8Array(5) }), false);
    assert.equal(validMutable(target, { ...item, sig: new Uint8Array(0) }), false);
    const big = valueOfLength(1001);
    assert.equal(validMutable(target, { ...item, v: big, sig: keysA.sign(signedPayload(7, big, salt)) }), false);
    const longSalt = new Uint8Array(65);
    assert.equal(validMutable(mutableTarget(keysA.publicKey, longSalt), { ...item, salt: longSalt, sig: keysA.sign(signedPayload(7, item.v, longSalt)) }), false);
  });
});

describe('key files', () => {
  it('hex: formatKeyFile and parseKeyFile round-trip; whitespace and case are ignored', () => {
    const text = formatKeyFile(keysA);
    assert.equal(text, `${'01'.repeat(32)}\n`);
    assert.deepEqual(parseKeyFile(text).publicKey, keysA.publicKey);
    const vec = RFC8032[0]!;
    for (const variant of [vec.seed, vec.seed.toUpperCase(), `  ${vec.seed}\r\n`, `${vec.seed.slice(0, 32)}\n${vec.seed.slice(32)}\n`]) {
      const keys = parseKeyFile(variant);
      assert.equal(toHex(keys.seed), vec.seed);
      assert.equal(toHex(keys.publicKey), vec.publicKey);
    }
  });

  it('PEM written by openssl genpkey -algorithm ed25519', () => {
    const keys = parseKeyFile(OPENSSL_PEM.pem);
    assert.equal(toHex(keys.seed), OPENSSL_PEM.seed);
    assert.equal(toHex(keys.publicKey), OPENSSL_PEM.publicKey);
    // Converting to the hex form keeps the key.
    assert.deepEqual(parseKeyFile(formatKeyFile(keys)).publicKey, keys.publicKey);
  });

  it('PEM from node:crypto generateKeyPairSync(ed25519), pkcs8: signatures verify with node:crypto', () => {
    const pair = generateKeyPairSync('ed25519');
    const pem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' });
    const keys = parseKeyFile(`# comment lines around the block are ignored\n${pem}`);
    const spki = pair.publicKey.export({ type: 'spki', format: 'der' });
    assert.deepEqual(keys.publicKey, new Uint8Array(spki.subarray(spki.length - 32)));
    const msg = signedPayload(1, ascii('2:hi'));
    assert.equal(verify(null, msg, pair.publicKey, keys.sign(msg)), true);
    assert.equal(verifySignature(keys.publicKey, msg, keys.sign(msg)), true);
  });

  it('garbage is a KeyFileError with a code', () => {
    expectKeyFileError('', 'unrecognized');
    expectKeyFileError('   \n', 'unrecognized');
    expectKeyFileError('hello world', 'unrecognized');
    expectKeyFileError(`0x${'ab'.repeat(32)}`, 'unrecognized');
    expectKeyFileError('ab'.repeat(31) + 'a', 'bad-hex');
    expectKeyFileError('ab'.repeat(33), 'bad-hex');
    expectKeyFileError('ab'.repeat(64), 'bad-hex'); // a 64-byte libsodium secret key is not a seed
    const pair = generateKeyPairSync('ed25519');
    expectKeyFileError(pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'bad-pem');
    expectKeyFileError(pair.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }).toString(), 'bad-pem');
    expectKeyFileError(OPENSSL_PEM.pem.replace('\n-----END PRIVATE KEY-----\n', ''), 'bad-pem');
    expectKeyFileError(OPENSSL_PEM.pem.replace('MC4CAQAw', 'MC4CAQBw'), 'bad-pem');
    expectKeyFileError('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', 'bad-pem');
    expectKeyFileError('-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n', 'bad-pem');
    expectKeyFileError(generateKeyPairSync('ed448').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'not-ed25519');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    expectKeyFileError(rsa.export({ type: 'pkcs8', format: 'pem' }).toString(), 'not-ed25519');
    expectKeyFileError(rsa.export({ type: 'pkcs1', format: 'pem' }).toString(), 'not-ed25519');
  });
});
