/*
 * The daemon's typed errors. An AppError carries the HTTP status the API
 * answers with, so a handler throws and the router turns it into
 * `{ "error": message }` without guessing.
 */

export type AppErrorCode =
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

const STATUS: Record<AppErrorCode, number> = {
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

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: AppErrorCode;
  constructor(code: AppErrorCode, message: string) {
    super(message);
    this.code = code;
  }

  get status(): number {
    return STATUS[this.code];
  }
}
