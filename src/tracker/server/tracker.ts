import { binary } from '../../bencode/index.js';
import { ipv4ToNumber, ipv6ToBytes, numberToIpv4 } from '../compact.js';
import { TrackerError } from '../errors.js';
import { allocBytes, type AnnounceEvent, type ScrapeCounts } from '../udp-codec.js';
import type { Random } from '../../net/index.js';
import { Swarm } from './swarm.js';

/*
 * The tracker's state and decisions, independent of HTTP and UDP: an announce
 * goes in, a reply comes out. Time is an argument and randomness is injected
 * (DESIGN.md), so this is tested without sockets or a wall clock.
 */

export interface TrackerOptions {
  /** Seconds between a client's announces. @default 1800 */
  readonly interval?: number;
  /** Seconds a client must wait at least between announces. @default interval / 2 */
  readonly minInterval?: number;
  /** Peers sent when a client does not say. @default 50 */
  readonly defaultNumWant?: number;
  /** Most peers sent in one reply. @default 200 */
  readonly maxNumWant?: number;
  /** Seconds without an announce after which a peer is dropped. @default interval * 2 + 60 */
  readonly peerTimeout?: number;
  /**
   * Only these info hashes (binary strings) are tracked, when given. Looked
   * up when an announce would create a swarm: a swarm that exists was
   * allowed, so the common announce costs one hash lookup, not two (and a
   * hash taken out of the set later stays tracked until its swarm empties).
   */
  readonly allowList?: ReadonlySet<string>;
  /** Most swarms tracked at once (new ones are refused beyond it). @default 1,000,000 */
  readonly maxTorrents?: number;
  /**
   * Most new swarms one address (an IPv6 /64) may create a minute, so one
   * client announcing random info hashes cannot fill the table for everyone.
   * @default 1000
   */
  readonly maxNewTorrentsPerMinute?: number;
}

/**
 * One announce. The tracker copies what it keeps of `infoHash` and `peerId`,
 * so they may be views on a buffer the caller reuses (the UDP batch path
 * passes views on its receive buffer).
 */
export interface Announce {
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  /**
   * The peer's address: where the request came from (or `ip=` when the
   * operator allows it), as IPv4 or IPv6 text, or an IPv4 address as a
   * 32-bit number (what the UDP side has, without making text of it).
   */
  readonly host: string | number;
  readonly port: number;
  /** Bytes the peer still needs; 0 makes it a seeder. */
  readonly left: number | bigint;
  readonly event: AnnounceEvent;
  readonly numWant: number | undefined;
  /** The dictionary model with peer ids was asked for (BEP 3 without compact=1 or no_peer_id). */
  readonly wantPeerIds: boolean;
}

export interface AnnounceReply {
  readonly interval: number;
  readonly minInterval: number;
  readonly seeders: number;
  readonly leechers: number;
  /** Compact IPv4 peers (6 bytes each, BEP 23). */
  readonly peers: Uint8Array;
  /** Compact IPv6 peers (18 bytes each, BEP 7). */
  readonly peers6: Uint8Array;
  /** With `wantPeerIds`: the ids of `peers` then of `peers6`, in order (zeros when unknown). */
  readonly peerIds: readonly Uint8Array[] | undefined;
}

/**
 * Where announce() may write the compact IPv4 peers instead of allocating
 * them: `out` from `at` on, at most `room` bytes (whole entries that do not
 * fit are left out). The reply's `peers` is then a view on those bytes, and
 * `written` their length.
 */
export interface PeersInto {
  readonly out: Uint8Array;
  readonly at: number;
  readonly room: number;
  written: number;
}

export interface TrackerStats {
  readonly torrents: number;
  readonly peers: number;
  readonly seeders: number;
  readonly leechers: number;
  readonly completed: number;
  readonly announces: number;
  readonly scrapes: number;
}

const ZERO_ID = new Uint8Array(20);
/** Shared by every reply without IPv6 peers (nearly all): nothing in them to change. */
const NO_PEERS = new Uint8Array(0);
const NO_PEERS6: readonly Uint8Array[] = [];
/** At most this many torrents in a scrape that names none (BEP 48 "all torrents"). */
const FULL_SCRAPE_LIMIT = 1000;

export class Tracker {
  readonly interval: number;
  readonly minInterval: number;
  private readonly defaultNumWant: number;
  private readonly maxNumWant: number;
  private readonly timeoutMinutes: number;
  private readonly allowList: ReadonlySet<string> | undefined;
  private readonly maxTorrents: number;
  private readonly swarms = new Map<string, Swarm>();
  private announces = 0;
  private scrapes = 0;
  /** Running totals over all swarms, so /stats costs nothing however many there are. */
  private totals = { peers: 0, seeders: 0, completed: 0 };
  private readonly maxNewPerMinute: number;
  private creations = { minute: -1, bySource: new Map<string, number>() };
  /** The indices sampled for the reply being built (the tracker is single-threaded). */
  private readonly picked: Int32Array;
  /** A view on the last `into.out` seen. */
  private intoView: { of: Uint8Array; view: DataView } | undefined;

  constructor(
    private readonly random: Random,
    options: TrackerOptions = {},
  ) {
    this.interval = options.interval ?? 1800;
    this.minInterval = options.minInterval ?? Math.max(1, Math.floor(this.interval / 2));
    this.defaultNumWant = options.defaultNumWant ?? 50;
    this.maxNumWant = options.maxNumWant ?? 200;
    this.timeoutMinutes = Math.ceil((options.peerTimeout ?? this.interval * 2 + 60) / 60);
    this.allowList = options.allowList;
    this.maxTorrents = options.maxTorrents ?? 1_000_000;
    this.maxNewPerMinute = options.maxNewTorrentsPerMinute ?? 1000;
    this.picked = new Int32Array(Math.max(0, this.maxNumWant));
  }

  /**
   * Record an announce and choose the peers to send back. Throws
   * TrackerError for a request to refuse. With `into`, the IPv4 peers are
   * written there rather than into a new array (the UDP batch path).
   */
  announce(a: Announce, nowMs: number, into?: PeersInto): AnnounceReply {
    if (a.infoHash.length !== 20) throw new TrackerError('bad-param', 'info_hash must be 20 bytes');
    if (a.peerId.length !== 20) throw new TrackerError('bad-param', 'peer_id must be 20 bytes');
    if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535) throw new TrackerError('bad-param', 'port must be from 1 to 65535');
    const id = hashKey(a.infoHash);
    let swarm = this.swarms.get(id);
    if (swarm === undefined && this.allowList !== undefined && !this.allowList.has(id)) throw new TrackerError('not-allowed', 'torrent not on this tracker\'s allow list');
    this.announces++;
    const minute = Math.floor(nowMs / 60_000);
    if (swarm === undefined) {
      if (a.event === 'stopped') return this.reply(undefined, 0, [], undefined, into);
      if (this.swarms.size >= this.maxTorrents) throw new TrackerError('failure', 'tracker is full');
      this.countCreation(a.host, minute);
      swarm = new Swarm();
      this.swarms.set(id, swarm);
    }
    const peers = swarm.peerCount;
    const seeders = swarm.allSeeders;
    const completed = swarm.completed;
    try {
      return this.update(swarm, a, minute, into);
    } finally {
      this.totals.peers += swarm.peerCount - peers;
      this.totals.seeders += swarm.allSeeders - seeders;
      this.totals.completed += swarm.completed - completed;
    }
  }

  /** Refuse a new swarm when this address made too many this minute. */
  private countCreation(host: string | number, minute: number): void {
    if (this.creations.minute !== minute) this.creations = { minute, bySource: new Map() };
    // An IPv4 address counts as its dotted text whichever form it came in; an IPv6 one as its /64.
    const text = typeof host === 'number' ? numberToIpv4(host) : host;
    const v6 = ipv4ToNumber(text) === undefined ? ipv6ToBytes(text) : undefined;
    const source = v6 === undefined ? text : binary(v6.subarray(0, 8));
    const n = (this.creations.bySource.get(source) ?? 0) + 1;
    if (n > this.maxNewPerMinute) throw new TrackerError('failure', 'too many new torrents from your address: try again in a minute');
    this.creations.bySource.set(source, n);
  }

  private update(swarm: Swarm, a: Announce, minute: number, into: PeersInto | undefined): AnnounceReply {
    if (a.wantPeerIds) swarm.keepPeerIds();
    const seeder = a.left === 0 || a.left === 0n;
    const want = Math.min(this.maxNumWant, Math.max(0, a.numWant === undefined || a.numWant < 0 ? this.defaultNumWant : a.numWant));

    const v4 = typeof a.host === 'number' ? a.host : ipv4ToNumber(a.host);
    if (v4 !== undefined) {
      const key = v4 * 65536 + a.port;
      if (a.event === 'stopped') {
        swarm.remove(key);
        return this.reply(swarm, 0, [], undefined, into);
      }
      const was = swarm.upsert(key, seeder, minute, a.wantPeerIds || swarm.peerIds !== undefined ? a.peerId : undefined);
      // A completion is a leecher becoming a seeder: counted once, and only with left=0.
      if (a.event === 'completed' && seeder && was !== true) swarm.completed++;
      const picked = swarm.sampleInto(want, swarm.lastIndex, seeder, this.random, this.picked);
      return this.reply(swarm, picked, this.pick6(swarm, want - picked, undefined, seeder), a.wantPeerIds ? swarm : undefined, into);
    }
    const bytes = typeof a.host === 'string' ? ipv6ToBytes(a.host) : undefined;
    if (bytes === undefined) throw new TrackerError('bad-param', `cannot use address ${a.host}`);
    const address = new Uint8Array(18);
    address.set(bytes);
    address[16] = a.port >>> 8;
    address[17] = a.port & 255;
    const key6 = binary(address);
    const existing = swarm.v6.get(key6);
    if (a.event === 'stopped') {
      if (existing !== undefined) {
        if (existing.seeder) swarm.seeders6--;
        swarm.v6.delete(key6);
      }
      return this.reply(swarm, 0, [], undefined, into);
    }
    if (existing === undefined) {
      swarm.v6.set(key6, { address, seeder, minute, peerId: a.peerId.slice() });
      if (seeder) swarm.seeders6++;
    } else {
      if (existing.seeder !== seeder) swarm.seeders6 += seeder ? 1 : -1;
      if (a.event === 'completed' && seeder && !existing.seeder) swarm.completed++;
      existing.seeder = seeder;
      existing.minute = minute;
      existing.peerId = a.peerId.slice();
    }
    if (a.event === 'completed' && seeder && existing === undefined) swarm.completed++;
    const six = this.pick6(swarm, want, key6, seeder);
    const picked = swarm.sampleInto(want - six.length, -1, seeder, this.random, this.picked);
    return this.reply(swarm, picked, six, a.wantPeerIds ? swarm : undefined, into);
  }

  /** Counts for each info hash; none named means every torrent (up to a limit). */
  scrape(infoHashes: readonly Uint8Array[]): { infoHash: Uint8Array; counts: ScrapeCounts }[] {
    this.scrapes++;
    let ids: string[];
    if (infoHashes.length > 0) ids = infoHashes.map((h) => hashKey(h));
    else {
      ids = [];
      for (const id of this.swarms.keys()) {
        if (ids.length >= FULL_SCRAPE_LIMIT) break;
        ids.push(id);
      }
    }
    return ids.map((id) => {
      const s = this.swarms.get(id);
      const infoHash = Uint8Array.from(id, (c) => c.charCodeAt(0));
      return { infoHash, counts: s === undefined ? { seeders: 0, completed: 0, leechers: 0 } : { seeders: s.allSeeders, completed: s.completed, leechers: s.leechers } };
    });
  }

  /** Drop peers that stopped announcing, and swarms left empty (keeping their completed count is not worth the memory). */
  expire(nowMs: number): number {
    const minute = Math.floor(nowMs / 60_000);
    let gone = 0;
    for (const [id, s] of this.swarms) {
      const seeders = s.allSeeders;
      const n = s.expire(minute, this.timeoutMinutes);
      gone += n;
      this.totals.peers -= n;
      this.totals.seeders -= seeders - s.allSeeders;
      if (s.peerCount === 0) {
        this.totals.completed -= s.completed;
        this.swarms.delete(id);
      }
    }
    return gone;
  }

  stats(): TrackerStats {
    const { peers, seeders, completed } = this.totals;
    return { torrents: this.swarms.size, peers, seeders, leechers: peers - seeders, completed, announces: this.announces, scrapes: this.scrapes };
  }

  private pick6(swarm: Swarm, want: number, self: string | undefined, leechersOnly: boolean): readonly Uint8Array[] {
    if (want <= 0 || swarm.v6.size === 0) return NO_PEERS6;
    const out: Uint8Array[] = [];
    // Reservoir sampling: a uniform random subset of the (rare) IPv6 peers in
    // one pass, with one call to the injected random source.
    let x = (this.random() * 0x1_0000_0000) | 0 || 0x9e3779b9;
    let seen = 0;
    for (const [k, p] of swarm.v6) {
      if (k === self || (leechersOnly && p.seeder)) continue;
      seen++;
      if (out.length < want) {
        out.push(p.address);
        continue;
      }
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const j = (x >>> 0) % seen;
      if (j < want) out[j] = p.address;
    }
    return out;
  }

  /** The reply, with the first `count` indices of `this.picked` as its IPv4 peers. */
  private reply(swarm: Swarm | undefined, count: number, six: readonly Uint8Array[], ids: Swarm | undefined, into: PeersInto | undefined): AnnounceReply {
    const picked = this.picked;
    if (into !== undefined) count = Math.min(count, Math.floor(into.room / 6));
    const out = into?.out ?? allocBytes(count * 6);
    const start = into?.at ?? 0;
    if (swarm !== undefined && into !== undefined) {
      // A caller's buffer is the same one reply after reply (the UDP send
      // buffer): a DataView on it, made once, writes a peer in two stores.
      if (this.intoView?.of !== out) this.intoView = { of: out, view: new DataView(out.buffer, out.byteOffset, out.byteLength) };
      const { view } = this.intoView;
      const entries = swarm.entries;
      for (let n = 0, at = start; n < count; n++, at += 6) {
        const i = 2 * picked[n]!;
        view.setUint32(at, entries[i]!);
        view.setUint16(at + 4, entries[i + 1]! >>> 16);
      }
    } else if (swarm !== undefined) {
      const entries = swarm.entries;
      for (let n = 0, at = start; n < count; n++, at += 6) {
        const i = 2 * picked[n]!;
        const ip = entries[i]!;
        const port = entries[i + 1]! >>> 16;
        out[at] = ip >>> 24;
        out[at + 1] = ip >>> 16;
        out[at + 2] = ip >>> 8;
        out[at + 3] = ip;
        out[at + 4] = port >>> 8;
        out[at + 5] = port;
      }
    }
    let peers6 = NO_PEERS;
    if (six.length > 0) {
      peers6 = new Uint8Array(six.length * 18);
      six.forEach((a, n) => peers6.set(a, n * 18));
    }
    let peerIds: Uint8Array[] | undefined;
    if (ids !== undefined) {
      peerIds = [];
      for (let n = 0; n < count; n++) peerIds.push(ids.peerIds?.slice(picked[n]! * 20, picked[n]! * 20 + 20) ?? ZERO_ID);
      for (const a of six) peerIds.push(ids.v6.get(binary(a))?.peerId ?? ZERO_ID);
    }
    return {
      interval: this.interval,
      minInterval: this.minInterval,
      seeders: swarm?.allSeeders ?? 0,
      leechers: swarm?.leechers ?? 0,
      peers: into === undefined ? out : out.subarray(start, start + (into.written = count * 6)),
      peers6,
      peerIds,
    };
  }
}

/**
 * An info hash as the key of the swarms map and the allow-list: its 20 bytes
 * as a binary (latin1) string, the same string bencode's `binary` makes.
 * Twenty explicit arguments rather than a spread: ~8x faster, on every
 * announce. Longer inputs (refused later anyway) take the general path.
 */
function hashKey(b: Uint8Array): string {
  if (b.length !== 20) return binary(b);
  return String.fromCharCode(
    b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!,
    b[10]!, b[11]!, b[12]!, b[13]!, b[14]!, b[15]!, b[16]!, b[17]!, b[18]!, b[19]!,
  );
}
