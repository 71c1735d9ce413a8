/** Why a tracker request or response was rejected. */
export type TrackerErrorCode = 'malformed' | 'bad-param' | 'not-allowed' | 'failure' | 'timeout' | 'network';

/**
 * A tracker-protocol problem. On the server it becomes a `failure reason`
 * (HTTP) or an error packet (UDP); on the client it is what an announce
 * rejects with. `offset` is the byte position in a packet, when there is one.
 */
export class TrackerError extends Error {
  override readonly name = 'TrackerError';
  readonly code: TrackerErrorCode;
  readonly offset: number | undefined;

  constructor(code: TrackerErrorCode, message: string, offset?: number) {
    super(message);
    this.code = code;
    this.offset = offset;
  }
}
