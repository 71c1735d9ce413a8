import type { Endpoint } from '../datagram.js';
import type { ConnectOptions, StreamConnection, StreamListener } from '../stream.js';
import { netError } from './errors.js';
import type { SimNode } from './network.js';
import { SimStream } from './stream.js';

/*
 * Opening simulated stream connections: a node's StreamTransport.
 *
 * connect, in virtual time (L = one-way latency):
 *   t        SYN leaves the client (handshake packets are tiny: they skip
 *            the access links' queues and take only the latency)
 *   t + L    SYN lands. Nobody listening: a RST goes back, and the connect
 *            rejects with ECONNREFUSED at t + 2L. A listener: the server's
 *            end exists from now on and its onConnection runs (a slight
 *            shortcut: a real accept waits for the client's final ACK).
 *   t + 2L   SYN-ACK lands: the connect resolves with the client's end.
 * An address no node has is refused the same way (a real network would
 * often let the SYN time out instead; refusing keeps a test's dead address
 * cheap). `timeoutMs` (ETIMEDOUT) matters only on very slow links.
 */

const DEFAULT_TIMEOUT_MS = 10_000;

export interface SimListener extends StreamListener {
  readonly onConnection: (conn: StreamConnection) => void;
}

export function simListen(node: SimNode, host: string, port: number, onConnection: (conn: StreamConnection) => void): Promise<StreamListener> {
  if (host !== node.host && host !== '0.0.0.0' && host !== '::') return Promise.reject(netError('EADDRNOTAVAIL', 'listen', `${host}:${port}`));
  if (!Number.isInteger(port) || port < 0 || port > 65535) return Promise.reject(new RangeError(`port must be an integer in [0, 65535], got ${port}`));
  if (port !== 0 && node.listeners.has(port)) return Promise.reject(netError('EADDRINUSE', 'listen', `${host}:${port}`));
  const local = { host: node.host, port: port === 0 ? node.ephemeralTcpPort() : port };
  const listener: SimListener = {
    local,
    onConnection,
    close: () => {
      if (node.listeners.get(local.port) === listener) node.listeners.delete(local.port);
    },
  };
  node.listeners.set(local.port, listener);
  return Promise.resolve(listener);
}

export function simConnect(node: SimNode, to: Endpoint, options: ConnectOptions = {}): Promise<StreamConnection> {
  return new Promise((resolve, reject) => {
    options.signal?.throwIfAborted();
    const { network, clock } = node;
    const address = `${to.host}:${to.port}`;
    const latency = network.latency(node.host, to.host);
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      timer.cancel();
      options.signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const fail = (e: Error): void => {
      if (settle()) reject(e);
    };
    const timer = clock.setTimer(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, () => fail(netError('ETIMEDOUT', 'connect', address)));
    const onAbort = (): void => fail(new Error('aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const local = { host: node.host, port: node.ephemeralTcpPort() };
    clock.setTimer(latency, () => {
      // The SYN lands (at whoever is at that address by now).
      if (settled) return;
      const target = network.node(to.host);
      const listener = target?.listeners.get(to.port);
      if (target === undefined || listener === undefined) {
        clock.setTimer(latency, () => fail(netError('ECONNREFUSED', 'connect', address)));
        return;
      }
      const [client, server] = SimStream.pair(node, local, target, { host: target.host, port: to.port });
      listener.onConnection(server);
      clock.setTimer(latency, () => {
        // The SYN-ACK lands; a client that gave up meanwhile closes the connection.
        if (settle()) resolve(client);
        else client.destroy();
      });
    });
  });
}
