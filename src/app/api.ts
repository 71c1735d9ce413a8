import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DhtNode } from '../dht/index.js';
import { DEFAULT_MAX_TORRENT, MetainfoError } from '../metainfo/index.js';
import type { TrackerServer } from '../tracker/index.js';
import { parseMultipart, readBody, readJson } from './body.js';
import { AppError } from './errors.js';
import type { Entry } from './entry.js';
import type { EventHub } from './events.js';
import { runLab } from './lab.js';
import type { AddOptions, TorrentManager } from './manager.js';
import type { FilePriority } from './state.js';
import { details, peers, summary } from './views.js';

/*
 * The JSON API under /api/ (README, "The HTTP API"). Handlers throw
 * AppError for what the caller got wrong; the server turns any error into
 * `{ "error": "..." }` with its status.
 */

export interface ApiContext {
  readonly manager: TorrentManager;
  readonly dht: DhtNode | undefined;
  readonly tracker: TrackerServer | undefined;
  readonly events: EventHub;
  readonly now: () => number;
}

/** A .torrent upload: the largest .torrent we parse, plus room for the form around it. */
const MAX_UPLOAD = DEFAULT_MAX_TORRENT + 64 * 1024;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export async function handleApi(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const method = req.method ?? 'GET';
  const parts = url.pathname.split('/').filter((s) => s.length > 0).slice(1); // drop "api"
  const [a, b, c] = parts;
  const m = ctx.manager;
  const now = ctx.now();
  const route = `${method} ${a ?? ''}${b !== undefined ? '/:x' : ''}${c !== undefined ? `/${c}` : ''}`;
  if (parts.length > 3) throw new AppError('not-found', `no such API route: ${url.pathname}`);
  switch (route) {
    case 'GET torrents':
      return sendJson(res, 200, m.all().map((e) => summary(e, now)));
    case 'POST torrents': {
      const e = await addFromRequest(m, req);
      return sendJson(res, 201, summary(e, ctx.now()));
    }
    case 'GET torrents/:x':
      return sendJson(res, 200, details(m.get(b!), now, ctx.dht !== undefined));
    case 'GET torrents/:x/peers':
      return sendJson(res, 200, peers(m.get(b!), now));
    case 'POST torrents/:x/pause':
      return sendJson(res, 200, summary(await m.pause(b!), ctx.now()));
    case 'POST torrents/:x/resume':
      return sendJson(res, 200, summary(await m.resume(b!), ctx.now()));
    case 'DELETE torrents/:x': {
      const flag = url.searchParams.get('deleteData');
      await m.remove(b!, flag === '1' || flag === 'true');
      return sendJson(res, 200, { removed: b!.toLowerCase(), dataDeleted: flag === '1' || flag === 'true' });
    }
    case 'PATCH torrents/:x/files': {
      const body = await readJson(req);
      return sendJson(res, 200, details(await m.setPriorities(b!, fileChanges(body)), ctx.now(), ctx.dht !== undefined));
    }
    case 'POST share': {
      const body = await readJson(req);
      const path = body['path'];
      if (typeof path !== 'string' || path.length === 0) throw new AppError('bad-request', 'expected {"path": "/absolute/path/to/a/file/or/folder"}');
      const { entry, magnet } = await m.share(path);
      return sendJson(res, 201, { ...summary(entry, ctx.now()), magnet });
    }
    case 'GET dht':
      return sendJson(res, 200, dhtView(ctx.dht));
    case 'GET tracker':
      return sendJson(res, 200, ctx.tracker === undefined ? { enabled: false } : { enabled: true, httpUrl: ctx.tracker.httpUrl, udpUrl: ctx.tracker.udpUrl, stats: ctx.tracker.tracker.stats() });
    case 'POST lab/distribution': {
      const body = req.headers['content-length'] === '0' || req.headers['content-type'] === undefined ? {} : await readJson(req);
      return sendJson(res, 200, await runLab(body));
    }
    case 'GET events': {
      const torrent = url.searchParams.get('torrent') ?? undefined;
      if (torrent !== undefined) m.get(torrent); // a 404 now, not silence later
      ctx.events.add(res, torrent?.toLowerCase());
      return;
    }
    default:
      throw new AppError('not-found', `no such API route: ${method} ${url.pathname}`);
  }
}

async function addFromRequest(m: TorrentManager, req: IncomingMessage): Promise<Entry> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  try {
    if (type === 'application/x-bittorrent' || type === 'application/octet-stream') {
      const bytes = await readBody(req, MAX_UPLOAD);
      return await m.addTorrentFile(bytes, {});
    }
    if (type === 'multipart/form-data') {
      const form = parseMultipart(await readBody(req, MAX_UPLOAD), req.headers['content-type']!);
      const field = (n: string): string | undefined => form.find((p) => p.name === n && p.filename === undefined)?.data.toString('utf8');
      const options = addOptions({ savePath: field('savePath') || undefined, paused: field('paused') === 'true' || field('paused') === '1' });
      const file = form.find((p) => p.filename !== undefined && p.data.length > 0);
      if (file !== undefined) return await m.addTorrentFile(file.data, options);
      const link = field('magnet') ?? field('url');
      if (link !== undefined && link.length > 0) return await m.addUrl(link.trim(), options);
      throw new AppError('bad-request', 'the form has no .torrent file, magnet or url');
    }
    if (type === 'application/json') {
      const body = await readJson(req);
      const options = addOptions({ savePath: optionalString(body, 'savePath'), paused: body['paused'] === true });
      const magnet = optionalString(body, 'magnet');
      const url = optionalString(body, 'url');
      if (magnet !== undefined) return await m.addMagnet(magnet.trim(), options);
      if (url !== undefined) return await m.addUrl(url.trim(), options);
      throw new AppError('bad-request', 'expected {"magnet": "magnet:?..."} or {"url": "https://.../x.torrent"}');
    }
  } catch (e) {
    // A malformed .torrent or magnet link is the caller's mistake.
    if (e instanceof MetainfoError) throw new AppError('bad-request', e.message);
    throw e;
  }
  throw new AppError('unsupported-type', 'send a .torrent as application/x-bittorrent or multipart/form-data, or JSON {"magnet"} / {"url"}');
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new AppError('bad-request', `"${key}" must be a string`);
  return v;
}

function addOptions(o: { savePath: string | undefined; paused: boolean }): AddOptions {
  return { ...(o.savePath !== undefined && { savePath: o.savePath }), paused: o.paused };
}

function fileChanges(body: Record<string, unknown>): { index: number; priority: FilePriority }[] {
  const files = body['files'];
  if (!Array.isArray(files) || files.length > 100_000) throw new AppError('bad-request', 'expected {"files": [{"index": 0, "priority": "skip" | "normal" | "high"}, ...]}');
  return files.map((f: unknown) => {
    const o = (typeof f === 'object' && f !== null ? f : {}) as Record<string, unknown>;
    if (typeof o['index'] !== 'number' || typeof o['priority'] !== 'string') throw new AppError('bad-request', 'each file change is {"index": <number>, "priority": "skip" | "normal" | "high"}');
    return { index: o['index'], priority: o['priority'] as FilePriority };
  });
}

function dhtView(dht: DhtNode | undefined): unknown {
  if (dht === undefined) return { enabled: false };
  const contacts = dht.contacts();
  return {
    enabled: true,
    port: dht.local.port,
    externalAddress: dht.externalAddress,
    stats: dht.stats(),
    nodes: contacts.slice(0, 200).map((c) => ({ id: Buffer.from(c.id).toString('hex'), address: `${c.host}:${c.port}` })),
  };
}
