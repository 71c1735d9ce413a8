import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DhtError } from '../../src/dht/errors.js';
import { decodeKrpc, encodeError, encodeQuery, encodeResponse, type KrpcMessage } from '../../src/dht/krpc.js';
import { DEFAULT_QUERY_RATE, DEFAULT_QUERY_TIMEOUT_MS, Rpc, type QueryMessage } from '../../src/dht/rpc.js';
import { ManualClock, type DatagramSocket, type Endpoint } from '../../src/net/index.js';

/* The KRPC transport on a recording socket and a manual clock. */

function setup(options: { readonly queryRate?: number } = {}) {
  let deliver: (data: Uint8Array, from: Endpoint) => void = () => undefined;
  const sent: { msg: KrpcMessage; to: Endpoint }[] = [];
  const socket: DatagramSocket = {
    local: { host: '198.51.100.1', port: 6881 },
    send: (data, to) => void sent.push({ msg: decodeKrpc(data), to }),
    onMessage: (h) => void (deliver = h),
    close: () => undefined,
  };
  const clock = new ManualClock();
  const queries: { msg: QueryMessage; from: Endpoint }[] = [];
  const rpc = new Rpc(socket, clock, (msg, from) => queries.push({ msg, from }), options);
  return { rpc, clock, sent, queries, deliver: (data: Uint8Array, from: Endpoint) => deliver(data, from) };
}

const peer = { host: '203.0.113.5', port: 6881 };
const id = new Uint8Array(20).fill(7);

describe('Rpc', () => {
  it('sends a query and resolves with the reply from the address it went to', async () => {
    const { rpc, sent, deliver } = setup();
    const p = rpc.query(peer, 'ping', { id });
    assert.equal(sent.length, 1);
    const q = sent[0]!.msg;
    assert.equal(q.y, 'q');
    assert.deepEqual(sent[0]!.to, peer);
    // A reply with the right transaction id from another address is not the answer.
    deliver(encodeResponse(q.t, { id: new Uint8Array(20) }), { host: '203.0.113.6', port: 6881 });
    deliver(encodeResponse(q.t, { id: new Uint8Array(20) }), { ...peer, port: 6882 });
    assert.equal(rpc.stats.dropped, 2);
    deliver(encodeResponse(q.t, { id }, { host: '198.51.100.1', port: 6881 }), peer);
    const reply = await p;
    assert.deepEqual(reply.r.get('id'), id);
    assert.deepEqual(reply.ip, { host: '198.51.100.1', port: 6881 });
    assert.equal(rpc.stats.repliesReceived, 1);
  });

  it('a second reply to the same transaction is dropped', async () => {
    const { rpc, sent, deliver } = setup();
    const p = rpc.query(peer, 'ping', { id });
    const t = sent[0]!.msg.t;
    deliver(encodeResponse(t, { id }), peer);
    deliver(encodeResponse(t, { id }), peer);
    await p;
    assert.equal(rpc.stats.dropped, 1);
  });

  it('rejects with DhtError(timeout) after the timeout, on the injected clock', async () => {
    const { rpc, clock } = setup();
    const p = rpc.query(peer, 'ping', { id });
    clock.advance(DEFAULT_QUERY_TIMEOUT_MS - 1);
    let settled = false;
    void p.catch(() => (settled = true));
    await Promise.resolve();
    assert.ok(!settled);
    clock.advance(1);
    await assert.rejects(p, (e) => e instanceof DhtError && e.code === 'timeout');
    assert.equal(rpc.stats.timeouts, 1);
  });

  it('rejects with DhtError(remote-error) and the code on a KRPC error', async () => {
    const { rpc, sent, deliver } = setup();
    const p = rpc.query(peer, 'announce_peer', { id });
    deliver(encodeError(sent[0]!.msg.t, 203, 'bad token'), peer);
    await assert.rejects(p, (e) => e instanceof DhtError && e.code === 'remote-error' && e.remoteCode === 203);
  });

  it('close rejects what is pending with DhtError(closed), and later queries too', async () => {
    const { rpc } = setup();
    const p = rpc.query(peer, 'ping', { id });
    rpc.close();
    await assert.rejects(p, (e) => e instanceof DhtError && e.code === 'closed');
    await assert.rejects(rpc.query(peer, 'ping', { id }), (e) => e instanceof DhtError && e.code === 'closed');
  });

  it('hands queries to the node, and answers with `ip` = the requester', () => {
    const { rpc, sent, queries, deliver } = setup();
    deliver(encodeQuery(Uint8Array.of(1, 2), 'ping', { id }), peer);
    assert.equal(queries.length, 1);
    assert.equal(queries[0]!.msg.q, 'ping');
    rpc.respond(peer, queries[0]!.msg.t, { id });
    assert.deepEqual(sent[0]!.msg, { y: 'r', t: Uint8Array.of(1, 2), r: new Map([['id', id]]), ip: peer });
  });

  it(`accepts a burst of ${2 * DEFAULT_QUERY_RATE} queries from one address, then ${DEFAULT_QUERY_RATE} per second`, () => {
    const { rpc, clock, queries, deliver } = setup();
    const q = encodeQuery(Uint8Array.of(1), 'ping', { id });
    for (let i = 0; i < 500; i++) deliver(q, peer);
    assert.equal(queries.length, 2 * DEFAULT_QUERY_RATE);
    assert.equal(rpc.stats.dropped, 500 - 2 * DEFAULT_QUERY_RATE);
    // Another address has its own bucket.
    deliver(q, { host: '203.0.113.99', port: 1 });
    assert.equal(queries.length, 2 * DEFAULT_QUERY_RATE + 1);
    clock.advance(1000);
    for (let i = 0; i < 500; i++) deliver(q, peer);
    assert.equal(queries.length, 3 * DEFAULT_QUERY_RATE + 1);
  });

  it('queryRate Infinity accepts everything', () => {
    const { queries, deliver } = setup({ queryRate: Infinity });
    for (let i = 0; i < 1000; i++) deliver(encodeQuery(Uint8Array.of(1), 'ping', { id }), peer);
    assert.equal(queries.length, 1000);
  });
});
