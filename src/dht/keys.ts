import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';

/*
 * ed25519 keys for BEP 44 mutable items, through node:crypto only, and the
 * key files of `peerkit dht put --key <file>`.
 */

/** ed25519 public key length. */
export const PUBLIC_KEY_LENGTH = 32;
/** ed25519 signature length. */
export const SIGNATURE_LENGTH = 64;
/** ed25519 seed (RFC 8032 "private key") length. */
export const SEED_LENGTH = 32;

// ---------------------------------------------------------------------------
// ed25519 through node:crypto

/** An ed25519 key pair. `seed` is the 32-byte RFC 8032 private key; keep it secret. */
export interface Ed25519Keys {
  readonly publicKey: Uint8Array;
  readonly seed: Uint8Array;
  /** The 64-byte ed25519 signature of `message` (deterministic, RFC 8032). */
  sign(message: Uint8Array): Uint8Array;
}

/*
 * node:crypto imports raw ed25519 keys only wrapped in DER. The wrappers are
 * fixed byte strings (RFC 8410), so the raw key is simply appended:
 *
 *   PKCS#8 private: 30 2e 02 01 00 30 05 06 03 2b 65 70 04 22 04 20 <seed:32>
 *   SPKI public:    30 2a 30 05 06 03 2b 65 70 03 21 00 <public key:32>
 */
const PKCS8_ED25519_PREFIX = hexBytes('302e020100300506032b657004220420');
const SPKI_ED25519_PREFIX = hexBytes('302a300506032b6570032100');

/** The key pair of a 32-byte seed. Throws RangeError for any other length. */
export function keysFromSeed(seed: Uint8Array): Ed25519Keys {
  if (seed.length !== SEED_LENGTH) throw new RangeError(`an ed25519 seed is ${SEED_LENGTH} bytes, got ${seed.length}`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  return keysFromPrivateKey(privateKey, seed.slice());
}

/**
 * A fresh key pair from the operating system's CSPRNG. (Not an injected
 * random source on purpose: a signing key from a seeded generator would be
 * guessable. Tests use keysFromSeed.)
 */
export function generateKeys(): Ed25519Keys {
  return keysFromSeed(new Uint8Array(randomBytes(SEED_LENGTH)));
}

/**
 * Whether `signature` is `publicKey`'s ed25519 signature of `message`. False,
 * never an exception, for a key or signature of the wrong length or one
 * OpenSSL refuses: these come straight from the network.
 */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_LENGTH || signature.length !== SIGNATURE_LENGTH) return false;
  try {
    const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

function keysFromPrivateKey(privateKey: KeyObject, seed: Uint8Array): Ed25519Keys {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('node:crypto exported an ed25519 public key without x');
  const publicKey = new Uint8Array(Buffer.from(jwk.x, 'base64url'));
  return {
    publicKey,
    seed,
    sign: (message: Uint8Array): Uint8Array => new Uint8Array(sign(null, message, privateKey)),
  };
}

// ---------------------------------------------------------------------------
// Key files (`peerkit dht put --key <file>`)

/**
 * Why a key file was not accepted. Stable strings, for tests and callers.
 *
 * - `bad-hex`      hex digits, but not exactly 64 of them (a 32-byte seed)
 * - `bad-pem`      a PEM block that is not an unencrypted PKCS#8 `PRIVATE KEY` node:crypto can read
 * - `not-ed25519`  a readable private key of another algorithm (RSA, Ed448, ...)
 * - `unrecognized` neither hex nor PEM
 */
export type KeyFileErrorCode = 'bad-hex' | 'bad-pem' | 'not-ed25519' | 'unrecognized';

export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
  readonly code: KeyFileErrorCode;

  constructor(code: KeyFileErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\s]*)-----END \1-----/;

/**
 * Read a key file: either a 32-byte seed as 64 hex digits (whitespace
 * anywhere is ignored, case too), or an ed25519 private key in PEM, PKCS#8
 * `-----BEGIN PRIVATE KEY-----` (what `openssl genpkey -algorithm ed25519`
 * and node:crypto's `export({ type: 'pkcs8', format: 'pem' })` write).
 * Throws KeyFileError for anything else, encrypted PEM included (there is no
 * passphrase to ask for).
 */
export function parseKeyFile(contents: string): Ed25519Keys {
  if (contents.includes('-----BEGIN ')) return parsePem(contents);
  const digits = contents.replace(/\s+/g, '');
  if (digits.length > 0 && /^[0-9a-fA-F]+$/.test(digits)) {
    if (digits.length !== SEED_LENGTH * 2) {
      throw new KeyFileError('bad-hex', `a hex key file holds ${SEED_LENGTH * 2} hex digits (a ${SEED_LENGTH}-byte ed25519 seed), this one ${digits.length}`);
    }
    return keysFromSeed(hexBytes(digits));
  }
  throw new KeyFileError('unrecognized', `not a key file: expected ${SEED_LENGTH * 2} hex digits or an ed25519 PEM private key`);
}

/** The hex key file of `keys`: the seed as 64 lowercase hex digits and a newline. */
export function formatKeyFile(keys: Ed25519Keys): string {
  return `${Buffer.from(keys.seed).toString('hex')}\n`;
}

function parsePem(contents: string): Ed25519Keys {
  const m = PEM_BLOCK.exec(contents);
  if (m === null) throw new KeyFileError('bad-pem', 'a PEM block without a matching END line, or with characters outside base64');
  const label = m[1]!;
  if (/^(RSA|EC|DSA) PRIVATE KEY$/.test(label)) throw new KeyFileError('not-ed25519', `PEM block "${label}", expected an ed25519 "PRIVATE KEY"`);
  if (label !== 'PRIVATE KEY') {
    const hint = label === 'ENCRYPTED PRIVATE KEY' ? ' (encrypted keys are not supported: write it unencrypted, `openssl pkey -in <file>`)'
      : label === 'OPENSSH PRIVATE KEY' ? ' (OpenSSH format: use `openssl genpkey -algorithm ed25519` instead)'
      : '';
    throw new KeyFileError('bad-pem', `PEM block "${label}", expected "PRIVATE KEY"${hint}`);
  }
  // Hand node:crypto the DER, not the PEM, so OpenSSL never looks for a passphrase.
  const der = Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch (e) {
    throw new KeyFileError('bad-pem', `PEM "PRIVATE KEY" that is not PKCS#8: ${(e as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new KeyFileError('not-ed25519', `a ${privateKey.asymmetricKeyType ?? 'unknown'} private key, expected ed25519`);
  }
  const jwk = privateKey.export({ format: 'jwk' });
  if (typeof jwk.d !== 'string') throw new KeyFileError('bad-pem', 'ed25519 private key without its seed');
  return keysFromPrivateKey(privateKey, new Uint8Array(Buffer.from(jwk.d, 'base64url')));
}


function hexBytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}
