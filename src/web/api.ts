import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DhtNode } from '../dht/index.js';
import { DEFAULT_MAX_TORRENT, MetainfoError } from '../metainfo/index.js';
import type { TrackerServer } from '../tracker/index.js';
import type { SessionView } from './api-types.js';
import { parseMultipart, readBody, readJson } from './body.js';
import type { Entry } from './entry.js';
import { DaemonError } from './errors.js';
import type { EventHub } from './events.js';
import { labParams, type LabRunner } from './lab.js';
import type { AddOptions, TorrentManager } from './manager.js';
import { FILE_PRIORITIES, type FilePriority } from './state.js';
import { details, dhtView, peers, summary, trackerView } from './views.js';

/*
 * The JSON API under /api/ (README, "The HTTP API"; the shapes are in
 * api-types.ts). Authentication and the Host and Origin checks have been
 * done by the server (server.ts) before a handler runs. Handlers throw
 * DaemonError for what the caller got wrong; the server turns any error
 * into `{ "error": "...", "code": "..." }` with its status.
 */

export interface ApiContext {
  readonly manager: TorrentManager;
  readonly dht: DhtNode | undefined;
  readonly tracker: TrackerServer | undefined;
  readonly events: EventHub;
  readonly lab: LabRunner;
  readonly session: () => SessionView;
  /** The engine clock's now, which its rate meters count in. */
  readonly now: () => number;
}

/** A .torrent upload: the largest .torrent we parse, plus room for the form around it. */
const MAX_UPLOAD = DEFAULT_MAX_TORRENT + 64 * 1024;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

type Handler = (ctx: ApiContext, req: IncomingMessage, res: ServerResponse, url: URL, hash: string) => Promise<void> | void;

/** `:hash` is a torrent's info hash, 40 hex digits. */
const ROUTES: readonly (readonly [method: string, path: string, handler: Handler])[] = [
  ['GET', 'session', (ctx, _q, res) => sendJson(res, 200, ctx.session())],
  ['GET', 'torrents', (ctx, _q, res) => sendJson(res, 200, ctx.manager.all().map((e) => summary(e, ctx.now())))],
  ['POST', 'torrents', async (ctx, req, res, url) => sendJson(res, 201, summary(await addFromRequest(ctx.manager, req, url), ctx.now()))],
  ['GET', 'torrents/:hash', (ctx, _q, res, _u, hash) => sendJson(res, 200, details(ctx.manager.get(hash), ctx.now(), ctx.dht !== undefined))],
  ['GET', 'torrents/:hash/peers', (ctx, _q, res, _u, hash) => sendJson(res, 200, peers(ctx.manager.get(hash), ctx.now()))],
  ['POST', 'torrents/:hash/pause', async (ctx, _q, res, _u, hash) => sendJson(res, 200, summary(await ctx.manager.pause(hash), ctx.now()))],
  ['POST', 'torrents/:hash/resume', async (ctx, _q, res, _u, hash) => sendJson(res, 200, summary(await ctx.manager.resume(hash), ctx.now()))],
  [
    'DELETE',
    'torrents/:hash',
    async (ctx, _q, res, url, hash) => {
      const deleteData = flag(url, 'deleteData');
      await ctx.manager.remove(hash, deleteData);
      sendJson(res, 200, { removed: hash, dataDeleted: deleteData });
    },
  ],
  [
    'PATCH',
    'torrents/:hash/files',
    async (ctx, req, res, _u, hash) => {
      const changes = fileChanges(await readJson(req));
      sendJson(res, 200, details(await ctx.manager.setPriorities(hash, changes), ctx.now(), ctx.dht !== undefined));
    },
  ],
  [
    'POST',
    'share',
    async (ctx, req, res) => {
      const path = (await readJson(req))['path'];
      if (typeof path !== 'string' || path.length === 0) throw new DaemonError('bad-request', 'expected {"path": "/absolute/path/to/a/file/or/folder"}');
      const { entry, magnet } = await ctx.manager.share(path);
      sendJson(res, 201, { ...summary(entry, ctx.now()), magnet });
    },
  ],
  ['GET', 'dht', (ctx, _q, res) => sendJson(res, 200, dhtView(ctx.dht))],
  ['GET', 'tracker', (ctx, _q, res) => sendJson(res, 200, trackerView(ctx.tracker))],
  ['GET', 'lab', (ctx, _q, res) => sendJson(res, 200, ctx.lab.view)],
  [
    'POST',
    'lab/distribution',
    async (ctx, req, res) => {
      const body = req.headers['content-length'] === '0' || req.headers['content-type'] === undefined ? {} : await readJson(req);
      const view = await ctx.lab.run(labParams(body));
      sendJson(res, view.state === 'done' ? 200 : 500, view);
    },
  ],
  [
    'GET',
    'events',
    (ctx, req, res, url) => {
      const torrent = url.searchParams.get('torrent') ?? undefined;
      const followed = torrent === undefined ? undefined : ctx.manager.get(torrent).infoHash; // a 404 now, not silence later
      const client = ctx.events.add(res, followed);
      if (req.method === 'HEAD') ctx.events.remove(client); // the headers, not a stream without end
    },
  ],
];

export async function handleApi(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const method = req.method ?? 'GET';
  const parts = url.pathname.split('/').slice(2); // '', 'api', ...
  let pathMatched = false;
  for (const [m, path, handler] of ROUTES) {
    const pattern = path.split('/');
    if (pattern.length !== parts.length) continue;
    let hash = '';
    const match = pattern.every((p, i) => {
      if (p !== ':hash') return p === parts[i];
      if (!/^[0-9a-fA-F]{40}$/.test(parts[i]!)) return false;
      hash = parts[i]!.toLowerCase();
      return true;
    });
    if (!match) continue;
    pathMatched = true;
    if (m !== method && !(m === 'GET' && method === 'HEAD')) continue;
    return handler(ctx, req, res, url, hash);
  }
  if (pathMatched) throw new DaemonError('method', `${method} is not allowed on ${url.pathname}`);
  if (parts[0] === 'torrents' && parts[1] !== undefined && !/^[0-9a-fA-F]{40}$/.test(parts[1])) throw new DaemonError('bad-request', `${JSON.stringify(parts[1])} is not an info hash (40 hex digits)`);
  throw new DaemonError('not-found', `no such API route: ${method} ${url.pathname}`);
}

function flag(url: URL, name: string): boolean {
  const v = url.searchParams.get(name);
  if (v === null || v === '' || v === '0' || v === 'false') return false;
  if (v === '1' || v === 'true') return true;
  throw new DaemonError('bad-request', `?${name}= must be true or false`);
}

/**
 * POST /api/torrents takes a .torrent as the body (options in the query:
 * ?savePath=/dir&paused=true), a browser's form (fields torrent, url or
 * magnet, savePath, paused), or JSON {"magnet" or "url", "savePath", "paused"}.
 */
async function addFromRequest(m: TorrentManager, req: IncomingMessage, url: URL): Promise<Entry> {
  const contentType = req.headers['content-type'] ?? '';
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  try {
    if (type === 'application/x-bittorrent' || type === 'application/octet-stream') {
      const options = addOptions({ savePath: url.searchParams.get('savePath') || undefined, paused: flag(url, 'paused') });
      return await m.addTorrentFile(await readBody(req, MAX_UPLOAD), options);
    }
    if (type === 'multipart/form-data') {
      const form = parseMultipart(await readBody(req, MAX_UPLOAD), contentType);
      const field = (n: string): string | undefined => form.find((p) => p.name === n && p.filename === undefined)?.data.toString('utf8');
      const options = addOptions({ savePath: field('savePath') || undefined, paused: field('paused') === 'true' || field('paused') === '1' });
      const file = form.find((p) => p.filename !== undefined && p.data.length > 0);
      if (file !== undefined) return await m.addTorrentFile(file.data, options);
      const link = (field('magnet') || field('url'))?.trim();
      if (link !== undefined && link.length > 0) return await m.addUrl(link, options);
      throw new DaemonError('bad-request', 'the form has no .torrent file, magnet or url');
    }
    if (type === 'application/json') {
      const body = await readJson(req);
      const options = addOptions({ savePath: optionalString(body, 'savePath'), paused: body['paused'] === true });
      const magnet = optionalString(body, 'magnet');
      const url = optionalString(body, 'url');
      if (magnet !== undefined) return await m.addMagnet(magnet.trim(), options);
      if (url !== undefined) return await m.addUrl(url.trim(), options);
      throw new DaemonError('bad-request', 'expected {"magnet": "magnet:?..."} or {"url": "http://.../x.torrent"}');
    }
  } catch (e) {
    // A malformed .torrent or magnet link is the caller's mistake.
    if (e instanceof MetainfoError) throw new DaemonError('bad-request', e.message);
    throw e;
  }
  throw new DaemonError('unsupported-type', 'send a .torrent as application/x-bittorrent or multipart/form-data, or JSON {"magnet"} / {"url"}');
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new DaemonError('bad-request', `"${key}" must be a string`);
  return v;
}

function addOptions(o: { savePath: string | undefined; paused: boolean }): AddOptions {
  return { ...(o.savePath !== undefined && { savePath: o.savePath }), paused: o.paused };
}

function fileChanges(body: Record<string, unknown>): { index: number; priority: FilePriority }[] {
  const files = body['files'];
  const shape = 'expected {"files": [{"index": 0, "priority": "skip" | "normal" | "high"}, ...]}';
  if (!Array.isArray(files) || files.length === 0 || files.length > 100_000) throw new DaemonError('bad-request', shape);
  return files.map((f: unknown) => {
    const o = (typeof f === 'object' && f !== null ? f : {}) as Record<string, unknown>;
    const { index, priority } = o;
    if (typeof index !== 'number' || typeof priority !== 'string' || !FILE_PRIORITIES.includes(priority as FilePriority)) throw new DaemonError('bad-request', shape);
    return { index, priority: priority as FilePriority };
  });
}
