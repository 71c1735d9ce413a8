import { byteCount, checkAnnounceParams, checkInfoHash } from './params.js';
import type { AnnounceParams } from './types.js';

/*
 * Building HTTP tracker URLs (BEP 3, BEP 23, BEP 48).
 *
 *   <announce>?info_hash=%12%34...&peer_id=-PK0100-...&port=6881
 *             &uploaded=0&downloaded=0&left=1024&event=started
 *             &compact=1&numwant=50&key=1a2b3c4d&trackerid=...
 *
 * info_hash, peer_id and trackerid are raw bytes, percent-encoded one byte
 * at a time. URLSearchParams cannot be used: it takes text and would UTF-8
 * encode bytes >= 0x80 into two bytes (and writes ' ' as '+').
 */

const UNRESERVED = /[A-Za-z0-9\-._~]/;
const HEX = '0123456789ABCDEF';

/** Percent-encode bytes, keeping RFC 3986 unreserved characters as they are. */
export function percentEncodeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && UNRESERVED.test(c) ? c : `%${HEX[b >>> 4]}${HEX[b & 15]}`;
  }
  return out;
}

/** Split off the query and fragment; a tracker URL may carry its own query (a passkey). */
function splitUrl(url: string): { path: string; query: string } {
  const noFragment = url.split('#', 1)[0] ?? '';
  const q = noFragment.indexOf('?');
  return q < 0 ? { path: noFragment, query: '' } : { path: noFragment.slice(0, q), query: noFragment.slice(q + 1) };
}

function join(url: string, params: readonly string[]): string {
  const { path, query } = splitUrl(url);
  const all = query === '' ? params : [query, ...params];
  return `${path}?${all.join('&')}`;
}

/** The announce GET URL. Throws TrackerError('bad-param') for impossible parameters. */
export function announceUrl(url: string, p: AnnounceParams): string {
  checkAnnounceParams(p);
  const params = [
    `info_hash=${percentEncodeBytes(p.infoHash)}`,
    `peer_id=${percentEncodeBytes(p.peerId)}`,
    `port=${p.port}`,
    `uploaded=${byteCount('uploaded', p.uploaded)}`,
    `downloaded=${byteCount('downloaded', p.downloaded)}`,
    `left=${byteCount('left', p.left)}`,
  ];
  // BEP 3: a regular announce has no event (or an empty one).
  if (p.event !== undefined && p.event !== 'none') params.push(`event=${p.event}`);
  // BEP 23: ask for the 6-bytes-per-peer list; trackers that ignore it send dictionaries.
  params.push('compact=1');
  if (p.numWant !== undefined) params.push(`numwant=${p.numWant}`);
  // The key is an opaque token; 8 hex digits is what libtorrent and most clients send.
  if (p.key !== undefined) params.push(`key=${p.key.toString(16).padStart(8, '0')}`);
  if (p.trackerId !== undefined) params.push(`trackerid=${percentEncodeBytes(p.trackerId)}`);
  return join(url, params);
}

/**
 * The scrape URL of an announce URL (BEP 48): the last path segment must
 * begin with "announce", which becomes "scrape"; anything else means the
 * tracker does not support scrape, and `undefined` is returned.
 *
 *   http://t.example/announce          -> http://t.example/scrape
 *   http://t.example/x/announce.php?k=1 -> http://t.example/x/scrape.php?k=1
 *   http://t.example/a                 -> undefined
 */
export function scrapeUrl(url: string): string | undefined {
  const { path, query } = splitUrl(url);
  const slash = path.lastIndexOf('/');
  // The slash must be in the path, not in the '//' after the scheme.
  const scheme = path.indexOf('://');
  const pathStart = path.indexOf('/', scheme < 0 ? 0 : scheme + 3);
  if (pathStart < 0 || slash < pathStart) return undefined;
  const last = path.slice(slash + 1);
  if (!last.startsWith('announce')) return undefined;
  const scrape = `${path.slice(0, slash + 1)}scrape${last.slice('announce'.length)}`;
  return query === '' ? scrape : `${scrape}?${query}`;
}

/** The scrape GET URL for some torrents: one `info_hash` parameter per torrent (BEP 48). */
export function scrapeRequestUrl(scrape: string, infoHashes: readonly Uint8Array[]): string {
  for (const h of infoHashes) checkInfoHash('info_hash', h);
  return join(scrape, infoHashes.map((h) => `info_hash=${percentEncodeBytes(h)}`));
}
