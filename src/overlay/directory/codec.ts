import type { BDict } from '../../bencode/index.js';
import type { Codec } from '../common/channel.js';
import { Fields } from '../common/fields.js';
import { encodeFrame } from '../common/frame.js';
import { decodeFile, decodeSource, encodeFile, encodeSource, MAX_QUERY_BYTES, parseQuery, queryText, type Query, type SharedFile, type Source } from '../common/shared.js';

/*
 * The messages of the central directory (docs/directory.md): a peer
 * registers its shared files with the server (register, then add for more),
 * keeps the registration alive (ping/pong), searches (search/results) and
 * leaves (bye); the server refuses with error. Each is one frame
 * (common/frame.ts) whose "t" key names it. Decoding checks every field's
 * type and limit, so a peer that sends anything else is dropped with
 * OverlayError('bad-message') by its Channel.
 */

/** Files in one register or add message. A registration of more files is chunked. */
export const MAX_FILES_PER_MESSAGE = 1000;
/** Sources in one results message; the rest are left out and the message says so. */
export const MAX_RESULTS_PER_MESSAGE = 200;
/** Longest error reason, in UTF-8 bytes. */
export const MAX_REASON_BYTES = 300;
/** Request ids (search, ping) are unsigned 32-bit integers. */
export const MAX_REQUEST_ID = 0xffff_ffff;
/** Longest message type name read from "t". */
const MAX_TYPE_BYTES = 32;

export type DirectoryMessage =
  /** Peer -> server: serve my files at (my address as you see it):filesPort; replaces any earlier registration. */
  | { readonly type: 'register'; readonly filesPort: number; readonly files: readonly SharedFile[] }
  /** Peer -> server: more files for the registration (chunking). */
  | { readonly type: 'add'; readonly files: readonly SharedFile[] }
  /** Peer -> server: heartbeat; the server answers pong with the same id. */
  | { readonly type: 'ping'; readonly id: number }
  | { readonly type: 'pong'; readonly id: number }
  /** Anyone -> server: which sources match this query? */
  | { readonly type: 'search'; readonly id: number; readonly query: Query }
  /** Server -> searcher: the answer to search `id`; `truncated` when more matched than are listed. */
  | { readonly type: 'results'; readonly id: number; readonly sources: readonly Source[]; readonly truncated: boolean }
  /** Server -> peer: a refusal (the server then closes the connection), or a failed search when `id` is set. */
  | { readonly type: 'error'; readonly reason: string; readonly id?: number }
  /** Peer -> server: I am leaving; the server drops my files and closes the connection. */
  | { readonly type: 'bye' };

export type DirectoryMessageType = DirectoryMessage['type'];

function encode(m: DirectoryMessage): Uint8Array {
  switch (m.type) {
    case 'register':
      return encodeFrame({ t: 'register', p: m.filesPort, f: m.files.map(encodeFile) });
    case 'add':
      return encodeFrame({ t: 'add', f: m.files.map(encodeFile) });
    case 'ping':
      return encodeFrame({ t: 'ping', i: m.id });
    case 'pong':
      return encodeFrame({ t: 'pong', i: m.id });
    case 'search':
      return encodeFrame({ t: 'search', i: m.id, q: queryText(m.query) });
    case 'results':
      return encodeFrame({ t: 'results', i: m.id, r: m.sources.map(encodeSource), x: m.truncated ? 1 : 0 });
    case 'error':
      return encodeFrame({ t: 'error', e: m.reason, ...(m.id !== undefined && { i: m.id }) });
    case 'bye':
      return encodeFrame({ t: 'bye' });
  }
}

function files(f: Fields): SharedFile[] {
  return f.list('f', MAX_FILES_PER_MESSAGE, (v) => decodeFile(f, v));
}

function decode(dict: BDict): DirectoryMessage {
  const t = new Fields(dict, 'message').text('t', MAX_TYPE_BYTES);
  const f = new Fields(dict, JSON.stringify(t).slice(1, -1));
  switch (t) {
    case 'register':
      return { type: 'register', filesPort: f.int('p', 1, 65535), files: files(f) };
    case 'add':
      return { type: 'add', files: files(f) };
    case 'ping':
    case 'pong':
      return { type: t, id: f.int('i', 0, MAX_REQUEST_ID) };
    case 'search': {
      const id = f.int('i', 0, MAX_REQUEST_ID);
      const text = f.text('q', MAX_QUERY_BYTES);
      let query: Query;
      try {
        query = parseQuery(text);
      } catch (e) {
        throw f.bad(`has "q" that is not a query (${e instanceof Error ? e.message : String(e)})`);
      }
      return { type: 'search', id, query };
    }
    case 'results':
      return {
        type: 'results',
        id: f.int('i', 0, MAX_REQUEST_ID),
        sources: f.list('r', MAX_RESULTS_PER_MESSAGE, (v) => decodeSource(f, v)),
        truncated: f.int('x', 0, 1) === 1,
      };
    case 'error': {
      const reason = f.text('e', MAX_REASON_BYTES);
      return f.has('i') ? { type: 'error', reason, id: f.int('i', 0, MAX_REQUEST_ID) } : { type: 'error', reason };
    }
    case 'bye':
      return { type: 'bye' };
    default:
      throw new Fields(dict, 'message').bad(`has unknown type "${f.type}"`);
  }
}

export const directoryCodec: Codec<DirectoryMessage> = { encode, decode };

/** A reason cut to MAX_REASON_BYTES of UTF-8 (at a character boundary), so an error message always encodes to a valid one. */
export function clipReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_REASON_BYTES) return reason;
  let out = '';
  for (const ch of reason) {
    if (Buffer.byteLength(out + ch) > MAX_REASON_BYTES - 3) break;
    out += ch;
  }
  return `${out}...`;
}
