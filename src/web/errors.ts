/*
 * The daemon's typed errors. A DaemonError carries the HTTP status the API
 * answers with, so a handler throws and the server turns it into
 * `{ "error": message, "code": code }` without guessing; the CLI prints one
 * at start-up (a bad daemon.json) as one line.
 */

export type DaemonErrorCode =
  | 'bad-config'
  | 'bad-state'
  | 'bad-request'
  | 'bad-json'
  | 'too-large'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'method'
  | 'conflict'
  | 'unsupported-type';

const STATUS: Record<DaemonErrorCode, number> = {
  'bad-config': 500,
  'bad-state': 500,
  'bad-request': 400,
  'bad-json': 400,
  'too-large': 413,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  method: 405,
  conflict: 409,
  'unsupported-type': 415,
};

export class DaemonError extends Error {
  override readonly name = 'DaemonError';
  readonly code: DaemonErrorCode;
  constructor(code: DaemonErrorCode, message: string) {
    super(message);
    this.code = code;
  }

  get status(): number {
    return STATUS[this.code];
  }
}
