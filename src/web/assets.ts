import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * The browser UI's built files (scripts/bundle.js writes them next to the
 * daemon's code, in ui/), read once at start and served from memory: a
 * handful of small files, no path from a request ever reaches the disk.
 * Nothing is fetched from anywhere else at run time.
 */

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

export class Assets {
  private constructor(
    private readonly files: ReadonlyMap<string, Asset>,
    readonly dir: string,
  ) {}

  /** The default folder: ui/ beside this module, in either build (dist/bin, dist/src/web). */
  static defaultDir(): string {
    return fileURLToPath(new URL('./ui/', import.meta.url));
  }

  static async load(dir: string): Promise<Assets> {
    const files = new Map<string, Asset>();
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const type = TYPES[extname(name)];
      if (type === undefined) continue;
      const body = await readFile(join(dir, name));
      files.set(`/${name}`, { body, type, etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"` });
    }
    return new Assets(files, dir);
  }

  get built(): boolean {
    return this.files.has('/index.html');
  }

  /** Serve `path` (`/` is index.html); false when there is no such file. */
  serve(path: string, ifNoneMatch: string | undefined, res: ServerResponse): boolean {
    const a = this.files.get(path === '/' ? '/index.html' : path);
    if (a === undefined) return false;
    // Revalidated every time (no-cache): a rebuilt UI is picked up at the next load, and a 304 costs nothing.
    const headers = { 'Content-Type': a.type, 'Cache-Control': 'no-cache', ETag: a.etag };
    if (ifNoneMatch === a.etag) {
      res.writeHead(304, headers);
      res.end();
    } else {
      res.writeHead(200, { ...headers, 'Content-Length': a.body.length });
      res.end(a.body);
    }
    return true;
  }
}
