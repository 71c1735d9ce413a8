import { realClock, tcpTransport, type Clock, type Endpoint, type StreamConnection, type StreamListener, type StreamTransport, type Timer } from '../../net/index.js';
import { Channel } from '../common/channel.js';
import { OverlayError } from '../common/errors.js';
import { formatEndpoint, type SharedFile } from '../common/shared.js';
import { RateBudget } from '../common/rate.js';
import { Catalog, type Listing } from '../common/catalog.js';
import { clipReason, directoryCodec, MAX_RESULTS_PER_MESSAGE, type DirectoryMessage } from './codec.js';

/*
 * The central directory (Napster's server): peers connect, register the
 * files they share and the port they serve them on, and keep the connection
 * open; anyone connected may search. A peer's files are listed under the
 * address its connection comes from, so a peer cannot list files at
 * somebody else's address. When the connection closes the files go at once;
 * a peer that has sent nothing for `expireMs` (no heartbeat) is dropped by a
 * sweep on the clock. Every table is capped: connections, registered peers,
 * files per peer and files in all. A peer that breaks the protocol loses
 * its own connection and nothing else. Searches need no registration, so
 * each connection has a token bucket of them (`searchRate` a second, bursts
 * of `searchBurst`): one over it is answered with an error, and a
 * connection that keeps going far over it is dropped. The catalog bounds
 * the work of each search (common/catalog.ts).
 */

export interface DirectoryServerOptions {
  /** @default tcpTransport */
  readonly transport?: StreamTransport;
  /** @default realClock */
  readonly clock?: Clock;
  /** A connection that sent nothing for this long is dropped with its files. @default 90_000 */
  readonly expireMs?: number;
  /** Registered peers at most; a registration beyond is refused. @default 10_000 */
  readonly maxPeers?: number;
  /** Files one peer may register; a registration of more is refused. @default 10_000 */
  readonly maxFilesPerPeer?: number;
  /** Files listed over all peers; a registration that would pass it is refused. @default 1_000_000 */
  readonly maxFiles?: number;
  /** Open connections at most (registered peers and searchers); more are refused. @default maxPeers + 1000 */
  readonly maxConnections?: number;
  /** Sources in one answer, at most MAX_RESULTS_PER_MESSAGE. @default 200 */
  readonly maxResults?: number;
  /** Searches one connection may make per second, on average (a token bucket). @default 20 */
  readonly searchRate?: number;
  /** Searches one connection may make at once, beyond the rate (the bucket's size). @default 40 */
  readonly searchBurst?: number;
  /** Candidates one search may examine before it stops and answers what it found, marked truncated. @default 20_000 (MAX_EXAMINED) */
  readonly maxExamined?: number;
  /** Called with a one-line note when a connection is dropped for a reason (bad message, expiry, refusal). */
  readonly onDrop?: (remote: Endpoint, reason: string) => void;
}

export interface DirectoryServerStats {
  /** Directory messages received and sent, over all connections since the start. */
  messagesIn: number;
  messagesOut: number;
  /** Peers registered now. */
  peers: number;
  /** Files listed now, over all peers. */
  files: number;
  /** Search messages answered since the start. */
  searches: number;
  /** Search messages refused for going over a connection's search rate, since the start. */
  searchesRefused: number;
  /** Connections open now (registered peers and searchers). */
  connections: number;
}

/** How long a connection refused at accept may stay half open after the server's error and FIN. */
const REFUSED_LINGER_MS = 5000;
/** The answer to a search over the connection's rate. */
export const TOO_MANY_SEARCHES = 'too many searches';

interface Connection {
  readonly channel: Channel<DirectoryMessage>;
  lastHeard: number;
  listing: Listing | undefined;
  /** Refused or leaving: its messages are ignored until the close arrives. */
  done: boolean;
  /** Its search budget: refused searches are owed too, and a connection far over the rate is cut. */
  readonly searches: RateBudget;
  /** Set when the connection was refused and must not stay half open: destroys it after REFUSED_LINGER_MS. */
  linger: Timer | undefined;
}

export class DirectoryServer {
  private readonly transport: StreamTransport;
  private readonly clock: Clock;
  private readonly expireMs: number;
  private readonly maxPeers: number;
  private readonly maxFilesPerPeer: number;
  private readonly maxFiles: number;
  private readonly maxConnections: number;
  private readonly maxResults: number;
  private readonly searchRate: number;
  private readonly searchBurst: number;
  private readonly onDrop: (remote: Endpoint, reason: string) => void;
  private readonly catalog: Catalog;
  private readonly connections = new Set<Connection>();
  private listener: StreamListener | undefined;
  private sweepTimer: Timer | undefined;
  private closed = false;
  private peers = 0;
  private searches = 0;
  private searchesRefused = 0;
  /** Message counts of connections that have closed. */
  private readonly past = { messagesIn: 0, messagesOut: 0 };

  constructor(options: DirectoryServerOptions = {}) {
    this.transport = options.transport ?? tcpTransport;
    this.clock = options.clock ?? realClock;
    this.expireMs = options.expireMs ?? 90_000;
    this.maxPeers = options.maxPeers ?? 10_000;
    this.maxFilesPerPeer = options.maxFilesPerPeer ?? 10_000;
    this.maxFiles = options.maxFiles ?? 1_000_000;
    this.maxConnections = options.maxConnections ?? this.maxPeers + 1000;
    this.maxResults = Math.min(options.maxResults ?? MAX_RESULTS_PER_MESSAGE, MAX_RESULTS_PER_MESSAGE);
    this.searchRate = options.searchRate ?? 20;
    this.searchBurst = Math.max(1, options.searchBurst ?? 40);
    this.catalog = new Catalog(options.maxExamined === undefined ? {} : { maxExamined: options.maxExamined });
    this.onDrop = options.onDrop ?? (() => undefined);
  }

  /** Start accepting peers on host:port (0: any free port); resolves with the address listened on. */
  async listen(host: string, port: number): Promise<Endpoint> {
    if (this.closed) throw new OverlayError('closed', 'the directory server is closed');
    if (this.listener !== undefined) throw new OverlayError('exists', `the directory server already listens on ${formatEndpoint(this.listener.local)}`);
    this.listener = await this.transport.listen(host, port, (conn) => this.accept(conn));
    this.scheduleSweep();
    return this.listener.local;
  }

  get address(): Endpoint | undefined {
    return this.listener?.local;
  }

  /** Stop listening and drop every connection (their peers see the directory go away). */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.sweepTimer?.cancel();
    this.listener?.close();
    for (const c of [...this.connections]) c.channel.fail(new OverlayError('closed', 'the directory server is shutting down'));
    return Promise.resolve();
  }

  stats(): DirectoryServerStats {
    let messagesIn = this.past.messagesIn;
    let messagesOut = this.past.messagesOut;
    for (const c of this.connections) {
      messagesIn += c.channel.counters.messagesIn;
      messagesOut += c.channel.counters.messagesOut;
    }
    return { messagesIn, messagesOut, peers: this.peers, files: this.catalog.files, searches: this.searches, searchesRefused: this.searchesRefused, connections: this.connections.size };
  }

  private accept(conn: StreamConnection): void {
    const channel = new Channel(conn, directoryCodec);
    if (this.closed || this.connections.size >= this.maxConnections) {
      // Say why before closing, so a client can tell "full" from "down".
      channel.send({ type: 'error', reason: this.closed ? 'the directory server is shutting down' : `the directory server is full (${this.maxConnections} connections)` });
      channel.close();
      // This connection is in no table, so nothing else would ever drop it if the peer kept its half open.
      const timer = this.clock.setTimer(REFUSED_LINGER_MS, () => channel.fail(new OverlayError('closed', 'refused connection lingered')));
      channel.onClose(() => {
        timer.cancel();
        this.count(channel);
      });
      return;
    }
    const now = this.clock.now();
    const c: Connection = { channel, lastHeard: now, listing: undefined, done: false, searches: new RateBudget(this.searchRate, this.searchBurst, now, this.searchBurst, true), linger: undefined };
    this.connections.add(c);
    channel.onMessage((m) => this.receive(c, m));
    channel.onClose((error) => {
      c.linger?.cancel();
      this.connections.delete(c);
      this.unlist(c);
      this.count(channel);
      if (error instanceof OverlayError && error.code !== 'closed') this.onDrop(channel.remote, error.message);
    });
  }

  private count(channel: Channel<DirectoryMessage>): void {
    this.past.messagesIn += channel.counters.messagesIn;
    this.past.messagesOut += channel.counters.messagesOut;
  }

  private receive(c: Connection, m: DirectoryMessage): void {
    if (c.done) return;
    c.lastHeard = this.clock.now();
    switch (m.type) {
      case 'register':
        this.register(c, m.filesPort, m.files);
        return;
      case 'add':
        if (c.listing === undefined) return this.refuse(c, 'add before register');
        this.addFiles(c, c.listing, m.files);
        return;
      case 'ping':
        c.channel.send({ type: 'pong', id: m.id });
        return;
      case 'search': {
        const verdict = c.searches.take(this.clock.now());
        if (verdict !== 'accept') {
          this.searchesRefused++;
          // Far over the rate (more refused than a whole burst, not yet paid back): the connection goes.
          if (verdict === 'cut') return this.refuse(c, `${TOO_MANY_SEARCHES}: over ${this.searchRate} a second, bursts of ${this.searchBurst}`, true);
          c.channel.send({ type: 'error', id: m.id, reason: TOO_MANY_SEARCHES });
          return;
        }
        this.searches++;
        const found = this.catalog.find(m.query, this.maxResults);
        c.channel.send({ type: 'results', id: m.id, sources: found.sources, truncated: found.truncated });
        return;
      }
      case 'bye':
        // Unlist now, then close: the peer's close() resolves after this, so its files are gone by then.
        c.done = true;
        this.unlist(c);
        c.channel.close();
        return;
      case 'pong':
      case 'results':
      case 'error':
        c.channel.fail(new OverlayError('bad-message', `${formatEndpoint(c.channel.remote)} sent a ${m.type} message, which only the server sends`));
        return;
    }
  }

  private register(c: Connection, filesPort: number, files: readonly SharedFile[]): void {
    const host = ipv4(c.channel.remote.host);
    if (host === undefined) return this.refuse(c, `cannot list files at ${c.channel.remote.host}: only IPv4 peers can register`);
    if (c.listing === undefined && this.peers >= this.maxPeers) return this.refuse(c, `the directory is full (${this.maxPeers} peers)`);
    // A new register replaces the earlier one (a peer that re-scanned its folder, or moved its file server).
    this.unlist(c);
    c.listing = this.catalog.newListing({ host, port: filesPort });
    this.peers++;
    this.addFiles(c, c.listing, files);
  }

  private addFiles(c: Connection, listing: Listing, files: readonly SharedFile[]): void {
    for (const f of files) {
      if (listing.files.has(f.hash)) continue;
      if (listing.files.size >= this.maxFilesPerPeer) return this.refuse(c, `a peer may register at most ${this.maxFilesPerPeer} files`);
      if (this.catalog.files >= this.maxFiles) return this.refuse(c, `the directory is full (${this.maxFiles} files)`);
      this.catalog.add(listing, f);
    }
  }


  /** Send the reason, drop the peer's files and close its connection (destroyed after a while if the peer keeps its half open, when `linger`). */
  private refuse(c: Connection, reason: string, linger = false): void {
    this.onDrop(c.channel.remote, `refused: ${reason}`);
    c.channel.send({ type: 'error', reason: clipReason(reason) });
    c.done = true;
    this.unlist(c);
    c.channel.close();
    if (linger && !c.channel.isClosed) c.linger ??= this.clock.setTimer(REFUSED_LINGER_MS, () => c.channel.fail(new OverlayError('closed', 'refused connection lingered')));
  }

  private unlist(c: Connection): void {
    if (c.listing === undefined) return;
    this.catalog.clear(c.listing);
    c.listing = undefined;
    this.peers--;
  }

  private scheduleSweep(): void {
    // A quarter of expireMs: a silent peer is gone between expireMs and 1.25 x expireMs after it was last heard.
    this.sweepTimer = this.clock.setTimer(Math.max(10, Math.floor(this.expireMs / 4)), () => {
      if (this.closed) return;
      this.sweep();
      this.scheduleSweep();
    });
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const c of [...this.connections]) {
      if (now - c.lastHeard < this.expireMs) continue;
      this.unlist(c);
      c.channel.fail(new OverlayError('timeout', `${formatEndpoint(c.channel.remote)} sent nothing for ${Math.round(this.expireMs / 1000)} s`));
    }
  }
}

/** The dotted IPv4 form of a socket address ("::ffff:1.2.3.4" is IPv4 mapped into IPv6), or undefined. */
function ipv4(host: string): string | undefined {
  const h = host.startsWith('::ffff:') ? host.slice(7) : host;
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(h) && h.split('.').every((p) => Number(p) <= 255) ? h : undefined;
}
