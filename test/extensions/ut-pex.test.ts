import assert from 'node:assert/strict';
import { SocketAddress } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encode, type BEncodable } from '../../src/bencode/index.js';
import { decodePex, encodePex, ExtensionError, MAX_PEX_PAYLOAD, MAX_PEX_PEERS, PexFlag, PexState, type PexAddress, type PexMessage, type PexPeer } from '../../src/extensions/index.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const dict = (entries: [string, BEncodable][]): Uint8Array => encode(new Map(entries));

const isExtensionError =
  (code?: string) =>
  (e: unknown): boolean =>
    e instanceof ExtensionError && (code === undefined || e.code === code);

/** How node:net spells an IPv6 address (what a socket's remoteAddress would say). */
const nodeSpelling = (host: string): string => new SocketAddress({ address: host, family: 'ipv6' }).address;

const portArb = fc.integer({ min: 1, max: 0xffff });
const flagsArb = fc.integer({ min: 0, max: 0xff });
const v4Arb = fc.ipV4();
// IPv6 in node's spelling; IPv4-mapped ones are left out, they decode as plain IPv4.
const v6Arb = fc
  .ipV6()
  .map(nodeSpelling)
  .filter((h) => !/^::ffff:\d/.test(h));
const peerArb = (host: fc.Arbitrary<string>): fc.Arbitrary<PexPeer> => fc.record({ host, port: portArb, flags: flagsArb }).map((p) => ({ ...p }));
const addressArb = (host: fc.Arbitrary<string>): fc.Arbitrary<PexAddress> => fc.record({ host, port: portArb }).map((p) => ({ ...p }));
// Decoding lists IPv4 peers before IPv6 ones, so generate them in that order.
const messageArb: fc.Arbitrary<PexMessage> = fc
  .tuple(fc.array(peerArb(v4Arb), { maxLength: 60 }), fc.array(peerArb(v6Arb), { maxLength: 60 }), fc.array(addressArb(v4Arb), { maxLength: 60 }), fc.array(addressArb(v6Arb), { maxLength: 60 }))
  .map(([a4, a6, d4, d6]) => ({ added: [...a4, ...a6], dropped: [...d4, ...d6] }));

describe('ut_pex messages (BEP 11)', () => {
  it('encodes the compact lists, with one flags byte per added peer', () => {
    const payload = encodePex({
      added: [
        { host: '1.2.3.4', port: 6881, flags: PexFlag.uploadOnly | PexFlag.outgoing },
        { host: '10.0.0.1', port: 1, flags: PexFlag.prefersEncryption },
      ],
      dropped: [{ host: '5.6.7.8', port: 80 }],
    });
    assert.equal(latin1(payload), 'd5:added12:\x01\x02\x03\x04\x1a\xe1\x0a\x00\x00\x01\x00\x017:added.f2:\x12\x017:dropped6:\x05\x06\x07\x08\x00\x50e');
    assert.deepEqual(decodePex(payload), {
      added: [
        { host: '1.2.3.4', port: 6881, flags: 0x12 },
        { host: '10.0.0.1', port: 1, flags: 0x01 },
      ],
      dropped: [{ host: '5.6.7.8', port: 80 }],
    });
  });

  it('puts IPv6 peers in added6 / dropped6 and IPv4-mapped ones in added', () => {
    const payload = encodePex({
      added: [
        { host: '2001:db8::1', port: 6881, flags: PexFlag.utp },
        { host: '::ffff:192.168.1.2', port: 51413, flags: PexFlag.holepunch },
      ],
      dropped: [{ host: 'fe80::1%eth0', port: 2 }],
    });
    const v6 = '\x20\x01\x0d\xb8' + '\x00'.repeat(11) + '\x01';
    assert.equal(
      latin1(payload),
      'd5:added6:\xc0\xa8\x01\x02\xc8\xd5' + '7:added.f1:\x08' + `6:added618:${v6}\x1a\xe1` + '8:added6.f1:\x04' + `8:dropped618:\xfe\x80${'\x00'.repeat(13)}\x01\x00\x02` + 'e',
    );
    assert.deepEqual(decodePex(payload), {
      added: [
        { host: '192.168.1.2', port: 51413, flags: PexFlag.holepunch },
        { host: '2001:db8::1', port: 6881, flags: PexFlag.utp },
      ],
      dropped: [{ host: 'fe80::1', port: 2 }],
    });
  });

  it('encodes an empty message as an empty dictionary', () => {
    assert.equal(latin1(encodePex({ added: [], dropped: [] })), 'de');
    assert.deepEqual(decodePex(ascii('de')), { added: [], dropped: [] });
  });

  it('round-trips any message (property)', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        assert.deepEqual(decodePex(encodePex(m)), m);
      }),
      { numRuns: 300 },
    );
  });

  it('spells decoded IPv6 addresses the way node:net does (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.constantFrom(0, 1, 2, 6, 7, 8), (raw, zeros) => {
        // Many leading zero groups too, where the spelling has its special cases.
        const ip = raw.slice();
        ip.fill(0, 0, zeros * 2);
        const m = decodePex(dict([['added6', Uint8Array.of(...ip, 0, 1)]]));
        const host = m.added[0]!.host;
        const mapped = ip.subarray(0, 10).every((x) => x === 0) && ip[10] === 0xff && ip[11] === 0xff;
        assert.equal(host, mapped ? `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}` : nodeSpelling(host));
        // And it encodes back to the same bytes.
        assert.deepEqual(encodePex(m), mapped ? encodePex({ added: [{ host, port: 1, flags: 0 }], dropped: [] }) : dict([['added6', Uint8Array.of(...ip, 0, 1)], ['added6.f', Uint8Array.of(0)]]));
      }),
      { numRuns: 500 },
    );
    for (const [text, spelled] of [
      ['0:0:0:0:0:0:0:0', '::'],
      ['::1', '::1'],
      ['::2', '::2'],
      ['::1.2.3.4', '::1.2.3.4'],
      ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
      ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
      ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ] as const) {
      const round = decodePex(encodePex({ added: [{ host: text, port: 9, flags: 0 }], dropped: [] }));
      assert.equal(round.added[0]!.host, spelled, text);
      assert.equal(spelled, nodeSpelling(text));
    }
  });

  it('is lenient: missing or wrong-typed keys, missing or short flags, unknown keys, unsorted keys', () => {
    const a = Uint8Array.of(1, 2, 3, 4, 0, 80);
    const b = Uint8Array.of(5, 6, 7, 8, 0, 81);
    assert.deepEqual(decodePex(dict([['added', a]])), { added: [{ host: '1.2.3.4', port: 80, flags: 0 }], dropped: [] });
    assert.deepEqual(decodePex(dict([['added', Uint8Array.of(...a, ...b)], ['added.f', Uint8Array.of(7)]])).added, [
      { host: '1.2.3.4', port: 80, flags: 7 },
      { host: '5.6.7.8', port: 81, flags: 0 },
    ]);
    assert.deepEqual(decodePex(dict([['added', a], ['added.f', 3]])).added, [{ host: '1.2.3.4', port: 80, flags: 0 }]);
    assert.deepEqual(decodePex(dict([['added', Uint8Array.of(...a, ...b)], ['added.f', Uint8Array.of(1, 2, 3, 4)]])).added.length, 2);
    assert.deepEqual(decodePex(dict([['added', 42], ['added6', [1]], ['dropped', new Map()], ['dropped6', ascii('x')], ['e', 1], ['x', [1, [2]]]])), { added: [], dropped: [] });
    assert.deepEqual(decodePex(bytes('d7:dropped6:\x01\x02\x03\x04\x00\x505:added6:\x05\x06\x07\x08\x00\x51e')), {
      added: [{ host: '5.6.7.8', port: 81, flags: 0 }],
      dropped: [{ host: '1.2.3.4', port: 80 }],
    });
  });

  it('ignores a partial last entry and entries with port 0', () => {
    const a = Uint8Array.of(1, 2, 3, 4, 0, 80);
    assert.deepEqual(decodePex(dict([['added', Uint8Array.of(...a, 9, 9, 9)]])).added, [{ host: '1.2.3.4', port: 80, flags: 0 }]);
    assert.deepEqual(decodePex(dict([['dropped6', new Uint8Array(17)]])).dropped, []);
    assert.deepEqual(decodePex(dict([['added', Uint8Array.of(9, 9, 9, 9, 0, 0, ...a)], ['added.f', Uint8Array.of(1, 2)]])).added, [{ host: '1.2.3.4', port: 80, flags: 2 }]);
    assert.deepEqual(decodePex(dict([['dropped', Uint8Array.of(9, 9, 9, 9, 0, 0)]])).dropped, []);
  });

  it(`reads at most ${MAX_PEX_PEERS} entries of each list`, () => {
    const many = (n: number, size: number): Uint8Array => {
      const out = new Uint8Array(n * size);
      for (let i = 0; i < n; i++) {
        out[i * size] = 10;
        out[i * size + size - 2] = (i + 1) >> 8;
        out[i * size + size - 1] = (i + 1) & 0xff;
      }
      return out;
    };
    const m = decodePex(dict([['added', many(500, 6)], ['added6', many(300, 18)], ['dropped', many(250, 6)], ['dropped6', many(201, 18)]]));
    assert.equal(m.added.length, 2 * MAX_PEX_PEERS);
    assert.equal(m.dropped.length, 2 * MAX_PEX_PEERS);
    assert.deepEqual(m.added[MAX_PEX_PEERS - 1], { host: '10.0.0.0', port: MAX_PEX_PEERS, flags: 0 });
  });

  it("throws 'too-long', 'bad-bencode' and 'bad-message' on what is not a ut_pex message", () => {
    assert.throws(() => decodePex(new Uint8Array(MAX_PEX_PAYLOAD + 1)), isExtensionError('too-long'));
    for (const bad of ['', 'd', 'd5:added', 'x', 'de trailing', 'd1:ai1e1:ai2ee', 'i01e']) {
      assert.throws(() => decodePex(ascii(bad)), isExtensionError('bad-bencode'), bad);
    }
    for (const bad of ['le', 'i1e', '4:spam', 'l5:addede']) {
      assert.throws(() => decodePex(ascii(bad)), isExtensionError('bad-message'), bad);
    }
  });

  it('random bytes decode or throw ExtensionError, never another error (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          decodePex(b);
        } catch (e) {
          if (!(e instanceof ExtensionError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(messageArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (m, edits) => {
        const b = encodePex(m).slice();
        for (const [at, v] of edits) b[at % b.length] = v;
        try {
          decodePex(b);
        } catch (e) {
          if (!(e instanceof ExtensionError)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses peers that cannot be written with RangeError', () => {
    const send = (p: PexPeer): Uint8Array => encodePex({ added: [p], dropped: [] });
    assert.throws(() => send({ host: 'example.com', port: 1, flags: 0 }), RangeError);
    assert.throws(() => send({ host: '1.2.3.4', port: 0, flags: 0 }), RangeError);
    assert.throws(() => send({ host: '1.2.3.4', port: 65536, flags: 0 }), RangeError);
    assert.throws(() => send({ host: '1.2.3.4', port: 1, flags: 256 }), RangeError);
    assert.throws(() => send({ host: '01.2.3.4', port: 1, flags: 0 }), RangeError);
    assert.throws(() => encodePex({ added: [], dropped: [{ host: '[::1]', port: 1 }] }), RangeError);
  });
});

/** `n` peers 10.0.x.y:6881 keyed "host:port", in order. */
function peers(n: number, from = 0): Map<string, PexPeer> {
  const out = new Map<string, PexPeer>();
  for (let i = from; i < from + n; i++) {
    const host = `10.0.${i >> 8}.${i & 0xff}`;
    out.set(`${host}:6881`, { host, port: 6881, flags: 0 });
  }
  return out;
}

describe('PexState', () => {
  it('sends at once, then not before the interval, then the changes since', () => {
    const s = new PexState();
    const p = peers(3);
    const first = s.next(p, 1_000);
    assert.deepEqual(first?.added.map((x) => x.host), ['10.0.0.0', '10.0.0.1', '10.0.0.2']);
    assert.deepEqual(first?.dropped, []);

    const q = new Map(p);
    q.delete('10.0.0.1:6881');
    for (const [k, v] of peers(1, 7)) q.set(k, v);
    assert.equal(s.next(q, 1_000 + 59_999), undefined);
    assert.deepEqual(s.next(q, 1_000 + 60_000), { added: [{ host: '10.0.0.7', port: 6881, flags: 0 }], dropped: [{ host: '10.0.0.1', port: 6881 }] });
    assert.equal(s.advertisedCount, 3);
  });

  it('sends nothing when nothing changed, and that does not restart the interval', () => {
    const s = new PexState();
    assert.equal(s.next(new Map(), 0), undefined); // nothing to say yet: no message, no interval
    assert.ok(s.next(peers(1), 1) !== undefined);
    assert.equal(s.next(peers(1), 60_001), undefined);
    assert.equal(s.next(peers(1), 500_000), undefined);
    assert.ok(s.next(peers(2), 500_001) !== undefined);
    assert.equal(s.next(peers(3), 500_002), undefined);
  });

  it('puts at most 50 added and 50 dropped in a message; the rest go in later ones', () => {
    const s = new PexState();
    const all = peers(120);
    const sizes: number[][] = [];
    let now = 0;
    for (let m = s.next(all, now); m !== undefined; m = s.next(all, (now += 60_000))) sizes.push([m.added.length, m.dropped.length]);
    assert.deepEqual(sizes, [
      [50, 0],
      [50, 0],
      [20, 0],
    ]);
    // Now they all go away, and 10 new ones come.
    const fresh = peers(10, 200);
    const out: PexMessage[] = [];
    for (let m = s.next(fresh, (now += 60_000)); m !== undefined; m = s.next(fresh, (now += 60_000))) out.push(m);
    assert.deepEqual(
      out.map((m) => [m.added.length, m.dropped.length]),
      [
        [10, 50],
        [0, 50],
        [0, 20],
      ],
    );
    assert.deepEqual(new Set(out.flatMap((m) => m.dropped.map((d) => `${d.host}:${d.port}`))), new Set(all.keys()));
  });

  it('never mentions a peer that came and went between two messages', () => {
    const s = new PexState();
    s.next(peers(1), 0);
    const withVisitor = new Map([...peers(1), ...peers(1, 5)]);
    assert.equal(s.next(withVisitor, 10_000), undefined); // too early
    assert.equal(s.next(peers(1), 60_000), undefined); // gone again: nothing changed
  });

  it('drops a peer with the address it advertised', () => {
    const s = new PexState();
    s.next(new Map([['x', { host: '1.1.1.1', port: 1, flags: PexFlag.outgoing }]]), 0);
    assert.deepEqual(s.next(new Map(), 60_000), { added: [], dropped: [{ host: '1.1.1.1', port: 1 }] });
  });

  it('never advertises the peer at the other end', () => {
    const all = peers(3);
    const s = new PexState({ remote: '10.0.0.1:6881' });
    assert.deepEqual(
      s.next(all, 0)?.added.map((p) => p.host),
      ['10.0.0.0', '10.0.0.2'],
    );
    all.delete('10.0.0.1:6881');
    assert.equal(s.next(all, 60_000), undefined);
  });

  it('skips peers a ut_pex message cannot carry', () => {
    const s = new PexState();
    const m = s.next(
      new Map<string, PexPeer>([
        ['in', { host: '1.2.3.4', port: 0, flags: 0 }], // incoming, listen port unknown
        ['name', { host: 'tracker.example', port: 6881, flags: 0 }],
        ['ok', { host: '::1', port: 6881, flags: 0 }],
      ]),
      0,
    );
    assert.deepEqual(m, { added: [{ host: '::1', port: 6881, flags: 0 }], dropped: [] });
  });

  it('takes options, and refuses nonsense ones', () => {
    const s = new PexState({ maxPerMessage: 2, intervalMs: 10 });
    assert.equal(s.next(peers(5), 0)?.added.length, 2);
    assert.equal(s.next(peers(5), 9), undefined);
    assert.equal(s.next(peers(5), 10)?.added.length, 2);
    assert.throws(() => new PexState({ maxPerMessage: 0 }), RangeError);
    assert.throws(() => new PexState({ maxPerMessage: 1.5 }), RangeError);
    assert.throws(() => new PexState({ intervalMs: -1 }), RangeError);
  });

  it('keeps the other end in step with our peers, within the limits (property)', () => {
    const hostArb = fc.integer({ min: 0, max: 40 });
    const stepArb = fc.record({ add: fc.array(hostArb, { maxLength: 30 }), remove: fc.array(hostArb, { maxLength: 30 }), dt: fc.integer({ min: 0, max: 90_000 }) });
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 30 }), fc.integer({ min: 1, max: 10 }), (steps, max) => {
        const remote = '10.0.0.3:6881';
        const s = new PexState({ maxPerMessage: max, remote });
        const current = new Map<string, PexPeer>();
        const seen = new Set<string>(); // the other end's view
        let now = 0;
        let last = -Infinity;
        const deliver = (m: PexMessage | undefined): void => {
          if (m === undefined) return;
          assert.ok(now - last >= 60_000, 'sent too early');
          last = now;
          assert.ok(m.added.length <= max && m.dropped.length <= max);
          assert.ok(m.added.length + m.dropped.length > 0);
          decodePex(encodePex(m)); // always encodable
          for (const p of m.dropped) assert.ok(seen.delete(`${p.host}:${p.port}`), 'dropped a peer it never added');
          for (const p of m.added) {
            const key = `${p.host}:${p.port}`;
            assert.notEqual(key, remote);
            assert.ok(!seen.has(key), 'added a peer twice');
            seen.add(key);
          }
        };
        for (const step of steps) {
          for (const i of step.add) for (const [k, v] of peers(1, i)) current.set(k, v);
          for (const i of step.remove) current.delete(`10.0.0.${i}:6881`);
          now += step.dt;
          deliver(s.next(current, now));
        }
        // Once things settle, the other end learns exactly our peers (but itself).
        for (let i = 0; i < 100; i++) deliver(s.next(current, (now += 60_000)));
        assert.deepEqual([...seen].sort(), [...current.keys()].filter((k) => k !== remote).sort());
      }),
      { numRuns: 200 },
    );
  });
});
