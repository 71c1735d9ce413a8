import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SessionView, TorrentSummary } from '../../src/web/index.js';
import { json, request, startDaemon, type RunningDaemon } from './daemon.js';

/*
 * The live events (server-sent events on /api/events), and what happens to
 * the daemon when browsers go away in the middle of a stream: nothing.
 */

let dir: string;
let d: RunningDaemon;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peerkit-web-events-'));
  d = await startDaemon(dir);
});
after(async () => {
  await d.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Open the stream; resolves with the response once the headers are in. */
function openStream(path = '/api/events', method = 'GET'): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: d.port, path, method, headers: { Authorization: `Bearer ${d.token}`, Accept: 'text/event-stream' } }, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** The names of the frames that arrive until `count` frames named `until` have. */
function eventsUntil(res: IncomingMessage, until: string, count: number): Promise<string[]> {
  return new Promise((resolve) => {
    let buffer = '';
    const names: string[] = [];
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString('utf8');
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const name = /^event: (.*)$/m.exec(buffer.slice(0, end))?.[1];
        buffer = buffer.slice(end + 2);
        if (name === undefined) continue;
        names.push(name);
        if (names.filter((n) => n === until).length === count) {
          res.off('data', onData);
          resolve(names);
          return;
        }
      }
    };
    res.on('data', onData);
  });
}

/** Read frames until one named `event` arrives; returns its data. */
function nextEvent<T>(res: IncomingMessage, event: string): Promise<T> {
  return new Promise((resolve) => {
    let buffer = '';
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString('utf8');
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end < 0) return;
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const name = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (name === event && data !== undefined) {
          res.off('data', onData);
          resolve(JSON.parse(data) as T);
          return;
        }
      }
    };
    res.on('data', onData);
  });
}

describe('peerkit daemon: live events', () => {
  it('streams the torrent list and the totals as server-sent events', async () => {
    const res = await openStream();
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    const list = await nextEvent<TorrentSummary[]>(res, 'torrents');
    assert.deepEqual(list, []);
    const session = await nextEvent<SessionView>(res, 'session');
    assert.equal(session.torrents, 0);
    res.destroy();
  });

  it('following a torrent that is not there is a 404 at once, not a silent stream', async () => {
    const res = await openStream(`/api/events?torrent=${'d'.repeat(40)}`);
    assert.equal(res.statusCode, 404);
    res.resume();
  });

  it('tells a page that follows a torrent once that it was removed, then goes on with the list', async () => {
    const hash = 'e'.repeat(40);
    assert.equal((await json(d, 'POST', '/api/torrents', { magnet: `magnet:?xt=urn:btih:${hash}&tr=http%3A%2F%2F127.0.0.1%3A9%2Fannounce` })).status, 201);
    const res = await openStream(`/api/events?torrent=${hash}`);
    await nextEvent(res, 'torrent');
    assert.equal((await request(d, 'DELETE', `/api/torrents/${hash}`)).status, 200);
    const removed = await nextEvent<{ infoHash: string }>(res, 'removed');
    assert.equal(removed.infoHash, hash);
    const after = await eventsUntil(res, 'torrents', 3);
    assert.deepEqual(after.filter((n) => n === 'removed' || n === 'torrent'), [], 'nothing more about it');
    res.destroy();
  });

  it('HEAD /api/events answers with the headers, not a stream without end', { timeout: 10_000 }, async () => {
    const res = await openStream('/api/events', 'HEAD');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    await new Promise<void>((resolve) => res.on('end', resolve).resume());
  });

  it('keeps running when clients vanish mid-stream or stop reading', async () => {
    // One that hangs up in the middle of a stream, after a frame.
    const gone = await openStream();
    await nextEvent(gone, 'torrents');
    gone.socket.destroy();
    // One that hangs up before reading anything.
    const early = await openStream();
    early.destroy();
    // An upload cut short: half a body, then gone.
    await new Promise<void>((resolve) => {
      const cut = connect(d.port, '127.0.0.1', () => {
        cut.write(`POST /api/torrents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${d.token}\r\nContent-Type: application/x-bittorrent\r\nContent-Length: 5000\r\n\r\nd8:announce`, () => setTimeout(() => cut.destroy(), 100));
      });
      cut.on('close', () => resolve());
    });
    // One that never reads again: its frames pile up in the kernel, then are skipped.
    const stuck = await openStream();
    stuck.pause();
    // Several frames go out to the gone and the stuck while the daemon serves others.
    const watcher = await openStream();
    for (let i = 0; i < 3; i++) await nextEvent(watcher, 'torrents');
    const r = await request(d, 'GET', '/api/torrents');
    assert.equal(r.status, 200);
    assert.equal(d.child.exitCode, null, 'the daemon is still running');
    assert.doesNotMatch(d.stderr(), /error/i);
    watcher.destroy();
    stuck.destroy();
  });

  it('stops cleanly on SIGTERM with streams open: exit 0, having said so', async () => {
    const open = await openStream();
    await nextEvent(open, 'torrents');
    const ended = new Promise<void>((resolve) => open.on('close', () => resolve()));
    assert.equal(await d.stop(), 0);
    await ended;
    assert.match(d.stdout(), /\nstopped\n$/);
    d = await startDaemon(dir); // for after()
  });
});
