import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import type { Endpoint } from '../../net/index.js';
import type { LocalFile } from './scan.js';

/*
 * How overlay search results are downloaded: every sharing node runs a
 * small HTTP/1.1 server that serves each shared file at /sha1/<hash>, with
 * single byte-range requests (RFC 9110 section 14), so an interrupted
 * download resumes where it stopped. This is what Gnutella servents did
 * (GET /uri-res/N2R?urn:sha1:...), in today's HTTP.
 */

export interface FileServer {
  readonly address: Endpoint;
  /** Replace the set of files served. */
  setFiles(files: readonly LocalFile[]): void;
  /** Requests answered so far (any status), and file bytes read for them (a client that aborts may leave up to one buffer unsent). */
  readonly stats: { requests: number; bytesSent: number };
  close(): Promise<void>;
}

export async function serveFiles(files: readonly LocalFile[], host: string, port: number): Promise<FileServer> {
  let byHash = new Map(files.map((f) => [f.hash, f]));
  const stats = { requests: 0, bytesSent: 0 };
  const server = createServer((req, res) => {
    stats.requests++;
    handle(req, res, byHash, stats);
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const address = typeof addr === 'object' && addr !== null ? { host: addr.address, port: addr.port } : { host, port };
  return {
    address,
    setFiles: (next) => void (byHash = new Map(next.map((f) => [f.hash, f]))),
    stats,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function handle(req: IncomingMessage, res: ServerResponse, files: ReadonlyMap<string, LocalFile>, stats: { bytesSent: number }): void {
  const m = /^\/sha1\/([0-9a-f]{40})$/.exec(req.url ?? '');
  if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'only GET and HEAD', { allow: 'GET, HEAD' });
  const file = m === null ? undefined : files.get(m[1]!);
  if (file === undefined) return plain(res, 404, 'no such file here');
  let start = 0;
  let end = file.size - 1;
  let status = 200;
  const range = req.headers.range;
  if (range !== undefined) {
    const r = parseRange(range, file.size);
    if (r === 'unsatisfiable') return plain(res, 416, 'range not satisfiable', { 'content-range': `bytes */${file.size}` });
    if (r !== undefined) {
      [start, end] = r;
      status = 206;
    }
  }
  const headers: Record<string, string | number> = {
    'content-type': 'application/octet-stream',
    'content-length': Math.max(0, end - start + 1),
    'accept-ranges': 'bytes',
    'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(file.name)}`,
  };
  if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${file.size}`;
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || end < start) {
    res.end();
    return;
  }
  const stream = createReadStream(file.path, { start, end });
  stream.on('data', (chunk) => (stats.bytesSent += chunk.length));
  // pipeline, not pipe: a client that goes away mid-file closes the file too, instead of leaving it open.
  pipeline(stream, res, () => undefined);
}

/** One "bytes=a-b", "bytes=a-" or "bytes=-n" range; undefined for a header to ignore (several ranges, another unit). */
function parseRange(header: string, size: number): [number, number] | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return [Math.max(0, size - n), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return [start, end];
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(`${text}\n`);
}
