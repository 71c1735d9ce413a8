import { MetainfoError } from './errors.js';

/*
 * Magnet URIs (BEP 9), with the parameters BitTorrent clients use:
 *
 *   magnet:?xt=urn:btih:<infohash>&dn=<name>&tr=<tracker>&ws=<web seed>
 *          &x.pe=<host:port>&so=<file indices>
 *
 * - xt  exact topic: `urn:btih:` + the v1 infohash as 40 hex digits or as 32
 *       base32 characters (RFC 4648, the older form); `urn:btmh:1220<hex>` is
 *       a v2 infohash (BEP 52), kept when present. At least one is required.
 * - dn  display name; tr  tracker (repeatable, also `tr.1`, `tr.2`...);
 *       ws  web seed (BEP 19); x.pe  a peer address (BEP 9);
 *       so  select only these files (BEP 53): `0,2,4-6`.
 */

export interface FileRange {
  readonly first: number;
  /** Inclusive. */
  readonly last: number;
}

export interface Magnet {
  readonly infoHash: Uint8Array | undefined;
  readonly infoHashHex: string | undefined;
  /** BEP 52 v2 infohash (SHA-256), when the link has one. */
  readonly infoHashV2Hex: string | undefined;
  readonly name: string | undefined;
  readonly trackers: readonly string[];
  readonly webSeeds: readonly string[];
  readonly peers: readonly string[];
  readonly selectOnly: readonly FileRange[];
}

export interface MagnetInput {
  readonly infoHash: Uint8Array | string;
  readonly name?: string | undefined;
  readonly trackers?: readonly string[] | undefined;
  readonly webSeeds?: readonly string[] | undefined;
  readonly peers?: readonly string[] | undefined;
  readonly selectOnly?: readonly FileRange[] | undefined;
}

const MAX_MAGNET_LENGTH = 64 * 1024;
const MAX_PARAMS = 1000;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function isMagnet(s: string): boolean {
  return /^magnet:\?/i.test(s);
}

/** Parse a magnet URI. Throws MetainfoError (`bad-magnet`). */
export function parseMagnet(uri: string): Magnet {
  if (uri.length > MAX_MAGNET_LENGTH) throw bad(`longer than ${MAX_MAGNET_LENGTH} characters`);
  if (!isMagnet(uri)) throw bad('must start with "magnet:?"');
  const query = uri.slice(uri.indexOf('?') + 1).split('#')[0] ?? '';
  let infoHash: Uint8Array | undefined;
  let infoHashV2Hex: string | undefined;
  let name: string | undefined;
  const trackers: string[] = [];
  const webSeeds: string[] = [];
  const peers: string[] = [];
  let selectOnly: FileRange[] = [];

  const params = query.split('&').filter((p) => p.length > 0);
  if (params.length > MAX_PARAMS) throw bad(`more than ${MAX_PARAMS} parameters`);
  for (const param of params) {
    const eq = param.indexOf('=');
    const rawKey = eq === -1 ? param : param.slice(0, eq);
    const value = eq === -1 ? '' : unescape(param.slice(eq + 1));
    // `tr.1`, `xt.2`...: numbered repeats of a parameter.
    const key = rawKey.toLowerCase().replace(/\.\d+$/, '');
    switch (key) {
      case 'xt': {
        const lower = value.toLowerCase();
        if (lower.startsWith('urn:btih:')) {
          const hash = parseBtih(value.slice(9));
          if (infoHash !== undefined && Buffer.compare(infoHash, hash) !== 0) throw bad('two different urn:btih infohashes');
          infoHash = hash;
        } else if (lower.startsWith('urn:btmh:')) {
          const hex = value.slice(9).toLowerCase();
          if (!/^1220[0-9a-f]{64}$/.test(hex)) throw bad('urn:btmh must be a SHA-256 multihash (1220 + 64 hex digits)');
          infoHashV2Hex = hex.slice(4);
        }
        break;
      }
      case 'dn':
        name = value;
        break;
      case 'tr':
        if (value.length > 0 && !trackers.includes(value)) trackers.push(value);
        break;
      case 'ws':
        if (value.length > 0) webSeeds.push(value);
        break;
      case 'x.pe':
        if (value.length > 0) peers.push(value);
        break;
      case 'so':
        selectOnly = parseSelectOnly(value);
        break;
      default:
        // Unknown parameters (xl, as, kt, ...) are allowed and ignored.
        break;
    }
  }
  if (infoHash === undefined && infoHashV2Hex === undefined) throw bad('no xt=urn:btih: infohash');
  return {
    infoHash,
    infoHashHex: infoHash === undefined ? undefined : Buffer.from(infoHash).toString('hex'),
    infoHashV2Hex,
    name,
    trackers,
    webSeeds,
    peers,
    selectOnly,
  };
}

/** Format a magnet URI (hex infohash, as current clients write it). */
export function formatMagnet(m: MagnetInput): string {
  const hex = typeof m.infoHash === 'string' ? m.infoHash.toLowerCase() : Buffer.from(m.infoHash).toString('hex');
  if (!/^[0-9a-f]{40}$/.test(hex)) throw bad('an infohash is 20 bytes');
  let uri = `magnet:?xt=urn:btih:${hex}`;
  if (m.name !== undefined && m.name.length > 0) uri += `&dn=${escape(m.name)}`;
  for (const t of m.trackers ?? []) uri += `&tr=${escape(t)}`;
  for (const w of m.webSeeds ?? []) uri += `&ws=${escape(w)}`;
  for (const p of m.peers ?? []) uri += `&x.pe=${escape(p)}`;
  if (m.selectOnly !== undefined && m.selectOnly.length > 0) {
    uri += `&so=${m.selectOnly.map((r) => (r.first === r.last ? `${r.first}` : `${r.first}-${r.last}`)).join(',')}`;
  }
  return uri;
}

function parseBtih(s: string): Uint8Array {
  if (/^[0-9a-fA-F]{40}$/.test(s)) return new Uint8Array(Buffer.from(s, 'hex'));
  if (/^[A-Za-z2-7]{32}$/.test(s)) return base32Decode(s.toUpperCase());
  throw bad('urn:btih must be 40 hex digits or 32 base32 characters');
}

function base32Decode(s: string): Uint8Array {
  const out = new Uint8Array(20);
  let bits = 0;
  let acc = 0;
  let at = 0;
  for (const ch of s) {
    acc = (acc << 5) | BASE32.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >>> bits) & 0xff;
    }
  }
  return out;
}

/** Encode 20 bytes as the 32-character base32 form of `urn:btih:`. */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(acc >>> bits) & 31];
    }
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31];
  return out;
}

function parseSelectOnly(value: string): FileRange[] {
  const out: FileRange[] = [];
  for (const part of value.split(',')) {
    const m = /^(\d{1,9})(?:-(\d{1,9}))?$/.exec(part.trim());
    if (m === null) throw bad(`so=${value}: expected file indices such as 0,2,4-6`);
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (last < first) throw bad(`so=${value}: range ${part} runs backwards`);
    out.push({ first, last });
  }
  return out;
}

function unescape(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw bad(`bad percent-encoding in ${JSON.stringify(s.slice(0, 60))}`);
  }
}

/** Percent-encode a parameter value, keeping the characters URLs commonly leave bare. */
function escape(s: string): string {
  return encodeURIComponent(s).replace(/%3A/gi, ':').replace(/%2F/gi, '/');
}

function bad(message: string): MetainfoError {
  return new MetainfoError('bad-magnet', `bad magnet link: ${message}`);
}
