import { TrackerError } from '../errors.js';
import type { AnnounceParams } from './types.js';

/*
 * Checks shared by the HTTP and UDP clients: a request we cannot express on
 * the wire is our bug, reported as TrackerError('bad-param') before anything
 * is sent.
 */

const INT64_MAX = 2n ** 63n - 1n;

export function checkInfoHash(what: string, b: Uint8Array): void {
  if (b.length !== 20) throw new TrackerError('bad-param', `${what} must be 20 bytes, got ${b.length}`);
}

/** A byte count as BEP 15 carries it (signed 64-bit; HTTP has no limit, but no torrent is bigger). */
export function byteCount(what: string, v: bigint | number): bigint {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new TrackerError('bad-param', `${what} must be an integer`);
  const n = BigInt(v);
  if (n < 0n || n > INT64_MAX) throw new TrackerError('bad-param', `${what} must be in 0..2^63-1`);
  return n;
}

export function checkAnnounceParams(p: AnnounceParams): void {
  checkInfoHash('info_hash', p.infoHash);
  checkInfoHash('peer_id', p.peerId);
  if (!Number.isInteger(p.port) || p.port < 0 || p.port > 65535) throw new TrackerError('bad-param', `port ${p.port} is not a port`);
  byteCount('uploaded', p.uploaded);
  byteCount('downloaded', p.downloaded);
  byteCount('left', p.left);
  if (p.key !== undefined && (!Number.isInteger(p.key) || p.key < 0 || p.key > 0xffffffff)) throw new TrackerError('bad-param', 'key must be a 32-bit unsigned integer');
  if (p.numWant !== undefined && (!Number.isInteger(p.numWant) || p.numWant < 0 || p.numWant > 0x7fffffff)) throw new TrackerError('bad-param', 'numWant must be a non-negative integer');
}
