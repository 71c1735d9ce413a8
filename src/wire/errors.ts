/**
 * Why a peer's bytes were rejected. Stable strings, for tests and callers.
 *
 * - `bad-handshake`  pstrlen is not 19 or the string is not "BitTorrent protocol"
 * - `too-long`       a length prefix over the decoder's `maxMessageLength`
 * - `bad-length`     a length that does not fit the message id (`have` with 5 bytes, ...)
 * - `bad-bitfield`   a bitfield of the wrong size or with spare bits set (BEP 3)
 * - `bad-extended`   a BEP 10 handshake that is not a bencoded dictionary
 */
export type WireErrorCode = 'bad-handshake' | 'too-long' | 'bad-length' | 'bad-bitfield' | 'bad-extended';

/**
 * A peer sent something the peer wire protocol does not allow; the
 * connection is dropped. `offset` is the byte position where the problem was
 * found: in the connection's stream for the decoder (counting from its first
 * byte, handshake included), in the given bytes for the other decoders.
 *
 * Encoders throw RangeError instead: a field that does not fit its wire
 * width is a bug in the caller, not a misbehaving peer.
 */
export class WireError extends Error {
  override readonly name = 'WireError';
  readonly code: WireErrorCode;
  readonly offset: number | undefined;

  constructor(code: WireErrorCode, message: string, offset?: number) {
    super(offset === undefined ? message : `${message} at byte ${offset}`);
    this.code = code;
    this.offset = offset;
  }
}
