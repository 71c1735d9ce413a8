import type { BDict, BValue } from '../../bencode/index.js';
import type { Endpoint } from '../../net/index.js';
import type { Codec } from '../common/channel.js';
import { compactEndpoint, Fields } from '../common/fields.js';
import { encodeFrame } from '../common/frame.js';
import { decodeSource, encodeSource, MAX_QUERY_BYTES, parseQuery, queryText, type Query, type Source } from '../common/shared.js';

/*
 * The messages of the flooding overlay (docs/flood.md), in the shared
 * framing (common/frame.ts): a length prefix and one bencoded dictionary
 * whose "t" names the message. Every field has a bound, so decoding a
 * message never allocates more than the frame it came in, and every
 * violation is an OverlayError('bad-message') that gets the sender dropped.
 */

/** Bytes in a query id and in a node id. */
export const ID_BYTES = 16;
/** Largest TTL and hop count the wire carries (one byte in Gnutella; nodes lower TTLs to their own maximum). */
export const MAX_WIRE_TTL = 255;
/** Addresses in one pong or bye. */
export const MAX_ADDRESSES = 20;
/** Sources in one hit. */
export const MAX_SOURCES = 50;
/** Bytes of the optional reason in a bye. */
export const MAX_REASON_BYTES = 200;
/** The largest frame a flood node accepts: a full hit (50 sources of at most ~330 bytes each) fits with room to spare. */
export const FLOOD_MAX_FRAME = 64 * 1024;

export type FloodMessage =
  /** First message on every connection, both ways: `port` is where the sender accepts connections (0: nowhere, a leaf); `id` names the node. */
  | { readonly t: 'hello'; readonly port: number; readonly id: Uint8Array }
  | { readonly t: 'ping' }
  | { readonly t: 'pong'; readonly addresses: readonly Endpoint[] }
  | { readonly t: 'query'; readonly id: Uint8Array; readonly ttl: number; readonly hops: number; readonly query: Query }
  | { readonly t: 'hit'; readonly id: Uint8Array; readonly hops: number; readonly sources: readonly Source[] }
  /** The sender is closing the link (leaving, full, or refusing a duplicate); `addresses` are other nodes to try. */
  | { readonly t: 'bye'; readonly addresses: readonly Endpoint[]; readonly reason?: string };

export type FloodMessageType = FloodMessage['t'];
export const FLOOD_MESSAGE_TYPES: readonly FloodMessageType[] = ['hello', 'ping', 'pong', 'query', 'hit', 'bye'];

function encode(m: FloodMessage): Uint8Array {
  switch (m.t) {
    case 'hello':
      return encodeFrame({ t: 'hello', p: m.port, id: m.id });
    case 'ping':
      return encodeFrame({ t: 'ping' });
    case 'pong':
      return encodeFrame({ t: 'pong', a: m.addresses.map(compactEndpoint) });
    case 'query':
      return encodeFrame({ t: 'query', id: m.id, ttl: m.ttl, hops: m.hops, q: queryText(m.query) });
    case 'hit':
      return encodeFrame({ t: 'hit', id: m.id, hops: m.hops, s: m.sources.map(encodeSource) });
    case 'bye':
      return encodeFrame({ t: 'bye', a: m.addresses.length > 0 ? m.addresses.map(compactEndpoint) : undefined, r: m.reason });
  }
}

/** A 6-byte compact IPv4 address and port, as a list item. */
function endpointItem(f: Fields, v: BValue): Endpoint {
  if (!(v instanceof Uint8Array) || v.length !== 6) throw f.bad('has an address that is not 6 bytes');
  const port = (v[4]! << 8) | v[5]!;
  if (port === 0) throw f.bad('has an address with port 0');
  return { host: `${v[0]}.${v[1]}.${v[2]}.${v[3]}`, port };
}

function decode(dict: BDict): FloodMessage {
  const t = new Fields(dict, 'flood').text('t', 32);
  const f = new Fields(dict, t);
  switch (t) {
    case 'hello':
      return { t, port: f.int('p', 0, 65535), id: f.bytes('id', ID_BYTES) };
    case 'ping':
      return { t };
    case 'pong':
      return { t, addresses: f.list('a', MAX_ADDRESSES, (v) => endpointItem(f, v)) };
    case 'query': {
      const id = f.bytes('id', ID_BYTES);
      const ttl = f.int('ttl', 1, MAX_WIRE_TTL);
      const hops = f.int('hops', 1, MAX_WIRE_TTL);
      // parseQuery throws OverlayError('bad-message') for an empty or oversized query.
      const query = parseQuery(f.text('q', MAX_QUERY_BYTES));
      return { t, id, ttl, hops, query };
    }
    case 'hit':
      return { t, id: f.bytes('id', ID_BYTES), hops: f.int('hops', 1, MAX_WIRE_TTL), sources: f.list('s', MAX_SOURCES, (v) => decodeSource(f, v)) };
    case 'bye': {
      const addresses = f.has('a') ? f.list('a', MAX_ADDRESSES, (v) => endpointItem(f, v)) : [];
      return f.has('r') ? { t, addresses, reason: f.text('r', MAX_REASON_BYTES) } : { t, addresses };
    }
    default:
      throw new Fields(dict, 'flood').bad(`type ${JSON.stringify(t)} is unknown`);
  }
}

export const floodCodec: Codec<FloodMessage> = { encode, decode };
