import type { Server } from 'node:http';
import type { DhtNode } from '../dht/index.js';
import type { Session } from '../engine/index.js';
import type { TrackerServer } from '../tracker/index.js';
import type { ApiContext } from './api.js';
import type { SessionView } from './api-types.js';
import { Assets } from './assets.js';
import { Auth } from './auth.js';
import type { DaemonPaths } from './config.js';
import { EventHub } from './events.js';
import { LabRunner } from './lab.js';
import { TorrentManager } from './manager.js';
import { listen } from './server.js';
import { details, peers, summary } from './views.js';

/*
 * The daemon: one engine Session with its torrents (manager.ts), the HTTP
 * server with the API and the UI (server.ts), and the live events. It is
 * given the session, DHT node and tracker (the CLI opens and closes them:
 * ports, bootstrap, state files are its business) and composes them.
 *
 * Once a second it takes a rate sample of every torrent (the charts) and
 * pushes the list, the totals and the followed torrents' details to the
 * browsers that listen.
 */

export interface DaemonComponents {
  readonly session: Session;
  readonly dht?: DhtNode | undefined;
  readonly tracker?: TrackerServer | undefined;
}

export interface DaemonInit {
  readonly paths: DaemonPaths;
  readonly token: string;
  /** The UI's address. @default '127.0.0.1' */
  readonly host?: string;
  /** The UI's port; 0 picks a free one. */
  readonly port: number;
  /** Host names accepted in the Host header besides IP literals and localhost. */
  readonly allowedHosts?: readonly string[];
  readonly downloadDir: string;
  /** Put in the torrents that `share` creates: the embedded tracker's announce URL. */
  readonly trackerUrl?: string | undefined;
  /** @default ui/ beside this module */
  readonly assetsDir?: string;
  readonly version: string;
  readonly log: (message: string) => void;
}

const TICK_MS = 1000;
const PING_MS = 15_000;

export class Daemon {
  private readonly timers: NodeJS.Timeout[];
  private closing: Promise<void> | undefined;

  static async start(components: DaemonComponents, init: DaemonInit): Promise<Daemon> {
    const manager = new TorrentManager({
      session: components.session,
      paths: init.paths,
      downloadDir: init.downloadDir,
      httpGet: components.session.httpGet,
      trackerUrl: init.trackerUrl,
      dht: components.dht !== undefined,
      createdBy: `peerkit/${init.version}`,
      log: init.log,
    });
    await manager.restore();
    const assets = await Assets.load(init.assetsDir ?? Assets.defaultDir());
    const events = new EventHub();
    const lab = new LabRunner((view) => events.broadcast('lab', view));
    const startedAt = Date.now();
    const api: ApiContext = {
      manager,
      dht: components.dht,
      tracker: components.tracker,
      events,
      lab,
      session: () => sessionView(components, init, manager, startedAt),
      now: () => components.session.clock.now(),
    };
    const auth = (port: number): Auth => new Auth({ token: init.token, port, ...(init.allowedHosts !== undefined && { allowedHosts: init.allowedHosts }) });
    try {
      const { server, port } = await listen((p) => ({ auth: auth(p), assets, api, log: init.log }), init.host ?? '127.0.0.1', init.port);
      // Said once it is sure to run: a daemon that cannot start has one thing to say, why.
      if (!assets.built) init.log(`the web UI is not built (nothing in ${assets.dir}): run \`npm run build\`; the API works without it`);
      return new Daemon(components, manager, server, port, events, lab, api, init.log);
    } catch (e) {
      await manager.close();
      throw e;
    }
  }

  private constructor(
    private readonly components: DaemonComponents,
    readonly manager: TorrentManager,
    private readonly server: Server,
    /** The port the UI listens on (the one asked for, or the one picked for 0). */
    readonly port: number,
    private readonly events: EventHub,
    private readonly lab: LabRunner,
    private readonly api: ApiContext,
    log: (message: string) => void,
  ) {
    const tick = (): void => {
      // A bug in one view must not take the daemon down with it (an exception in a timer ends the process).
      try {
        this.tick();
      } catch (e) {
        log(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
    };
    this.timers = [setInterval(tick, TICK_MS), setInterval(() => this.events.ping(), PING_MS)];
  }

  /** Stop serving, then stop every torrent (trackers hear `stopped`, resume data is written). The components stay open. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const t of this.timers) clearInterval(t);
      this.lab.close();
      this.events.close();
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
      await this.manager.close();
    })();
    return this.closing;
  }

  private tick(): void {
    const now = this.api.now();
    this.manager.sample(Date.now());
    if (this.events.size === 0) return;
    this.events.broadcast('torrents', this.manager.all().map((e) => summary(e, now)));
    this.events.broadcast('session', this.api.session());
    const dht = this.components.dht !== undefined;
    for (const hash of this.events.followed()) {
      const only = (c: { readonly torrent: string | undefined }): boolean => c.torrent === hash;
      const e = this.manager.find(hash);
      if (e === undefined) {
        // Said once: the page goes back to the list, and the stream carries on with the rest.
        this.events.broadcast('removed', { infoHash: hash }, only);
        this.events.unfollow(hash);
      } else this.events.broadcast('torrent', { details: details(e, now, dht), peers: peers(e, now) }, only);
    }
  }
}

function sessionView(components: DaemonComponents, init: DaemonInit, manager: TorrentManager, startedAt: number): SessionView {
  const now = components.session.clock.now();
  let down = 0;
  let up = 0;
  for (const e of manager.all()) {
    down += e.torrent?.downloadRate.rate(now) ?? 0;
    up += e.torrent?.uploadRate.rate(now) ?? 0;
  }
  return {
    version: init.version,
    peerPort: components.session.port,
    downloadDir: init.downloadDir,
    dht: components.dht !== undefined,
    trackerUrl: init.trackerUrl ?? null,
    downloadRate: down,
    uploadRate: up,
    torrents: manager.size,
    startedAt,
  };
}
