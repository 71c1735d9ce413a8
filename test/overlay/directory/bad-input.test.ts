import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Socket } from 'node:net';
import { FrameDecoder, encodeFrame, OverlayError, parseQuery } from '../../../src/overlay/index.js';
import type { Endpoint } from '../../../src/net/index.js';
import { DirectoryClient, DirectoryServer, directoryCodec, type DirectoryMessage } from '../../../src/overlay/directory/index.js';
import { closed, rawConnect, until } from './helpers.js';

/*
 * Hostile and broken peers on a real socket: garbage, an oversized frame
 * length, an unknown message type, messages only the server may send, a
 * registration of 20,000 files (in one frame, and chunked as the limits
 * allow). Each loses its own connection (a refusal is explained with an
 * error message first); the registered peer stays listed and a searcher
 * keeps getting answers.
 */

const HASH = Buffer.alloc(20, 0xab);

function fileDicts(n: number): { h: Uint8Array; n: string; s: number }[] {
  return Array.from({ length: n }, (_, i) => ({ h: Buffer.from(i.toString(16).padStart(40, '0'), 'hex'), n: `f${i}.bin`, s: i }));
}

/** Everything the server sent on `s` until it closed the connection. */
async function repliesUntilClosed(s: Socket): Promise<DirectoryMessage[]> {
  const decoder = new FrameDecoder();
  const out: DirectoryMessage[] = [];
  s.on('data', (chunk) => out.push(...decoder.push(new Uint8Array(chunk)).map((d) => directoryCodec.decode(d))));
  await closed(s);
  return out;
}

describe('directory server under bad input', () => {
  let server: DirectoryServer;
  let address: Endpoint;
  let peer: DirectoryClient;
  const drops: string[] = [];

  before(async () => {
    server = new DirectoryServer({ onDrop: (_remote, why) => drops.push(why) });
    address = await server.listen('127.0.0.1', 0);
    peer = await DirectoryClient.connect(address);
    await peer.register([{ hash: HASH.toString('hex'), name: 'good song.mp3', size: 10 }], 6699);
  });

  after(async () => {
    await peer.close();
    await server.close();
  });

  /** The well-behaved peer is still listed, and a new searcher gets it. */
  async function stillServing(): Promise<void> {
    const c = await DirectoryClient.connect(address);
    try {
      const found = await c.search(parseQuery('good song'));
      assert.deepEqual(found, [{ hash: HASH.toString('hex'), name: 'good song.mp3', size: 10, address: { host: '127.0.0.1', port: 6699 } }]);
      assert.equal(await peer.ping(), undefined);
    } finally {
      await c.close();
    }
  }

  it('drops a peer that sends garbage', async () => {
    const raw = await rawConnect(address);
    const replies = repliesUntilClosed(raw);
    raw.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    assert.deepEqual(await replies, []);
    assert.match(drops.at(-1)!, /frame of \d+ bytes exceeds/);
    await stillServing();
  });

  it('drops a peer whose frame is not bencode, and one whose frame is not a dictionary', async () => {
    for (const body of ['not bencode at all', 'i42e']) {
      const raw = await rawConnect(address);
      const frame = Buffer.alloc(4 + body.length);
      frame.writeUInt32BE(body.length);
      frame.write(body, 4);
      raw.write(frame);
      await closed(raw);
    }
    assert.match(drops.at(-1)!, /not a dictionary/);
    await stillServing();
  });

  it('drops a peer that announces an oversized frame, before reading its body', async () => {
    const raw = await rawConnect(address);
    raw.write(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1, 2, 3));
    await closed(raw);
    assert.match(drops.at(-1)!, /frame of 4294967295 bytes exceeds the 262144-byte limit/);
    await stillServing();
  });

  it('drops a peer that sends an unknown message type, or a message only the server sends', async () => {
    let raw = await rawConnect(address);
    raw.write(encodeFrame({ t: 'hello', v: 1 }));
    await closed(raw);
    assert.match(drops.at(-1)!, /unknown type "hello"/);
    raw = await rawConnect(address);
    raw.write(encodeFrame({ t: 'results', i: 1, r: [], x: 0 }));
    await closed(raw);
    assert.match(drops.at(-1)!, /sent a results message, which only the server sends/);
    await stillServing();
  });

  it('drops a peer that registers 20,000 files in one frame', async () => {
    const raw = await rawConnect(address);
    raw.write(encodeFrame({ t: 'register', p: 7000, f: fileDicts(20_000) }));
    await closed(raw);
    assert.match(drops.at(-1)!, /exceeds the 262144-byte limit|at most 1000/);
    await stillServing();
  });

  it('refuses a chunked registration of 20,000 files with an error, and lists none of them', async () => {
    const raw = await rawConnect(address);
    const replies = repliesUntilClosed(raw);
    const all = fileDicts(20_000);
    raw.write(encodeFrame({ t: 'register', p: 7000, f: all.slice(0, 1000) }));
    for (let i = 1000; i < all.length; i += 1000) raw.write(encodeFrame({ t: 'add', f: all.slice(i, i + 1000) }));
    const got = await replies;
    assert.deepEqual(got, [{ type: 'error', reason: 'a peer may register at most 10000 files' }]);
    assert.equal(server.stats().files, 1);
    assert.equal(server.stats().peers, 1);
    await stillServing();
  });

  it('rejects a DirectoryClient registration over the cap with the server\'s reason', async () => {
    const small = new DirectoryServer({ maxFilesPerPeer: 50 });
    const at = await small.listen('127.0.0.1', 0);
    try {
      const c = await DirectoryClient.connect(at);
      const files = Array.from({ length: 51 }, (_, i) => ({ hash: i.toString(16).padStart(40, '0'), name: `n${i}`, size: 1 }));
      await assert.rejects(c.register(files, 9000), (e: unknown) => e instanceof OverlayError && e.code === 'closed' && /refused: a peer may register at most 50 files/.test(e.message));
      assert.equal(small.stats().files, 0);
    } finally {
      await small.close();
    }
  });

  it('refuses add before register', async () => {
    const raw = await rawConnect(address);
    const replies = repliesUntilClosed(raw);
    raw.write(encodeFrame({ t: 'add', f: fileDicts(1) }));
    assert.deepEqual(await replies, [{ type: 'error', reason: 'add before register' }]);
    await stillServing();
  });

  it('refuses connections and registrations over its caps, with a reason', async () => {
    const tiny = new DirectoryServer({ maxPeers: 1, maxConnections: 2 });
    const at = await tiny.listen('127.0.0.1', 0);
    try {
      const a = await DirectoryClient.connect(at);
      await a.register([], 1000);
      const b = await DirectoryClient.connect(at);
      await assert.rejects(b.register([], 1001), /refused: the directory is full \(1 peers\)/);
      await until(() => tiny.stats().connections === 1, 'the refused peer to be gone');
      const c = await DirectoryClient.connect(at);
      await c.ping();
      const d = await rawConnect(at);
      assert.deepEqual(await repliesUntilClosed(d), [{ type: 'error', reason: 'the directory server is full (2 connections)' }]);
      assert.equal((await c.search(parseQuery('x'))).length, 0);
      await a.close();
      await c.close();
    } finally {
      await tiny.close();
    }
  });

  it('counted every message it received, including on dropped connections', () => {
    const s = server.stats();
    assert.ok(s.messagesIn > 0 && s.messagesOut > 0);
  });
});
