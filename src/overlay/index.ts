/** The classic search overlays (docs/overlays.md): the shared framing, files and downloads, and each overlay in its folder. */
export { OverlayError, type OverlayErrorCode } from './common/errors.js';
export { encodeFrame, FrameDecoder, MAX_FRAME } from './common/frame.js';
export { compactEndpoint, Fields } from './common/fields.js';
export { Channel, type ChannelCounters, type ChannelOptions, type Codec } from './common/channel.js';
export { badName, decodeFile, decodeSource, encodeFile, encodeSource, formatEndpoint, isContentHash, matches, MAX_NAME_BYTES, MAX_QUERY_BYTES, parseQuery, queryText, sourceKey, type Query, type SharedFile, type Source } from './common/shared.js';
export { hashFile, scanShared, type LocalFile, type ScanOptions, type ScanProgress } from './files/scan.js';
export { serveFiles, type FileServer } from './files/server.js';
export { downloadFile, downloadFromAny, type DownloadOptions, type Downloaded } from './files/download.js';
