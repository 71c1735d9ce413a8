/** .torrent metainfo (BEP 3, 12, 19, 27, 47), magnet links (BEP 9, 53), creation and piece hashing. */
export { MetainfoError, type MetainfoErrorCode } from './errors.js';
export { DEFAULT_MAX_TORRENT, MAX_FILES, parseTorrent, type Metainfo, type ParseOptions, type TorrentFile } from './parse.js';
export { FileLayout, type FileSlice, type LayoutFile } from './layout.js';
export { safeComponent, safePath } from './path.js';
export {
  autoPieceLength,
  checkPieceLength,
  collectFiles,
  comparePaths,
  createTorrent,
  MAX_PIECE_LENGTH,
  MIN_PIECE_LENGTH,
  type CreatedTorrent,
  type CreateOptions,
  type SourceFile,
} from './create.js';
export { torrentFromInfo } from './from-info.js';
export { hashPieces, type HashOptions, type HashSource } from './hash-pool.js';
export { base32Encode, formatMagnet, isMagnet, parseMagnet, type FileRange, type Magnet, type MagnetInput } from './magnet.js';
