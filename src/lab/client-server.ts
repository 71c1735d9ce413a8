import { TokenBucket } from '../engine/index.js';
import { realClock, SimClock, SimNetwork, tcpTransport, type Clock, type StreamConnection, type StreamTransport } from '../net/index.js';
import { clientServerBound } from './bounds.js';
import type { DistributionOptions } from './distribution.js';

/*
 * Client-server distribution: a server sends each of N peers a whole copy
 * of F bytes over its own stream connection, and the time is when the last
 * peer holds F bytes. The server's upload is the bottleneck: on the
 * simulated network its access link (u_s, shared by its connections in
 * turn); on the real one a token bucket at u_s that every 16 KiB write pays
 * for, the connections taking turns, so the N copies share u_s as the model
 * has it. A download cap d is the peers' access links, or on the real
 * network a bucket per peer that stops it reading.
 */

const CHUNK = 16 * 1024;
/** A run that has not finished after this much time past its bound has failed. */
const SLACK_MS = 600_000;

interface Setting {
  readonly clock: Clock;
  readonly serverTransport: StreamTransport;
  readonly serverHost: string;
  readonly port: number;
  readonly client: (i: number) => StreamTransport;
  /** Real network: what holds the server to u_s. */
  readonly pace: TokenBucket | undefined;
  /** Until `until()` holds or the clock reads `deadline`. */
  run(until: () => boolean, deadline: number): Promise<void>;
}

/** On the simulated network: the server and each peer a node with the model's access links. */
export function clientServerSimRun(n: number, o: DistributionOptions, seed: number): Promise<number> {
  const clock = new SimClock();
  const net = new SimNetwork({ clock, seed, ...(o.latencyMs !== undefined && { latencyMs: o.latencyMs }) });
  const server = net.addNode('10.0.0.1', { up: o.serverUp, down: o.peerDown });
  return distribute(n, o, {
    clock,
    serverTransport: server.transport,
    serverHost: '10.0.0.1',
    port: 6881,
    client: (i) => net.addNode(`10.1.${(i + 1) >> 8}.${(i + 1) & 255}`, { up: o.peerUp, down: o.peerDown }).transport,
    pace: undefined,
    run: (until, deadline) => clock.run({ until, maxTime: deadline }),
  });
}

/** Over TCP on 127.0.0.1, in real time. */
export function clientServerRealRun(n: number, o: DistributionOptions): Promise<number> {
  return distribute(n, o, {
    clock: realClock,
    serverTransport: tcpTransport,
    serverHost: '127.0.0.1',
    port: 0,
    client: () => tcpTransport,
    pace: new TokenBucket(o.serverUp, { burstBytes: 4 * CHUNK }),
    async run(until, deadline) {
      while (!until() && realClock.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    },
  });
}

async function distribute(n: number, o: DistributionOptions, s: Setting): Promise<number> {
  const chunk = new Uint8Array(CHUNK); // never modified, so every write may share it
  const conns: StreamConnection[] = [];
  const left = new Map<StreamConnection, number>();
  // The connections with data to send and room in their buffer, in turn.
  const ready: StreamConnection[] = [];
  let paused = false;
  const pump = (): void => {
    while (ready.length > 0 && !paused) {
      const conn = ready.shift()!;
      const rest = left.get(conn) ?? 0;
      const len = Math.min(CHUNK, rest);
      left.set(conn, rest - len);
      const wait = s.pace?.take(len, s.clock.now()) ?? 0;
      const room = conn.write(len === CHUNK ? chunk : chunk.subarray(0, len));
      if (rest - len === 0) conn.end();
      else if (room) ready.push(conn);
      // else onDrain puts it back
      if (wait > 0) {
        paused = true;
        s.clock.setTimer(wait, () => {
          paused = false;
          pump();
        });
      }
    }
  };
  const listener = await s.serverTransport.listen(s.serverHost, s.port, (conn) => {
    conns.push(conn);
    left.set(conn, o.size);
    conn.onDrain(() => {
      if ((left.get(conn) ?? 0) > 0 && !ready.includes(conn)) ready.push(conn);
      pump();
    });
    ready.push(conn);
    pump();
  });
  const start = s.clock.now();
  const doneAt: number[] = [];
  for (let i = 0; i < n; i++) {
    void s.client(i).connect({ host: s.serverHost, port: listener.local.port }).then((conn) => {
      conns.push(conn);
      let got = 0;
      // The real network's download cap: a peer stops reading until its bucket allows the next chunk.
      const down = s.pace !== undefined && o.peerDown !== undefined ? new TokenBucket(o.peerDown, { burstBytes: 4 * CHUNK }) : undefined;
      conn.onData((c) => {
        got += c.length;
        if (got >= o.size && got - c.length < o.size) doneAt.push(s.clock.now() - start);
        const wait = down?.take(c.length, s.clock.now()) ?? 0;
        if (wait > 0) {
          conn.pause();
          s.clock.setTimer(wait, () => conn.resume());
        }
      });
    });
  }
  const bound = clientServerBound(n, { size: o.size, serverUp: o.serverUp, peerUp: o.peerUp, ...(o.peerDown !== undefined && { peerDown: o.peerDown }) });
  await s.run(() => doneAt.length === n, start + bound * 1000 * 2 + SLACK_MS);
  listener.close();
  for (const c of conns) c.destroy();
  if (doneAt.length < n) throw new Error(`client-server, N = ${n}: only ${doneAt.length} peers had the file after ${((s.clock.now() - start) / 1000).toFixed(1)} s`);
  return Math.max(...doneAt) / 1000;
}
