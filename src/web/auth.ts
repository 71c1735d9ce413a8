import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/*
 * Who may talk to the daemon. Three checks, each against a different
 * attack:
 *
 * - The token (daemon.json, printed at start). API clients send
 *   `Authorization: Bearer <token>`; a browser logs in once at
 *   /login?token=... and from then on sends a cookie that scripts cannot
 *   read (HttpOnly) and that other sites' pages never make it send
 *   (SameSite=Strict). Without one of the two: 401.
 * - The Host header (DNS rebinding): a page on evil.example whose name is
 *   re-pointed at 127.0.0.1 reaches our port with `Host: evil.example`.
 *   Only IP literals, `localhost` and the names given with --allow-host are
 *   served; an IP literal cannot be re-pointed.
 * - The Origin of requests that change something: a browser says which page
 *   sent the request, and it must be one of ours (the cookie already stays
 *   home with SameSite=Strict; this holds even for browsers that ignore it).
 */

export interface AuthOptions {
  readonly token: string;
  /** The UI's port, to name the cookie: cookies do not keep ports apart, two daemons on one host would share one. */
  readonly port: number;
  /** Host names accepted besides IP literals and localhost (lower case, no port). */
  readonly allowedHosts?: readonly string[];
}

export class Auth {
  readonly cookieName: string;
  private readonly digest: Buffer;
  private readonly allowed: Set<string>;

  constructor(private readonly options: AuthOptions) {
    this.cookieName = `peerkit-${options.port}`;
    this.digest = sha256(options.token);
    this.allowed = new Set(['localhost', ...(options.allowedHosts ?? []).map((h) => h.toLowerCase())]);
  }

  /** Compared through a hash, in constant time: the comparison does not tell how much of a guess was right. */
  isToken(candidate: string | undefined): boolean {
    return candidate !== undefined && candidate.length > 0 && candidate.length <= 256 && timingSafeEqual(sha256(candidate), this.digest);
  }

  /** Whether the request carries the token, as a bearer token or as our cookie. */
  authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      return this.isToken(m?.[1]);
    }
    return this.isToken(cookie(req.headers.cookie, this.cookieName));
  }

  /** `Host: 127.0.0.1:9080`, `[::1]:9080`, `localhost:9080` or an allowed name; anything else may be a rebound name. */
  hostAllowed(host: string | undefined): boolean {
    if (host === undefined) return false;
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:\]]+)(?::(\d{1,5}))?$/.exec(host.trim());
    if (m === null) return false;
    const name = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!.toLowerCase();
    return isIP(name) !== 0 || this.allowed.has(name.replace(/\.$/, ''));
  }

  /**
   * A state-changing request from a browser must come from our own pages:
   * its Origin (or, without one, its Sec-Fetch-Site) says so. A client that
   * sends neither is not a browser (curl, scripts) and needs the bearer
   * token anyway.
   */
  sameOrigin(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (origin === 'null') return false;
      let url: URL;
      try {
        url = new URL(origin);
      } catch {
        return false;
      }
      return url.host === (req.headers.host ?? '').toLowerCase() && url.protocol === 'http:';
    }
    const site = req.headers['sec-fetch-site'];
    return site === undefined || site === 'same-origin' || site === 'none';
  }

  /** The cookie that logs a browser in: the token itself, which only this daemon and the browser see. */
  loginCookie(): string {
    return `${this.cookieName}=${this.options.token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000`;
  }

  logoutCookie(): string {
    return `${this.cookieName}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** One cookie's value from a Cookie header (RFC 6265 §5.4: `a=1; b=2`). */
export function cookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
