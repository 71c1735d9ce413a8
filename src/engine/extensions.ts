import type { DhtNode } from '../dht/index.js';
import { decodeMetadataMessage, decodePex, encodeMetadataMessage, encodePex, ExtensionError, metadataReply, PexFlag, PexState, UT_METADATA, UT_PEX, type PexPeer } from '../extensions/index.js';
import type { Endpoint } from '../net/index.js';
import type { ExtendedHandshake } from '../wire/index.js';
import type { PeerConnection } from './peer.js';
import type { PeerKey } from './picker.js';

/*
 * A torrent's extensions beyond the piece exchange:
 *
 * - ut_metadata (BEP 9): we answer requests for the info dictionary, so
 *   peers that came from a magnet link can start.
 * - ut_pex (BEP 11): at most once a minute we tell each peer which peers we
 *   connected to and which we lost (at most 50 of each per message), and
 *   peers' lists become connection candidates.
 * - PORT (BEP 5): a peer's DHT port is pinged, which adds it to our table.
 *
 * A private torrent (BEP 27) uses neither PEX nor the DHT: its peers come
 * from its tracker only.
 *
 * Extended message ids are chosen by the receiver (BEP 10): these are ours,
 * sent in our handshake; a peer's are in its `m`.
 */

/** Least time between two ut_pex messages we take from one peer (BEP 11 says one a minute; some slack for timer drift). */
const PEX_MIN_GAP_MS = 45_000;

export const OUR_EXTENSION_IDS = { [UT_METADATA]: 1, [UT_PEX]: 2 } as const;

export interface ExtensionHost {
  readonly infoBytes: Uint8Array;
  readonly isPrivate: boolean;
  readonly dht: DhtNode | undefined;
  peers(): Iterable<PeerConnection>;
  addCandidates(list: readonly Endpoint[]): void;
  /** Peers a neighbour told us about through PEX (for the event log). */
  learned(from: PeerConnection, peers: readonly Endpoint[]): void;
}

export class TorrentExtensions {
  private readonly pex = new Map<PeerKey, PexState>();
  /** Incoming peers' listen ports, from their extended handshake's `p`. */
  private readonly listenPorts = new Map<PeerKey, number>();
  /** When each peer's last ut_pex message was taken: more than one a PEX_MIN_GAP_MS is ignored. */
  private readonly pexHeard = new Map<PeerKey, number>();
  /** Peers whose PORT message we acted on: one ping per peer, however many they send. */
  private readonly portSeen = new Set<PeerKey>();
  constructor(private readonly host: ExtensionHost) {}

  /** Our `m` dictionary. */
  handshakeMap(): Map<string, number> {
    const m = new Map<string, number>([[UT_METADATA, OUR_EXTENSION_IDS[UT_METADATA]]]);
    if (!this.host.isPrivate) m.set(UT_PEX, OUR_EXTENSION_IDS[UT_PEX]);
    return m;
  }

  onHandshake(peer: PeerConnection, h: ExtendedHandshake): void {
    if (h.p !== undefined) this.listenPorts.set(peer.key, h.p);
    if (!this.host.isPrivate && (h.m.get(UT_PEX) ?? 0) > 0 && !this.pex.has(peer.key)) this.pex.set(peer.key, new PexState({ remote: endpointKey(this.listenEndpoint(peer)) }));
  }

  /** An extended message other than the handshake. Throws ExtensionError for a malformed one (the caller drops the peer). */
  onMessage(peer: PeerConnection, id: number, payload: Uint8Array, now: number): void {
    if (id === OUR_EXTENSION_IDS[UT_METADATA]) {
      const m = decodeMetadataMessage(payload);
      if (m.type !== 'request') return; // we have the metadata: data and rejects are not for us
      const theirs = peer.extensionIds.get(UT_METADATA) ?? 0;
      if (theirs === 0) return;
      // A peer that asks faster than it reads gets rejects (a few bytes), not 16 KiB each: its send queue stays bounded.
      const reply = peer.writable ? metadataReply(this.host.infoBytes, m.piece) : ({ type: 'reject', piece: m.piece } as const);
      peer.send({ type: 'extended', id: theirs, payload: encodeMetadataMessage(reply) }, now);
      return;
    }
    if (id === OUR_EXTENSION_IDS[UT_PEX] && !this.host.isPrivate) {
      // BEP 11 senders keep to one message a minute; one that floods us could fill our candidate list with addresses of its choosing.
      if (now - (this.pexHeard.get(peer.key) ?? -Infinity) < PEX_MIN_GAP_MS) return;
      this.pexHeard.set(peer.key, now);
      const m = decodePex(payload);
      const added = m.added.map((p) => ({ host: p.host, port: p.port }));
      if (added.length === 0) return;
      this.host.learned(peer, added);
      this.host.addCandidates(added);
    }
  }

  /** BEP 5 PORT: the peer runs a DHT node on `port`; ping it so our table learns it. */
  onPort(peer: PeerConnection, port: number): void {
    if (this.host.isPrivate || this.host.dht === undefined || port === 0 || this.portSeen.has(peer.key)) return;
    this.portSeen.add(peer.key);
    void this.host.dht.ping({ host: peer.remote.host, port }).catch(() => undefined);
  }

  /** Send each PEX-capable peer what changed since its last message (PexState keeps to once a minute). */
  tick(now: number): void {
    if (this.pex.size === 0) return;
    const current = new Map<string, PexPeer>();
    for (const p of this.host.peers()) {
      const e = this.listenEndpoint(p);
      if (e.port === 0) continue;
      const flags = (p.outgoing ? PexFlag.outgoing : 0) | (p.pieces.complete ? PexFlag.uploadOnly : 0);
      current.set(endpointKey(e), { host: e.host, port: e.port, flags });
    }
    for (const p of this.host.peers()) {
      const state = this.pex.get(p.key);
      const theirs = p.extensionIds.get(UT_PEX) ?? 0;
      if (state === undefined || theirs === 0) continue;
      const m = state.next(current, now);
      if (m !== undefined) p.send({ type: 'extended', id: theirs, payload: encodePex(m) }, now);
    }
  }

  forget(peer: PeerConnection): void {
    this.pex.delete(peer.key);
    this.listenPorts.delete(peer.key);
    this.pexHeard.delete(peer.key);
    this.portSeen.delete(peer.key);
  }

  /** Where others can reach a peer: the address we dialled, or its address with the port it listens on. */
  private listenEndpoint(p: PeerConnection): Endpoint {
    return p.outgoing ? p.remote : { host: p.remote.host, port: this.listenPorts.get(p.key) ?? 0 };
  }
}

export function isExtensionError(e: unknown): e is ExtensionError {
  return e instanceof ExtensionError;
}

function endpointKey(e: Endpoint): string {
  return `${e.host}:${e.port}`;
}
