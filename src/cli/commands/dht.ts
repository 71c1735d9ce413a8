import { DhtError, DhtNode, idHex, writeDhtState, type DhtState } from '../../dht/index.js';
import type { Endpoint } from '../../net/index.js';
import { parseCommandLine } from '../args.js';
import { bindDht, bootstrapList, defaultStatePath, dhtHost, loadState, nobodyAnswered, parsePort, resolveEndpoints, warnUnresolved } from '../dht.js';
import { UsageError } from '../errors.js';
import { plural } from '../format.js';
import type { Command } from '../main.js';
import { StatusLine } from '../status.js';
import { untilInterrupted } from '../transfer.js';
import { subcommands } from './dht-client.js';

/*
 * `peerkit dht`: run a mainline DHT node (BEP 5, BEP 44 storage) until
 * Ctrl-C. The one-shot forms (put, get, peers, keygen) are in dht-client.ts;
 * this file sends `peerkit dht <form>` there.
 */

const usage = `Usage: peerkit dht [options]
       peerkit dht put <value>  |  put --key <keyfile> <value>
       peerkit dht get <target> |  get --key <public key | keyfile>
       peerkit dht peers <infohash>
       peerkit dht keygen <keyfile>

Run a node of the mainline DHT (BEP 5), the network BitTorrent clients use
to find peers without a tracker, until Ctrl-C. The node answers other
nodes, keeps the peers they announce and the values they store (BEP 44),
and prints a status line every 5 seconds (every minute when stderr is not
a terminal). Its id and routing table are saved every 5 minutes and on
exit, and loaded at the next start, so it rejoins where it was. If no
bootstrap node answers it keeps running, and tries again every minute.

The other forms join the DHT for one operation, print the result and
exit: see \`peerkit dht put --help\` (and get, peers, keygen).

Options:
      --host <address>     IPv4 address to listen on (default: 0.0.0.0)
      --port <n>           UDP port, 0 for any free one (default: 6881)
      --bootstrap <host:port,...>
                           nodes to join through; repeatable (default: the
                           public routers router.bittorrent.com:6881,
                           router.utorrent.com:6881,
                           dht.transmissionbt.com:6881,
                           dht.libtorrent.org:25401)
      --state <file>       where the node id and routing table are saved
                           (default: $XDG_DATA_HOME/peerkit/dht.dat, or
                           ~/.local/share/peerkit/dht.dat)`;

/** How often the routing table is saved, so a crash loses little. */
const SAVE_EVERY_MS = 5 * 60_000;
/** How often a node that knows nobody asks the bootstrap nodes again. */
const REJOIN_EVERY_MS = 60_000;

export const dhtCommand: Command = {
  name: 'dht',
  summary: 'run a DHT node; put, get and find peers in the DHT',
  usage,
  async run(args) {
    const form = args[0] === undefined ? undefined : subcommands.find((s) => s.name === args[0]);
    if (form === undefined) return runNode(args);
    try {
      return await form.run(args.slice(1));
    } catch (e) {
      if (e instanceof UsageError) e.command ??= `dht ${form.name}`;
      throw e;
    }
  },
};

async function runNode(args: readonly string[]): Promise<number> {
  const parsed = parseCommandLine(
    args,
    {
      host: { type: 'string' },
      port: { type: 'string' },
      bootstrap: { type: 'string', multiple: true },
      state: { type: 'string' },
    },
    usage,
  );
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 0) {
    throw new UsageError(`unknown dht command ${JSON.stringify(positionals[0])}: expected put, get, peers or keygen, or options to run a node`);
  }
  const host = dhtHost(values.host);
  const port = parsePort(values.port, 6881);
  const bootstrap = bootstrapList(values.bootstrap);
  const statePath = values.state ?? defaultStatePath();
  const status = new StatusLine();
  const warn = (m: string): void => status.log(`warning: ${m}`);

  const saved = await loadState(statePath, warn);
  const socket = await bindDht(host, port);
  const interrupt = untilInterrupted();
  const stopped = interrupt.promise.then(() => 'stopped' as const);
  try {
    const routers = await Promise.race([resolveEndpoints(bootstrap), stopped]);
    if (routers === 'stopped') {
      socket.close();
      return exitCode(await interrupt.promise);
    }
    warnUnresolved(routers, warn);
    // The bootstrap nodes are passed to each bootstrap() rather than to the node, so a later attempt can take freshly resolved names.
    const node = new DhtNode({ socket, ...(saved !== undefined && { id: saved.id, knownNodes: saved.nodes }) });
    if (saved !== undefined) status.log(`loaded node id ${idHex(saved.id)} and ${plural(saved.nodes.length, 'node')} from ${statePath}`);
    const state = new StateFile(statePath, node, saved, warn);

    const through = (saved?.nodes.length ?? 0) + routers.endpoints.length;
    if (through > 0) status.log(`joining the DHT through ${plural(through, 'node')}`);
    const joined = await Promise.race([join(node, routers.endpoints), stopped]);
    if (joined !== 'stopped') {
      if (!joined) {
        status.log(`could not join the DHT: ${nobodyAnswered(routers, saved?.nodes.length ?? 0)}. Running alone: other nodes can join through this one, and the bootstrap nodes are asked again every minute`);
      }
      const local = node.local;
      process.stdout.write(`dht node ${idHex(node.id)} on ${local.host}:${local.port}\n`);
      const rejoin = async (): Promise<boolean> => join(node, (await resolveEndpoints(bootstrap)).endpoints);
      await serve(node, state, status, rejoin, stopped);
    }
    status.stop();
    const signal = await interrupt.promise;
    const n = await state.save();
    node.close();
    if (n !== undefined) process.stderr.write(`saved the node id and ${plural(n, 'node')} to ${statePath}\n`);
    return exitCode(signal);
  } finally {
    interrupt.dispose();
  }
}

/** Ctrl-C is 130, SIGTERM 143: 128 plus the signal number, as shells report it. */
function exitCode(signal: string): number {
  return signal === 'SIGTERM' ? 143 : 130;
}

/** Bootstrap through the saved nodes and `routers`; false when nobody answered. Never rejects on a DhtError (the node may be closed under it). */
async function join(node: DhtNode, routers: readonly Endpoint[]): Promise<boolean> {
  try {
    await node.bootstrap(routers);
    return true;
  } catch (e) {
    if (e instanceof DhtError) return false;
    throw e;
  }
}

/** Until `stopped`: the status line, a save every 5 minutes, and new attempts to join while the table is empty. */
async function serve(node: DhtNode, state: StateFile, status: StatusLine, join: () => Promise<boolean>, stopped: Promise<unknown>): Promise<void> {
  const warn = (m: string): void => status.log(`warning: ${m}`);
  status.start(() => {
    const s = node.stats();
    return `nodes ${s.nodes} in ${plural(s.buckets, 'bucket')}  torrents ${s.torrents} (${plural(s.peers, 'peer')})  items ${s.items}  queries in ${s.queriesReceived} out ${s.queriesSent}`;
  });
  const saver = setInterval(() => void state.save(), SAVE_EVERY_MS);
  let joining = false;
  const rejoin = setInterval(() => {
    if (joining || node.tableSize > 0) return;
    joining = true;
    join()
      .then((ok) => {
        if (ok) status.log(`joined the DHT: ${plural(node.tableSize, 'node')} in the routing table`);
      })
      .catch((e: unknown) => warn(`joining failed: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => (joining = false));
  }, REJOIN_EVERY_MS);
  try {
    await stopped;
  } finally {
    clearInterval(saver);
    clearInterval(rejoin);
  }
}

/**
 * The saved id and routing table. Saves never overlap (each writes the same
 * temporary file), and a node that knows nobody keeps the nodes it loaded:
 * they may answer again once the network is back.
 */
class StateFile {
  private last: Promise<number | undefined> = Promise.resolve(undefined);

  constructor(
    private readonly path: string,
    private readonly node: DhtNode,
    private readonly loaded: DhtState | undefined,
    private readonly warn: (message: string) => void,
  ) {}

  /** Resolves to how many nodes were saved, undefined when saving failed (a warning says why). */
  save(): Promise<number | undefined> {
    this.last = this.last.then(async () => {
      const contacts = this.node.contacts();
      const nodes = contacts.length > 0 ? contacts : (this.loaded?.nodes ?? []);
      try {
        await writeDhtState(this.path, { id: this.node.id, nodes });
        return nodes.length;
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        this.warn(`cannot save the DHT state to ${this.path}: ${err.code ?? err.message}`);
        return undefined;
      }
    });
    return this.last;
  }
}

