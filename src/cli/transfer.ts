import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Session, type Torrent, type TorrentEvent } from '../engine/index.js';
import type { Metainfo } from '../metainfo/index.js';
import { bindUdp, type DatagramSocket, type Endpoint } from '../net/index.js';
import { openFileStore, StorageError, type FileStore } from '../storage/index.js';
import { bootstrapList, openDht, type OpenedDht } from './dht.js';
import { UsageError } from './errors.js';
import { formatBytes, parseSize, printable } from './format.js';

/*
 * What `peerkit get` and `peerkit seed` share: the options that shape a
 * session, a running torrent with a live progress line, --verbose
 * explanations of what the engine does, and a clean exit on Ctrl-C (the
 * tracker hears `stopped`, verified pieces are remembered for next time).
 */

export const SESSION_USAGE = `  --port <n>             port to accept peers on (default: the first free of 6881-6889)
  --host <address>       address to listen on (default: 0.0.0.0)
  --peer <host:port>     also connect to this peer; repeatable
  --max-upload <rate>    upload cap, e.g. 500K or 2MB (bytes per second)
  --max-download <rate>  download cap, in the same form
  --max-peers <n>        neighbours for this torrent (default: 50)
      --bootstrap <host:port,...>
                         DHT nodes to join through (default: the public
                         routers, router.bittorrent.com:6881 and others)
      --no-dht           do not use the DHT (private torrents never do)
  -v, --verbose          explain what the engine is doing: connections,
                         choke decisions, hash failures`;

export const SESSION_OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  peer: { type: 'string', multiple: true },
  'max-upload': { type: 'string' },
  'max-download': { type: 'string' },
  'max-peers': { type: 'string' },
  bootstrap: { type: 'string', multiple: true },
  'no-dht': { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
} as const;

export interface SessionFlags {
  readonly port?: string | undefined;
  readonly host?: string | undefined;
  readonly peer?: string[] | undefined;
  readonly 'max-upload'?: string | undefined;
  readonly 'max-download'?: string | undefined;
  readonly 'max-peers'?: string | undefined;
  readonly bootstrap?: string[] | undefined;
  readonly 'no-dht'?: boolean | undefined;
  readonly verbose?: boolean | undefined;
}

export function parseRate(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = parseSize(value.replace(/\/s$/i, ''));
  if (n === undefined || n <= 0) throw new UsageError(`${flag} ${JSON.stringify(value)} is not a rate (try 500K or 2MB)`);
  return n;
}

export function parseEndpoint(s: string, flag: string): Endpoint {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(s);
  const port = Number(m?.[2]);
  if (m === null || !(port > 0 && port < 65536)) throw new UsageError(`${flag} ${JSON.stringify(s)} is not host:port`);
  return { host: m[1]!, port };
}

/** Resume data lives in the user's data folder (XDG), one file per torrent and download folder. */
export function resumePath(infoHash: string, dir: string): string {
  const base = process.env['XDG_DATA_HOME'] ?? join(homedir(), '.local', 'share');
  const key = createHash('sha1').update(`${infoHash}\0${resolve(dir)}`).digest('hex');
  return join(base, 'peerkit', 'resume', `${key}.resume`);
}

export interface Running {
  readonly session: Session;
  readonly torrent: Torrent;
  readonly store: FileStore;
  readonly udp: DatagramSocket | undefined;
  readonly dht: OpenedDht | undefined;
}

/** A session without a torrent yet (a magnet link fetches its metadata first). */
export interface OpenSession {
  readonly session: Session;
  readonly udp: DatagramSocket | undefined;
  readonly dht: OpenedDht | undefined;
}

/**
 * Start a session: the peer port, a UDP socket for udp:// trackers when
 * `udpTrackers`, and a DHT node when `dht` (and not --no-dht). The DHT joins
 * in the background; `joined` settles when it has.
 */
export async function openSession(
  flags: SessionFlags,
  options: {
    readonly udpTrackers: boolean;
    readonly dht: boolean;
    readonly dhtState?: string | undefined;
    readonly warn: (m: string) => void;
    /** The options that set the peer port and address, as the command names them (for its errors). @default '--port', '--host' */
    readonly flagNames?: { readonly port: string; readonly host: string };
  },
): Promise<OpenSession & { readonly joined: Promise<number> }> {
  const maxUpload = parseRate(flags['max-upload'], '--max-upload');
  const maxDownload = parseRate(flags['max-download'], '--max-download');
  const host = flags.host ?? '0.0.0.0';
  const ports = flags.port !== undefined ? [parsePort(flags.port)] : [6881, 6882, 6883, 6884, 6885, 6886, 6887, 6888, 6889, 0];
  bootstrapList(flags.bootstrap); // a usage mistake shows before anything starts
  const udp = options.udpTrackers ? await bindUdp(host.includes(':') ? '::' : '0.0.0.0', 0) : undefined;
  let dht: OpenedDht | undefined;
  if (options.dht && flags['no-dht'] !== true) {
    // The DHT port follows the peer port's convention (6881 and up), as other clients do.
    dht = await openDht({ host: host.includes(':') ? '0.0.0.0' : host, ports: flags.port !== undefined ? [parsePort(flags.port), 0] : ports, bootstrap: flags.bootstrap, statePath: options.dhtState, warn: options.warn });
  }
  let session: Session | undefined;
  for (const port of ports) {
    try {
      session = await Session.start(
        { ...(udp !== undefined && { udp }), ...(dht !== undefined && { dht: dht.node }) },
        { host, port, ...(maxUpload !== undefined && { maxUpload }), ...(maxDownload !== undefined && { maxDownload }) },
      );
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' && port !== ports[ports.length - 1]) continue;
      udp?.close();
      dht?.node.close();
      const flag = options.flagNames ?? { port: '--port', host: '--host' };
      if (code === 'EADDRINUSE') throw new StorageError('io', `port ${port} is already in use: choose another with ${flag.port}`);
      if (code === 'EADDRNOTAVAIL') throw new StorageError('io', `cannot listen on ${host}: no such local address (see ${flag.host})`);
      throw e;
    }
  }
  const joined = dht === undefined ? Promise.resolve(0) : dht.node.bootstrap().catch((e: unknown) => {
    options.warn(`DHT: ${e instanceof Error ? e.message : String(e)}`);
    return 0;
  });
  return { session: session!, udp, dht, joined };
}

/** Close the session (trackers hear `stopped`), then save and close the DHT node. */
export async function closeSession(s: OpenSession): Promise<void> {
  await s.session.close();
  s.udp?.close();
  if (s.dht !== undefined) {
    await s.dht.save();
    s.dht.node.close();
  }
}

/** Start a session with one torrent whose data is in `dir`. */
export async function startTransfer(metainfo: Metainfo, dir: string, flags: SessionFlags, options: { readonly name?: string; readonly onCheck?: (done: number, total: number) => void; readonly warn?: (m: string) => void; readonly opened?: OpenSession; readonly peers?: readonly Endpoint[]; readonly superSeed?: boolean } = {}): Promise<Running> {
  const peers = [...(options.peers ?? []), ...(flags.peer ?? []).map((p) => parseEndpoint(p, '--peer'))];
  let maxPeers: number | undefined;
  if (flags['max-peers'] !== undefined) {
    maxPeers = Number(flags['max-peers']);
    if (!Number.isInteger(maxPeers) || maxPeers < 1 || maxPeers > 1000) throw new UsageError('--max-peers must be a whole number from 1 to 1000');
  }
  const usesUdp = metainfo.announceList.some((tier) => tier.some((u) => u.startsWith('udp:')));
  const opened = options.opened ?? (await openSession(flags, { udpTrackers: usesUdp, dht: !metainfo.private, warn: options.warn ?? ((m) => process.stderr.write(`peerkit: ${m}\n`)) }));
  const { session, udp, dht } = opened;
  const store = await openFileStore(options.name !== undefined ? { ...metainfo, name: options.name } : metainfo, dir);
  try {
    const torrent = await session.add(metainfo, {
      store,
      fileStore: store,
      resumeFile: resumePath(metainfo.infoHashHex, dir),
      peers,
      ...(maxPeers !== undefined && { maxPeers }),
      ...(options.onCheck !== undefined && { onCheckProgress: options.onCheck }),
      ...(options.superSeed === true && { superSeed: true }),
    });
    return { session, torrent, store, udp, dht };
  } catch (e) {
    await store.close().catch(() => undefined);
    await closeSession(opened);
    throw e;
  }
}

function parsePort(s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port ${JSON.stringify(s)} must be a number from 0 to 65535`);
  return n;
}

/** One line for --verbose, or undefined for events not worth a line. */
export function explain(e: TorrentEvent): string | undefined {
  switch (e.type) {
    case 'checked':
      return `checked existing data: ${e.have} pieces verified (${e.trusted} trusted from resume data, ${e.rechecked} hashed)`;
    case 'peer-connected':
      return `connected to ${e.address} (${printable(e.client)}, ${e.outgoing ? 'we dialled' : 'it dialled us'})`;
    case 'peer-disconnected':
      return `disconnected from ${e.address}: ${e.reason}`;
    case 'hash-failed':
      return `piece ${e.index} failed its SHA-1 check (sent by ${e.peers.join(', ') || 'peers now gone'}): downloading it again`;
    case 'peer-banned':
      return `banned ${e.address}: ${e.reason}`;
    case 'choke-round':
      return e.unchoked.length === 0 ? 'choke round: nobody interested, everyone choked' : `choke round: unchoked ${e.unchoked.map((u) => `${u.address} (${u.reason})`).join(', ')}`;
    case 'tracker':
      return `tracker ${e.url} answered ${e.event === 'none' ? 'a re-announce' : e.event}: ${e.peers} peers${e.warning !== undefined ? ` (warning: ${printable(e.warning)})` : ''}`;
    case 'tracker-error':
      return `tracker announce (${e.event}) failed: ${printable(e.message)}`;
    case 'dht':
      return `DHT announce done: ${e.peers} peers`;
    case 'pex':
      return `peer exchange from ${e.from}: ${e.peers.slice(0, 5).join(', ')}${e.peers.length > 5 ? ` and ${e.peers.length - 5} more` : ''}`;
    case 'piece-verified':
    case 'complete':
    case 'error':
      return undefined;
  }
}

/** `1:02:03` or `2:03`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s % 60).padStart(2, '0')}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/**
 * The live status line: on a terminal it is redrawn in place every second;
 * on a pipe a plain line is written every ten seconds, so logs stay short.
 */
export class StatusLine {
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;
  private lastPlain = 0;

  constructor(
    private readonly torrent: Torrent,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.draw(), 1000);
    this.timer.unref();
  }

  line(): string {
    const t = this.torrent;
    const now = performance.now();
    const { bytes, total } = t.progress;
    const down = t.downloadRate.rate(now);
    const up = t.uploadRate.rate(now);
    const pct = total > 0 ? (100 * bytes) / total : 100;
    const eta = t.complete ? 'done' : down > 0 ? `ETA ${formatDuration((total - bytes) / down)}` : 'ETA --:--';
    return `${pct.toFixed(1).padStart(5)}%  down ${formatRate(down).padStart(10)}  up ${formatRate(up).padStart(10)}  peers ${String(t.peerCount).padStart(2)}  ${eta}`;
  }

  /** Print a message above the status line. */
  log(message: string): void {
    this.clear();
    this.stream.write(`peerkit: ${message}\n`);
  }

  draw(): void {
    if (this.stream.isTTY) {
      this.stream.write(`\r${this.line()}\x1b[K`);
      this.drawn = true;
    } else if (performance.now() - this.lastPlain >= 10_000) {
      this.lastPlain = performance.now();
      this.stream.write(`${this.line().trim()}\n`);
    }
  }

  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.clear();
  }
}

/** Resolve when the user asks to stop (Ctrl-C or SIGTERM); the second Ctrl-C exits at once. */
export function untilInterrupted(): { readonly promise: Promise<string>; dispose(): void } {
  let resolveIt: (s: string) => void = () => undefined;
  const promise = new Promise<string>((r) => (resolveIt = r));
  let count = 0;
  const handler = (signal: NodeJS.Signals): void => {
    count++;
    if (count > 1) process.exit(130);
    resolveIt(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    promise,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

export function storageMessage(e: Error): string {
  if (e instanceof StorageError && e.code === 'disk-full') return `disk full${e.path !== undefined ? ` writing ${e.path}` : ''}: free some space, then run the same command again to resume`;
  return e.message;
}

/** What the user sees of a torrent's events: everything with --verbose, otherwise only tracker failures. */
export function reportEvents(torrent: Torrent, status: StatusLine, verbose: boolean): void {
  if (verbose && torrent.checked !== undefined) status.log(explain(torrent.checked)!);
  torrent.on((e) => {
    const line = verbose ? explain(e) : e.type === 'tracker-error' ? `tracker: ${printable(e.message)}` : undefined;
    if (line !== undefined) status.log(line);
  });
}

/** A positive number option (a ratio, minutes). */
export function positiveNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number`);
  return n;
}
