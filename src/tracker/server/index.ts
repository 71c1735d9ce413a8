import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bindUdp, realClock, systemRandom, type Clock, type DatagramSocket, type Random } from '../../net/index.js';
import { httpHandler } from './http.js';
import { Tracker, type TrackerOptions } from './tracker.js';
import { UdpTrackerHandler } from './udp.js';

/*
 * A running tracker: the Tracker core behind an HTTP server and a UDP socket,
 * with the clock that expires peers and measures the announce rate.
 */

export { Tracker, type Announce, type AnnounceReply, type TrackerOptions, type TrackerStats } from './tracker.js';
export { UdpTrackerHandler } from './udp.js';
export { encodeAnnounceReply, encodeFailure, encodeScrapeReply, parseAnnounce, parseQuery, parseScrape, percentDecode } from './http-codec.js';
export { Swarm } from './swarm.js';

export interface TrackerServerOptions extends TrackerOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** TCP port for HTTP; 0 picks a free one; null turns HTTP off. @default 8000 */
  readonly httpPort?: number | null | undefined;
  /** UDP port; 0 picks a free one; null turns UDP off. @default 8000 */
  readonly udpPort?: number | null | undefined;
  /** Trust the `ip` parameter of announces (only behind a proxy you run). @default false */
  readonly allowIpParam?: boolean;
  readonly clock?: Clock;
  readonly random?: Random;
  /**
   * Told of an unexpected error while handling a request (a bug, not bad
   * input: that gets a failure reply). The request is answered with an error
   * or dropped, and the tracker goes on. @default one line on stderr
   */
  readonly onError?: (e: unknown) => void;
}

export interface TrackerServer {
  readonly tracker: Tracker;
  /** The announce URLs, e.g. `http://127.0.0.1:8000/announce` and `udp://127.0.0.1:8000`. */
  readonly httpUrl: string | undefined;
  readonly udpUrl: string | undefined;
  close(): Promise<void>;
}

const EXPIRE_EVERY_MS = 60_000;
const RATE_WINDOW_MS = 10_000;

export async function startTrackerServer(options: TrackerServerOptions = {}): Promise<TrackerServer> {
  const clock = options.clock ?? realClock;
  const tracker = new Tracker(options.random ?? systemRandom(), options);
  const host = options.host ?? '127.0.0.1';
  const started = clock.now();
  const onError = options.onError ?? ((e: unknown) => process.stderr.write(`peerkit tracker: internal error: ${e instanceof Error ? e.message : String(e)}\n`));

  // Announce rate over the last RATE_WINDOW_MS, from two samples of the counter.
  let sample = { at: started, announces: 0 };
  let rate = 0;
  const tick = (): void => {
    const now = clock.now();
    const { announces } = tracker.stats();
    rate = ((announces - sample.announces) * 1000) / Math.max(1, now - sample.at);
    sample = { at: now, announces };
    timers.rate = clock.setTimer(RATE_WINDOW_MS, tick);
  };
  const expire = (): void => {
    tracker.expire(clock.now());
    timers.expire = clock.setTimer(EXPIRE_EVERY_MS, expire);
  };
  const timers = { rate: clock.setTimer(RATE_WINDOW_MS, tick), expire: clock.setTimer(EXPIRE_EVERY_MS, expire) };

  let http: Server | undefined;
  let httpUrl: string | undefined;
  if (options.httpPort !== null) {
    http = createServer(
      {
        maxHeaderSize: 16 * 1024,
        requestTimeout: 10_000,
        headersTimeout: 10_000,
        // Idle and half-sent connections are closed within seconds, not Node's
        // default 30 s sweep, so slow clients cannot hold the descriptors.
        keepAliveTimeout: 5_000,
        connectionsCheckingInterval: 1_000,
      },
      httpHandler(tracker, {
        now: () => clock.now(),
        onError,
        allowIpParam: options.allowIpParam === true,
        extraStats: () => ({ announcesPerSecond: rate, uptimeSeconds: Math.floor((clock.now() - started) / 1000) }),
      }),
    );
    // A client that sends garbage or vanishes mid-request loses its own connection, nothing more.
    http.on('clientError', (_e, socket) => socket.destroy());
    const server = http;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.httpPort ?? 8000, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    httpUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}/announce`;
  }

  let udp: DatagramSocket | undefined;
  let udpUrl: string | undefined;
  if (options.udpPort !== null) {
    // A large receive buffer rides out bursts instead of dropping announces.
    const socket = await bindUdp(host, options.udpPort ?? 8000, { receiveBuffer: 4 * 1024 * 1024 }).catch((e: unknown) => {
      // A failed start must not leave the HTTP side listening (which keeps the process alive).
      timers.rate.cancel();
      timers.expire.cancel();
      http?.close();
      throw e;
    });
    const handler = new UdpTrackerHandler(tracker, { allowIpParam: options.allowIpParam === true, secret: randomBytes(32) });
    socket.onMessage((packet, from) => {
      try {
        const reply = handler.handle(packet, from, clock.now());
        if (reply !== undefined) socket.send(reply, from);
      } catch (e) {
        onError(e);
      }
    });
    udp = socket;
    udpUrl = `udp://${host.includes(':') ? `[${host}]` : host}:${socket.local.port}`;
  }

  return {
    tracker,
    httpUrl,
    udpUrl,
    async close() {
      timers.rate.cancel();
      timers.expire.cancel();
      udp?.close();
      if (http !== undefined) {
        const server = http;
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}
