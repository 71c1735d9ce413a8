/** Why a bencoded input was rejected. Stable strings, for tests and callers. */
export type BencodeErrorCode =
  | 'truncated'
  | 'unexpected-byte'
  | 'leading-zero'
  | 'negative-zero'
  | 'integer-too-long'
  | 'string-too-long'
  | 'unsorted-keys'
  | 'duplicate-key'
  | 'too-deep'
  | 'too-large'
  | 'trailing-data'
  | 'unencodable';

/**
 * A bencode input (or value) that cannot be processed. `offset` is the byte
 * position in the input where the problem was found (-1 when encoding).
 */
export class BencodeError extends Error {
  override readonly name = 'BencodeError';
  readonly code: BencodeErrorCode;
  readonly offset: number;

  constructor(code: BencodeErrorCode, message: string, offset: number) {
    super(offset >= 0 ? `${message} at byte ${offset}` : message);
    this.code = code;
    this.offset = offset;
  }
}
