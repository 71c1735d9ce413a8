import { createHash } from 'node:crypto';
import type { Random } from '../net/index.js';

/*
 * Write tokens (BEP 5): a get_peers (or BEP 44 get) reply carries a token
 * that the querier must send back with announce_peer (or put), which proves
 * it owns the address it announces from. A token is the first 8 bytes of
 * SHA-1(secret + IP); the secret changes every 5 minutes and the previous
 * one is still accepted, so a token lives 5 to 10 minutes and nothing is
 * stored per querier.
 */

export const TOKEN_ROTATE_MS = 5 * 60_000;
const TOKEN_LENGTH = 8;

export class TokenIssuer {
  private current: Uint8Array;
  private previous: Uint8Array;
  private rotatedAt: number;

  constructor(
    private readonly random: Random,
    now: number,
  ) {
    this.current = this.secret();
    this.previous = this.secret();
    this.rotatedAt = now;
  }

  issue(host: string, now: number): Uint8Array {
    this.rotate(now);
    return token(this.current, host);
  }

  valid(tok: Uint8Array, host: string, now: number): boolean {
    this.rotate(now);
    return equal(tok, token(this.current, host)) || equal(tok, token(this.previous, host));
  }

  private rotate(now: number): void {
    if (now - this.rotatedAt < TOKEN_ROTATE_MS) return;
    // Two periods or more without a call: both secrets are stale.
    this.previous = now - this.rotatedAt >= 2 * TOKEN_ROTATE_MS ? this.secret() : this.current;
    this.current = this.secret();
    this.rotatedAt = now;
  }

  private secret(): Uint8Array {
    const s = new Uint8Array(16);
    for (let i = 0; i < s.length; i++) s[i] = Math.floor(this.random() * 256);
    return s;
  }
}

function token(secret: Uint8Array, host: string): Uint8Array {
  return new Uint8Array(createHash('sha1').update(secret).update(host).digest().subarray(0, TOKEN_LENGTH));
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
