import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { tcpTransport, type Endpoint } from '../../../src/net/index.js';
import { FrameDecoder, parseQuery, type SharedFile } from '../../../src/overlay/index.js';
import { superPeerCodec, SuperPeerLeader, SuperPeerMember, type SuperPeerMemberEvent } from '../../../src/overlay/superpeer/index.js';
import { HOST, searchUntil, until } from './helpers.js';

/*
 * A member's side of losing its leader: a leader that welcomes it and then
 * stops answering is dropped after the ping timeout and the member moves to
 * a leader from the list it was given; a member whose only leader dies keeps
 * trying on its retry interval and attaches when a leader is back at that
 * address, uploading its index again; attach with nobody to ask rejects.
 */

const quiet = { announceMs: 600_000, pingMs: 600_000 };
const song: SharedFile = { hash: 'a'.repeat(40), name: 'come back song.flac', size: 99 };

/**
 * A "leader" that welcomes every join, lists `others` as leaders, then never says anything again;
 * with `redirectTo`, it sends a redirect there in the same write as the welcome (one TCP chunk).
 */
async function silentLeader(others: readonly Endpoint[], redirectTo?: readonly Endpoint[]): Promise<{ server: Server; at: Endpoint; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    const decoder = new FrameDecoder();
    s.on('error', () => undefined);
    s.on('data', (chunk) => {
      for (const d of decoder.push(chunk)) {
        if (superPeerCodec.decode(d).t !== 'join') continue;
        const welcome = superPeerCodec.encode({ t: 'welcome', maxFiles: 100, leaders: others.map((address) => ({ address, members: 0, maxMembers: 10 })) });
        s.write(redirectTo === undefined ? welcome : Buffer.concat([welcome, superPeerCodec.encode({ t: 'redirect', leaders: redirectTo })]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return { server, at: { host: HOST, port: (server.address() as { port: number }).port }, sockets };
}

describe('superpeer member re-attaching', () => {
  const closers: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });

  it('drops a leader that stops answering pings and moves to another it was told of', async () => {
    const real = new SuperPeerLeader({ transport: tcpTransport, ...quiet });
    closers.push(() => real.close());
    const realAt = await real.listen(HOST, 0);
    const silent = await silentLeader([realAt]);
    closers.push(() => {
      for (const s of silent.sockets) s.destroy();
      silent.server.close();
    });
    const events: SuperPeerMemberEvent[] = [];
    const m = new SuperPeerMember({ transport: tcpTransport, files: [song], filesPort: 5555, pingMs: 40, retryMs: 50, onEvent: (e) => events.push(e) });
    closers.push(() => m.close());
    assert.deepEqual(await m.attach([silent.at]), silent.at);
    await until(() => m.leader()?.port === realAt.port, 'the member moved to the real leader');
    assert.deepEqual(
      events.map((e) => [e.kind, e.leader?.port]),
      [
        ['attached', silent.at.port],
        ['lost-leader', silent.at.port],
        ['attached', realAt.port],
      ],
    );
    assert.ok(m.stats().sent.ping! >= 1, 'it pinged the silent leader first');
    assert.equal(real.stats().files, 1);
  });

  it('keeps retrying while no leader answers, and uploads its index again when one is back', async () => {
    const first = new SuperPeerLeader({ transport: tcpTransport, ...quiet });
    const at = await first.listen(HOST, 0);
    const events: SuperPeerMemberEvent[] = [];
    const m = new SuperPeerMember({ transport: tcpTransport, files: [song], filesPort: 5556, pingMs: 600_000, retryMs: 30, onEvent: (e) => events.push(e) });
    closers.push(() => m.close());
    await m.attach([at]);
    await first.close();
    await until(() => events.some((e) => e.kind === 'lost-leader'), 'the member noticed');
    assert.equal(m.leader(), undefined);
    await assert.rejects(m.search(parseQuery('song'), { ttl: 1, waitMs: 10 }), { name: 'OverlayError', code: 'unreachable' });

    const second = new SuperPeerLeader({ transport: tcpTransport, ...quiet });
    closers.push(() => second.close());
    await second.listen(HOST, at.port);
    await until(() => m.leader()?.port === at.port, 'the member is back', 10_000);
    await until(() => second.stats().files === 1, 'its file is indexed again');
    const hits = await searchUntil((q, o) => m.search(q, o), parseQuery('come back'), 1, (h) => h.length > 0);
    assert.deepEqual(
      hits.map((h) => h.source),
      [{ ...song, address: { host: HOST, port: 5556 } }],
    );
  });

  it('follows a redirect that comes with the welcome while it is re-attaching', async () => {
    const real = new SuperPeerLeader({ transport: tcpTransport, ...quiet });
    closers.push(() => real.close());
    const realAt = await real.listen(HOST, 0);
    // Welcomes and, in the same chunk, sends the member on to the real leader.
    const fickle = await silentLeader([], [realAt]);
    const first = await silentLeader([fickle.at]);
    for (const l of [fickle, first]) {
      closers.push(() => {
        for (const s of l.sockets) s.destroy();
        l.server.close();
      });
    }
    const events: SuperPeerMemberEvent[] = [];
    const m = new SuperPeerMember({ transport: tcpTransport, files: [song], filesPort: 5557, pingMs: 600_000, retryMs: 50, onEvent: (e) => events.push(e) });
    closers.push(() => m.close());
    await m.attach([first.at]);
    // The first leader goes: the member re-attaches to the fickle one, which redirects it at once.
    for (const s of first.sockets) s.destroy();
    await until(() => m.leader()?.port === realAt.port, 'the member followed the redirect to the real leader', 3_000);
    assert.deepEqual(
      events.map((e) => [e.kind, e.leader?.port]),
      [
        ['attached', first.at.port],
        ['lost-leader', first.at.port],
        ['attached', fickle.at.port],
        ['redirected', fickle.at.port],
        ['attached', realAt.port],
      ],
    );
    await until(() => real.stats().files === 1, 'its file is indexed at the real leader');
  });

  it('rejects attach with an unreachable error when no leader answers', async () => {
    const m = new SuperPeerMember({ transport: tcpTransport, pingMs: 600_000, connectTimeoutMs: 1_000 });
    closers.push(() => m.close());
    await assert.rejects(m.attach([{ host: HOST, port: 1 }]), (e: unknown) => e instanceof Error && e.name === 'OverlayError' && (e as { code?: string }).code === 'unreachable' && /127\.0\.0\.1:1/.test(e.message));
  });
});
