/**
 * The bencode data model (BEP 3).
 *
 * - integers decode to `number` when they fit in a safe integer, otherwise to
 *   `bigint` (BEP 3 puts no bound on them);
 * - byte strings decode to `Uint8Array` (they are bytes, not text: use
 *   `text()` from `./text.js` where the protocol says UTF-8);
 * - dictionaries decode to a `Map` whose keys are *binary strings*: one
 *   JavaScript char per byte (latin1). That mapping is lossless, and plain
 *   string comparison of binary strings is exactly the byte-wise order BEP 3
 *   requires for keys. For the ASCII keys every BitTorrent dict uses
 *   (`info`, `piece length`, ...) the binary string is the key itself.
 */
export type BValue = number | bigint | Uint8Array | BValue[] | BDict;
export type BDict = Map<string, BValue>;

/**
 * What `encode` accepts: the decoded model, plus JavaScript strings (written
 * as UTF-8 byte strings), booleans are not accepted (bencode has none), and
 * plain objects as dictionaries (keys are binary strings, as in `BDict`).
 */
export type BEncodable =
  | number
  | bigint
  | string
  | Uint8Array
  | readonly BEncodable[]
  | ReadonlyMap<string, BEncodable>
  | { readonly [key: string]: BEncodable | undefined };

/** A half-open byte range `[start, end)` in the decoded input. */
export interface Span {
  readonly start: number;
  readonly end: number;
}
