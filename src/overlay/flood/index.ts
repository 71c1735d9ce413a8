/** The query-flooding overlay (docs/flood.md): messages, the forwarding rule, its cost, and the node. */
export { FLOOD_MAX_FRAME, FLOOD_MESSAGE_TYPES, floodCodec, ID_BYTES, MAX_ADDRESSES, MAX_REASON_BYTES, MAX_SOURCES, MAX_WIRE_TTL, type FloodMessage, type FloodMessageType } from './codec.js';
export { QueryRouter, SELF, type HitDecision, type NeighbourKey, type QueryDecision, type QueryRouterOptions } from './router.js';
export { floodCost, type FloodCost } from './graph.js';
export { FloodNode } from './node.js';
export { MAX_SEARCH_SOURCES, type FloodHit, type FloodJoinOptions, type FloodNodeOptions, type FloodSearchOptions, type FloodStats } from './types.js';
export type { MessageCounts } from './link.js';
