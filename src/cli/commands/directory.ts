import { realClock, tcpTransport, type Clock, type Endpoint, type StreamTransport, type Timer } from '../../net/index.js';
import { formatEndpoint, OverlayError } from '../../overlay/index.js';
import { DirectoryClient, DirectoryServer } from '../../overlay/directory/index.js';
import { plural } from '../format.js';
import type { OverlayKind, RunningNode, SearchContext, ServeContext, ShareContext } from '../overlay.js';

/*
 * `peerkit directory serve|share|search|get`: the central directory overlay
 * (src/overlay/directory, docs/directory.md) as an OverlayKind for the
 * generic overlay command (src/cli/overlay.ts). serve runs the server;
 * share registers the files and keeps them registered, coming back by
 * itself when the server does; search asks the server once.
 */

export interface DirectoryKindOptions {
  /** @default tcpTransport */
  readonly transport?: StreamTransport;
  /** @default realClock */
  readonly clock?: Clock;
  /** How often share tries the server again after losing it. @default 5000 */
  readonly retryMs?: number;
  /** Heartbeat interval of share's connection. @default 30_000 */
  readonly heartbeatMs?: number;
}

/** The kind with its timers and network injectable (tests); `directoryKind` is the real one. */
export function createDirectoryKind(options: DirectoryKindOptions = {}): OverlayKind {
  const transport = options.transport ?? tcpTransport;
  const clock = options.clock ?? realClock;
  const retryMs = options.retryMs ?? 5000;
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  return {
    name: 'directory',
    summary: 'central directory search overlay (Napster-style): serve, share, search, get',
    about:
      'A central directory, as Napster had: one server keeps the list of every peer\'s shared files (content hash, name, size, and the address the peer serves them at), and answers searches from it in one round trip. Peers register when they start, send a heartbeat every 30 s, and are forgotten when they leave or fall silent.\n\n' +
      'The server is the single point of failure: while it is down nothing can be found, although every peer still serves its files.',
    contactFlag: 'server',
    contactHelp: 'the directory server (default port 8888)',
    serveTakesContacts: false,
    shareNeedsContact: true,
    defaultPort: 8888,
    defaultTtl: undefined,
    defaultWaitSeconds: 10,
    serve: (ctx) => serve(ctx, transport, clock),
    share: (ctx) => Sharer.start(ctx, { transport, clock, retryMs, heartbeatMs }),
    search: (ctx) => search(ctx, transport, clock),
  };
}

export const directoryKind: OverlayKind = createDirectoryKind();

async function serve(ctx: ServeContext, transport: StreamTransport, clock: Clock): Promise<RunningNode> {
  const server = new DirectoryServer({ transport, clock, onDrop: (remote, why) => ctx.log(`dropped ${formatEndpoint(remote)}: ${why}`) });
  const address = await server.listen(ctx.host, ctx.port);
  ctx.log(`directory server listening on ${formatEndpoint(address)}`);
  return {
    status: () => {
      const s = server.stats();
      return `${plural(s.peers, 'peer')}, ${plural(s.files, 'file')}, ${s.searches} search${s.searches === 1 ? '' : 'es'}`;
    },
    close: () => server.close(),
    // The StreamListener port has no way to report that a listening socket died, so this never resolves (see docs/directory.md).
    failed: new Promise<Error>(() => undefined),
  };
}

/** share: one registration kept alive, reconnecting every retryMs while the server is away. */
class Sharer implements RunningNode {
  private client: DirectoryClient | undefined;
  private retry: Timer | undefined;
  private closed = false;
  private registered = false;
  readonly failed = new Promise<Error>(() => undefined);

  private constructor(
    private readonly ctx: ShareContext,
    private readonly server: Endpoint,
    private readonly options: { transport: StreamTransport; clock: Clock; retryMs: number; heartbeatMs: number },
  ) {}

  /** The first registration must work (a wrong --server should fail at once); after that, losing the server only means retrying. */
  static async start(ctx: ShareContext, options: { transport: StreamTransport; clock: Clock; retryMs: number; heartbeatMs: number }): Promise<RunningNode> {
    const server = ctx.contacts[0];
    if (server === undefined) throw new OverlayError('unreachable', 'no directory server given');
    const s = new Sharer(ctx, server, options);
    await s.connect();
    ctx.log(`registered ${plural(ctx.files.length, 'file')} with ${formatEndpoint(server)}`);
    return s;
  }

  status(): string {
    return this.registered ? `registered ${plural(this.ctx.files.length, 'file')} with ${formatEndpoint(this.server)}` : 'server unreachable, retrying';
  }

  async close(): Promise<void> {
    this.closed = true;
    this.retry?.cancel();
    await this.client?.close();
  }

  private async connect(): Promise<void> {
    const client = await DirectoryClient.connect(this.server, { transport: this.options.transport, clock: this.options.clock, heartbeatMs: this.options.heartbeatMs });
    try {
      await client.register(this.ctx.files, this.ctx.filesPort);
    } catch (e) {
      await client.close();
      throw e;
    }
    if (this.closed) {
      await client.close();
      return;
    }
    this.client = client;
    this.registered = true;
    client.onClose((error) => {
      if (this.closed) return;
      this.registered = false;
      this.client = undefined;
      this.ctx.log(`${error?.message ?? `directory server ${formatEndpoint(this.server)} closed the connection`}; retrying every ${this.options.retryMs / 1000} s`);
      this.scheduleRetry();
    });
  }

  private scheduleRetry(): void {
    this.retry = this.options.clock.setTimer(this.options.retryMs, () => {
      if (this.closed) return;
      this.connect().then(
        () => {
          if (!this.closed) this.ctx.log(`directory server ${formatEndpoint(this.server)} is back: registered ${plural(this.ctx.files.length, 'file')} again`);
        },
        () => {
          if (!this.closed) this.scheduleRetry();
        },
      );
    });
  }
}

async function search(ctx: SearchContext, transport: StreamTransport, clock: Clock): Promise<void> {
  const server = ctx.contacts[0];
  if (server === undefined) throw new OverlayError('unreachable', 'no directory server given');
  if (ctx.signal.aborted) return;
  if (ctx.contacts.length > 1) ctx.log(`the directory has one server: asking ${formatEndpoint(server)} only`);
  const client = await DirectoryClient.connect(server, { transport, clock, timeoutMs: ctx.waitMs });
  try {
    const answer = await untilAborted(client.find(ctx.query), ctx.signal);
    if (answer === undefined) return;
    for (const s of answer.sources) ctx.onHit(s, 1);
    if (answer.truncated) ctx.log(`the directory lists the first ${answer.sources.length} matches only: narrow the search to see the rest`);
  } catch (e) {
    // The server was reached but did not answer in --wait: the search is over, empty.
    if (e instanceof OverlayError && e.code === 'timeout') ctx.log(e.message);
    else throw e;
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** The promise's value, or undefined as soon as the signal is aborted. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
