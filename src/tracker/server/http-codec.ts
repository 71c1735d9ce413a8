import { encode, type BEncodable } from '../../bencode/index.js';
import { TrackerError } from '../errors.js';
import type { AnnounceEvent } from '../udp-codec.js';
import type { AnnounceReply } from './tracker.js';

/*
 * The HTTP tracker protocol (BEP 3, BEP 23 compact, BEP 7 peers6, BEP 48
 * scrape): query strings in, bencoded dictionaries out. Pure functions.
 *
 *   GET /announce?info_hash=%12%34...&peer_id=...&port=6881&uploaded=0
 *       &downloaded=0&left=1000&event=started&compact=1&numwant=50&key=...
 *   -> d8:completei1e10:incompletei2e8:intervali1800e12:min intervali900e
 *        5:peers<6n bytes>6:peers6<18n bytes>e
 *   GET /scrape?info_hash=...&info_hash=...
 *   -> d5:filesd20:<hash>d8:completei1e10:downloadedi3e10:incompletei2eeee
 */

/** Longest query string accepted (a scrape of 74 hashes needs ~4.5 KB). */
export const MAX_QUERY = 16 * 1024;

export interface HttpAnnounce {
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly port: number;
  readonly uploaded: bigint;
  readonly downloaded: bigint;
  readonly left: bigint;
  readonly event: AnnounceEvent;
  readonly numWant: number | undefined;
  readonly compact: boolean;
  readonly noPeerId: boolean;
  /** The `ip` parameter, used only when the operator allows it. */
  readonly ip: string | undefined;
  readonly key: string | undefined;
  readonly trackerId: string | undefined;
}

/** Query parameters, values as raw bytes (info_hash and peer_id are binary). */
export function parseQuery(query: string): Map<string, Uint8Array[]> {
  if (query.length > MAX_QUERY) throw new TrackerError('bad-param', 'query string too long');
  const out = new Map<string, Uint8Array[]>();
  if (query.length === 0) return out;
  for (const part of query.split('&')) {
    if (part.length === 0) continue;
    const eq = part.indexOf('=');
    const key = latin1(percentDecode(eq === -1 ? part : part.slice(0, eq)));
    const value = percentDecode(eq === -1 ? '' : part.slice(eq + 1));
    const list = out.get(key);
    if (list === undefined) out.set(key, [value]);
    else if (list.length < 100) list.push(value);
  }
  return out;
}

/** %XX-decoding to bytes; `+` is a space (application/x-www-form-urlencoded). */
export function percentDecode(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const h = hex(s.charCodeAt(i + 1));
      const l = hex(s.charCodeAt(i + 2));
      if (h < 0 || l < 0) throw new TrackerError('bad-param', 'malformed percent-encoding in the query string');
      out[n++] = (h << 4) | l;
      i += 2;
    } else if (c === 0x2b /* + */) {
      out[n++] = 0x20;
    } else if (c > 0x7e || c < 0x20) {
      throw new TrackerError('bad-param', 'unescaped byte in the query string');
    } else {
      out[n++] = c;
    }
  }
  return out.slice(0, n);
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b).toString('latin1');
}

function one(q: Map<string, Uint8Array[]>, key: string): Uint8Array | undefined {
  return q.get(key)?.[0];
}

function required(q: Map<string, Uint8Array[]>, key: string): Uint8Array {
  const v = one(q, key);
  if (v === undefined) throw new TrackerError('bad-param', `missing ${key}`);
  return v;
}

function integer(q: Map<string, Uint8Array[]>, key: string, fallback: bigint | undefined): bigint {
  const v = one(q, key);
  if (v === undefined) {
    if (fallback === undefined) throw new TrackerError('bad-param', `missing ${key}`);
    return fallback;
  }
  const s = latin1(v);
  if (!/^-?\d{1,20}$/.test(s)) throw new TrackerError('bad-param', `${key} must be a whole number`);
  return BigInt(s);
}

/** Read an announce from its query string. Throws TrackerError('bad-param'). */
export function parseAnnounce(query: string): HttpAnnounce {
  const q = parseQuery(query);
  const infoHash = required(q, 'info_hash');
  if (infoHash.length !== 20) throw new TrackerError('bad-param', 'info_hash must be 20 bytes');
  const peerId = required(q, 'peer_id');
  if (peerId.length !== 20) throw new TrackerError('bad-param', 'peer_id must be 20 bytes');
  const port = integer(q, 'port', undefined);
  if (port < 1n || port > 65535n) throw new TrackerError('bad-param', 'port must be from 1 to 65535');
  const eventText = latin1(one(q, 'event') ?? new Uint8Array());
  const event: AnnounceEvent = eventText === '' || eventText === 'empty' ? 'none' : (eventText as AnnounceEvent);
  if (!['none', 'started', 'stopped', 'completed'].includes(event)) throw new TrackerError('bad-param', `unknown event ${JSON.stringify(eventText.slice(0, 20))}`);
  const numWantRaw = one(q, 'numwant') === undefined ? undefined : integer(q, 'numwant', undefined);
  const ip = one(q, 'ip');
  const key = one(q, 'key');
  const trackerId = one(q, 'trackerid');
  return {
    infoHash,
    peerId,
    port: Number(port),
    uploaded: integer(q, 'uploaded', 0n),
    downloaded: integer(q, 'downloaded', 0n),
    left: integer(q, 'left', 0n),
    event,
    // A huge numwant is capped by the tracker, never an error.
    numWant: numWantRaw === undefined ? undefined : numWantRaw > 100_000n ? 100_000 : Number(numWantRaw),
    compact: latin1(one(q, 'compact') ?? new Uint8Array()) === '1',
    noPeerId: latin1(one(q, 'no_peer_id') ?? new Uint8Array()) === '1',
    ip: ip === undefined ? undefined : latin1(ip),
    key: key === undefined ? undefined : latin1(key),
    trackerId: trackerId === undefined ? undefined : latin1(trackerId),
  };
}

/** The info hashes of a scrape (BEP 48: any number, none meaning all). */
export function parseScrape(query: string): Uint8Array[] {
  const hashes = parseQuery(query).get('info_hash') ?? [];
  for (const h of hashes) if (h.length !== 20) throw new TrackerError('bad-param', 'info_hash must be 20 bytes');
  return hashes;
}

/** The bencoded announce reply: compact (BEP 23/7) or the dictionary model (BEP 3). */
export function encodeAnnounceReply(r: AnnounceReply, compact: boolean, noPeerId: boolean, warning?: string): Uint8Array {
  const base = {
    complete: r.seeders,
    incomplete: r.leechers,
    interval: r.interval,
    'min interval': r.minInterval,
    'warning message': warning,
  };
  if (compact) return encode({ ...base, peers: r.peers, peers6: r.peers6.length > 0 ? r.peers6 : undefined });
  const list: BEncodable[] = [];
  for (let i = 0; i < r.peers.length; i += 6) {
    const p = r.peers;
    list.push({
      ip: `${p[i]}.${p[i + 1]}.${p[i + 2]}.${p[i + 3]}`,
      port: (p[i + 4]! << 8) | p[i + 5]!,
      'peer id': noPeerId ? undefined : r.peerIds?.[i / 6],
    });
  }
  for (let i = 0; i < r.peers6.length; i += 18) {
    const p = r.peers6;
    const groups: string[] = [];
    for (let g = 0; g < 16; g += 2) groups.push(((p[i + g]! << 8) | p[i + g + 1]!).toString(16));
    list.push({ ip: groups.join(':'), port: (p[i + 16]! << 8) | p[i + 17]!, 'peer id': noPeerId ? undefined : r.peerIds?.[r.peers.length / 6 + i / 18] });
  }
  return encode({ ...base, peers: list });
}

export function encodeScrapeReply(files: readonly { infoHash: Uint8Array; counts: { seeders: number; completed: number; leechers: number } }[]): Uint8Array {
  const dict = new Map<string, BEncodable>();
  for (const f of files) dict.set(latin1(f.infoHash), { complete: f.counts.seeders, downloaded: f.counts.completed, incomplete: f.counts.leechers });
  return encode({ files: dict });
}

export function encodeFailure(reason: string): Uint8Array {
  return encode({ 'failure reason': reason });
}
