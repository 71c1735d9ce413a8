import type { BDict, BValue } from '../../bencode/index.js';
import type { Endpoint } from '../../net/index.js';
import type { Codec } from '../common/channel.js';
import { OverlayError } from '../common/errors.js';
import { compactEndpoint, Fields } from '../common/fields.js';
import { encodeFrame } from '../common/frame.js';
import { decodeFile, decodeSource, encodeFile, encodeSource, MAX_QUERY_BYTES, parseQuery, queryText, type Query, type SharedFile, type Source } from '../common/shared.js';

/*
 * The super-peer overlay's messages (docs/superpeer.md has a table per
 * message). Each is one frame (common/frame.ts): a bencoded dictionary whose
 * "t" names it. Every list has a maximum length and every number a range, so
 * a decoded message is always safe to act on; anything else is an
 * OverlayError('bad-message') and the sender is dropped by its Channel.
 * Keys not listed here are ignored, so later versions can add some.
 */

/** Files in one join or add, and hashes in one remove. */
export const MAX_BATCH_FILES = 1000;
/** A batch is also cut by its encoded size, so it always fits in a frame (MAX_FRAME is 256 KiB). */
export const MAX_BATCH_BYTES = 200_000;
/** Sources in one hit message (a leader sends several hits for more). */
export const MAX_HIT_SOURCES = 200;
/** Leaders in one welcome, redirect, promote or leaders message. */
export const MAX_LEADER_LIST = 100;
/** Query ids and leader ids are 16 random bytes. */
export const ID_BYTES = 16;
const MAX_REASON_BYTES = 200;
/** The wire accepts any 32-bit TTL; a leader lowers it to its own maximum (maxTtl). */
const MAX_WIRE_TTL = 0xffff_ffff;
const MAX_HOPS = 255;
const MAX_COUNT = 1_000_000;

/** A leader as leaders describe each other: where it listens, and how full it is. */
export interface LeaderInfo {
  readonly address: Endpoint;
  readonly members: number;
  readonly maxMembers: number;
}

export type SuperPeerMessage =
  /** member -> leader: attach, with the first batch of the member's index. */
  | { readonly t: 'join'; readonly filesPort: number; readonly leaderPort?: number; readonly files: readonly SharedFile[] }
  /** member -> leader: more of its index. */
  | { readonly t: 'add'; readonly files: readonly SharedFile[] }
  /** member -> leader: files it no longer shares (content hashes, hex). */
  | { readonly t: 'remove'; readonly hashes: readonly string[] }
  /** leader -> member: accepted; index at most maxFiles files; the leaders it knows. */
  | { readonly t: 'welcome'; readonly maxFiles: number; readonly leaders: readonly LeaderInfo[] }
  /** leader -> member: not here, try these (in order). */
  | { readonly t: 'redirect'; readonly leaders: readonly Endpoint[] }
  /** leader -> member or leader: the leaders it knows first-hand (itself and its links). */
  | { readonly t: 'leaders'; readonly leaders: readonly LeaderInfo[] }
  /** leader <-> leader: hello (both ways) with its id, listen port and load. */
  | { readonly t: 'link'; readonly id: string; readonly port: number; readonly members: number; readonly maxMembers: number }
  /** a search: from a member or searcher (hops 0), or between leaders. id is 32 hex digits. */
  | { readonly t: 'query'; readonly id: string; readonly ttl: number; readonly hops: number; readonly query: Query }
  /** answers to query `id` found `hops` leader links away from the asker's leader. */
  | { readonly t: 'hit'; readonly id: string; readonly hops: number; readonly sources: readonly Source[] }
  /** leader -> capable member: become a leader and link with these. */
  | { readonly t: 'promote'; readonly leaders: readonly Endpoint[] }
  | { readonly t: 'ping' }
  | { readonly t: 'pong' }
  /** either side: closing, and why. */
  | { readonly t: 'bye'; readonly reason: string };

export type MessageType = SuperPeerMessage['t'];
export const MESSAGE_TYPES: readonly MessageType[] = ['join', 'add', 'remove', 'welcome', 'redirect', 'leaders', 'link', 'query', 'hit', 'promote', 'ping', 'pong', 'bye'];

function leaderInfo(l: LeaderInfo): { a: Uint8Array; m: number; x: number } {
  return { a: compactEndpoint(l.address), m: l.members, x: l.maxMembers };
}

function encode(m: SuperPeerMessage): Uint8Array {
  switch (m.t) {
    case 'join':
      return encodeFrame({ t: m.t, fp: m.filesPort, c: m.leaderPort === undefined ? 0 : 1, lp: m.leaderPort, f: m.files.map(encodeFile) });
    case 'add':
      return encodeFrame({ t: m.t, f: m.files.map(encodeFile) });
    case 'remove':
      return encodeFrame({ t: m.t, h: m.hashes.map((h) => Buffer.from(h, 'hex')) });
    case 'welcome':
      return encodeFrame({ t: m.t, mf: m.maxFiles, l: m.leaders.map(leaderInfo) });
    case 'leaders':
      return encodeFrame({ t: m.t, l: m.leaders.map(leaderInfo) });
    case 'redirect':
    case 'promote':
      return encodeFrame({ t: m.t, l: m.leaders.map(compactEndpoint) });
    case 'link':
      return encodeFrame({ t: m.t, id: Buffer.from(m.id, 'hex'), p: m.port, m: m.members, x: m.maxMembers });
    case 'query':
      return encodeFrame({ t: m.t, id: Buffer.from(m.id, 'hex'), ttl: m.ttl, hops: m.hops, q: queryText(m.query) });
    case 'hit':
      return encodeFrame({ t: m.t, id: Buffer.from(m.id, 'hex'), hops: m.hops, s: m.sources.map(encodeSource) });
    case 'ping':
    case 'pong':
      return encodeFrame({ t: m.t });
    case 'bye':
      return encodeFrame({ t: m.t, r: truncateUtf8(m.reason, MAX_REASON_BYTES) });
  }
}

function decode(dict: BDict): SuperPeerMessage {
  const t = new Fields(dict, 'message').text('t', 16);
  const f = new Fields(dict, `"${t}"`);
  const id = (): string => Buffer.from(f.bytes('id', ID_BYTES)).toString('hex');
  const files = (): SharedFile[] => f.list('f', MAX_BATCH_FILES, (v) => decodeFile(f, v));
  const infos = (): LeaderInfo[] => f.list('l', MAX_LEADER_LIST, (v) => readLeaderInfo(f, v));
  const endpoints = (): Endpoint[] => f.list('l', MAX_LEADER_LIST, (v) => readEndpoint(f, v));
  switch (t) {
    case 'join': {
      const capable = f.int('c', 0, 1) === 1;
      const filesPort = f.int('fp', 0, 65535);
      return capable ? { t, filesPort, leaderPort: f.int('lp', 1, 65535), files: files() } : { t, filesPort, files: files() };
    }
    case 'add':
      return { t, files: files() };
    case 'remove':
      return { t, hashes: f.list('h', MAX_BATCH_FILES, (v) => hashOf(f, v)) };
    case 'welcome':
      return { t, maxFiles: f.int('mf', 0, MAX_COUNT), leaders: infos() };
    case 'leaders':
      return { t, leaders: infos() };
    case 'redirect':
    case 'promote':
      return { t, leaders: endpoints() };
    case 'link':
      return { t, id: id(), port: f.int('p', 1, 65535), members: f.int('m', 0, MAX_COUNT), maxMembers: f.int('x', 0, MAX_COUNT) };
    case 'query':
      return { t, id: id(), ttl: f.int('ttl', 0, MAX_WIRE_TTL), hops: f.int('hops', 0, MAX_HOPS), query: readQuery(f) };
    case 'hit':
      return { t, id: id(), hops: f.int('hops', 0, MAX_HOPS), sources: f.list('s', MAX_HIT_SOURCES, (v) => decodeSource(f, v)) };
    case 'ping':
    case 'pong':
      return { t };
    case 'bye':
      return { t, reason: f.has('r') ? f.text('r', MAX_REASON_BYTES) : '' };
    default:
      throw new OverlayError('bad-message', `unknown message type ${JSON.stringify(t)}`);
  }
}

function readLeaderInfo(f: Fields, v: BValue): LeaderInfo {
  const d = f.dictAt(v, 'a leader entry');
  return { address: d.endpoint('a'), members: d.int('m', 0, MAX_COUNT), maxMembers: d.int('x', 0, MAX_COUNT) };
}

function readEndpoint(f: Fields, v: BValue): Endpoint {
  // A list of bare 6-byte strings: read each through a one-key dictionary so the checks are the same.
  return new Fields(new Map([['a', v]]), f.type).endpoint('a');
}

function hashOf(f: Fields, v: BValue): string {
  if (!(v instanceof Uint8Array) || v.length !== 20) throw f.bad('has a hash that is not 20 bytes');
  return Buffer.from(v).toString('hex');
}

function readQuery(f: Fields): Query {
  try {
    return parseQuery(f.text('q', MAX_QUERY_BYTES));
  } catch (e) {
    if (e instanceof OverlayError) throw f.bad(`has a query that ${e.message.replace(/^query /, '')}`);
    throw e;
  }
}

function truncateUtf8(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  let out = s.slice(0, maxBytes);
  while (Buffer.byteLength(out) > maxBytes) out = out.slice(0, -1);
  return out;
}

export const superPeerCodec: Codec<SuperPeerMessage> = { encode, decode };

/** About how many bytes a file entry takes in a batch (bencode keys, lengths and digits included). */
function entryBytes(f: SharedFile): number {
  return 60 + Buffer.byteLength(f.name);
}

/** Cut a list of files into batches that each fit one join/add message (MAX_BATCH_FILES files, MAX_BATCH_BYTES bytes). */
export function chunkFiles(files: readonly SharedFile[], maxFiles = MAX_BATCH_FILES, maxBytes = MAX_BATCH_BYTES): SharedFile[][] {
  const out: SharedFile[][] = [];
  let batch: SharedFile[] = [];
  let bytes = 0;
  for (const file of files) {
    const b = entryBytes(file);
    if (batch.length > 0 && (batch.length >= maxFiles || bytes + b > maxBytes)) {
      out.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(file);
    bytes += b;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

/** Cut a list into pieces of at most `size` items. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
