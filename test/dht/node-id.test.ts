import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  bitOf,
  commonPrefixLength,
  compareDistance,
  crc32c,
  decodeCompactNodes,
  decodeCompactPeer,
  encodeCompactNodes,
  encodeCompactPeer,
  idFromHex,
  idHex,
  isExemptAddress,
  isSecureId,
  randomId,
  randomIdWithPrefix,
  sameId,
  secureId,
  type Contact,
} from '../../src/dht/node-id.js';
import { seededRandom, type Random } from '../../src/net/index.js';

const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toBig = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString('hex')}`);

/** A Random that makes randomId return exactly `bytes` (it takes floor(random() * 256) per byte). */
function replay(bytes: Uint8Array): Random {
  let i = 0;
  return () => (bytes[i++ % bytes.length]! + 0.5) / 256;
}

const idArb = fc.uint8Array({ minLength: 20, maxLength: 20 });
const octet = fc.nat(255);
const ipv4Arb = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const publicIpv4Arb = ipv4Arb.filter((ip) => !isExemptAddress(ip));
const portArb = fc.integer({ min: 1, max: 0xffff });

describe('compact peer info (BEP 5)', () => {
  it('is the IPv4 address, then the port, big-endian', () => {
    assert.deepEqual(encodeCompactPeer({ host: '1.2.3.4', port: 0x1ae1 }), Uint8Array.of(1, 2, 3, 4, 0x1a, 0xe1));
    assert.deepEqual(encodeCompactPeer({ host: '255.0.128.7', port: 65535 }), Uint8Array.of(255, 0, 128, 7, 0xff, 0xff));
    assert.deepEqual(decodeCompactPeer(Uint8Array.of(1, 2, 3, 4, 0x1a, 0xe1)), { host: '1.2.3.4', port: 0x1ae1 });
  });

  it('takes an IPv4-mapped IPv6 address as IPv4', () => {
    assert.deepEqual(encodeCompactPeer({ host: '::ffff:10.1.2.3', port: 80 }), Uint8Array.of(10, 1, 2, 3, 0, 80));
  });

  it('has no encoding for IPv6, names, or ports outside 1..65535', () => {
    assert.equal(encodeCompactPeer({ host: '::1', port: 6881 }), undefined);
    assert.equal(encodeCompactPeer({ host: 'router.bittorrent.com', port: 6881 }), undefined);
    assert.equal(encodeCompactPeer({ host: '1.2.3.4', port: 0 }), undefined);
    assert.equal(encodeCompactPeer({ host: '1.2.3.4', port: 65536 }), undefined);
    assert.equal(encodeCompactPeer({ host: '1.2.3.4', port: 1.5 }), undefined);
  });

  it('refuses another length and port 0', () => {
    assert.equal(decodeCompactPeer(new Uint8Array(5)), undefined);
    assert.equal(decodeCompactPeer(new Uint8Array(7)), undefined);
    assert.equal(decodeCompactPeer(Uint8Array.of(1, 2, 3, 4, 0, 0)), undefined);
  });

  it('round-trips (property)', () => {
    fc.assert(
      fc.property(ipv4Arb, portArb, (host, port) => {
        assert.deepEqual(decodeCompactPeer(encodeCompactPeer({ host, port })!), { host, port });
      }),
    );
  });
});

describe('compact node info (BEP 5)', () => {
  const contactArb: fc.Arbitrary<Contact> = fc.record({ id: idArb, host: ipv4Arb, port: portArb }).map((c) => ({ ...c }));

  it('is 26 bytes per node: id, address, port', () => {
    const id = fromHex('0102030405060708090a0b0c0d0e0f1011121314');
    const bytes = encodeCompactNodes([{ id, host: '192.0.2.1', port: 6881 }]);
    assert.deepEqual(bytes, fromHex('0102030405060708090a0b0c0d0e0f1011121314 c0000201 1ae1'));
  });

  it('round-trips (property)', () => {
    fc.assert(
      fc.property(fc.array(contactArb, { maxLength: 16 }), (contacts) => {
        assert.deepEqual(decodeCompactNodes(encodeCompactNodes(contacts)), contacts);
      }),
    );
  });

  it('skips contacts it cannot encode, and entries with port 0', () => {
    const a: Contact = { id: new Uint8Array(20).fill(1), host: '1.1.1.1', port: 1 };
    const b: Contact = { id: new Uint8Array(20).fill(2), host: '::1', port: 2 };
    const c: Contact = { id: new Uint8Array(20).fill(3), host: '3.3.3.3', port: 3 };
    const bytes = encodeCompactNodes([a, b, c]);
    assert.equal(bytes.length, 52);
    assert.deepEqual(decodeCompactNodes(bytes), [a, c]);
    const zeroPort = bytes.slice();
    zeroPort[24] = 0;
    zeroPort[25] = 0;
    assert.deepEqual(decodeCompactNodes(zeroPort), [c]);
  });

  it('ignores a trailing partial entry', () => {
    const a: Contact = { id: new Uint8Array(20).fill(7), host: '7.7.7.7', port: 7 };
    const bytes = new Uint8Array(26 + 25);
    bytes.set(encodeCompactNodes([a]));
    assert.deepEqual(decodeCompactNodes(bytes), [a]);
    assert.deepEqual(decodeCompactNodes(new Uint8Array(25)), []);
  });

  it('copies the ids out of the datagram', () => {
    const bytes = encodeCompactNodes([{ id: new Uint8Array(20).fill(9), host: '9.9.9.9', port: 9 }]);
    const [node] = decodeCompactNodes(bytes);
    bytes.fill(0);
    assert.deepEqual(node!.id, new Uint8Array(20).fill(9));
  });
});

describe('XOR distance', () => {
  it('compareDistance orders like |a xor t| - |b xor t| as 160-bit integers (property)', () => {
    fc.assert(
      fc.property(idArb, idArb, idArb, (t, a, b) => {
        const da = toBig(a) ^ toBig(t);
        const db = toBig(b) ^ toBig(t);
        assert.equal(Math.sign(compareDistance(t, a, b)), da < db ? -1 : da > db ? 1 : 0);
        assert.equal(Math.sign(compareDistance(t, b, a)), -Math.sign(compareDistance(t, a, b)));
      }),
      { numRuns: 1000 },
    );
  });

  it('the target itself is closest to the target', () => {
    const t = randomId(seededRandom(1));
    const other = randomId(seededRandom(2));
    assert.ok(compareDistance(t, t, other) < 0);
    assert.equal(compareDistance(t, t, t), 0);
  });

  it('commonPrefixLength is 160 minus the bit length of a xor b (property)', () => {
    fc.assert(
      fc.property(idArb, idArb, (a, b) => {
        const x = toBig(a) ^ toBig(b);
        assert.equal(commonPrefixLength(a, b), 160 - (x === 0n ? 0 : x.toString(2).length));
      }),
      { numRuns: 1000 },
    );
  });

  it('commonPrefixLength at the edges', () => {
    const zero = new Uint8Array(20);
    assert.equal(commonPrefixLength(zero, zero), 160);
    assert.equal(commonPrefixLength(zero, fromHex('80'.padEnd(40, '0'))), 0);
    assert.equal(commonPrefixLength(zero, fromHex('01'.padEnd(40, '0'))), 7);
    assert.equal(commonPrefixLength(zero, fromHex('00'.repeat(19) + '01')), 159);
  });

  it('bitOf reads bits most significant first', () => {
    const id = fromHex('a0'.padEnd(40, '0'));
    assert.deepEqual([0, 1, 2, 3].map((b) => bitOf(id, b)), [1, 0, 1, 0]);
  });

  it('randomIdWithPrefix shares exactly `prefixBits` bits with the base (property)', () => {
    fc.assert(
      fc.property(idArb, fc.integer({ min: 0, max: 159 }), fc.integer(), (base, prefix, seed) => {
        assert.equal(commonPrefixLength(randomIdWithPrefix(base, prefix, seededRandom(seed)), base), prefix);
      }),
      { numRuns: 500 },
    );
    const base = randomId(seededRandom(3));
    assert.deepEqual(randomIdWithPrefix(base, 160, seededRandom(4)), base);
  });

  it('sameId, idHex and idFromHex', () => {
    const id = fromHex('00112233445566778899aabbccddeeff01234567');
    assert.equal(idHex(id), '00112233445566778899aabbccddeeff01234567');
    assert.deepEqual(idFromHex('00112233445566778899AABBCCDDEEFF01234567'), id);
    assert.equal(idFromHex('0011'), undefined);
    assert.equal(idFromHex('zz112233445566778899aabbccddeeff01234567'), undefined);
    assert.ok(sameId(id, id.slice()));
    const other = id.slice();
    other[19] = other[19]! ^ 1;
    assert.ok(!sameId(id, other));
  });

  it('idHex reads a view at an offset correctly', () => {
    const buf = new Uint8Array(30).map((_, i) => i);
    assert.equal(idHex(buf.subarray(5, 25)), Buffer.from(buf.subarray(5, 25)).toString('hex'));
  });
});

describe('BEP 42 node ids', () => {
  it('crc32c is CRC-32C (Castagnoli): the catalogue check value', () => {
    assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(0)), 0);
  });

  // BEP 42 "test vectors": IP, rand (whose low 3 bits are r), an example node id.
  const vectors: [string, number, string][] = [
    ['124.31.75.21', 1, '5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401'],
    ['21.75.31.124', 86, '5a3ce9c14e7a08645677bbd1cfe7d8f956d53256'],
    ['65.23.51.170', 22, 'a5d43220bc8f112a3d426c84764f8c2a1150e616'],
    ['84.124.73.14', 65, '1b0321dd1bb1fe518101ceef99462b947a01ff41'],
    ['43.213.53.83', 90, 'e56f6cbf5b7c4be0237986d5243b87aa6d51305a'],
  ];

  for (const [ip, rand, hex] of vectors) {
    const id = fromHex(hex);
    it(`test vector ${ip}, rand ${rand}`, () => {
      assert.equal(id[19], rand);
      // The prefix from the formula, computed here over the 4 big-endian bytes of (ip & 0x030f3fff) | (r << 29).
      const n = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
      const masked = ((n & 0x030f3fff) | ((rand & 7) << 29)) >>> 0;
      const crc = crc32c(Uint8Array.of(masked >>> 24, (masked >>> 16) & 0xff, (masked >>> 8) & 0xff, masked & 0xff));
      assert.equal(id[0], crc >>> 24);
      assert.equal(id[1], (crc >>> 16) & 0xff);
      assert.equal(id[2]! & 0xf8, (crc >>> 8) & 0xf8);
      assert.ok(isSecureId(id, ip));
      // secureId with the vector's random bytes writes exactly the vector's id.
      assert.equal(idHex(secureId(ip, replay(id))), hex);
    });

    it(`test vector ${ip}: any other top-21 bits or r is refused`, () => {
      for (let bit = 0; bit < 21; bit++) {
        const bad = id.slice();
        bad[bit >> 3] = bad[bit >> 3]! ^ (0x80 >> (bit & 7));
        assert.ok(!isSecureId(bad, ip), `bit ${bit}`);
      }
      for (let r = 0; r < 8; r++) {
        if (r === (rand & 7)) continue;
        const bad = id.slice();
        bad[19] = (bad[19]! & 0xf8) | r;
        assert.ok(!isSecureId(bad, ip), `r ${r}`);
      }
      // The low 3 bits of byte 2, bytes 3..18 and the high 5 bits of byte 19 are free.
      const free = id.slice();
      free[2] = free[2]! ^ 0x07;
      free.fill(0xee, 3, 19);
      free[19] = free[19]! ^ 0xf8;
      assert.ok(isSecureId(free, ip));
    });
  }

  it('the byte-wise example code of BEP 42 (mask each octet, ip[0] |= r << 5) gives the vectors\' top 21 bits', () => {
    const mask = [0x03, 0x0f, 0x3f, 0xff];
    for (const [ip, rand, hex] of vectors) {
      const bytes = Uint8Array.from(ip.split('.').map(Number), (o, i) => o & mask[i]!);
      bytes[0] = bytes[0]! | ((rand & 7) << 5);
      const id = fromHex(hex);
      assert.equal(crc32c(bytes) >>> 11, (id[0]! << 13) | (id[1]! << 5) | (id[2]! >> 3), ip);
    }
  });

  it('secureId makes ids that are secure for random public IPs (property)', () => {
    fc.assert(
      fc.property(publicIpv4Arb, fc.integer(), (ip, seed) => {
        const id = secureId(ip, seededRandom(seed));
        assert.equal(id.length, 20);
        assert.ok(isSecureId(id, ip));
      }),
      { numRuns: 2000 },
    );
  });

  it('secureId uses all 8 values of r', () => {
    const random = seededRandom(5);
    const rs = new Set<number>();
    for (let i = 0; i < 200; i++) rs.add(secureId('8.8.8.8', random)[19]! & 7);
    assert.equal(rs.size, 8);
  });

  it('a random id is almost never secure for a public IP', () => {
    const random = seededRandom(6);
    let secure = 0;
    for (let i = 0; i < 2000; i++) if (isSecureId(randomId(random), '8.8.8.8')) secure++;
    assert.equal(secure, 0);
  });

  it('an id secure for one address is not secure for an address that differs in the masked bits', () => {
    const id = secureId('8.8.8.8', seededRandom(7));
    // 0x030f3fff keeps all of the last octet: 8.8.8.9 hashes differently.
    assert.ok(!isSecureId(id, '8.8.8.9'));
    // ... but drops the top 6 bits of the first octet: 72.8.8.8 (0x48 = 0x08 | 0x40) is the same masked address.
    assert.ok(isSecureId(id, '72.8.8.8'));
  });

  describe('exempt addresses (BEP 42 "Enforcement")', () => {
    const exempt = ['10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.254', '192.168.1.1', '169.254.3.4', '127.0.0.1', '127.255.0.9'];
    const notExempt = ['9.255.255.255', '11.0.0.0', '172.15.255.255', '172.32.0.0', '192.167.0.1', '192.169.0.1', '169.253.0.1', '126.0.0.1', '128.0.0.1', '8.8.8.8'];
    for (const ip of exempt) {
      it(`${ip} is exempt, any id is accepted`, () => {
        assert.ok(isExemptAddress(ip));
        assert.ok(isSecureId(new Uint8Array(20), ip));
      });
    }
    for (const ip of notExempt) {
      it(`${ip} is not exempt`, () => {
        assert.ok(!isExemptAddress(ip));
        const id = secureId(ip, seededRandom(8));
        assert.ok(isSecureId(id, ip));
        id[0] = id[0]! ^ 0x80;
        assert.ok(!isSecureId(id, ip));
      });
    }
    it('non-IPv4 hosts are not covered (treated as exempt)', () => {
      assert.ok(isExemptAddress('::1'));
      assert.ok(isExemptAddress('2001:db8::1'));
    });
    it('an IPv4-mapped IPv6 address is judged as its IPv4 address', () => {
      assert.ok(isExemptAddress('::ffff:10.0.0.1'));
      assert.ok(!isExemptAddress('::ffff:8.8.8.8'));
    });
  });
});
