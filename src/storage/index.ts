/** Torrent data storage: the PieceStore port, the disk store (file mapping, path safety), memory and fault-injecting stores, resume data and recheck. */
export { StorageError, type PieceStore, type StorageErrorCode } from './types.js';
export { openFileStore, type FileStat, type FileStore, type FileStoreOptions, type StorageTorrent } from './file-store.js';
export { isInside, planPaths, type PathOptions, type PathTorrent } from './paths.js';
export { MemoryStore } from './memory-store.js';
export { FaultyStore, type Faults } from './faulty-store.js';
export { decodeResume, encodeResume, MAX_RESUME_BYTES, readResume, trustedPieces, writeResume, type ResumeData, type TrustOptions } from './resume.js';
export { recheckPieces, type RecheckFile, type RecheckFileInfo, type RecheckOptions } from './recheck.js';
export { bitfieldBytes, countBits, hasBit, setBit } from './bitfield.js';
