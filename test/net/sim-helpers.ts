import type { SimClock, StreamConnection, StreamTransport } from '../../src/net/index.js';

/* What the simulated-network tests share: connecting, pumping bulk data with back-pressure, and counting what arrives. */

/** A connected pair: `server` accepted on `to`'s listener, `client` dialled it. */
export async function connectPair(clock: SimClock, from: StreamTransport, to: StreamTransport, host: string, port = 6881): Promise<{ client: StreamConnection; server: StreamConnection }> {
  let server: StreamConnection | undefined;
  const listener = await to.listen(host, port, (c) => void (server ??= c));
  const pending = from.connect({ host, port });
  let client: StreamConnection | undefined;
  void pending.then((c) => (client = c));
  await clock.run({ until: () => client !== undefined });
  listener.close();
  return { client: client!, server: server! };
}

/** Write `total` bytes in `chunk`-byte writes, honouring write() === false and onDrain; `done` when all are queued. */
export function pump(conn: StreamConnection, total: number, chunk = 64 * 1024, done?: () => void): void {
  const buf = new Uint8Array(chunk).fill(7);
  let queued = 0;
  const go = (): void => {
    while (queued < total) {
      const n = Math.min(chunk, total - queued);
      queued += n;
      if (!conn.write(buf.subarray(0, n))) return;
    }
    done?.();
  };
  conn.onDrain(go);
  go();
}

/** Counts bytes as they arrive; `doneAt` is the virtual time the `expected`th byte came. */
export class Sink {
  bytes = 0;
  doneAt: number | undefined;

  constructor(conn: StreamConnection, clock: SimClock, expected: number) {
    conn.onData((chunk) => {
      this.bytes += chunk.length;
      if (this.bytes >= expected && this.doneAt === undefined) this.doneAt = clock.now();
    });
  }
}

/** Within `fraction` of `expected`. */
export function near(actual: number, expected: number, fraction: number): boolean {
  return Math.abs(actual - expected) <= Math.abs(expected) * fraction;
}

/** Holds a promise's rejection, without leaving it unhandled while the clock runs. */
export function failure(p: Promise<unknown>): { error?: Error & { code?: string } } {
  const out: { error?: Error & { code?: string } } = {};
  p.catch((e: Error) => (out.error = e));
  return out;
}
