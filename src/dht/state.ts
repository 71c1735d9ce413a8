import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BencodeError, decode, encode } from '../bencode/index.js';
import { DhtError } from './errors.js';
import { decodeCompactNodes, encodeCompactNodes, ID_LENGTH, type Contact, type NodeId } from './node-id.js';

/*
 * What a node keeps across restarts (BEP 5 suggests keeping the id and the
 * table, so a restarted node rejoins where it was and does not need the
 * bootstrap routers):
 *
 *   d2:id20:<node id>5:nodes<26 bytes per node>e
 */

const MAX_STATE_LENGTH = 64 * 1024;
const MAX_SAVED_NODES = 1000;

export interface DhtState {
  readonly id: NodeId;
  readonly nodes: readonly Contact[];
}

export function encodeDhtState(s: DhtState): Uint8Array {
  return encode({ id: s.id, nodes: encodeCompactNodes(s.nodes.slice(0, MAX_SAVED_NODES)) });
}

/** Throws DhtError('bad-state') for anything but a state this module wrote. */
export function decodeDhtState(bytes: Uint8Array): DhtState {
  if (bytes.length > MAX_STATE_LENGTH) throw new DhtError('bad-state', `DHT state of ${bytes.length} bytes, the limit is ${MAX_STATE_LENGTH}`);
  let v;
  try {
    v = decode(bytes);
  } catch (e) {
    if (e instanceof BencodeError) throw new DhtError('bad-state', `DHT state is not bencode: ${e.message}`);
    throw e;
  }
  const id = v instanceof Map ? v.get('id') : undefined;
  const nodes = v instanceof Map ? v.get('nodes') : undefined;
  if (!(id instanceof Uint8Array) || id.length !== ID_LENGTH || !(nodes instanceof Uint8Array)) throw new DhtError('bad-state', 'DHT state without an id and nodes');
  return { id, nodes: decodeCompactNodes(nodes) };
}

/** Read a saved state; undefined when there is none. */
export async function readDhtState(path: string): Promise<DhtState | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return decodeDhtState(bytes);
}

/** Save atomically (write a temporary file, then rename). */
export async function writeDhtState(path: string, s: DhtState): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  await writeFile(tmp, encodeDhtState(s));
  await rename(tmp, path);
}
