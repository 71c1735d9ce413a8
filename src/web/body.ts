import type { IncomingMessage } from 'node:http';
import { DaemonError } from './errors.js';

/*
 * Request bodies, bounded: read at most `limit` bytes (a longer body is a
 * 413 before it is read to the end), JSON that must be an object, and the
 * one file of a multipart/form-data upload (the UI's "add a .torrent").
 */

export const MAX_JSON_BODY = 64 * 1024;

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new DaemonError('too-large', `the body is ${declared} bytes; at most ${limit} are accepted here`);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    n += b.length;
    if (n > limit) {
      req.resume();
      throw new DaemonError('too-large', `the body is larger than ${limit} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks, n);
}

/** A JSON object body; anything else is a 400 that says what was wrong. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new DaemonError('unsupported-type', `expected Content-Type: application/json, got ${JSON.stringify(type || 'none')}`);
  const body = await readBody(req, MAX_JSON_BODY);
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new DaemonError('bad-json', `the body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DaemonError('bad-json', 'the body must be a JSON object');
  return v as Record<string, unknown>;
}

export interface FormPart {
  readonly name: string;
  readonly filename: string | undefined;
  readonly data: Buffer;
}

const MAX_PARTS = 16;

/**
 * Split a multipart/form-data body (RFC 7578) into its parts. Only what a
 * browser's FormData sends is handled: a boundary, each part's
 * Content-Disposition with name and perhaps filename, then the bytes.
 *
 *   --B\r\nContent-Disposition: form-data; name="torrent"; filename="a.torrent"\r\n
 *   Content-Type: application/x-bittorrent\r\n\r\n<bytes>\r\n--B--\r\n
 */
export function parseMultipart(body: Buffer, contentType: string): FormPart[] {
  const m = /boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (boundary === undefined) throw new DaemonError('bad-request', 'multipart/form-data without a boundary');
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: FormPart[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) throw new DaemonError('bad-request', 'multipart body without its boundary');
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === '--') break; // the closing delimiter
    if (body.subarray(at, at + 2).toString() !== '\r\n') throw new DaemonError('bad-request', 'malformed multipart body');
    at += 2;
    const headEnd = body.indexOf('\r\n\r\n', at);
    if (headEnd < 0) throw new DaemonError('bad-request', 'malformed multipart part: no end of headers');
    const head = body.subarray(at, headEnd).toString('utf8');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headEnd + 4);
    if (next < 0) throw new DaemonError('bad-request', 'malformed multipart body: a part does not end');
    const disposition = /^content-disposition:\s*form-data(.*)$/im.exec(head)?.[1] ?? '';
    const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined) throw new DaemonError('bad-request', 'a multipart part has no name');
    const filename = /;\s*filename="([^"]*)"/i.exec(disposition)?.[1];
    parts.push({ name, filename, data: body.subarray(headEnd + 4, next) });
    if (parts.length > MAX_PARTS) throw new DaemonError('bad-request', `more than ${MAX_PARTS} parts in the form`);
    at = next + 2;
  }
  return parts;
}
