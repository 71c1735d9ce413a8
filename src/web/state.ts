import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { parseMagnet } from '../metainfo/index.js';
import { writeAtomic } from './config.js';
import type { FilePriority } from './api-types.js';
import { DaemonError } from './errors.js';

/*
 * The daemon's list of torrents, kept in torrents.json so that everything
 * comes back after a restart: which torrents, where their data is, whether
 * they were paused, the file priorities, and the totals moved so far (for
 * the ratio). The .torrent files themselves are kept beside it, one per info
 * hash; a magnet link whose metadata has not arrived yet is kept as the link.
 */

export type { FilePriority } from './api-types.js';
export const FILE_PRIORITIES: readonly FilePriority[] = ['skip', 'normal', 'high'];

export interface SavedTorrent {
  readonly infoHash: string;
  /** The folder that holds the torrent's top-level file or folder. */
  readonly savePath: string;
  /** The name on disk, when it is not the torrent's own (a shared folder whose name was made safe). */
  readonly name?: string;
  readonly paused: boolean;
  /** ms since the epoch. */
  readonly addedAt: number;
  /** Set until the metadata of a magnet link arrived. */
  readonly magnet?: string;
  /** Per file, in the torrent's order; absent: all normal. */
  readonly priorities?: readonly FilePriority[];
  /** Payload bytes moved in earlier runs. */
  readonly uploaded: number;
  readonly downloaded: number;
}

interface StateFile {
  readonly version: 1;
  readonly torrents: readonly SavedTorrent[];
}

/** Far more than any real list (10,000 torrents of ~300 bytes). */
const MAX_STATE_BYTES = 16 * 1024 * 1024;

export async function readState(path: string): Promise<SavedTorrent[]> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  try {
    return parseState(path, raw);
  } catch (e) {
    // Said at start, and the daemon stops there: a list it cannot read is never overwritten with an empty one.
    if (e instanceof DaemonError) throw new DaemonError('bad-state', `${e.message}: fix it, or move it away to start with no torrents (nothing was changed)`);
    throw e;
  }
}

function parseState(path: string, raw: string): SavedTorrent[] {
  if (raw.length > MAX_STATE_BYTES) throw new DaemonError('bad-state', `${path} is larger than ${MAX_STATE_BYTES} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new DaemonError('bad-state', `${path} is not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const list = (v as Partial<StateFile> | null)?.torrents;
  if (!Array.isArray(list)) throw new DaemonError('bad-state', `${path}: expected { "version": 1, "torrents": [...] }`);
  const saved = list.map((t, i) => checkSaved(t, `${path}: torrents[${i}]`));
  const seen = new Set<string>();
  for (const t of saved) {
    if (seen.has(t.infoHash)) throw new DaemonError('bad-state', `${path}: torrent ${t.infoHash} is listed twice`);
    seen.add(t.infoHash);
  }
  return saved;
}

export async function writeState(path: string, torrents: readonly SavedTorrent[]): Promise<void> {
  const file: StateFile = { version: 1, torrents };
  await writeAtomic(path, `${JSON.stringify(file, null, 1)}\n`);
}

function checkSaved(t: unknown, where: string): SavedTorrent {
  if (typeof t !== 'object' || t === null) throw new DaemonError('bad-state', `${where}: not an object`);
  const o = t as Record<string, unknown>;
  const infoHash = o['infoHash'];
  if (typeof infoHash !== 'string' || !/^[0-9a-f]{40}$/.test(infoHash)) throw new DaemonError('bad-state', `${where}: bad infoHash`);
  const savePath = o['savePath'];
  // The folder data is deleted from (remove with data) and the name below it: never relative, never more than one name.
  if (typeof savePath !== 'string' || !isAbsolute(savePath) || savePath.includes('\0')) throw new DaemonError('bad-state', `${where}: savePath must be an absolute path`);
  const name = o['name'];
  if (name !== undefined && (typeof name !== 'string' || !isOneName(name))) throw new DaemonError('bad-state', `${where}: name must be a file or folder name, not a path`);
  const magnet = o['magnet'];
  if (magnet !== undefined && (typeof magnet !== 'string' || magnetHash(magnet) !== infoHash)) throw new DaemonError('bad-state', `${where}: magnet must be a magnet link for ${infoHash}`);
  const num = (k: string): number => (typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : 0);
  const priorities = Array.isArray(o['priorities']) ? (o['priorities'] as unknown[]).map((p) => (FILE_PRIORITIES.includes(p as FilePriority) ? (p as FilePriority) : 'normal')) : undefined;
  return {
    infoHash,
    savePath,
    ...(name !== undefined && { name }),
    paused: o['paused'] === true,
    addedAt: num('addedAt'),
    ...(magnet !== undefined && { magnet }),
    ...(priorities !== undefined && { priorities }),
    uploaded: num('uploaded'),
    downloaded: num('downloaded'),
  };
}

function isOneName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

function magnetHash(link: string): string | undefined {
  try {
    return parseMagnet(link).infoHashHex;
  } catch {
    return undefined;
  }
}
