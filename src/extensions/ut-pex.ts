import { isIPv4, isIPv6 } from 'node:net';
import { BencodeError, decode, encode, type BValue } from '../bencode/index.js';
import { ExtensionError } from './errors.js';

/*
 * Peer exchange (BEP 11). Peers that both put `ut_pex` in their BEP 10
 * handshake's `m` tell each other, at most once a minute, which peers they
 * connected to and disconnected from since their last message:
 *
 *   <len=0002+X><id=20><ut_pex id:1><payload:X>
 *
 *   d5:added12:<a.b.c.d:4><port:2>...         IPv4 peers connected to, 6 bytes each
 *    7:added.f2:<flags:1>...                   one flags byte per `added` peer (optional)
 *    6:added636:<16 bytes><port:2>...          IPv6 peers, 18 bytes each
 *    8:added6.f2:<flags:1>...                  one flags byte per `added6` peer (optional)
 *    7:dropped6:<a.b.c.d:4><port:2>...         IPv4 peers disconnected from
 *    8:dropped618:<16 bytes><port:2>...        IPv6 peers disconnected from
 *   e                                          (big-endian ports; every key optional)
 *
 * Flags (BEP 11): 0x01 prefers encryption, 0x02 seed / upload only, 0x04
 * supports uTP, 0x08 supports ut_holepunch, 0x10 we made an outgoing
 * connection to it (it is reachable). Other bits are reserved; we pass them
 * through.
 *
 * Decoding is lenient, like libtorrent's: missing or wrong-typed keys are
 * empty lists, a missing or short `added.f` gives the peers without a byte
 * flags 0, and a compact string whose length is not a multiple of 6 (or 18)
 * has its partial last entry ignored. Entries with port 0 are ignored (no
 * one can connect to them). What is bounded is the work: the payload size,
 * and the entries read from each compact string.
 *
 * Hosts are text as node:net gives them (`1.2.3.4`, `2001:db8::1`); an
 * IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a dual-stack socket
 * reports for an IPv4 peer) is written to the IPv4 lists and decoded as
 * plain IPv4, so one peer has one spelling.
 */

/** The extension's name in the BEP 10 handshake's `m` dictionary. */
export const UT_PEX = 'ut_pex';

/** The `added.f` / `added6.f` bits (BEP 11). */
export const PexFlag = {
  /** Prefers encrypted connections (the `e` field of its extended handshake). */
  prefersEncryption: 0x01,
  /** A seed, or upload only (BEP 21). */
  uploadOnly: 0x02,
  /** Supports uTP (BEP 29). */
  utp: 0x04,
  /** Announced ut_holepunch (BEP 55) in its extended handshake. */
  holepunch: 0x08,
  /** The sender connected out to this peer: it is reachable. */
  outgoing: 0x10,
} as const;

/**
 * Largest ut_pex payload accepted: 64 KiB. A message at BEP 11's 50 added
 * plus 50 dropped is at most ~2.3 KiB (all IPv6), and 200 in each of the four
 * lists ~10 KiB; 64 KiB leaves room for large first messages (BEP 11 lets
 * the first one exceed 50) while bounding what one message costs to decode.
 * libtorrent's limit is 500 KiB.
 */
export const MAX_PEX_PAYLOAD = 64 * 1024;

/**
 * Entries read from each of `added`, `added6`, `dropped`, `dropped6`; the
 * rest of a longer list is dropped. BEP 11 asks for at most 50 added and 50
 * dropped per message after the first; 200 is generous for first messages
 * (libtorrent sends up to 100).
 */
export const MAX_PEX_PEERS = 200;

/** BEP 11: at most 50 added (and 50 dropped) peers per message, except the first. */
export const PEX_MAX_PER_MESSAGE = 50;

/** BEP 11: a client must not send PEX messages more often than once a minute. */
export const PEX_INTERVAL_MS = 60_000;

export interface PexAddress {
  /** Dotted IPv4, or IPv6 text (compressed, lowercase, as node:net gives it). */
  readonly host: string;
  readonly port: number;
}

export interface PexPeer extends PexAddress {
  /** PexFlag bits (one byte). */
  readonly flags: number;
}

export interface PexMessage {
  /** Peers connected to since the last message, IPv4 and IPv6 together. */
  readonly added: readonly PexPeer[];
  /** Peers disconnected from since the last message. */
  readonly dropped: readonly PexAddress[];
}

const V4_LENGTH = 6;
const V6_LENGTH = 18;

/**
 * The ut_pex payload of a message (send it with `encodeExtended(id, ...)`
 * from src/wire). Peers go to `added`/`dropped` or `added6`/`dropped6` by
 * address family; empty lists are left out. Throws RangeError on a host that
 * is not an IP address, a port outside 1..65535 or flags that are not a byte.
 */
export function encodePex(msg: PexMessage): Uint8Array {
  const added4: number[] = [];
  const flags4: number[] = [];
  const added6: number[] = [];
  const flags6: number[] = [];
  for (const p of msg.added) {
    if (!Number.isInteger(p.flags) || p.flags < 0 || p.flags > 0xff) throw new RangeError(`flags ${p.flags} of ${p.host} are not a byte`);
    const entry = compactEntry(p);
    if (entry.length === V4_LENGTH) {
      added4.push(...entry);
      flags4.push(p.flags);
    } else {
      added6.push(...entry);
      flags6.push(p.flags);
    }
  }
  const dropped4: number[] = [];
  const dropped6: number[] = [];
  for (const p of msg.dropped) {
    const entry = compactEntry(p);
    (entry.length === V4_LENGTH ? dropped4 : dropped6).push(...entry);
  }
  const bytes = (b: number[]): Uint8Array | undefined => (b.length === 0 ? undefined : Uint8Array.from(b));
  return encode({
    added: bytes(added4),
    'added.f': bytes(flags4),
    added6: bytes(added6),
    'added6.f': bytes(flags6),
    dropped: bytes(dropped4),
    dropped6: bytes(dropped6),
  });
}

/**
 * Decode a ut_pex payload (leniently, see the header comment). Throws
 * ExtensionError: `too-long` over MAX_PEX_PAYLOAD, `bad-bencode` when it is
 * not bencode, `bad-message` when it is not a dictionary.
 */
export function decodePex(payload: Uint8Array): PexMessage {
  if (payload.length > MAX_PEX_PAYLOAD) throw new ExtensionError('too-long', `ut_pex message of ${payload.length} bytes, the limit is ${MAX_PEX_PAYLOAD}`, 0);
  let value: BValue;
  try {
    // Not strict about key order: clients write their own dictionaries.
    value = decode(payload, { strict: false, maxDepth: 16, maxValues: 10_000 });
  } catch (e) {
    if (e instanceof BencodeError) throw new ExtensionError('bad-bencode', `ut_pex message is not bencode (${e.code})`, e.offset);
    throw e;
  }
  if (!(value instanceof Map)) throw new ExtensionError('bad-message', 'ut_pex message is not a dictionary', 0);
  const added = [...readPeers(value.get('added'), V4_LENGTH, value.get('added.f')), ...readPeers(value.get('added6'), V6_LENGTH, value.get('added6.f'))];
  const dropped = [...readPeers(value.get('dropped'), V4_LENGTH, undefined), ...readPeers(value.get('dropped6'), V6_LENGTH, undefined)].map(({ host, port }): PexAddress => ({ host, port }));
  return { added, dropped };
}

export interface PexStateOptions {
  /** Most peers in `added`, and separately in `dropped`, of one message; the rest wait for later ones. @default 50 (BEP 11) */
  readonly maxPerMessage?: number;
  /** Least time between two messages, in ms. @default 60_000 (BEP 11) */
  readonly intervalMs?: number;
  /**
   * Key (in the maps given to `next`) of the peer at the other end of this
   * connection. It is never advertised to itself, even when `current` holds
   * it. Callers may also leave it out of `current`; either way works, as
   * long as the keys are spelled the same.
   */
  readonly remote?: string;
}

/**
 * What to tell one peer over ut_pex (BEP 11), one state per connection.
 *
 * It remembers the peers it told that peer about (added and not yet
 * dropped); `next` compares that with the peers we are connected to now and
 * returns the difference, so every peer it advertised is eventually dropped
 * too (BEP 11 requires it), and a peer that came and went between two
 * messages is never mentioned. Deterministic: no timers, the caller passes
 * `now` and calls `next` when it likes (every few seconds is fine), and
 * peers are taken in the map's iteration order.
 *
 * Peers that cannot be written in a ut_pex message (a host that is not an IP
 * address, port 0 for an incoming peer whose listen port we do not know)
 * are skipped, so `encodePex` never throws on what `next` returns.
 */
export class PexState {
  private readonly maxPerMessage: number;
  private readonly intervalMs: number;
  private readonly remote: string | undefined;
  private readonly advertised = new Map<string, PexPeer>();
  private lastSent: number | undefined;

  constructor(options: PexStateOptions = {}) {
    const { maxPerMessage = PEX_MAX_PER_MESSAGE, intervalMs = PEX_INTERVAL_MS } = options;
    if (!Number.isSafeInteger(maxPerMessage) || maxPerMessage < 1) throw new RangeError(`maxPerMessage ${maxPerMessage} is not a positive integer`);
    if (!Number.isFinite(intervalMs) || intervalMs < 0) throw new RangeError(`intervalMs ${intervalMs} is not a non-negative number`);
    this.maxPerMessage = maxPerMessage;
    this.intervalMs = intervalMs;
    this.remote = options.remote;
  }

  /** How many peers the other end currently knows from us. */
  get advertisedCount(): number {
    return this.advertised.size;
  }

  /**
   * The message to send now, or undefined: less than `intervalMs` since the
   * last message returned (the first call may send at once), or nothing
   * changed. `current` is the peers we are connected to, by a stable key
   * (by convention "host:port"); the other end itself should be left out or
   * named in `options.remote`.
   */
  next(current: ReadonlyMap<string, PexPeer>, now: number): PexMessage | undefined {
    if (this.lastSent !== undefined && now - this.lastSent < this.intervalMs) return undefined;
    const added: [string, PexPeer][] = [];
    for (const [key, peer] of current) {
      if (added.length >= this.maxPerMessage) break;
      if (key === this.remote || this.advertised.has(key) || !isPexable(peer)) continue;
      added.push([key, { host: peer.host, port: peer.port, flags: peer.flags }]);
    }
    const dropped: [string, PexPeer][] = [];
    for (const entry of this.advertised) {
      if (dropped.length >= this.maxPerMessage) break;
      if (!current.has(entry[0])) dropped.push(entry);
    }
    if (added.length === 0 && dropped.length === 0) return undefined;
    for (const [key, peer] of added) this.advertised.set(key, peer);
    for (const [key] of dropped) this.advertised.delete(key);
    this.lastSent = now;
    return { added: added.map(([, p]) => p), dropped: dropped.map(([, p]): PexAddress => ({ host: p.host, port: p.port })) };
  }
}

/** Whether `peer` can be written in a ut_pex message. */
function isPexable(peer: PexPeer): boolean {
  return isPort(peer.port) && Number.isInteger(peer.flags) && peer.flags >= 0 && peer.flags <= 0xff && (ipv4Bytes(peer.host) !== undefined || ipv6Bytes(peer.host) !== undefined);
}

function isPort(v: number): boolean {
  return Number.isInteger(v) && v >= 1 && v <= 0xffff;
}

/** The 6- or 18-byte compact form of an address. Throws RangeError. */
function compactEntry(p: PexAddress): number[] {
  if (!isPort(p.port)) throw new RangeError(`port ${p.port} of ${p.host} is not in 1..65535`);
  const ip = ipv4Bytes(p.host) ?? ipv6Bytes(p.host);
  if (ip === undefined) throw new RangeError(`host ${JSON.stringify(p.host)} is not an IP address`);
  return [...ip, p.port >>> 8, p.port & 0xff];
}

/** Peers of a compact string, at most MAX_PEX_PEERS entries read; port 0 and a partial last entry skipped. */
function readPeers(list: BValue | undefined, size: number, flags: BValue | undefined): PexPeer[] {
  if (!(list instanceof Uint8Array)) return [];
  const f = flags instanceof Uint8Array ? flags : undefined;
  const out: PexPeer[] = [];
  const count = Math.min(Math.floor(list.length / size), MAX_PEX_PEERS);
  for (let i = 0; i < count; i++) {
    const at = i * size;
    const port = (list[at + size - 2]! << 8) | list[at + size - 1]!;
    if (port === 0) continue;
    const host = size === V4_LENGTH ? formatIpv4(list, at) : formatIpv6(list, at);
    out.push({ host, port, flags: f?.[i] ?? 0 });
  }
  return out;
}

function formatIpv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/**
 * IPv6 bytes as text the way node:net writes addresses (inet_ntop): groups
 * in lowercase hex without leading zeros, the longest run of two or more
 * zero groups (the first of equals) as `::`, and `::a.b.c.d` for the old
 * IPv4-compatible form. IPv4-mapped addresses become plain IPv4.
 */
function formatIpv6(b: Uint8Array, at: number): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[at + i]! << 8) | b[at + i + 1]!);
  if (words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 && words[4] === 0 && words[5] === 0xffff) return formatIpv4(b, at + 12);
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (best === 0 && bestLength === 6) return `::${formatIpv4(b, at + 12)}`;
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  return best < 0 ? hex(words) : `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLength))}`;
}

/** The 4 bytes of a dotted IPv4 address, or of an IPv4-mapped IPv6 one; else undefined. */
function ipv4Bytes(host: string): number[] | undefined {
  if (isIPv4(host)) return host.split('.').map(Number);
  const v6 = ipv6Bytes(host);
  if (v6 === undefined || !v6.slice(0, 10).every((x) => x === 0) || v6[10] !== 0xff || v6[11] !== 0xff) return undefined;
  return v6.slice(12);
}

/** The 16 bytes of an IPv6 address (a `%zone` suffix is dropped), else undefined. */
function ipv6Bytes(host: string): number[] | undefined {
  const zone = host.indexOf('%');
  const h = zone < 0 ? host : host.slice(0, zone);
  if (!isIPv6(h)) return undefined;
  const words = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const gap = h.indexOf('::');
  const head = words(gap < 0 ? h : h.slice(0, gap));
  const tail = gap < 0 ? [] : words(h.slice(gap + 2));
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  return all.flatMap((w) => [w >>> 8, w & 0xff]);
}
