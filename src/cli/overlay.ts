import type { Endpoint } from '../net/index.js';
import type { Query, SharedFile, Source } from '../overlay/index.js';

/*
 * The one command shape of the three search overlays (peerkit directory,
 * flood and superpeer): serve, share, search and get. This file holds what
 * they share (options, scanning and serving the shared files, printing
 * results, downloading); each overlay supplies an OverlayKind
 * (src/cli/commands/<name>.ts) that runs its node.
 */

/** Prints one line on stderr (above the status line, if any). */
export type Log = (message: string) => void;

export interface ServeContext {
  /** Address to listen on for overlay connections. */
  readonly host: string;
  readonly port: number;
  /** Nodes to connect to at the start (flood: --peer; superpeer: --leader, other leaders to link with; directory: none). */
  readonly contacts: readonly Endpoint[];
  readonly log: Log;
}

export interface ShareContext extends ServeContext {
  readonly files: readonly SharedFile[];
  /** The port of the HTTP server that serves the files (src/overlay/files); the overlay advertises it with the address the other side sees. */
  readonly filesPort: number;
}

export interface SearchContext {
  /** Whom to ask (at least one). */
  readonly contacts: readonly Endpoint[];
  readonly query: Query;
  /** --ttl (flood and superpeer; the directory ignores it). */
  readonly ttl: number;
  /** How long to wait for answers, in ms (--wait). */
  readonly waitMs: number;
  /** Called for each source as it arrives (a source may be reported more than once by different paths: the caller deduplicates). */
  readonly onHit: (source: Source, hops: number) => void;
  /** Aborted when the caller has what it needs (`get` after the first verified download) or on Ctrl-C. */
  readonly signal: AbortSignal;
  readonly log: Log;
}

/** A node started by serve or share; `closed` resolves when it stops by itself (and then with a reason), never when close() is called. */
export interface RunningNode {
  /** One line for the status display: neighbours, members, files indexed... */
  status(): string;
  close(): Promise<void>;
  readonly failed: Promise<Error>;
}

export interface OverlayKind {
  /** The command name: directory, flood, superpeer. */
  readonly name: string;
  /** One line for `peerkit --help`. */
  readonly summary: string;
  /** A paragraph for `peerkit <name> --help`: what this overlay is and how it searches. */
  readonly about: string;
  /** The flag that names whom to contact, without dashes: server, peer or leader. */
  readonly contactFlag: string;
  /** Help text for that flag. */
  readonly contactHelp: string;
  /** Whether serve accepts the contact flag (flood and superpeer: yes; directory: no). */
  readonly serveTakesContacts: boolean;
  /** Whether share needs one (directory and superpeer: yes; flood: no, the first node joins nobody). */
  readonly shareNeedsContact: boolean;
  /** Default overlay port for serve and share. */
  readonly defaultPort: number;
  /** Default --ttl, or undefined when the overlay has no TTL (directory). */
  readonly defaultTtl: number | undefined;
  /** Default --wait in seconds. */
  readonly defaultWaitSeconds: number;
  serve(ctx: ServeContext): Promise<RunningNode>;
  share(ctx: ShareContext): Promise<RunningNode>;
  /** Resolves when the search is over (answer received, wait elapsed or aborted); rejects with OverlayError when nobody could be asked. */
  search(ctx: SearchContext): Promise<void>;
}
