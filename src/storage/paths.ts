import { lstat, mkdir, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { fsError } from './errors.js';
import { StorageError } from './types.js';

/*
 * Where each file of a torrent goes, and how we make sure it stays there.
 *
 * src/metainfo/path.ts already refused `..`, absolute paths and NUL at parse
 * time; a torrent can also reach the store by other routes (a magnet's
 * metadata, a test, a future v2 file tree), so the checks are repeated here
 * (defence in depth), and three more things are handled:
 *
 * - Names Windows cannot hold (`windowsSafe`): the characters <>:"|?* and
 *   controls become `_`, trailing dots and spaces become `_` (Windows would
 *   silently drop them), and reserved device names get a `_` after the
 *   device word (`CON.txt` -> `CON_.txt`, `com1` -> `com1_`).
 * - Collisions: macOS and Windows fold case, and macOS folds Unicode
 *   normalisation, so `Readme` and `README`, or `café` in NFC and NFD, would
 *   be one file there and the second would overwrite the first. Names are
 *   compared after NFC + lower case on every platform (so a torrent lands the
 *   same way everywhere), and a later file that collides with an earlier
 *   name gets `_1` (then `_2`, ...) before its extension: `README_1.txt`.
 *   Folders that collide are merged, as such a file system would, keeping
 *   the first spelling (`Docs/a`, `docs/b` -> `Docs/a`, `Docs/b`); a folder
 *   that collides with a file is renamed like a file.
 * - Symlinks (SafeFolders): a folder on the way that is a symlink leading out
 *   of the download folder is refused, and files are opened with O_NOFOLLOW
 *   (where there is one: Windows has none, and needs privileges to make links),
 *   so a hostile torrent, or a hostile link planted in the download folder,
 *   cannot make us write or serve a file elsewhere. What is left is a race
 *   (a folder swapped for a link between the check and the open) that only
 *   someone who can already write to the download folder can win: Node has
 *   no openat() to close it.
 */

export interface PathTorrent {
  readonly name: string;
  readonly multiFile: boolean;
  readonly files: readonly { readonly path: readonly string[]; readonly padding: boolean }[];
}

export interface PathOptions {
  /** Rewrite names Windows cannot hold. @default process.platform === 'win32' */
  readonly windowsSafe?: boolean;
}

/** One folder's names while planning: the folders already made (by folded name) and every name in use, folded. */
class Folder {
  readonly folders = new Map<string, { readonly name: string; readonly folder: Folder }>();
  private readonly taken = new Set<string>();

  /** `wanted`, or the first free `wanted_N`, marked as used. */
  claim(wanted: string): string {
    let name = wanted;
    for (let n = 1; this.taken.has(fold(name)); n++) name = suffixed(wanted, n);
    this.taken.add(fold(name));
    return name;
  }
}

/**
 * The path components of each file below the download folder, in torrent
 * order: `[name]` for a single file, `[name, ...path]` for a multi-file
 * torrent, made safe and collision-free. Pure and deterministic.
 */
export function planPaths(torrent: PathTorrent, options: PathOptions = {}): string[][] {
  const windowsSafe = options.windowsSafe ?? process.platform === 'win32';
  const clean = (c: string): string => safeName(c, windowsSafe);
  if (!torrent.multiFile) return [[clean(torrent.name)]];
  const top = clean(torrent.name);
  const root = new Folder();
  return torrent.files.map((file) => {
    if (file.path.length === 0) throw new StorageError('unsafe-path', 'a file has an empty path');
    const out = [top];
    let at = root;
    const folders = file.path.slice(0, -1);
    const last = file.path[file.path.length - 1]!;
    if (file.padding) {
      // BEP 47 padding files are never created: they get a path (to report) but claim no name.
      for (const c of folders) {
        const known = at.folders.get(fold(clean(c)));
        out.push(known?.name ?? clean(c));
        at = known?.folder ?? new Folder();
      }
      out.push(clean(last));
      return out;
    }
    for (const c of folders) {
      // Folders that fold to the same name are one folder (as they would be on macOS or Windows): the first spelling wins.
      const key = fold(clean(c));
      let known = at.folders.get(key);
      if (known === undefined) {
        known = { name: at.claim(clean(c)), folder: new Folder() };
        at.folders.set(key, known);
      }
      out.push(known.name);
      at = known.folder;
    }
    out.push(at.claim(clean(last)));
    return out;
  });
}

const RESERVED = /^(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|COM[0-9¹²³]|LPT[0-9¹²³])(?= *(\.|$))/i;

/** One path component, checked and made safe (see the header). */
export function safeName(component: string, windowsSafe: boolean): string {
  if (component === '' || component === '.' || component === '..') {
    throw new StorageError('unsafe-path', `path component ${JSON.stringify(component)} is not allowed`);
  }
  if (component.includes('\0')) throw new StorageError('unsafe-path', 'path component contains NUL');
  let name = component.replace(/[/\\]/g, '_');
  if (windowsSafe) {
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is being removed
    name = name.replace(/[<>:"|?*\x00-\x1f]/g, '_');
    name = name.replace(/[. ]+$/, (tail) => '_'.repeat(tail.length));
    name = name.replace(RESERVED, '$1_');
  }
  return name;
}

/** The name compared for collisions: what a case-folding, normalising file system would see. */
export function fold(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/** `name` with `_n` before its extension: `a.txt` -> `a_1.txt`, `.bashrc` -> `.bashrc_1`, `README` -> `README_1`. */
function suffixed(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)}_${n}${name.slice(dot)}` : `${name}_${n}`;
}

/** Whether `path` is `root` or below it (both absolute). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Creates and checks the folders below the download folder. Each folder is
 * checked once per store: missing ones are created one level at a time (a
 * recursive mkdir would follow a hostile link before we could look at it),
 * and a symlink is followed only when its real path is inside the download
 * folder.
 */
export class SafeFolders {
  private readonly verified = new Set<string>();

  constructor(
    /** The download folder as the user named it (absolute). */
    private readonly base: string,
    /** Its real path, symlinks resolved. */
    private readonly realRoot: string,
  ) {}

  /** Make sure the folder `base/...components` is safe, and exists when `create`. */
  async ensure(components: readonly string[], create: boolean): Promise<void> {
    let at = this.base;
    for (const c of components) {
      at = join(at, c);
      if (this.verified.has(at)) continue;
      await this.check(at, create);
      this.verified.add(at);
    }
  }

  private async check(path: string, create: boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let st;
      try {
        st = await lstat(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !create) throw fsError(e, 'open folder', path);
        try {
          await mkdir(path);
          return;
        } catch (e2) {
          // Someone (another write of ours) made it first: look again.
          if ((e2 as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw fsError(e2, 'create folder', path);
          continue;
        }
      }
      if (st.isDirectory()) return;
      if (st.isSymbolicLink()) {
        let real: string;
        try {
          real = await realpath(path);
        } catch (e) {
          throw fsError(e, 'resolve', path);
        }
        if (!isInside(this.realRoot, real)) {
          throw new StorageError('unsafe-path', `${path} is a symbolic link to ${real}, outside the download folder`, path);
        }
        return;
      }
      throw new StorageError('io', `${path} is in the way of a folder`, path);
    }
  }
}
