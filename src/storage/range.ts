import type { FileLayout } from '../metainfo/index.js';
import { StorageError } from './types.js';

/* Argument checks shared by the stores: the engine's mistakes are 'range' errors, never silent. */

/** Throw 'range' unless `[begin, begin + length)` lies inside piece `index`. */
export function checkRead(layout: FileLayout, index: number, begin: number, length: number): void {
  checkIndex(layout, index);
  const size = layout.pieceSize(index);
  if (!Number.isInteger(begin) || !Number.isInteger(length) || begin < 0 || length < 0 || begin + length > size) {
    throw new StorageError('range', `bytes ${begin}+${length} are outside piece ${index} (${size} bytes)`);
  }
}

/** Throw 'range' unless `data` is exactly piece `index`. */
export function checkWrite(layout: FileLayout, index: number, data: Uint8Array): void {
  checkIndex(layout, index);
  const size = layout.pieceSize(index);
  if (data.length !== size) throw new StorageError('range', `piece ${index} is ${size} bytes, not ${data.length}`);
}

function checkIndex(layout: FileLayout, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= layout.pieceCount) {
    throw new StorageError('range', `no piece ${index} (the torrent has ${layout.pieceCount})`);
  }
}
