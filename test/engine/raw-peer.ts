import { createConnection, type Socket } from 'node:net';
import type { Metainfo } from '../../src/metainfo/index.js';
import { encodeHandshake, encodeMessage, WireDecoder, type Extensions, type Message } from '../../src/wire/index.js';

/*
 * A scripted peer on loopback TCP, for tests that need to see exactly what
 * the engine puts on the wire (and to send it what no well-behaved client
 * would). It sends its handshake at once and records every message.
 */

export interface RawPeer {
  /** Every message received, in order (the handshake is not among them). */
  readonly messages: Message[];
  readonly closed: boolean;
  send(m: Message): void;
  /** Resolves once `pred(messages)` holds (true), or false after `ms` or when the connection closes. */
  waitFor(pred: (ms: readonly Message[]) => boolean, ms?: number): Promise<boolean>;
  close(): void;
}

export function rawPeer(port: number, m: Metainfo, extensions: Extensions = { fast: true, extended: false, dht: false }, name = 'RAW1'): RawPeer {
  const socket: Socket = createConnection({ host: '127.0.0.1', port });
  const decoder = new WireDecoder();
  const messages: Message[] = [];
  const waiters = new Set<() => void>();
  let closed = false;
  socket.on('data', (chunk: Buffer) => {
    decoder.push(new Uint8Array(chunk));
    for (let x = decoder.next(); x !== undefined; x = decoder.next()) if ('type' in x) messages.push(x as Message);
    for (const w of [...waiters]) w();
  });
  socket.on('close', () => {
    closed = true;
    for (const w of [...waiters]) w();
  });
  socket.on('error', () => undefined);
  const peerId = new TextEncoder().encode(`-RW0001-${name.padEnd(12, 'x').slice(0, 12)}`);
  socket.write(encodeHandshake(m.infoHash, peerId, extensions));
  return {
    messages,
    get closed() {
      return closed;
    },
    send: (msg) => void socket.write(encodeMessage(msg)),
    waitFor(pred, ms = 5000) {
      return new Promise((resolve) => {
        const check = (): void => {
          if (!pred(messages) && !closed) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(pred(messages));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          resolve(pred(messages));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    close: () => void socket.destroy(),
  };
}
