import { encode, type BEncodable } from '../../bencode/index.js';
import { TrackerError } from '../errors.js';
import { allocBytes, type AnnounceEvent } from '../udp-codec.js';
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
  /** Bytes still needed; undefined when the client did not say (then it is not taken for a seeder). */
  readonly left: bigint | undefined;
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

/** Decoding happens here first, then only the bytes written are copied out: one allocation, not two. */
let scratch = new Uint8Array(256);

/** %XX-decoding to bytes; `+` is a space (application/x-www-form-urlencoded). */
export function percentDecode(s: string, from = 0, to = s.length): Uint8Array {
  if (scratch.length < to - from) scratch = new Uint8Array(to - from);
  const out = scratch;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const h = hex(s.charCodeAt(i + 1));
      const l = hex(s.charCodeAt(i + 2));
      // i + 2 < to: an escape cut by the end of its part is as malformed as "%z".
      if (h < 0 || l < 0 || i + 2 >= to) throw new TrackerError('bad-param', 'malformed percent-encoding in the query string');
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
  // A plain copy loop: TypedArray slice() costs more than copying 20 bytes.
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = out[i]!;
  return bytes;
}

/**
 * Whether s[from, to) needs percent-decoding (holds % or +); throws the
 * errors percentDecode would, without making its bytes.
 */
function checkEscapes(s: string, from: number, to: number): boolean {
  let escaped = false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 /* % */) {
      if (hex(s.charCodeAt(i + 1)) < 0 || hex(s.charCodeAt(i + 2)) < 0 || i + 2 >= to) throw new TrackerError('bad-param', 'malformed percent-encoding in the query string');
      escaped = true;
      i += 2;
    } else if (c === 0x2b /* + */) {
      escaped = true;
    } else if (c > 0x7e || c < 0x20) {
      throw new TrackerError('bad-param', 'unescaped byte in the query string');
    }
  }
  return escaped;
}

/** The text of s[from, to) after percent-decoding, one char per byte: the text itself when nothing in it is escaped (no copy). */
function decodedText(s: string, from: number, to: number): string {
  return checkEscapes(s, from, to) ? latin1(percentDecode(s, from, to)) : s.slice(from, to);
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

/**
 * Read an announce from its query string. Throws TrackerError('bad-param').
 *
 * The same result and the same errors, in the same order, as reading
 * parseQuery's map, but in one pass that keeps only the first value of the
 * parameters an announce reads, still escaped, as offsets into the query
 * (every other key and value is checked, not kept): the map, a byte array
 * per parameter and a BigInt per number made it a third of the tracker's
 * HTTP CPU time.
 */
export function parseAnnounce(query: string): HttpAnnounce {
  if (query.length > MAX_QUERY) throw new TrackerError('bad-param', 'query string too long');
  // [from, to) of the first value of each parameter read below; -1: absent.
  const at: number[] = new Array<number>(ANNOUNCE_KEYS.length * 2).fill(-1);
  for (let start = 0; start <= query.length; ) {
    let end = query.indexOf('&', start);
    if (end === -1) end = query.length;
    if (end > start) {
      let eq = query.indexOf('=', start);
      if (eq === -1 || eq > end) eq = end;
      const k = checkEscapes(query, start, eq) ? ANNOUNCE_KEYS.indexOf(latin1(percentDecode(query, start, eq)) as AnnounceKey) : keyIndex(query, start, eq);
      const from = eq === end ? end : eq + 1;
      // Every value is checked, kept or not: a malformed query fails whole, before any other check, as with parseQuery.
      checkEscapes(query, from, end);
      if (k >= 0 && at[k * 2]! < 0) {
        at[k * 2] = from;
        at[k * 2 + 1] = end;
      }
    }
    start = end + 1;
  }
  const has = (k: AnnounceKey): boolean => at[ANNOUNCE_KEYS.indexOf(k) * 2]! >= 0;
  const bytes = (k: AnnounceKey): Uint8Array => {
    const i = ANNOUNCE_KEYS.indexOf(k) * 2;
    if (at[i]! < 0) throw new TrackerError('bad-param', `missing ${k}`);
    return percentDecode(query, at[i]!, at[i + 1]!);
  };
  const text = (k: AnnounceKey): string | undefined => {
    const i = ANNOUNCE_KEYS.indexOf(k) * 2;
    return at[i]! < 0 ? undefined : decodedText(query, at[i]!, at[i + 1]!);
  };
  const integer = (k: AnnounceKey, fallback: bigint | undefined): bigint => {
    const v = text(k);
    if (v === undefined) {
      if (fallback === undefined) throw new TrackerError('bad-param', `missing ${k}`);
      return fallback;
    }
    const n = wholeNumber(v);
    if (n === undefined) throw new TrackerError('bad-param', `${k} must be a whole number`);
    return n;
  };

  const infoHash = bytes('info_hash');
  if (infoHash.length !== 20) throw new TrackerError('bad-param', 'info_hash must be 20 bytes');
  const peerId = bytes('peer_id');
  if (peerId.length !== 20) throw new TrackerError('bad-param', 'peer_id must be 20 bytes');
  const port = integer('port', undefined);
  if (port < 1n || port > 65535n) throw new TrackerError('bad-param', 'port must be from 1 to 65535');
  const eventText = text('event') ?? '';
  // `paused` (BEP 21, sent by libtorrent for a paused partial seed) is a regular announce here.
  const event: AnnounceEvent = eventText === '' || eventText === 'empty' || eventText === 'paused' ? 'none' : (eventText as AnnounceEvent);
  if (!['none', 'started', 'stopped', 'completed'].includes(event)) throw new TrackerError('bad-param', `unknown event ${JSON.stringify(eventText.slice(0, 20))}`);
  const numWantRaw = has('numwant') ? integer('numwant', undefined) : undefined;
  return {
    infoHash,
    peerId,
    port: Number(port),
    uploaded: integer('uploaded', 0n),
    downloaded: integer('downloaded', 0n),
    left: has('left') ? integer('left', undefined) : undefined,
    event,
    // A huge numwant is capped by the tracker, never an error.
    numWant: numWantRaw === undefined ? undefined : numWantRaw > 100_000n ? 100_000 : Number(numWantRaw),
    compact: text('compact') === '1',
    noPeerId: text('no_peer_id') === '1',
    ip: text('ip'),
    key: text('key'),
    trackerId: text('trackerid'),
  };
}

const ANNOUNCE_KEYS = ['info_hash', 'peer_id', 'port', 'uploaded', 'downloaded', 'left', 'event', 'numwant', 'compact', 'no_peer_id', 'ip', 'key', 'trackerid'] as const;
type AnnounceKey = (typeof ANNOUNCE_KEYS)[number];

/** The index in ANNOUNCE_KEYS of the (unescaped) key s[from, to), or -1: compared in place, no substring made. */
function keyIndex(s: string, from: number, to: number): number {
  for (let k = 0; k < ANNOUNCE_KEYS.length; k++) {
    const name = ANNOUNCE_KEYS[k]!;
    if (name.length === to - from && s.startsWith(name, from)) return k;
  }
  return -1;
}

/** /^-?\d{1,20}$/ as a BigInt, else undefined; up to 15 digits without BigInt parsing (exact in a double). */
function wholeNumber(s: string): bigint | undefined {
  const sign = s.charCodeAt(0) === 0x2d /* - */ ? 1 : 0;
  const digits = s.length - sign;
  if (digits < 1 || digits > 20) return undefined;
  let n = 0;
  for (let i = sign; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    n = n * 10 + (c - 0x30);
  }
  if (digits > 15) return BigInt(s);
  return BigInt(sign === 1 ? -n : n);
}

/** The info hashes of a scrape (BEP 48: any number, none meaning all). */
export function parseScrape(query: string): Uint8Array[] {
  const hashes = parseQuery(query).get('info_hash') ?? [];
  for (const h of hashes) if (h.length !== 20) throw new TrackerError('bad-param', 'info_hash must be 20 bytes');
  return hashes;
}

/** The bencoded announce reply: compact (BEP 23/7) or the dictionary model (BEP 3). */
export function encodeAnnounceReply(r: AnnounceReply, compact: boolean, noPeerId: boolean, warning?: string): Uint8Array {
  if (compact && warning === undefined) {
    const fast = encodeCompactReply(r);
    if (fast !== undefined) return fast;
  }
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

/**
 * The compact reply every modern client asks for, written directly: the
 * bytes encode() makes for the same dictionary (keys in sorted order,
 * peers6 only when there are some), without its object, entry list, sort
 * and the part per key that made it a fifth of an HTTP announce's CPU.
 * Undefined for figures encode() would refuse (not safe integers), so the
 * caller takes the general path and its error.
 */
function encodeCompactReply(r: AnnounceReply): Uint8Array | undefined {
  const figures = [r.seeders, r.leechers, r.interval, r.minInterval];
  if (!figures.every(Number.isSafeInteger)) return undefined;
  const head =
    `d8:completei${r.seeders}e10:incompletei${r.leechers}e` +
    `8:intervali${r.interval}e12:min intervali${r.minInterval}e5:peers${r.peers.length}:`;
  const six = r.peers6.length > 0 ? `6:peers6${r.peers6.length}:` : '';
  const out = allocBytes(head.length + r.peers.length + six.length + r.peers6.length + 1);
  let at = writeAscii(out, 0, head);
  out.set(r.peers, at);
  at += r.peers.length;
  if (six !== '') {
    at = writeAscii(out, at, six);
    out.set(r.peers6, at);
    at += r.peers6.length;
  }
  out[at] = 0x65; // e
  return out;
}

function writeAscii(out: Uint8Array, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) out[at++] = s.charCodeAt(i);
  return at;
}

export function encodeScrapeReply(files: readonly { infoHash: Uint8Array; counts: { seeders: number; completed: number; leechers: number } }[]): Uint8Array {
  const dict = new Map<string, BEncodable>();
  for (const f of files) dict.set(latin1(f.infoHash), { complete: f.counts.seeders, downloaded: f.counts.completed, incomplete: f.counts.leechers });
  return encode({ files: dict });
}

export function encodeFailure(reason: string): Uint8Array {
  return encode({ 'failure reason': reason });
}
