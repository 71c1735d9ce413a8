import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleApi, sendJson, type ApiContext } from './api.js';
import type { ApiErrorBody } from './api-types.js';
import type { Assets } from './assets.js';
import type { Auth } from './auth.js';
import { readBody, readJson } from './body.js';
import { DaemonError } from './errors.js';
import { MetainfoError } from '../metainfo/index.js';
import { StorageError } from '../storage/index.js';

/*
 * The daemon's HTTP server: the UI's files, the login, and the API.
 *
 *   GET  /, /app.js, ...        the UI (public: the same files anyone can
 *                               build from the repository; the data is not)
 *   GET  /login?token=<token>   the link printed at start: sets the cookie,
 *                               then redirects to / (so the token leaves the
 *                               address bar)
 *   POST /login {"token"}       the UI's login form; 204 and the cookie
 *   POST /logout                forgets the cookie
 *   /api/...                    the JSON API (api.ts), token required
 *
 * Every request is first checked for its Host header (auth.ts: DNS
 * rebinding); every response forbids framing and sniffing, and the UI may
 * load nothing but its own files.
 */

export interface WebServerInit {
  readonly auth: Auth;
  readonly assets: Assets;
  readonly api: ApiContext;
  /** An unexpected error (a bug, not bad input): logged, answered with a 500. */
  readonly log: (message: string) => void;
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  // The lab chart is shown as an <img> of a data: URL (img-src data:), so its SVG can never run script in our page.
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

/** Listen on host:port; `init` is made once the port is known (0 picks one, and the cookie is named after it). */
export async function listen(makeInit: (port: number) => WebServerInit, host: string, port: number): Promise<{ server: Server; port: number }> {
  const ready: { init?: WebServerInit } = {};
  const server = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 60_000, headersTimeout: 20_000, keepAliveTimeout: 5_000 }, (req, res) => {
    if (ready.init === undefined) res.destroy();
    else void handle(ready.init, req, res);
  });
  // A client that sends garbage or vanishes mid-request loses its own connection, nothing more.
  server.on('clientError', (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  ready.init = makeInit(actual);
  return { server, port: actual };
}

async function handle(init: WebServerInit, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { auth } = init;
  // A request body or response that fails (the client went away) must not take the daemon with it.
  req.on('error', () => undefined);
  res.on('error', () => undefined);
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
  try {
    if (!auth.hostAllowed(req.headers.host)) {
      throw new DaemonError('forbidden', `refused: Host ${JSON.stringify(req.headers.host ?? '')} is not this machine's address (use http://127.0.0.1:<port>/, or start the daemon with --allow-host <name>)`);
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    if (path === '/login' || path === '/logout') return await login(auth, req, res, url, method);
    if (path === '/api' || path.startsWith('/api/')) {
      if (!auth.authorized(req)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="peerkit"');
        throw new DaemonError('unauthorized', 'this needs the token: send "Authorization: Bearer <token>" (the token is printed when the daemon starts and kept in daemon.json in its config folder), or log in at /login?token=<token>');
      }
      if (method !== 'GET' && method !== 'HEAD' && !auth.sameOrigin(req)) throw new DaemonError('forbidden', 'refused: this request comes from another site (its Origin is not this daemon)');
      return await handleApi(init.api, req, res, url);
    }
    if (method !== 'GET' && method !== 'HEAD') throw new DaemonError('method', `${method} is not allowed on ${path}`);
    if (init.assets.serve(path, req.headers['if-none-match'], res)) return;
    if (path === '/' && !init.assets.built) throw new DaemonError('not-found', `the web UI is not built (no index.html in ${init.assets.dir}): run \`npm run build\``);
    throw new DaemonError('not-found', `no such page: ${path}`);
  } catch (e) {
    // A client that went away mid-request (an upload cut short) is told nothing, and is no bug to log.
    if (req.socket.destroyed) return;
    sendError(init, res, e);
  }
}

async function login(auth: Auth, req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
  if (url.pathname === '/logout') {
    if (method !== 'POST') throw new DaemonError('method', 'log out with POST /logout');
    if (!auth.sameOrigin(req)) throw new DaemonError('forbidden', 'refused: this request comes from another site');
    await readBody(req, 1024);
    res.writeHead(204, { 'Set-Cookie': auth.logoutCookie(), 'Cache-Control': 'no-store' });
    res.end();
    return;
  }
  if (method === 'GET' || method === 'HEAD') {
    // The link printed at start. A wrong token lands on the UI's login form, which says so.
    const ok = auth.isToken(url.searchParams.get('token') ?? undefined);
    res.writeHead(303, { Location: ok ? '/' : '/#/login?failed=1', 'Cache-Control': 'no-store', ...(ok && { 'Set-Cookie': auth.loginCookie() }) });
    res.end();
    return;
  }
  if (method !== 'POST') throw new DaemonError('method', `${method} is not allowed on /login`);
  if (!auth.sameOrigin(req)) throw new DaemonError('forbidden', 'refused: this request comes from another site');
  const token = (await readJson(req))['token'];
  if (typeof token !== 'string' || !auth.isToken(token)) throw new DaemonError('unauthorized', 'wrong token: it is printed when the daemon starts, and kept in daemon.json in its config folder');
  res.writeHead(204, { 'Set-Cookie': auth.loginCookie(), 'Cache-Control': 'no-store' });
  res.end();
}

function sendError(init: WebServerInit, res: ServerResponse, e: unknown): void {
  let body: ApiErrorBody;
  let status: number;
  if (e instanceof DaemonError) {
    status = e.status;
    body = { error: e.message, code: e.code };
  } else if (e instanceof MetainfoError) {
    // A .torrent that does not parse, a file to share that cannot be read: what the caller gave.
    status = 400;
    body = { error: e.message, code: 'bad-request' };
  } else if (e instanceof StorageError) {
    status = 500;
    body = { error: e.message, code: `storage-${e.code}` };
  } else {
    // Errors from the disk (EACCES, ENOSPC...) name their path: say them; anything else is a bug.
    const err = e as NodeJS.ErrnoException;
    const system = typeof err?.code === 'string' && typeof err.message === 'string';
    status = 500;
    body = { error: system ? err.message : 'internal error (see the daemon\'s log)', code: system ? err.code! : 'internal' };
    init.log(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, body);
}
