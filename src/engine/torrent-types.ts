import type { Endpoint } from '../net/index.js';
import type { FileStore, PieceStore } from '../storage/index.js';
import type { AnnounceEvent } from '../tracker/client/index.js';
import type { PieceOrderMode } from './picker.js';

/* What a Torrent is told (options) and what it tells (events), for the CLI, the web UI and the lab. */

export type TorrentState = 'checking' | 'downloading' | 'seeding' | 'stopped' | 'error';

export type TorrentEvent =
  | { readonly type: 'checked'; readonly have: number; readonly trusted: number; readonly rechecked: number }
  | { readonly type: 'peer-connected'; readonly address: string; readonly client: string; readonly outgoing: boolean }
  | { readonly type: 'peer-disconnected'; readonly address: string; readonly reason: string }
  | { readonly type: 'piece-verified'; readonly index: number }
  | { readonly type: 'hash-failed'; readonly index: number; readonly peers: readonly string[] }
  | { readonly type: 'peer-banned'; readonly address: string; readonly reason: string }
  | { readonly type: 'choke-round'; readonly unchoked: readonly { readonly address: string; readonly reason: string }[] }
  | { readonly type: 'tracker'; readonly url: string; readonly event: AnnounceEvent; readonly peers: number; readonly warning?: string }
  | { readonly type: 'tracker-error'; readonly event: AnnounceEvent; readonly message: string }
  /** A DHT lookup (get_peers, then announce_peer) returned `peers` peers. */
  | { readonly type: 'dht'; readonly peers: number }
  /** A neighbour named these peers in a ut_pex message (BEP 11). */
  | { readonly type: 'pex'; readonly from: string; readonly peers: readonly string[] }
  | { readonly type: 'complete' }
  | { readonly type: 'error'; readonly error: Error };

export interface TorrentOptions {
  /** Where the data is read and written. */
  readonly store: PieceStore;
  /** When the store is a FileStore: check existing files (and resume data) before starting. */
  readonly fileStore?: FileStore;
  /** Where verified pieces are remembered across restarts. */
  readonly resumeFile?: string;
  /** Peers to dial at once, besides the trackers' (tests, `--peer`). */
  readonly peers?: readonly Endpoint[];
  /** Whether to announce to the torrent's trackers. @default true */
  readonly trackers?: boolean;
  /** Whether to use the session's DHT node (never for a private torrent). @default true */
  readonly dht?: boolean;
  /** Bytes/s for this torrent. @default unlimited */
  readonly maxUpload?: number;
  readonly maxDownload?: number;
  /** Neighbours for this torrent. @default 50 */
  readonly maxPeers?: number;
  readonly onCheckProgress?: (done: number, total: number) => void;
  /** Abandons the check of existing data (a daemon told to stop): `start` then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Trust that the store holds every piece, without a check (tests and the lab, whose seeders are built in memory). @default false */
  readonly assumeComplete?: boolean;
  /**
   * Super-seed (BEP 16) when we start as a seed: say we have nothing, offer each peer one piece at a time, and
   * serve only what was offered, so an initial seeder sends each piece about once. @default false
   */
  readonly superSeed?: boolean;
  /** Which piece to start next (picker.ts). @default 'rarest-first' */
  readonly pieceOrder?: PieceOrderMode;
  /** Regular upload slots, filled by tit-for-tat every 10 s (0 with no optimistic unchoke: we upload nothing). @default 4 */
  readonly uploadSlots?: number;
  /** Whether one more peer is unchoked at random every 30 s, the optimistic unchoke. @default true */
  readonly optimisticUnchoke?: boolean;
}
