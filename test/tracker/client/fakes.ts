// Fakes for the tracker client's ports: an in-memory datagram network, a
// scripted UDP tracker on it, and a recording HttpGet. No sockets, no wall
// clock: time is a ManualClock the test moves by hand.
import type { DatagramSocket, Endpoint, HttpGet, HttpGetOptions, HttpResponse, ManualClock } from '../../../src/net/index.js';
import { decodeRequest, encodeResponse, type UdpRequest, type UdpResponse } from '../../../src/tracker/udp-codec.js';

/** Let queued deliveries and the promise chains they resolve run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Advance `clock` by `ms` in `step`-sized moves, letting async code run between them (a retransmit is sent from a promise continuation). */
export async function runFor(clock: ManualClock, ms: number, step = 500): Promise<void> {
  await tick(); // first deliver what was sent at the current time
  for (let left = ms; left > 0; left -= step) {
    clock.advance(Math.min(step, left));
    await tick();
  }
}

/** Datagrams between in-memory sockets, delivered asynchronously (a microtask later), like the real thing. */
export class FakeNet {
  private readonly sockets = new Map<string, (data: Uint8Array, from: Endpoint) => void>();

  socket(local: Endpoint): DatagramSocket {
    const key = `${local.host}|${local.port}`;
    this.sockets.set(key, () => undefined);
    return {
      local,
      send: (data, to) => {
        const copy = data.slice();
        queueMicrotask(() => this.sockets.get(`${to.host}|${to.port}`)?.(copy, local));
      },
      onMessage: (handler) => void this.sockets.set(key, handler),
      close: () => void this.sockets.delete(key),
    };
  }
}

export interface Received {
  readonly at: number;
  readonly request: UdpRequest;
}

/**
 * A scripted BEP 15 tracker. `answer` decides each reply: a response (its
 * transaction id is filled in unless given), or undefined to drop the packet.
 */
export class FakeUdpTracker {
  readonly received: Received[] = [];
  readonly socket: DatagramSocket;
  answer: (request: UdpRequest, from: Endpoint) => UdpResponse | Uint8Array | undefined;
  private nextConnectionId = 0x1000n;

  constructor(net: FakeNet, readonly endpoint: Endpoint, clock: ManualClock) {
    this.socket = net.socket(endpoint);
    this.answer = (r) => this.normal(r);
    this.socket.onMessage((data, from) => {
      const request = decodeRequest(data);
      this.received.push({ at: clock.now(), request });
      const reply = this.answer(request, from);
      if (reply !== undefined) this.socket.send(reply instanceof Uint8Array ? reply : encodeResponse(reply), from);
    });
  }

  /** What a healthy tracker says: a fresh connection id per connect, one peer per announce, counts per scrape. */
  normal(r: UdpRequest): UdpResponse {
    switch (r.action) {
      case 'connect':
        return { action: 'connect', transactionId: r.transactionId, connectionId: this.nextConnectionId++ };
      case 'announce':
        return { action: 'announce', transactionId: r.transactionId, interval: 1800, leechers: 2, seeders: 1, peers: Uint8Array.of(10, 0, 0, 9, 0x1a, 0xe1) };
      case 'scrape':
        return { action: 'scrape', transactionId: r.transactionId, files: r.infoHashes.map((h) => ({ seeders: h[0]!, completed: h[1]!, leechers: h[2]! })) };
    }
  }

  /** The actions received, e.g. ['connect@0', 'announce@0']. */
  log(): string[] {
    return this.received.map((r) => `${r.request.action}@${r.at}`);
  }
}

/** An HttpGet that records URLs and answers from a script. */
export function fakeHttpGet(answer: (url: string, options: HttpGetOptions) => HttpResponse | Promise<HttpResponse>): HttpGet & { urls: string[] } {
  const urls: string[] = [];
  const get = async (url: string, options: HttpGetOptions): Promise<HttpResponse> => {
    urls.push(url);
    return answer(url, options);
  };
  return Object.assign(get, { urls });
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** 20 bytes, each `b` (an info hash or peer id that is easy to read in a URL). */
export function id20(b: number): Uint8Array {
  return new Uint8Array(20).fill(b);
}
