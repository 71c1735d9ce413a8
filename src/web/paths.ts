import { lstat, rmdir, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { planPaths, type PathTorrent } from '../storage/index.js';

/*
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
