import assert from 'node:assert/strict';
import { encodeResponse } from '../../../src/tracker/udp-codec.js';
import { describe, it } from 'node:test';
import { seededRandom, type Endpoint } from '../../../src/net/index.js';
import { decodePeers4, decodePeers6 } from '../../../src/tracker/compact.js';
import { Tracker, type TrackerOptions } from '../../../src/tracker/server/tracker.js';
import { UdpTrackerHandler, type UdpHandlerOptions } from '../../../src/tracker/server/udp.js';
import { Action, decodeResponse, encodeRequest, PROTOCOL_ID, type AnnounceRequest, type UdpResponse } from '../../../src/tracker/udp-codec.js';

/*
 * The UDP tracker (BEP 15) as a function from a packet to a packet: no
 * socket, time driven by the `nowMs` argument.
 */

const HASH = new Uint8Array(20).fill(0x11);
const FROM: Endpoint = { host: '192.0.2.10', port: 40000 };

function setup(trackerOptions: TrackerOptions = {}, options: Partial<UdpHandlerOptions> = {}): { tracker: Tracker; handler: UdpTrackerHandler } {
  const tracker = new Tracker(seededRandom(3), trackerOptions);
  return { tracker, handler: new UdpTrackerHandler(tracker, { secret: new Uint8Array(32).fill(9), ...options }) };
}

function ask(handler: UdpTrackerHandler, packet: Uint8Array, from: Endpoint, nowMs: number, peerLength: 6 | 18 = 6): UdpResponse {
  const out = handler.handle(packet, from, nowMs);
  assert.ok(out !== undefined, 'expected a reply');
  return decodeResponse(out, peerLength);
}

function connect(handler: UdpTrackerHandler, from: Endpoint, nowMs: number, transactionId = 1): bigint {
  const r = ask(handler, encodeRequest({ action: 'connect', transactionId }), from, nowMs);
  assert.equal(r.action, 'connect');
  assert.equal(r.transactionId, transactionId);
  return r.connectionId;
}

function announce(connectionId: bigint, over: Partial<AnnounceRequest> = {}): Uint8Array {
  return encodeRequest({
    action: 'announce',
    connectionId,
    transactionId: 77,
    infoHash: HASH,
    peerId: new Uint8Array(20).fill(0x22),
    downloaded: 0n,
    left: 1000n,
    uploaded: 0n,
    event: 'started',
    ip: 0,
    key: 5,
    numWant: -1,
    port: 6881,
    ...over,
  });
}

function expectError(r: UdpResponse, transactionId: number, pattern?: RegExp): void {
  assert.equal(r.action, 'error', JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  assert.equal(r.transactionId, transactionId);
  if (pattern !== undefined) assert.match(r.message, pattern);
}

describe('UdpTrackerHandler', () => {
  it('connect gives a connection id that depends on the address and the minute', () => {
    const { handler } = setup();
    const id = connect(handler, FROM, 0, 0xdeadbeef);
    assert.equal(id, handler.connectionId(FROM, 0));
    assert.equal(connect(handler, FROM, 59_999), id, 'same minute, same id');
    assert.notEqual(connect(handler, FROM, 60_000), id);
    assert.notEqual(connect(handler, { host: FROM.host, port: FROM.port + 1 }, 0), id);
    assert.notEqual(connect(handler, { host: '192.0.2.11', port: FROM.port }, 0), id);
    assert.notEqual(connect(setup({}, { secret: new Uint8Array(32) }).handler, FROM, 0), id, 'keyed by the secret');
  });

  it('ids of IPv6 clients, whatever the length of the host text, depend on address, port and minute', () => {
    const { handler } = setup();
    // The last one is longer than any real address (a zone id), to reach the slow path of the id computation.
    for (const host of ['::1', '2001:db8::1', 'fe80::1%eth0', `fe80::1%${'x'.repeat(100)}`]) {
      const from: Endpoint = { host, port: 6881 };
      const id = connect(handler, from, 0);
      assert.equal(connect(handler, from, 30_000), id, host);
      assert.notEqual(connect(handler, from, 60_000), id, host);
      assert.notEqual(connect(handler, { host, port: 6882 }, 0), id, host);
      assert.notEqual(connect(handler, { host: `${host}0`, port: 6881 }, 0), id, host);
      assert.equal(ask(handler, announce(id), from, 119_999, 18).action, 'announce', host);
      expectError(ask(handler, announce(id), from, 180_000, 18), 77, /connection id/);
    }
  });

  it('gives distinct ids to distinct addresses, ports and minutes', () => {
    const { handler } = setup();
    const ids = new Set<bigint>();
    let n = 0;
    for (let i = 0; i < 300; i++) {
      for (const from of [{ host: `10.${i >> 8}.${i & 255}.1`, port: 6881 }, { host: '10.0.0.1', port: i + 1 }, { host: `2001:db8::${i.toString(16)}`, port: 6881 }]) {
        ids.add(handler.connectionId(from, 0));
        n++;
      }
      ids.add(handler.connectionId(FROM, i + 1));
      n++;
    }
    assert.equal(ids.size, n);
  });

  it('announce with a valid id records the peer and answers with the others', () => {
    const { tracker, handler } = setup({ interval: 900 });
    const other: Endpoint = { host: '198.51.100.7', port: 5000 };
    const first = ask(handler, announce(connect(handler, other, 0), { port: 7001, left: 0n, transactionId: 1 }), other, 0);
    assert.equal(first.action, 'announce');
    assert.deepEqual(first.action === 'announce' && [first.transactionId, first.interval, first.seeders, first.leechers, first.peers.length], [1, 900, 1, 0, 0]);
    const r = ask(handler, announce(connect(handler, FROM, 1000)), FROM, 2000);
    assert.ok(r.action === 'announce');
    assert.equal(r.transactionId, 77);
    assert.equal(r.interval, 900);
    assert.deepEqual([r.seeders, r.leechers], [1, 1]);
    assert.deepEqual(decodePeers4(r.peers), [{ host: '198.51.100.7', port: 7001 }], 'the announced port, the packet address');
    assert.equal(tracker.stats().announces, 2);
  });

  it('numwant: -1 is the default, 0 is none', () => {
    const { handler } = setup({ defaultNumWant: 3 });
    for (let n = 1; n <= 10; n++) {
      const from = { host: `10.0.0.${n}`, port: 1 };
      ask(handler, announce(connect(handler, from, 0), { numWant: 0 }), from, 0);
    }
    const id = connect(handler, FROM, 0);
    const count = (numWant: number): number => {
      const r = ask(handler, announce(id, { numWant }), FROM, 0);
      assert.ok(r.action === 'announce');
      return r.peers.length / 6;
    };
    assert.deepEqual([count(-1), count(0), count(5), count(2 ** 31 - 1)], [3, 0, 5, 10]);
  });

  it('a wrong connection id gets an error packet with the transaction id', () => {
    const { tracker, handler } = setup();
    const id = connect(handler, FROM, 0);
    expectError(ask(handler, announce(id ^ 1n, { transactionId: 0x01020304 }), FROM, 0), 0x01020304, /connection id/);
    expectError(ask(handler, announce(0n, { transactionId: 5 }), FROM, 0), 5);
    expectError(ask(handler, announce(id), { host: '192.0.2.99', port: FROM.port }, 0), 77, /connection id/);
    const scrape = encodeRequest({ action: 'scrape', connectionId: id + 1n, transactionId: 9, infoHashes: [HASH] });
    expectError(ask(handler, scrape, FROM, 0), 9);
    assert.equal(tracker.stats().announces, 0);
  });

  it('an id is accepted for at least two minutes after it was sent, not three', () => {
    const { handler } = setup();
    const id = connect(handler, FROM, 59_000); // minute 0
    assert.equal(ask(handler, announce(id), FROM, 59_500).action, 'announce');
    assert.equal(ask(handler, announce(id), FROM, 61_000).action, 'announce', 'minute 1');
    assert.equal(ask(handler, announce(id), FROM, 119_999).action, 'announce', 'end of minute 1');
    assert.equal(ask(handler, announce(id), FROM, 179_999).action, 'announce', 'end of minute 2: two minutes after it was sent');
    expectError(ask(handler, announce(id), FROM, 180_000), 77, /connection id/);
    expectError(ask(handler, announce(id), FROM, 3_600_000), 77);
    const late = connect(handler, FROM, 10 * 60_000);
    expectError(ask(handler, announce(late), FROM, 9 * 60_000), 77, /connection id/);
  });

  it('checks the protocol id of a connect', () => {
    const { handler } = setup();
    const p = encodeRequest({ action: 'connect', transactionId: 42 });
    p[7] = p[7]! ^ 1;
    // A 16-byte request gets at most a 16-byte answer (no amplification): the message is cut.
    expectError(ask(handler, p, FROM, 0), 42, /^wrong pr$/);
    const q = encodeRequest({ action: 'connect', transactionId: 43 });
    new DataView(q.buffer).setBigUint64(0, 0n);
    expectError(ask(handler, q, FROM, 0), 43);
    const ok = new Uint8Array(16);
    new DataView(ok.buffer).setBigUint64(0, PROTOCOL_ID);
    new DataView(ok.buffer).setUint32(12, 44);
    assert.equal(ask(handler, ok, FROM, 0).action, 'connect');
  });

  it('scrapes several info hashes, in order', () => {
    const { handler } = setup();
    const a = new Uint8Array(20).fill(1);
    const b = new Uint8Array(20).fill(2);
    for (let n = 1; n <= 3; n++) {
      const from = { host: `10.0.0.${n}`, port: 1 };
      const id = connect(handler, from, 0);
      ask(handler, announce(id, { infoHash: a, left: n === 1 ? 0n : 5n }), from, 0);
      if (n === 3) ask(handler, announce(id, { infoHash: b, event: 'completed', left: 0n }), from, 0);
    }
    const id = connect(handler, FROM, 0);
    const r = ask(handler, encodeRequest({ action: 'scrape', connectionId: id, transactionId: 12, infoHashes: [b, new Uint8Array(20), a] }), FROM, 0);
    assert.ok(r.action === 'scrape');
    assert.equal(r.transactionId, 12);
    assert.deepEqual(r.files, [
      { seeders: 1, completed: 1, leechers: 0 },
      { seeders: 0, completed: 0, leechers: 0 },
      { seeders: 1, completed: 0, leechers: 2 },
    ]);
    const max = encodeRequest({ action: 'scrape', connectionId: id, transactionId: 13, infoHashes: Array.from({ length: 74 }, () => a) });
    const all = ask(handler, max, FROM, 0);
    assert.ok(all.action === 'scrape' && all.files.length === 74);
    const tooMany = encodeRequest({ action: 'scrape', connectionId: id, transactionId: 14, infoHashes: Array.from({ length: 75 }, () => a) });
    expectError(ask(handler, tooMany, FROM, 0), 14);
    expectError(ask(handler, max.subarray(0, 16 + 30), FROM, 0), 13, /whole 20-byte/);
    expectError(ask(handler, max.subarray(0, 16), FROM, 0), 13, /^scrape m$/);
  });

  it('sends nothing back for packets under 16 bytes', () => {
    const { handler } = setup();
    const c = encodeRequest({ action: 'connect', transactionId: 1 });
    for (let n = 0; n < 16; n++) {
      assert.equal(handler.handle(c.subarray(0, n), FROM, 0), undefined, `${n} bytes`);
      assert.equal(handler.handle(new Uint8Array(n).fill(0xff), FROM, 0), undefined);
    }
  });

  it('answers a truncated announce (16 to 97 bytes) with an error', () => {
    const { tracker, handler } = setup();
    const full = announce(connect(handler, FROM, 0), { transactionId: 0xabcdef });
    for (let n = 16; n < 98; n++) {
      const r = ask(handler, full.subarray(0, n), FROM, 0);
      expectError(r, 0xabcdef, n >= 70 ? /98/ : undefined);
      assert.ok(encodeResponse(r).length <= n, `an error reply is never larger than the request (${n} bytes)`);
    }
    assert.equal(tracker.stats().announces, 0);
    // Longer is fine: BEP 41 options follow the 98 bytes.
    const longer = new Uint8Array(120);
    longer.set(full);
    longer[98] = 2; // URLData option
    assert.equal(ask(handler, longer, FROM, 0).action, 'announce');
  });

  it('refuses unknown actions and events, port 0 and oversized packets with an error', () => {
    const { handler } = setup();
    const id = connect(handler, FROM, 0);
    const action = announce(id);
    new DataView(action.buffer).setUint32(8, 4);
    expectError(ask(handler, action, FROM, 0), 77, /action/);
    const event = announce(id);
    new DataView(event.buffer).setUint32(80, 4);
    expectError(ask(handler, event, FROM, 0), 77, /event/);
    expectError(ask(handler, announce(id, { port: 0 }), FROM, 0), 77, /port/);
    const huge = new Uint8Array(5000);
    huge.set(announce(id));
    expectError(ask(handler, huge, FROM, 0), 77, /too large/);
    const error = encodeRequest({ action: 'connect', transactionId: 3 });
    new DataView(error.buffer).setUint32(8, Action.error);
    expectError(ask(handler, error, FROM, 0), 3);
  });

  it('uses the packet address, or the ip field only when allowed', () => {
    for (const allowIpParam of [false, true]) {
      const { handler } = setup({}, { allowIpParam });
      const proxy: Endpoint = { host: '10.9.9.9', port: 1 };
      ask(handler, announce(connect(handler, proxy, 0), { ip: 0xc0000201, port: 4444 }), proxy, 0);
      const r = ask(handler, announce(connect(handler, FROM, 0)), FROM, 0);
      assert.ok(r.action === 'announce');
      assert.deepEqual(decodePeers4(r.peers), [{ host: allowIpParam ? '192.0.2.1' : '10.9.9.9', port: 4444 }]);
    }
  });

  it('sends IPv6 peers (18 bytes each) to a client over IPv6, IPv4 peers to one over IPv4', () => {
    const { handler } = setup();
    const v6: Endpoint = { host: '2001:db8::5', port: 1000 };
    const v4: Endpoint = { host: '192.0.2.5', port: 1000 };
    ask(handler, announce(connect(handler, v4, 0), { port: 1111, transactionId: 1 }), v4, 0);
    const r6 = ask(handler, announce(connect(handler, v6, 0), { port: 2222, transactionId: 2 }), v6, 0, 18);
    assert.ok(r6.action === 'announce');
    assert.equal(r6.peers.length, 0, 'the only other peer is IPv4');
    const other6: Endpoint = { host: '2001:db8::6', port: 1000 };
    const r = ask(handler, announce(connect(handler, other6, 0), { port: 3333, transactionId: 3 }), other6, 0, 18);
    assert.ok(r.action === 'announce');
    assert.deepEqual(decodePeers6(r.peers), [{ host: '2001:db8:0:0:0:0:0:5', port: 2222 }]);
    const r4 = ask(handler, announce(connect(handler, v4, 0), { port: 1111, transactionId: 4 }), v4, 0);
    assert.ok(r4.action === 'announce');
    assert.equal(r4.peers.length, 0, 'IPv6 peers do not fit a reply to an IPv4 client');
    assert.deepEqual([r4.seeders, r4.leechers], [0, 3]);
  });
});
