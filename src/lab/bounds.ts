/*
 * The minimum distribution times of Kurose and Ross (Computer Networking,
 * section 2.5): a server with upload rate u_s distributes a file of F bytes
 * to N peers with upload rates u_i and download rates of at least d_min.
 *
 *   client-server  D_cs  >= max(N·F / u_s, F / d_min)
 *   P2P            D_p2p >= max(F / u_s, F / d_min, N·F / (u_s + Σ u_i))
 *
 * The server must push N copies alone in the first case; in the second it
 * must push at least one copy, the slowest peer must take one in, and the N
 * copies must leave through the uplinks of everybody. Rates are bytes per
 * second, F bytes, times seconds. An unlimited download rate is Infinity
 * (F / d_min is then 0).
 */

export interface DistributionParams {
  /** F: the file's size, bytes. */
  readonly size: number;
  /** u_s: the server's upload rate, bytes/s. */
  readonly serverUp: number;
  /** u_i: each peer's upload rate, bytes/s (one number: every peer the same; or one per peer). */
  readonly peerUp: number | readonly number[];
  /** d_min: the slowest peer's download rate, bytes/s. @default Infinity */
  readonly peerDown?: number;
}

/** D_cs for N peers, seconds. */
export function clientServerBound(n: number, p: DistributionParams): number {
  check(n, p);
  return Math.max((n * p.size) / p.serverUp, p.size / (p.peerDown ?? Infinity));
}

/** D_p2p for N peers, seconds. */
export function p2pBound(n: number, p: DistributionParams): number {
  check(n, p);
  const sumUp = typeof p.peerUp === 'number' ? n * p.peerUp : p.peerUp.slice(0, n).reduce((a, b) => a + b, 0);
  return Math.max(p.size / p.serverUp, p.size / (p.peerDown ?? Infinity), (n * p.size) / (p.serverUp + sumUp));
}

function check(n: number, p: DistributionParams): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`N must be a whole number >= 1, got ${n}`);
  if (!(p.size > 0)) throw new RangeError(`the size must be > 0, got ${p.size}`);
  if (!(p.serverUp > 0)) throw new RangeError(`the server's upload rate must be > 0, got ${p.serverUp}`);
  if (p.peerDown !== undefined && !(p.peerDown > 0)) throw new RangeError(`the download rate must be > 0, got ${p.peerDown}`);
  if (typeof p.peerUp !== 'number' && p.peerUp.length < n) throw new RangeError(`${n} peers but ${p.peerUp.length} upload rates`);
}
