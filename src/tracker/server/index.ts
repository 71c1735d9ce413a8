import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_PACKET } from '../udp-codec.js';
import { batchUdpStatus, bindBatchUdp, bindUdp, realClock, systemRandom, type Clock, type Random } from '../../net/index.js';
import { httpHandler } from './http.js';
import { Tracker, type TrackerOptions } from './tracker.js';
import { UdpTrackerHandler } from './udp.js';

/*
 * A running tracker: the Tracker core behind an HTTP server and a UDP socket,
 * with the clock that expires peers and measures the announce rate.
 *
 * The UDP socket is the native batched one (net/batch-udp.ts: recvmmsg and
 * sendmmsg, one JavaScript call per batch) when the addon was built and
 * loads, else node:dgram; `udpPath` says which, and why.
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
  /**
   * How UDP datagrams are read and answered: 'batch', the native batched
   * socket (Linux, when built); 'dgram', node:dgram; 'auto', batch when it
   * is available. @default 'auto'
   */
  readonly udpSocket?: 'auto' | 'batch' | 'dgram';
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
  /** The UDP socket in use, and why when it is node:dgram (undefined with UDP off). */
  readonly udpPath: UdpPath | undefined;
  close(): Promise<void>;
}

export type UdpPath = { readonly kind: 'batch'; readonly batch: number } | { readonly kind: 'dgram'; readonly reason: string };

const EXPIRE_EVERY_MS = 60_000;
/** Datagrams per recvmmsg/sendmmsg call. */
const UDP_BATCH = 64;
/** A large receive buffer rides out bursts instead of dropping announces. */
const UDP_RECEIVE_BUFFER = 4 * 1024 * 1024;
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

  let udp: { close(): unknown } | undefined;
  let udpUrl: string | undefined;
  let udpPath: UdpPath | undefined;
  if (options.udpPort !== null) {
    const handler = new UdpTrackerHandler(tracker, { allowIpParam: options.allowIpParam === true, secret: randomBytes(32) });
    const choice = options.udpSocket ?? 'auto';
    const status = batchUdpStatus();
    let local: { port: number };
    try {
      if (choice === 'batch' && !status.available) throw new Error(`the native batch UDP socket is not available: ${status.reason}`);
      if (choice !== 'dgram' && status.available) {
        const socket = bindBatchUdp(host, options.udpPort ?? 8000, { batch: UDP_BATCH, maxDatagram: MAX_PACKET, maxReply: MAX_PACKET, receiveBuffer: UDP_RECEIVE_BUFFER }, (batch, count) =>
          handler.handleBatch(batch, count, clock.now(), onError),
        );
        udp = socket;
        local = socket.local;
        udpPath = { kind: 'batch', batch: socket.batchSize };
      } else {
        const socket = await bindUdp(host, options.udpPort ?? 8000, { receiveBuffer: UDP_RECEIVE_BUFFER });
        socket.onMessage((packet, from) => {
          try {
            const reply = handler.handle(packet, from, clock.now());
            if (reply !== undefined) socket.send(reply, from);
          } catch (e) {
            onError(e);
          }
        });
        udp = socket;
        local = socket.local;
        udpPath = { kind: 'dgram', reason: status.available ? 'node:dgram was asked for' : status.reason };
      }
    } catch (e) {
      // A failed start must not leave the HTTP side listening (which keeps the process alive).
      timers.rate.cancel();
      timers.expire.cancel();
      http?.close();
      throw e;
    }
    udpUrl = `udp://${host.includes(':') ? `[${host}]` : host}:${local.port}`;
  }

  return {
    tracker,
    httpUrl,
    udpUrl,
    udpPath,
    async close() {
      timers.rate.cancel();
      timers.expire.cancel();
      await udp?.close();
      if (http !== undefined) {
        const server = http;
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}
