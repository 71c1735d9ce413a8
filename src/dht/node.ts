import { decode, encode, type BDict, type BValue } from '../bencode/index.js';
import { realClock, systemRandom, type Clock, type DatagramSocket, type Endpoint, type Random, type Timer } from '../net/index.js';
import { DhtError } from './errors.js';
import { bytesArg, idArg, intArg, KrpcErrorCode, type Args } from './krpc.js';
import { immutableTarget, ItemError, ItemStore, mutableTarget, signedPayload, validImmutable, validMutable, type MutableItem } from './items.js';
import type { Ed25519Keys } from './keys.js';
import { lookup, type LookupResult } from './lookup.js';
import { decodeCompactNodes, decodeCompactPeer, encodeCompactNodes, idHex, isExemptAddress, isSecureId, randomId, randomIdWithPrefix, secureId, sameId, type Contact, type NodeId } from './node-id.js';
import { PeerStore } from './peer-store.js';
import { K, RoutingTable } from './routing-table.js';
import { Rpc, type QueryMessage, type Reply, type RpcOptions } from './rpc.js';
import { TokenIssuer } from './tokens.js';

/*
 * A mainline DHT node (BEP 5) with BEP 44 storage: answers ping, find_node,
 * get_peers, announce_peer, get and put; runs iterative lookups for its
 * user; keeps its routing table fresh.
 *
 * The node is composed of pure parts that it drives: RoutingTable (which
 * nodes to keep), lookup (whom to ask next), TokenIssuer, PeerStore and
 * ItemStore (what to store), Rpc (transactions over the datagram port).
 */

/** Every minute: refresh stale buckets, ping questionable nodes, expire storage. */
const MAINTENANCE_MS = 60_000;
/** Votes (BEP 42 `ip` in replies) needed before we believe an external address. */
const EXTERNAL_VOTES = 5;

export interface DhtNodeOptions {
  readonly socket: DatagramSocket;
  readonly clock?: Clock;
  readonly random?: Random;
  /** Our node id (e.g. from a saved state); otherwise random, or BEP 42 once our address is known. */
  readonly id?: NodeId;
  /** Nodes to join through (`router.bittorrent.com:6881`, or local nodes). */
  readonly bootstrap?: readonly Endpoint[];
  /** Nodes from a saved routing table, tried first. */
  readonly knownNodes?: readonly Endpoint[];
  /** Queries per second accepted per source address. @default 50 */
  readonly queryRate?: number;
  readonly queryTimeoutMs?: number;
  /** Refuse nodes whose id does not follow BEP 42 for their address. @default false */
  readonly enforceSecureIds?: boolean;
  readonly maxItems?: number;
  /**
   * BEP 43: mark our queries read-only (`ro` = 1), so nodes do not put us in
   * their tables. For short-lived clients (a one-shot `peerkit dht get`):
   * once gone, they would only cost others a query timeout. We then answer
   * no queries either. @default false
   */
  readonly readOnly?: boolean;
}

export interface PeersResult {
  readonly peers: Endpoint[];
  readonly lookup: LookupResult;
  /** Round trips until the first peer arrived (undefined: none found). */
  readonly firstFoundAt?: number;
}

export interface ItemResult<T> {
  readonly item: T | undefined;
  readonly lookup: LookupResult;
  readonly firstFoundAt?: number;
}

export interface PutResult {
  readonly target: NodeId;
  /** Nodes that accepted the write. */
  readonly stored: number;
  readonly lookup: LookupResult;
}

export interface DhtStats {
  readonly id: string;
  readonly nodes: number;
  readonly buckets: number;
  readonly torrents: number;
  readonly peers: number;
  readonly items: number;
  readonly queriesSent: number;
  readonly queriesReceived: number;
  readonly timeouts: number;
  readonly dropped: number;
}

export class DhtNode {
  private ownId: NodeId;
  private table: RoutingTable;
  readonly rpc: Rpc;
  readonly clock: Clock;
  readonly random: Random;
  readonly peers = new PeerStore();
  readonly items: ItemStore;
  private readonly tokens: TokenIssuer;
  private readonly options: DhtNodeOptions;
  /** External address -> the addresses of the nodes that reported it. */
  private readonly votes = new Map<string, Set<string>>();
  private external: string | undefined;
  private maintenance: Timer | undefined;
  private closed = false;

  constructor(options: DhtNodeOptions) {
    this.options = options;
    this.clock = options.clock ?? realClock;
    this.random = options.random ?? systemRandom();
    this.ownId = options.id ?? randomId(this.random);
    const now = this.clock.now();
    this.table = new RoutingTable(this.ownId, now);
    this.tokens = new TokenIssuer(this.random, now);
    this.items = new ItemStore(options.maxItems === undefined ? {} : { maxItems: options.maxItems });
    const rpcOptions: RpcOptions = {
      ...(options.queryRate !== undefined && { queryRate: options.queryRate }),
      ...(options.queryTimeoutMs !== undefined && { timeoutMs: options.queryTimeoutMs }),
    };
    this.rpc = new Rpc(options.socket, this.clock, (msg, from) => this.answer(msg, from), rpcOptions);
    this.scheduleMaintenance();
  }

  get id(): NodeId {
    return this.ownId;
  }

  get local(): Endpoint {
    return this.rpc.local;
  }

  /** Our external IPv4 address, once enough nodes agreed on it. */
  get externalAddress(): string | undefined {
    return this.external;
  }

  get tableSize(): number {
    return this.table.size;
  }

  /** The nodes in the routing table, to save and give back as `knownNodes`. */
  contacts(): Contact[] {
    return this.table.contacts();
  }

  stats(): DhtStats {
    return {
      id: idHex(this.ownId),
      nodes: this.table.size,
      buckets: this.table.bucketCount,
      torrents: this.peers.torrentCount,
      peers: this.peers.peerCount,
      items: this.items.size,
      queriesSent: this.rpc.stats.queriesSent,
      queriesReceived: this.rpc.stats.queriesReceived,
      timeouts: this.rpc.stats.timeouts,
      dropped: this.rpc.stats.dropped,
    };
  }

  /**
   * Join the network: ping the known and bootstrap nodes, then look up our
   * own id, which fills the buckets near us. Resolves to the table size;
   * rejects with DhtError('no-nodes') when nobody answered.
   */
  async bootstrap(extra: readonly Endpoint[] = []): Promise<number> {
    const all = [...(this.options.knownNodes ?? []), ...(this.options.bootstrap ?? []), ...extra];
    // Go on at the first answer (the others still join the table as they answer): one dead router must not cost a timeout.
    const first = await Promise.any(all.map((e) => this.ping(e))).catch(() => undefined);
    if (first === undefined && this.table.size === 0) throw new DhtError('no-nodes', all.length === 0 ? 'no bootstrap nodes given' : `none of the ${all.length} bootstrap nodes answered`);
    await this.findNode(this.ownId);
    // The own-id lookup fills the buckets near us; a lookup in each of the
    // three farthest buckets' ranges fills the ones most lookups start from
    // (7 in 8 random targets share fewer than 3 leading bits with us).
    const far = Math.min(3, this.table.bucketCount - 1);
    await Promise.all(Array.from({ length: far }, (_, i) => this.findNode(randomIdWithPrefix(this.ownId, i, this.random))));
    return this.table.size;
  }

  /** Ping a node; resolves to its contact (id and address). */
  async ping(to: Endpoint): Promise<Contact> {
    const reply = await this.ask(to, undefined, 'ping', {});
    return { id: idArg(reply.r, 'id')!, host: reply.from.host, port: reply.from.port };
  }

  /** An iterative find_node: the K closest nodes to `target`. */
  findNode(target: NodeId): Promise<LookupResult> {
    return this.lookup(target, async (c) => {
      const reply = await this.ask(c, c.id, 'find_node', { id: this.ownId, target });
      return nodesOf(reply.r);
    });
  }

  /** get_peers: the peers announced for `infoHash`, with the tokens of the closest nodes. */
  async getPeers(infoHash: NodeId): Promise<PeersResult & { readonly tokens: Map<string, Uint8Array> }> {
    const found = new Map<string, Endpoint>();
    const tokens = new Map<string, Uint8Array>();
    let firstFoundAt: number | undefined;
    const result = await this.lookup(infoHash, async (c, depth) => {
      const reply = await this.ask(c, c.id, 'get_peers', { id: this.ownId, info_hash: infoHash });
      const token = bytesArg(reply.r, 'token');
      if (token !== undefined) tokens.set(idHex(c.id), token);
      const values = reply.r.get('values');
      if (Array.isArray(values)) {
        for (const v of values.slice(0, 1000)) {
          const peer = v instanceof Uint8Array ? decodeCompactPeer(v) : undefined;
          if (peer === undefined) continue;
          found.set(`${peer.host}:${peer.port}`, peer);
          firstFoundAt ??= depth;
        }
      }
      return nodesOf(reply.r);
    });
    return { peers: [...found.values()], lookup: result, tokens, ...(firstFoundAt !== undefined && { firstFoundAt }) };
  }

  /**
   * Announce that we have `infoHash` on `port` (BEP 5): a get_peers lookup,
   * then announce_peer with each closest node's token. `port` undefined sets
   * implied_port: the nodes take the port our datagrams come from (useful
   * behind NAT, where the DHT port is mapped and the peer port may not be).
   */
  async announce(infoHash: NodeId, port: number | undefined): Promise<PeersResult & { readonly stored: number }> {
    const found = await this.getPeers(infoHash);
    let stored = 0;
    await Promise.all(
      found.lookup.closest.map(async (c) => {
        const token = found.tokens.get(idHex(c.id));
        if (token === undefined) return;
        const a: Args = { id: this.ownId, info_hash: infoHash, port: port ?? this.local.port, token, implied_port: port === undefined ? 1 : undefined };
        try {
          await this.ask(c, c.id, 'announce_peer', a);
          stored++;
        } catch {
          // That node did not store it; the others may have.
        }
      }),
    );
    return { ...found, stored };
  }

  /** BEP 44: store an immutable item; `value` is the bencoded value. */
  async putImmutable(value: Uint8Array): Promise<PutResult> {
    const target = immutableTarget(value);
    this.items.putImmutable(value, this.clock.now());
    const found = await this.getItem(target, () => false);
    return this.putTo(target, found.lookup, found.tokens, { v: raw(value) });
  }

  /** BEP 44: read an immutable item; resolves to the bencoded value, or undefined. */
  async getImmutable(target: NodeId): Promise<ItemResult<Uint8Array>> {
    const local = this.items.get(target, this.clock.now());
    let item: Uint8Array | undefined = local?.kind === 'immutable' ? local.v : undefined;
    let firstFoundAt: number | undefined;
    const found = await this.getItem(target, (r, depth) => {
      const v = r.get('v');
      if (item !== undefined || v === undefined) return false;
      const bytes = encode(v);
      if (!validImmutable(target, bytes)) return false;
      item = bytes;
      firstFoundAt = depth;
      return true;
    });
    return { item, lookup: found.lookup, ...(firstFoundAt !== undefined && { firstFoundAt }) };
  }

  /**
   * BEP 44: store a mutable item signed with `keys`. `seq` defaults to one
   * more than the newest found in the network (or 1); `cas` makes the write
   * conditional on the stored seq.
   */
  async putMutable(keys: Ed25519Keys, value: Uint8Array, options: { readonly salt?: Uint8Array; readonly seq?: number; readonly cas?: number } = {}): Promise<PutResult & { readonly seq: number }> {
    const salt = options.salt !== undefined && options.salt.length > 0 ? options.salt : undefined;
    const target = mutableTarget(keys.publicKey, salt);
    let newest = -1;
    const found = await this.getItem(target, (r) => {
      const it = mutableFrom(r, keys.publicKey, salt);
      if (it !== undefined && validMutable(target, it)) newest = Math.max(newest, it.seq);
      return false;
    });
    const seq = options.seq ?? Math.max(newest + 1, 1);
    const sig = keys.sign(signedPayload(seq, value, salt));
    const item: MutableItem = { v: value, k: keys.publicKey, sig, seq, ...(salt !== undefined && { salt }) };
    try {
      this.items.putMutable(options.cas === undefined ? item : { ...item, cas: options.cas }, this.clock.now());
    } catch (e) {
      if (!(e instanceof ItemError)) throw e;
      // Our own copy is only a cache; the network decides.
    }
    const a: Args = { v: raw(value), k: keys.publicKey, sig, seq, salt, cas: options.cas };
    return { ...(await this.putTo(target, found.lookup, found.tokens, a)), seq };
  }

  /** BEP 44: read the newest mutable item of `publicKey` (and `salt`). */
  async getMutable(publicKey: Uint8Array, salt?: Uint8Array): Promise<ItemResult<MutableItem>> {
    const s = salt !== undefined && salt.length > 0 ? salt : undefined;
    const target = mutableTarget(publicKey, s);
    const local = this.items.get(target, this.clock.now());
    let best: MutableItem | undefined = local?.kind === 'mutable' ? local : undefined;
    let firstFoundAt: number | undefined;
    const found = await this.getItem(target, (r, depth) => {
      const it = mutableFrom(r, publicKey, s);
      if (it === undefined || !validMutable(target, it)) return false;
      firstFoundAt ??= depth;
      if (best === undefined || it.seq > best.seq) best = it;
      return true;
    });
    return { item: best, lookup: found.lookup, ...(firstFoundAt !== undefined && { firstFoundAt }) };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.maintenance?.cancel();
    this.rpc.close();
  }

  // --- lookups ---

  private lookup(target: NodeId, query: (c: Contact, depth: number) => Promise<readonly Contact[]>): Promise<LookupResult> {
    const start = this.table.closest(target, K * 2, this.clock.now());
    // Other nodes list us too: asking ourselves would put us among the results and waste a slot of announce and put.
    const others = async (c: Contact, depth: number): Promise<readonly Contact[]> => (await query(c, depth)).filter((n) => !sameId(n.id, this.ownId));
    return lookup({ target, start, clock: this.clock, query: others });
  }

  /** A BEP 44 `get` lookup; `seen` looks at each reply. */
  private async getItem(target: NodeId, seen: (r: BDict, depth: number) => boolean): Promise<{ lookup: LookupResult; tokens: Map<string, Uint8Array> }> {
    const tokens = new Map<string, Uint8Array>();
    const result = await this.lookup(target, async (c, depth) => {
      const reply = await this.ask(c, c.id, 'get', { id: this.ownId, target });
      const token = bytesArg(reply.r, 'token');
      if (token !== undefined) tokens.set(idHex(c.id), token);
      seen(reply.r, depth);
      return nodesOf(reply.r);
    });
    return { lookup: result, tokens };
  }

  private async putTo(target: NodeId, found: LookupResult, tokens: Map<string, Uint8Array>, fields: Args): Promise<PutResult> {
    let stored = 0;
    await Promise.all(
      found.closest.map(async (c) => {
        const token = tokens.get(idHex(c.id));
        if (token === undefined) return;
        try {
          await this.ask(c, c.id, 'put', { id: this.ownId, token, ...fields });
          stored++;
        } catch {
          // Refused (a newer seq, a full store) or no answer: the others count.
        }
      }),
    );
    return { target, stored, lookup: found };
  }

  /** Send a query and feed what happens to the routing table. */
  private async ask(to: Endpoint, expected: NodeId | undefined, q: string, a: Args): Promise<Reply> {
    let reply: Reply;
    try {
      reply = await this.rpc.query(to, q, q === 'ping' ? { id: this.ownId } : a, this.options.readOnly === true);
    } catch (e) {
      if (expected !== undefined && e instanceof DhtError && e.code === 'timeout') this.table.failed(expected, this.clock.now());
      throw e;
    }
    const id = idArg(reply.r, 'id');
    if (id === undefined || (expected !== undefined && !sameId(id, expected))) {
      if (expected !== undefined) this.table.remove(expected);
      throw new DhtError('bad-message', `${to.host}:${to.port} answered without a valid id`);
    }
    if (reply.ip !== undefined) this.vote(reply.ip.host, reply.from.host);
    this.consider({ id, host: reply.from.host, port: reply.from.port }, true);
    return reply;
  }

  /** Offer a node to the routing table; ping the one it asks us to check. */
  private consider(c: Contact, responded: boolean): void {
    if (this.options.enforceSecureIds === true && !isSecureId(c.id, c.host)) return;
    const check = this.table.heard(c, this.clock.now(), responded);
    if (check !== undefined) void this.ask(check, check.id, 'ping', {}).catch(() => undefined);
  }

  // --- answering ---

  private answer(msg: QueryMessage, from: Endpoint): void {
    if (this.options.readOnly === true) return;
    const id = idArg(msg.a, 'id');
    if (id === undefined) return this.rpc.error(from, msg.t, KrpcErrorCode.Protocol, 'missing or malformed id');
    if (!msg.ro) {
      const known = this.table.has(id);
      const contact = { id, host: from.host, port: from.port };
      this.consider(contact, false);
      // A node new to the table is confirmed with a ping before we hand it out (see closestNodes).
      if (!known && this.table.has(id)) void this.ask(contact, id, 'ping', {}).catch(() => undefined);
    }
    const now = this.clock.now();
    const a = msg.a;
    switch (msg.q) {
      case 'ping':
        return this.rpc.respond(from, msg.t, { id: this.ownId });
      case 'find_node': {
        const target = idArg(a, 'target');
        if (target === undefined) return this.rpc.error(from, msg.t, KrpcErrorCode.Protocol, 'missing or malformed target');
        return this.rpc.respond(from, msg.t, { id: this.ownId, nodes: this.closestNodes(target) });
      }
      case 'get_peers': {
        const infoHash = idArg(a, 'info_hash');
        if (infoHash === undefined) return this.rpc.error(from, msg.t, KrpcErrorCode.Protocol, 'missing or malformed info_hash');
        const values = this.peers.get(infoHash, now, this.random);
        return this.rpc.respond(from, msg.t, {
          id: this.ownId,
          token: this.tokens.issue(from.host, now),
          nodes: this.closestNodes(infoHash),
          values: values.length > 0 ? values : undefined,
        });
      }
      case 'announce_peer': {
        const infoHash = idArg(a, 'info_hash');
        const token = bytesArg(a, 'token');
        const implied = (intArg(a, 'implied_port') ?? 0) !== 0;
        const port = implied ? from.port : intArg(a, 'port');
        if (infoHash === undefined || token === undefined || port === undefined || port < 1 || port > 0xffff) {
          return this.rpc.error(from, msg.t, KrpcErrorCode.Protocol, 'announce_peer needs info_hash, port and token');
        }
        if (!this.tokens.valid(token, from.host, now)) return this.rpc.error(from, msg.t, KrpcErrorCode.Protocol, 'bad token');
        this.peers.add(infoHash, { host: from.host, port }, now);
        return this.rpc.respond(from, msg.t, { id: this.ownId });
      }
      case 'get':
        return this.answerGet(msg, from, now);
      case 'put':
        return this.answerPut(msg, from, now);
      default:
        return this.rpc.error(from, msg.t, KrpcErrorCode.MethodUnknown, `method unknown: ${msg.q.slice(0, 32)}`);
    }
  }

  private answerGet(msg: QueryMessage, from: Endpoint, now: number): void {
    const target = idArg(msg.a, 'target');
    if (target === undefined) return this.rpc.error(from, msg.t, KrpcErrorCode.Protocol, 'missing or malformed target');
    const r: { [key: string]: Args[string] } = { id: this.ownId, token: this.tokens.issue(from.host, now), nodes: this.closestNodes(target) };
    const item = this.items.get(target, now);
    if (item?.kind === 'immutable') r.v = raw(item.v);
    if (item?.kind === 'mutable') {
      r.k = item.k;
      r.seq = item.seq;
      // BEP 44: a reader that already has this seq (or newer) does not need the value again.
      const have = intArg(msg.a, 'seq');
      if (have === undefined || have < item.seq) {
        r.v = raw(item.v);
        r.sig = item.sig;
      }
    }
    this.rpc.respond(from, msg.t, r);
  }

  private answerPut(msg: QueryMessage, from: Endpoint, now: number): void {
    const a = msg.a;
    const token = bytesArg(a, 'token');
    const v = a.get('v');
    if (token === undefined || v === undefined) return this.rpc.error(from, msg.t, KrpcErrorCode.Protocol, 'put needs token and v');
    if (!this.tokens.valid(token, from.host, now)) return this.rpc.error(from, msg.t, KrpcErrorCode.Protocol, 'bad token');
    try {
      const value = encode(v);
      const k = bytesArg(a, 'k');
      if (k === undefined) {
        this.items.putImmutable(value, now);
      } else {
        const sig = bytesArg(a, 'sig');
        const seq = intArg(a, 'seq');
        const salt = bytesArg(a, 'salt');
        const cas = intArg(a, 'cas');
        if (sig === undefined || seq === undefined) return this.rpc.error(from, msg.t, KrpcErrorCode.Protocol, 'a mutable put needs k, sig and seq');
        this.items.putMutable({ v: value, k, sig, seq, ...(salt !== undefined && salt.length > 0 && { salt }), ...(cas !== undefined && { cas }) }, now);
      }
    } catch (e) {
      if (e instanceof ItemError) return this.rpc.error(from, msg.t, e.code, e.message);
      throw e;
    }
    this.rpc.respond(from, msg.t, { id: this.ownId });
  }

  private closestNodes(target: NodeId): Uint8Array {
    // BEP 5 hands out good nodes only: one that merely sent us a query may not exist at that address.
    return encodeCompactNodes(this.table.closest(target, K, this.clock.now(), true));
  }

  // --- upkeep ---

  /**
   * BEP 42: count what the nodes we ask see as our address; once it is clear and our id does not fit it, take one that does.
   * A vote counts once per reporting address: "a single node can not be trusted", and one node answering five queries is one voice.
   */
  private vote(host: string, voter: string): void {
    if (isExemptAddress(host) || host === this.external) return;
    let voters = this.votes.get(host);
    if (voters === undefined) {
      if (this.votes.size >= 64) this.votes.clear(); // too many stories: start the count over
      voters = new Set();
      this.votes.set(host, voters);
    }
    voters.add(voter);
    if (voters.size < EXTERNAL_VOTES) return;
    this.external = host;
    this.votes.clear();
    if (this.options.id !== undefined || isSecureId(this.ownId, host)) return;
    this.ownId = secureId(host, this.random);
    const old = this.table.contacts();
    this.table = new RoutingTable(this.ownId, this.clock.now());
    for (const c of old) this.table.heard(c, this.clock.now(), true);
  }

  private scheduleMaintenance(): void {
    this.maintenance = this.clock.setTimer(MAINTENANCE_MS, () => {
      if (this.closed) return;
      const now = this.clock.now();
      this.peers.expire(now);
      this.items.expire(now);
      for (const c of this.table.questionable(now, 3)) void this.ask(c, c.id, 'ping', {}).catch(() => undefined);
      for (const depth of this.table.staleBuckets(now)) void this.findNode(randomIdWithPrefix(this.ownId, depth, this.random)).catch(() => undefined);
      this.scheduleMaintenance();
    });
  }
}

function nodesOf(r: BDict): Contact[] {
  const nodes = bytesArg(r, 'nodes');
  return nodes === undefined ? [] : decodeCompactNodes(nodes).slice(0, K * 2);
}

function mutableFrom(r: BDict, publicKey: Uint8Array, salt: Uint8Array | undefined): MutableItem | undefined {
  const v = r.get('v');
  const sig = bytesArg(r, 'sig');
  const seq = intArg(r, 'seq');
  if (v === undefined || sig === undefined || seq === undefined) return undefined;
  return { v: encode(v), k: publicKey, sig, seq, ...(salt !== undefined && { salt }) };
}

/** A stored bencoded value, to embed in a message (it was encoded canonically, so it encodes back to the same bytes). */
function raw(bencoded: Uint8Array): BValue {
  return decode(bencoded);
}
