import type { Endpoint } from '../datagram.js';
import type { SimClock } from './clock.js';
import { Queue } from './queue.js';

/*
 * One direction of a node's access link (its uplink or its downlink): a
 * server that transmits one packet at a time at a fixed rate, taking turns
 * round-robin among the flows that have something to send, the way TCP
 * flows share a bottleneck (about fairly, packet by packet). Packets are at
 * most ~16 KiB, so one busy connection cannot hold the link for long.
 *
 * Flows are pulled, not pushed: the link asks a flow for its next packet
 * only when it is that flow's turn, so a flow can say "nothing now" (empty,
 * or its receive window is full) and is dropped from the ring until it calls
 * `wake` again. Service starts in a separate event at the current instant,
 * so everything written in one turn of the simulated code can share packets.
 */

/** Stream data, a stream's orderly close (after its data), a stream's abrupt close, a UDP datagram. */
export type PacketKind = 'data' | 'fin' | 'reset' | 'datagram';

export interface Packet {
  readonly kind: PacketKind;
  /** Bytes on the wire (payload only: headers are not modelled). */
  readonly bytes: number;
  /** The write buffers (or pieces of them) this packet carries, in order; a datagram's one buffer. */
  readonly segments: readonly Uint8Array[];
  /** Datagrams: the sending and the receiving socket. */
  readonly from?: Endpoint;
  readonly to?: Endpoint;
}

export interface Flow {
  /** The next packet to transmit, or undefined when there is nothing this flow may send now. */
  next(): Packet | undefined;
  /** The link finished transmitting `p` (called in the event where it finished). */
  sent(p: Packet): void;
  /** Owned by the link: whether the flow is in its ring. */
  ringed: boolean;
}

export class Link {
  private readonly ring = new Queue<Flow>();
  /** A packet is being transmitted, or a start is scheduled, or `serve` is running. */
  private busy = false;

  /**
   * @param rate bytes per second; Infinity transmits in zero time
   * @param count told every packet's size when it has been transmitted
   */
  constructor(
    private readonly clock: SimClock,
    readonly rate: number,
    private readonly count: (bytes: number) => void,
  ) {}

  /** `flow` may have something to send. */
  wake(flow: Flow): void {
    if (!flow.ringed) {
      flow.ringed = true;
      this.ring.push(flow);
    }
    if (!this.busy) {
      this.busy = true;
      this.clock.setTimer(0, () => this.serve());
    }
  }

  /** Give the next flow in turn the link; with an unlimited rate, every flow until all are idle. */
  private serve(): void {
    for (;;) {
      const flow = this.ring.shift();
      if (flow === undefined) {
        this.busy = false;
        return;
      }
      const p = flow.next();
      if (p === undefined) {
        flow.ringed = false;
        continue;
      }
      // Back of the ring: it stays there while it has data, and is dropped when next() says no.
      this.ring.push(flow);
      if (this.rate === Infinity || p.bytes === 0) {
        this.count(p.bytes);
        flow.sent(p);
        continue;
      }
      this.clock.setTimer((p.bytes * 1000) / this.rate, () => {
        this.count(p.bytes);
        flow.sent(p);
        this.serve();
      });
      return;
    }
  }
}
