import type { ApiErrorBody, EventMap } from '../api-types.js';

/*
 * Talking to the daemon: JSON requests under /api/ (the login cookie goes
 * with them; it is HttpOnly, so this code never sees the token), and the
 * live events, one EventSource at a time.
 */

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: { Accept: 'application/json' } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...init.headers, 'Content-Type': 'application/json' };
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError(`the daemon answered ${res.status} with something that is not JSON`, res.status, 'bad-answer');
  }
  if (!res.ok) {
    const e = json as Partial<ApiErrorBody> | undefined;
    throw new ApiError(e?.error ?? `HTTP ${res.status}`, res.status, e?.code ?? 'http');
  }
  return json as T;
}

export type EventHandlers = { readonly [K in keyof EventMap]?: (data: EventMap[K]) => void };

/**
 * Follow /api/events (and one torrent's details with `torrent`). The
 * browser reconnects by itself after a network hiccup; when the stream is
 * refused for good (the daemon restarted with another token, or stopped),
 * `onDown` is told, and the caller decides (the login form, a banner).
 */
export function follow(torrent: string | undefined, handlers: EventHandlers, onState: (connected: boolean) => void): () => void {
  const source = new EventSource(torrent === undefined ? '/api/events' : `/api/events?torrent=${encodeURIComponent(torrent)}`);
  for (const [name, handler] of Object.entries(handlers)) {
    source.addEventListener(name, (ev) => (handler as (d: unknown) => void)(JSON.parse((ev as MessageEvent<string>).data)));
  }
  source.onopen = () => onState(true);
  source.onerror = () => onState(false);
  return () => source.close();
}
