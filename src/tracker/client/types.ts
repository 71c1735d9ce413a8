import type { PeerAddress } from '../compact.js';
import type { AnnounceEvent } from '../udp-codec.js';

/*
 * What every tracker client (HTTP, UDP) takes and returns, so the
 * multitracker (BEP 12) and the engine do not care which protocol a URL
 * speaks. Numbers follow BEP 3 (HTTP) and BEP 15 (UDP); the two protocols
 * carry the same announce, in different wrappers.
 */

export type { AnnounceEvent };

/** One announce, as BEP 3 lists its parameters. */
export interface AnnounceParams {
  /** 20 bytes, the SHA-1 of the info dictionary. */
  readonly infoHash: Uint8Array;
  /** 20 bytes, our peer id. */
  readonly peerId: Uint8Array;
  /** The port we accept peer connections on. */
  readonly port: number;
  readonly uploaded: bigint | number;
  readonly downloaded: bigint | number;
  readonly left: bigint | number;
  /** @default 'none' (a regular re-announce; sent as no `event` over HTTP) */
  readonly event?: AnnounceEvent;
  /** Peers wanted; absent means the tracker's default (-1 over UDP). */
  readonly numWant?: number;
  /**
   * A 32-bit number that stays the same for this client across announces, so
   * a tracker can recognise us after our IP changes (BEP 3 `key`, BEP 15 key).
   */
  readonly key?: number;
  /**
   * The `tracker id` the tracker gave in an earlier response (BEP 3, HTTP
   * only). TrackerTiers fills this in per tracker.
   */
  readonly trackerId?: Uint8Array;
}

/** A peer from a tracker: the compact forms carry no peer id, the dictionary form (BEP 3) may. */
export interface TrackerPeer extends PeerAddress {
  readonly peerId?: Uint8Array;
}

export interface AnnounceResult {
  /** Seconds until the next regular announce. */
  readonly interval: number;
  /** Seconds the tracker wants between any two announces (BEP 3 `min interval`; HTTP only). */
  readonly minInterval?: number;
  /** Seeders (`complete`; BEP 15 `seeders`), when the tracker says. */
  readonly complete?: number;
  /** Leechers (`incomplete`; BEP 15 `leechers`), when the tracker says. */
  readonly incomplete?: number;
  /** IPv4 peers, then IPv6 peers (BEP 7 `peers6`). */
  readonly peers: readonly TrackerPeer[];
  /** To send back as `trackerid` on later announces to the same tracker. */
  readonly trackerId?: Uint8Array;
  /** A `warning message`: the announce succeeded, but the tracker has something to say. */
  readonly warning?: string;
}

/** Scrape counts for one torrent (BEP 48; BEP 15 calls complete/downloaded/incomplete seeders/completed/leechers). */
export interface ScrapeFile {
  readonly infoHash: Uint8Array;
  readonly complete: number;
  readonly downloaded: number;
  readonly incomplete: number;
}

export interface RequestOptions {
  /** Aborting rejects the request with TrackerError('network'). */
  readonly signal?: AbortSignal;
}

/**
 * One tracker URL. Every rejection is a TrackerError: 'failure' (the tracker
 * said no, with its text), 'malformed' (it answered nonsense), 'timeout',
 * 'network', or 'bad-param' (we cannot ask it that, e.g. no scrape URL).
 */
export interface TrackerClient {
  readonly url: string;
  announce(params: AnnounceParams, options?: RequestOptions): Promise<AnnounceResult>;
  /** Counts for the requested torrents the tracker knows, in request order. */
  scrape(infoHashes: readonly Uint8Array[], options?: RequestOptions): Promise<ScrapeFile[]>;
}
