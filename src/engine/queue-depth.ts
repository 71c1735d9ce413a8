/* How deep to pipeline block requests to one peer: the bandwidth-delay product, in blocks. */

/** Queue time before a round trip has been measured, and the most it is ever (libtorrent's request_queue_time is 3 s). */
export const MAX_QUEUE_MS = 2000;
/** The least queue time: covers a peer's disk read and the lag of the 5 s rate meter behind a rising rate. */
export const MIN_QUEUE_MS = 300;

/**
 * How much time of a peer's rate to keep requested from it, given the round trip measured to it (request sent on
 * an empty pipeline, to its block; the largest of the last few such samples, see PeerConnection.rtt), or undefined
 * before one is known.
 *
 * Throughput is at most depth x blockSize / RTT = rate x queueTime / RTT, so queue time must exceed the round trip
 * by a margin for the rate (and with it the depth) to grow: three round trips plus 100 ms, within [300 ms, 2 s].
 * Deeper is not free: every block requested is claimed, so a piece queued at a slow peer is not asked of the other
 * peers that have it, and near the end those claims are what the last blocks wait on. On the lab's swarm (20 ms
 * round trips) a fixed 2 s queue kept ~12% of the file claimed by each leecher and left leechers idle that had
 * only claimed pieces to offer; 300 ms brought P2P from 1.18x its bound to 1.10x at N = 50.
 */
export function requestQueueTime(rttMs: number | undefined): number {
  if (rttMs === undefined || !Number.isFinite(rttMs)) return MAX_QUEUE_MS;
  return Math.min(MAX_QUEUE_MS, Math.max(MIN_QUEUE_MS, 3 * rttMs + 100));
}

/**
 * How many requests to keep outstanding at a peer: the bandwidth-delay
 * product, rate x latencyMs / blockSize, at least `min`, at most `max` (the
 * peer's BEP 10 `reqq`, which wins over `min`).
 *
 * latencyMs defaults to 2000: the queue must cover the round trip plus the
 * peer's disk read, and since throughput is at most depth x blockSize / RTT
 * = rate x latency / RTT, latency must exceed the RTT by a margin for the
 * rate (and so the depth) to grow; 2 s gives 4x on a 500 ms bufferbloated
 * link and absorbs the lag of a 5 s rate meter, while a slow peer still holds
 * only 2 s of work (libtorrent's request_queue_time is 3 s). min 4 keeps 64
 * KiB in flight at a new peer so its rate can be measured at all.
 */
export function requestQueueDepth(
  bytesPerSecond: number,
  options: { blockSize?: number; latencyMs?: number; min?: number; max?: number } = {},
): number {
  const { blockSize = 16384, latencyMs = 2000, min = 4, max = 500 } = options;
  const depth = bytesPerSecond > 0 ? Math.ceil((bytesPerSecond * latencyMs) / 1000 / blockSize) : 0;
  return Math.max(0, Math.min(max, Math.max(min, depth)));
}
