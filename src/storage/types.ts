/*
 * The PieceStore port (DESIGN.md): the engine reads and writes torrent data
 * only through this, so the same engine runs on disk, in memory, and on a
 * store that injects faults.
 *
 * The engine keeps a piece's blocks in memory until the whole piece has
 * arrived and its SHA-1 matches, and only then calls `writePiece`: nothing
 * unverified ever reaches the store, so a crash or a full disk can never
 * leave a bad piece that looks complete.
 */

export type StorageErrorCode =
  /** No space left on the device (ENOSPC, EDQUOT). */
  | 'disk-full'
  /** A path the torrent names would leave the download folder, or collides with another file of the torrent. */
  | 'unsafe-path'
  /** Permission denied, read-only filesystem. */
  | 'access'
  /** Any other I/O failure. */
  | 'io'
  /** A read or write outside the torrent's pieces. */
  | 'range'
  /** The store was closed. */
  | 'closed'
  /** Resume data that cannot be decoded (resume.ts). */
  | 'bad-resume';

export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    /** The file concerned, when there is one. */
    readonly path?: string,
  ) {
    super(message);
  }
}

export interface PieceStore {
  /** Bytes `[begin, begin + length)` of piece `index`. Rejects with a StorageError. */
  read(index: number, begin: number, length: number): Promise<Uint8Array>;
  /** Store a whole piece, already verified against its hash. Rejects with a StorageError. The caller reuses `data` once this settles: copy it to keep it. */
  writePiece(index: number, data: Uint8Array): Promise<void>;
  /** Flush what was written and release files. Further calls reject with 'closed'. */
  close(): Promise<void>;
}
