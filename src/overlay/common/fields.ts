import { textOrUndefined, type BDict, type BValue } from '../../bencode/index.js';
import type { Endpoint } from '../../net/index.js';
import { OverlayError } from './errors.js';

/*
 * Typed reads of a decoded message dictionary. Each throws
 * OverlayError('bad-message') naming the message and the field, so a codec
 * is a list of field reads and a peer that sends garbage gets a clear reason
 * in the log before it is dropped.
 */

export class Fields {
  constructor(
    private readonly dict: BDict,
    /** The message name, for error messages. */
    readonly type: string,
  ) {}

  private get(key: string): BValue {
    const v = this.dict.get(key);
    if (v === undefined) throw this.bad(`has no "${key}"`);
    return v;
  }

  bad(what: string): OverlayError {
    return new OverlayError('bad-message', `${this.type} message ${what}`);
  }

  has(key: string): boolean {
    return this.dict.has(key);
  }

  /** An integer in [min, max]. */
  int(key: string, min: number, max: number): number {
    const v = this.get(key);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw this.bad(`has "${key}" that is not an integer from ${min} to ${max}`);
    return v;
  }

  /** A byte string of exactly `length` bytes (or any length up to `max` when length is undefined). */
  bytes(key: string, length: number | undefined, max = length ?? 0): Uint8Array {
    const v = this.get(key);
    if (!(v instanceof Uint8Array)) throw this.bad(`has "${key}" that is not a byte string`);
    if (length !== undefined ? v.length !== length : v.length > max) throw this.bad(`has "${key}" of ${v.length} bytes (expected ${length ?? `at most ${max}`})`);
    return v;
  }

  /** UTF-8 text of at most `maxBytes` bytes. */
  text(key: string, maxBytes: number): string {
    const s = textOrUndefined(this.bytes(key, undefined, maxBytes));
    if (s === undefined) throw this.bad(`has "${key}" that is not UTF-8`);
    return s;
  }

  /** A list of at most `max` items, each read by `item`. */
  list<T>(key: string, max: number, item: (v: BValue, index: number) => T): T[] {
    const v = this.get(key);
    if (!Array.isArray(v)) throw this.bad(`has "${key}" that is not a list`);
    if (v.length > max) throw this.bad(`has "${key}" with ${v.length} items (at most ${max})`);
    return v.map(item);
  }

  /** A nested dictionary, read with the same checks. */
  dictAt(v: BValue, what: string): Fields {
    if (!(v instanceof Map)) throw this.bad(`has ${what} that is not a dictionary`);
    return new Fields(v, this.type);
  }

  /** An IPv4 address and port as 6 bytes (compact form, as in BEP 23). */
  endpoint(key: string): Endpoint {
    const b = this.bytes(key, 6);
    const port = (b[4]! << 8) | b[5]!;
    if (port === 0) throw this.bad(`has "${key}" with port 0`);
    return { host: `${b[0]}.${b[1]}.${b[2]}.${b[3]}`, port };
  }
}

/** An IPv4 endpoint in the 6-byte compact form. Throws on a host that is not dotted IPv4. */
export function compactEndpoint(e: Endpoint): Uint8Array {
  const parts = e.host.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255) || !Number.isInteger(e.port) || e.port < 1 || e.port > 65535) {
    throw new OverlayError('bad-message', `${e.host}:${e.port} is not an IPv4 address and port`);
  }
  return Uint8Array.of(...parts, e.port >> 8, e.port & 0xff);
}
