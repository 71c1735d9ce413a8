/** The BitTorrent engine: sessions, torrents, peer connections, and the picker and choker policies that drive them. */
export { Session, CLIENT_TAG, type SessionComponents, type SessionOptions } from './session.js';
export { Torrent, type TorrentEvent, type TorrentOptions, type TorrentState } from './torrent.js';
export { fetchMetadata, type FetchedMetadata, type FetchEvent, type FetchOptions } from './metadata-fetch.js';
export { clientName, type PeerConnection } from './peer.js';
export { PiecePicker, requestQueueDepth, requestQueueTime, type BlockRef, type PeerKey, type PieceOrderMode, type PiecePickerInit } from './picker.js';
export { Choker, type ChokeCandidate, type ChokeDecision, type ChokerInit } from './choker.js';
export { RateMeter, takeAll, TokenBucket } from './rate.js';
