import type { DhtNode } from '../dht/index.js';
import type { Clock, Endpoint, Timer } from '../net/index.js';

/*
 * A torrent's presence in the DHT (BEP 5): a get_peers lookup for its info
 * hash followed by announce_peer to the closest nodes, at start and every
 * 15 minutes after (the peers a node stores expire after 30), sooner when
 * the torrent is short of peers, but never more often than once a minute;
 * every 5 s while the node has nobody to ask (it is still joining).
 */

export const DHT_ANNOUNCE_MS = 15 * 60_000;
const MIN_GAP_MS = 60_000;
/** When the lookup had no node to ask (the node is still joining), try again this soon. */
const NO_NODES_RETRY_MS = 5_000;

export class DhtAnnouncer {
  private timer: Timer | undefined;
  private running = false;
  private lastAt = -Infinity;
  private stopped = false;

  constructor(
    private readonly dht: DhtNode,
    private readonly clock: Clock,
    private readonly infoHash: Uint8Array,
    private readonly port: number,
    private readonly events: { readonly peers: (list: Endpoint[]) => void },
  ) {}

  start(): void {
    this.announce();
  }

  /** The torrent has few peers: announce again if the last one was over a minute ago. */
  wantMorePeers(): void {
    if (this.clock.now() - this.lastAt >= MIN_GAP_MS) this.announce();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  private announce(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.lastAt = this.clock.now();
    this.timer?.cancel();
    let next = DHT_ANNOUNCE_MS;
    this.dht
      .announce(this.infoHash, this.port)
      .then(
        (r) => {
          if (r.lookup.queries === 0) next = NO_NODES_RETRY_MS;
          if (!this.stopped && r.lookup.queries > 0) this.events.peers(r.peers);
        },
        () => void (next = NO_NODES_RETRY_MS),
      )
      .finally(() => {
        this.running = false;
        if (!this.stopped) this.timer = this.clock.setTimer(next, () => this.announce());
      })
      .catch(() => undefined); // a listener that threw: the torrent's own error path reports it
  }
}
