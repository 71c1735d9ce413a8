import { isIP } from 'node:net';
import type { Endpoint } from '../net/index.js';
import { downloadFile, formatEndpoint, isContentHash, OverlayError, parseQuery, scanShared, serveFiles, sourceKey, type FileServer, type Query, type SharedFile, type Source } from '../overlay/index.js';
import { parseCommandLine } from './args.js';
import { parsePort } from './dht.js';
import { CommandError, UsageError } from './errors.js';
import { formatBytes, parseSize, plural, printable } from './format.js';
import type { Command } from './main.js';
import { ProgressBar } from './progress.js';
import { StatusLine } from './status.js';
import { parseEndpoint, positiveNumber, untilInterrupted } from './transfer.js';

/*
 * The one command shape of the three search overlays (peerkit directory,
 * flood and superpeer): serve, share, search and get. This file holds what
 * they share (options, scanning and serving the shared files, printing
 * results, downloading); each overlay supplies an OverlayKind
 * (src/cli/commands/<name>.ts) that runs its node.
 */

/** Prints one line on stderr (above the status line, if any). */
export type Log = (message: string) => void;

export interface ServeContext {
  /** Address to listen on for overlay connections. */
  readonly host: string;
  readonly port: number;
  /** Nodes to connect to at the start (flood: --peer; superpeer: --leader, other leaders to link with; directory: none). */
  readonly contacts: readonly Endpoint[];
  readonly log: Log;
}

export interface ShareContext extends ServeContext {
  readonly files: readonly SharedFile[];
  /** The port of the HTTP server that serves the files (src/overlay/files); the overlay advertises it with the address the other side sees. */
  readonly filesPort: number;
}

export interface SearchContext {
  /** Whom to ask (at least one). */
  readonly contacts: readonly Endpoint[];
  readonly query: Query;
  /** --ttl (flood and superpeer; the directory ignores it). */
  readonly ttl: number;
  /** How long to wait for answers, in ms (--wait). */
  readonly waitMs: number;
  /** Called for each source as it arrives (a source may be reported more than once by different paths: the caller deduplicates). */
  readonly onHit: (source: Source, hops: number) => void;
  /** Aborted when the caller has what it needs (`get` after the first verified download) or on Ctrl-C. */
  readonly signal: AbortSignal;
  readonly log: Log;
}

/** A node started by serve or share; `closed` resolves when it stops by itself (and then with a reason), never when close() is called. */
export interface RunningNode {
  /** One line for the status display: neighbours, members, files indexed... */
  status(): string;
  close(): Promise<void>;
  readonly failed: Promise<Error>;
}

export interface OverlayKind {
  /** The command name: directory, flood, superpeer. */
  readonly name: string;
  /** One line for `peerkit --help`. */
  readonly summary: string;
  /** A paragraph for `peerkit <name> --help`: what this overlay is and how it searches. */
  readonly about: string;
  /** The flag that names whom to contact, without dashes: server, peer or leader. */
  readonly contactFlag: string;
  /** Help text for that flag. */
  readonly contactHelp: string;
  /** Whether serve accepts the contact flag (flood and superpeer: yes; directory: no). */
  readonly serveTakesContacts: boolean;
  /** Whether share needs one (directory and superpeer: yes; flood: no, the first node joins nobody). */
  readonly shareNeedsContact: boolean;
  /** Default overlay port for serve and share. */
  readonly defaultPort: number;
  /** Default --ttl, or undefined when the overlay has no TTL (directory). */
  readonly defaultTtl: number | undefined;
  /** Default --wait in seconds. */
  readonly defaultWaitSeconds: number;
  serve(ctx: ServeContext): Promise<RunningNode>;
  share(ctx: ShareContext): Promise<RunningNode>;
  /** Resolves when the search is over (answer received, wait elapsed or aborted); rejects with OverlayError when nobody could be asked. */
  search(ctx: SearchContext): Promise<void>;
}

/* ------------------------------------------------------------------ */
/* The generic command: peerkit <name> serve | share | search | get.   */
/* ------------------------------------------------------------------ */

const VERBS = ['serve', 'share', 'search', 'get'] as const;
type Verb = (typeof VERBS)[number];

function usageOf(kind: OverlayKind, verb?: Verb): string {
  const c = `--${kind.contactFlag} <host:port>`;
  const ttl = kind.defaultTtl === undefined ? '' : ' [--ttl <n>]';
  const lines: Record<Verb, string> = {
    serve: `peerkit ${kind.name} serve [--host <address>] [--port <n>]${kind.serveTakesContacts ? ` [${c} ...]` : ''}`,
    share: `peerkit ${kind.name} share <path>... ${kind.shareNeedsContact ? c : `[${c} ...]`} [--port <n>] [--files-port <n>]`,
    search: `peerkit ${kind.name} search <keywords|hash> ${c}${ttl} [--wait <seconds>]`,
    get: `peerkit ${kind.name} get <hash> ${c} [-o <dir>] [--max-size <size>]${ttl} [--wait <seconds>]`,
  };
  const head = verb === undefined ? `Usage: ${VERBS.map((v) => lines[v]).join('\n       ')}` : `Usage: ${lines[verb]}`;
  const what: Record<Verb, string> = {
    serve: kind.serveTakesContacts
      ? `Run a ${kind.name} node that shares nothing, until Ctrl-C, joining the nodes given with --${kind.contactFlag}.`
      : `Run the ${kind.name} server until Ctrl-C.`,
    share: `Hash the files under each path (folders are walked, links are not followed), serve them over HTTP, and make them findable through the ${kind.name} overlay until Ctrl-C. Prints one "hash size name" line per file.`,
    search: `Search by keywords (all must appear in the name, any case) or by content hash (40 hex digits, SHA-1). Prints one "hash name size address" line per source, as answers arrive; exits 1 when nothing was found.`,
    get: `Find the sources of a file by its content hash, download it from the first that answers, and keep it only if its SHA-1 matches. An interrupted download resumes. A source that sends nothing for 30 s, or less than 64 KiB in 30 s, is given up for the next one. When the name is taken by another file, the file is saved as "name (hash prefix).ext".`,
  };
  const options = [
    `      --host <address>   address to listen on (default: 0.0.0.0)`,
    `      --port <n>         ${kind.name} port to listen on (default: ${kind.defaultPort})`,
    `      ${c.padEnd(18)} ${kind.contactHelp}`,
    `      --files-port <n>   HTTP port the shared files are served on (default: any free port)`,
    ...(kind.defaultTtl === undefined ? [] : [`      --ttl <n>          how many hops a query travels (default: ${kind.defaultTtl})`]),
    `      --wait <seconds>   how long to wait for answers (default: ${kind.defaultWaitSeconds})`,
    `  -o, --output <dir>     where get saves the file (default: the current folder)`,
    `      --max-size <size>  get: refuse sources whose file is larger (e.g. 700MB, 4GiB; default: no limit)`,
  ];
  const body = verb === undefined ? VERBS.map((v) => `${v}: ${what[v]}`).join('\n\n') : what[verb];
  return `${head}\n\n${wrap(kind.about)}\n\n${wrap(body)}\n\nOptions:\n${options.join('\n')}`;
}

function wrap(text: string): string {
  return text
    .split('\n\n')
    .map((para) => {
      const out: string[] = [];
      let line = '';
      for (const word of para.split(/\s+/)) {
        if (line.length > 0 && line.length + 1 + word.length > 76) {
          out.push(line);
          line = word;
        } else line = line.length === 0 ? word : `${line} ${word}`;
      }
      if (line.length > 0) out.push(line);
      return out.join('\n');
    })
    .join('\n\n');
}

const OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'files-port': { type: 'string' },
  ttl: { type: 'string' },
  wait: { type: 'string' },
  output: { type: 'string', short: 'o' },
  'max-size': { type: 'string' },
} as const;

/** `peerkit <kind.name> ...` as a Command. */
export function overlayCommand(kind: OverlayKind): Command {
  const usage = usageOf(kind);
  return {
    name: kind.name,
    summary: kind.summary,
    usage,
    async run(args) {
      const verb = VERBS.find((v) => v === args[0]);
      if (verb === undefined) {
        if (args[0] === undefined || args[0] === '--help' || args[0] === '-h') {
          process.stdout.write(`${usage}\n`);
          return args[0] === undefined ? 2 : 0;
        }
        throw new UsageError(`unknown ${kind.name} command ${JSON.stringify(args[0])}: expected serve, share, search or get`);
      }
      try {
        return await runVerb(kind, verb, args.slice(1));
      } catch (e) {
        if (e instanceof UsageError) e.command ??= `${kind.name} ${verb}`;
        throw e;
      }
    },
  };
}

async function runVerb(kind: OverlayKind, verb: Verb, args: readonly string[]): Promise<number> {
  const parsed = parseCommandLine(args, { ...OPTIONS, [kind.contactFlag]: { type: 'string', multiple: true } }, usageOf(kind, verb));
  if (parsed === undefined) return 0;
  const values = parsed.values as Partial<Record<keyof typeof OPTIONS, string>> & Record<string, string[] | string | boolean | undefined>;
  const positionals = parsed.positionals;
  const allowed: Record<Verb, readonly string[]> = {
    serve: ['host', 'port', ...(kind.serveTakesContacts ? [kind.contactFlag] : [])],
    share: ['host', 'port', 'files-port', kind.contactFlag],
    search: [kind.contactFlag, 'wait', ...(kind.defaultTtl === undefined ? [] : ['ttl'])],
    get: [kind.contactFlag, 'wait', 'output', 'max-size', ...(kind.defaultTtl === undefined ? [] : ['ttl'])],
  };
  for (const key of Object.keys(values)) {
    if (key !== 'help' && !allowed[verb].includes(key)) throw new UsageError(`--${key} does not apply to \`${kind.name} ${verb}\``);
  }
  const contacts = ((values[kind.contactFlag] as string[] | undefined) ?? []).flatMap((s) => s.split(',')).filter((s) => s.length > 0).map((s) => parseEndpoint(s, `--${kind.contactFlag}`));
  const flag = `--${kind.contactFlag}`;
  const needContact = verb === 'search' || verb === 'get' || (verb === 'share' && kind.shareNeedsContact);
  if (needContact && contacts.length === 0) throw new UsageError(`${flag} <host:port> is required`);
  const host = values.host ?? '0.0.0.0';
  if (isIP(host) !== 4) throw new UsageError(`--host ${JSON.stringify(host)} is not an IPv4 address`);
  const port = parsePort(values.port, kind.defaultPort);
  const waitMs = 1000 * (positiveNumber(values.wait, '--wait') ?? kind.defaultWaitSeconds);
  const ttl = kind.defaultTtl === undefined ? 0 : parseTtl(values.ttl, kind.defaultTtl);

  switch (verb) {
    case 'serve':
      if (positionals.length > 0) throw new UsageError(`serve takes no arguments (got ${JSON.stringify(positionals[0])})`);
      return runNode(kind, (log) => kind.serve({ host, port, contacts, log }), `${kind.name} node`);
    case 'share':
      if (positionals.length === 0) throw new UsageError('give at least one file or folder to share');
      return share(kind, positionals, { host, port, contacts, filesPort: parseFilesPort(values['files-port']) });
    case 'search': {
      if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'give keywords or a content hash to search for' : 'give one search (quote keywords with spaces)');
      return search(kind, positionals[0]!, contacts, ttl, waitMs);
    }
    case 'get': {
      const hash = positionals[0];
      if (positionals.length !== 1 || hash === undefined || !isContentHash(hash)) throw new UsageError('give one content hash (40 hex digits, as `search` prints)');
      return get(kind, hash.toLowerCase(), contacts, ttl, waitMs, values.output ?? '.', parseMaxSize(values['max-size']));
    }
  }
}

function parseFilesPort(s: string | undefined): number {
  if (s === undefined) return 0;
  const n = Number(s);
  if (s.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--files-port ${JSON.stringify(s)} must be a number from 0 to 65535`);
  return n;
}

function parseMaxSize(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = parseSize(s);
  if (n === undefined) throw new UsageError(`--max-size ${JSON.stringify(s)} is not a size (e.g. 700MB, 4GiB, 123456)`);
  return n;
}

function parseTtl(s: string | undefined, fallback: number): number {
  if (s === undefined) return fallback;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1 || n > 7) throw new UsageError(`--ttl ${JSON.stringify(s)} must be a whole number from 1 to 7`);
  return n;
}

/** Run a node until Ctrl-C (exit 130/143) or until it fails by itself (exit 1). */
async function runNode(kind: OverlayKind, start: (log: Log) => Promise<RunningNode>, what: string): Promise<number> {
  const status = new StatusLine();
  const log: Log = (m) => status.log(m);
  const interrupt = untilInterrupted();
  try {
    const node = await start(log);
    status.start(() => node.status());
    const outcome = await Promise.race([interrupt.promise, node.failed]);
    status.stop();
    await node.close();
    if (outcome instanceof Error) throw new CommandError(`${what} stopped: ${outcome.message}`);
    return outcome === 'SIGTERM' ? 143 : 130;
  } catch (e) {
    status.stop();
    if (e instanceof Error && (e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new CommandError(`cannot listen for the ${kind.name}: ${e.message} (choose another --port)`);
    throw e;
  } finally {
    interrupt.dispose();
  }
}

async function share(kind: OverlayKind, paths: readonly string[], ctx: { host: string; port: number; contacts: readonly Endpoint[]; filesPort: number }): Promise<number> {
  const progress = new ProgressBar('hashing');
  const warnings: string[] = [];
  const files = await scanShared(paths, {
    onProgress: (p) => progress.update(p.filesDone, p.filesDone),
    onSkip: (path, why) => warnings.push(`skipped ${printable(path)}: ${why}`),
  });
  progress.done();
  for (const w of warnings) process.stderr.write(`peerkit: ${w}\n`);
  if (files.length === 0) throw new CommandError(`nothing to share under ${paths.join(', ')}`);
  let server: FileServer;
  try {
    server = await serveFiles(files, ctx.host, ctx.filesPort);
  } catch (e) {
    throw new CommandError(`cannot serve the files on ${ctx.host}:${ctx.filesPort}: ${e instanceof Error ? e.message : String(e)} (choose another --files-port)`);
  }
  const total = files.reduce((n, f) => n + f.size, 0);
  for (const f of files) process.stdout.write(`${f.hash} ${f.size} ${showName(f.name)}\n`);
  process.stderr.write(`peerkit: sharing ${plural(files.length, 'file')} (${formatBytes(total)}), served over HTTP on port ${server.address.port}\n`);
  const shared = files.map(({ hash, name, size }) => ({ hash, name, size }));
  return runNode(kind, (log) => kind.share({ ...ctx, files: shared, filesPort: server.address.port, log }), `${kind.name} node`).finally(() => server.close());
}

/** A name as one field of a line: quoted (JSON) when it holds spaces or characters a terminal would act on. */
function showName(name: string): string {
  return /^[^\s"\\]+$/u.test(name) && printable(name) === name ? name : JSON.stringify(name);
}

async function search(kind: OverlayKind, text: string, contacts: readonly Endpoint[], ttl: number, waitMs: number): Promise<number> {
  const query = parseQueryOrUsage(text);
  const seen = new Set<string>();
  const interrupt = untilInterrupted();
  const abort = new AbortController();
  void interrupt.promise.then(() => abort.abort());
  try {
    await kind.search({
      contacts,
      query,
      ttl,
      waitMs,
      signal: abort.signal,
      log: (m) => process.stderr.write(`peerkit: ${m}\n`),
      onHit: (s) => {
        const key = sourceKey(s);
        if (seen.has(key)) return;
        seen.add(key);
        process.stdout.write(`${s.hash} ${showName(s.name)} ${s.size} ${formatEndpoint(s.address)}\n`);
      },
    });
  } finally {
    interrupt.dispose();
  }
  if (seen.size === 0) {
    process.stderr.write(`peerkit: nothing found for ${JSON.stringify(text)}${kind.defaultTtl === undefined ? '' : ` within ${plural(ttl, 'hop')}`}\n`);
    return 1;
  }
  return 0;
}

function parseQueryOrUsage(text: string): Query {
  try {
    return parseQuery(text);
  } catch (e) {
    if (e instanceof OverlayError) throw new UsageError(e.message);
    throw e;
  }
}

/** Sources `get` takes from a search at most (duplicates aside); the rest are ignored. */
export const MAX_GET_SOURCES = 200;

async function get(kind: OverlayKind, hash: string, contacts: readonly Endpoint[], ttl: number, waitMs: number, outDir: string, maxSize: number | undefined): Promise<number> {
  const queue: Source[] = [];
  const seen = new Set<string>();
  let ignored = 0;
  let wake: () => void = () => undefined;
  let searching = true;
  const abort = new AbortController();
  const interrupt = untilInterrupted();
  let interrupted = false;
  void interrupt.promise.then(() => {
    interrupted = true;
    abort.abort();
  });
  const log: Log = (m) => process.stderr.write(`peerkit: ${m}\n`);
  const searchDone = kind
    .search({
      contacts,
      query: { kind: 'hash', hash },
      ttl,
      waitMs,
      signal: abort.signal,
      log,
      onHit: (s) => {
        if (s.hash !== hash || seen.has(sourceKey(s))) return;
        // The overlay may answer with any number of sources: try the first MAX_GET_SOURCES and ignore the rest.
        if (seen.size >= MAX_GET_SOURCES) {
          if (ignored++ === 0) log(`more than ${MAX_GET_SOURCES} sources answered; trying the first ${MAX_GET_SOURCES}`);
          return;
        }
        seen.add(sourceKey(s));
        queue.push(s);
        wake();
      },
    })
    .finally(() => {
      searching = false;
      wake();
    });
  searchDone.catch(() => undefined);
  let lastError: Error | undefined;
  try {
    for (;;) {
      const source = queue.shift();
      if (source === undefined) {
        if (!searching) break;
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      if (abort.signal.aborted) break;
      const bar = new ProgressBar(source.name.length > 24 ? `${source.name.slice(0, 23)}…` : source.name);
      try {
        const r = await downloadFile(source, outDir, { signal: abort.signal, onProgress: (d, t) => bar.update(d, t), ...(maxSize !== undefined && { maxSize }) });
        bar.done();
        abort.abort();
        process.stderr.write(`peerkit: ${r.fetched ? 'saved' : 'already have'} ${printable(r.path)} (${formatBytes(source.size)}, SHA-1 verified)${r.fetched ? ` from ${formatEndpoint(source.address)}` : ''}\n`);
        process.stdout.write(`${r.path}\n`);
        return 0;
      } catch (e) {
        bar.done();
        if (interrupted) break;
        if (!(e instanceof OverlayError)) throw e;
        // The local disk refused (no space, no permission): another source would not help.
        if (e.code === 'disk') throw new CommandError(`${e.message} (not trying other sources: another would not help)`);
        lastError = e;
        log(`${formatEndpoint(source.address)}: ${e.message}${queue.length > 0 || searching ? '; trying another source' : ''}`);
      }
    }
    if (interrupted) {
      log('interrupted; run the same command again to resume the download');
      return 130;
    }
    await searchDone; // rethrows when nobody could be asked
    if (lastError !== undefined) throw new CommandError(`no source gave ${hash} (last error: ${lastError.message})`);
    throw new CommandError(`nobody answered with ${hash}${kind.defaultTtl === undefined ? '' : ` within ${plural(ttl, 'hop')}`} in ${waitMs / 1000} s`);
  } finally {
    abort.abort();
    interrupt.dispose();
  }
}
