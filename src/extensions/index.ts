/** Extension-protocol extensions (BEP 10 messages): ut_metadata (BEP 9, metadata exchange) and ut_pex (BEP 11, peer exchange). */
export { ExtensionError, type ExtensionErrorCode } from './errors.js';
export {
  decodeMetadataMessage,
  encodeMetadataMessage,
  MAX_METADATA_MESSAGE_LENGTH,
  MAX_METADATA_SIZE,
  METADATA_PIECE_LENGTH,
  MetadataAssembler,
  metadataPieceCount,
  metadataPieceLength,
  metadataReply,
  UT_METADATA,
  type DecodedMetadataMessage,
  type MetadataAddResult,
  type MetadataMessage,
  type UnknownMetadataMessage,
} from './ut-metadata.js';
export { decodePex, encodePex, MAX_PEX_PAYLOAD, MAX_PEX_PEERS, PEX_INTERVAL_MS, PEX_MAX_PER_MESSAGE, PexFlag, PexState, UT_PEX, type PexAddress, type PexMessage, type PexPeer, type PexStateOptions } from './ut-pex.js';
