import { BencodeError } from './errors.js';
import type { BEncodable } from './types.js';

/*
 * Bencode encoder (BEP 3). The output is always canonical: dictionary keys
 * sorted byte-wise, integers in shortest form. Dictionary keys are binary
 * strings (one char per byte, see types.ts); `undefined` values in plain
 * objects are left out, so optional fields can be written inline.
 */

const encoder = new TextEncoder();

export function encode(value: BEncodable): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  const push = (bytes: Uint8Array): void => {
    parts.push(bytes);
    size += bytes.length;
  };
  const ascii = (s: string): void => push(binaryToBytes(s));

  const write = (v: BEncodable, depth: number): void => {
    if (depth > 1024) throw new BencodeError('unencodable', 'value nested deeper than 1024', -1);
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new BencodeError('unencodable', `${v} is not a safe integer`, -1);
      ascii(`i${v === 0 ? 0 : v}e`); // `v === 0` folds -0 into 0
    } else if (typeof v === 'bigint') {
      ascii(`i${v.toString()}e`);
    } else if (typeof v === 'string') {
      const bytes = encoder.encode(v);
      ascii(`${bytes.length}:`);
      push(bytes);
    } else if (v instanceof Uint8Array) {
      ascii(`${v.length}:`);
      push(v);
    } else if (Array.isArray(v)) {
      ascii('l');
      for (const item of v as readonly BEncodable[]) write(item, depth + 1);
      ascii('e');
    } else if (v instanceof Map) {
      writeDict([...(v as ReadonlyMap<string, BEncodable>).entries()], depth);
    } else if (typeof v === 'object' && v !== null) {
      const entries: [string, BEncodable][] = [];
      for (const [k, item] of Object.entries(v as { readonly [key: string]: BEncodable | undefined })) {
        if (item !== undefined) entries.push([k, item]);
      }
      writeDict(entries, depth);
    } else {
      throw new BencodeError('unencodable', `cannot bencode a value of type ${typeof v}`, -1);
    }
  };

  const writeDict = (entries: [string, BEncodable][], depth: number): void => {
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    ascii('d');
    for (const [k, item] of entries) {
      const key = binaryToBytes(k);
      ascii(`${key.length}:`);
      push(key);
      write(item, depth + 1);
    }
    ascii('e');
  };

  write(value, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function binaryToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new BencodeError('unencodable', `dictionary key ${JSON.stringify(s)} is not a binary string`, -1);
    out[i] = c;
  }
  return out;
}
