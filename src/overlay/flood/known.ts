import type { Endpoint, Random } from '../../net/index.js';

/*
 * The addresses a flood node has heard of (from contacts, hellos, pongs and
 * byes), where it looks for new neighbours. Strangers fill it, so it is
 * bounded: at most `capacity` addresses, the least recently heard of
 * leaving first; an address that failed (or turned us away: full) is set
 * aside for `retryMs` (a pong may well name it again, and a full node has
 * room again once one of its neighbours leaves), and our own addresses are
 * never kept.
 */

/** "host:port" of a dotted IPv4 address, the only kind the wire carries. */
export function addressKey(e: Endpoint): string {
  return `${e.host}:${e.port}`;
}

/** The dotted IPv4 form of a socket's host ("::ffff:1.2.3.4" included), or undefined. */
export function ipv4Of(host: string): string | undefined {
  const h = host.startsWith('::ffff:') ? host.slice(7) : host;
  const parts = h.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number).join('.');
}

export class AddressBook {
  private readonly known = new Map<string, Endpoint>();
  private readonly failed = new Map<string, number>();
  private readonly self = new Set<string>();

  constructor(
    readonly capacity: number,
    private readonly random: Random,
    readonly retryMs: number,
  ) {}

  get size(): number {
    return this.known.size;
  }

  /** Remember (or refresh) an address; ignores ports 0, hosts that are not IPv4, and our own. */
  add(e: Endpoint): void {
    const host = ipv4Of(e.host);
    if (host === undefined || !Number.isInteger(e.port) || e.port < 1 || e.port > 65535) return;
    const key = `${host}:${e.port}`;
    if (this.self.has(key)) return;
    this.known.delete(key);
    this.known.set(key, { host, port: e.port });
    for (const k of this.known.keys()) {
      if (this.known.size <= this.capacity) break;
      this.known.delete(k);
    }
  }

  /** Whether `e` is one of ours (a hello came back with our own node id). */
  isSelf(e: Endpoint): boolean {
    return this.self.has(addressKey(e));
  }

  /** An address that turned out to be this node. */
  markSelf(e: Endpoint): void {
    const key = addressKey(e);
    this.known.delete(key);
    if (this.self.size < 64) this.self.add(key);
  }

  /** An address that could not be reached (or refused us): skipped until retryMs after `now`. */
  markFailed(e: Endpoint, now: number): void {
    const key = addressKey(e);
    this.failed.delete(key);
    this.failed.set(key, now);
    for (const k of this.failed.keys()) {
      if (this.failed.size <= this.capacity) break;
      this.failed.delete(k);
    }
  }

  /** Forget a failure (a contact the user names again). */
  clearFailed(e: Endpoint): void {
    this.failed.delete(addressKey(e));
  }

  /** Up to `n` addresses for a pong: our `neighbours` first, then others we know; never the asker's own. */
  forPong(neighbours: readonly Endpoint[], asker: Endpoint | undefined, n: number, now: number): Endpoint[] {
    const skip = asker === undefined ? '' : addressKey(asker);
    const mine = neighbours.filter((e) => addressKey(e) !== skip);
    const chosen = new Set(mine.map(addressKey));
    const more = this.sample(n, (e) => chosen.has(addressKey(e)) || addressKey(e) === skip, now);
    return [...pick(mine, n, this.random), ...more].slice(0, n);
  }

  /** Up to `n` addresses picked at random, leaving out `skip`, recent failures and ours. */
  sample(n: number, skip: (e: Endpoint) => boolean, now: number): Endpoint[] {
    const pool: Endpoint[] = [];
    for (const [key, e] of this.known) {
      const at = this.failed.get(key);
      if (at !== undefined && now - at < this.retryMs) continue;
      if (at !== undefined) this.failed.delete(key);
      if (!skip(e)) pool.push(e);
    }
    return pick(pool, n, this.random);
  }
}

/** `n` bytes from the injected random source (ids need not be secret, only distinct). */
export function randomBytes(random: Random, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
}

/** Up to `n` items of `items` in random order (a partial Fisher-Yates shuffle of a copy). */
export function pick<T>(items: readonly T[], n: number, random: Random): T[] {
  const a = [...items];
  const count = Math.max(0, Math.min(n, a.length));
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (a.length - i));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, count);
}
