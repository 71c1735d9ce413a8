import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/*
 * The HTTP-client half of the network ports (DESIGN.md). HTTP trackers
 * (BEP 3, 48) only ever need one thing: GET a URL and read a small body.
 * Protocol code takes an `HttpGet` and never imports node:http, so tests pass
 * a fake that records URLs and returns canned bytes.
 */

export interface HttpGetOptions {
  /** Aborts the request; the promise then rejects with an HttpError('aborted'). */
  readonly signal?: AbortSignal;
  /** Largest body accepted: a longer one rejects with HttpError('too-large') without being read to the end. */
  readonly maxBytes: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly body: Uint8Array;
}

/** GET `url` and return the status and the whole body. Rejects with HttpError. */
export type HttpGet = (url: string, options: HttpGetOptions) => Promise<HttpResponse>;

export type HttpErrorCode = 'bad-url' | 'network' | 'timeout' | 'aborted' | 'too-large' | 'redirect';

export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly code: HttpErrorCode;
  constructor(code: HttpErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface HttpGetInit {
  /** Whole-request deadline (connect, headers and body). @default 30000 */
  readonly timeoutMs?: number;
  /** Redirects followed before giving up (trackers behind load balancers do redirect). @default 3 */
  readonly maxRedirects?: number;
  /** @default 'peerkit' */
  readonly userAgent?: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A real HttpGet over node:http and node:https. */
export function createHttpGet(init: HttpGetInit = {}): HttpGet {
  const timeoutMs = init.timeoutMs ?? 30_000;
  const maxRedirects = init.maxRedirects ?? 3;
  const userAgent = init.userAgent ?? 'peerkit';
  return async (url, options) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const both = anySignal(options.signal === undefined ? [timeout] : [options.signal, timeout]);
    try {
      let current = url;
      for (let hop = 0; ; hop++) {
        const r = await getOnce(current, both.signal, options.maxBytes, userAgent, timeout, timeoutMs);
        if (r.location === undefined) return { status: r.status, body: r.body };
        if (hop >= maxRedirects) throw new HttpError('redirect', `more than ${maxRedirects} redirects from ${url}`);
        current = new URL(r.location, current).toString();
      }
    } finally {
      both.dispose();
    }
  };
}

/** The default real HttpGet (30 s deadline). */
export const httpGet: HttpGet = createHttpGet();

interface OneResponse {
  readonly status: number;
  readonly body: Uint8Array;
  readonly location: string | undefined;
}

function getOnce(url: string, signal: AbortSignal, maxBytes: number, userAgent: string, timeout: AbortSignal, timeoutMs: number): Promise<OneResponse> {
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      reject(new HttpError('bad-url', `not a URL: ${url}`));
      return;
    }
    const request = parsed.protocol === 'http:' ? httpRequest : parsed.protocol === 'https:' ? httpsRequest : undefined;
    if (request === undefined) {
      reject(new HttpError('bad-url', `not an http(s) URL: ${url}`));
      return;
    }
    const fail = (e: unknown): void => {
      if (timeout.aborted) reject(new HttpError('timeout', `no complete answer from ${parsed.host} within ${timeoutMs} ms`));
      else if (signal.aborted) reject(new HttpError('aborted', `request to ${parsed.host} aborted`));
      else if (e instanceof HttpError) reject(e);
      else reject(new HttpError('network', `${parsed.host}: ${e instanceof Error ? e.message : String(e)}`));
    };
    if (signal.aborted) {
      fail(undefined);
      return;
    }
    // identity: a compressed body would defeat the size cap (and trackers rarely compress).
    // agent false: one connection per request. opentracker answers HTTP/1.1 without
    // "Connection: close" and then closes, so a pooled keep-alive socket (Node's
    // default agent) would be reused dead: "socket hang up" on every other announce.
    const req = request(parsed, { method: 'GET', agent: false, signal, headers: { 'user-agent': userAgent, 'accept-encoding': 'identity', connection: 'close' } });
    req.on('error', fail);
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const location = REDIRECTS.has(status) ? res.headers.location : undefined;
      if (location !== undefined) {
        res.resume();
        req.destroy();
        resolve({ status, body: new Uint8Array(0), location });
        return;
      }
      const declared = Number(res.headers['content-length'] ?? NaN);
      if (declared > maxBytes) {
        req.destroy();
        reject(new HttpError('too-large', `${parsed.host} announced a ${declared}-byte body, the cap is ${maxBytes}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          req.destroy();
          reject(new HttpError('too-large', `body from ${parsed.host} exceeds the cap of ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', fail);
      // A connection cut mid-body (or an abort) may end with 'close' and no 'error'.
      res.on('close', () => {
        if (!res.complete) fail(new Error('connection closed before the body ended'));
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status, body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), location: undefined });
      });
    });
    req.end();
  });
}

/**
 * An AbortSignal that aborts when any of `signals` does (AbortSignal.any is
 * Node >= 20.3 only). `dispose` removes the listeners, so a long-lived caller
 * signal does not collect one per request.
 */
function anySignal(signals: readonly AbortSignal[]): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const listeners = new AbortController();
  for (const s of signals) {
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    s.addEventListener('abort', () => controller.abort(s.reason), { once: true, signal: listeners.signal });
  }
  return { signal: controller.signal, dispose: () => listeners.abort() };
}
