import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encode, type BDict, type BValue } from '../../src/bencode/index.js';
import { DhtError } from '../../src/dht/errors.js';
import { bytesArg, decodeKrpc, encodeError, encodeQuery, encodeResponse, idArg, intArg, KrpcErrorCode, MAX_KRPC_LENGTH, type KrpcMessage } from '../../src/dht/krpc.js';

/*
 * The KRPC codec (BEP 5 "KRPC Protocol"): the example packets of the BEP,
 * byte for byte; round trips of every message kind; and garbage, which must
 * only ever come out as DhtError('bad-message').
 */

const latin1 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const dict = (entries: Record<string, BValue>): BDict => new Map(Object.entries(entries));

/** Our encoder adds `v` (client version, "PK" 1.0), which sorts just before `y`. */
const withVersion = (bep: string): Uint8Array => latin1(bep.replace(/1:y1:([qre])e$/, '1:v4:PK\x01\x001:y1:$1e'));

const isBadMessage = (e: unknown): boolean => e instanceof DhtError && e.code === 'bad-message';

/** Decode, or fail the property with anything but DhtError('bad-message'). */
function decodeOrBadMessage(data: Uint8Array): KrpcMessage | undefined {
  try {
    return decodeKrpc(data);
  } catch (e) {
    if (!isBadMessage(e)) throw new Error(`decodeKrpc threw ${String(e)}, not DhtError('bad-message')`);
    return undefined;
  }
}

const aa = latin1('aa');
const queryingId = latin1('abcdefghij0123456789');
const queriedId = latin1('mnopqrstuvwxyz123456');

// BEP 5, "DHT Queries": the example packets as the BEP prints them.
const BEP5 = {
  pingQuery: 'd1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe',
  pingResponse: 'd1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re',
  findNodeQuery: 'd1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe',
  findNodeResponse: 'd1:rd2:id20:0123456789abcdefghij5:nodes9:def456...e1:t2:aa1:y1:re',
  getPeersQuery: 'd1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe',
  getPeersValues: 'd1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re',
  getPeersNodes: 'd1:rd2:id20:abcdefghij01234567895:nodes9:def456...5:token8:aoeusnthe1:t2:aa1:y1:re',
  // The BEP's bencoded line for announce_peer drops the `implied_port` its dictionary has; this is the dictionary.
  announceQuery: 'd1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe',
  announceResponse: 'd1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re',
  genericError: 'd1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee',
};

describe('KRPC: the BEP 5 example packets', () => {
  it('decodes ping', () => {
    assert.deepEqual(decodeKrpc(latin1(BEP5.pingQuery)), { y: 'q', t: aa, q: 'ping', a: dict({ id: queryingId }), ro: false });
    assert.deepEqual(decodeKrpc(latin1(BEP5.pingResponse)), { y: 'r', t: aa, r: dict({ id: queriedId }) });
  });

  it('decodes find_node', () => {
    assert.deepEqual(decodeKrpc(latin1(BEP5.findNodeQuery)), { y: 'q', t: aa, q: 'find_node', a: dict({ id: queryingId, target: queriedId }), ro: false });
    assert.deepEqual(decodeKrpc(latin1(BEP5.findNodeResponse)), { y: 'r', t: aa, r: dict({ id: latin1('0123456789abcdefghij'), nodes: latin1('def456...') }) });
  });

  it('decodes get_peers, with values and with nodes', () => {
    assert.deepEqual(decodeKrpc(latin1(BEP5.getPeersQuery)), { y: 'q', t: aa, q: 'get_peers', a: dict({ id: queryingId, info_hash: queriedId }), ro: false });
    assert.deepEqual(decodeKrpc(latin1(BEP5.getPeersValues)), {
      y: 'r',
      t: aa,
      r: dict({ id: queryingId, token: latin1('aoeusnth'), values: [latin1('axje.u'), latin1('idhtnm')] }),
    });
    assert.deepEqual(decodeKrpc(latin1(BEP5.getPeersNodes)), { y: 'r', t: aa, r: dict({ id: queryingId, nodes: latin1('def456...'), token: latin1('aoeusnth') }) });
  });

  it('decodes announce_peer', () => {
    const m = decodeKrpc(latin1(BEP5.announceQuery));
    assert.equal(m.y, 'q');
    assert.equal(m.y === 'q' && m.q, 'announce_peer');
    if (m.y !== 'q') return;
    assert.deepEqual(idArg(m.a, 'id'), queryingId);
    assert.deepEqual(idArg(m.a, 'info_hash'), queriedId);
    assert.equal(intArg(m.a, 'port'), 6881);
    assert.equal(intArg(m.a, 'implied_port'), 1);
    assert.deepEqual(bytesArg(m.a, 'token'), latin1('aoeusnth'));
  });

  it('decodes the generic error', () => {
    assert.deepEqual(decodeKrpc(latin1(BEP5.genericError)), { y: 'e', t: aa, code: KrpcErrorCode.Generic, message: 'A Generic Error Ocurred' });
  });

  it('encodes the examples to the BEP bytes, plus our `v`', () => {
    assert.deepEqual(encodeQuery(aa, 'ping', { id: queryingId }), withVersion(BEP5.pingQuery));
    assert.deepEqual(encodeResponse(aa, { id: queriedId }), withVersion(BEP5.pingResponse));
    assert.deepEqual(encodeQuery(aa, 'find_node', { id: queryingId, target: queriedId }), withVersion(BEP5.findNodeQuery));
    assert.deepEqual(encodeQuery(aa, 'get_peers', { id: queryingId, info_hash: queriedId }), withVersion(BEP5.getPeersQuery));
    assert.deepEqual(encodeResponse(aa, { id: queryingId, token: latin1('aoeusnth'), values: [latin1('axje.u'), latin1('idhtnm')] }), withVersion(BEP5.getPeersValues));
    assert.deepEqual(encodeResponse(aa, { id: queryingId, token: latin1('aoeusnth'), nodes: latin1('def456...') }), withVersion(BEP5.getPeersNodes));
    assert.deepEqual(
      encodeQuery(aa, 'announce_peer', { id: queryingId, implied_port: 1, info_hash: queriedId, port: 6881, token: latin1('aoeusnth') }),
      withVersion(BEP5.announceQuery),
    );
    assert.deepEqual(encodeError(aa, 201, 'A Generic Error Ocurred'), withVersion(BEP5.genericError));
  });

  it('leaves out undefined arguments', () => {
    assert.deepEqual(encodeQuery(aa, 'ping', { id: queryingId, token: undefined }), withVersion(BEP5.pingQuery));
  });
});

describe('KRPC: BEP 42 `ip` and BEP 43 `ro`', () => {
  it('puts the requester as compact `ip` in the top-level dictionary of a response', () => {
    const bytes = encodeResponse(aa, { id: queriedId }, { host: '124.31.75.21', port: 0x1ae1 });
    assert.deepEqual(bytes, latin1('d2:ip6:\x7c\x1f\x4b\x15\x1a\xe11:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:v4:PK\x01\x001:y1:re'));
    assert.deepEqual(decodeKrpc(bytes), { y: 'r', t: aa, r: dict({ id: queriedId }), ip: { host: '124.31.75.21', port: 0x1ae1 } });
  });

  it('leaves out `ip` for a requester it cannot encode (IPv6), and ignores an `ip` of another length', () => {
    assert.deepEqual(encodeResponse(aa, { id: queriedId }, { host: '::1', port: 1 }), withVersion(BEP5.pingResponse));
    const v6 = encode({ ip: new Uint8Array(18), r: { id: queriedId }, t: aa, y: 'r' });
    assert.deepEqual(decodeKrpc(v6), { y: 'r', t: aa, r: dict({ id: queriedId }) });
  });

  it('marks a read-only query with ro=1', () => {
    const bytes = encodeQuery(aa, 'ping', { id: queryingId }, true);
    assert.deepEqual(bytes, latin1('d1:ad2:id20:abcdefghij0123456789e1:q4:ping2:roi1e1:t2:aa1:v4:PK\x01\x001:y1:qe'));
    assert.equal((decodeKrpc(bytes) as { ro: boolean }).ro, true);
  });
});

// --- round trips ---

const tArb = fc.uint8Array({ maxLength: 32 });
const keyArb = fc.stringMatching(/^[a-z_]{1,12}$/).filter((k) => k !== '__proto__');
const valueArb: fc.Arbitrary<BValue> = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.integer(),
  fc.array(fc.uint8Array({ maxLength: 10 }), { maxLength: 4 }),
);
const dictArb: fc.Arbitrary<BDict> = fc.dictionary(keyArb, valueArb, { maxKeys: 8 }).map((o) => new Map(Object.entries(o)));
const ipv4Arb = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const endpointArb = fc.record({ host: ipv4Arb, port: fc.integer({ min: 1, max: 0xffff }) }).map((e) => ({ ...e }));

describe('KRPC: round trips (property)', () => {
  it('queries', () => {
    fc.assert(
      fc.property(tArb, fc.stringMatching(/^[a-z_]{1,20}$/), dictArb, fc.boolean(), (t, q, a, ro) => {
        assert.deepEqual(decodeKrpc(encodeQuery(t, q, Object.fromEntries(a), ro)), { y: 'q', t, q, a, ro });
      }),
      { numRuns: 500 },
    );
  });

  it('responses, with and without `ip`', () => {
    fc.assert(
      fc.property(tArb, dictArb, fc.option(endpointArb, { nil: undefined }), (t, r, ip) => {
        const expected = ip === undefined ? { y: 'r', t, r } : { y: 'r', t, r, ip };
        assert.deepEqual(decodeKrpc(encodeResponse(t, Object.fromEntries(r), ip)), expected);
      }),
      { numRuns: 500 },
    );
  });

  it('errors', () => {
    fc.assert(
      fc.property(tArb, fc.integer({ min: 0, max: 1000 }), fc.string({ maxLength: 60 }), (t, code, message) => {
        assert.deepEqual(decodeKrpc(encodeError(t, code, message)), { y: 'e', t, code, message });
      }),
      { numRuns: 500 },
    );
  });

  it('keeps a UTF-8 error message', () => {
    assert.deepEqual(decodeKrpc(encodeError(aa, 203, 'mauvais jeton ✗')), { y: 'e', t: aa, code: 203, message: 'mauvais jeton ✗' });
  });
});

describe('KRPC: messages that are not KRPC', () => {
  const cases: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['not bencode', latin1('hello')],
    ['an integer', latin1('i1e')],
    ['a list', latin1('l1:t1:ye')],
    ['no t', latin1('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:y1:qe')],
    ['an integer t', latin1('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:ti1e1:y1:qe')],
    ['a 33-byte t', encode({ t: new Uint8Array(33), y: 'r', r: {} })],
    ['no y', latin1('d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aae')],
    ['an unknown y', latin1('d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:xe')],
    ['a query without q', latin1('d1:ad2:id20:abcdefghij0123456789e1:t2:aa1:y1:qe')],
    ['a query without a', latin1('d1:q4:ping1:t2:aa1:y1:qe')],
    ['a query whose a is a list', latin1('d1:ali1ee1:q4:ping1:t2:aa1:y1:qe')],
    ['a response without r', latin1('d1:t2:aa1:y1:re')],
    ['a response whose r is a string', latin1('d1:r2:id1:t2:aa1:y1:re')],
    ['trailing bytes', latin1(`${BEP5.pingQuery}x`)],
    ['truncated', latin1(BEP5.pingQuery.slice(0, -1))],
    ['a duplicate key', latin1('d1:t2:aa1:t2:bb1:y1:re')],
    ['nesting 17 deep', latin1(`d1:ad1:x${'l'.repeat(16)}${'e'.repeat(16)}e1:q4:ping1:t2:aa1:y1:qe`)],
    ['3000 values', latin1(`d1:ad1:xl${'i1e'.repeat(3000)}ee1:q4:ping1:t2:aa1:y1:qe`)],
  ];
  for (const [name, bytes] of cases) {
    it(`rejects ${name}`, () => {
      assert.throws(() => decodeKrpc(bytes), isBadMessage);
    });
  }

  it('accepts keys out of order (some clients write them so)', () => {
    const m = decodeKrpc(latin1('d1:y1:q1:t2:aa1:q4:ping1:ad2:id20:abcdefghij0123456789ee'));
    assert.deepEqual(m, { y: 'q', t: aa, q: 'ping', a: dict({ id: queryingId }), ro: false });
  });

  it('reads an error without a usable `e` as a generic error', () => {
    assert.deepEqual(decodeKrpc(latin1('d1:t2:aa1:y1:ee')), { y: 'e', t: aa, code: 201, message: '' });
    assert.deepEqual(decodeKrpc(latin1('d1:el3:xyzi5ee1:t2:aa1:y1:ee')), { y: 'e', t: aa, code: 201, message: '' });
  });

  it('rejects a datagram over MAX_KRPC_LENGTH, even a well-formed one', () => {
    const big = encodeQuery(aa, 'put', { id: queryingId, v: new Uint8Array(MAX_KRPC_LENGTH) });
    assert.ok(big.length > MAX_KRPC_LENGTH);
    assert.throws(() => decodeKrpc(big), isBadMessage);
    const fits = encodeQuery(aa, 'put', { id: queryingId, v: new Uint8Array(MAX_KRPC_LENGTH - 100) });
    assert.ok(fits.length <= MAX_KRPC_LENGTH);
    assert.equal(decodeKrpc(fits).y, 'q');
  });

  it('random bytes always throw DhtError(bad-message) (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        assert.throws(() => decodeKrpc(bytes), isBadMessage);
      }),
      { numRuns: 3000 },
    );
  });

  it('random bytes after a `d` only ever throw DhtError(bad-message) (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const data = new Uint8Array(bytes.length + 1);
        data[0] = 0x64;
        data.set(bytes, 1);
        decodeOrBadMessage(data);
      }),
      { numRuns: 3000 },
    );
  });

  const validMessages = Object.values(BEP5).map(latin1);
  it('mutated valid messages decode or throw DhtError(bad-message), nothing else (property)', () => {
    const mutation = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom('flip', 'set', 'delete', 'insert', 'truncate'),
      byte: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(fc.constantFrom(...validMessages), fc.array(mutation, { minLength: 1, maxLength: 6 }), (message, mutations) => {
        let bytes = [...message];
        for (const { at, kind, byte } of mutations) {
          const i = at % (bytes.length + 1);
          if (kind === 'flip' && i < bytes.length) bytes[i] = bytes[i]! ^ (1 << (byte & 7));
          else if (kind === 'set' && i < bytes.length) bytes[i] = byte;
          else if (kind === 'delete') bytes.splice(i, 1);
          else if (kind === 'insert') bytes.splice(i, 0, byte);
          else if (kind === 'truncate') bytes = bytes.slice(0, i);
        }
        const m = decodeOrBadMessage(Uint8Array.from(bytes));
        if (m !== undefined) {
          assert.ok(m.t instanceof Uint8Array && m.t.length <= 32);
          assert.ok(m.y === 'q' || m.y === 'r' || m.y === 'e');
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('oversized garbage always throws DhtError(bad-message) (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_KRPC_LENGTH + 1, max: 3 * MAX_KRPC_LENGTH }), fc.integer({ min: 0, max: 255 }), (length, fill) => {
        assert.throws(() => decodeKrpc(new Uint8Array(length).fill(fill)), isBadMessage);
      }),
      { numRuns: 50 },
    );
  });
});

describe('KRPC: argument readers', () => {
  const a = dict({ id: queryingId, short: new Uint8Array(19), port: 6881, big: 2n ** 64n, list: [] });
  it('idArg takes only 20-byte strings', () => {
    assert.deepEqual(idArg(a, 'id'), queryingId);
    assert.equal(idArg(a, 'short'), undefined);
    assert.equal(idArg(a, 'port'), undefined);
    assert.equal(idArg(a, 'missing'), undefined);
  });
  it('bytesArg and intArg check the type', () => {
    assert.deepEqual(bytesArg(a, 'short'), new Uint8Array(19));
    assert.equal(bytesArg(a, 'port'), undefined);
    assert.equal(intArg(a, 'port'), 6881);
    assert.equal(intArg(a, 'big'), undefined);
    assert.equal(intArg(a, 'list'), undefined);
  });
});
