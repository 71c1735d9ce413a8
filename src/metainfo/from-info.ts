import { encode } from '../bencode/index.js';

/*
 * A .torrent around an info dictionary fetched from peers (BEP 9): the info
 * bytes go in unchanged, so the infohash of the result is the SHA-1 they
 * were checked against; the trackers of the magnet link become `announce`
 * and one tier each in `announce-list` (BEP 12).
 *
 *   d8:announce<url>13:announce-listll<url>el<url>ee4:info<info bytes>e
 */
export function torrentFromInfo(infoBytes: Uint8Array, trackers: readonly string[] = []): Uint8Array {
  const head = trackers.length === 0 ? new Uint8Array([0x64]) : encode({ announce: trackers[0]!, 'announce-list': trackers.map((t) => [t]) }).subarray(0, -1);
  const key = new TextEncoder().encode('4:info');
  const out = new Uint8Array(head.length + key.length + infoBytes.length + 1);
  out.set(head, 0);
  out.set(key, head.length);
  out.set(infoBytes, head.length + key.length);
  out[out.length - 1] = 0x65;
  return out;
}
