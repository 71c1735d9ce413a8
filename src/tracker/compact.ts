import { isIPv6 } from 'node:net';

/*
 * Compact peer lists: BEP 23 (`peers`, 6 bytes per IPv4 peer) and BEP 7
 * (`peers6`, 18 bytes per IPv6 peer), also the peer format of BEP 15.
 *
 *   IPv4 <a.b.c.d:4><port:2>    IPv6 <16 bytes><port:2>    (big-endian)
 */

export interface PeerAddress {
  /** Dotted IPv4 or IPv6 text, as node:net gives it. */
  readonly host: string;
  readonly port: number;
}

/**
 * A dotted-quad IPv4 address (or IPv4-mapped IPv6, ::ffff:a.b.c.d) as an
 * unsigned 32-bit number, else undefined (0-255, no leading zeros). Written
 * out by hand, without a regex or split: a tracker runs it on every
 * announce and every UDP packet.
 */
export function ipv4ToNumber(host: string): number | undefined {
  let at = host.charCodeAt(0) === 0x3a /* : */ && host.startsWith('::ffff:') ? 7 : 0;
  let n = 0;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (host.charCodeAt(at) !== 0x2e /* . */) return undefined;
      at++;
    }
    const first = at;
    let octet = 0;
    for (let c = host.charCodeAt(at); c >= 0x30 && c <= 0x39 && at - first < 3; c = host.charCodeAt(++at)) octet = octet * 10 + (c - 0x30);
    const digits = at - first;
    if (digits === 0 || octet > 255 || (digits > 1 && host.charCodeAt(first) === 0x30)) return undefined;
    n = n * 256 + octet;
  }
  return at === host.length ? n : undefined;
}

/** The plain IPv4 form of an IPv4-mapped IPv6 address ('::ffff:1.2.3.4' -> '1.2.3.4'); other hosts unchanged. */
export function plainHost(host: string): string {
  return host.startsWith('::ffff:') && ipv4ToNumber(host) !== undefined ? host.slice(7) : host;
}

export function numberToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** An IPv6 address as 16 bytes, or undefined if `host` is not IPv6. */
export function ipv6ToBytes(host: string): Uint8Array | undefined {
  if (!isIPv6(host)) return undefined;
  let h = host;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (v4 !== null) {
    const n = ipv4ToNumber(v4[1]!)!;
    h = `${h.slice(0, -v4[1]!.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = h.split('::') as [string, string | undefined];
  const a = head === '' ? [] : head.split(':');
  const b = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? a : [...a, ...Array<string>(8 - a.length - b.length).fill('0'), ...b];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >>> 8;
    out[i * 2 + 1] = n & 255;
  });
  return out;
}

export function bytesToIpv6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return groups.join(':');
}

/** Decode a compact IPv4 list (a trailing partial entry is ignored). */
export function decodePeers4(b: Uint8Array): PeerAddress[] {
  const out: PeerAddress[] = [];
  for (let i = 0; i + 6 <= b.length; i += 6) {
    out.push({ host: `${b[i]}.${b[i + 1]}.${b[i + 2]}.${b[i + 3]}`, port: (b[i + 4]! << 8) | b[i + 5]! });
  }
  return out;
}

/** Decode a compact IPv6 list. */
export function decodePeers6(b: Uint8Array): PeerAddress[] {
  const out: PeerAddress[] = [];
  for (let i = 0; i + 18 <= b.length; i += 18) out.push({ host: bytesToIpv6(b.subarray(i, i + 16)), port: (b[i + 16]! << 8) | b[i + 17]! });
  return out;
}

/** Encode peers compactly: IPv4 ones into `peers`, IPv6 ones into `peers6`. */
export function encodePeers(peers: readonly PeerAddress[]): { peers: Uint8Array; peers6: Uint8Array } {
  const v4: number[] = [];
  const v6: number[] = [];
  for (const p of peers) {
    const n = ipv4ToNumber(p.host);
    if (n !== undefined) v4.push(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255, p.port >>> 8, p.port & 255);
    else {
      const b = ipv6ToBytes(p.host);
      if (b !== undefined) v6.push(...b, p.port >>> 8, p.port & 255);
    }
  }
  return { peers: new Uint8Array(v4), peers6: new Uint8Array(v6) };
}
