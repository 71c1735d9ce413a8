import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Endpoint } from './datagram.js';

/*
 * The stream half of the Transport port (DESIGN.md): the peer wire protocol
 * runs over these connections. Real TCP here; the simulator provides the
 * other implementation, with per-node capacity and per-link latency.
 *
 * Back-pressure is explicit both ways, because a BitTorrent peer moves data
 * as fast as the link allows: `write` returns false when the send buffer is
 * over its mark (wait for `onDrain`), and `pause`/`resume` stop reading, so
 * a slow disk can hold the sender back instead of filling memory.
 */

export interface StreamConnection {
  readonly remote: Endpoint;
  readonly local: Endpoint;
  /** Queue bytes; false when the send buffer is full (wait for onDrain before writing more bulk data). */
  write(data: Uint8Array): boolean;
  /** Bytes queued and not yet handed to the network. */
  readonly bufferedAmount: number;
  /**
   * The send buffer's mark: `write` returns false once bufferedAmount reaches it, and onDrain follows when it is
   * back under. A sender that may want to take back what it queued (a BitTorrent peer that chokes or is sent a
   * cancel) keeps it near what the link sends in a moment; the default suits bulk data. Over TCP it bounds the
   * process's own buffer, not the kernel's socket buffer behind it.
   */
  highWater: number;
  /** One handler each; a later call replaces it. */
  onData(handler: (chunk: Uint8Array) => void): void;
  onDrain(handler: () => void): void;
  /** Called once, when the connection is gone for any reason (error set when it failed). */
  onClose(handler: (error?: Error) => void): void;
  /** Stop delivering data (the peer's sends then block on its side). */
  pause(): void;
  resume(): void;
  /** Close after queued data is sent. */
  end(): void;
  /** Close now, dropping queued data. */
  destroy(): void;
}

export interface StreamListener {
  readonly local: Endpoint;
  close(): void;
}

export interface ConnectOptions {
  /** Give up after this long. @default 10000 */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface StreamTransport {
  connect(to: Endpoint, options?: ConnectOptions): Promise<StreamConnection>;
  /** Accept connections on `host:port` (0: any free port). */
  listen(host: string, port: number, onConnection: (conn: StreamConnection) => void): Promise<StreamListener>;
}

/** Loopback and LAN peers send far faster than one event-loop turn drains: a larger mark means fewer drain round trips. */
const HIGH_WATER = 1024 * 1024;
/** Node's own mark decides when 'drain' fires (the buffer emptied after passing it): ours must not be below it. */
const MIN_HIGH_WATER = 16 * 1024;

function wrap(socket: Socket): StreamConnection {
  let closeHandler: (error?: Error) => void = () => undefined;
  let drainHandler: () => void = () => undefined;
  let dataHandler: (chunk: Uint8Array) => void = () => undefined;
  let closed = false;
  let failure: Error | undefined;
  let corked = false;
  let mark = HIGH_WATER;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  socket.setNoDelay(true);
  socket.on('data', (chunk) => dataHandler(chunk));
  socket.on('drain', () => drainHandler());
  socket.on('error', (e) => void (failure ??= e));
  socket.on('close', () => {
    if (closed) return;
    closed = true;
    closeHandler(failure);
  });
  const remote = { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
  const local = { host: socket.localAddress ?? '', port: socket.localPort ?? 0 };
  return {
    remote,
    local,
    write: (data) => {
      if (closed || socket.destroyed) return false;
      // Everything written in one turn of the event loop leaves in one writev: on loopback each
      // send syscall also runs the receiver's side of the stack, so fewer, larger sends cost
      // far less CPU than a header and a block (or one request) at a time.
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      socket.write(data);
      return socket.writableLength < mark;
    },
    get bufferedAmount() {
      return socket.writableLength;
    },
    get highWater() {
      return mark;
    },
    set highWater(bytes: number) {
      mark = Math.max(MIN_HIGH_WATER, Math.floor(bytes));
    },
    onData: (h) => void (dataHandler = h),
    onDrain: (h) => void (drainHandler = h),
    onClose: (h) => {
      closeHandler = h;
      if (closed) queueMicrotask(() => h(failure));
    },
    pause: () => void socket.pause(),
    resume: () => void socket.resume(),
    end: () => void socket.end(),
    destroy: () => void socket.destroy(),
  };
}

/** TCP through node:net. */
export const tcpTransport: StreamTransport = {
  connect(to, options = {}) {
    return new Promise((resolve, reject) => {
      options.signal?.throwIfAborted();
      const socket = createConnection({ host: to.host, port: to.port });
      const fail = (e: Error): void => {
        cleanup();
        socket.destroy();
        reject(e);
      };
      const timer = setTimeout(() => fail(Object.assign(new Error(`connect to ${to.host}:${to.port} timed out`), { code: 'ETIMEDOUT' })), options.timeoutMs ?? 10_000);
      const onAbort = (): void => fail(new Error('aborted'));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        socket.off('error', fail);
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        cleanup();
        resolve(wrap(socket));
      });
    });
  },
  listen(host, port, onConnection) {
    const server: Server = createServer({ noDelay: true }, (socket) => onConnection(wrap(socket)));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.on('error', () => undefined);
        const addr = server.address();
        const local = typeof addr === 'object' && addr !== null ? { host: addr.address, port: addr.port } : { host, port };
        resolve({ local, close: () => void server.close() });
      });
    });
  },
};
