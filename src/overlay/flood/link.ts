import type { Clock, Endpoint, Timer } from '../../net/index.js';
import type { Channel } from '../common/channel.js';
import type { FloodMessage, FloodMessageType } from './codec.js';
import { FLOOD_MESSAGE_TYPES } from './codec.js';
import type { RateBudget } from '../common/rate.js';

/*
 * One connection of a flood node and what the node knows about it. A link
 * is a neighbour once the other side's hello has arrived (and it is not a
 * second link to a node we already have); before that only hello or bye
 * may arrive on it. Kept apart from node.ts so the node reads as protocol.
 */

export interface Link {
  /** The router's name for this link (router.ts): unique per connection, never reused. */
  readonly key: string;
  readonly channel: Channel<FloodMessage>;
  /** We opened it. */
  readonly outgoing: boolean;
  /** The address we connected to (outgoing links only). */
  readonly dialed: Endpoint | undefined;
  /** The other node's id in hex, from its hello. */
  peerId: string | undefined;
  /** Where the other node accepts connections, from its hello; undefined for a leaf. */
  listen: Endpoint | undefined;
  /** A second link to the same node, being closed. */
  duplicate: boolean;
  /** A link to ourselves, being closed. */
  self: boolean;
  handshakeTimer: Timer | undefined;
  /** When the last message came (the clock's time): a neighbour silent too long is pinged, then dropped. */
  lastHeard: number;
  /** Pings sent and not yet answered: a pong is welcome only in answer to one. */
  pingsOut: number;
  /** The new queries this neighbour may still send (common/rate.ts). */
  readonly budget: RateBudget;
  /** Called when a pong (or the end of the link) arrives. */
  pongWaiters: (() => void)[];
  /** Resolves true when the link becomes a neighbour, false when it closes before. */
  readonly ready: Promise<boolean>;
  settle(ok: boolean): void;
  /** Resolves when the connection is gone. */
  readonly closed: Promise<void>;
  markClosed(): void;
}

export function newLink(key: string, channel: Channel<FloodMessage>, outgoing: boolean, dialed: Endpoint | undefined, budget: RateBudget, now: number): Link {
  let settle: (ok: boolean) => void = () => undefined;
  let markClosed: () => void = () => undefined;
  const ready = new Promise<boolean>((resolve) => (settle = resolve));
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  return { key, channel, outgoing, dialed, peerId: undefined, listen: undefined, duplicate: false, self: false, handshakeTimer: undefined, lastHeard: now, pingsOut: 0, budget, pongWaiters: [], ready, settle, closed, markClosed };
}

/** A neighbour: hello received, and neither a duplicate nor ourselves. */
export function isNeighbour(l: Link): boolean {
  return l.peerId !== undefined && !l.duplicate && !l.self && !l.channel.isClosed;
}

/**
 * Two links to one node (`newer` just got its hello): which to close, so
 * that both ends close the same one. Of two opened in opposite directions,
 * the one opened by the node with the smaller id stays; of two we opened,
 * the older. Of two the other node opened, it closes one: undefined, wait.
 */
export function duplicateToDrop(myId: string, peerId: string, newer: Link, older: Link): Link | undefined {
  if (newer.outgoing !== older.outgoing) return (myId < peerId) === newer.outgoing ? older : newer;
  return newer.outgoing ? newer : undefined;
}

/** Ping the links (`ping` sends one); resolves when each has answered or gone, or after `timeoutMs`. */
export function pingAll(links: readonly Link[], ping: (l: Link) => void, clock: Clock, timeoutMs: number): Promise<void> {
  if (links.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    let left = links.length;
    const timer = clock.setTimer(timeoutMs, resolve);
    const one = (): void => {
      if (--left > 0) return;
      timer.cancel();
      resolve();
    };
    for (const l of links) {
      l.pongWaiters.push(one);
      ping(l);
    }
  });
}

/** "host:port" of the other end of a link, for log lines. */
export function describe(l: Link): string {
  const e = l.listen ?? l.dialed ?? l.channel.remote;
  return `${e.host}:${e.port}`;
}

export type MessageCounts = Record<FloodMessageType, number>;

export function zeroCounts(): MessageCounts {
  return Object.fromEntries(FLOOD_MESSAGE_TYPES.map((t) => [t, 0])) as MessageCounts;
}

export function total(c: MessageCounts): number {
  return FLOOD_MESSAGE_TYPES.reduce((sum, t) => sum + c[t], 0);
}
