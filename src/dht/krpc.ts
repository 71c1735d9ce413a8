import { BencodeError, decode, encode, type BDict, type BEncodable, type BValue } from '../bencode/index.js';
import { text } from '../bencode/index.js';
import { DhtError } from './errors.js';
import { decodeCompactPeer, encodeCompactPeer, ID_LENGTH, type NodeId } from './node-id.js';
import type { Endpoint } from '../net/index.js';

/*
 * KRPC (BEP 5): one bencoded dictionary per UDP datagram.
 *
 *   query     d1:ad2:id20:<id>6:target20:<id>e1:q9:find_node1:t2:aa1:y1:qe
 *   response  d1:rd2:id20:<id>5:nodes<26*n>e1:t2:aa1:y1:re
 *   error     d1:eli201e13:A Generic Errore1:t2:aa1:y1:ee
 *
 * `t` is the transaction id the querier chose, echoed in the reply. A reply
 * may carry `ip` (BEP 42: the querier's address as the replier sees it,
 * compact), a query `ro` = 1 (BEP 43: the sender is read-only, do not add it
 * to routing tables), either `v` (client version).
 *
 * Error codes: 201 generic, 202 server, 203 protocol (malformed packet,
 * invalid arguments, bad token), 204 method unknown; BEP 44 adds 205-207,
 * 301, 302.
 */

/** Largest datagram decoded. A BEP 44 put with a 1000-byte value is about 1.2 KB. */
export const MAX_KRPC_LENGTH = 4096;

export const enum KrpcErrorCode {
  Generic = 201,
  Server = 202,
  Protocol = 203,
  MethodUnknown = 204,
}

export type KrpcMessage =
  | { readonly y: 'q'; readonly t: Uint8Array; readonly q: string; readonly a: BDict; readonly ro: boolean }
  | { readonly y: 'r'; readonly t: Uint8Array; readonly r: BDict; readonly ip?: Endpoint }
  | { readonly y: 'e'; readonly t: Uint8Array; readonly code: number; readonly message: string };

export type Args = { readonly [key: string]: BEncodable | undefined };

const VERSION = new Uint8Array([0x50, 0x4b, 0x01, 0x00]); // "PK" 1.0

export function encodeQuery(t: Uint8Array, q: string, a: Args, readOnly = false): Uint8Array {
  return encode({ t, y: 'q', q, a, v: VERSION, ro: readOnly ? 1 : undefined });
}

export function encodeResponse(t: Uint8Array, r: Args, requester?: Endpoint): Uint8Array {
  const ip = requester === undefined ? undefined : encodeCompactPeer(requester);
  return encode({ t, y: 'r', r, ip, v: VERSION });
}

export function encodeError(t: Uint8Array, code: number, message: string): Uint8Array {
  return encode({ t, y: 'e', e: [code, message], v: VERSION });
}

/**
 * Decode one datagram. Throws DhtError('bad-message') for anything that is
 * not a KRPC message: not bencode, not a dictionary, no `t`, an unknown `y`,
 * a query without a name or arguments, a reply without `r`.
 */
export function decodeKrpc(data: Uint8Array): KrpcMessage {
  if (data.length > MAX_KRPC_LENGTH) throw new DhtError('bad-message', `datagram of ${data.length} bytes, the limit is ${MAX_KRPC_LENGTH}`);
  let value: BValue;
  try {
    // Not strict about key order: some clients write unsorted keys.
    value = decode(data, { strict: false, maxDepth: 16, maxValues: 2048 });
  } catch (e) {
    if (e instanceof BencodeError) throw new DhtError('bad-message', `not bencode: ${e.message}`);
    throw e;
  }
  if (!(value instanceof Map)) throw new DhtError('bad-message', 'not a dictionary');
  const t = value.get('t');
  if (!(t instanceof Uint8Array) || t.length > 32) throw new DhtError('bad-message', 'no transaction id');
  const y = value.get('y');
  const kind = y instanceof Uint8Array ? text(y) : '';
  if (kind === 'q') {
    const q = value.get('q');
    const a = value.get('a');
    if (!(q instanceof Uint8Array) || !(a instanceof Map)) throw new DhtError('bad-message', 'query without a method or arguments');
    return { y: 'q', t, q: text(q), a, ro: value.get('ro') === 1 };
  }
  if (kind === 'r') {
    const r = value.get('r');
    if (!(r instanceof Map)) throw new DhtError('bad-message', 'response without r');
    const ipBytes = value.get('ip');
    const ip = ipBytes instanceof Uint8Array ? decodeCompactPeer(ipBytes) : undefined;
    return ip === undefined ? { y: 'r', t, r } : { y: 'r', t, r, ip };
  }
  if (kind === 'e') {
    const e = value.get('e');
    const code = Array.isArray(e) && typeof e[0] === 'number' ? e[0] : KrpcErrorCode.Generic;
    const message = Array.isArray(e) && e[1] instanceof Uint8Array ? text(e[1]) : '';
    return { y: 'e', t, code, message };
  }
  throw new DhtError('bad-message', `unknown message type ${JSON.stringify(kind)}`);
}

/** A 20-byte id field (`id`, `target`, `info_hash`), else undefined. */
export function idArg(d: BDict, key: string): NodeId | undefined {
  const v = d.get(key);
  return v instanceof Uint8Array && v.length === ID_LENGTH ? v : undefined;
}

export function bytesArg(d: BDict, key: string): Uint8Array | undefined {
  const v = d.get(key);
  return v instanceof Uint8Array ? v : undefined;
}

export function intArg(d: BDict, key: string): number | undefined {
  const v = d.get(key);
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined;
}
