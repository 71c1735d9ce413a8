import { BencodeError, binary, decode, text, type BDict, type BValue } from '../../bencode/index.js';
import { decodePeers4, decodePeers6 } from '../compact.js';
import { TrackerError } from '../errors.js';
import type { AnnounceResult, ScrapeFile, TrackerPeer } from './types.js';

/*
 * Parsing HTTP tracker responses. Every input either parses or throws a
 * TrackerError: 'failure' when the tracker refused (its `failure reason`),
 * 'malformed' for anything else wrong, and nothing else (a property test
 * feeds random and mutated bytes).
 *
 * Announce (BEP 3, BEP 23 compact, BEP 7 peers6):
 *
 *   d 8:interval i1800e  12:min interval i900e  8:complete i5e  10:incomplete i3e
 *     5:peers 12:<ip:4><port:2><ip:4><port:2>            (compact=1, BEP 23)
 *       or 5:peers l d 2:ip 9:10.0.0.1  4:port i6881e  7:peer id 20:<id> e ... e
 *     6:peers6 18:<ip:16><port:2>                        (BEP 7)
 *     10:tracker id 3:abc   15:warning message 4:slow
 *   e
 *   d 14:failure reason 19:torrent not allowed e
 *
 * Scrape (BEP 48):
 *
 *   d 5:files d 20:<info hash> d 8:complete i5e 10:downloaded i50e 10:incomplete i3e e ... e e
 */

/** Largest response body accepted (an announce with 200 dictionary peers is ~20 KB). @default */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

// Tracker responses are shallow (peers list of dicts: depth 3) and small.
const DECODE_LIMITS = { strict: false, maxDepth: 8, maxValues: 100_000, maxKeyLength: 256 } as const;

/** libtorrent's fallback when a tracker leaves out `interval`. */
const DEFAULT_INTERVAL = 1800;

function malformed(message: string, offset?: number): TrackerError {
  return new TrackerError('malformed', message, offset);
}

function decodeDict(body: Uint8Array, maxBytes: number): BDict {
  if (body.length > maxBytes) throw malformed(`response of ${body.length} bytes exceeds the cap of ${maxBytes}`);
  let value: BValue;
  try {
    value = decode(body, { ...DECODE_LIMITS, maxSize: maxBytes });
  } catch (e) {
    if (e instanceof BencodeError) throw malformed(`response is not bencode: ${e.message}`, e.offset);
    throw malformed(`response is not bencode: ${String(e)}`);
  }
  if (!(value instanceof Map)) throw malformed('response is not a dictionary');
  return value;
}

/** A `failure reason` means the request was refused (BEP 3); the other keys do not matter then. */
function checkFailure(d: BDict): void {
  const reason = d.get('failure reason');
  if (reason === undefined) return;
  if (!(reason instanceof Uint8Array)) throw malformed('failure reason is not a string');
  throw new TrackerError('failure', text(reason));
}

function int(d: BDict, key: string, min: number, max: number): number | undefined {
  const v = d.get(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || v < min || v > max) throw malformed(`${key} is not an integer in ${min}..${max}`);
  return v;
}

function bytes(d: BDict, key: string): Uint8Array | undefined {
  const v = d.get(key);
  if (v === undefined) return undefined;
  if (!(v instanceof Uint8Array)) throw malformed(`${key} is not a string`);
  return v;
}

// A host in the dictionary model: an IPv4/IPv6 literal or a DNS name (BEP 3). No spaces, controls or '/'.
const HOST = /^[A-Za-z0-9.:\-_[\]%]{1,255}$/;

/** BEP 3's original peer list: a list of dictionaries. */
function dictPeers(list: BValue[]): TrackerPeer[] {
  const out: TrackerPeer[] = [];
  for (const entry of list) {
    if (!(entry instanceof Map)) throw malformed('a peer is not a dictionary');
    const ip = bytes(entry, 'ip');
    const port = int(entry, 'port', 0, 65535);
    if (ip === undefined || port === undefined) throw malformed('a peer lacks ip or port');
    const host = text(ip);
    if (!HOST.test(host)) throw malformed('a peer ip is not an address or host name');
    // Port 0 cannot be connected to; trackers send it for peers that did not say.
    if (port === 0) continue;
    const peerId = bytes(entry, 'peer id');
    out.push(peerId === undefined ? { host, port } : { host, port, peerId });
  }
  return out;
}

/** Parse an announce response body. Throws TrackerError ('failure' or 'malformed') only. */
export function parseAnnounceResponse(body: Uint8Array, maxBytes = MAX_RESPONSE_BYTES): AnnounceResult {
  const d = decodeDict(body, maxBytes);
  checkFailure(d);
  // Intervals over a year are nonsense; refusing them keeps timer arithmetic safe.
  const interval = int(d, 'interval', 0, 365 * 86400) ?? DEFAULT_INTERVAL;
  const minInterval = int(d, 'min interval', 0, 365 * 86400);
  const complete = int(d, 'complete', 0, Number.MAX_SAFE_INTEGER);
  const incomplete = int(d, 'incomplete', 0, Number.MAX_SAFE_INTEGER);
  const peersValue = d.get('peers');
  let peers: TrackerPeer[];
  if (peersValue === undefined) peers = [];
  else if (peersValue instanceof Uint8Array) peers = decodePeers4(peersValue);
  else if (Array.isArray(peersValue)) peers = dictPeers(peersValue);
  else throw malformed('peers is neither a string nor a list');
  const peers6 = bytes(d, 'peers6');
  if (peers6 !== undefined) peers.push(...decodePeers6(peers6));
  const trackerId = bytes(d, 'tracker id');
  const warning = bytes(d, 'warning message');
  return {
    interval,
    ...(minInterval !== undefined && { minInterval }),
    ...(complete !== undefined && { complete }),
    ...(incomplete !== undefined && { incomplete }),
    peers,
    ...(trackerId !== undefined && { trackerId }),
    ...(warning !== undefined && { warning: text(warning) }),
  };
}

/**
 * Parse a scrape response body: the counts for each of `requested` that the
 * tracker reported, in request order (trackers leave out unknown torrents).
 * Throws TrackerError ('failure' or 'malformed') only.
 */
export function parseScrapeResponse(body: Uint8Array, requested: readonly Uint8Array[], maxBytes = MAX_RESPONSE_BYTES): ScrapeFile[] {
  const d = decodeDict(body, maxBytes);
  checkFailure(d);
  const files = d.get('files');
  if (!(files instanceof Map)) throw malformed('scrape response has no files dictionary');
  const out: ScrapeFile[] = [];
  for (const infoHash of requested) {
    const entry = files.get(binary(infoHash));
    if (entry === undefined) continue;
    if (!(entry instanceof Map)) throw malformed('a scrape entry is not a dictionary');
    out.push({
      infoHash: new Uint8Array(infoHash),
      complete: int(entry, 'complete', 0, Number.MAX_SAFE_INTEGER) ?? 0,
      downloaded: int(entry, 'downloaded', 0, Number.MAX_SAFE_INTEGER) ?? 0,
      incomplete: int(entry, 'incomplete', 0, Number.MAX_SAFE_INTEGER) ?? 0,
    });
  }
  return out;
}
