import type { Clock, Endpoint, Timer } from '../../net/index.js';
import type { Channel } from '../common/channel.js';
import { MESSAGE_TYPES, type MessageType, type SuperPeerMessage } from './codec.js';

/*
 * What the leader and the member both use around a Channel: message
 * counters that survive closed channels (the statistics contract of the
 * overlays: totals since the node started, and per message type), one
 * connection's role and liveness, the stats shape, and clock-driven waits
 * and loops (the project never calls setTimeout in overlay code: time comes
 * from the injected Clock).
 */

/** Counters of one node, over all its channels since it started. */
export interface SuperPeerStats {
  messagesIn: number;
  messagesOut: number;
  /** Messages sent and received, by type ("query", "hit", ...). */
  sent: Record<string, number>;
  received: Record<string, number>;
  /** Members attached to this node as a leader (0 for a member that leads nobody). */
  members: number;
  /** (member, file) entries in this leader's index plus its own shared files; a member's own shared files. */
  files: number;
  /** Leaders known: for a leader, itself included. */
  leaders: number;
  /** Links to other leaders. */
  links: number;
  /** Queries dropped because their id was already seen. */
  duplicates: number;
  /** Members this leader promoted to leaders (completed promotions). */
  promotions: number;
  /** Connections that only search (no join). */
  searchers: number;
  /** Hits dropped: unknown query id, from a link the query was not sent to, or over the per-query relay limit. */
  droppedHits: number;
  /** Queries dropped because their connection sent them over its rate limit. */
  droppedQueries: number;
}

export class MessageCounts {
  messagesIn = 0;
  messagesOut = 0;
  readonly sent: Record<string, number> = zeros();
  readonly received: Record<string, number> = zeros();

  in(t: MessageType): void {
    this.messagesIn++;
    this.received[t] = (this.received[t] ?? 0) + 1;
  }

  out(t: MessageType): void {
    this.messagesOut++;
    this.sent[t] = (this.sent[t] ?? 0) + 1;
  }

  snapshot(): Pick<SuperPeerStats, 'messagesIn' | 'messagesOut' | 'sent' | 'received'> {
    return { messagesIn: this.messagesIn, messagesOut: this.messagesOut, sent: { ...this.sent }, received: { ...this.received } };
  }
}

function zeros(): Record<string, number> {
  return Object.fromEntries(MESSAGE_TYPES.map((t) => [t, 0]));
}

/** Add two stats (a promoted member reports its member side and its leader together). */
export function addStats(a: SuperPeerStats, b: SuperPeerStats): SuperPeerStats {
  const sum = (x: Record<string, number>, y: Record<string, number>): Record<string, number> => {
    const out = { ...x };
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    messagesIn: a.messagesIn + b.messagesIn,
    messagesOut: a.messagesOut + b.messagesOut,
    sent: sum(a.sent, b.sent),
    received: sum(a.received, b.received),
    members: a.members + b.members,
    files: a.files + b.files,
    leaders: Math.max(a.leaders, b.leaders),
    links: a.links + b.links,
    duplicates: a.duplicates + b.duplicates,
    promotions: a.promotions + b.promotions,
    searchers: a.searchers + b.searchers,
    droppedHits: a.droppedHits + b.droppedHits,
    droppedQueries: a.droppedQueries + b.droppedQueries,
  };
}

/**
 * What a connection is to a leader: 'new' until its first message says;
 * 'dialing' for a link this leader opened, until the other side's hello;
 * 'waiting' for a newcomer held while a member is being promoted.
 */
export type Role = 'new' | 'dialing' | 'member' | 'waiting' | 'link' | 'searcher';

/** One connection of a node, with its role and what the role needs. */
export class Peer {
  role: Role;
  lastHeard: number;
  /** Closed on purpose by this node: not a loss to repair. */
  closing = false;
  // member
  key = '';
  capable: Endpoint | undefined = undefined;
  attachedAt = 0;
  join: Extract<SuperPeerMessage, { t: 'join' }> | undefined = undefined;
  // link
  leaderId = '';
  address: Endpoint | undefined = undefined;
  outbound = false;
  /** The other side has the link up too: it answered our hello (outbound), or spoke after its hello (inbound). */
  confirmed = false;
  members = 0;
  maxMembers = 0;
  onHello: ((ok: boolean) => void) | undefined = undefined;

  constructor(
    readonly ch: Channel<SuperPeerMessage>,
    private readonly counts: MessageCounts,
    role: Role,
    now: number,
  ) {
    this.role = role;
    this.lastHeard = now;
  }

  send(m: SuperPeerMessage): boolean {
    if (!this.ch.send(m)) return false;
    this.counts.out(m.t);
    return true;
  }

  heard(m: SuperPeerMessage, now: number): void {
    this.lastHeard = now;
    this.counts.in(m.t);
  }

  /** Close on purpose, saying why first when `reason` is given. */
  close(reason?: string): void {
    this.closing = true;
    if (reason !== undefined) this.send({ t: 'bye', reason });
    this.ch.close();
  }
}

/** Resolves after `ms` on `clock`, or as soon as `signal` aborts. */
export function waitFor(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const done = (): void => {
      timer.cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimer(ms, done);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Run `fn` every `ms` until cancelled. */
export function repeat(clock: Clock, ms: number, fn: () => void): Timer {
  let timer: Timer | undefined;
  let stopped = false;
  const run = (): void => {
    if (stopped) return;
    fn();
    if (!stopped) timer = clock.setTimer(ms, run);
  };
  timer = clock.setTimer(ms, run);
  return {
    cancel: () => {
      stopped = true;
      timer?.cancel();
    },
  };
}

/** Keep-alive for a set of connections: ping one silent for `pingMs`, drop one silent for 2.5 times that. */
export function keepAlive(peers: Iterable<Peer>, now: number, pingMs: number, onSilent: (p: Peer) => void): void {
  for (const p of peers) {
    const silent = now - p.lastHeard;
    if (silent > 2.5 * pingMs) onSilent(p);
    else if (silent >= pingMs) p.send({ t: 'ping' });
  }
}
