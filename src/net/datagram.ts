import { createSocket, type Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';

/*
 * The datagram half of the Transport port (DESIGN.md). UDP trackers and the
 * DHT talk through this; the simulator provides the other implementation.
 */

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface DatagramSocket {
  send(data: Uint8Array, to: Endpoint): void;
  /** One handler; a later call replaces it. */
  onMessage(handler: (data: Uint8Array, from: Endpoint) => void): void;
  readonly local: Endpoint;
  close(): void;
}

/**
 * Every send names its destination by address, and node:dgram resolves even
 * an IP literal through dns.lookup's machinery (a measurable share of a
 * tracker's per-packet cost): answer literals at once.
 */
function literalLookup(hostname: string, options: LookupOneOptions, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const family = isIP(hostname);
  if (family !== 0) callback(null, hostname, family);
  else dnsLookup(hostname, options, callback);
}

/** Bind a real UDP socket (IPv4 unless `host` is an IPv6 address). */
export function bindUdp(host = '127.0.0.1', port = 0, options: { readonly receiveBuffer?: number } = {}): Promise<DatagramSocket> {
  const socket: Socket = createSocket({
    type: host.includes(':') ? 'udp6' : 'udp4',
    lookup: literalLookup as never,
    ...(options.receiveBuffer !== undefined && { recvBufferSize: options.receiveBuffer }),
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      // Errors on a bound socket (ICMP unreachable and the like) are per-packet: never fatal.
      socket.on('error', () => undefined);
      const addr = socket.address();
      let handler: (data: Uint8Array, from: Endpoint) => void = () => undefined;
      socket.on('message', (msg, rinfo) => handler(msg, { host: rinfo.address, port: rinfo.port }));
      resolve({
        local: { host: addr.address, port: addr.port },
        send: (data, to) => socket.send(data, to.port, to.host),
        onMessage: (h) => void (handler = h),
        close: () => socket.close(),
      });
    });
  });
}
