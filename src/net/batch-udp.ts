import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Endpoint } from './datagram.js';

/*
 * A UDP socket that delivers datagrams in batches, for servers that answer
 * many small requests (the UDP tracker): our native addon (native/batch_udp.c)
 * reads up to `batch` datagrams with one recvmmsg() into a buffer allocated
 * once, calls JavaScript once for all of them, and sends the replies written
 * into a second buffer with one sendmmsg(). No Buffer, no address object and
 * no send request per datagram: node:dgram's per-packet cost (~8.5 µs here
 * for an echo) was most of what a UDP announce cost.
 *
 * Each datagram i of a batch has a slot in each array:
 *
 *   rx            bytes   [i * rxSlot, +min(length, rxSlot))  the datagram
 *   info          uint32  [i * INFO_WORDS, +INFO_WORDS)       length (real, may exceed
 *                         rxSlot: the rest was cut), port, family (4, 6, or 0 for
 *                         anything else), IPv4 address as a number; the IPv6
 *                         address's 16 bytes at infoBytes[(i * INFO_WORDS + 4) * 4]
 *   tx            bytes   [i * txSlot, +txSlot)               the reply to write
 *   replyLength   int32   [i]                                 0: no reply (the default)
 *
 * A reply always goes to the address its datagram came from (an IPv4 client
 * of a dual-stack socket arrives as family 4 and is answered on its mapped
 * address). The arrays are valid only during the callback: the next batch
 * reuses them.
 *
 * Linux only, and only when the addon was built (`npm run build` tries and
 * never fails for it): `batchUdpStatus()` says whether it is there and why
 * not, so a caller can fall back to node:dgram.
 */

export const INFO_WORDS = 8;
/** Word offsets within a datagram's `info` slot. */
export const Info = { length: 0, port: 1, family: 2, ipv4: 3, ipv6: 4 } as const;

export interface DatagramBatch {
  readonly rx: Uint8Array;
  readonly rxSlot: number;
  readonly info: Uint32Array;
  /** The same memory as `info`, for the IPv6 address bytes. */
  readonly infoBytes: Uint8Array;
  readonly tx: Uint8Array;
  readonly txSlot: number;
  readonly replyLength: Int32Array;
}

export interface BatchUdpOptions {
  /** Datagrams per recvmmsg()/sendmmsg() call. @default 64 */
  readonly batch?: number;
  /** Longest datagram kept whole; longer ones arrive cut, with their real length. @default 4096 */
  readonly maxDatagram?: number;
  /** Longest reply. @default 4096 */
  readonly maxReply?: number;
  /** SO_RCVBUF in bytes (the kernel caps it at net.core.rmem_max), as node:dgram's recvBufferSize. */
  readonly receiveBuffer?: number;
}

export interface BatchUdpStats {
  /** Datagrams delivered, and the callbacks that delivered them. */
  readonly received: number;
  readonly batches: number;
  /** Replies the kernel took; replies it refused (each dropped, as any datagram may be). */
  readonly sent: number;
  readonly sendErrors: number;
  /** Datagrams longer than `maxDatagram`. */
  readonly truncated: number;
  /** Reply lengths outside 0..maxReply, ignored. */
  readonly badReplies: number;
  readonly receiveErrors: number;
  /** The errno name of the last send or receive error ('' for none). */
  readonly lastError: string;
}

export interface BatchUdpSocket {
  readonly local: Endpoint;
  readonly batchSize: number;
  stats(): BatchUdpStats;
  /** Stops delivery at once (even from inside the callback); resolves when the port is free again. */
  close(): Promise<void>;
}

export type BatchUdpStatus = { readonly available: true } | { readonly available: false; readonly reason: string };

interface NativeHandle {
  readonly rx: ArrayBuffer;
  readonly tx: ArrayBuffer;
  readonly info: ArrayBuffer;
  readonly reply: ArrayBuffer;
  readonly address: string;
  readonly port: number;
  readonly batch: number;
  readonly rxSlot: number;
  readonly txSlot: number;
  readonly infoWords: number;
}

interface Binding {
  open(host: string, port: number, batch: number, rxSlot: number, txSlot: number, receiveBuffer: number, onBatch: (count: number) => void): NativeHandle;
  close(handle: NativeHandle, onClosed?: () => void): void;
  stats(handle: NativeHandle): BatchUdpStats;
}

let loaded: { binding: Binding } | { reason: string } | undefined;

function load(): { binding: Binding } | { reason: string } {
  if (loaded !== undefined) return loaded;
  if (process.platform !== 'linux') loaded = { reason: `recvmmsg/sendmmsg are Linux only, this is ${process.platform}` };
  else if (process.env.PEERKIT_UDP === 'dgram') loaded = { reason: 'PEERKIT_UDP=dgram' };
  else {
    // Next to this file in both builds (dist/src/net/ and the bundle's
    // dist/bin/): scripts/build-native.js copies it to both.
    const path = fileURLToPath(new URL('./batch_udp.node', import.meta.url));
    try {
      loaded = { binding: createRequire(import.meta.url)(path) as Binding };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      loaded = { reason: code === 'MODULE_NOT_FOUND' || code === 'ENOENT' ? 'the addon is not built: see what `npm run build` said' : `cannot load ${path}: ${(e as Error).message}` };
    }
  }
  return loaded;
}

export function batchUdpStatus(): BatchUdpStatus {
  const l = load();
  return 'binding' in l ? { available: true } : { available: false, reason: l.reason };
}

/**
 * Bind a batched UDP socket on `host` (IPv4 or IPv6 text; IPv6 sockets take
 * IPv4 too unless the system says otherwise) and call `onBatch` for every
 * batch read. Throws when the addon is missing (check `batchUdpStatus()`)
 * and, like node:dgram, a system error (`code` EADDRINUSE, EADDRNOTAVAIL...)
 * when the address cannot be bound. An exception from `onBatch` goes to
 * process 'uncaughtException', and that batch gets no replies.
 */
export function bindBatchUdp(host: string, port: number, options: BatchUdpOptions, onBatch: (batch: DatagramBatch, count: number) => void): BatchUdpSocket {
  const l = load();
  if (!('binding' in l)) throw new Error(`native batch UDP socket unavailable: ${l.reason}`);
  const { binding } = l;
  // Called only from the event loop, so never before `batch` below is set.
  const handle = binding.open(host, port, options.batch ?? 64, options.maxDatagram ?? 4096, options.maxReply ?? 4096, options.receiveBuffer ?? 0, (count) => onBatch(batch, count));
  if (handle.infoWords !== INFO_WORDS) {
    binding.close(handle);
    throw new Error(`native batch UDP socket: ${handle.infoWords} info words per datagram, this code expects ${INFO_WORDS}: rebuild it`);
  }
  const batch: DatagramBatch = {
    rx: new Uint8Array(handle.rx),
    rxSlot: handle.rxSlot,
    info: new Uint32Array(handle.info),
    infoBytes: new Uint8Array(handle.info),
    tx: new Uint8Array(handle.tx),
    txSlot: handle.txSlot,
    replyLength: new Int32Array(handle.reply),
  };
  let closed: Promise<void> | undefined;
  return {
    local: { host: handle.address, port: handle.port },
    batchSize: handle.batch,
    stats: () => binding.stats(handle),
    close: () => (closed ??= new Promise((resolve) => binding.close(handle, resolve))),
  };
}
