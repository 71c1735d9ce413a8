import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream';
import type { Endpoint } from '../../net/index.js';
import type { LocalFile } from './scan.js';

/*
 * How overlay search results are downloaded: every sharing node runs a
 * small HTTP/1.1 server that serves each shared file at /sha1/<hash>, with
 * single byte-range requests (RFC 9110 section 14), so an interrupted
 * download resumes where it stopped. This is what Gnutella servents did
 * (GET /uri-res/N2R?urn:sha1:...), in today's HTTP.
 *
 * The server is open to anyone, so it is bounded: a connection on which
 * nothing moves for `idleTimeoutMs` (a client that stops reading, or never
 * sends its request) is destroyed, and its file closed; at most
 * `maxConnections` connections are open at once (more are dropped by
 * node:http), and at most `maxPerAddress` from one address (a request on
 * one more is answered 503 and the connection closed).
 */

export interface FileServerOptions {
  /** A connection that neither sends nor takes a byte for this long is destroyed. @default 30_000 */
  readonly idleTimeoutMs?: number;
  /** Connections open at once, over all clients. @default 64 */
  readonly maxConnections?: number;
  /** Connections open at once from one address; a request on one more is answered 503. @default 8 */
  readonly maxPerAddress?: number;
}

export interface FileServer {
  readonly address: Endpoint;
  /** Replace the set of files served. */
  setFiles(files: readonly LocalFile[]): void;
  /** Requests answered so far (any status), and file bytes read for them (a client that aborts may leave up to one buffer unsent). */
  readonly stats: FileServerStats;
  close(): Promise<void>;
}

export interface FileServerStats {
  /** Requests answered so far (any status). */
  requests: number;
  /** File bytes read for them (a client that aborts may leave up to one buffer unsent). */
  bytesSent: number;
  /** Connections open now. */
  connections: number;
  /** Files open now (one per response being sent). */
  openFiles: number;
  /** Requests answered 503 because their address had too many connections open. */
  busy: number;
}

export async function serveFiles(files: readonly LocalFile[], host: string, port: number, options: FileServerOptions = {}): Promise<FileServer> {
  let byHash = new Map(files.map((f) => [f.hash, f]));
  const stats: FileServerStats = { requests: 0, bytesSent: 0, connections: 0, openFiles: 0, busy: 0 };
  const idleMs = options.idleTimeoutMs ?? 30_000;
  const maxPerAddress = options.maxPerAddress ?? 8;
  /** Open connections by remote address. */
  const perAddress = new Map<string, number>();
  const server = createServer((req, res) => {
    stats.requests++;
    const from = req.socket.remoteAddress ?? '';
    if ((perAddress.get(from) ?? 0) > maxPerAddress) {
      stats.busy++;
      plain(res, 503, `too many connections from ${from} (at most ${maxPerAddress})`, { connection: 'close', 'retry-after': '10' });
      return;
    }
    handle(req, res, byHash, stats);
  });
  server.on('connection', (socket: Socket) => {
    const from = socket.remoteAddress ?? '';
    perAddress.set(from, (perAddress.get(from) ?? 0) + 1);
    stats.connections++;
    socket.once('close', () => {
      stats.connections--;
      const n = (perAddress.get(from) ?? 1) - 1;
      if (n <= 0) perAddress.delete(from);
      else perAddress.set(from, n);
    });
  });
  // A socket with no traffic either way for idleMs (a client that stopped reading, or never asked) is destroyed;
  // pipeline() below then closes its file.
  server.timeout = idleMs;
  server.keepAliveTimeout = Math.min(5000, idleMs);
  server.requestTimeout = 30_000;
  server.headersTimeout = Math.min(10_000, idleMs);
  server.maxConnections = options.maxConnections ?? 64;
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

function handle(req: IncomingMessage, res: ServerResponse, files: ReadonlyMap<string, LocalFile>, stats: FileServerStats): void {
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
  stats.openFiles++;
  stream.once('close', () => stats.openFiles--);
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
