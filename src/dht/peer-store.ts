import type { Random } from '../net/index.js';
import { encodeCompactPeer, idHex, type NodeId } from './node-id.js';
import type { Endpoint } from '../net/index.js';

/*
 * The peers announced to this node (announce_peer, BEP 5): info hash ->
 * compact peers with the time of their last announce. Bounded on every axis
 * so an announcer cannot make it grow: at most MAX_TORRENTS info hashes (the
 * least recently announced one goes), MAX_PEERS_PER_TORRENT peers each (the
 * oldest announce goes), and announces older than PEER_TTL_MS expire.
 * get_peers answers with a random sample that fits in one datagram.
 */

export const PEER_TTL_MS = 30 * 60_000;
export const MAX_TORRENTS = 2_000;
export const MAX_PEERS_PER_TORRENT = 200;
/** Peers per get_peers reply: 50 * 8 bytes of bencoded compact peers keeps the reply near 500 bytes. */
export const MAX_VALUES = 50;

export class PeerStore {
  /** Map order is least recently announced first (an announce re-inserts). */
  private readonly torrents = new Map<string, Map<string, { peer: Uint8Array; at: number }>>();

  constructor(
    private readonly options: { readonly maxTorrents?: number; readonly maxPeers?: number } = {},
  ) {}

  get torrentCount(): number {
    return this.torrents.size;
  }

  get peerCount(): number {
    let n = 0;
    for (const t of this.torrents.values()) n += t.size;
    return n;
  }

  add(infoHash: NodeId, peer: Endpoint, now: number): void {
    const compact = encodeCompactPeer(peer);
    if (compact === undefined) return;
    const key = idHex(infoHash);
    let peers = this.torrents.get(key);
    if (peers === undefined) {
      if (this.torrents.size >= (this.options.maxTorrents ?? MAX_TORRENTS)) {
        const oldest = this.torrents.keys().next().value;
        if (oldest !== undefined) this.torrents.delete(oldest);
      }
      peers = new Map();
    } else {
      this.torrents.delete(key);
    }
    this.torrents.set(key, peers);
    const peerKey = `${peer.host}:${peer.port}`;
    peers.delete(peerKey);
    peers.set(peerKey, { peer: compact, at: now });
    if (peers.size > (this.options.maxPeers ?? MAX_PEERS_PER_TORRENT)) {
      const oldest = peers.keys().next().value;
      if (oldest !== undefined) peers.delete(oldest);
    }
  }

  /** Up to MAX_VALUES live compact peers for `infoHash`, a random sample when there are more. */
  get(infoHash: NodeId, now: number, random: Random): Uint8Array[] {
    const peers = this.torrents.get(idHex(infoHash));
    if (peers === undefined) return [];
    const live: Uint8Array[] = [];
    for (const [k, p] of peers) {
      if (now - p.at >= PEER_TTL_MS) peers.delete(k);
      else live.push(p.peer);
    }
    if (peers.size === 0) this.torrents.delete(idHex(infoHash));
    for (let i = live.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [live[i], live[j]] = [live[j]!, live[i]!];
    }
    return live.slice(0, MAX_VALUES);
  }

  /** Each torrent with its live announced peers, for a status display (read-only). */
  list(now: number): { infoHash: string; peers: number }[] {
    const out: { infoHash: string; peers: number }[] = [];
    for (const [infoHash, peers] of this.torrents) {
      let live = 0;
      for (const p of peers.values()) if (now - p.at < PEER_TTL_MS) live++;
      if (live > 0) out.push({ infoHash, peers: live });
    }
    return out;
  }

  /** Drop every expired announce. */
  expire(now: number): void {
    for (const [key, peers] of this.torrents) {
      for (const [k, p] of peers) if (now - p.at >= PEER_TTL_MS) peers.delete(k);
      if (peers.size === 0) this.torrents.delete(key);
    }
  }
}
