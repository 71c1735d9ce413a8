/*
 * The forwarding policy of the flooding overlay, with no I/O: which
 * neighbours get a copy of a query, and where a hit goes. A node feeds it
 * what arrives and does what it answers (node.ts); the unit tests drive it
 * directly.
 *
 * The rule (docs/flood.md): a query id seen before is a duplicate and goes
 * nowhere. A new one is remembered with the neighbour it came from (the
 * reverse path) and, while its TTL is above 1, copied to every other
 * neighbour with TTL - 1 and hops + 1. A hit for that id goes back to the
 * neighbour the query came from, and only when it comes from a neighbour
 * the query was sent to, so a peer cannot push hits for searches it never
 * saw, or inject them sideways into someone else's path.
 *
 * Memory is bounded twice: at most `capacity` ids of other nodes' queries
 * (least recently used first out), and an id is forgotten `expiryMs` after
 * it was first seen. Neighbours cannot crowd each other out: each has a
 * quota of `neighbourQuota` ids in that table (a node gives capacity / its
 * largest number of neighbours), and one over it loses its own least
 * recently used ids first; when the table is full anyway (ids left by links
 * that have closed) the neighbour with the most ids loses one. Our own
 * searches sit in a table of their own (`ownCapacity`, same expiry), which
 * other nodes' queries never push out.
 */

/** An opaque name for a neighbour (a node uses one per connection, never reused), or SELF for our own searches. */
export type NeighbourKey = string;
export const SELF: NeighbourKey = 'self';

export interface QueryRouterOptions {
  /** Ids of other nodes' queries remembered. @default 10_000 */
  readonly capacity?: number;
  /** Of those, ids remembered for queries that came from any one neighbour. @default capacity */
  readonly neighbourQuota?: number;
  /** Our own searches remembered (apart: other nodes' queries cannot push them out). @default 1000 */
  readonly ownCapacity?: number;
  /** How long an id is remembered, in ms. @default 600_000 (10 min) */
  readonly expiryMs?: number;
  /** TTLs above this are lowered to it. @default 7 */
  readonly maxTtl?: number;
}

export type QueryDecision =
  | { readonly kind: 'duplicate' }
  /** `ttl` and `hops` are those of the copies to send (ttl 0 when forwardTo is empty); `lowered` when the TTL received was over maxTtl. */
  | { readonly kind: 'new'; readonly forwardTo: readonly NeighbourKey[]; readonly ttl: number; readonly hops: number; readonly lowered: boolean };

export type HitDecision =
  /** The hit answers one of our own searches. */
  | { readonly kind: 'deliver' }
  | { readonly kind: 'forward'; readonly to: NeighbourKey }
  | { readonly kind: 'drop'; readonly reason: string };

interface Entry {
  readonly from: NeighbourKey;
  readonly forwardedTo: ReadonlySet<NeighbourKey>;
  readonly firstSeen: number;
}

/** Hop counts never grow past what the wire carries. */
const MAX_HOPS = 255;

export class QueryRouter {
  readonly capacity: number;
  readonly neighbourQuota: number;
  readonly ownCapacity: number;
  readonly expiryMs: number;
  readonly maxTtl: number;
  // A Map (and a Set) iterates in insertion order: deleting and re-inserting on use keeps the least recently used first.
  private readonly own = new Map<string, Entry>();
  private readonly relayed = new Map<string, Entry>();
  /** The ids in `relayed`, by the neighbour the query came from, least recently used first. */
  private readonly byFrom = new Map<NeighbourKey, Set<string>>();

  constructor(options: QueryRouterOptions = {}) {
    this.capacity = options.capacity ?? 10_000;
    this.neighbourQuota = options.neighbourQuota ?? this.capacity;
    this.ownCapacity = options.ownCapacity ?? 1000;
    this.expiryMs = options.expiryMs ?? 600_000;
    this.maxTtl = options.maxTtl ?? 7;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new RangeError(`capacity ${this.capacity} is not a positive integer`);
    if (!Number.isInteger(this.neighbourQuota) || this.neighbourQuota < 1) throw new RangeError(`neighbourQuota ${this.neighbourQuota} is not a positive integer`);
    if (!Number.isInteger(this.ownCapacity) || this.ownCapacity < 1) throw new RangeError(`ownCapacity ${this.ownCapacity} is not a positive integer`);
    if (!(this.expiryMs > 0)) throw new RangeError(`expiryMs ${this.expiryMs} is not positive`);
    if (!Number.isInteger(this.maxTtl) || this.maxTtl < 1 || this.maxTtl > MAX_HOPS) throw new RangeError(`maxTtl ${this.maxTtl} is not an integer from 1 to ${MAX_HOPS}`);
  }

  /** Ids remembered now, ours and others' (expired ones may still count until looked up or pushed out). */
  get size(): number {
    return this.own.size + this.relayed.size;
  }

  /** Ids remembered now for queries that came from `from`. */
  sizeFrom(from: NeighbourKey): number {
    return this.byFrom.get(from)?.size ?? 0;
  }

  /** Record our own search: hits for `id` from these neighbours are delivered. Returns whom to send it to (all of them). */
  startSearch(id: Uint8Array, neighbours: readonly NeighbourKey[], now: number): readonly NeighbourKey[] {
    const to = [...new Set(neighbours)];
    const key = keyOf(id);
    this.forget(key);
    this.own.set(key, { from: SELF, forwardedTo: new Set(to), firstSeen: now });
    for (const [k, e] of this.own) {
      if (this.own.size <= this.ownCapacity && now - e.firstSeen < this.expiryMs) break;
      this.own.delete(k);
    }
    return to;
  }

  /** A query arrived from `from`; `neighbours` are the links it could go on (from may be among them). */
  onQuery(id: Uint8Array, from: NeighbourKey, ttl: number, hops: number, neighbours: readonly NeighbourKey[], now: number): QueryDecision {
    const key = keyOf(id);
    if (this.lookup(key, now) !== undefined) return { kind: 'duplicate' };
    const effective = Math.min(ttl, this.maxTtl);
    const forwardTo = effective > 1 ? [...new Set(neighbours)].filter((n) => n !== from) : [];
    this.remember(key, { from, forwardedTo: new Set(forwardTo), firstSeen: now });
    if (forwardTo.length === 0) return { kind: 'new', forwardTo, ttl: 0, hops, lowered: ttl > this.maxTtl };
    return { kind: 'new', forwardTo, ttl: effective - 1, hops: Math.min(hops + 1, MAX_HOPS), lowered: ttl > this.maxTtl };
  }

  /** A hit for `id` arrived from `from`. `now` (when given) lets an expired id count as unknown. */
  onHit(id: Uint8Array, from: NeighbourKey, now?: number): HitDecision {
    const entry = this.lookup(keyOf(id), now);
    if (entry === undefined) return { kind: 'drop', reason: 'a hit for a query id not seen (or forgotten)' };
    if (!entry.forwardedTo.has(from)) return { kind: 'drop', reason: 'a hit from a neighbour the query was not sent to' };
    return entry.from === SELF ? { kind: 'deliver' } : { kind: 'forward', to: entry.from };
  }

  /** Whether `id` is remembered (and not expired at `now`). */
  has(id: Uint8Array, now?: number): boolean {
    return this.lookup(keyOf(id), now) !== undefined;
  }

  private lookup(key: string, now: number | undefined): Entry | undefined {
    const mine = this.own.get(key);
    if (mine !== undefined) {
      this.own.delete(key);
      if (now !== undefined && now - mine.firstSeen >= this.expiryMs) return undefined;
      this.own.set(key, mine);
      return mine;
    }
    const entry = this.relayed.get(key);
    if (entry === undefined) return undefined;
    this.forget(key);
    if (now !== undefined && now - entry.firstSeen >= this.expiryMs) return undefined;
    this.add(key, entry);
    return entry;
  }

  private remember(key: string, entry: Entry): void {
    this.forget(key);
    this.add(key, entry);
    // The sender over its quota loses its own least recently used id (never the one just added: it is the newest).
    const mine = this.byFrom.get(entry.from)!;
    if (mine.size > this.neighbourQuota) this.forget(mine.values().next().value!);
    // Drop expired ids from the old end first.
    for (const [k, e] of this.relayed) {
      if (entry.firstSeen - e.firstSeen < this.expiryMs) break;
      this.forget(k);
    }
    // Still full (ids of links that have closed): the neighbour with the most ids loses its least recently used.
    while (this.relayed.size > this.capacity) {
      let largest: Set<string> | undefined;
      for (const ids of this.byFrom.values()) if (largest === undefined || ids.size > largest.size) largest = ids;
      this.forget(largest!.values().next().value!);
    }
  }

  private add(key: string, entry: Entry): void {
    this.relayed.set(key, entry);
    let ids = this.byFrom.get(entry.from);
    if (ids === undefined) this.byFrom.set(entry.from, (ids = new Set()));
    ids.add(key);
  }

  /** Forget `key` wherever it is. */
  private forget(key: string): void {
    this.own.delete(key);
    const entry = this.relayed.get(key);
    if (entry === undefined) return;
    this.relayed.delete(key);
    const ids = this.byFrom.get(entry.from);
    ids?.delete(key);
    if (ids?.size === 0) this.byFrom.delete(entry.from);
  }
}

function keyOf(id: Uint8Array): string {
  return Buffer.from(id).toString('hex');
}
