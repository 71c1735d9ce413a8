/** The super-peer overlay (docs/superpeer.md): leaders that index their members' files and flood queries among themselves. */
export { chunkFiles, MAX_BATCH_BYTES, MAX_BATCH_FILES, MAX_HIT_SOURCES, MAX_LEADER_LIST, MESSAGE_TYPES, superPeerCodec, type LeaderInfo, type MessageType, type SuperPeerMessage } from './codec.js';
export { IndexStore, wordsOf, type IndexStoreOptions } from './index-store.js';
export { KnownLeaders, type KnownLeader } from './known-leaders.js';
export { SuperPeerLeader } from './leader.js';
export type { SuperPeerLeaderOptions } from './leader-options.js';
export { SuperPeerMember, type SuperPeerMemberEvent, type SuperPeerMemberOptions } from './member.js';
export type { SuperPeerStats } from './peer.js';
export { HitCollector, searchLeaders, type SearchClientOptions, type SearchHit, type SearchOptions, type SearchResult } from './search.js';
