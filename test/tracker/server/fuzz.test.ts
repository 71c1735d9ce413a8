import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect as tcpConnect } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decode } from '../../../src/bencode/index.js';
import { batchUdpStatus, Info, INFO_WORDS, ManualClock, seededRandom, type DatagramBatch, type Endpoint } from '../../../src/net/index.js';
import { bytesToIpv6, decodePeers4 } from '../../../src/tracker/compact.js';
import { startTrackerServer } from '../../../src/tracker/server/index.js';
import { Tracker } from '../../../src/tracker/server/tracker.js';
import { UdpTrackerHandler } from '../../../src/tracker/server/udp.js';
import { decodeResponse, encodeRequest, MAX_PACKET, type UdpRequest, type UdpResponse } from '../../../src/tracker/udp-codec.js';

/*
 * Fuzzing the tracker's two front doors, bounded to a few seconds:
 * (1) UdpTrackerHandler.handle directly, with random and mutated packets;
 * (2) a real server on 127.0.0.1, with hostile HTTP requests over raw TCP and
 *     random UDP datagrams over a real socket.
 * Afterwards a valid request must still get a correct answer.
 */

const FUZZ_HASH = new Uint8Array(20).fill(0x33);
const CHECK_HASH = new Uint8Array(20).fill(0xee); // only the final checks use it

function udpAnnounce(connectionId: bigint, transactionId: number, over: Partial<Extract<UdpRequest, { action: 'announce' }>> = {}): Uint8Array {
  return encodeRequest({
    action: 'announce',
    connectionId,
    transactionId,
    infoHash: FUZZ_HASH,
    peerId: new Uint8Array(20).fill(0x44),
    downloaded: 0n,
    left: 10n,
    uploaded: 0n,
    event: 'none',
    ip: 0,
    key: 0,
    numWant: -1,
    port: 6881,
    ...over,
  });
}

/** A reply must be a packet a client can decode, echoing the transaction id. */
function checkUdpReply(packet: Uint8Array, reply: Uint8Array | undefined, peerLength: 6 | 18): UdpResponse | undefined {
  if (packet.length < 16) {
    assert.equal(reply, undefined, 'no reply under 16 bytes');
    return undefined;
  }
  assert.ok(reply !== undefined, 'a packet of 16 bytes or more gets a reply');
  assert.ok(reply.length <= MAX_PACKET);
  const r = decodeResponse(reply, peerLength);
  assert.equal(r.transactionId, new DataView(packet.buffer, packet.byteOffset, packet.byteLength).getUint32(12));
  if (r.action === 'announce') assert.equal(r.peers.length % peerLength, 0);
  if (r.action === 'connect') assert.equal(new DataView(packet.buffer, packet.byteOffset, packet.byteLength).getUint32(8), 0, 'connect reply to a connect');
  return r;
}

/** Random bytes, or a valid packet (with a valid connection id) flipped, cut or extended. */
function packetArb(validId: (from: Endpoint, nowMs: number) => bigint, from: Endpoint, nowMs: number): fc.Arbitrary<Uint8Array> {
  const mutated = fc
    .record({
      kind: fc.constantFrom('connect', 'announce', 'scrape'),
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
      cut: fc.option(fc.nat(), { nil: undefined, freq: 4 }),
      extra: fc.oneof({ weight: 3, arbitrary: fc.constant(new Uint8Array(0)) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) }),
      hashes: fc.integer({ min: 1, max: 80 }),
      numWant: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      port: fc.integer({ min: 0, max: 65535 }),
      left: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      ip: fc.nat({ max: 2 ** 32 - 1 }),
    })
    .map((m) => {
      const id = validId(from, nowMs);
      let p: Uint8Array;
      if (m.kind === 'connect') p = encodeRequest({ action: 'connect', transactionId: 1 });
      else if (m.kind === 'announce') p = udpAnnounce(id, 2, { numWant: m.numWant, port: m.port, left: m.left, ip: m.ip });
      else p = encodeRequest({ action: 'scrape', connectionId: id, transactionId: 3, infoHashes: Array.from({ length: m.hashes }, () => FUZZ_HASH) });
      p = p.slice();
      for (const [at, byte] of m.flips) p[at % p.length] = byte;
      if (m.cut !== undefined) p = p.subarray(0, m.cut % (p.length + 1));
      if (m.extra.length > 0) p = Uint8Array.from([...p, ...m.extra]);
      return p;
    });
  return fc.oneof(
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 120 }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 16, maxLength: 16 }) },
    { weight: 6, arbitrary: mutated },
  );
}

describe('UDP handler fuzz', () => {
  it('never throws, and every reply is a well-formed packet (property)', () => {
    const tracker = new Tracker(seededRandom(5));
    const handler = new UdpTrackerHandler(tracker, { secret: new Uint8Array(32).fill(1) });
    const validId = (from: Endpoint, nowMs: number): bigint => handler.connectionId(from, Math.floor(nowMs / 60_000));
    const fromArb = fc.constantFrom<Endpoint>({ host: '192.0.2.1', port: 1 }, { host: '198.51.100.2', port: 65535 }, { host: '2001:db8::1', port: 6881 }, { host: '::ffff:10.0.0.1', port: 9 });
    const caseArb = fc.tuple(fromArb, fc.integer({ min: 0, max: 10 * 60_000 })).chain(([from, nowMs]) => fc.tuple(fc.constant(from), fc.constant(nowMs), packetArb(validId, from, nowMs)));
    const seen = { none: 0, connect: 0, announce: 0, scrape: 0, error: 0 };
    fc.assert(
      fc.property(caseArb, ([from, nowMs, packet]) => {
        const r = checkUdpReply(packet, handler.handle(packet, from, nowMs), from.host.includes(':') && !from.host.startsWith('::ffff:') ? 18 : 6);
        seen[r?.action ?? 'none']++;
      }),
      { numRuns: 4000, seed: 20240 },
    );
    // The mutations reach every path, not only the error one.
    for (const [k, n] of Object.entries(seen)) assert.ok(n >= 50, `only ${n} replies of kind ${k}: ${JSON.stringify(seen)}`);
    const s = tracker.stats();
    assert.ok(s.seeders >= 0 && s.leechers >= 0 && s.peers === s.seeders + s.leechers);

    // Still a working tracker: a valid connect + announce is answered correctly.
    const a: Endpoint = { host: '203.0.113.1', port: 1000 };
    const b: Endpoint = { host: '203.0.113.2', port: 2000 };
    for (const [from, port] of [[a, 7001], [b, 7002]] as const) {
      const c = decodeResponse(handler.handle(encodeRequest({ action: 'connect', transactionId: 10 }), from, 11 * 60_000)!);
      assert.ok(c.action === 'connect');
      const r = decodeResponse(handler.handle(udpAnnounce(c.connectionId, 11, { infoHash: CHECK_HASH, port, event: 'started' }), from, 11 * 60_000)!);
      assert.ok(r.action === 'announce' && r.transactionId === 11);
      if (from === b) {
        assert.deepEqual(decodePeers4(r.peers), [{ host: '203.0.113.1', port: 7001 }]);
        assert.deepEqual([r.seeders, r.leechers], [0, 2]);
      }
    }
  });
});

describe('UDP handler fuzz, batches', () => {
  it('answers each datagram of a batch of any mix exactly as it answers it alone (property)', () => {
    // Twins with the same secret and seed see the same datagrams in the same
    // order: one through handleBatch (as the native socket delivers them),
    // one packet by packet through handle(). Equal replies mean a bad
    // datagram cannot disturb its neighbours, and the two paths agree.
    const twin = (): UdpTrackerHandler => new UdpTrackerHandler(new Tracker(seededRandom(11)), { secret: new Uint8Array(32).fill(2) });
    const batched = twin();
    const single = twin();
    const SLOTS = 16;
    const infoBuffer = new ArrayBuffer(SLOTS * INFO_WORDS * 4);
    const batch: DatagramBatch = {
      rx: new Uint8Array(SLOTS * MAX_PACKET),
      rxSlot: MAX_PACKET,
      info: new Uint32Array(infoBuffer),
      infoBytes: new Uint8Array(infoBuffer),
      tx: new Uint8Array(SLOTS * MAX_PACKET),
      txSlot: MAX_PACKET,
      replyLength: new Int32Array(SLOTS),
    };
    // How the socket describes a sender (family, IPv4 number, IPv6 bytes), and the Endpoint node:dgram would give.
    const v6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1]);
    const senders = [
      { family: 4, ipv4: 0xc0000201, bytes: new Uint8Array(16), from: { host: '192.0.2.1', port: 1 } },
      { family: 4, ipv4: 0xc6336402, bytes: new Uint8Array(16), from: { host: '198.51.100.2', port: 65535 } },
      // An IPv4 client of a dual-stack socket: the socket reports it as IPv4, dgram as mapped text.
      { family: 4, ipv4: 0x0a000001, bytes: Uint8Array.from([...new Array<number>(10).fill(0), 255, 255, 10, 0, 0, 1]), from: { host: '::ffff:10.0.0.1', port: 9 } },
      { family: 6, ipv4: 0, bytes: v6, from: { host: bytesToIpv6(v6), port: 6881 } },
      // A source address of another family: the socket gives it no reply.
      { family: 0, ipv4: 0, bytes: new Uint8Array(16), from: { host: '', port: 0 } },
    ] as const;
    const validId = (from: Endpoint, nowMs: number): bigint => single.connectionId(from, Math.floor(nowMs / 60_000));
    const oversized = fc.integer({ min: MAX_PACKET + 1, max: 70_000 }).chain((n) => fc.uint8Array({ minLength: 16, maxLength: 16 }).map((head) => {
      const p = new Uint8Array(n);
      p.set(head);
      return p;
    }));
    const datagramArb = fc.integer({ min: 0, max: senders.length - 1 }).chain((k) =>
      fc.tuple(fc.constant(k), fc.oneof({ weight: 12, arbitrary: packetArb(validId, senders[k]!.from, 0) }, { weight: 1, arbitrary: oversized })),
    );
    const seen = { none: 0, connect: 0, announce: 0, scrape: 0, error: 0 };
    fc.assert(
      fc.property(fc.array(datagramArb, { minLength: 1, maxLength: SLOTS }), fc.integer({ min: 0, max: 2 * 60_000 }), (datagrams, nowMs) => {
        batch.tx.fill(0xaa); // whatever the last batch left there must not matter
        datagrams.forEach(([k, packet], i) => {
          const s = senders[k]!;
          const w = i * INFO_WORDS;
          batch.rx.set(packet.subarray(0, MAX_PACKET), i * MAX_PACKET);
          batch.info.set([packet.length, s.from.port, s.family, s.ipv4], w + Info.length);
          batch.infoBytes.set(s.bytes, (w + Info.ipv6) * 4);
        });
        batched.handleBatch(batch, datagrams.length, nowMs, (e) => {
          throw e;
        });
        datagrams.forEach(([k, packet], i) => {
          const s = senders[k]!;
          const expected = s.family === 0 ? undefined : single.handle(packet, s.from, nowMs);
          const n = batch.replyLength[i]!;
          const got = n === 0 ? undefined : batch.tx.slice(i * MAX_PACKET, i * MAX_PACKET + n);
          assert.deepEqual(got, expected, `datagram ${i} of ${datagrams.length}`);
          if (s.family !== 0) seen[checkUdpReply(packet, got, s.family === 6 ? 18 : 6)?.action ?? 'none']++;
        });
      }),
      { numRuns: 400, seed: 20241 },
    );
    for (const [k, n] of Object.entries(seen)) assert.ok(n >= 50, `only ${n} replies of kind ${k}: ${JSON.stringify(seen)}`);
  });
});

/** Send `chunks` on a fresh TCP connection, half-close, and collect everything until the server closes. */
function rawHttp(port: number, chunks: readonly Uint8Array[]): Promise<Buffer> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    const got: Buffer[] = [];
    // Only a safety net so a misbehaving server cannot hang the test; nothing is asserted on time.
    const guard = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', (d: Buffer) => got.push(d));
    socket.on('error', () => undefined); // resets after a refused request are expected
    socket.on('close', () => {
      clearTimeout(guard);
      resolve(Buffer.concat(got));
    });
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c);
      socket.end();
    });
  });
}

/** The status and body of one HTTP/1.1 response. */
function parseResponse(raw: Buffer): { status: number; body: Uint8Array } {
  const head = raw.indexOf('\r\n\r\n');
  assert.ok(head > 0, `no response head in ${JSON.stringify(raw.subarray(0, 80).toString('latin1'))}`);
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(raw.subarray(0, head).toString('latin1'))?.[1]);
  const length = Number(/\r\ncontent-length: (\d+)/i.exec(raw.subarray(0, head + 2).toString('latin1'))?.[1]);
  return { status, body: new Uint8Array(raw.subarray(head + 4, head + 4 + length)) };
}

function esc(b: Uint8Array): string {
  return [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('');
}

const enc = (s: string): Uint8Array => Buffer.from(s, 'latin1');

describe('tracker server fuzz (real sockets)', () => {
  // Both UDP paths: node:dgram, and the native batch socket (many datagrams per call) where it was built.
  for (const udpSocket of ['dgram', 'batch'] as const) {
    it(`survives hostile HTTP and UDP input and still answers valid requests (UDP on ${udpSocket})`, async (t) => {
      const status = batchUdpStatus();
      if (udpSocket === 'batch' && !status.available) {
        if (process.env.CI === 'true' && process.platform === 'linux') throw new Error(`native batch UDP socket missing in CI: ${status.reason}`);
        t.skip(`native batch UDP socket not available: ${status.reason}`);
        return;
      }
      const server = await startTrackerServer({ host: '127.0.0.1', httpPort: 0, udpPort: 0, interval: 60, clock: new ManualClock(), random: seededRandom(9), udpSocket });
      assert.equal(server.udpPath?.kind, udpSocket);
      const udpClient = createSocket('udp4');
      try {
        const httpPort = Number(new URL(server.httpUrl!).port);
        const udpPort = Number(new URL(server.udpUrl!).port);
        const validQuery = `info_hash=${esc(FUZZ_HASH)}&peer_id=${esc(new Uint8Array(20).fill(0x41))}&port=6881&left=5&compact=1`;
        const get = (target: string, headers = ''): string => `GET ${target} HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n`;

        // -- HTTP: well-formed GETs with random query strings must get a bencoded 200.
        const queryChar = fc.constantFrom(...'abcdefinfo_hashpeer_idportleftnumwanteventcompact0123456789=&%+-._~'.split(''), '%zz', '%4', '%00', '%ff', 'info_hash=', 'port=', '&');
        const queryArb = fc.oneof(fc.array(queryChar, { maxLength: 60 }).map((a) => a.join('')), fc.array(queryChar, { maxLength: 30 }).map((a) => `${validQuery}&${a.join('')}`));
        const wellFormed = fc.sample(fc.tuple(fc.constantFrom('/announce', '/scrape'), queryArb), { numRuns: 150, seed: 1 });
        // -- HTTP: everything else, answered or not, must not take the server down.
        const request = get(`/announce?${validQuery}`);
        const hostile: Uint8Array[][] = [
          ...fc.sample(fc.uint8Array({ minLength: 1, maxLength: 300 }), { numRuns: 40, seed: 2 }).map((b) => [b]),
          ...fc.sample(fc.nat({ max: request.length - 1 }), { numRuns: 30, seed: 3 }).map((n) => [enc(request.slice(0, n))]),
          ...fc
            .sample(fc.tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 5 })), { numRuns: 40, seed: 4 })
            .map(([flips]) => {
              const b = Uint8Array.from(enc(request));
              for (const [at, v] of flips) b[at % b.length] = v;
              return [b];
            }),
          ...['GET\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'GET  HTTP/1.1\r\n\r\n', 'G\u0000T / HTTP/1.1\r\n\r\n', '\r\n\r\n\r\n', 'GET /announce?%%%% HTTP/1.1\r\n\r\n', 'HELLO\n\n'].map((s) => [enc(s)]),
          [enc(get(`/announce?${'a'.repeat(20_000)}`))],
          [enc(get(`/announce?${validQuery}`, `X-Big: ${'b'.repeat(20_000)}\r\n`))],
          [enc(get(`/announce?${validQuery}`, Array.from({ length: 3000 }, (_, i) => `h${i}: v\r\n`).join('')))],
          [enc(get(`/announce?info_hash=%zz&peer_id=%4&port=%`))],
          [enc(get(`/scrape?info_hash=${'%'.repeat(50)}`))],
          [enc(get(`/announce?${'%41'.repeat(5000)}`))],
          [enc(get(`/stats`)), enc(get('/'))], // pipelined
          [enc(`POST /announce HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello`)],
          [enc(`POST /announce HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nshort`)],
          [enc(`GET /announce HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`)],
          [enc(`HEAD /announce?${validQuery} HTTP/1.1\r\nHost: x\r\n\r\n`)],
          [enc('GET /announce?'), enc(validQuery.slice(0, 10)), new Uint8Array([0, 255, 13, 10])],
        ];

        let accepted = 0;
        const jobs: (() => Promise<void>)[] = [
          ...wellFormed.map(([path, query]) => async () => {
            const raw = await rawHttp(httpPort, [enc(get(`${path}?${query}`))]);
            const { status, body } = parseResponse(raw);
            assert.equal(status, 200, `${path}?${query}`);
            const d = decode(body);
            assert.ok(d instanceof Map, `${path}?${query}`);
            assert.ok(d.has('failure reason') || d.has(path === '/announce' ? 'interval' : 'files'), `${path}?${query}`);
            if (!d.has('failure reason')) accepted++;
          }),
          ...hostile.map((chunks) => async () => void (await rawHttp(httpPort, chunks))),
        ];
        for (let i = 0; i < jobs.length; i += 25) await Promise.all(jobs.slice(i, i + 25).map((j) => j()));
        assert.ok(accepted >= 10 && accepted < wellFormed.length, `${accepted} of ${wellFormed.length} random queries accepted`);

        // -- UDP: random and mutated datagrams over a real socket; every reply must decode.
        await new Promise<void>((resolve) => udpClient.bind(0, '127.0.0.1', resolve));
        const replies: Buffer[] = [];
        let onReply: () => void = () => undefined;
        udpClient.on('message', (m: Buffer) => {
          replies.push(m);
          onReply();
        });
        const exchange = (packets: readonly Uint8Array[], expected: number): Promise<void> =>
          new Promise((resolve) => {
            const target = replies.length + expected;
            const guard = setTimeout(resolve, 5000); // safety net only
            onReply = () => {
              if (replies.length >= target) {
                clearTimeout(guard);
                resolve();
              }
            };
            for (const p of packets) udpClient.send(p, udpPort, '127.0.0.1');
            if (expected === 0) onReply();
          });
        await exchange([encodeRequest({ action: 'connect', transactionId: 1 })], 1);
        const live = decodeResponse(new Uint8Array(replies[0]!));
        assert.ok(live.action === 'connect');
        const localPort = udpClient.address().port;
        const from: Endpoint = { host: '127.0.0.1', port: localPort };
        const datagrams = fc.sample(packetArb(() => live.connectionId, from, 0), { numRuns: 300, seed: 6 }).filter((p) => p.length > 0);
        // Oversized ones too, in among the others: MAX_PACKET is enforced, the error reply is no larger than the request.
        for (const [at, size] of [[17, MAX_PACKET + 1], [123, 9000], [201, 65_000]] as const) datagrams.splice(at, 0, new Uint8Array(size).fill(7));
        const sent: Uint8Array[] = [];
        for (let i = 0; i < datagrams.length; i += 50) {
          const batch = datagrams.slice(i, i + 50);
          sent.push(...batch);
          await exchange(batch, batch.filter((p) => p.length >= 16).length);
        }
        assert.equal(replies.length - 1, sent.filter((p) => p.length >= 16).length, 'one reply per datagram of 16 bytes or more');
        for (const r of replies) {
          const d = decodeResponse(new Uint8Array(r));
          if (d.action === 'announce') assert.equal(d.peers.length % 6, 0);
        }

        // -- Still answering: a valid UDP connect + announce, then a valid HTTP announce that sees it.
        const before = replies.length;
        await exchange([encodeRequest({ action: 'connect', transactionId: 0x5151 })], 1);
        const c = decodeResponse(new Uint8Array(replies[before]!));
        assert.ok(c.action === 'connect' && c.transactionId === 0x5151);
        await exchange([udpAnnounce(c.connectionId, 0x5252, { infoHash: CHECK_HASH, port: 7001, left: 0n, event: 'started' })], 1);
        const a = decodeResponse(new Uint8Array(replies[before + 1]!));
        assert.ok(a.action === 'announce' && a.transactionId === 0x5252);
        assert.deepEqual([a.seeders, a.leechers, a.peers.length], [1, 0, 0]);

        const query = `info_hash=${esc(CHECK_HASH)}&peer_id=${esc(new Uint8Array(20).fill(0x42))}&port=7002&left=100&event=started&compact=1`;
        const { status, body } = parseResponse(await rawHttp(httpPort, [enc(get(`/announce?${query}`))]));
        assert.equal(status, 200);
        const d = decode(body);
        assert.ok(d instanceof Map);
        assert.equal(d.get('failure reason'), undefined);
        assert.equal(d.get('complete'), 1);
        assert.equal(d.get('incomplete'), 1);
        assert.deepEqual(decodePeers4(d.get('peers') as Uint8Array), [{ host: '127.0.0.1', port: 7001 }]);
        assert.deepEqual(
          server.tracker.scrape([CHECK_HASH]).map((f) => f.counts),
          [{ seeders: 1, completed: 0, leechers: 1 }],
        );
      } finally {
        udpClient.close();
        await server.close();
      }
    });
  }
});
