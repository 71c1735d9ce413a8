import type { Message } from '../wire/index.js';
import type { PeerConnection } from './peer.js';
import type { PeerKey } from './picker.js';
import type { SuperSeeder } from './super-seed.js';

/*
 * A torrent's super-seeding (BEP 16), while it lasts: the SuperSeeder
 * decides which pieces to offer whom (super-seed.ts), this sends the offers
 * as `have` messages and, once the peers hold every piece between them,
 * ends it by announcing to each peer the pieces it was not offered.
 */

/** Offered to each peer: what we send it in this long (at least two pieces), enough for a few round trips of have, request and block. */
const AHEAD_MS = 1500;

export interface SuperSeedingHost {
  peers(): Iterable<PeerConnection>;
  now(): number;
  readonly pieceCount: number;
  readonly pieceLength: number;
  pieceSize(index: number): number;
}

export class SuperSeeding {
  private seeder: SuperSeeder | undefined;

  constructor(
    private readonly host: SuperSeedingHost,
    seeder: SuperSeeder,
  ) {
    this.seeder = seeder;
  }

  /** Still super-seeding (not every piece is out yet). */
  get active(): boolean {
    return this.seeder !== undefined;
  }

  /** Top up the pieces offered to `peer`, each as a `have`; how many new ones. */
  offer(peer: PeerConnection): number {
    const seeder = this.seeder;
    if (seeder === undefined) return 0;
    if (seeder.spread) {
      this.end(seeder);
      return 0;
    }
    const now = this.host.now();
    const open = Math.ceil((peer.upload.rate(now) * AHEAD_MS) / 1000 / this.host.pieceLength);
    const pieces = seeder.offers(peer.key, peer.pieces, now, open);
    if (pieces.length > 0) peer.sendAll(pieces.map((index) => ({ type: 'have', index })), now);
    return pieces.length;
  }

  /** Offers for every peer: those that sent no bitfield, that never announce what we sent them, or got faster. */
  tick(): void {
    for (const p of [...this.host.peers()]) this.offer(p);
  }

  /** Whether `peer` may have piece `index` (it was offered it); anything, once super-seeding is over. */
  mayRequest(peer: PeerKey, index: number): boolean {
    return this.seeder?.mayRequest(peer, index) ?? true;
  }

  sent(peer: PeerConnection, index: number, bytes: number): void {
    this.seeder?.sent(peer.key, index, bytes, this.host.pieceSize(index), this.host.now());
  }

  removePeer(peer: PeerKey): void {
    this.seeder?.removePeer(peer);
  }

  /** Every piece is out in the swarm: become a plain seed, announcing to each peer what it was not offered. */
  private end(seeder: SuperSeeder): void {
    this.seeder = undefined;
    const now = this.host.now();
    for (const p of [...this.host.peers()]) {
      const offered = seeder.offered(p.key);
      const haves: Message[] = [];
      for (let i = 0; i < this.host.pieceCount; i++) if (!offered.has(i)) haves.push({ type: 'have', index: i });
      p.sendAll(haves, now);
    }
  }
}
