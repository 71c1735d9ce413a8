import { createHash } from 'node:crypto';
import { BencodeError, decode } from '../bencode/index.js';
import { PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, verifySignature, type Ed25519Keys } from './keys.js';

/*
 * Storing arbitrary data in the DHT (BEP 44): the items a node stores for
 * others, and the checks on items it puts or gets. Pure code: the node
 * decodes the KRPC message, calls in here, and answers with the returned
 * target or the ItemError's code. The clock is passed in (`now`, ms).
 *
 * Immutable item: stored under the SHA-1 of its bencoded value.
 *
 *   put  a: { id, token, v }                    target = SHA-1(v)
 *
 * Mutable item: stored under the SHA-1 of an ed25519 public key and an
 * optional salt, signed by the key's holder, replaced only by a higher seq.
 *
 *   put  a: { cas?, id, k<32>, salt?, seq, sig<64>, token, v }
 *        target = SHA-1(k + salt)
 *
 * What is signed is not a bencoded dictionary but this concatenation (BEP 44,
 * "Signature Verification"), so a lenient or buggy bencode parser cannot be
 * talked into a different split between the length and the seq:
 *
 *   [4:salt<len>:<salt>]3:seqi<seq>e1:v<v, verbatim>
 *   4:salt6:foobar3:seqi1e1:v12:Hello World!
 *
 * `v` is always the verbatim bencoded bytes as they appeared in the message:
 * decoding and re-encoding is not an identity (unsorted keys), and the hash
 * and signature are over what the publisher sent.
 *
 * An empty salt is the same as no salt (BEP 44): same target, same signed
 * bytes. Items here never carry an empty salt.
 */

/** Largest bencoded `v` accepted (BEP 44: storing nodes MAY reject more than 1000 bytes). */
export const MAX_ITEM_VALUE_LENGTH = 1000;
/** Longest salt (BEP 44: MUST NOT be longer than 64 bytes). */
export const MAX_SALT_LENGTH = 64;

/** How many items an ItemStore holds by default. */
export const DEFAULT_MAX_ITEMS = 1000;
/** How long an item lives without a refresh (BEP 44: items MAY expire after 2 hours). */
export const DEFAULT_ITEM_LIFETIME_MS = 2 * 60 * 60 * 1000;

/**
 * A put refused, with the KRPC error code to answer (BEP 5 `e` list):
 *
 * - 203 protocol error: a malformed argument (k not 32 bytes, sig not 64,
 *   seq or cas not a non-negative safe integer, v not one bencoded value)
 * - 205 `v` too big (over MAX_ITEM_VALUE_LENGTH bencoded bytes)
 * - 206 invalid signature
 * - 207 salt too big (over MAX_SALT_LENGTH bytes)
 * - 301 CAS mismatch: `cas` is not the stored seq; re-read and try again
 * - 302 seq less than (or, with a different value, equal to) the stored one
 */
export type ItemErrorCode = 203 | 205 | 206 | 207 | 301 | 302;

export class ItemError extends Error {
  override readonly name = 'ItemError';
  readonly code: ItemErrorCode;

  constructor(code: ItemErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

// ---------------------------------------------------------------------------
// Targets and signed bytes

/** The target of an immutable item: SHA-1 of its bencoded value. */
export function immutableTarget(v: Uint8Array): Uint8Array {
  return sha1(v);
}

/** The target of a mutable item: SHA-1(public key + salt). No salt and an empty salt are the same. */
export function mutableTarget(publicKey: Uint8Array, salt?: Uint8Array): Uint8Array {
  const h = createHash('sha1').update(publicKey);
  if (salt !== undefined) h.update(salt);
  return new Uint8Array(h.digest());
}

/**
 * The bytes a mutable item's signature covers:
 * `[4:salt<len>:<salt>]3:seqi<seq>e1:v<v>`, the salt part only for a
 * non-empty salt. `v` is the bencoded value, copied verbatim. Throws
 * RangeError unless `seq` is a non-negative safe integer.
 */
export function signedPayload(seq: number, v: Uint8Array, salt?: Uint8Array): Uint8Array {
  if (!isSeq(seq)) throw new RangeError(`seq ${seq} is not a non-negative safe integer`);
  const head = salt !== undefined && salt.length > 0 ? concat(ascii(`4:salt${salt.length}:`), salt) : new Uint8Array(0);
  return concat(head, ascii(`3:seqi${seq}e1:v`), v);
}

// ---------------------------------------------------------------------------
// Items

export interface ImmutableItem {
  /** The bencoded value, verbatim. */
  readonly v: Uint8Array;
}

export interface MutableItem {
  /** The bencoded value, verbatim. */
  readonly v: Uint8Array;
  /** The ed25519 public key, 32 bytes. */
  readonly k: Uint8Array;
  /** The ed25519 signature of signedPayload(seq, v, salt), 64 bytes. */
  readonly sig: Uint8Array;
  /** Sequence number: a non-negative safe integer (BEP 44 allows up to 2^63-1; we stop at 2^53-1). */
  readonly seq: number;
  /** Up to 64 bytes; absent and empty mean the same. */
  readonly salt?: Uint8Array | undefined;
}

export type StoredItem = (ImmutableItem & { readonly kind: 'immutable' }) | (MutableItem & { readonly kind: 'mutable' });

/** A mutable put: the item, and the `cas` (the seq the writer expects to replace), if it sent one. */
export type MutablePut = MutableItem & { readonly cas?: number | undefined };

export interface ItemStoreOptions {
  /** Most items held; when full, storing a new item evicts the least recently stored or refreshed one. @default 1000 */
  readonly maxItems?: number;
  /** An item not stored again within this many ms is dropped. @default 2 hours (BEP 44) */
  readonly lifetimeMs?: number;
}

interface Entry {
  readonly item: StoredItem;
  /** When the item was last stored or refreshed, ms. */
  readonly storedAt: number;
}

/**
 * The items this node stores for others (BEP 44), keyed by target.
 *
 * Memory is bounded: at most `maxItems` items, each at most 1000 bytes of
 * value plus 32 + 64 + 64 bytes of key, signature and salt, all copied (never
 * views into a caller's buffer, which could be a whole UDP datagram).
 *
 * When full, a new target evicts the item least recently stored or
 * refreshed, rather than being refused. Refusing would let whoever fills the
 * store first keep it, with a cheap put an hour, while honest publishers are
 * turned away; with eviction an attacker has to out-put every honest
 * republisher continuously, and the store keeps what is still being
 * published. (libtorrent evicts too, by fewest distinct announcers; LRU is the
 * simple, deterministic version.) A put to a target already stored never
 * evicts anything.
 *
 * The entries live in a Map whose insertion order is the eviction order: a
 * store or refresh deletes and re-inserts, so the first entry is the oldest.
 */
export class ItemStore {
  readonly #maxItems: number;
  readonly #lifetimeMs: number;
  /** Hex target -> entry; oldest store/refresh first. */
  readonly #entries = new Map<string, Entry>();

  constructor(options: ItemStoreOptions = {}) {
    const maxItems = options.maxItems ?? DEFAULT_MAX_ITEMS;
    const lifetimeMs = options.lifetimeMs ?? DEFAULT_ITEM_LIFETIME_MS;
    if (!Number.isSafeInteger(maxItems) || maxItems < 1) throw new RangeError(`maxItems ${maxItems} is not a positive integer`);
    if (!(lifetimeMs > 0) || !Number.isFinite(lifetimeMs)) throw new RangeError(`lifetimeMs ${lifetimeMs} is not a positive number`);
    this.#maxItems = maxItems;
    this.#lifetimeMs = lifetimeMs;
  }

  /** How many items are held (expired ones count until `expire` or `get` drops them). */
  get size(): number {
    return this.#entries.size;
  }

  /** The item stored under `target`, unless there is none or it has expired by `now`. */
  get(target: Uint8Array, now: number): StoredItem | undefined {
    const key = hex(target);
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#expired(entry, now)) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.item;
  }

  /**
   * Store an immutable item (a refresh if it is already stored). Returns its
   * target. Throws ItemError 205 for a value over MAX_ITEM_VALUE_LENGTH,
   * 203 when `v` is not exactly one bencoded value.
   */
  putImmutable(v: Uint8Array, now: number): Uint8Array {
    checkValue(v);
    const target = immutableTarget(v);
    const key = hex(target);
    const current = this.#live(key, now);
    // A stored immutable item under this target has this very value (or SHA-1 is broken): refresh it.
    this.#set(key, current?.kind === 'immutable' ? current : { kind: 'immutable', v: v.slice() }, now);
    return target;
  }

  /**
   * Store a mutable item, or refresh it. Returns its target. Checks, in this
   * order, each failure an ItemError with the code to answer:
   *
   * 1. 203 k is not 32 bytes, sig not 64, seq or cas not a non-negative safe integer, v not bencode
   * 2. 205 v is over MAX_ITEM_VALUE_LENGTH bytes; 207 salt over MAX_SALT_LENGTH
   * 3. 206 sig does not verify (before anything stored is looked at, so an
   *    unsigned put learns nothing and changes nothing)
   * 4. 301 `cas` is given, an item is stored, and its seq is not `cas`
   *    (BEP 44: with nothing stored, `cas` is ignored)
   * 5. 302 seq is lower than the stored seq, or equal with a different
   *    value (BEP 44: seq lower or equal MUST be rejected; an equal seq with
   *    the same value SHOULD just reset the timeout, which is what happens)
   */
  putMutable(item: MutablePut, now: number): Uint8Array {
    const { k, sig, seq, v, cas } = item;
    const salt = item.salt !== undefined && item.salt.length > 0 ? item.salt : undefined;
    if (k.length !== PUBLIC_KEY_LENGTH) throw new ItemError(203, `k is ${k.length} bytes, an ed25519 public key is ${PUBLIC_KEY_LENGTH}`);
    if (sig.length !== SIGNATURE_LENGTH) throw new ItemError(203, `sig is ${sig.length} bytes, an ed25519 signature is ${SIGNATURE_LENGTH}`);
    if (!isSeq(seq)) throw new ItemError(203, `seq ${seq} is not a non-negative safe integer`);
    if (cas !== undefined && !isSeq(cas)) throw new ItemError(203, `cas ${cas} is not a non-negative safe integer`);
    checkValue(v);
    if (salt !== undefined && salt.length > MAX_SALT_LENGTH) throw new ItemError(207, `salt of ${salt.length} bytes, the limit is ${MAX_SALT_LENGTH}`);
    if (!verifySignature(k, signedPayload(seq, v, salt), sig)) throw new ItemError(206, 'invalid signature');

    const target = mutableTarget(k, salt);
    const key = hex(target);
    const current = this.#live(key, now);
    if (current !== undefined && current.kind === 'mutable') {
      if (cas !== undefined && cas !== current.seq) throw new ItemError(301, `CAS mismatch: cas ${cas}, stored seq ${current.seq}; re-read and try again`);
      if (seq < current.seq) throw new ItemError(302, `sequence number ${seq} less than current ${current.seq}`);
      if (seq === current.seq) {
        if (!equalBytes(v, current.v)) throw new ItemError(302, `sequence number ${seq} equal to current with a different value`);
        this.#set(key, current, now);
        return target;
      }
    }
    const stored: StoredItem = salt === undefined
      ? { kind: 'mutable', v: v.slice(), k: k.slice(), sig: sig.slice(), seq }
      : { kind: 'mutable', v: v.slice(), k: k.slice(), sig: sig.slice(), seq, salt: salt.slice() };
    this.#set(key, stored, now);
    return target;
  }

  /** Drop the items not stored or refreshed within the lifetime before `now`; returns how many. */
  expire(now: number): number {
    let dropped = 0;
    // Scans everything rather than stopping at the first live entry, so a
    // clock that stepped backwards cannot hide expired items behind a live one.
    for (const [key, entry] of this.#entries) {
      if (this.#expired(entry, now)) {
        this.#entries.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  /** The live items, for a status display (read-only): target, kind, seq of a mutable item, value size. */
  list(now: number): { target: string; kind: 'immutable' | 'mutable'; seq: number | null; bytes: number }[] {
    const out: { target: string; kind: 'immutable' | 'mutable'; seq: number | null; bytes: number }[] = [];
    for (const [target, entry] of this.#entries) {
      if (this.#expired(entry, now)) continue;
      const { item } = entry;
      out.push({ target, kind: item.kind, seq: item.kind === 'mutable' ? item.seq : null, bytes: item.v.length });
    }
    return out;
  }

  #expired(entry: Entry, now: number): boolean {
    return now - entry.storedAt >= this.#lifetimeMs;
  }

  /** The unexpired item under `key`, dropping an expired one. */
  #live(key: string, now: number): StoredItem | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#expired(entry, now)) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.item;
  }

  #set(key: string, item: StoredItem, now: number): void {
    // Delete first so the entry moves to the end: the Map order is the eviction order.
    if (!this.#entries.delete(key)) {
      while (this.#entries.size >= this.#maxItems) {
        const oldest = this.#entries.keys().next();
        if (oldest.done === true) break;
        this.#entries.delete(oldest.value);
      }
    }
    this.#entries.set(key, { item, storedAt: now });
  }
}

/**
 * Sign `v` (bencoded) as mutable item `seq` of `keys`, under `salt`: what
 * `peerkit dht put` sends. Throws the ItemError a storing node would answer
 * (203, 205, 207) rather than publish an item every node refuses.
 */
export function signMutable(keys: Ed25519Keys, v: Uint8Array, seq: number, salt?: Uint8Array): MutableItem {
  if (!isSeq(seq)) throw new ItemError(203, `seq ${seq} is not a non-negative safe integer`);
  checkValue(v);
  if (salt !== undefined && salt.length > MAX_SALT_LENGTH) throw new ItemError(207, `salt of ${salt.length} bytes, the limit is ${MAX_SALT_LENGTH}`);
  const sig = keys.sign(signedPayload(seq, v, salt));
  const item = { v: v.slice(), k: keys.publicKey.slice(), sig, seq };
  return salt !== undefined && salt.length > 0 ? { ...item, salt: salt.slice() } : item;
}

// ---------------------------------------------------------------------------
// Checking what a get returned

/**
 * Whether an immutable item from a get response may be handed to the user:
 * `v` hashes to the target looked up, and is within MAX_ITEM_VALUE_LENGTH.
 */
export function validImmutable(target: Uint8Array, v: Uint8Array): boolean {
  return v.length <= MAX_ITEM_VALUE_LENGTH && equalBytes(immutableTarget(v), target);
}

/**
 * Whether a mutable item from a get response may be handed to the user:
 * field sizes are right, `k` and `salt` (the salt the caller looked up; get
 * responses do not carry it) hash to the target, and the signature verifies.
 */
export function validMutable(target: Uint8Array, item: MutableItem): boolean {
  const salt = item.salt !== undefined && item.salt.length > 0 ? item.salt : undefined;
  if (item.k.length !== PUBLIC_KEY_LENGTH || item.sig.length !== SIGNATURE_LENGTH) return false;
  if (!isSeq(item.seq) || item.v.length > MAX_ITEM_VALUE_LENGTH) return false;
  if (salt !== undefined && salt.length > MAX_SALT_LENGTH) return false;
  if (!equalBytes(mutableTarget(item.k, salt), target)) return false;
  return verifySignature(item.k, signedPayload(item.seq, item.v, salt), item.sig);
}

// ---------------------------------------------------------------------------
// Helpers

/**
 * 205 over the size limit; 203 unless `v` is exactly one bencoded value. A
 * stored `v` is spliced verbatim into get responses, so a malformed one would
 * corrupt every response carrying it. Dictionary key order is not checked:
 * other clients' values are kept as they sent them.
 */
function checkValue(v: Uint8Array): void {
  if (v.length > MAX_ITEM_VALUE_LENGTH) throw new ItemError(205, `v of ${v.length} bytes, the limit is ${MAX_ITEM_VALUE_LENGTH}`);
  try {
    decode(v, { strict: false });
  } catch (e) {
    if (e instanceof BencodeError) throw new ItemError(203, `v is not one bencoded value: ${e.message}`);
    throw e;
  }
}

function isSeq(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function sha1(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(bytes).digest());
}

function ascii(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}
