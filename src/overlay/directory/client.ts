import { encode } from '../../bencode/index.js';
import { realClock, tcpTransport, type Clock, type Endpoint, type StreamTransport, type Timer } from '../../net/index.js';
import { Channel } from '../common/channel.js';
import { OverlayError } from '../common/errors.js';
import { badName, encodeFile, formatEndpoint, isContentHash, type Query, type SharedFile, type Source } from '../common/shared.js';
import { directoryCodec, MAX_FILES_PER_MESSAGE, MAX_REQUEST_ID, type DirectoryMessage } from './codec.js';

/*
 * A peer's connection to the central directory: register the shared files
 * (chunked), keep the registration alive with heartbeats, search. The
 * directory is the single point of failure of this overlay, and the errors
 * say so: when the server cannot be reached, or goes away, nothing can be
 * found until it is back.
 */

export interface DirectoryClientOptions {
  /** @default tcpTransport */
  readonly transport?: StreamTransport;
  /** @default realClock */
  readonly clock?: Clock;
  /** How often to send a heartbeat (ping). @default 30_000 */
  readonly heartbeatMs?: number;
  /** How long to wait for the connection, a search answer or a registration; also how long past a heartbeat the server may stay silent. @default 10_000 */
  readonly timeoutMs?: number;
}

export interface SearchAnswer {
  readonly sources: Source[];
  /** The server found more than it listed. */
  readonly truncated: boolean;
}

/** Files per message are capped by count and by encoded size, so a chunk of long names still fits a frame with room to spare. */
const MAX_CHUNK_BYTES = 128 * 1024;

const SPOF = 'the directory is the single point of failure, so no search can succeed until it is back';

interface Pending {
  readonly resolve: (m: DirectoryMessage) => void;
  readonly reject: (e: Error) => void;
  readonly timer: Timer;
}

export class DirectoryClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closeHandler: (error?: Error) => void = () => undefined;
  private heartbeat: Timer | undefined;
  private lastHeard: number;
  private closing = false;
  private closeDone: Promise<void> | undefined;
  /** Set when the connection is gone: why later calls fail. */
  private gone: OverlayError | undefined;
  private refusal: string | undefined;
  private readonly closedPromise: Promise<void>;

  private constructor(
    private readonly channel: Channel<DirectoryMessage>,
    /** The directory server this client is connected to. */
    readonly server: Endpoint,
    private readonly clock: Clock,
    private readonly heartbeatMs: number,
    private readonly timeoutMs: number,
  ) {
    this.lastHeard = clock.now();
    channel.onMessage((m) => this.receive(m));
    this.closedPromise = new Promise((resolve) => channel.onClose((e) => {
      this.finish(e);
      resolve();
    }));
    this.scheduleHeartbeat();
  }

  /** Connect to the directory server. Rejects with OverlayError('unreachable') when it cannot be reached. */
  static async connect(server: Endpoint, options: DirectoryClientOptions = {}): Promise<DirectoryClient> {
    const transport = options.transport ?? tcpTransport;
    const timeoutMs = options.timeoutMs ?? 10_000;
    let conn;
    try {
      conn = await transport.connect(server, { timeoutMs });
    } catch (e) {
      throw new OverlayError('unreachable', `directory server ${formatEndpoint(server)} is unreachable (${why(e)}): ${SPOF}`);
    }
    return new DirectoryClient(new Channel(conn, directoryCodec), server, options.clock ?? realClock, options.heartbeatMs ?? 30_000, timeoutMs);
  }

  get isClosed(): boolean {
    return this.channel.isClosed;
  }

  /** The address this side of the connection has (what the server sees, on a direct connection). */
  get local(): Endpoint {
    return this.channel.local;
  }

  /**
   * List `files` as served at (this connection's address):filesPort, replacing any earlier registration.
   * Resolves when the server has taken all of them; rejects with OverlayError('closed') when it refused (too many files, directory full).
   */
  async register(files: readonly SharedFile[], filesPort: number): Promise<void> {
    for (const f of files) {
      const why = badName(f.name);
      if (why !== undefined) throw new OverlayError('bad-message', `cannot register ${JSON.stringify(f.name)}: its name ${why}`);
      if (!isContentHash(f.hash) || f.hash !== f.hash.toLowerCase()) throw new OverlayError('bad-message', `cannot register ${JSON.stringify(f.name)}: ${JSON.stringify(f.hash)} is not 40 lowercase hex digits`);
      if (!Number.isSafeInteger(f.size) || f.size < 0) throw new OverlayError('bad-message', `cannot register ${JSON.stringify(f.name)}: size ${f.size} is not a whole number of bytes`);
    }
    if (!Number.isInteger(filesPort) || filesPort < 1 || filesPort > 65535) throw new OverlayError('bad-message', `files port ${filesPort} is not from 1 to 65535`);
    this.check();
    const chunks = chunk(files);
    this.channel.send({ type: 'register', filesPort, files: chunks[0] ?? [] });
    for (const c of chunks.slice(1)) this.channel.send({ type: 'add', files: c });
    // The server handles a connection's messages in order: the pong to this ping means it has taken every chunk.
    await this.ping();
  }

  /** One round trip to the server; resolves on its pong. */
  async ping(): Promise<void> {
    await this.request((id) => ({ type: 'ping', id }), 'answer a ping');
  }

  /** The sources the directory lists for `query`. */
  async search(query: Query): Promise<Source[]> {
    return (await this.find(query)).sources;
  }

  /** Like search, and says whether the server left matches out (it lists at most 200). */
  async find(query: Query): Promise<SearchAnswer> {
    const m = await this.request((id) => ({ type: 'search', id, query }), 'answer the search');
    if (m.type !== 'results') throw new OverlayError('bad-message', `directory server ${formatEndpoint(this.server)} answered a search with ${m.type}`);
    return { sources: [...m.sources], truncated: m.truncated };
  }

  /** Called once when the connection is gone: with an OverlayError when it was not this side's close(). */
  onClose(handler: (error?: Error) => void): void {
    this.closeHandler = handler;
    const gone = this.gone;
    if (gone !== undefined) queueMicrotask(() => handler(this.closing ? undefined : gone));
  }

  /** Say bye and close; resolves once the server has dropped this peer's files (or after timeoutMs). */
  close(): Promise<void> {
    if (this.closeDone === undefined) {
      const wasOpen = !this.channel.isClosed;
      this.closing = true;
      if (!wasOpen) this.closeDone = Promise.resolve();
      else {
        this.channel.send({ type: 'bye' });
        // The server unlists on bye and then closes its side: wait for that, so "closed" means "no longer listed".
        const timer = this.clock.setTimer(this.timeoutMs, () => this.channel.fail(new OverlayError('closed', 'the directory server did not close after bye')));
        this.closeDone = this.closedPromise.then(() => timer.cancel());
      }
    }
    return this.closeDone;
  }

  stats(): { messagesIn: number; messagesOut: number } {
    return { ...this.channel.counters };
  }

  private check(): void {
    if (this.closing) throw new OverlayError('closed', 'the directory client is closed');
    if (this.gone !== undefined) throw this.gone;
  }

  private request(make: (id: number) => DirectoryMessage, what: string): Promise<DirectoryMessage> {
    this.check();
    const id = this.nextId;
    this.nextId = this.nextId === MAX_REQUEST_ID ? 0 : this.nextId + 1;
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimer(this.timeoutMs, () => {
        this.pending.delete(id);
        reject(new OverlayError('timeout', `directory server ${formatEndpoint(this.server)} did not ${what} within ${seconds(this.timeoutMs)}`));
      });
      this.pending.set(id, { resolve, reject, timer });
      this.channel.send(make(id));
    });
  }

  private receive(m: DirectoryMessage): void {
    this.lastHeard = this.clock.now();
    switch (m.type) {
      case 'pong':
      case 'results':
        this.settle(m.id, m);
        return;
      case 'error':
        if (m.id !== undefined) {
          const p = this.pending.get(m.id);
          if (p === undefined) return;
          this.pending.delete(m.id);
          p.timer.cancel();
          p.reject(new OverlayError('bad-message', `directory server ${formatEndpoint(this.server)} refused the request: ${m.reason}`));
        } else {
          // A refusal: the server closes the connection next, and everything pending fails with this reason.
          this.refusal = m.reason;
        }
        return;
      default:
        this.channel.fail(new OverlayError('bad-message', `directory server ${formatEndpoint(this.server)} sent a ${m.type} message, which only peers send`));
    }
  }

  private settle(id: number, m: DirectoryMessage): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    p.timer.cancel();
    p.resolve(m);
  }

  private finish(error?: Error): void {
    this.heartbeat?.cancel();
    const where = formatEndpoint(this.server);
    if (this.closing) this.gone = new OverlayError('closed', 'the directory client is closed');
    else if (this.refusal !== undefined) this.gone = new OverlayError('closed', `directory server ${where} refused: ${this.refusal}`);
    else if (error instanceof OverlayError && (error.code === 'bad-message' || error.code === 'too-large')) this.gone = new OverlayError('bad-message', `directory server ${where} broke the protocol (${error.message})`);
    else if (error instanceof OverlayError && error.code === 'timeout') this.gone = error;
    else this.gone = new OverlayError('unreachable', `directory server ${where} went away${error !== undefined ? ` (${why(error)})` : ''}: ${SPOF}`);
    for (const p of this.pending.values()) {
      p.timer.cancel();
      p.reject(this.gone);
    }
    this.pending.clear();
    this.closeHandler(this.closing ? undefined : this.gone);
  }

  private scheduleHeartbeat(): void {
    this.heartbeat = this.clock.setTimer(this.heartbeatMs, () => {
      if (this.channel.isClosed) return;
      // A server that stopped answering without closing (its machine is gone) shows as silence.
      if (this.clock.now() - this.lastHeard > this.heartbeatMs + this.timeoutMs) {
        this.channel.fail(new OverlayError('timeout', `directory server ${formatEndpoint(this.server)} stopped answering heartbeats: ${SPOF}`));
        return;
      }
      this.ping().catch(() => undefined);
      this.scheduleHeartbeat();
    });
  }
}

/** Split a registration into messages of at most MAX_FILES_PER_MESSAGE files and about MAX_CHUNK_BYTES. */
function chunk(files: readonly SharedFile[]): SharedFile[][] {
  const out: SharedFile[][] = [];
  let current: SharedFile[] = [];
  let bytes = 0;
  for (const f of files) {
    const size = encode(encodeFile(f)).length;
    if (current.length > 0 && (current.length === MAX_FILES_PER_MESSAGE || bytes + size > MAX_CHUNK_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(f);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** The short cause of a socket error: its code (ECONNREFUSED) when it has one. */
function why(e: unknown): string {
  if (e instanceof Error) return (e as NodeJS.ErrnoException).code ?? e.message;
  return String(e);
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
