import { DirectoryClient, DirectoryServer } from '../../src/overlay/directory/index.js';
import { pool } from '../dht-network.js';
import { HOST, makeRow, type Outcome, type Row, type ScenarioContext } from './common.js';
import { filesPort, isHolder } from './population.js';

/*
 * The central directory scenario of bench:overlays (Napster): one
 * DirectoryServer on 127.0.0.1, every node of the population a
 * DirectoryClient over real TCP that registers its files with its files
 * port; each query is one search from the asking node's client.
 *
 * Every directory message has the server at one end, so the messages of
 * the query phase are the server's messages in plus out (each message
 * counted once, as the other overlays count messages sent); the clients'
 * own counters must add up to the same, which the notes check. The busiest
 * node is the server. Hops: one round trip to the server.
 *
 * Heartbeats are turned down (one an hour) so that only searches are counted.
 */

const HEARTBEAT_MS = 3_600_000;

export async function runDirectory(ctx: ScenarioContext): Promise<Row[]> {
  const { pop } = ctx;
  const server = new DirectoryServer({ expireMs: 2 * HEARTBEAT_MS });
  const clients: DirectoryClient[] = [];
  try {
    ctx.phase('directory: connecting and registering');
    const t0 = performance.now();
    const address = await server.listen(HOST, 0);
    for (let i = 0; i < pop.nodes; i++) clients.push(await DirectoryClient.connect(address, { heartbeatMs: HEARTBEAT_MS }));
    await pool(clients, 16, (c, i) => c.register(pop.holdings[i]!.map((f) => pop.files[f]!), filesPort(i)));
    const registered = server.stats();
    ctx.log(`directory: ${registered.peers} peers registered ${registered.files} files in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    ctx.phase('directory: searching');
    const clientTotal = (): number => clients.reduce((n, c) => n + c.stats().messagesIn + c.stats().messagesOut, 0);
    const before = server.stats();
    const clientsBefore = clientTotal();
    const outcomes: Outcome[] = [];
    for (const q of pop.queries) {
      const t = performance.now();
      const sources = await clients[q.from]!.search(q.query);
      const found = sources.some((s) => isHolder(pop, q, s.hash, s.address));
      outcomes.push({ kind: q.kind, found, hops: found ? 1 : undefined, ms: performance.now() - t });
    }
    const after = server.stats();
    const messages = after.messagesIn - before.messagesIn + (after.messagesOut - before.messagesOut);
    const clientMessages = clientTotal() - clientsBefore;
    return [
      makeRow({
        name: 'directory',
        overlay: 'directory',
        outcomes,
        messages,
        busiestReceived: after.messagesIn - before.messagesIn,
        busiest: `the server (${HOST}:${address.port})`,
        notes: [
          `${after.searches - before.searches} searches answered by the server`,
          clientMessages === messages ? 'the clients counted the same messages as the server' : `the clients counted ${clientMessages} messages, the server ${messages}`,
          'hops = one round trip to the server',
        ],
      }),
    ];
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await server.close();
  }
}
