/** The mainline DHT (BEP 5) with BEP 42 node ids and BEP 44 storage: KRPC codec, routing table, lookups, storage, node. */
export { DhtError, type DhtErrorCode } from './errors.js';
export { decodeKrpc, encodeError, encodeQuery, encodeResponse, KrpcErrorCode, MAX_KRPC_LENGTH, type KrpcMessage } from './krpc.js';
export { commonPrefixLength, compareDistance, crc32c, decodeCompactNodes, encodeCompactNodes, idFromHex, idHex, isExemptAddress, isSecureId, randomId, secureId, type Contact, type NodeId } from './node-id.js';
export { K, nodeState, RoutingTable, type NodeState } from './routing-table.js';
export { lookup, type LookupOptions, type LookupResult } from './lookup.js';
export { Rpc, type RpcStats } from './rpc.js';
export { TokenIssuer } from './tokens.js';
export { PeerStore } from './peer-store.js';
export { immutableTarget, ItemError, ItemStore, MAX_ITEM_VALUE_LENGTH, MAX_SALT_LENGTH, mutableTarget, signedPayload, signMutable, validImmutable, validMutable, type MutableItem, type StoredItem } from './items.js';
export { formatKeyFile, generateKeys, KeyFileError, keysFromSeed, parseKeyFile, verifySignature, type Ed25519Keys } from './keys.js';
export { decodeDhtState, encodeDhtState, readDhtState, writeDhtState, type DhtState } from './state.js';
export { DhtNode, type DhtNodeOptions, type DhtStats, type ItemResult, type PeersResult, type PutResult } from './node.js';
