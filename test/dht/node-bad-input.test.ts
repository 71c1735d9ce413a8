import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encode, type BEncodable } from '../../src/bencode/index.js';
import { decodeKrpc, encodeQuery, KrpcErrorCode, MAX_KRPC_LENGTH, type KrpcMessage } from '../../src/dht/krpc.js';
import { DhtNode } from '../../src/dht/node.js';
import { decodeCompactPeer, randomId } from '../../src/dht/node-id.js';
import { bindUdp, seededRandom, type Endpoint } from '../../src/net/index.js';

/*
 * A real DhtNode on a loopback UDP port, fed by a raw node:dgram socket:
 * garbage, malformed queries, bad tokens and a flood from one address. The
 * node must answer what deserves an answer (BEP 5 error 203 or 204), drop
 * the rest, and keep answering a valid ping afterwards.
 */

const WAIT_MS = 2_000;

class Raw {
  private readonly replies = new Map<string, (m: KrpcMessage) => void>();
  received = 0;
  private nextTid = 0;

  private constructor(
    private readonly socket: Socket,
    readonly local: Endpoint,
  ) {
    socket.on('message', (data) => {
      this.received++;
      let m: KrpcMessage;
      try {
        m = decodeKrpc(new Uint8Array(data));
      } catch {
        return;
      }
      if (m.y === 'q') return;
      const key = Buffer.from(m.t).toString('hex');
      this.replies.get(key)?.(m);
      this.replies.delete(key);
    });
  }

  static async open(): Promise<Raw> {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    return new Raw(s, { host: '127.0.0.1', port: s.address().port });
  }

  tid(): Uint8Array {
    const n = this.nextTid++;
    return Uint8Array.of(0x72, n >> 8, n & 0xff); // 'r' + counter: never one of the node's own 2-byte ids
  }

  send(data: Uint8Array, to: Endpoint): void {
    this.socket.send(data, to.port, to.host);
  }

  /** Send a message whose `t` is `t`; the reply to it, or undefined after WAIT_MS. */
  ask(data: Uint8Array, t: Uint8Array, to: Endpoint): Promise<KrpcMessage | undefined> {
    const key = Buffer.from(t).toString('hex');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.replies.delete(key);
        resolve(undefined);
      }, WAIT_MS);
      this.replies.set(key, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.send(data, to);
    });
  }

  /** A query built from a raw dictionary (for malformed ones). */
  askRaw(dict: { readonly [key: string]: BEncodable | undefined }, to: Endpoint): Promise<KrpcMessage | undefined> {
    const t = this.tid();
    return this.ask(encode({ ...dict, t }), t, to);
  }

  close(): void {
    this.socket.close();
  }
}

function assertError(m: KrpcMessage | undefined, code: number): void {
  assert.ok(m !== undefined, 'no answer');
  assert.equal(m.y, 'e', `expected an error, got ${JSON.stringify(m.y)}`);
  assert.equal(m.y === 'e' && m.code, code);
}

describe('a DhtNode fed bad input over UDP', () => {
  let node: DhtNode;
  let raw: Raw;
  const myId = randomId(seededRandom(7));

  before(async () => {
    const socket = await bindUdp('127.0.0.1', 0);
    node = new DhtNode({ socket, random: seededRandom(1) });
    raw = await Raw.open();
  });

  after(() => {
    node.close();
    raw.close();
  });

  const ping = async (): Promise<KrpcMessage | undefined> => {
    const t = raw.tid();
    return raw.ask(encodeQuery(t, 'ping', { id: myId }), t, node.local);
  };

  it('answers a ping with its id, the transaction id and our address (BEP 42 `ip`)', async () => {
    const t = raw.tid();
    const m = await raw.ask(encodeQuery(t, 'ping', { id: myId }), t, node.local);
    assert.ok(m !== undefined && m.y === 'r');
    assert.deepEqual(m.t, t);
    assert.deepEqual(m.r.get('id'), node.id);
    assert.deepEqual(m.ip, raw.local);
  });

  it('drops garbage without an answer, and keeps working', async () => {
    const before = node.stats().dropped;
    const garbage = [
      new Uint8Array(0),
      Uint8Array.from(Buffer.from('hello, DHT')),
      Uint8Array.from(Buffer.from('i42e')),
      Uint8Array.from(Buffer.from('d1:t2:aa1:y1:xe')),
      Uint8Array.from(Buffer.from(`d1:ad2:id20:${'a'.repeat(20)}e1:q4:ping1:t2:aa1:y1:q`)), // truncated
      new Uint8Array(MAX_KRPC_LENGTH + 1).fill(0x64),
      Uint8Array.from({ length: 1400 }, (_, i) => (i * 7919) & 0xff),
      Uint8Array.from(Buffer.from(`${'l'.repeat(1000)}${'e'.repeat(1000)}`)),
    ];
    for (const g of garbage) raw.send(g, node.local);
    // Datagrams from one socket to another on loopback arrive in order: once the ping is answered, the garbage was read.
    const m = await ping();
    assert.equal(m?.y, 'r');
    assert.equal(node.stats().dropped - before, garbage.length);
  });

  it('drops a reply or an error it did not ask for', async () => {
    const before = node.stats().dropped;
    raw.send(encode({ t: 'zz', y: 'r', r: { id: myId } }), node.local);
    raw.send(encode({ t: 'zz', y: 'e', e: [201, 'x'] }), node.local);
    assert.equal((await ping())?.y, 'r');
    assert.equal(node.stats().dropped - before, 2);
  });

  it('answers a query without an id with error 203', async () => {
    assertError(await raw.askRaw({ y: 'q', q: 'ping', a: {} }, node.local), KrpcErrorCode.Protocol);
  });

  it('answers a query whose id is not 20 bytes with error 203', async () => {
    assertError(await raw.askRaw({ y: 'q', q: 'ping', a: { id: new Uint8Array(19) } }, node.local), KrpcErrorCode.Protocol);
    assertError(await raw.askRaw({ y: 'q', q: 'ping', a: { id: new Uint8Array(21) } }, node.local), KrpcErrorCode.Protocol);
    assertError(await raw.askRaw({ y: 'q', q: 'ping', a: { id: 5 } }, node.local), KrpcErrorCode.Protocol);
  });

  it('answers an unknown method with error 204, echoing the transaction id', async () => {
    const t = raw.tid();
    const m = await raw.ask(encodeQuery(t, 'vote', { id: myId }), t, node.local);
    assertError(m, KrpcErrorCode.MethodUnknown);
    assert.deepEqual(m!.t, t);
  });

  it('answers find_node and get_peers without a valid target with error 203', async () => {
    assertError(await raw.askRaw({ y: 'q', q: 'find_node', a: { id: myId } }, node.local), KrpcErrorCode.Protocol);
    assertError(await raw.askRaw({ y: 'q', q: 'find_node', a: { id: myId, target: new Uint8Array(8) } }, node.local), KrpcErrorCode.Protocol);
    assertError(await raw.askRaw({ y: 'q', q: 'get_peers', a: { id: myId, info_hash: 'short' } }, node.local), KrpcErrorCode.Protocol);
  });

  it('answers announce_peer with a wrong or missing token with error 203, and stores nothing', async () => {
    const infoHash = randomId(seededRandom(8));
    assertError(await raw.askRaw({ y: 'q', q: 'announce_peer', a: { id: myId, info_hash: infoHash, port: 6881, token: 'notatoken' } }, node.local), KrpcErrorCode.Protocol);
    assertError(await raw.askRaw({ y: 'q', q: 'announce_peer', a: { id: myId, info_hash: infoHash, port: 6881 } }, node.local), KrpcErrorCode.Protocol);
    assertError(await raw.askRaw({ y: 'q', q: 'announce_peer', a: { id: myId, info_hash: infoHash, port: 0, token: 'x' } }, node.local), KrpcErrorCode.Protocol);
    assert.equal(node.stats().peers, 0);
  });

  it('stores an announce_peer with the token from get_peers; implied_port takes the source port', async () => {
    const infoHash = randomId(seededRandom(9));
    const got = await raw.askRaw({ y: 'q', q: 'get_peers', a: { id: myId, info_hash: infoHash } }, node.local);
    assert.ok(got !== undefined && got.y === 'r');
    const token = got.r.get('token');
    assert.ok(token instanceof Uint8Array);
    assert.equal(got.r.get('values'), undefined);
    const ok = await raw.askRaw({ y: 'q', q: 'announce_peer', a: { id: myId, info_hash: infoHash, port: 9, implied_port: 1, token } }, node.local);
    assert.equal(ok?.y, 'r');
    const again = await raw.askRaw({ y: 'q', q: 'get_peers', a: { id: myId, info_hash: infoHash } }, node.local);
    assert.ok(again !== undefined && again.y === 'r');
    const values = again.r.get('values');
    assert.ok(Array.isArray(values));
    assert.deepEqual(values.map((v) => decodeCompactPeer(v as Uint8Array)), [raw.local]);
  });

  it('drops most of a flood of 1000 queries from one address, then still answers a ping', async () => {
    const before = node.stats();
    const receivedBefore = raw.received;
    const started = performance.now();
    for (let i = 0; i < 1000; i++) {
      raw.send(encodeQuery(raw.tid(), 'ping', { id: myId }), node.local);
      // Batches of 20, a timer turn apart: libuv reads at most 32 datagrams per socket per loop turn, so
      // unpaced sends overflow the kernel's receive buffer and never reach the node at all.
      if (i % 20 === 19) await sleep(1);
    }
    const elapsed = (performance.now() - started) / 1000;
    const stats = (): { accepted: number; dropped: number } => ({
      accepted: node.stats().queriesReceived - before.queriesReceived,
      dropped: node.stats().dropped - before.dropped,
    });
    // Every datagram is either counted as a query or dropped (allow a few lost by the kernel).
    const deadline = Date.now() + WAIT_MS;
    while (stats().accepted + stats().dropped < 1000 && Date.now() < deadline) await sleep(10);
    const { accepted, dropped } = stats();
    assert.ok(accepted + dropped >= 990, `only ${accepted + dropped} of 1000 datagrams reached the node`);
    // The default rate: a burst of 100 (less what the earlier tests used), then 50 per second.
    assert.ok(accepted <= 100 + 50 * (elapsed + 0.5), `${accepted} accepted in ${elapsed.toFixed(2)} s`);
    assert.ok(dropped >= 800, `only ${dropped} dropped`);
    while (raw.received - receivedBefore < accepted && Date.now() < deadline) await sleep(10);
    assert.equal(raw.received - receivedBefore, accepted, 'every accepted query was answered, the others were not');
    // The bucket refills at 50 per second: a ping gets through again soon.
    await sleep(100);
    let m: KrpcMessage | undefined;
    for (let i = 0; i < 10 && m?.y !== 'r'; i++) m = await ping();
    assert.ok(m !== undefined && m.y === 'r');
    assert.deepEqual(m.r.get('id'), node.id);
  });
});
