import { createHash } from 'node:crypto';
import { BencodeError, decodeWithSpans, text, textLossless, type BDict, type BValue } from '../bencode/index.js';
import { MetainfoError } from './errors.js';
import { FileLayout } from './layout.js';
import { safeComponent, safePath } from './path.js';

/*
 * .torrent parsing (BEP 3 metainfo, v1), with the outer fields of BEP 12
 * (announce-list), BEP 19 (url-list web seeds) and BEP 27 (private).
 *
 *   d
 *     8:announce   <tracker url>
 *     13:announce-list  l l<url>...e ... e        (tiers, BEP 12)
 *     7:comment, 10:created by, 13:creation date  (informational)
 *     8:url-list   <url> | l<url>...e             (BEP 19)
 *     4:info d
 *       6:length <n>            single file, or
 *       5:files l d 6:length <n> 4:path l<component>...e e ... e
 *       4:name <file or folder name>
 *       12:piece length <n>
 *       6:pieces <20-byte SHA-1 per piece>
 *       7:private i1e           (BEP 27)
 *     e
 *   e
 *
 * Everything inside `info` decides what is downloaded and where, so it is
 * validated strictly: a wrong type or an impossible value is a MetainfoError.
 * The informational outer fields are tolerated when malformed (a warning is
 * recorded), as other clients do, because they cannot change the content.
 */

export interface TorrentFile {
  /** Safe relative path components, below the torrent's `name` for multi-file torrents. */
  readonly path: readonly string[];
  readonly length: number;
  /** Where the file starts in the torrent's byte stream. */
  readonly offset: number;
  /** BEP 47 padding file (`attr` contains `p`): exists only to align the next file. */
  readonly padding: boolean;
}

export interface Metainfo {
  /** SHA-1 of the exact bytes of the `info` dictionary as they appear in the file. */
  readonly infoHash: Uint8Array;
  readonly infoHashHex: string;
  /** The suggested file name (single file) or folder name (multi-file), made safe. */
  readonly name: string;
  readonly pieceLength: number;
  /** Concatenated 20-byte SHA-1 piece hashes. */
  readonly pieces: Uint8Array;
  readonly pieceCount: number;
  /** Total bytes, padding included. */
  readonly length: number;
  readonly multiFile: boolean;
  readonly files: readonly TorrentFile[];
  readonly layout: FileLayout;
  readonly private: boolean;
  /** Tracker tiers (BEP 12); `[[announce]]` when the file has no announce-list. */
  readonly announceList: readonly (readonly string[])[];
  readonly urlList: readonly string[];
  readonly comment: string | undefined;
  readonly createdBy: string | undefined;
  /** Seconds since the Unix epoch. */
  readonly creationDate: number | undefined;
  readonly source: string | undefined;
  /** The raw `info` dictionary and its exact bytes (what BEP 9 serves). */
  readonly info: BDict;
  readonly infoBytes: Uint8Array;
  /** Fields that were malformed and ignored. */
  readonly warnings: readonly string[];
}

export interface ParseOptions {
  /** Largest .torrent accepted. @default 32 MiB */
  readonly maxSize?: number;
  /** Largest piece length accepted. @default 256 MiB */
  readonly maxPieceLength?: number;
}

export const DEFAULT_MAX_TORRENT = 32 * 1024 * 1024;
const DEFAULT_MAX_PIECE_LENGTH = 256 * 1024 * 1024;
/**
 * Bounds on the work and memory a hostile torrent can cause, generous for
 * real ones: values decoded (each costs ~100 bytes of heap; 2 million is
 * libtorrent's default too), files, and
 * components in one path.
 */
const MAX_VALUES = 2_000_000;
export const MAX_FILES = 200_000;
const MAX_PATH_COMPONENTS = 256;
/** Dates beyond this cannot be shown (JavaScript's Date range). */
const MAX_DATE_SECONDS = 8.64e12;

/** Parse a .torrent file. Throws MetainfoError. */
export function parseTorrent(bytes: Uint8Array, options: ParseOptions = {}): Metainfo {
  const maxSize = options.maxSize ?? DEFAULT_MAX_TORRENT;
  if (bytes.length > maxSize) {
    throw new MetainfoError('bad-value', `.torrent of ${bytes.length} bytes is larger than the ${maxSize}-byte limit`);
  }
  let decoded;
  try {
    // Lenient about key order only: real-world torrents are not always canonical,
    // and the infohash comes from the original bytes anyway.
    decoded = decodeWithSpans(bytes, { strict: false, maxSize, maxDepth: 64, maxValues: MAX_VALUES });
  } catch (e) {
    if (e instanceof BencodeError) {
      throw new MetainfoError('bencode', `not a valid .torrent: ${e.message}`, { offset: e.offset, cause: e });
    }
    throw e;
  }
  const root = decoded.value;
  if (!(root instanceof Map)) throw new MetainfoError('wrong-type', 'a .torrent must be a bencoded dictionary');
  const span = decoded.spans.get('info');
  const info = root.get('info');
  if (info === undefined || span === undefined) throw new MetainfoError('missing-field', 'no info dictionary', { field: 'info' });
  if (!(info instanceof Map)) throw new MetainfoError('wrong-type', 'must be a dictionary', { field: 'info' });

  // Uint8Array's slice (a copy), not Buffer's (a view into the file).
  const infoBytes = Uint8Array.prototype.slice.call(bytes, span.start, span.end);
  const infoHash = new Uint8Array(createHash('sha1').update(infoBytes).digest());
  const warnings: string[] = [];
  const parsed = parseInfo(info, options.maxPieceLength ?? DEFAULT_MAX_PIECE_LENGTH);

  return {
    infoHash,
    infoHashHex: Buffer.from(infoHash).toString('hex'),
    ...parsed,
    announceList: parseTrackers(root, warnings),
    urlList: parseUrlList(root.get('url-list'), warnings),
    comment: optionalText(root, 'comment', warnings),
    createdBy: optionalText(root, 'created by', warnings),
    creationDate: optionalDate(root, 'creation date', warnings),
    info,
    infoBytes,
    warnings,
  };
}

type InfoFields = Pick<
  Metainfo,
  'name' | 'pieceLength' | 'pieces' | 'pieceCount' | 'length' | 'multiFile' | 'files' | 'layout' | 'private' | 'source'
>;

function parseInfo(info: BDict, maxPieceLength: number): InfoFields {
  const pieceLength = integerField(info, 'piece length', 'info');
  if (pieceLength <= 0 || pieceLength > maxPieceLength) {
    throw new MetainfoError('bad-value', `${pieceLength} is not a usable piece length`, { field: 'info.piece length' });
  }
  const pieces = info.get('pieces');
  if (pieces === undefined) {
    if (info.has('file tree')) throw new MetainfoError('unsupported', 'BitTorrent v2-only torrents are not supported yet');
    throw new MetainfoError('missing-field', 'missing', { field: 'info.pieces' });
  }
  if (!(pieces instanceof Uint8Array)) throw new MetainfoError('wrong-type', 'must be a byte string', { field: 'info.pieces' });
  if (pieces.length % 20 !== 0) {
    throw new MetainfoError('bad-value', `length ${pieces.length} is not a multiple of 20`, { field: 'info.pieces' });
  }

  const name = safeComponent(utf8Field(info, 'name', 'info'), 'info.name');
  const hasLength = info.has('length');
  const hasFiles = info.has('files');
  if (hasLength === hasFiles) {
    throw new MetainfoError('bad-value', hasLength ? 'has both length and files' : 'has neither length nor files', { field: 'info' });
  }

  const files: TorrentFile[] = [];
  let total = 0;
  if (hasLength) {
    const length = integerField(info, 'length', 'info');
    if (length < 0) throw new MetainfoError('bad-value', 'negative', { field: 'info.length' });
    files.push({ path: [name], length, offset: 0, padding: false });
    total = length;
  } else {
    const list = info.get('files');
    if (!Array.isArray(list)) throw new MetainfoError('wrong-type', 'must be a list', { field: 'info.files' });
    if (list.length === 0) throw new MetainfoError('bad-value', 'empty file list', { field: 'info.files' });
    if (list.length > MAX_FILES) throw new MetainfoError('bad-value', `more than ${MAX_FILES} files`, { field: 'info.files' });
    const seen = new Set<string>();
    const realPaths: string[][] = [];
    for (let i = 0; i < list.length; i++) {
      const where = `info.files[${i}]`;
      const entry = list[i];
      if (!(entry instanceof Map)) throw new MetainfoError('wrong-type', 'must be a dictionary', { field: where });
      const length = integerField(entry, 'length', where);
      if (length < 0) throw new MetainfoError('bad-value', 'negative', { field: `${where}.length` });
      const path = safePath(pathField(entry, where), `${where}.path`);
      const attr = entry.get('attr');
      const padding = attr instanceof Uint8Array && attr.includes(0x70 /* 'p' */);
      const key = path.join('/');
      // Padding files (BEP 47) are never written, and libtorrent names them
      // `.pad/<size>`, so several may share a path.
      if (!padding && seen.has(key)) throw new MetainfoError('bad-value', `file ${JSON.stringify(key)} is listed twice`, { field: `${where}.path` });
      if (!padding) {
        seen.add(key);
        realPaths.push(path);
      }
      files.push({ path, length, offset: total, padding });
      total += length;
      if (!Number.isSafeInteger(total)) throw new MetainfoError('bad-value', 'total size too large', { field: 'info.files' });
    }
    checkFileFolderClash(realPaths);
  }

  if (total === 0) throw new MetainfoError('bad-value', 'the torrent holds no data', { field: 'info' });
  const pieceCount = pieces.length / 20;
  const expected = Math.ceil(total / pieceLength);
  if (pieceCount !== expected) {
    throw new MetainfoError('bad-value', `${pieceCount} piece hashes for ${total} bytes in pieces of ${pieceLength} (expected ${expected})`, {
      field: 'info.pieces',
    });
  }

  const priv = info.get('private');
  const source = info.get('source');
  return {
    name,
    pieceLength,
    pieces,
    pieceCount,
    length: total,
    multiFile: hasFiles,
    files,
    layout: new FileLayout(files, pieceLength),
    private: priv === 1,
    source: source instanceof Uint8Array ? text(source) : undefined,
  };
}

/**
 * A file `a/b` and a file `a/b/c` cannot both exist on disk. Checked with a
 * tree of folders, one map per level, so the cost is linear in the total
 * number of components (hashing every prefix string would be quadratic).
 */
function checkFileFolderClash(paths: readonly (readonly string[])[]): void {
  interface Folder { readonly folders: Map<string, Folder>; readonly files: Set<string> }
  const root: Folder = { folders: new Map(), files: new Set() };
  const clash = (p: readonly string[], n: number): MetainfoError =>
    new MetainfoError('bad-value', `${JSON.stringify(p.slice(0, n).join('/'))} is both a file and a folder`, { field: 'info.files' });
  for (const p of paths) {
    let at = root;
    for (let i = 0; i < p.length - 1; i++) {
      const c = p[i]!;
      if (at.files.has(c)) throw clash(p, i + 1);
      let next = at.folders.get(c);
      if (next === undefined) at.folders.set(c, (next = { folders: new Map(), files: new Set() }));
      at = next;
    }
    const last = p[p.length - 1]!;
    if (at.folders.has(last)) throw clash(p, p.length);
    at.files.add(last);
  }
}

function pathField(entry: BDict, where: string): string[] {
  // BEP 3 says `path` is UTF-8; some creators add `path.utf-8` when `path` is in
  // a legacy encoding. That one is preferred when it is well-formed.
  const utf8 = componentList(entry.get('path.utf-8'));
  if (utf8 !== undefined) return utf8;
  const value = entry.get('path');
  if (value === undefined) throw new MetainfoError('missing-field', 'missing', { field: `${where}.path` });
  if (!Array.isArray(value)) throw new MetainfoError('wrong-type', 'must be a list', { field: `${where}.path` });
  if (value.length > MAX_PATH_COMPONENTS) throw new MetainfoError('unsafe-path', `more than ${MAX_PATH_COMPONENTS} components`, { field: `${where}.path` });
  return value.map((c, i) => {
    if (!(c instanceof Uint8Array)) throw new MetainfoError('wrong-type', 'must be a byte string', { field: `${where}.path[${i}]` });
    return textLossless(c);
  });
}

/** A list of byte strings as text components, or undefined if it is not one. */
function componentList(v: BValue | undefined): string[] | undefined {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_PATH_COMPONENTS) return undefined;
  const out: string[] = [];
  for (const c of v) {
    if (!(c instanceof Uint8Array)) return undefined;
    out.push(textLossless(c));
  }
  return out;
}

function integerField(dict: BDict, key: string, where: string): number {
  const v = dict.get(key);
  if (v === undefined) throw new MetainfoError('missing-field', 'missing', { field: `${where}.${key}` });
  if (typeof v === 'bigint') throw new MetainfoError('bad-value', 'too large', { field: `${where}.${key}` });
  if (typeof v !== 'number') throw new MetainfoError('wrong-type', 'must be an integer', { field: `${where}.${key}` });
  return v;
}

function utf8Field(dict: BDict, key: string, where: string): string {
  const preferred = dict.get(`${key}.utf-8`);
  if (preferred instanceof Uint8Array) return textLossless(preferred);
  const v = dict.get(key);
  if (v === undefined) throw new MetainfoError('missing-field', 'missing', { field: `${where}.${key}` });
  if (!(v instanceof Uint8Array)) throw new MetainfoError('wrong-type', 'must be a byte string', { field: `${where}.${key}` });
  return textLossless(v);
}

function optionalText(dict: BDict, key: string, warnings: string[]): string | undefined {
  const v = dict.get(`${key}.utf-8`) ?? dict.get(key);
  if (v === undefined) return undefined;
  if (v instanceof Uint8Array) return text(v);
  warnings.push(`ignored ${key}: not a byte string`);
  return undefined;
}

function optionalDate(dict: BDict, key: string, warnings: string[]): number | undefined {
  const v = dict.get(key);
  if (v === undefined) return undefined;
  if (typeof v === 'number' && Math.abs(v) <= MAX_DATE_SECONDS) return v;
  warnings.push(typeof v === 'number' || typeof v === 'bigint' ? `ignored ${key}: out of range` : `ignored ${key}: not an integer`);
  return undefined;
}

function urlText(v: BValue | undefined): string | undefined {
  if (!(v instanceof Uint8Array)) return undefined;
  const s = text(v).trim();
  return s.length > 0 ? s : undefined;
}

function parseTrackers(root: BDict, warnings: string[]): string[][] {
  const list = root.get('announce-list');
  const tiers: string[][] = [];
  if (list !== undefined) {
    if (Array.isArray(list)) {
      for (const tier of list) {
        if (!Array.isArray(tier)) {
          warnings.push('ignored an announce-list tier: not a list');
          continue;
        }
        const urls = tier.map(urlText).filter((u): u is string => u !== undefined);
        if (urls.length > 0) tiers.push([...new Set(urls)]);
      }
    } else {
      warnings.push('ignored announce-list: not a list');
    }
  }
  // BEP 12: when announce-list is present, announce is ignored.
  if (tiers.length > 0) return tiers;
  const announce = root.get('announce');
  const url = urlText(announce);
  if (url !== undefined) return [[url]];
  if (announce !== undefined) warnings.push('ignored announce: not a byte string');
  return [];
}

function parseUrlList(v: BValue | undefined, warnings: string[]): string[] {
  if (v === undefined) return [];
  if (v instanceof Uint8Array) {
    const u = urlText(v);
    return u === undefined ? [] : [u];
  }
  if (Array.isArray(v)) return v.map(urlText).filter((u): u is string => u !== undefined);
  warnings.push('ignored url-list: not a string or list');
  return [];
}
