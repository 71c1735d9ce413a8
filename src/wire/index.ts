/** The peer wire protocol (BEP 3, BEP 5 port, BEP 6 fast extension, BEP 10 extension protocol): handshake, message codec and stream decoder. */
export { WireError, type WireErrorCode } from './errors.js';
export { decodeMessage, encodeMessage, encodePieceHeader, KEEP_ALIVE, MessageId, PIECE_HEADER_LENGTH, type Message, type MessageType } from './messages.js';
export { decodeHandshake, encodeHandshake, extensionsOf, HANDSHAKE_LENGTH, PROTOCOL, reservedFor, type Extensions, type Handshake } from './handshake.js';
export { DEFAULT_MAX_MESSAGE_LENGTH, WireDecoder, type WireDecoderOptions } from './decoder.js';
export { decodeExtendedHandshake, encodeExtended, encodeExtendedHandshake, EXTENDED_HANDSHAKE_ID, MAX_EXTENDED_HANDSHAKE_LENGTH, type ExtendedHandshake } from './extended.js';
export { Bitfield } from './bitfield.js';
