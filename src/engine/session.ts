import type { Metainfo } from '../metainfo/index.js';
import { createHttpGet, realClock, systemRandom, tcpTransport, type Clock, type DatagramSocket, type Endpoint, type HttpGet, type Random, type StreamConnection, type StreamListener, type StreamTransport, type Timer } from '../net/index.js';
import type { DhtNode } from '../dht/index.js';
import { UdpTrackerSocket } from '../tracker/client/index.js';
import { encodeHandshake, WireDecoder, WireError, type Extensions, type Handshake } from '../wire/index.js';
import { PeerConnection } from './peer.js';
import { TokenBucket } from './rate.js';
import { Torrent, unlimitedIfZero, type TorrentOptions } from './torrent.js';

/*
 * A Session is one BitTorrent client: one peer id (BEP 20 style), one
 * listening port shared by all its torrents, global connection and rate
 * limits. Incoming connections are routed to a torrent by the info hash in
 * their handshake (BEP 3); outgoing ones are dialled for a torrent.
 *
 * Handshake (BEP 3), 68 bytes each way:
 *   <19>"BitTorrent protocol"<8 reserved bytes><20 info_hash><20 peer_id>
 * The reserved bits announce the fast extension (BEP 6), the extension
 * protocol (BEP 10) and DHT (BEP 5); a feature is used only when both set it.
 */

export const CLIENT_TAG = '-PK0100-';

export interface SessionComponents {
  /** @default TCP */
  readonly transport?: StreamTransport;
  /** @default the wall clock */
  readonly clock?: Clock;
  /** @default seeded from the OS */
  readonly random?: Random;
  /** For http(s) trackers. @default node:http(s) */
  readonly httpGet?: HttpGet;
  /** For udp trackers; without it udp:// trackers are skipped. */
  readonly udp?: DatagramSocket;
  /** A DHT node (BEP 5): torrents that are not private announce to it and find peers through it. */
  readonly dht?: DhtNode;
}

export interface SessionOptions {
  /** Address to accept peers on. @default '0.0.0.0' */
  readonly host?: string;
  /** @default 6881; 0 picks a free port */
  readonly port?: number;
  /** Connections across all torrents. @default 200 */
  readonly maxConnections?: number;
  /** Bytes/s for all torrents together. @default unlimited */
  readonly maxUpload?: number;
  readonly maxDownload?: number;
  /** Bytes the upload and download limits may send at once after a pause. @default a second's worth, at least 64 KiB */
  readonly limitBurst?: number;
}

/** How long a new connection has to complete its handshake. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Outgoing connection attempts in progress at once (half-open), across the session. */
const MAX_HALF_OPEN = 16;

export class Session {
  readonly peerId: Uint8Array;
  readonly clock: Clock;
  readonly random: Random;
  readonly transport: StreamTransport;
  readonly uploadLimit: TokenBucket;
  readonly downloadLimit: TokenBucket;
  readonly udpTrackers: UdpTrackerSocket | undefined;
  readonly httpGet: HttpGet;
  readonly dht: DhtNode | undefined;
  private readonly options: SessionOptions;
  private listener: StreamListener | undefined;
  private readonly torrents = new Map<string, Torrent>();
  private connections = 0;
  private halfOpen = 0;
  private nextKey = 1;
  private readonly pending = new Set<StreamConnection>();

  static async start(components: SessionComponents = {}, options: SessionOptions = {}): Promise<Session> {
    const s = new Session(components, options);
    s.listener = await s.transport.listen(options.host ?? '0.0.0.0', options.port ?? 6881, (conn) => s.incoming(conn));
    return s;
  }

  private constructor(components: SessionComponents, options: SessionOptions) {
    this.clock = components.clock ?? realClock;
    this.random = components.random ?? systemRandom();
    this.transport = components.transport ?? tcpTransport;
    this.httpGet = components.httpGet ?? createHttpGet();
    this.udpTrackers = components.udp !== undefined ? new UdpTrackerSocket({ socket: components.udp, clock: this.clock, random: this.random }) : undefined;
    this.dht = components.dht;
    this.options = options;
    const burst = options.limitBurst !== undefined ? { burstBytes: options.limitBurst } : {};
    this.uploadLimit = new TokenBucket(unlimitedIfZero(options.maxUpload), burst);
    this.downloadLimit = new TokenBucket(unlimitedIfZero(options.maxDownload), burst);
    // BEP 20 style: client tag, then 12 random printable characters.
    const alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
    let id = CLIENT_TAG;
    for (let i = 0; i < 12; i++) id += alphabet[Math.floor(this.random() * alphabet.length)];
    this.peerId = new TextEncoder().encode(id);
  }

  /** The port peers reach us on. */
  get port(): number {
    return this.listener?.local.port ?? 0;
  }

  get extensions(): Extensions {
    return { fast: true, extended: true, dht: this.dht !== undefined };
  }

  /** Add a torrent and start it (checking existing data first). */
  async add(metainfo: Metainfo, options: TorrentOptions): Promise<Torrent> {
    if (this.torrents.has(metainfo.infoHashHex)) throw new Error(`torrent ${metainfo.infoHashHex} is already in this session`);
    const torrent = new Torrent(this, metainfo, options);
    this.torrents.set(metainfo.infoHashHex, torrent);
    try {
      await torrent.start();
    } catch (e) {
      this.torrents.delete(metainfo.infoHashHex);
      throw e;
    }
    return torrent;
  }

  /** Called by a torrent once it has stopped. */
  forget(torrent: Torrent): void {
    if (this.torrents.get(torrent.infoHashHex) === torrent) this.torrents.delete(torrent.infoHashHex);
  }

  /** Stop every torrent (each announces `stopped`) and stop listening. */
  async close(): Promise<void> {
    this.listener?.close();
    await Promise.all([...this.torrents.values()].map((t) => t.stop()));
    for (const c of this.pending) c.destroy();
  }

  /** Room for another connection, counting those being dialled. */
  canConnect(): boolean {
    return this.connections + this.halfOpen < (this.options.maxConnections ?? 200) && this.halfOpen < MAX_HALF_OPEN;
  }

  /** Dial a peer for `torrent`; resolves when it is attached (false: the torrent did not want it), rejects when it could not be reached. */
  async connect(torrent: Torrent, to: Endpoint): Promise<boolean> {
    const { conn, handshake, decoder } = await this.dial(torrent.infoHash, to);
    return this.attach(torrent, conn, handshake, decoder, true);
  }

  /**
   * Dial `to` and exchange handshakes for `infoHash`; the connection comes
   * back paused, with anything sent after the handshake still in `decoder`.
   * The metadata fetch of a magnet link uses this before there is a torrent.
   */
  async dial(infoHash: Uint8Array, to: Endpoint): Promise<{ conn: StreamConnection; handshake: Handshake; decoder: WireDecoder }> {
    this.halfOpen++;
    let conn: StreamConnection;
    try {
      conn = await this.transport.connect(to, { timeoutMs: HANDSHAKE_TIMEOUT_MS });
    } finally {
      this.halfOpen--;
    }
    conn.write(encodeHandshake(infoHash, this.peerId, this.extensions));
    const { handshake, decoder } = await this.readHandshake(conn);
    if (!sameBytes(handshake.infoHash, infoHash)) {
      conn.destroy();
      throw new WireError('bad-handshake', 'the peer answered for another torrent');
    }
    if (sameBytes(handshake.peerId, this.peerId)) {
      conn.destroy();
      throw new WireError('bad-handshake', 'we dialled ourselves');
    }
    return { conn, handshake, decoder };
  }

  private incoming(conn: StreamConnection): void {
    if (this.connections >= (this.options.maxConnections ?? 200)) {
      conn.destroy();
      return;
    }
    void this.readHandshake(conn).then(
      ({ handshake, decoder }) => {
        const torrent = this.torrents.get(Buffer.from(handshake.infoHash).toString('hex'));
        if (torrent === undefined || !torrent.acceptsPeers) {
          conn.destroy();
          return;
        }
        conn.write(encodeHandshake(torrent.infoHash, this.peerId, this.extensions));
        this.attach(torrent, conn, handshake, decoder, false);
      },
      () => conn.destroy(),
    );
  }

  private attach(torrent: Torrent, conn: StreamConnection, handshake: Handshake, decoder: WireDecoder, outgoing: boolean): boolean {
    if (sameBytes(handshake.peerId, this.peerId)) {
      conn.destroy(); // we dialled ourselves (our own address came back from a tracker)
      return false;
    }
    const ours = this.extensions;
    const peer = new PeerConnection({
      key: this.nextKey++,
      conn,
      decoder,
      peerId: handshake.peerId,
      extensions: {
        fast: ours.fast && handshake.extensions.fast,
        extended: ours.extended && handshake.extensions.extended,
        dht: ours.dht && handshake.extensions.dht,
      },
      pieceCount: torrent.pieceCount,
      now: this.clock.now(),
      outgoing,
    });
    if (!torrent.addPeer(peer)) {
      conn.destroy();
      return false;
    }
    this.connections++;
    peer.onGone(() => this.connections--);
    return true;
  }

  /** Read bytes until the 68-byte handshake is in, within the handshake timeout. */
  private readHandshake(conn: StreamConnection): Promise<{ handshake: Handshake; decoder: WireDecoder }> {
    const decoder = new WireDecoder({ handshake: true });
    this.pending.add(conn);
    return new Promise((resolve, reject) => {
      const done = (e?: Error, h?: Handshake): void => {
        timer.cancel();
        this.pending.delete(conn);
        conn.onData(() => undefined);
        conn.onClose(() => undefined);
        if (h !== undefined) resolve({ handshake: h, decoder });
        else {
          conn.destroy();
          reject(e ?? new Error('connection closed during the handshake'));
        }
      };
      const timer: Timer = this.clock.setTimer(HANDSHAKE_TIMEOUT_MS, () => done(new Error('handshake timed out')));
      conn.onClose((e) => done(e ?? new Error('connection closed during the handshake')));
      conn.onData((chunk) => {
        decoder.push(chunk);
        try {
          const m = decoder.next();
          if (m === undefined) return;
          if (m.type !== 'handshake') throw new WireError('bad-handshake', 'expected a handshake');
          // Messages after the handshake stay in the decoder; hold them until the torrent attaches.
          conn.pause();
          done(undefined, m);
        } catch (e) {
          done(e instanceof Error ? e : new Error(String(e)));
        }
      });
    });
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
