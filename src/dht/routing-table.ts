import { commonPrefixLength, compareDistance, sameId, type Contact, type NodeId } from './node-id.js';

/*
 * The routing table of BEP 5, a policy over plain data: callers report what
 * they heard (`heard`, `failed`) with the time, and the table answers with
 * decisions (which node to ping before evicting it); it sends nothing.
 *
 * Buckets hold at most K nodes. Bucket i (i < last) holds the nodes whose id
 * shares exactly i leading bits with ours; the last bucket holds everything
 * closer, so it is the one that covers our own id, and it is the only one
 * that splits when full. The table thus knows many nodes near us and a few
 * far away, and a lookup halves the distance to any target with each step.
 *
 * Node states (BEP 5):
 *   good          answered one of our queries in the last 15 minutes, or has
 *                 ever answered and sent us a query in the last 15 minutes
 *   questionable  otherwise, until it fails to answer
 *   bad           failed to answer twice in a row (or once, if it never
 *                 answered at all)
 *
 * A full bucket replaces a bad node at once. Otherwise the newcomer waits in
 * the bucket's replacement cache and the caller is told to ping the least
 * recently seen questionable node: if that one fails, `failed` promotes the
 * newest replacement. Good nodes are never evicted, which is what makes the
 * table resist churn and floods of fresh ids.
 */

export const K = 8;
export const GOOD_MS = 15 * 60_000;
/** A bucket not changed for this long is refreshed with a lookup of a random id in its range. */
export const REFRESH_MS = 15 * 60_000;

export interface TableEntry {
  readonly contact: Contact;
  /** Last time it answered a query of ours (-Infinity: never). */
  lastResponse: number;
  /** Last time we heard anything from it. */
  lastSeen: number;
  /** Queries in a row it did not answer. */
  failures: number;
}

interface Bucket {
  entries: TableEntry[];
  replacements: TableEntry[];
  lastChanged: number;
}

export type NodeState = 'good' | 'questionable' | 'bad';

export function nodeState(e: TableEntry, now: number): NodeState {
  if (e.failures >= 2 || (e.failures >= 1 && e.lastResponse === -Infinity)) return 'bad';
  if (now - e.lastResponse < GOOD_MS) return 'good';
  if (e.lastResponse > -Infinity && now - e.lastSeen < GOOD_MS) return 'good';
  return 'questionable';
}

export class RoutingTable {
  private readonly buckets: Bucket[];

  constructor(
    readonly own: NodeId,
    now: number,
    private readonly k = K,
  ) {
    this.buckets = [{ entries: [], replacements: [], lastChanged: now }];
  }

  get size(): number {
    let n = 0;
    for (const b of this.buckets) n += b.entries.length;
    return n;
  }

  get bucketCount(): number {
    return this.buckets.length;
  }

  /**
   * Record that `contact` sent us a message: a response to one of our
   * queries (`responded`) or a query. Returns the node to ping when the
   * contact waits for a place in a full bucket.
   */
  heard(contact: Contact, now: number, responded: boolean): Contact | undefined {
    if (sameId(contact.id, this.own)) return undefined;
    const bucket = this.bucketFor(contact.id);
    const existing = bucket.entries.find((e) => sameId(e.contact.id, contact.id));
    if (existing !== undefined) {
      // The same id from another address is someone else: keep the one we know.
      if (existing.contact.host !== contact.host || existing.contact.port !== contact.port) return undefined;
      existing.lastSeen = now;
      if (responded) {
        existing.lastResponse = now;
        existing.failures = 0;
        bucket.lastChanged = now;
      }
      return undefined;
    }
    if (this.endpointTaken(contact)) return undefined;
    const entry: TableEntry = { contact, lastResponse: responded ? now : -Infinity, lastSeen: now, failures: 0 };
    if (bucket.entries.length < this.k) {
      bucket.entries.push(entry);
      bucket.lastChanged = now;
      removeFrom(bucket.replacements, contact.id);
      return undefined;
    }
    if (bucket === this.buckets[this.buckets.length - 1] && this.buckets.length < 160) {
      this.split();
      return this.heard(contact, now, responded);
    }
    const bad = bucket.entries.findIndex((e) => nodeState(e, now) === 'bad');
    if (bad >= 0) {
      bucket.entries[bad] = entry;
      bucket.lastChanged = now;
      return undefined;
    }
    // Only nodes that answered are worth a ping to make room for.
    if (!responded) return undefined;
    removeFrom(bucket.replacements, contact.id);
    bucket.replacements.push(entry);
    if (bucket.replacements.length > this.k) bucket.replacements.shift();
    let stalest: TableEntry | undefined;
    for (const e of bucket.entries) {
      if (nodeState(e, now) === 'questionable' && (stalest === undefined || e.lastSeen < stalest.lastSeen)) stalest = e;
    }
    return stalest?.contact;
  }

  /** Record a query to `id` that got no answer; a node that turns bad gives its place to the newest replacement. */
  failed(id: NodeId, now: number): void {
    const bucket = this.bucketFor(id);
    const at = bucket.entries.findIndex((e) => sameId(e.contact.id, id));
    if (at < 0) {
      removeFrom(bucket.replacements, id);
      return;
    }
    const entry = bucket.entries[at]!;
    entry.failures++;
    if (nodeState(entry, now) !== 'bad') return;
    const replacement = bucket.replacements.pop();
    if (replacement !== undefined) {
      bucket.entries[at] = replacement;
      bucket.lastChanged = now;
    }
  }

  /** Forget a node (it sent garbage, or changed its address). */
  remove(id: NodeId): void {
    const bucket = this.bucketFor(id);
    removeFrom(bucket.entries, id);
    removeFrom(bucket.replacements, id);
  }

  has(id: NodeId): boolean {
    return this.bucketFor(id).entries.some((e) => sameId(e.contact.id, id));
  }

  /** Up to `count` nodes that are not bad (with `answered`: that have answered us at least once), closest to `target` first. */
  closest(target: NodeId, count: number, now: number, answered = false): Contact[] {
    const all: Contact[] = [];
    for (const b of this.buckets) for (const e of b.entries) if (nodeState(e, now) !== 'bad' && (!answered || e.lastResponse > -Infinity)) all.push(e.contact);
    all.sort((a, b) => compareDistance(target, a.id, b.id));
    return all.slice(0, count);
  }

  /** Every node in the table, for saving it. */
  contacts(): Contact[] {
    return this.buckets.flatMap((b) => b.entries.map((e) => e.contact));
  }

  /** Indexes of the buckets not changed within REFRESH_MS; mark them refreshed. */
  staleBuckets(now: number): number[] {
    const out: number[] = [];
    this.buckets.forEach((b, i) => {
      if (now - b.lastChanged >= REFRESH_MS) {
        out.push(i);
        b.lastChanged = now;
      }
    });
    return out;
  }

  /** Questionable nodes to ping so the table keeps knowing which nodes are alive (least recently seen first). */
  questionable(now: number, max: number): Contact[] {
    const out: TableEntry[] = [];
    for (const b of this.buckets) for (const e of b.entries) if (nodeState(e, now) === 'questionable') out.push(e);
    out.sort((a, b) => a.lastSeen - b.lastSeen);
    return out.slice(0, max).map((e) => e.contact);
  }

  private bucketFor(id: NodeId): Bucket {
    return this.buckets[Math.min(commonPrefixLength(id, this.own), this.buckets.length - 1)]!;
  }

  private endpointTaken(c: Contact): boolean {
    for (const b of this.buckets) for (const e of b.entries) if (e.contact.port === c.port && e.contact.host === c.host) return true;
    return false;
  }

  private split(): void {
    const last = this.buckets[this.buckets.length - 1]!;
    const depth = this.buckets.length - 1;
    const near: Bucket = { entries: [], replacements: [], lastChanged: last.lastChanged };
    const stays = (e: TableEntry): boolean => commonPrefixLength(e.contact.id, this.own) === depth;
    near.entries = last.entries.filter((e) => !stays(e));
    near.replacements = last.replacements.filter((e) => !stays(e));
    last.entries = last.entries.filter(stays);
    last.replacements = last.replacements.filter(stays);
    this.buckets.push(near);
  }
}

function removeFrom(list: TableEntry[], id: NodeId): void {
  const at = list.findIndex((e) => sameId(e.contact.id, id));
  if (at >= 0) list.splice(at, 1);
}
