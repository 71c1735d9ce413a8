import { binary } from '../../bencode/index.js';
import { ipv4ToNumber, ipv6ToBytes } from '../compact.js';
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
  /** Only these info hashes (binary strings) are tracked, when given. */
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

export interface Announce {
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  /** The peer's address: where the request came from (or `ip=` when the operator allows it). */
  readonly host: string;
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
  }

  /** Record an announce and choose the peers to send back. Throws TrackerError for a request to refuse. */
  announce(a: Announce, nowMs: number): AnnounceReply {
    if (a.infoHash.length !== 20) throw new TrackerError('bad-param', 'info_hash must be 20 bytes');
    if (a.peerId.length !== 20) throw new TrackerError('bad-param', 'peer_id must be 20 bytes');
    if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535) throw new TrackerError('bad-param', 'port must be from 1 to 65535');
    const id = hashKey(a.infoHash);
    if (this.allowList !== undefined && !this.allowList.has(id)) throw new TrackerError('not-allowed', 'torrent not on this tracker\'s allow list');
    this.announces++;
    const minute = Math.floor(nowMs / 60_000);
    let swarm = this.swarms.get(id);
    if (swarm === undefined) {
      if (a.event === 'stopped') return this.reply(undefined, [], [], undefined);
      if (this.swarms.size >= this.maxTorrents) throw new TrackerError('failure', 'tracker is full');
      this.countCreation(a.host, minute);
      swarm = new Swarm();
      this.swarms.set(id, swarm);
    }
    const before = { peers: swarm.peerCount, seeders: swarm.allSeeders, completed: swarm.completed };
    try {
      return this.update(swarm, a, minute);
    } finally {
      this.totals.peers += swarm.peerCount - before.peers;
      this.totals.seeders += swarm.allSeeders - before.seeders;
      this.totals.completed += swarm.completed - before.completed;
    }
  }

  /** Refuse a new swarm when this address made too many this minute. */
  private countCreation(host: string, minute: number): void {
    if (this.creations.minute !== minute) this.creations = { minute, bySource: new Map() };
    const v6 = ipv4ToNumber(host) === undefined ? ipv6ToBytes(host) : undefined;
    const source = v6 === undefined ? host : binary(v6.subarray(0, 8));
    const n = (this.creations.bySource.get(source) ?? 0) + 1;
    if (n > this.maxNewPerMinute) throw new TrackerError('failure', 'too many new torrents from your address: try again in a minute');
    this.creations.bySource.set(source, n);
  }

  private update(swarm: Swarm, a: Announce, minute: number): AnnounceReply {
    if (a.wantPeerIds) swarm.keepPeerIds();
    const seeder = a.left === 0 || a.left === 0n;
    const want = Math.min(this.maxNumWant, Math.max(0, a.numWant === undefined || a.numWant < 0 ? this.defaultNumWant : a.numWant));

    const v4 = ipv4ToNumber(a.host);
    if (v4 !== undefined) {
      const key = v4 * 65536 + a.port;
      if (a.event === 'stopped') {
        swarm.remove(key);
        return this.reply(swarm, [], [], undefined);
      }
      const was = swarm.upsert(key, seeder, minute, a.wantPeerIds || swarm.peerIds !== undefined ? a.peerId : undefined);
      // A completion is a leecher becoming a seeder: counted once, and only with left=0.
      if (a.event === 'completed' && seeder && was !== true) swarm.completed++;
      const self = swarm.find(key);
      const picked = swarm.sample(want, self, seeder, this.random);
      return this.reply(swarm, picked, this.pick6(swarm, want - picked.length, undefined, seeder), a.wantPeerIds ? swarm : undefined);
    }
    const bytes = ipv6ToBytes(a.host);
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
      return this.reply(swarm, [], [], undefined);
    }
    if (existing === undefined) {
      swarm.v6.set(key6, { address, seeder, minute, peerId: a.peerId });
      if (seeder) swarm.seeders6++;
    } else {
      if (existing.seeder !== seeder) swarm.seeders6 += seeder ? 1 : -1;
      if (a.event === 'completed' && seeder && !existing.seeder) swarm.completed++;
      existing.seeder = seeder;
      existing.minute = minute;
      existing.peerId = a.peerId;
    }
    if (a.event === 'completed' && seeder && existing === undefined) swarm.completed++;
    const six = this.pick6(swarm, want, key6, seeder);
    const picked = swarm.sample(want - six.length, -1, seeder, this.random);
    return this.reply(swarm, picked, six, a.wantPeerIds ? swarm : undefined);
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

  private pick6(swarm: Swarm, want: number, self: string | undefined, leechersOnly: boolean): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (want <= 0 || swarm.v6.size === 0) return out;
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

  private reply(swarm: Swarm | undefined, picked: readonly number[], six: readonly Uint8Array[], ids: Swarm | undefined): AnnounceReply {
    const peers = allocBytes(picked.length * 6);
    if (swarm !== undefined) {
      const keys = swarm.keys;
      for (let n = 0, at = 0; n < picked.length; n++, at += 6) {
        const key = keys[picked[n]!]!;
        // key = ip * 65536 + port, 48 bits: split with float arithmetic, then 32-bit ops on each part.
        const ip = Math.floor(key / 65536);
        const port = key - ip * 65536;
        peers[at] = ip >>> 24;
        peers[at + 1] = ip >>> 16;
        peers[at + 2] = ip >>> 8;
        peers[at + 3] = ip;
        peers[at + 4] = port >>> 8;
        peers[at + 5] = port;
      }
    }
    const peers6 = new Uint8Array(six.length * 18);
    six.forEach((a, n) => peers6.set(a, n * 18));
    let peerIds: Uint8Array[] | undefined;
    if (ids !== undefined) {
      peerIds = picked.map((i) => ids.peerIds?.slice(i * 20, i * 20 + 20) ?? ZERO_ID);
      for (const a of six) peerIds.push(ids.v6.get(binary(a))?.peerId ?? ZERO_ID);
    }
    return {
      interval: this.interval,
      minInterval: this.minInterval,
      seeders: swarm?.allSeeders ?? 0,
      leechers: swarm?.leechers ?? 0,
      peers,
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
