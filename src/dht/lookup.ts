import type { Clock, Timer } from '../net/index.js';
import { compareDistance, idHex, type Contact, type NodeId } from './node-id.js';
import { K } from './routing-table.js';

/*
 * The iterative lookup of Kademlia (Maymounkov & Mazieres 2002, section 2.3),
 * as BEP 5 uses it for find_node, get_peers and BEP 44 get.
 *
 * Keep a short list of candidates sorted by XOR distance to the target. Ask
 * the closest ALPHA that have not been asked; each answer brings nodes
 * closer to the target, which join the list. The lookup ends when the K
 * closest candidates that did not fail have all answered: no node closer to
 * the target is known to anyone we asked.
 *
 * A query that has not answered within SLOW_MS stops counting against ALPHA
 * (it may still answer), so one dead node does not stall the lookup for the
 * whole query timeout; libtorrent does the same.
 *
 * Round trips: a node from the starting set is at depth 1, a node learned
 * from a depth-d answer at depth d + 1. The depth of the node that first
 * returned a value (a peer, an item) is how many sequential round trips the
 * lookup needed to find it.
 */

export const ALPHA = 3;
export const SLOW_MS = 600;
/** Queries one lookup may send at most. */
export const MAX_LOOKUP_QUERIES = 256;
const MAX_CANDIDATES = 128;

export interface LookupOptions {
  readonly target: NodeId;
  readonly start: readonly Contact[];
  /** Ask `contact`; resolve to the nodes it returned, reject when it fails. */
  readonly query: (contact: Contact, depth: number) => Promise<readonly Contact[]>;
  readonly clock: Clock;
  /** @default ALPHA */
  readonly alpha?: number;
  /** @default K */
  readonly k?: number;
}

export interface LookupResult {
  /** The K closest nodes that answered, closest first. */
  readonly closest: Contact[];
  readonly queries: number;
  readonly failures: number;
  /** The deepest round trip among `closest`. */
  readonly rounds: number;
}

interface Candidate {
  readonly contact: Contact;
  readonly depth: number;
  state: 'new' | 'pending' | 'slow' | 'answered' | 'failed';
}

export function lookup(options: LookupOptions): Promise<LookupResult> {
  const { target, clock } = options;
  const alpha = options.alpha ?? ALPHA;
  const k = options.k ?? K;
  const candidates: Candidate[] = [];
  const seen = new Set<string>();
  let active = 0;
  let queries = 0;
  let failures = 0;
  let finished = false;

  const add = (c: Contact, depth: number): void => {
    const key = idHex(c.id);
    if (seen.has(key)) return;
    seen.add(key);
    let at = candidates.length;
    while (at > 0 && compareDistance(target, c.id, candidates[at - 1]!.contact.id) < 0) at--;
    if (at >= MAX_CANDIDATES) return;
    candidates.splice(at, 0, { contact: c, depth, state: 'new' });
    if (candidates.length > MAX_CANDIDATES) candidates.pop();
  };

  return new Promise<LookupResult>((resolve) => {
    const finish = (): void => {
      finished = true;
      const answered = candidates.filter((c) => c.state === 'answered').slice(0, k);
      resolve({
        closest: answered.map((c) => c.contact),
        queries,
        failures,
        rounds: answered.reduce((m, c) => Math.max(m, c.depth), 0),
      });
    };

    const send = (c: Candidate): void => {
      c.state = 'pending';
      active++;
      queries++;
      let slow: Timer | undefined = clock.setTimer(SLOW_MS, () => {
        slow = undefined;
        if (c.state !== 'pending') return;
        c.state = 'slow';
        active--;
        pump();
      });
      const settle = (ok: boolean, nodes: readonly Contact[]): void => {
        slow?.cancel();
        if (c.state === 'pending') active--;
        c.state = ok ? 'answered' : 'failed';
        if (!ok) failures++;
        if (finished) return;
        for (const n of nodes) add(n, c.depth + 1);
        pump();
      };
      options.query(c.contact, c.depth).then(
        (nodes) => settle(true, nodes),
        () => settle(false, []),
      );
    };

    const pump = (): void => {
      if (finished) return;
      let counted = 0;
      let open = false;
      for (const c of candidates) {
        if (c.state === 'failed') continue;
        if (counted++ >= k) break;
        if (c.state === 'answered') continue;
        open = true;
        if (c.state === 'new' && active < alpha && queries < MAX_LOOKUP_QUERIES) send(c);
      }
      const waiting = candidates.some((c) => c.state === 'pending' || c.state === 'slow');
      if (!open || (!waiting && (queries >= MAX_LOOKUP_QUERIES || !candidates.some((c) => c.state === 'new')))) finish();
    };

    for (const c of options.start) add(c, 1);
    pump();
  });
}
