import { lstat, readdir, realpath, rmdir, unlink } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { isInside, planPaths, type PathTorrent } from '../storage/index.js';
import type { DaemonPaths } from './config.js';
import { DaemonError } from './errors.js';

/*
 * Where the daemon reads and deletes on the API's say-so.
 *
 * What "share a local file or folder" may expose: what is inside it, and
 * nothing of the daemon's own (daemon.json holds the token). A symbolic link
 * inside a shared folder would put whatever it points at in the torrent, and
 * the file store, which never follows a link out of a torrent's folder,
 * could not seed it anyway: such a folder is refused, naming the link. The
 * path given may itself be a link: what it points at is shared.
 *
 * Where a torrent may be saved (a savePath from the API): any absolute
 * folder but the daemon's own, where a torrent's files could overwrite
 * daemon.json or torrents.json.
 *
 * What "remove and delete the data" may touch: the files the torrent names,
 * where the file store put them (storage's planPaths, the same plan), and
 * nothing else. A torrent's folder can hold files that are not the
 * torrent's (a folder of the same name that was there before, notes the
 * user added): they stay, and so do the folders that hold them. A folder on
 * the way that is a symbolic link is not followed: the store never wrote
 * through one leading elsewhere, so nothing of the torrent's is behind it.
 */

/** Delete `torrent`'s files below `savePath`, then the folders of the torrent that are left empty. */
export async function deleteTorrentFiles(torrent: PathTorrent, savePath: string): Promise<void> {
  const base = resolve(savePath);
  const plan = planPaths(torrent);
  const realFolder = new Map<string, boolean>();
  const isRealFolder = async (path: string): Promise<boolean> => {
    let known = realFolder.get(path);
    if (known === undefined) {
      known = (await lstat(path).catch(() => undefined))?.isDirectory() === true;
      realFolder.set(path, known);
    }
    return known;
  };
  const folders = new Set<string>();
  for (const [i, components] of plan.entries()) {
    if (torrent.files[i]?.padding === true) continue; // never created
    const ancestors = components.slice(0, -1).map((_, k) => join(base, ...components.slice(0, k + 1)));
    let reachable = true;
    for (const dir of ancestors) if (!(reachable = reachable && (await isRealFolder(dir)))) break;
    if (!reachable) continue;
    for (const dir of ancestors) folders.add(dir);
    const file = join(base, ...components);
    // A regular file only: a link or a folder in the file's place is not what the store wrote.
    if ((await lstat(file).catch(() => undefined))?.isFile() === true) await unlink(file);
  }
  // Deepest first (a folder's path is longer than its parent's); one that still holds something is kept.
  for (const dir of [...folders].sort((a, b) => b.length - a.length)) {
    await rmdir(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST' && e.code !== 'ENOENT') throw e;
    });
  }
}

/**
 * The real path of the file or folder to share, once it is known to hold no
 * symbolic link and none of `privatePaths` (the daemon's config and state).
 */
export async function shareablePath(path: string, privatePaths: readonly string[]): Promise<string> {
  const full = await realpath(path).catch(() => undefined);
  const st = full === undefined ? undefined : await lstat(full);
  if (full === undefined || st === undefined || !(st.isFile() || st.isDirectory())) throw new DaemonError('bad-request', `${path}: no such file or folder`);
  for (const p of privatePaths) {
    const mine = await realpath(p).catch(() => resolve(p));
    if (isInside(full, mine) || isInside(mine, full)) throw new DaemonError('bad-request', `${full} holds the daemon's own files (${mine}: its token and state), which are never shared`);
  }
  if (st.isDirectory()) await refuseLinks(full);
  return full;
}

async function refuseLinks(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isSymbolicLink()) throw new DaemonError('bad-request', `${p} is a symbolic link: only what is inside the folder can be shared (share what it points at on its own, or copy it in)`);
    if (entry.isDirectory()) await refuseLinks(p);
  }
}

/** A savePath from the API, absolute and normalised; one that is not a folder name, or is the daemon's own, is a bad request. */
export function checkSavePath(savePath: string, paths: Pick<DaemonPaths, 'configDir' | 'dataDir' | 'torrentsDir' | 'resumeDir'>): string {
  if (!isAbsolute(savePath)) throw new DaemonError('bad-request', `savePath must be absolute: ${JSON.stringify(savePath)}`);
  if (savePath.includes('\0')) throw new DaemonError('bad-request', 'savePath contains a NUL character');
  const full = resolve(savePath);
  const own = full === resolve(paths.dataDir) || [paths.configDir, paths.torrentsDir, paths.resumeDir].some((p) => isInside(resolve(p), full));
  if (own) throw new DaemonError('bad-request', `savePath ${full} is the daemon's own folder (its config or state): choose another`);
  return full;
}
