/** Bencode (BEP 3): the serialization of .torrent files, tracker responses and KRPC. */
export type { BDict, BEncodable, BValue, Span } from './types.js';
export { BencodeError, type BencodeErrorCode } from './errors.js';
export { decode, decodePrefix, decodeWithSpans, DEFAULT_MAX_DEPTH, DEFAULT_MAX_KEY_LENGTH, DEFAULT_MAX_SIZE, DEFAULT_MAX_VALUES, type DecodeOptions, type DecodedWithSpans } from './decode.js';
export { encode } from './encode.js';
export { binary, fromBinary, text, textLossless, textOrUndefined, utf8Bytes } from './text.js';
