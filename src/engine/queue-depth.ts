/* How deep to pipeline block requests to one peer: the bandwidth-delay product, in blocks. */

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
