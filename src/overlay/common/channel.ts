import type { BDict } from '../../bencode/index.js';
import type { Endpoint, StreamConnection } from '../../net/index.js';
import { OverlayError } from './errors.js';
import { FrameDecoder, MAX_FRAME } from './frame.js';

/*
 * A message connection: frames (frame.ts) over a StreamConnection, decoded
 * by an overlay's codec into typed messages. A peer that sends a bad frame,
 * or a message the codec rejects, is dropped: the channel closes with the
 * OverlayError, and nothing else on the node is touched. A peer that does
 * not read (its send queue grows past `maxBuffered`) is dropped too, so one
 * slow neighbour cannot make a node hold unbounded memory.
 */

export interface Codec<M> {
  encode(message: M): Uint8Array;
  /** Throws OverlayError('bad-message') for a dictionary that is not a valid message. */
  decode(dict: BDict): M;
}

export interface ChannelOptions {
  /** @default MAX_FRAME */
  readonly maxFrame?: number;
  /** Bytes queued for a peer before it counts as not reading and is dropped. @default 4 MiB */
  readonly maxBuffered?: number;
}

export interface ChannelCounters {
  messagesIn: number;
  messagesOut: number;
}

export class Channel<M> {
  private messageHandler: (message: M) => void = () => undefined;
  private closeHandler: (error?: Error) => void = () => undefined;
  private readonly decoder: FrameDecoder;
  private readonly maxBuffered: number;
  private closed = false;
  private failure: Error | undefined;
  readonly counters: ChannelCounters = { messagesIn: 0, messagesOut: 0 };

  constructor(
    private readonly conn: StreamConnection,
    private readonly codec: Codec<M>,
    options: ChannelOptions = {},
  ) {
    this.decoder = new FrameDecoder(options.maxFrame ?? MAX_FRAME);
    this.maxBuffered = options.maxBuffered ?? 4 * 1024 * 1024;
    conn.onData((chunk) => this.receive(chunk));
    conn.onClose((e) => this.finish(e));
  }

  get remote(): Endpoint {
    return this.conn.remote;
  }

  get local(): Endpoint {
    return this.conn.local;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** One handler; a later call replaces it. */
  onMessage(handler: (message: M) => void): void {
    this.messageHandler = handler;
  }

  /** Called once when the channel is gone; `error` is set when it failed (an OverlayError for a peer that broke the protocol). */
  onClose(handler: (error?: Error) => void): void {
    this.closeHandler = handler;
    if (this.closed) queueMicrotask(() => handler(this.failure));
  }

  /** Queue a message; false when the channel is closed (or was just dropped for not reading). */
  send(message: M): boolean {
    if (this.closed) return false;
    this.conn.write(this.codec.encode(message));
    this.counters.messagesOut++;
    if (this.conn.bufferedAmount > this.maxBuffered) {
      this.fail(new OverlayError('closed', `${this.remote.host}:${this.remote.port} is not reading (over ${this.maxBuffered} bytes queued)`));
      return false;
    }
    return true;
  }

  /** Close after queued messages are sent. */
  close(): void {
    if (this.closed) return;
    this.conn.end();
  }

  /** Close now with a reason. */
  fail(error: Error): void {
    if (this.closed) return;
    this.failure ??= error;
    this.conn.destroy();
    this.finish(error);
  }

  private receive(chunk: Uint8Array): void {
    if (this.closed) return;
    let messages: M[];
    try {
      messages = this.decoder.push(chunk).map((d) => this.codec.decode(d));
    } catch (e) {
      this.fail(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    for (const m of messages) {
      if (this.closed) return;
      this.counters.messagesIn++;
      this.messageHandler(m);
    }
  }

  private finish(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.failure ??= error;
    this.closeHandler(this.failure);
  }
}
