import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { OverlayError } from '../common/errors.js';
import { badName, formatEndpoint, type Source } from '../common/shared.js';
import { hashFile } from './scan.js';

/*
 * Download a search result from the address it came with, and keep it only
 * if its bytes hash to the content hash. The name comes from a stranger, so
 * it is checked (no folders, no "..", no control characters) and the file
 * is always written directly inside `outDir`. Bytes go to "<name>.part"
 * first; a later attempt resumes from it with a range request, and only a
 * verified file is renamed to its name.
 */

export interface DownloadOptions {
  readonly signal?: AbortSignal;
  /** Called as bytes arrive. */
  readonly onProgress?: (done: number, total: number) => void;
  /** No bytes for this long fails the attempt. @default 30000 */
  readonly idleTimeoutMs?: number;
}

export interface Downloaded {
  readonly path: string;
  /** False when the file was already there, complete and verified. */
  readonly fetched: boolean;
}

export async function downloadFile(source: Source, outDir: string, options: DownloadOptions = {}): Promise<Downloaded> {
  const name = badName(source.name) === undefined ? source.name : source.hash;
  const path = join(outDir, name);
  const part = `${path}.part`;
  await mkdir(outDir, { recursive: true });
  const existing = await stat(path).catch(() => undefined);
  if (existing !== undefined) {
    if (existing.isFile() && existing.size === source.size && (await hashFile(path, options.signal)).hash === source.hash) return { path, fetched: false };
    throw new OverlayError('exists', `${path} already exists with other content: remove it or download to another folder`);
  }
  const resumedFrom = await fetchVerified(source, part, options, true);
  if (resumedFrom > 0) {
    // The bytes kept from an earlier attempt (perhaps from another source) were wrong: start over once.
    await fetchVerified(source, part, options, false);
  }
  await rename(part, path);
  return { path, fetched: true };
}

/**
 * Fetch into `part` (resuming it when `resume`) and check the SHA-1. Returns -1 when the file verified; when it did not and
 * bytes had been resumed, deletes the part and returns how many were resumed (so the caller can start over); otherwise throws.
 */
async function fetchVerified(source: Source, part: string, options: DownloadOptions, resume: boolean): Promise<number> {
  const state = { hash: createHash('sha1'), have: 0 };
  const partStat = resume ? await stat(part).catch(() => undefined) : undefined;
  if (!resume) await rm(part, { force: true });
  if (partStat !== undefined && partStat.isFile() && partStat.size <= source.size) {
    // Resume: the bytes already there go into the hash first.
    for await (const chunk of createReadStream(part) as AsyncIterable<Buffer>) state.hash.update(chunk);
    state.have = partStat.size;
  } else if (partStat !== undefined) {
    await rm(part, { force: true });
  }
  if (state.have < source.size) await fetchInto(source, part, state, options);
  else await (await open(part, 'a')).close();
  const resumed = state.have;
  const digest = state.hash.digest('hex');
  if (digest === source.hash) return -1;
  await rm(part, { force: true });
  if (resumed > 0) return resumed;
  throw new OverlayError('bad-content', `${formatEndpoint(source.address)} sent bytes that do not match ${source.hash} (their SHA-1 is ${digest}); nothing was kept`);
}

async function fetchInto(source: Source, part: string, state: { hash: Hash; have: number }, options: DownloadOptions): Promise<void> {
  const where = formatEndpoint(source.address);
  const idle = options.idleTimeoutMs ?? 30_000;
  const res = await get(source, state.have, options.signal, idle);
  if (res.statusCode === 200 && state.have > 0) {
    // The server ignored the range: start again from byte 0.
    state.hash = createHash('sha1');
    state.have = 0;
  }
  const from = state.have;
  const hash = state.hash;
  let offset = from;
  if (res.statusCode !== 200 && res.statusCode !== 206) {
    res.resume();
    throw new OverlayError('bad-content', `${where} answered HTTP ${res.statusCode} for ${source.hash}${res.statusCode === 404 ? ' (it no longer shares that file)' : ''}`);
  }
  const file = await open(part, from > 0 ? 'a' : 'w');
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      if (offset + chunk.length > source.size) throw new OverlayError('bad-content', `${where} sent more than the ${source.size} bytes of ${source.hash}`);
      await file.write(chunk);
      hash.update(chunk);
      offset += chunk.length;
      options.onProgress?.(offset, source.size);
    }
  } catch (e) {
    if (e instanceof OverlayError) throw e;
    throw new OverlayError('unreachable', `download from ${where} broke off at byte ${offset} of ${source.size}: ${e instanceof Error ? e.message : String(e)} (run it again to resume)`);
  } finally {
    await file.close();
  }
  if (offset < source.size) throw new OverlayError('unreachable', `${where} closed the download at byte ${offset} of ${source.size} (run it again to resume)`);
}

function get(source: Source, from: number, signal: AbortSignal | undefined, idleMs: number): Promise<IncomingMessage> {
  const where = formatEndpoint(source.address);
  return new Promise((resolve, reject) => {
    const req = request({
      host: source.address.host,
      port: source.address.port,
      path: `/sha1/${source.hash}`,
      headers: from > 0 ? { range: `bytes=${from}-` } : {},
      ...(signal !== undefined && { signal }),
    });
    req.setTimeout(idleMs, () => req.destroy(new OverlayError('timeout', `${where} sent nothing for ${idleMs / 1000} s`)));
    req.once('response', resolve);
    req.once('error', (e) => reject(e instanceof OverlayError ? e : new OverlayError('unreachable', `cannot download from ${where}: ${e.message}`)));
    req.end();
  });
}

/** Try each source in turn until one gives the verified file. Throws the last error when none does. */
export async function downloadFromAny(sources: readonly Source[], outDir: string, options: DownloadOptions & { readonly onSourceFailed?: (s: Source, e: Error) => void } = {}): Promise<Downloaded & { readonly source: Source }> {
  let last: Error = new OverlayError('unreachable', 'no source to download from');
  for (const source of sources) {
    try {
      return { ...(await downloadFile(source, outDir, options)), source };
    } catch (e) {
      if (!(e instanceof OverlayError) || e.code === 'exists') throw e;
      last = e;
      options.onSourceFailed?.(source, e);
    }
  }
  throw last;
}
