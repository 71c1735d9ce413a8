import { lookup } from 'node:dns/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DhtNode, readDhtState, writeDhtState, type DhtState } from '../dht/index.js';
import { bindUdp, type DatagramSocket, type Endpoint } from '../net/index.js';
import { parseEndpoint } from './transfer.js';

/*
 * The DHT node of a command (`get`, `seed`, `dht`): its UDP socket, its
 * bootstrap list, and its saved state (node id and routing table, BEP 5
 * suggests keeping both) in the user's data folder.
 */

/** The routers every mainline client knows; used when no --bootstrap is given. */
export const DEFAULT_ROUTERS = ['router.bittorrent.com:6881', 'router.utorrent.com:6881', 'dht.transmissionbt.com:6881', 'dht.libtorrent.org:25401'];

export const BOOTSTRAP_USAGE = `      --bootstrap <host:port,...>
                         DHT nodes to join through (default: the public
                         routers, ${DEFAULT_ROUTERS[0]} and others)`;

export function dhtStatePath(): string {
  const base = process.env['XDG_DATA_HOME'] ?? join(homedir(), '.local', 'share');
  return join(base, 'peerkit', 'dht.dat');
}

/** `--bootstrap` values (each may hold a comma-separated list), or the public routers. */
export function bootstrapList(values: readonly string[] | string | undefined): string[] {
  const given = (typeof values === 'string' ? [values] : (values ?? [])).flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  return given.length > 0 ? given : DEFAULT_ROUTERS;
}

/** Resolve host names; a name that does not resolve is reported through `warn` and skipped. */
export async function resolveEndpoints(list: readonly string[], warn: (message: string) => void): Promise<Endpoint[]> {
  const out: Endpoint[] = [];
  for (const s of list) {
    const e = parseEndpoint(s, '--bootstrap');
    try {
      const { address } = await lookup(e.host, { family: 4 });
      out.push({ host: address, port: e.port });
    } catch {
      warn(`cannot resolve DHT bootstrap node ${e.host}; skipping it`);
    }
  }
  return out;
}

export interface OpenedDht {
  readonly node: DhtNode;
  readonly socket: DatagramSocket;
  readonly bootstrap: readonly Endpoint[];
  readonly restored: DhtState | undefined;
  /** Save the id and table; errors are reported, never thrown (losing it only costs a slower start). */
  save(): Promise<void>;
}

/**
 * Bind the UDP socket (trying `ports` in order) and create the node with the
 * saved id and nodes when there are any (`keepId` false: only the nodes).
 */
export async function openDht(options: { readonly host: string; readonly ports: readonly number[]; readonly bootstrap: readonly string[]; readonly statePath: string; readonly keepId: boolean; readonly warn: (m: string) => void }): Promise<OpenedDht> {
  let restored: DhtState | undefined;
  try {
    restored = await readDhtState(options.statePath);
  } catch (e) {
    options.warn(`ignoring the saved DHT state in ${options.statePath}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const bootstrap = await resolveEndpoints(options.bootstrap, options.warn);
  let socket: DatagramSocket | undefined;
  for (const port of options.ports) {
    try {
      socket = await bindUdp(options.host, port);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === options.ports[options.ports.length - 1]) throw e;
    }
  }
  const node = new DhtNode({
    socket: socket!,
    bootstrap,
    ...(restored !== undefined && { knownNodes: restored.nodes }),
    ...(restored !== undefined && options.keepId && { id: restored.id }),
  });
  return {
    node,
    socket: socket!,
    bootstrap,
    restored,
    save: async () => {
      const nodes = node.contacts();
      if (nodes.length === 0) return; // nothing learned: keep what was saved
      try {
        await writeDhtState(options.statePath, { id: options.keepId || restored === undefined ? node.id : restored.id, nodes });
      } catch (e) {
        options.warn(`could not save the DHT state to ${options.statePath}: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
  };
}
