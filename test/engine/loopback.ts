import type { Torrent, TorrentEvent } from '../../src/engine/index.js';
import type { Metainfo } from '../../src/metainfo/index.js';
import type { MemoryStore } from '../../src/storage/index.js';

/* What the tests that run whole engines on loopback share. */

/** The next event of `type` from `t`. */
export function until(t: Torrent, type: TorrentEvent['type']): Promise<TorrentEvent> {
  return new Promise((resolve) => {
    const off = t.on((e) => {
      if (e.type === type) {
        off();
        resolve(e);
      }
    });
  });
}

/** Every byte of the torrent in `store`, in order. */
export async function readAll(store: MemoryStore, m: Metainfo): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < m.pieceCount; i++) parts.push(await store.read(i, 0, m.layout.pieceSize(i)));
  return Buffer.concat(parts);
}
