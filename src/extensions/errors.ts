/**
 * Why an extension message (or a value a peer announced) was rejected.
 * Stable strings, for tests and callers.
 *
 * - `too-long`     a payload over the decoder's limit
 * - `bad-bencode`  the payload (or a data message's header) is not bencode
 * - `bad-message`  bencode, but not the message's shape: not a dictionary, a
 *                  required key missing or of the wrong type, a BEP 9 data
 *                  block over 16 KiB, bytes after a request or reject
 * - `bad-size`     a BEP 9 metadata size of 0 or over the assembler's limit
 */
export type ExtensionErrorCode = 'too-long' | 'bad-bencode' | 'bad-message' | 'bad-size';

/**
 * A peer sent an extension message (BEP 9, BEP 11) we cannot use; the
 * caller drops the message or the peer. `offset` is the byte position in the
 * given payload where the problem was found, when there is one.
 *
 * Encoders throw RangeError instead: a field that does not fit the protocol
 * is a bug in the caller, not a misbehaving peer.
 */
export class ExtensionError extends Error {
  override readonly name = 'ExtensionError';
  readonly code: ExtensionErrorCode;
  readonly offset: number | undefined;

  constructor(code: ExtensionErrorCode, message: string, offset?: number) {
    super(offset === undefined ? message : `${message} at byte ${offset}`);
    this.code = code;
    this.offset = offset;
  }
}
