/*
 * Text helpers. Bencode byte strings are bytes; these convert where a
 * protocol says a field is text (UTF-8 in BitTorrent), and between bytes and
 * the binary strings used as dictionary keys.
 */

// ignoreBOM keeps a leading U+FEFF: stripping it would make "\uFEFFa" and "a" the same name.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const utf8Fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** UTF-8 bytes to text; invalid sequences become U+FFFD. */
export function text(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** UTF-8 bytes to text, or `undefined` when the bytes are not valid UTF-8. */
export function textOrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return utf8Fatal.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Bytes that are supposed to be UTF-8 (names in a .torrent) to text without
 * losing information: valid UTF-8 as is; anything else byte for byte as
 * latin1, so two different legacy-encoded names stay two different names.
 */
export function textLossless(bytes: Uint8Array): string {
  return textOrUndefined(bytes) ?? binary(bytes);
}

/** Text to UTF-8 bytes. */
export function utf8Bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Bytes to a binary string (one char per byte), the form of dictionary keys. */
export function binary(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return s;
}

/** A binary string back to bytes. */
export function fromBinary(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}
