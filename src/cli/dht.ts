import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { decode, fromBinary, textOrUndefined, type BValue } from '../bencode/index.js';
import { DhtError, DhtNode, readDhtState, writeDhtState, type DhtState } from '../dht/index.js';
import { bindUdp, type DatagramSocket, type Endpoint } from '../net/index.js';
import { CommandError, UsageError } from './errors.js';
import { plural, printable } from './format.js';
import { parseEndpoint, positiveNumber } from './transfer.js';

/*
 * What the forms of `peerkit dht` share: where the node's state lives, the
 * bootstrap routers and their names, binding the UDP port, joining for one
 * operation, and showing a value read from the DHT.
 */

/** The options of the one-shot forms (put, get, peers), and their help. */
export const JOIN_USAGE = `      --bootstrap <host:port,...>
                           nodes to join through; repeatable (default: the
                           public routers, see \`peerkit dht --help\`)
      --host <address>     IPv4 address to send from (default: 0.0.0.0)
      --port <n>           UDP port (default: 0, any free one)
      --state <file>       also join through the nodes \`peerkit dht\` saved
                           there, only read (default:
                           $XDG_DATA_HOME/peerkit/dht.dat)
      --timeout <seconds>  give up after this long, in all (default: 30)`;

export const JOIN_OPTIONS = {
  bootstrap: { type: 'string', multiple: true },
  host: { type: 'string' },
  port: { type: 'string' },
  state: { type: 'string' },
  timeout: { type: 'string' },
} as const;

export interface JoinFlags {
  readonly bootstrap?: string[] | undefined;
  readonly host?: string | undefined;
  readonly port?: string | undefined;
  readonly state?: string | undefined;
  readonly timeout?: string | undefined;
}

/**
 * The routers the mainline DHT is joined through. They are ordinary nodes
 * that answer find_node and keep no peers; a node that saved its routing
 * table rejoins through that and needs them only the first time.
 */
export const PUBLIC_ROUTERS = ['router.bittorrent.com:6881', 'router.utorrent.com:6881', 'dht.transmissionbt.com:6881', 'dht.libtorrent.org:25401'] as const;

/** The node id and routing table live in the user's data folder (XDG), next to the resume data. */
export function defaultStatePath(): string {
  const base = process.env['XDG_DATA_HOME'] ?? join(homedir(), '.local', 'share');
  return join(base, 'peerkit', 'dht.dat');
}

/** `--bootstrap a:1,b:2 --bootstrap c:3`, or the public routers. Hostnames stay names until `resolveEndpoints`. */
export function bootstrapList(values: readonly string[] | undefined): Endpoint[] {
  const items = values === undefined ? [...PUBLIC_ROUTERS] : values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw new UsageError('--bootstrap needs at least one host:port');
  return items.map((s) => {
    const e = parseEndpoint(s, '--bootstrap');
    if (isIP(e.host) === 6) throw new UsageError(`--bootstrap ${JSON.stringify(s)}: the IPv6 DHT (BEP 32) is not supported`);
    return e;
  });
}

export interface Resolved {
  readonly endpoints: Endpoint[];
  /** The names that did not resolve, with why: `router.utorrent.com (ENOTFOUND)`. */
  readonly failed: string[];
}

/**
 * Resolve hostnames to IPv4 addresses, once: a datagram sent to a name
 * would be resolved again at every send. A name that does not resolve is
 * left out; the others may be enough.
 */
export async function resolveEndpoints(endpoints: readonly Endpoint[]): Promise<Resolved> {
  const results = await Promise.all(
    endpoints.map(async (e): Promise<Endpoint | string> => {
      if (isIP(e.host) === 4) return e;
      try {
        const { address } = await lookup(e.host, { family: 4 });
        return { host: address, port: e.port };
      } catch (err) {
        return `${e.host} (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
      }
    }),
  );
  return { endpoints: results.filter((r) => typeof r !== 'string'), failed: results.filter((r) => typeof r === 'string') };
}

/** A warning for each name that did not resolve, unless none did: then `nobodyAnswered` says it in one line. */
export function warnUnresolved(r: Resolved, warn: (message: string) => void): void {
  if (r.endpoints.length > 0) for (const f of r.failed) warn(`cannot resolve ${f}: skipped`);
}

/**
 * Why joining failed, in the words of what was tried: `no answer from
 * 127.0.0.1:9`, `none of the 4 bootstrap nodes and 120 saved nodes
 * answered`, `none of the bootstrap names resolved (...)`.
 */
export function nobodyAnswered(routers: Resolved, saved: number): string {
  const n = routers.endpoints.length;
  if (n + saved === 0) return routers.failed.length > 0 ? `none of the bootstrap names resolved: ${routers.failed.join(', ')}` : 'no node to join through';
  if (saved === 0 && n === 1) return `no answer from ${routers.endpoints[0]!.host}:${routers.endpoints[0]!.port}`;
  const parts = [n > 0 ? plural(n, 'bootstrap node') : '', saved > 0 ? plural(saved, 'saved node') : ''].filter((p) => p !== '');
  return `none of the ${parts.join(' and ')} answered`;
}

export function parsePort(s: string | undefined, fallback: number): number {
  if (s === undefined) return fallback;
  const n = Number(s);
  if (s.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port ${JSON.stringify(s)} must be a number from 0 to 65535`);
  return n;
}

/** Bind the DHT's UDP port, with the two failures a user can fix said plainly. */
export async function bindDht(host: string, port: number): Promise<DatagramSocket> {
  try {
    return await bindUdp(host, port);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new CommandError(`UDP port ${port} is already in use: choose another with --port (0 for any free port)`);
    if (code === 'EADDRNOTAVAIL' || code === 'EINVAL') throw new CommandError(`cannot listen on ${host}: not a local address`);
    throw e;
  }
}

/**
 * Join the DHT with a throwaway read-only node on an ephemeral port, run
 * `work`, leave (read-only, BEP 43: the nodes it asks do not keep it). The nodes `peerkit dht` saved are used to join, but not its
 * id (that is the long-running node's), and nothing is saved. Bounded by
 * --timeout in all: binding, resolving the bootstrap names, joining and the
 * operation.
 */
export async function withDht<T>(flags: JoinFlags, work: (node: DhtNode) => Promise<T>): Promise<T> {
  const seconds = positiveNumber(flags.timeout, '--timeout') ?? 30;
  if (seconds > 86_400) throw new UsageError('--timeout is at most 86400 seconds (a day)');
  const host = dhtHost(flags.host);
  const port = parsePort(flags.port, 0);
  const bootstrap = bootstrapList(flags.bootstrap);
  const statePath = flags.state ?? defaultStatePath();
  const warn = (m: string): void => void process.stderr.write(`peerkit: warning: ${m}\n`);

  let over = false;
  let node: DhtNode | undefined;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CommandError(`timed out after ${seconds} s (see --timeout)`)), seconds * 1000);
  });
  const task = (async () => {
    const socket = await bindDht(host, port);
    const [saved, routers] = await Promise.all([loadState(statePath, warn), resolveEndpoints(bootstrap)]).catch((e: unknown) => {
      socket.close();
      throw e;
    });
    if (over) {
      // Timed out while resolving the bootstrap names.
      socket.close();
      throw new DhtError('closed', 'timed out');
    }
    warnUnresolved(routers, warn);
    node = new DhtNode({ socket, readOnly: true, bootstrap: routers.endpoints, ...(saved !== undefined && { knownNodes: saved.nodes }) });
    try {
      await node.bootstrap();
    } catch (e) {
      if (e instanceof DhtError && e.code === 'no-nodes') throw new CommandError(`cannot join the DHT: ${nobodyAnswered(routers, saved?.nodes.length ?? 0)} (check --bootstrap and the network)`);
      throw e;
    }
    return await work(node);
  })();
  try {
    return await Promise.race([task, timedOut]);
  } finally {
    over = true;
    clearTimeout(timer);
    node?.close();
    // After a timeout the task fails on the closed node: nobody is listening.
    task.catch(() => undefined);
  }
}

/** `--host`: an IPv4 address. Compact node and peer info are IPv4 here; the IPv6 DHT (BEP 32) is not supported. */
export function dhtHost(s: string | undefined): string {
  if (s === undefined) return '0.0.0.0';
  if (isIP(s) !== 4) throw new UsageError(`--host ${JSON.stringify(s)} must be an IPv4 address (the IPv6 DHT, BEP 32, is not supported)`);
  return s;
}

/** The saved state, or undefined when there is none or it cannot be used (a warning says why). */
export async function loadState(path: string, warn: (message: string) => void): Promise<DhtState | undefined> {
  try {
    return await readDhtState(path);
  } catch (e) {
    if (e instanceof DhtError) {
      warn(`${path}: ${e.message}; ignoring it`);
      return undefined;
    }
    const err = e as NodeJS.ErrnoException;
    warn(`cannot read ${path}: ${err.code ?? err.message}; ignoring it`);
    return undefined;
  }
}

/**
 * How a value read from the DHT is shown. A byte string is the value
 * itself: its bytes as they are, and a newline (on a terminal, as text with
 * control characters escaped, or hex when it is not UTF-8). Anything else
 * (integers, lists, dictionaries) as one line of JSON, byte strings as text
 * when they are UTF-8 and as `hex:<digits>` otherwise, integers beyond 2^53
 * as strings.
 */
export function showValue(bencoded: Uint8Array, terminal: boolean): Uint8Array {
  // Other clients' dictionaries may have unsorted keys: BEP 44 stores `v` verbatim.
  const v = decode(bencoded, { strict: false });
  if (v instanceof Uint8Array) {
    if (!terminal) return concatNewline(v);
    const text = textOrUndefined(v);
    const shown = text === undefined ? Buffer.from(v).toString('hex') : text.split('\n').map((l) => l.split('\t').map(printable).join('\t')).join('\n');
    return new TextEncoder().encode(`${shown}\n`);
  }
  return new TextEncoder().encode(`${JSON.stringify(toJson(v))}\n`);
}

function toJson(v: BValue): unknown {
  if (v instanceof Uint8Array) return textOf(v);
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(toJson);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [textOf(fromBinary(k)), toJson(x)]));
  return v;
}

function textOf(bytes: Uint8Array): string {
  return textOrUndefined(bytes) ?? `hex:${Buffer.from(bytes).toString('hex')}`;
}

function concatNewline(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = 0x0a;
  return out;
}

export interface OpenedDht {
  readonly node: DhtNode;
  /** Save the routing table (with the id already saved there, if any: that is `peerkit dht`'s); errors are warnings. */
  save(): Promise<void>;
}

/**
 * The DHT node of `get` and `seed`: on `ports` (the first free one), joining
 * through the saved nodes and `bootstrap` (names resolved once). Its id is
 * new each run, so it never runs as a twin of a `peerkit dht` node sharing
 * the saved state; the table it learns is saved back.
 */
export async function openDht(options: { readonly host: string; readonly ports: readonly number[]; readonly bootstrap: readonly string[] | undefined; readonly statePath?: string | undefined; readonly warn: (m: string) => void }): Promise<OpenedDht> {
  const statePath = options.statePath ?? defaultStatePath();
  const saved = await loadState(statePath, options.warn);
  const routers = await resolveEndpoints(bootstrapList(options.bootstrap));
  warnUnresolved(routers, options.warn);
  let socket: DatagramSocket | undefined;
  for (const port of options.ports) {
    try {
      socket = await bindUdp(options.host, port);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === options.ports[options.ports.length - 1]) throw e;
    }
  }
  const node = new DhtNode({ socket: socket!, bootstrap: routers.endpoints, ...(saved !== undefined && { knownNodes: saved.nodes }) });
  return {
    node,
    save: async () => {
      const nodes = node.contacts();
      if (nodes.length === 0) return; // nothing learned: keep what was saved
      try {
        await writeDhtState(statePath, { id: saved?.id ?? node.id, nodes });
      } catch (e) {
        options.warn(`could not save the DHT routing table to ${statePath}: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
  };
}
