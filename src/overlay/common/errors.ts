/** Why an overlay operation failed. Stable strings, for tests and callers. */
export type OverlayErrorCode =
  /** A frame or message that does not follow the documented format (docs/). */
  | 'bad-message'
  /** A frame over the size limit, or a download larger than the caller accepts. */
  | 'too-large'
  /** The connection or node is closed. */
  | 'closed'
  /** No answer in time. */
  | 'timeout'
  /** Nobody to ask: the server, leader or peers could not be reached. */
  | 'unreachable'
  /** A download whose bytes do not hash to the content hash, or a source that does not have them. */
  | 'bad-content'
  /** A target file already exists with other content. */
  | 'exists'
  /** The local disk refused a download (no space, no permission, read-only): another source would not help. */
  | 'disk';

export class OverlayError extends Error {
  override readonly name = 'OverlayError';
  constructor(
    readonly code: OverlayErrorCode,
    message: string,
    /** For 'bad-message' and 'too-large': the byte offset in the stream or frame where the problem was found, else -1. */
    readonly offset = -1,
  ) {
    super(offset >= 0 ? `${message} at byte ${offset}` : message);
  }
}
