import type { Clock, Random, StreamTransport } from '../../net/index.js';
import type { SharedFile } from '../common/shared.js';
import { MAX_LEADER_LIST } from './codec.js';

/*
 * A leader's options and their defaults, resolved once. Every periodic
 * activity has its interval here (announceMs, pingMs), so a benchmark can
 * turn background traffic down while it counts the messages of searches.
 */

export interface SuperPeerLeaderOptions {
  readonly transport?: StreamTransport;
  readonly clock?: Clock;
  readonly random?: Random;
  /** Files this leader shares itself. */
  readonly files?: readonly SharedFile[];
  /** Port of the HTTP server that serves `files`. */
  readonly filesPort?: number;
  /** @default 50 */
  readonly maxMembers?: number;
  /** @default 10_000 */
  readonly maxFilesPerMember?: number;
  /** Promote a member when fewer leaders than this are known (this one included). @default 2 */
  readonly minLeaders?: number;
  /** Links to other leaders to keep. @default 3 */
  readonly targetLinks?: number;
  /** Links accepted in all (dialled and accepted): a little above targetLinks, so newcomers find room, but not so far that the leader graph turns dense (every link carries a copy of every query). @default targetLinks + 2 */
  readonly maxLinks?: number;
  /** Queries with a larger TTL are lowered to this. @default 7 */
  readonly maxTtl?: number;
  /** How often the `leaders` list goes to members and links (and links are repaired). @default 10_000 */
  readonly announceMs?: number;
  /** A connection silent this long is pinged; 2.5 times this, dropped. @default 30_000 */
  readonly pingMs?: number;
  /** Query ids remembered (duplicate suppression and the reverse path); each member or searcher holds at most 100 of them, each link seenCapacity / maxLinks. @default 10_000 */
  readonly seenCapacity?: number;
  /** Queries a second a member or searcher may send (twice as many at once); the excess is dropped. @default 20 */
  readonly queryRate?: number;
  /** Queries a second a linked leader may send, relaying others' queries (twice as many at once). @default 200 */
  readonly linkQueryRate?: number;
  /** Connections that only search. @default 64 */
  readonly maxSearchers?: number;
  /** Sources one query gets from this leader's index, and relayed back per query. @default 500 */
  readonly maxResults?: number;
  /** @default 10_000 */
  readonly promoteTimeoutMs?: number;
  /** @default 5_000 */
  readonly connectTimeoutMs?: number;
  /** A connection that has not said what it is after this long is dropped (checked every pingMs). @default 10_000 */
  readonly helloTimeoutMs?: number;
}

/** The numeric options with their defaults applied. */
export interface LeaderSettings {
  readonly maxMembers: number;
  readonly maxFilesPerMember: number;
  readonly minLeaders: number;
  readonly targetLinks: number;
  readonly maxLinks: number;
  readonly maxTtl: number;
  readonly announceMs: number;
  readonly pingMs: number;
  readonly seenCapacity: number;
  readonly queryRate: number;
  readonly linkQueryRate: number;
  readonly maxSearchers: number;
  readonly maxResults: number;
  readonly promoteTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly helloTimeoutMs: number;
}

export function leaderSettings(o: SuperPeerLeaderOptions): LeaderSettings {
  const targetLinks = o.targetLinks ?? 3;
  return {
    maxMembers: o.maxMembers ?? 50,
    maxFilesPerMember: o.maxFilesPerMember ?? 10_000,
    minLeaders: o.minLeaders ?? 2,
    targetLinks,
    // Every link appears in the `leaders` list, which holds at most MAX_LEADER_LIST entries.
    maxLinks: Math.min(o.maxLinks ?? targetLinks + 2, MAX_LEADER_LIST - 1),
    maxTtl: o.maxTtl ?? 7,
    announceMs: o.announceMs ?? 10_000,
    pingMs: o.pingMs ?? 30_000,
    seenCapacity: o.seenCapacity ?? 10_000,
    queryRate: o.queryRate ?? 20,
    linkQueryRate: o.linkQueryRate ?? 200,
    maxSearchers: o.maxSearchers ?? 64,
    maxResults: o.maxResults ?? 500,
    promoteTimeoutMs: o.promoteTimeoutMs ?? 10_000,
    connectTimeoutMs: o.connectTimeoutMs ?? 5_000,
    helloTimeoutMs: o.helloTimeoutMs ?? 10_000,
  };
}
