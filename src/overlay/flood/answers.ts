import type { Endpoint } from '../../net/index.js';
import { badName, matches, type Query, type SharedFile, type Source } from '../common/shared.js';
import { MAX_SOURCES } from './codec.js';

/*
 * What a flood node answers with: its shared files that match a query, at
 * the address the asking neighbour reached it on. The files are checked
 * when they are set, because a hit with a name or hash the other side
 * rejects would get this node dropped as a peer that sends garbage.
 */

/** The files as they will be sent (path and other extra fields left out). Throws RangeError for one no peer would accept. */
export function shareable(files: readonly SharedFile[]): SharedFile[] {
  return files.map(({ hash, name, size }) => {
    const why = !/^[0-9a-f]{40}$/.test(hash) ? `its hash ${JSON.stringify(hash)} is not 40 lowercase hex digits` : !Number.isSafeInteger(size) || size < 0 ? `its size ${size} is not a byte count` : badName(name);
    if (why !== undefined) throw new RangeError(`${JSON.stringify(name)} cannot be shared: ${why.startsWith('its') ? why : `its name ${why}`}`);
    return { hash, name, size };
  });
}

/** Up to MAX_SOURCES matching files, served at `address`. */
export function answer(files: readonly SharedFile[], query: Query, address: Endpoint): Source[] {
  return files
    .filter((f) => matches(f, query))
    .slice(0, MAX_SOURCES)
    .map((f) => ({ ...f, address }));
}
