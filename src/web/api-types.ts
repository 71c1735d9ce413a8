/*
 * The JSON the daemon's HTTP API answers with, and the server-sent events it
 * streams (README, "The HTTP API"). These declarations are the contract
 * between the daemon (views.ts builds them) and the browser UI (ui/ reads
 * them); they import nothing, so the UI can be type-checked for the browser
 * without Node's types. Times are ms since the epoch, rates bytes/s.
 */

export type TorrentStateName = 'metadata' | 'checking' | 'downloading' | 'finished' | 'seeding' | 'paused' | 'error';

export type FilePriority = 'skip' | 'normal' | 'high';

export interface TorrentSummary {
  readonly infoHash: string;
  readonly name: string;
  /** Bytes; 0 until a magnet link's metadata arrived. */
  readonly size: number;
  /** Verified bytes of the whole torrent. */
  readonly done: number;
  /** done / size, 0 to 1. */
  readonly progress: number;
  readonly downloadRate: number;
  readonly uploadRate: number;
  /** Uploaded / downloaded, or uploaded / size for a torrent we seeded from the start. */
  readonly ratio: number;
  /** Payload bytes, across restarts. */
  readonly uploaded: number;
  readonly downloaded: number;
  readonly state: TorrentStateName;
  readonly peers: number;
  readonly paused: boolean;
  readonly savePath: string;
  readonly addedAt: number;
  /** Seconds to completion at the current rate, when downloading. */
  readonly eta: number | null;
  readonly error: string | null;
}

export interface FileView {
  readonly index: number;
  readonly path: string;
  readonly size: number;
  /** Bytes of verified pieces in this file. */
  readonly done: number;
  readonly priority: FilePriority;
  /** A BEP 47 padding file: not shown to people, never downloaded on its own. */
  readonly padding: boolean;
}

export interface TrackerStatus {
  readonly url: string;
  /** BEP 12 tier; -1 for the DHT. */
  readonly tier: number;
  readonly status: 'working' | 'error' | 'not contacted' | 'stopped' | 'looking up';
  /** Peers in the last answer. */
  readonly peers: number;
  readonly message: string;
  /** The last answer or failure. */
  readonly at: number | null;
}

export interface RateSample {
  readonly t: number;
  readonly down: number;
  readonly up: number;
}

export interface TorrentDetails extends TorrentSummary {
  readonly magnet: string;
  readonly pieceLength: number;
  readonly pieceCount: number;
  readonly private: boolean;
  readonly comment: string | null;
  readonly files: readonly FileView[];
  readonly trackers: readonly TrackerStatus[];
  /** One character per piece: '1' verified, '0' not. */
  readonly have: string;
  /** Per piece, how many connected peers have it (what rarest first sees). */
  readonly availability: readonly number[];
  /** The last five minutes, one sample a second. */
  readonly history: readonly RateSample[];
}

export interface PeerFlags {
  /** We refuse to upload to it. */
  readonly amChoking: boolean;
  /** We want pieces it has. */
  readonly amInterested: boolean;
  /** It refuses to upload to us. */
  readonly peerChoking: boolean;
  readonly peerInterested: boolean;
  /** It holds our optimistic unchoke slot. */
  readonly optimistic: boolean;
  /** It has sent nothing we asked for in a minute. */
  readonly snubbed: boolean;
}

export interface PeerView {
  readonly address: string;
  readonly client: string;
  /** It dialled us (false), or we dialled it (true). */
  readonly outgoing: boolean;
  /** Fraction of the torrent it has. */
  readonly progress: number;
  readonly downloadRate: number;
  readonly uploadRate: number;
  readonly flags: PeerFlags;
}

export interface SessionView {
  readonly version: string;
  readonly peerPort: number;
  readonly downloadDir: string;
  readonly dht: boolean;
  /** The embedded tracker's announce URL, which shared torrents carry. */
  readonly trackerUrl: string | null;
  readonly downloadRate: number;
  readonly uploadRate: number;
  readonly torrents: number;
  readonly startedAt: number;
}

export interface DhtView {
  readonly enabled: boolean;
  readonly id?: string;
  readonly port?: number;
  readonly externalAddress?: string | null;
  readonly stats?: {
    readonly nodes: number;
    readonly buckets: number;
    readonly torrents: number;
    readonly peers: number;
    readonly items: number;
    readonly queriesSent: number;
    readonly queriesReceived: number;
    readonly timeouts: number;
  };
  /** The routing table, closest to our id first (at most 200). */
  readonly nodes?: readonly { readonly id: string; readonly address: string; readonly distance: number }[];
  /** Torrents other nodes announced to us (BEP 5 announce_peer). */
  readonly torrents?: readonly { readonly infoHash: string; readonly peers: number }[];
  /** BEP 44 items we store for others. */
  readonly items?: readonly { readonly target: string; readonly kind: 'immutable' | 'mutable'; readonly seq: number | null; readonly bytes: number }[];
}

export interface TrackerView {
  readonly enabled: boolean;
  readonly httpUrl?: string | null;
  readonly udpUrl?: string | null;
  readonly stats?: {
    readonly torrents: number;
    readonly peers: number;
    readonly seeders: number;
    readonly leechers: number;
    readonly completed: number;
    readonly announces: number;
    readonly scrapes: number;
  };
}

export interface LabRow {
  readonly mode: 'client-server' | 'p2p';
  readonly n: number;
  /** Simulated seconds until the last peer had the file. */
  readonly seconds: number;
  /** The Kurose-Ross lower bound. */
  readonly bound: number;
  readonly ratio: number;
}

export interface LabParams {
  readonly peers: readonly number[];
  readonly size: number;
  readonly serverUp: number;
  readonly peerUp: number;
  readonly seed: number;
}

export interface LabView {
  readonly state: 'idle' | 'running' | 'done' | 'error';
  readonly params: LabParams | null;
  readonly rows: readonly LabRow[];
  /** The chart (standalone SVG) once done. */
  readonly svg: string | null;
  readonly error: string | null;
  /** Wall-clock ms the run took. */
  readonly ms: number | null;
}

/** Server-sent events on GET /api/events (`event:` name → `data:` JSON). */
export interface EventMap {
  readonly torrents: readonly TorrentSummary[];
  readonly session: SessionView;
  /** For /api/events?torrent=<info hash> only. */
  readonly torrent: { readonly details: TorrentDetails; readonly peers: readonly PeerView[] };
  /** A torrent followed with ?torrent= was removed. */
  readonly removed: { readonly infoHash: string };
  readonly lab: LabView;
}

export interface ApiErrorBody {
  readonly error: string;
  /** A stable code: bad-request, unauthorized, not-found, conflict... */
  readonly code: string;
}
