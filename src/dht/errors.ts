export type DhtErrorCode =
  /** A datagram that is not a well-formed KRPC message. */
  | 'bad-message'
  /** The remote node answered with a KRPC error. */
  | 'remote-error'
  /** No answer in time. */
  | 'timeout'
  /** The node is closed. */
  | 'closed'
  /** A lookup found no node to ask (no bootstrap, or none answered). */
  | 'no-nodes'
  /** A saved state file that cannot be used. */
  | 'bad-state';

export class DhtError extends Error {
  override readonly name = 'DhtError';
  constructor(
    readonly code: DhtErrorCode,
    message: string,
    /** For 'remote-error': the KRPC error code (201-204, 205-207, 301, 302). */
    readonly remoteCode?: number,
  ) {
    super(message);
  }
}
