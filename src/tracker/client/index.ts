/**
 * The tracker client: HTTP (BEP 3, 7, 23, 48) and UDP (BEP 15) announce and
 * scrape, multitracker tiers (BEP 12) and the announce schedule. Talks to
 * the world only through injected ports (HttpGet, DatagramSocket, Clock,
 * Random); see DESIGN.md.
 */
import type { HttpGet } from '../../net/index.js';
import { HttpTrackerClient, type HttpTrackerInit } from './http.js';
import type { TrackerClient } from './types.js';
import type { UdpTrackerSocket } from './udp.js';

export type { AnnounceEvent, AnnounceParams, AnnounceResult, RequestOptions, ScrapeFile, TrackerClient, TrackerPeer } from './types.js';
export { HttpTrackerClient, type HttpTrackerComponents, type HttpTrackerInit } from './http.js';
export { announceUrl, percentEncodeBytes, scrapeRequestUrl, scrapeUrl } from './http-url.js';
export { MAX_RESPONSE_BYTES, parseAnnounceResponse, parseScrapeResponse } from './http-response.js';
export { UdpTrackerClient, UdpTrackerSocket, type UdpTrackerComponents, type UdpTrackerInit } from './udp.js';
export { shuffle, TrackerTiers, type TierAnswer, type TierFailure, type TrackerTiersComponents } from './tiers.js';
export {
  afterAnnounce,
  afterFailure,
  INITIAL_ANNOUNCE_STATE,
  nextAnnounceAt,
  rememberTrackerId,
  type AnnouncePolicy,
  type AnnounceReason,
  type AnnounceState,
} from './schedule.js';

export interface TrackerClientComponents {
  /** For http:// and https:// trackers. */
  readonly httpGet?: HttpGet;
  /** For udp:// trackers. */
  readonly udp?: UdpTrackerSocket;
}

/**
 * The client for a tracker URL by its scheme, or undefined when the scheme
 * is not one we speak or its port was not given. Fits TrackerTiers' `open`.
 * Throws TrackerError('bad-param') for a udp:// URL without host or port.
 */
export function createTrackerClient(url: string, components: TrackerClientComponents, init: HttpTrackerInit = {}): TrackerClient | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if ((scheme === 'http' || scheme === 'https') && components.httpGet !== undefined) return new HttpTrackerClient(url, { httpGet: components.httpGet }, init);
  if (scheme === 'udp' && components.udp !== undefined) return components.udp.client(url);
  return undefined;
}
