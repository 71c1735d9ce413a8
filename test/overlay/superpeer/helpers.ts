import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Endpoint } from '../../../src/net/index.js';
import { FrameDecoder, scanShared, serveFiles, type FileServer, type LocalFile, type Query, type Source } from '../../../src/overlay/index.js';
import { superPeerCodec, type SearchHit, type SearchOptions, type SearchResult, type SuperPeerMessage } from '../../../src/overlay/superpeer/index.js';

/*
 * Helpers for the super-peer tests on real loopback sockets: temp folders
 * of real shared files with their HTTP servers, waiting for a condition,
 * searching until the expected answers arrive, a free port for a member
 * that may be promoted, and a raw socket that speaks (or mangles) the wire
 * format by hand.
 */

export const HOST = '127.0.0.1';

/** Poll `condition` until it holds; fail with `what` after `ms`. */
export async function until(condition: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > end) assert.fail(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

/** A port nobody listens on right now (for a member's capable address). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, HOST, resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface Shared {
  readonly files: LocalFile[];
  readonly server: FileServer;
  readonly dir: string;
  close(): Promise<void>;
}

/** Write `contents` (name -> text) into a temp folder, scan it and serve it on 127.0.0.1. */
export async function shareFiles(contents: Record<string, string>): Promise<Shared> {
  const dir = await mkdtemp(join(tmpdir(), 'peerkit-sp-'));
  for (const [name, text] of Object.entries(contents)) await writeFile(join(dir, name), text);
  const files = await scanShared([dir]);
  const server = await serveFiles(files, HOST, 0);
  return {
    files,
    server,
    dir,
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Search with `search` until `done(hits)` holds (or `waitMs` passes); all the hits. */
export async function searchUntil(
  search: (q: Query, o: SearchOptions) => Promise<SearchResult>,
  query: Query,
  ttl: number,
  done: (hits: readonly SearchHit[]) => boolean,
  waitMs = 3_000,
): Promise<SearchHit[]> {
  const stop = new AbortController();
  const seen: SearchHit[] = [];
  const onHit = (source: Source, hops: number): void => {
    seen.push({ source, hops });
    if (done(seen)) stop.abort();
  };
  return (await search(query, { ttl, waitMs, signal: stop.signal, onHit })).hits;
}

/** A raw TCP client for the leader's port: sends what it is told, decodes what comes back. */
export class RawPeer {
  readonly received: SuperPeerMessage[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder();

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk) => {
      try {
        for (const d of this.decoder.push(chunk)) this.received.push(superPeerCodec.decode(d));
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => (this.closed = true));
  }

  static async open(to: Endpoint): Promise<RawPeer> {
    const socket = connect(to.port, to.host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawPeer(socket);
  }

  get port(): number {
    return this.socket.localPort ?? 0;
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  send(m: SuperPeerMessage): void {
    this.write(superPeerCodec.encode(m));
  }

  /** The first message received (from `from` on) that `pick` accepts. */
  async next<T extends SuperPeerMessage>(pick: (m: SuperPeerMessage) => m is T, what: string, from = 0): Promise<T> {
    let found: T | undefined;
    await until(() => (found = this.received.slice(from).find(pick)) !== undefined, what);
    return found!;
  }

  /** A ping, answered: everything the leader sent before the pong has arrived. */
  async barrier(): Promise<void> {
    const from = this.received.length;
    this.send({ t: 'ping' });
    await this.next((m): m is Extract<SuperPeerMessage, { t: 'pong' }> => m.t === 'pong', 'a pong', from);
  }

  close(): void {
    this.socket.destroy();
  }
}
