import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { badName, type SharedFile } from '../common/shared.js';

/*
 * The files a node shares: every regular file under the given paths
 * (folders are walked; symbolic links are not followed, so sharing a folder
 * never shares what lies outside it), hashed with SHA-1. Files with the
 * same content are listed once.
 */

export interface LocalFile extends SharedFile {
  /** Where the bytes are on this machine. */
  readonly path: string;
}

export interface ScanProgress {
  readonly file: string;
  readonly filesDone: number;
  readonly bytesDone: number;
}

export interface ScanOptions {
  readonly onProgress?: (p: ScanProgress) => void;
  /** Called for each entry left out (a link, a special file, a name no overlay can carry). */
  readonly onSkip?: (path: string, why: string) => void;
  readonly signal?: AbortSignal;
}

export async function scanShared(paths: readonly string[], options: ScanOptions = {}): Promise<LocalFile[]> {
  const found: string[] = [];
  for (const p of paths) await walk(p, found, options, true);
  const out = new Map<string, LocalFile>();
  let bytesDone = 0;
  for (const path of found) {
    options.signal?.throwIfAborted();
    const name = basename(path);
    const { hash, size } = await hashFile(path, options.signal);
    bytesDone += size;
    if (!out.has(hash)) out.set(hash, { hash, name, size, path });
    options.onProgress?.({ file: path, filesDone: out.size, bytesDone });
  }
  return [...out.values()];
}

async function walk(path: string, found: string[], options: ScanOptions, top: boolean): Promise<void> {
  const st = await lstat(path);
  if (st.isSymbolicLink()) {
    if (top) throw Object.assign(new Error(`${path} is a symbolic link: share what it points to`), { code: 'ELINK' });
    options.onSkip?.(path, 'a symbolic link');
  } else if (st.isDirectory()) {
    const entries = await readdir(path);
    entries.sort();
    for (const e of entries) await walk(join(path, e), found, options, false);
  } else if (st.isFile()) {
    const why = badName(basename(path));
    if (why === undefined) found.push(path);
    else options.onSkip?.(path, `its name ${why}`);
  } else {
    options.onSkip?.(path, 'not a regular file');
  }
}

export async function hashFile(path: string, signal?: AbortSignal): Promise<{ hash: string; size: number }> {
  const h = createHash('sha1');
  let size = 0;
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024, ...(signal !== undefined && { signal }) });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    h.update(chunk);
    size += chunk.length;
  }
  return { hash: h.digest('hex'), size };
}
