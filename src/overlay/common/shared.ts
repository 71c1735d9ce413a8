import type { BValue } from '../../bencode/index.js';
import type { Endpoint } from '../../net/index.js';
import { OverlayError } from './errors.js';
import { compactEndpoint, type Fields } from './fields.js';

/*
 * What the overlays search for: shared files, named by the SHA-1 of their
 * content (the "urn:sha1" of Gnutella's HUGE extension, and the hash
 * BitTorrent v1 uses for pieces), with a name to match keywords against and
 * a size. A search result is a Source: a file and the address of the HTTP
 * server that serves it (src/overlay/files).
 */

export interface SharedFile {
  /** SHA-1 of the content, 40 lowercase hex digits. */
  readonly hash: string;
  /** The file's name (no folders), at most MAX_NAME_BYTES of UTF-8. */
  readonly name: string;
  readonly size: number;
}

export interface Source extends SharedFile {
  /** Where the file is served: GET http://host:port/sha1/<hash>. */
  readonly address: Endpoint;
}

export const MAX_NAME_BYTES = 255;
/** The largest query accepted, in UTF-8 bytes. */
export const MAX_QUERY_BYTES = 256;
const MAX_KEYWORDS = 16;
const HASH_RE = /^[0-9a-f]{40}$/;

export function isContentHash(s: string): boolean {
  return HASH_RE.test(s.toLowerCase());
}

/** Why `name` cannot be a shared file's name, or undefined when it can. */
export function badName(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `is longer than ${MAX_NAME_BYTES} bytes`;
  if (name === '.' || name === '..') return `is "${name}"`;
  // eslint-disable-next-line no-control-regex
  if (/[/\\\u0000-\u001f\u007f]/.test(name)) return 'holds a slash, a backslash or a control character';
  return undefined;
}

/** A search: a content hash, or keywords that must all appear in a name (case-insensitive). */
export type Query = { readonly kind: 'hash'; readonly hash: string } | { readonly kind: 'keywords'; readonly keywords: readonly string[] };

/** Parse what a user typed. Throws OverlayError('bad-message') for an empty or oversized query. */
export function parseQuery(q: string): Query {
  if (Buffer.byteLength(q) > MAX_QUERY_BYTES) throw new OverlayError('bad-message', `query is longer than ${MAX_QUERY_BYTES} bytes`);
  const trimmed = q.trim();
  if (isContentHash(trimmed)) return { kind: 'hash', hash: trimmed.toLowerCase() };
  const keywords = [...new Set(trimmed.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 0))];
  if (keywords.length === 0) throw new OverlayError('bad-message', `query ${JSON.stringify(q)} has no letters or digits`);
  if (keywords.length > MAX_KEYWORDS) throw new OverlayError('bad-message', `query has more than ${MAX_KEYWORDS} words`);
  return { kind: 'keywords', keywords };
}

/** The query as the text that travels in messages (normalized, so equal searches are equal strings). */
export function queryText(query: Query): string {
  return query.kind === 'hash' ? query.hash : query.keywords.join(' ');
}

export function matches(file: SharedFile, query: Query): boolean {
  if (query.kind === 'hash') return file.hash === query.hash;
  const name = file.name.toLowerCase();
  return query.keywords.every((k) => name.includes(k));
}

/** A file as it travels in messages: { h: 20-byte SHA-1, n: name, s: size }. */
export function encodeFile(f: SharedFile): { h: Uint8Array; n: string; s: number } {
  return { h: Buffer.from(f.hash, 'hex'), n: f.name, s: f.size };
}

/** A source as it travels: the file's keys and a: 6-byte compact IPv4 address and port. */
export function encodeSource(s: Source): { h: Uint8Array; n: string; s: number; a: Uint8Array } {
  return { ...encodeFile(s), a: compactEndpoint(s.address) };
}

/** Read a file entry (checks the hash length, the name rules and the size). */
export function decodeFile(fields: Fields, v: BValue): SharedFile {
  const f = fields.dictAt(v, 'a file entry');
  const hash = Buffer.from(f.bytes('h', 20)).toString('hex');
  const name = f.text('n', MAX_NAME_BYTES);
  const why = badName(name);
  if (why !== undefined) throw fields.bad(`has a file name that ${why}`);
  const size = f.int('s', 0, Number.MAX_SAFE_INTEGER);
  return { hash, name, size };
}

export function decodeSource(fields: Fields, v: BValue): Source {
  const file = decodeFile(fields, v);
  return { ...file, address: fields.dictAt(v, 'a source').endpoint('a') };
}

/** "host:port" */
export function formatEndpoint(e: Endpoint): string {
  return `${e.host}:${e.port}`;
}

/** Same file at the same address. */
export function sourceKey(s: Source): string {
  return `${s.hash} ${s.address.host}:${s.address.port}`;
}
