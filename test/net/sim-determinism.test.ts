import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom, SimClock, SimNetwork, type StreamConnection } from '../../src/net/index.js';

/*
 * The simulator's promise: the same seed and code give the same run. A small
 * but busy scenario (mixed rates, a shared uplink, a slow downlink, pauses,
 * an end and a destroy, lossy UDP, async hops between events) is run twice
 * and its whole event log, with virtual times, compared exactly.
 */

async function scenario(seed: number): Promise<string[]> {
  const clock = new SimClock();
  const net = new SimNetwork({ clock, seed, latencyMs: 7, loss: 0.2 });
  const random = seededRandom(seed);
  const log: string[] = [];
  const note = (s: string): void => void log.push(`${clock.now().toFixed(6)} ${s}`);
  const hosts = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'];
  const nodes = hosts.map((h, i) => net.addNode(h, { up: 200_000 * (i + 1), down: i === 3 ? 150_000 : undefined }));
  net.setLatency('10.0.0.1', '10.0.0.4', 31);
  for (const [i, node] of nodes.entries()) {
    await node.transport.listen(node.host, 6881, (c) => {
      note(`${node.host} accepted ${c.remote.host}:${c.remote.port}`);
      serve(c, node.host);
    });
    const udp = await node.bindUdp(6881);
    udp.onMessage((d, from) => note(`${node.host} udp ${d.length} from ${from.host}`));
    for (let k = 0; k < 20; k++) clock.setTimer(random() * 2000, () => udp.send(new Uint8Array(50 + i * 10 + k), { host: hosts[(i + 1 + k) % 4]!, port: 6881 }));
  }
  // Each connection's server echoes a digest of what it got, with an await in between (as the engine's stores do).
  function serve(c: StreamConnection, host: string): void {
    let got = 0;
    c.onData((chunk) => {
      got += chunk.length;
      note(`${host} got ${chunk.length}`);
      void Promise.resolve().then(() => c.write(new Uint8Array(chunk.length % 97)));
      if (random() < 0.01) {
        c.pause();
        clock.setTimer(random() * 300, () => c.resume());
      }
    });
    c.onClose(() => note(`${host} server side closed after ${got}`));
  }
  for (let i = 0; i < 6; i++) {
    const from = nodes[i % 4]!;
    const to = hosts[(i + 2) % 4]!;
    clock.setTimer(random() * 500, async () => {
      const c = await from.transport.connect({ host: to, port: 6881 });
      note(`${from.host} connected to ${to} from ${c.local.port}`);
      let echoed = 0;
      c.onData((chunk) => void (echoed += chunk.length));
      c.onClose(() => note(`${from.host}->${to} closed, echo ${echoed}`));
      const total = Math.floor(random() * 1_000_000) + 1000;
      let sent = 0;
      const go = (): void => {
        while (sent < total) {
          const n = Math.min(total - sent, 1 + Math.floor(random() * 40_000));
          sent += n;
          if (!c.write(new Uint8Array(n))) return note(`${from.host}->${to} full at ${sent}`);
        }
        if (i % 2 === 0) c.end();
        else clock.setTimer(random() * 3000, () => c.destroy());
      };
      c.onDrain(go);
      go();
    });
  }
  await clock.run({ maxTime: 30_000 });
  note(`stats ${nodes.map((n) => `${n.stats.bytesUp}/${n.stats.bytesDown}`).join(' ')}`);
  return log;
}

describe('simulator determinism', () => {
  it('the same seed gives the same event log, to the virtual microsecond', async () => {
    const one = await scenario(7);
    const two = await scenario(7);
    assert.ok(one.length > 100, `a busy scenario (${one.length} events)`);
    assert.deepEqual(two, one);
    assert.notDeepEqual(await scenario(8), one);
  });
});
