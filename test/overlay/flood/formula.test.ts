import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { parseQuery } from '../../../src/overlay/index.js';
import { floodCost } from '../../../src/overlay/flood/index.js';
import { chainJoin, closeAll, graphOf, queryTotals, startNodes, until, waitSettled, type Started } from './helpers.js';

/*
 * The message count of a flood, measured on 30 real nodes over TCP, equals
 * the count worked out from their graph (graph.ts): for TTL 1 to 5, the
 * Query messages all nodes sent for one search are exactly
 * deg(origin) + the sum of deg(v) - 1 over the nodes within TTL - 1 hops,
 * and every copy beyond the first at each node is counted as a duplicate.
 * Maintenance is turned down so the graph holds still while we count.
 */

describe('the flooding cost formula on 30 nodes', () => {
  let nodes: Started[] = [];
  let graph = new Map<string, string[]>();

  before(async () => {
    nodes = await startNodes(30, () => ({ targetNeighbours: 3, maxNeighbours: 6, maintainMs: 600_000, connectTimeoutMs: 2_000 }));
    await chainJoin(nodes, 2024);
    graph = await waitSettled(nodes);
  });

  after(() => closeAll(nodes));

  /** Wait until every query copy sent has been received (so none is left to forward), twice in a row. */
  async function quiet(): Promise<void> {
    for (;;) {
      await until(() => queryTotals(nodes).sent === queryTotals(nodes).received, 'every query copy sent has arrived');
      const t = queryTotals(nodes).sent;
      await sleep(30);
      if (queryTotals(nodes).sent === t && queryTotals(nodes).received === t) return;
    }
  }

  for (const origin of [0, 17]) {
    it(`sends exactly the predicted number of queries from node ${origin}, TTL 1 to 5`, async () => {
      const from = nodes[origin]!;
      const measured: number[] = [];
      const predicted: number[] = [];
      for (let ttl = 1; ttl <= 5; ttl++) {
        await quiet();
        const sentBefore = queryTotals(nodes).sent;
        const dupBefore = nodes.reduce((n, s) => n + s.node.stats().duplicates, 0);
        await from.node.search(parseQuery('nothing shared'), { ttl, waitMs: 0 });
        await quiet();
        const cost = floodCost(graph, from.key, ttl);
        measured.push(queryTotals(nodes).sent - sentBefore);
        predicted.push(cost.queryMessages);
        const duplicates = nodes.reduce((n, s) => n + s.node.stats().duplicates, 0) - dupBefore;
        assert.equal(duplicates, cost.queryMessages - cost.reached, `TTL ${ttl}: every copy but one per node reached is a duplicate`);
      }
      assert.deepEqual(measured, predicted);
      assert.deepEqual(graphOf(nodes), graph, 'the graph did not change while counting');
    });
  }
});
