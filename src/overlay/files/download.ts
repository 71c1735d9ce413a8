import { createHash, type Hash } from 'node:crypto';
import { constants, createReadStream, type Stats } from 'node:fs';
import { link, lstat, mkdir, open, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { extname, join } from 'node:path';
import { realClock, type Clock, type Timer } from '../../net/index.js';
import { OverlayError } from '../common/errors.js';
import { badName, formatEndpoint, type Source } from '../common/shared.js';
import { hashFile } from './scan.js';

/*
 * Download a search result from the address it came with, and keep it only
 * if its bytes hash to the content hash. Everything about a source comes
 * from a stranger, so:
 *
 * - the name is checked (no folders, no "..", no control characters), and
 *   the file is always written directly inside `outDir`;
 * - the bytes go to a part file named after the content hash
 *   (".<hash>.peerkit-part"), never after the name, so a source cannot make
 *   peerkit resume into, or delete, a file of the user's; a later attempt
 *   (from any source of that content) resumes it with a range request;
 * - only a verified file is given its name, by a hard link that fails
 *   rather than overwrite: when the name is taken by other content the file
 *   is saved as "<name> (<first 8 hex digits of the hash>)<ext>", then as
 *   the bare hash;
 * - the size may be capped (`maxSize`), and a source that sends nothing for
 *   `idleTimeoutMs`, or less than `minRate.bytes` in any `minRate.ms`, is
 *   given up so the caller can try another.
 *
 * An error of the local disk (no space, no permission, read-only) is
 * OverlayError('disk'): another source would not help, so downloadFromAny
 * stops there.
 */

export interface DownloadOptions {
  readonly signal?: AbortSignal;
  /** Called as bytes arrive. */
  readonly onProgress?: (done: number, total: number) => void;
  /** No bytes for this long fails the attempt. @default 30000 */
  readonly idleTimeoutMs?: number;
  /** A source whose file is larger than this many bytes is refused before anything is fetched ('too-large'). @default unlimited */
  readonly maxSize?: number;
  /** The slowest transfer accepted: the attempt fails when fewer than `bytes` arrive in `ms` (counted in consecutive windows from the request). @default 64 KiB in 30 s */
  readonly minRate?: { readonly bytes: number; readonly ms: number };
  /** For the rate windows. @default realClock */
  readonly clock?: Clock;
}

export interface Downloaded {
  readonly path: string;
  /** False when the file was already there, complete and verified. */
  readonly fetched: boolean;
}

const DEFAULT_MIN_RATE = { bytes: 64 * 1024, ms: 30_000 };
const PART_SUFFIX = '.peerkit-part';
const RESUME_HINT = ' (run it again to resume)';

/** Where the bytes of `hash` are kept until they are verified: a hidden file in `outDir` named after the content hash. */
export function partPath(outDir: string, hash: string): string {
  return join(outDir, `.${hash}${PART_SUFFIX}`);
}

/** The names a file may be saved under, in order: its own (if usable), "<stem> (<hash prefix>)<ext>", the bare hash. */
export function targetNames(name: string, hash: string): string[] {
  if (badName(name) !== undefined || name.endsWith(PART_SUFFIX)) return [hash];
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length);
  const other = `${stem} (${hash.slice(0, 8)})${ext}`;
  return [...new Set([name, ...(badName(other) === undefined ? [other] : []), hash])];
}

export async function downloadFile(source: Source, outDir: string, options: DownloadOptions = {}): Promise<Downloaded> {
  if (options.maxSize !== undefined && source.size > options.maxSize) {
    throw new OverlayError('too-large', `${formatEndpoint(source.address)} offers ${source.hash} as ${source.size} bytes, over the limit of ${options.maxSize}; not fetched`);
  }
  if (options.signal?.aborted === true) throw new OverlayError('closed', `download of ${source.hash} interrupted before it started`);
  await local('create the folder', outDir, () => mkdir(outDir, { recursive: true }));
  const names = targetNames(source.name, source.hash);
  let free = false;
  for (const n of names) {
    const path = join(outDir, n);
    const st = await statOrUndefined(path);
    if (st === undefined) free = true;
    else if (await sameContent(path, st, source, options.signal)) return { path, fetched: false };
  }
  if (!free) throw takenError(outDir, names, source.hash);
  const part = partPath(outDir, source.hash);
  const resumedFrom = await fetchVerified(source, part, options, true);
  if (resumedFrom > 0) {
    // The bytes kept from an earlier attempt (perhaps from another source) were wrong: start over once.
    await fetchVerified(source, part, options, false);
  }
  return { path: await place(part, outDir, names, source, options.signal), fetched: true };
}

/**
 * Fetch into `part` (resuming it when `resume`) and check the SHA-1. Returns -1 when the file verified; when it did not and
 * bytes had been resumed, deletes the part and returns how many were resumed (so the caller can start over); otherwise throws.
 */
async function fetchVerified(source: Source, part: string, options: DownloadOptions, resume: boolean): Promise<number> {
  const state: FetchState = { hash: createHash('sha1'), have: 0, resumed: 0 };
  let partStat = await lstatOrUndefined(part);
  if (partStat !== undefined && (!resume || !partStat.isFile() || partStat.size > source.size)) {
    await local('remove', part, () => rm(part, { force: true }));
    partStat = undefined;
  }
  if (partStat !== undefined) {
    // Resume: the bytes already there go into the hash first.
    await local('read', part, async () => {
      for await (const chunk of createReadStream(part) as AsyncIterable<Buffer>) state.hash.update(chunk);
    });
    state.have = partStat.size;
    state.resumed = partStat.size;
  }
  if (state.have < source.size) await fetchInto(source, part, state, options, partStat !== undefined);
  else if (partStat === undefined) await (await openPart(part, 'new')).close();
  const digest = state.hash.digest('hex');
  if (digest === source.hash) return -1;
  await local('remove', part, () => rm(part, { force: true }));
  if (state.resumed > 0) return state.resumed;
  throw new OverlayError('bad-content', `${formatEndpoint(source.address)} sent bytes that do not match ${source.hash} (their SHA-1 is ${digest}); nothing was kept`);
}

interface FetchState {
  hash: Hash;
  /** Bytes in the part file, all of them in `hash`. */
  have: number;
  /** How many of them came from an earlier attempt (0 when the server restarted from byte 0). */
  resumed: number;
}

async function fetchInto(source: Source, part: string, state: FetchState, options: DownloadOptions, partExists: boolean): Promise<void> {
  const where = formatEndpoint(source.address);
  const idleMs = options.idleTimeoutMs ?? 30_000;
  const minRate = options.minRate ?? DEFAULT_MIN_RATE;
  const clock = options.clock ?? realClock;
  const signal = options.signal;
  const from = state.have;
  let offset = from;
  let responded = false;
  /** Why this side ended the request (idle, too slow, interrupted): the error to report instead of the socket's. */
  let why: OverlayError | undefined;
  const at = (): string => `at byte ${offset} of ${source.size}`;

  if (signal?.aborted === true) throw new OverlayError('closed', `download from ${where} interrupted ${at()}${RESUME_HINT}`);
  const req = request({
    host: source.address.host,
    port: source.address.port,
    path: `/sha1/${source.hash}`,
    headers: from > 0 ? { range: `bytes=${from}-` } : {},
  });
  const stop = (e: OverlayError): void => {
    why ??= e;
    req.destroy(e);
  };
  // Idle: nothing at all (no answer, no bytes) for idleMs, on the injected clock.
  let idleTimer: Timer | undefined;
  const armIdle = (): void => {
    idleTimer?.cancel();
    idleTimer = clock.setTimer(idleMs, () => stop(new OverlayError('timeout', `${where} sent nothing for ${seconds(idleMs)} (stopped ${at()})${RESUME_HINT}`)));
  };
  armIdle();
  const onAbort = (): void => stop(new OverlayError('closed', `download from ${where} interrupted ${at()}${RESUME_HINT}`));
  signal?.addEventListener('abort', onAbort, { once: true });
  // The minimum rate, in consecutive windows from the request: a source that trickles a byte now and then is never idle, but is too slow.
  let windowStart = offset;
  let rateTimer: Timer | undefined;
  const checkRate = (): void => {
    if (offset - windowStart < minRate.bytes) {
      stop(new OverlayError('timeout', `${where} is too slow (under ${bytes(minRate.bytes)} in ${seconds(minRate.ms)}; stopped ${at()})${RESUME_HINT}`));
      return;
    }
    windowStart = offset;
    rateTimer = clock.setTimer(minRate.ms, checkRate);
  };
  rateTimer = clock.setTimer(minRate.ms, checkRate);

  let file: FileHandle | undefined;
  let complete = false;
  try {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
      req.end();
    });
    responded = true;
    armIdle();
    checkResponse(res, source, from, where);
    if (res.statusCode === 200 && from > 0) {
      // The server ignored the range: start again from byte 0.
      state.hash = createHash('sha1');
      state.have = 0;
      state.resumed = 0;
      offset = 0;
      windowStart = 0;
    }
    const hash = state.hash;
    file = await openPart(part, offset > 0 ? 'append' : partExists ? 'truncate' : 'new');
    for await (const chunk of res as AsyncIterable<Buffer>) {
      if (offset + chunk.length > source.size) throw new OverlayError('bad-content', `${where} sent more than the ${source.size} bytes of ${source.hash}`);
      try {
        await file.write(chunk);
      } catch (e) {
        throw diskError('write', part, e);
      }
      hash.update(chunk);
      armIdle();
      offset += chunk.length;
      state.have = offset;
      options.onProgress?.(offset, source.size);
    }
    complete = true;
  } catch (e) {
    if (e instanceof OverlayError && e.code === 'disk') throw e;
    if (why !== undefined) throw why;
    if (e instanceof OverlayError) throw e;
    const cause = e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : String(e);
    if (!responded) throw new OverlayError('unreachable', `cannot download from ${where}: ${cause}`);
    throw new OverlayError('unreachable', `download from ${where} broke off ${at()}: ${cause}${RESUME_HINT}`);
  } finally {
    rateTimer?.cancel();
    idleTimer?.cancel();
    signal?.removeEventListener('abort', onAbort);
    // A response read to its end leaves the socket to the agent (it may be reused); anything else is torn down.
    if (!complete) req.destroy();
    if (file !== undefined) {
      const f = file;
      await local('write', part, () => f.close());
    }
  }
  if (offset < source.size) throw why ?? new OverlayError('unreachable', `${where} closed the download ${at()}${RESUME_HINT}`);
}

/** Throws unless `res` is a 200, or a 206 whose Content-Range starts at `from` and gives the size the source said. */
function checkResponse(res: IncomingMessage, source: Source, from: number, where: string): void {
  const status = res.statusCode ?? 0;
  if (status !== 200 && status !== 206) {
    res.resume();
    throw new OverlayError('bad-content', `${where} answered HTTP ${status} for ${source.hash}${status === 404 ? ' (it no longer shares that file)' : ''}`);
  }
  if (status === 206) {
    const header = res.headers['content-range'];
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header ?? '');
    if (m === null || Number(m[1]) !== from || Number(m[3]) !== source.size || Number(m[2]) < from) {
      throw new OverlayError('bad-content', `${where} answered a request for bytes ${from}- of ${source.hash} with Content-Range ${JSON.stringify(header ?? '')} (expected bytes ${from}-${source.size - 1}/${source.size})`);
    }
  }
  const length = res.headers['content-length'];
  const expected = status === 206 ? source.size - from : source.size;
  if (length !== undefined && Number(length) > expected) {
    throw new OverlayError('bad-content', `${where} sends ${length} bytes where ${expected} were expected for ${source.hash}`);
  }
}

/** Open the part file without following a link: created exclusively when new, else truncated or appended to. */
async function openPart(part: string, how: 'new' | 'truncate' | 'append'): Promise<FileHandle> {
  const { O_WRONLY, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_NOFOLLOW } = constants;
  const flags = how === 'new' ? O_WRONLY | O_CREAT | O_EXCL : O_WRONLY | O_NOFOLLOW | (how === 'truncate' ? O_TRUNC : O_APPEND);
  try {
    return await open(part, flags, 0o644);
  } catch (e) {
    if (how === 'new' && errno(e) === 'EEXIST') throw new OverlayError('exists', `${part} appeared while this download started: is another download of the same file running into this folder?`);
    throw diskError('write', part, e);
  }
}

/**
 * Give the verified part file its name without overwriting anything: a hard link fails when the name exists (then the
 * next name is tried), and the part is removed after. Where hard links are not supported, the name is first taken by
 * creating an empty file exclusively, and the part renamed over it.
 */
async function place(part: string, outDir: string, names: readonly string[], source: Source, signal: AbortSignal | undefined): Promise<string> {
  for (const n of names) {
    const target = join(outDir, n);
    try {
      await link(part, target);
    } catch (e) {
      const code = errno(e);
      if (code === 'EEXIST') {
        if (await sameContent(target, await statOrUndefined(target), source, signal)) {
          await unlink(part).catch(() => undefined);
          return target;
        }
        continue;
      }
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EMLINK') throw diskError('save', target, e);
      try {
        await (await open(target, 'wx')).close();
      } catch (e2) {
        if (errno(e2) === 'EEXIST') continue;
        throw diskError('save', target, e2);
      }
      await local('save', target, () => rename(part, target));
      return target;
    }
    await unlink(part).catch(() => undefined);
    return target;
  }
  throw takenError(outDir, names, source.hash, part);
}

function takenError(outDir: string, names: readonly string[], hash: string, part?: string): OverlayError {
  const kept = part === undefined ? '' : `; the verified file is kept as ${part}`;
  return new OverlayError('exists', `${names.map((n) => join(outDir, n)).join(', ')} all exist with other content than ${hash}${kept}: move one away or download to another folder`);
}

/** Whether the file at `path` (stat `st`) holds the content of `source`; false when it cannot be read. */
async function sameContent(path: string, st: Stats | undefined, source: Source, signal: AbortSignal | undefined): Promise<boolean> {
  if (st === undefined || !st.isFile() || st.size !== source.size) return false;
  try {
    return (await hashFile(path, signal)).hash === source.hash;
  } catch {
    signal?.throwIfAborted();
    return false;
  }
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined;
    // A dangling link or a name we may not look at: taken, and not ours to touch.
    if (errno(e) === 'ELOOP' || errno(e) === 'ENAMETOOLONG') return await lstat(path).catch(() => undefined);
    throw diskError('look at', path, e);
  }
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined;
    throw diskError('look at', path, e);
  }
}

/** Run a local file operation, turning its failure into OverlayError('disk'). */
async function local<T>(what: string, path: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (e) {
    throw diskError(what, path, e);
  }
}

const DISK_ERRORS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'over the disk quota',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  EFBIG: 'the file is too large for this file system (or the file size limit)',
  EISDIR: 'it is a folder',
  ENOTDIR: 'a part of the path is not a folder',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
  ELOOP: 'it is a symbolic link',
};

function diskError(what: string, path: string, e: unknown): OverlayError {
  if (e instanceof OverlayError) return e;
  const code = errno(e);
  const text = code !== undefined && DISK_ERRORS[code] !== undefined ? `${DISK_ERRORS[code]} (${code})` : e instanceof Error ? e.message : String(e);
  return new OverlayError('disk', `cannot ${what} ${path}: ${text}`);
}

function errno(e: unknown): string | undefined {
  return e instanceof Error ? (e as NodeJS.ErrnoException).code : undefined;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

function bytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** Try each source in turn until one gives the verified file. Throws the last error when none does, and at once for an error of the local disk or when aborted. */
export async function downloadFromAny(sources: readonly Source[], outDir: string, options: DownloadOptions & { readonly onSourceFailed?: (s: Source, e: Error) => void } = {}): Promise<Downloaded & { readonly source: Source }> {
  let last: Error = new OverlayError('unreachable', 'no source to download from');
  for (const source of sources) {
    try {
      return { ...(await downloadFile(source, outDir, options)), source };
    } catch (e) {
      if (!(e instanceof OverlayError) || e.code === 'disk' || options.signal?.aborted === true) throw e;
      last = e;
      options.onSourceFailed?.(source, e);
    }
  }
  throw last;
}
