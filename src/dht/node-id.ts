import { ipv4ToNumber, numberToIpv4 } from '../tracker/compact.js';
import type { Endpoint, Random } from '../net/index.js';

/*
 * Node ids, XOR distance and the compact encodings of BEP 5, and the node id
 * restriction of BEP 42.
 *
 * Ids and info hashes share one 160-bit space; the distance between two ids
 * is their XOR read as an unsigned integer, so "closer" is decided by the
 * first byte where the two XORs differ.
 *
 *   compact node info   <id:20><IPv4:4><port:2>   26 bytes
 *   compact peer info   <IPv4:4><port:2>           6 bytes
 *
 * BEP 42 ties a node id to the node's external IPv4 address, so one host
 * cannot pick ids next to a target at will:
 *
 *   crc = crc32c((ip & 0x030f3fff) | (r << 29))      r = a random 0..7
 *   id[0] = crc >> 24, id[1] = crc >> 16, id[2] = (crc >> 8 & 0xf8) | random
 *   id[19] = a random byte whose low 3 bits are r, the other bytes random
 *
 * Local addresses (loopback, private ranges) are exempt.
 */

export const ID_LENGTH = 20;
export const COMPACT_NODE_LENGTH = 26;
export const COMPACT_PEER_LENGTH = 6;

export type NodeId = Uint8Array;

export interface Contact extends Endpoint {
  readonly id: NodeId;
}

export function randomId(random: Random): NodeId {
  const id = new Uint8Array(ID_LENGTH);
  for (let i = 0; i < ID_LENGTH; i++) id[i] = Math.floor(random() * 256);
  return id;
}

/** A random id that shares exactly the first `prefixBits` bits with `base`, then differs. */
export function randomIdWithPrefix(base: NodeId, prefixBits: number, random: Random): NodeId {
  const id = randomId(random);
  for (let bit = 0; bit < Math.min(prefixBits, 160); bit++) setBit(id, bit, bitOf(base, bit));
  if (prefixBits < 160) setBit(id, prefixBits, 1 - bitOf(base, prefixBits));
  return id;
}

export function bitOf(id: NodeId, bit: number): number {
  return (id[bit >> 3]! >> (7 - (bit & 7))) & 1;
}

function setBit(id: NodeId, bit: number, value: number): void {
  const mask = 0x80 >> (bit & 7);
  id[bit >> 3] = value === 1 ? id[bit >> 3]! | mask : id[bit >> 3]! & ~mask;
}

/** How many leading bits `a` and `b` share (160 when equal). */
export function commonPrefixLength(a: NodeId, b: NodeId): number {
  for (let i = 0; i < ID_LENGTH; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return 160;
}

/** Negative when `a` is closer to `target` than `b`, positive when farther, 0 when equal. */
export function compareDistance(target: NodeId, a: NodeId, b: NodeId): number {
  for (let i = 0; i < ID_LENGTH; i++) {
    const da = a[i]! ^ target[i]!;
    const db = b[i]! ^ target[i]!;
    if (da !== db) return da - db;
  }
  return 0;
}

export function sameId(a: NodeId, b: NodeId): boolean {
  return compareDistance(a, a, b) === 0 && a.length === b.length;
}

export function idHex(id: NodeId): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}

export function idFromHex(hex: string): NodeId | undefined {
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) return undefined;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** IPv4 `host:port` as 6 bytes, or undefined for anything that is not IPv4 with a valid port. */
export function encodeCompactPeer(e: Endpoint): Uint8Array | undefined {
  const ip = ipv4ToNumber(e.host);
  if (ip === undefined || !Number.isInteger(e.port) || e.port < 1 || e.port > 0xffff) return undefined;
  const out = new Uint8Array(COMPACT_PEER_LENGTH);
  new DataView(out.buffer).setUint32(0, ip);
  out[4] = e.port >> 8;
  out[5] = e.port & 0xff;
  return out;
}

/** 6 bytes as an endpoint; undefined for another length or port 0. */
export function decodeCompactPeer(b: Uint8Array): Endpoint | undefined {
  if (b.length !== COMPACT_PEER_LENGTH) return undefined;
  const port = (b[4]! << 8) | b[5]!;
  if (port === 0) return undefined;
  return { host: numberToIpv4(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0), port };
}

export function encodeCompactNodes(contacts: readonly Contact[]): Uint8Array {
  const out = new Uint8Array(contacts.length * COMPACT_NODE_LENGTH);
  let at = 0;
  for (const c of contacts) {
    const peer = encodeCompactPeer(c);
    if (peer === undefined) continue;
    out.set(c.id, at);
    out.set(peer, at + ID_LENGTH);
    at += COMPACT_NODE_LENGTH;
  }
  return out.subarray(0, at);
}

/** The whole 26-byte entries of `b` (a trailing partial entry is ignored); entries with port 0 are skipped. */
export function decodeCompactNodes(b: Uint8Array): Contact[] {
  const out: Contact[] = [];
  for (let at = 0; at + COMPACT_NODE_LENGTH <= b.length; at += COMPACT_NODE_LENGTH) {
    const peer = decodeCompactPeer(b.subarray(at + ID_LENGTH, at + COMPACT_NODE_LENGTH));
    if (peer !== undefined) out.push({ id: Uint8Array.prototype.slice.call(b, at, at + ID_LENGTH), host: peer.host, port: peer.port });
  }
  return out;
}

// --- BEP 42 ---

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), the checksum BEP 42 uses. */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC32C_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function bep42Prefix(ip: number, r: number): number {
  const masked = ((ip & 0x030f3fff) | (r << 29)) >>> 0;
  return crc32c(new Uint8Array([masked >>> 24, (masked >>> 16) & 0xff, (masked >>> 8) & 0xff, masked & 0xff]));
}

/** Whether BEP 42 exempts this address: loopback, private and link-local IPv4. Non-IPv4 hosts are not covered. */
export function isExemptAddress(host: string): boolean {
  const ip = ipv4ToNumber(host);
  if (ip === undefined) return true;
  const a = ip >>> 24;
  const b = (ip >>> 16) & 0xff;
  return a === 10 || a === 127 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || (a === 169 && b === 254);
}

/** A node id valid for `host` under BEP 42 (random where the BEP leaves it free). */
export function secureId(host: string, random: Random): NodeId {
  const id = randomId(random);
  const ip = ipv4ToNumber(host);
  if (ip === undefined) return id;
  const crc = bep42Prefix(ip, id[19]! & 7);
  id[0] = crc >>> 24;
  id[1] = (crc >>> 16) & 0xff;
  id[2] = ((crc >>> 8) & 0xf8) | (id[2]! & 7);
  return id;
}

/** Whether `id` follows BEP 42 for `host` (always true for exempt addresses). */
export function isSecureId(id: NodeId, host: string): boolean {
  if (isExemptAddress(host)) return true;
  const crc = bep42Prefix(ipv4ToNumber(host)!, id[19]! & 7);
  return id[0] === crc >>> 24 && id[1] === ((crc >>> 16) & 0xff) && (id[2]! & 0xf8) === ((crc >>> 8) & 0xf8);
}
