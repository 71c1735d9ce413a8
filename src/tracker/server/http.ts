import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { plainHost } from '../compact.js';
import { TrackerError } from '../errors.js';
import { encodeAnnounceReply, encodeFailure, encodeScrapeReply, MAX_QUERY, parseAnnounce, parseScrape } from './http-codec.js';
import { statsPage } from './stats-page.js';
import type { Tracker, TrackerStats } from './tracker.js';

/*
 * The HTTP side of the tracker: routes a request to the announce, scrape and
 * stats handlers. Tracker protocol errors are answered the BEP 3 way, as a
 * 200 with a bencoded `failure reason`, which is what clients display.
 */

export interface HttpHandlerOptions {
  readonly allowIpParam?: boolean;
  readonly now: () => number;
  /** Told of an unexpected error (a bug); the request gets a 500 and the tracker goes on. */
  readonly onError: (e: unknown) => void;
  /** Extra figures for /stats and the page (announces per second, uptime). */
  readonly extraStats: () => { announcesPerSecond: number; uptimeSeconds: number };
}

export type LiveStats = TrackerStats & { announcesPerSecond: number; uptimeSeconds: number };

export function httpHandler(tracker: Tracker, options: HttpHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const send = (res: ServerResponse, status: number, type: string, body: Uint8Array | string): void => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(body);
  };
  const bencoded = (res: ServerResponse, body: Uint8Array): void => send(res, 200, 'text/plain', body);

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q + 1);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'only GET\n');
    if (query.length > MAX_QUERY) return bencoded(res, encodeFailure('query string too long'));
    try {
      if (path === '/announce') {
        const a = parseAnnounce(query);
        const remote = plainHost(req.socket.remoteAddress ?? '');
        const host = options.allowIpParam === true && a.ip !== undefined && isIP(a.ip) !== 0 ? a.ip : remote;
        const reply = tracker.announce(
          { infoHash: a.infoHash, peerId: a.peerId, host, port: a.port, left: a.left ?? -1n /* unknown: not a seeder */, event: a.event, numWant: a.numWant, wantPeerIds: !a.compact && !a.noPeerId },
          options.now(),
        );
        return bencoded(res, encodeAnnounceReply(reply, a.compact, a.noPeerId));
      }
      if (path === '/scrape') return bencoded(res, encodeScrapeReply(tracker.scrape(parseScrape(query))));
      if (path === '/stats') return send(res, 200, 'application/json', `${JSON.stringify(live(tracker, options))}\n`);
      if (path === '/') return send(res, 200, 'text/html; charset=utf-8', statsPage(live(tracker, options)));
      return send(res, 404, 'text/plain', 'not found: this is a BitTorrent tracker (/announce, /scrape, /stats)\n');
    } catch (e) {
      if (e instanceof TrackerError) return bencoded(res, encodeFailure(e.message));
      // A bug must cost one request, not the tracker everyone else is using.
      options.onError(e);
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    }
  };
}

function live(tracker: Tracker, options: HttpHandlerOptions): LiveStats {
  return { ...tracker.stats(), ...options.extraStats() };
}
