import { readFile, stat } from 'node:fs/promises';
import { DEFAULT_MAX_TORRENT, MetainfoError, parseTorrent, type Metainfo } from '../metainfo/index.js';
import { formatBytes } from './format.js';

/** The bytes of a .torrent, with a size cap and one-line errors. */
export async function readTorrentBytes(path: string): Promise<Uint8Array> {
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new MetainfoError('io', `${path} is not a file`);
    if (st.size > DEFAULT_MAX_TORRENT) throw new MetainfoError('bad-value', `${path} is ${formatBytes(st.size)}: too large for a .torrent`);
    return await readFile(path);
  } catch (e) {
    if (e instanceof MetainfoError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new MetainfoError('io', `${path}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(e))}`);
  }
}

/** Read and parse a .torrent. */
export async function readTorrentFile(path: string): Promise<Metainfo> {
  return parseTorrent(await readTorrentBytes(path));
}
