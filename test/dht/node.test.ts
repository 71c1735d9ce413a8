import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { BEncodable } from '../../src/bencode/index.js';
import { decodeKrpc, encodeQuery, encodeResponse, type KrpcMessage } from '../../src/dht/krpc.js';
import { DhtNode } from '../../src/dht/node.js';
import { idHex, isSecureId, randomId } from '../../src/dht/node-id.js';
import { ManualClock, seededRandom, type DatagramSocket, type Endpoint } from '../../src/net/index.js';

/*
 * DhtNode on an in-memory datagram hub (delivery in a microtask, a manual
 * clock that never moves): its own id in lookups, and BEP 42 votes on our
 * external address.
 */

class Hub {
  private readonly sockets = new Map<string, (data: Uint8Array, from: Endpoint) => void>();

  socket(host: string, port: number): DatagramSocket {
    const local = { host, port };
    const key = `${host}:${port}`;
    this.sockets.set(key, () => undefined);
    return {
      local,
      send: (data, to) => {
        const copy = data.slice();
        queueMicrotask(() => this.sockets.get(`${to.host}:${to.port}`)?.(copy, local));
      },
      onMessage: (handler) => void this.sockets.set(key, handler),
      close: () => void this.sockets.delete(key),
    };
  }
}

describe('DhtNode', () => {
  it('never finds itself: its lookups and announces leave its own id out', async () => {
    const hub = new Hub();
    const clock = new ManualClock();
    const random = seededRandom(11);
    const nodes: DhtNode[] = [];
    for (let i = 0; i < 30; i++) {
      nodes.push(new DhtNode({ socket: hub.socket(`10.0.0.${i + 1}`, 6881), clock, random, queryRate: Infinity, ...(i > 0 && { bootstrap: [nodes[0]!.local] }) }));
    }
    for (const n of nodes.slice(1)) await n.bootstrap();
    for (const n of nodes) {
      const found = await n.findNode(n.id);
      assert.ok(found.closest.length > 0);
      assert.ok(!found.closest.some((c) => idHex(c.id) === idHex(n.id)), `node ${idHex(n.id)} found itself`);
    }
    // An announce for a hash next to our own id goes to K other nodes, not to ourselves.
    const own = nodes[7]!;
    const infoHash = own.id.slice();
    infoHash[19] = infoHash[19]! ^ 1;
    const announced = await own.announce(infoHash, 51413);
    assert.equal(own.stats().torrents, 0);
    assert.equal(announced.stored, 8);
    for (const n of nodes) n.close();
  });

  describe('BEP 42 external address votes', () => {
    const liarIp = { host: '203.0.113.9', port: 1 };
    const idRandom = seededRandom(100);

    /** A node at `host` answering every query with `ip` = liarIp. */
    function responder(hub: Hub, host: string): Endpoint {
      const socket = hub.socket(host, 6881);
      const id = randomId(idRandom);
      socket.onMessage((data, from) => {
        const m = decodeKrpc(data);
        if (m.y === 'q') socket.send(encodeResponse(m.t, { id }, liarIp), from);
      });
      return socket.local;
    }

    it('one node answering many queries is one vote', async () => {
      const hub = new Hub();
      const node = new DhtNode({ socket: hub.socket('198.51.100.1', 6881), clock: new ManualClock(), random: seededRandom(1) });
      const before = idHex(node.id);
      const liar = responder(hub, '198.51.100.2');
      for (let i = 0; i < 10; i++) await node.ping(liar);
      assert.equal(node.externalAddress, undefined);
      assert.equal(idHex(node.id), before);
      node.close();
    });

    it('five nodes at five addresses agreeing set the address, and the id follows it', async () => {
      const hub = new Hub();
      const node = new DhtNode({ socket: hub.socket('198.51.100.1', 6881), clock: new ManualClock(), random: seededRandom(2) });
      for (let i = 0; i < 5; i++) await node.ping(responder(hub, `198.51.100.${10 + i}`));
      assert.equal(node.externalAddress, liarIp.host);
      assert.ok(isSecureId(node.id, liarIp.host));
      node.close();
    });

    it('keeps an id it was given', async () => {
      const hub = new Hub();
      const id = randomId(seededRandom(3));
      const node = new DhtNode({ socket: hub.socket('198.51.100.1', 6881), clock: new ManualClock(), random: seededRandom(3), id });
      for (let i = 0; i < 5; i++) await node.ping(responder(hub, `198.51.100.${20 + i}`));
      assert.equal(node.externalAddress, liarIp.host);
      assert.deepEqual(node.id, id);
      node.close();
    });
  });

  it('answers any query, however malformed its arguments, with exactly one response or error, and never throws (property)', () => {
    // The node's datagram handler is called synchronously here, so an exception would fail the property.
    let handler: (data: Uint8Array, from: Endpoint) => void = () => undefined;
    const sent: { data: Uint8Array; to: Endpoint }[] = [];
    const socket: DatagramSocket = {
      local: { host: '198.51.100.1', port: 6881 },
      send: (data, to) => void sent.push({ data, to }),
      onMessage: (h) => void (handler = h),
      close: () => undefined,
    };
    const clock = new ManualClock();
    const node = new DhtNode({ socket, clock, random: seededRandom(4), queryRate: Infinity });
    const bytes = (lengths: number[]): fc.Arbitrary<Uint8Array> => fc.oneof(...lengths.map((n) => fc.uint8Array({ minLength: n, maxLength: n })), fc.uint8Array({ maxLength: 80 }));
    const anyValue: fc.Arbitrary<BEncodable> = fc.oneof(
      bytes([0, 6, 8, 19, 20, 21, 32, 64]),
      fc.integer({ min: -2, max: 70_000 }),
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
      fc.array(fc.uint8Array({ maxLength: 8 }), { maxLength: 3 }),
      fc.constant({ x: 1 }),
    );
    const argKeys = ['id', 'target', 'info_hash', 'token', 'port', 'implied_port', 'v', 'k', 'sig', 'seq', 'salt', 'cas', 'want', 'noseed'] as const;
    const argsArb = fc.record(Object.fromEntries(argKeys.map((k) => [k, anyValue])), { requiredKeys: [] }).map((a) => ({ ...a }));
    const methodArb = fc.constantFrom('ping', 'find_node', 'get_peers', 'announce_peer', 'get', 'put', 'sample_infohashes', '', 'PING');
    const fromArb = fc.record({ host: fc.constantFrom('198.51.100.7', '203.0.113.8', '10.0.0.9'), port: fc.integer({ min: 1, max: 0xffff }) }).map((e) => ({ ...e }));
    let n = 0;
    fc.assert(
      fc.property(methodArb, argsArb, fromArb, fc.nat(60_000), (q, a, from, dt) => {
        clock.advance(dt);
        const t = Uint8Array.of(0x66, n >> 8, n++ & 0xff);
        sent.length = 0;
        handler(encodeQuery(t, q, a), from);
        const replies = sent.filter((s) => s.to.host === from.host && s.to.port === from.port).map((s) => decodeKrpc(s.data)).filter((m): m is Exclude<KrpcMessage, { y: 'q' }> => m.y !== 'q');
        assert.equal(replies.length, 1, `${replies.length} replies to ${q}`);
        assert.deepEqual(replies[0]!.t, t);
        if (replies[0]!.y === 'e') assert.ok([201, 202, 203, 204, 205, 206, 207, 301, 302].includes(replies[0]!.code), `error ${replies[0]!.code}`);
      }),
      { numRuns: 2000 },
    );
    node.close();
  });
});
