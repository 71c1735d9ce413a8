import type { DatagramSocket, Endpoint } from '../datagram.js';
import type { Flow, Packet } from './link.js';
import type { SimNode } from './network.js';
import { Queue } from './queue.js';

/*
 * Simulated UDP. A datagram takes the same path as stream data: its
 * socket's turn on the sender's uplink (so a DHT query waits behind bulk
 * data like a real one, with its fair share), then the link latency, then
 * the receiver's downlink, then the socket's onMessage. It is lost with the
 * network's `loss` probability, drawn from the network's seeded random
 * source as it leaves the uplink, so a seed always loses the same datagrams.
 * Datagrams between two nodes are never reordered.
 *
 * As in a real kernel, queues are bounded: a socket's send queue and a
 * node's receive queue drop what does not fit (UDP has no back-pressure),
 * and a datagram for a port nobody bound is dropped silently.
 */

/** The largest UDP payload over IPv4. */
const MAX_DATAGRAM = 65_507;
/** Bytes a socket may have waiting for the uplink (like SO_SNDBUF). */
const SEND_BUFFER = 256 * 1024;
/** Bytes a node may have waiting for its downlink (like SO_RCVBUF, for all sockets together). */
const RECEIVE_BUFFER = 256 * 1024;

export class SimUdpSocket implements DatagramSocket {
  readonly local: Endpoint;
  private handler: (data: Uint8Array, from: Endpoint) => void = () => undefined;
  private closed = false;
  private readonly out = new Queue<Packet>();
  private outBytes = 0;
  private readonly tx: Flow;

  constructor(
    private readonly node: SimNode,
    port: number,
  ) {
    this.local = { host: node.host, port };
    this.tx = {
      ringed: false,
      next: () => {
        const p = this.out.shift();
        if (p !== undefined) this.outBytes -= p.bytes;
        return p;
      },
      sent: (p) => node.network.route(node, p),
    };
  }

  send(data: Uint8Array, to: Endpoint): void {
    if (this.closed || data.length > MAX_DATAGRAM || this.outBytes + data.length > SEND_BUFFER) return;
    // A copy: the caller may reuse its buffer as soon as send returns, as with node:dgram.
    this.out.push({ kind: 'datagram', bytes: data.length, segments: [Uint8Array.prototype.slice.call(data)], from: this.local, to });
    this.outBytes += data.length;
    this.node.uplink.wake(this.tx);
  }

  onMessage(handler: (data: Uint8Array, from: Endpoint) => void): void {
    this.handler = handler;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.out.clear();
    this.outBytes = 0;
    this.node.unbindUdp(this);
  }

  /** A datagram for us came through the downlink. */
  deliver(p: Packet): void {
    if (!this.closed) this.handler(p.segments[0]!, p.from!);
  }
}

/** A node's incoming datagrams, waiting for its downlink (one flow for all its sockets). */
export class UdpInbound implements Flow {
  ringed = false;
  private readonly queue = new Queue<Packet>();
  private bytes = 0;

  constructor(private readonly node: SimNode) {}

  arrive(p: Packet): void {
    const downlink = this.node.downlink;
    if (downlink === undefined) {
      this.node.stats.bytesDown += p.bytes;
      this.sent(p);
      return;
    }
    if (this.bytes + p.bytes > RECEIVE_BUFFER) return; // the receive buffer is full: dropped
    this.queue.push(p);
    this.bytes += p.bytes;
    downlink.wake(this);
  }

  next(): Packet | undefined {
    const p = this.queue.shift();
    if (p !== undefined) this.bytes -= p.bytes;
    return p;
  }

  sent(p: Packet): void {
    this.node.udpSocket(p.to!.port)?.deliver(p);
  }
}
