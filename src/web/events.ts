import type { ServerResponse } from 'node:http';
import type { EventMap } from './api-types.js';

/*
 * Live updates by server-sent events (the EventSource API):
 *
 *   event: torrents\ndata: [...]\n\n      the list, once a second
 *   event: session\ndata: {...}\n\n       totals, once a second
 *   event: torrent\ndata: {...}\n\n       one torrent's details and peers,
 *                                         to clients that asked for it
 *                                         (/api/events?torrent=<hash>)
 *   event: lab\ndata: {...}\n\n           the experiment, as it runs
 *   : ping\n\n                            a comment, keeps proxies awake
 *
 * (api-types.ts, EventMap, has the shapes.)
 *
 * A client that disconnects is dropped when its response closes; one that
 * does not read (its socket buffer is full) misses frames rather than
 * making the daemon buffer for it without bound, and is hung up on once it
 * has missed MAX_MISSED in a row (some 15 s of frames): a browser tab that
 * is really there reads, and EventSource reconnects by itself.
 */

/** Frames in a row a client may miss before it is hung up on. */
export const MAX_MISSED = 30;

export interface EventClient {
  readonly res: ServerResponse;
  /** The torrent whose details it follows, if any (none once it is removed). */
  torrent: string | undefined;
  /** Frames missed in a row because it did not read. */
  missed: number;
}

export class EventHub {
  private readonly clients = new Set<EventClient>();

  get size(): number {
    return this.clients.size;
  }

  add(res: ServerResponse, torrent: string | undefined): EventClient {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Content-Type-Options': 'nosniff',
    });
    res.write('retry: 2000\n\n');
    const client: EventClient = { res, torrent, missed: 0 };
    this.clients.add(client);
    const drop = (): void => void this.clients.delete(client);
    res.on('close', drop);
    res.on('error', drop);
    return client;
  }

  /** End one client's stream. */
  remove(client: EventClient): void {
    this.clients.delete(client);
    client.res.end();
  }

  /** The torrents followed by at least one client. */
  followed(): Set<string> {
    const out = new Set<string>();
    for (const c of this.clients) if (c.torrent !== undefined) out.add(c.torrent);
    return out;
  }

  /** `torrent` is gone: its followers have been told (`removed`) and follow nothing from now on. */
  unfollow(torrent: string): void {
    for (const c of this.clients) if (c.torrent === torrent) c.torrent = undefined;
  }

  broadcast<K extends keyof EventMap>(event: K, data: EventMap[K], only?: (c: EventClient) => boolean): void {
    if (this.clients.size === 0) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const c of this.clients) {
      if (only !== undefined && !only(c)) continue;
      send(c, frame);
    }
  }

  ping(): void {
    for (const c of this.clients) send(c, ': ping\n\n');
  }

  close(): void {
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }
}

function send(c: EventClient, frame: string): void {
  const { res } = c;
  if (res.destroyed || res.writableEnded) return;
  // A slow reader misses frames; the next one carries the whole state anyway. One that never reads is let go.
  if (res.writableNeedDrain) {
    if (++c.missed >= MAX_MISSED) res.destroy();
    return;
  }
  c.missed = 0;
  res.write(frame);
}
