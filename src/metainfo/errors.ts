/** Why a .torrent, a magnet link or a create request was rejected. */
export type MetainfoErrorCode =
  | 'bencode'
  | 'missing-field'
  | 'wrong-type'
  | 'bad-value'
  | 'unsafe-path'
  | 'unsupported'
  | 'bad-magnet'
  | 'io';

/**
 * A metainfo problem, with the field it concerns (`info.files[3].path`) when
 * there is one. Decoding errors keep the byte offset of the bencode error.
 */
export class MetainfoError extends Error {
  override readonly name = 'MetainfoError';
  readonly code: MetainfoErrorCode;
  readonly field: string | undefined;
  readonly offset: number | undefined;

  constructor(code: MetainfoErrorCode, message: string, details: { field?: string; offset?: number; cause?: unknown } = {}) {
    super(details.field !== undefined ? `${details.field}: ${message}` : message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.code = code;
    this.field = details.field;
    this.offset = details.offset;
  }
}
