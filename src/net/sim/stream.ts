import type { Endpoint } from '../datagram.js';
import type { StreamConnection } from '../stream.js';
import type { Flow, Packet } from './link.js';
import type { SimNode } from './network.js';
import { Queue } from './queue.js';

/*
 * One end of a simulated stream connection (a StreamConnection: reliable,
 * ordered bytes). Each end owns its sending direction:
 *
 *   write -> send buffer -> [our uplink] -> in flight (latency) ->
 *     [their downlink] -> their inbox -> their onData
 *
 * - The send buffer is cut into packets of at most MAX_PACKET bytes when the
 *   uplink takes them (small writes share a packet; a 13-byte piece header
 *   and its 16 KiB block travel together). Buffers are kept by reference,
 *   not copied, as node:net does: do not change a buffer after writing it.
 * - `bufferedAmount` is what was written and has not finished crossing our
 *   uplink; past `highWater` (HIGH_WATER unless set) `write` returns false,
 *   and `onDrain` fires once it is back under.
 * - Flow control: at most WINDOW bytes may be between our uplink and the
 *   peer's onData. A paused receiver, or one with no onData handler yet,
 *   keeps its data in its inbox (nothing is lost to a handler set late), the
 *   window fills, and the sender's buffer grows until `write` says false.
 *   Window credit returns the moment data is delivered (no ACK delay is
 *   modelled), so the window limits only a receiver that is not reading.
 * - Delivery after resume() or onData() happens in a later event of the
 *   same instant, never inside the call (as node:net emits data later).
 * - `end()`: a FIN follows the data, through the same queues; the receiver
 *   sees it after the last byte and ends its own side (as node:net does
 *   without allowHalfOpen). Each side's onClose fires once it has both sent
 *   its FIN and received the peer's.
 * - `destroy()`: queued data is dropped and onClose fires at once (in a
 *   microtask); a reset follows what is already in flight and closes the
 *   peer when it lands, one latency later, discarding what the peer had not
 *   read yet.
 */

/** The largest packet: a 16 KiB block plus room for its header and a few small messages. */
export const MAX_PACKET = 16 * 1024 + 64;
/** A write larger than MAX_PACKET is sent in pieces of this size. */
const SEGMENT = 16 * 1024;
/** `write` returns false once this much is waiting for the uplink. */
export const HIGH_WATER = 256 * 1024;
/** Bytes that may be in flight or unread at the receiver, per direction. */
export const WINDOW = 1024 * 1024;

const FIN: Packet = { kind: 'fin', bytes: 0, segments: [] };
const RESET: Packet = { kind: 'reset', bytes: 0, segments: [] };
/** Marks the peer's FIN in the inbox, after its last data. */
const FIN_MARK = new Uint8Array(0);

export class SimStream implements StreamConnection {
  /** The other end; set right after construction. */
  peer!: SimStream;
  // Sending side.
  private readonly sendQueue = new Queue<Uint8Array>();
  /** write() says false from here (HIGH_WATER unless set). */
  private mark = HIGH_WATER;
  /** Bytes in sendQueue. */
  private queued = 0;
  /** Bytes taken by the uplink and not yet transmitted. */
  private inService = 0;
  /** Bytes taken by the uplink and not yet delivered to the peer's onData (the window). */
  private inFlight = 0;
  private ending = false;
  private finQueued = false;
  private finSent = false;
  private drainArmed = false;
  private readonly flight = new Queue<{ readonly at: number; readonly packet: Packet }>();
  private landing = false;
  private lastArrival = 0;
  private readonly tx: Flow;
  // Receiving side.
  private readonly rxQueue = new Queue<Packet>();
  private readonly rx: Flow;
  private readonly inbox = new Queue<Uint8Array>();
  private paused = false;
  private delivering = false;
  private deliveryScheduled = false;
  private finReceived = false;
  // Both.
  private closed = false;
  private closeNotified = false;
  private dataHandler: ((chunk: Uint8Array) => void) | undefined;
  private drainHandler: () => void = () => undefined;
  private closeHandler: (error?: Error) => void = () => undefined;

  constructor(
    private readonly node: SimNode,
    private readonly remoteNode: SimNode,
    readonly local: Endpoint,
    readonly remote: Endpoint,
  ) {
    this.tx = { ringed: false, next: () => this.nextPacket(), sent: (p) => this.transmitted(p) };
    this.rx = { ringed: false, next: () => this.rxQueue.shift(), sent: (p) => this.accept(p) };
  }

  /** Two connected ends. */
  static pair(a: SimNode, aLocal: Endpoint, b: SimNode, bLocal: Endpoint): [SimStream, SimStream] {
    const x = new SimStream(a, b, aLocal, bLocal);
    const y = new SimStream(b, a, bLocal, aLocal);
    x.peer = y;
    y.peer = x;
    return [x, y];
  }

  get bufferedAmount(): number {
    return this.queued + this.inService;
  }

  get highWater(): number {
    return this.mark;
  }

  set highWater(bytes: number) {
    if (!(bytes > 0)) throw new RangeError(`highWater must be a positive number of bytes, got ${bytes}`);
    this.mark = bytes;
    // A writer waiting on a mark that just rose above what is buffered hears at once (in a later event, as always).
    if (this.drainArmed && this.bufferedAmount < this.mark) this.node.clock.setTimer(0, () => this.maybeDrain());
  }

  write(data: Uint8Array): boolean {
    if (this.closed || this.ending) return false;
    if (data.length > 0) {
      this.sendQueue.push(data);
      this.queued += data.length;
      if (this.inFlight < WINDOW) this.node.uplink.wake(this.tx);
    }
    const ok = this.bufferedAmount < this.mark;
    if (!ok) this.drainArmed = true;
    return ok;
  }

  onData(handler: (chunk: Uint8Array) => void): void {
    this.dataHandler = handler;
    this.scheduleDelivery(); // data that came before any handler was held for it
  }

  onDrain(handler: () => void): void {
    this.drainHandler = handler;
  }

  onClose(handler: (error?: Error) => void): void {
    this.closeHandler = handler;
    // As node:net's wrapper does: a handler set after the close still hears of it.
    if (this.closeNotified) queueMicrotask(() => handler());
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.scheduleDelivery();
  }

  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    this.node.uplink.wake(this.tx);
  }

  destroy(): void {
    if (this.closed) return;
    if (!this.peer.closed) this.launch(RESET);
    this.close(false);
  }

  // --- sending -----------------------------------------------------------------

  /** The uplink's turn for us: the next packet, if the window allows. */
  private nextPacket(): Packet | undefined {
    if (this.closed) return undefined;
    if (this.queued === 0) {
      if (!this.ending || this.finQueued) return undefined;
      this.finQueued = true;
      return FIN;
    }
    if (this.inFlight >= WINDOW) return undefined; // credit() wakes us
    const segments: Uint8Array[] = [];
    let bytes = 0;
    for (;;) {
      const head = this.sendQueue.peek();
      if (head === undefined) break;
      if (bytes + head.length <= MAX_PACKET) {
        segments.push(head);
        bytes += head.length;
        this.sendQueue.shift();
        continue;
      }
      if (bytes === 0) {
        // A large write goes in pieces; the rest stays at the head of the queue.
        segments.push(head.subarray(0, SEGMENT));
        bytes = SEGMENT;
        this.sendQueue.replaceHead(head.subarray(SEGMENT));
      }
      break;
    }
    this.queued -= bytes;
    this.inService += bytes;
    this.inFlight += bytes;
    return { kind: 'data', bytes, segments };
  }

  /** The uplink finished sending `p`: it crosses the network, and the buffer may have drained. */
  private transmitted(p: Packet): void {
    if (this.closed) return; // destroyed while it was on the uplink: it never made it out
    this.launch(p);
    if (p.kind === 'fin') {
      this.finSent = true;
      this.closeIfDone();
      return;
    }
    this.inService -= p.bytes;
    this.maybeDrain();
  }

  private maybeDrain(): void {
    if (this.closed || !this.drainArmed || this.bufferedAmount >= this.mark) return;
    this.drainArmed = false;
    this.drainHandler();
  }

  /** Put `p` on the wire: it lands at the peer one latency from now, never before an earlier packet. */
  private launch(p: Packet): void {
    const at = Math.max(this.node.clock.now() + this.node.network.linkLatency(this.node, this.remoteNode), this.lastArrival);
    this.lastArrival = at;
    this.flight.push({ at, packet: p });
    if (!this.landing) {
      this.landing = true;
      this.node.clock.setTimerAt(at, () => this.land());
    }
  }

  /** Hand every packet due by now to the peer, then wait for the next. */
  private land(): void {
    const now = this.node.clock.now();
    for (;;) {
      const head = this.flight.peek();
      if (head === undefined) {
        this.landing = false;
        return;
      }
      if (head.at > now) {
        this.node.clock.setTimerAt(head.at, () => this.land());
        return;
      }
      this.flight.shift();
      this.peer.arrive(head.packet);
    }
  }

  /** The peer read `bytes` of ours: the window opens again. */
  private credit(bytes: number): void {
    this.inFlight -= bytes;
    if (!this.closed && this.queued > 0 && this.inFlight < WINDOW) this.node.uplink.wake(this.tx);
  }

  // --- receiving -----------------------------------------------------------------

  /** A packet from the peer reached our node: through our downlink, if it has a rate. */
  private arrive(p: Packet): void {
    if (this.closed) return;
    if (p.kind === 'reset') {
      this.close(true);
      return;
    }
    const downlink = this.node.downlink;
    if (downlink === undefined) {
      this.node.stats.bytesDown += p.bytes;
      this.accept(p);
    } else {
      this.rxQueue.push(p);
      downlink.wake(this.rx);
    }
  }

  /** Through the downlink: into the inbox, and on to onData unless paused. */
  private accept(p: Packet): void {
    if (this.closed) return;
    if (p.kind === 'fin') this.inbox.push(FIN_MARK);
    else for (const s of p.segments) this.inbox.push(s);
    this.deliver();
  }

  private scheduleDelivery(): void {
    if (this.deliveryScheduled || this.inbox.length === 0) return;
    this.deliveryScheduled = true;
    // Later, as node:net emits data after resume(): never from inside the caller.
    this.node.clock.setTimer(0, () => {
      this.deliveryScheduled = false;
      this.deliver();
    });
  }

  private deliver(): void {
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (!this.closed && !this.paused) {
        const chunk = this.inbox.peek();
        if (chunk === undefined) break;
        if (chunk === FIN_MARK) {
          this.inbox.shift();
          this.finReceived = true;
          this.end(); // no half-open connections, as node:net by default
          this.closeIfDone();
          continue;
        }
        if (this.dataHandler === undefined) break; // held until someone listens
        this.inbox.shift();
        this.peer.credit(chunk.length);
        this.dataHandler(chunk);
      }
    } finally {
      this.delivering = false;
    }
  }

  // --- closing ---------------------------------------------------------------------

  private closeIfDone(): void {
    if (this.finSent && this.finReceived) this.close(true);
  }

  /** Closed for good; onClose now (inside a network event) or in a microtask (inside a caller's destroy). */
  private close(now: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.sendQueue.clear();
    this.rxQueue.clear();
    this.inbox.clear();
    this.queued = 0;
    this.inService = 0;
    const notify = (): void => {
      this.closeNotified = true;
      this.closeHandler();
    };
    if (now) notify();
    else queueMicrotask(notify);
  }
}
