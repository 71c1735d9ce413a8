import type { Endpoint, Random } from '../../net/index.js';

/*
 * Small helpers shared by the leader and the member: endpoint keys,
 * IPv4 normalisation (sources and leader lists travel as 6-byte IPv4
 * addresses), random ids, and a token bucket for rate limits.
 */

/** "host:port", the key of an endpoint in maps. */
export function endpointKey(e: Endpoint): string {
  return `${e.host}:${e.port}`;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * The dotted IPv4 form of a socket address, or undefined when there is none:
 * a dual-stack socket reports IPv4 peers as "::ffff:a.b.c.d", and the wire
 * format only carries IPv4.
 */
export function ipv4(host: string): string | undefined {
  const h = host.startsWith('::ffff:') ? host.slice(7) : host;
  const m = IPV4.exec(h);
  if (m === null || m.slice(1).some((p) => Number(p) > 255)) return undefined;
  return h;
}

/** An endpoint that can travel in a message (IPv4, port 1..65535), or undefined. */
export function wireEndpoint(host: string, port: number): Endpoint | undefined {
  const h = ipv4(host);
  if (h === undefined || h === '0.0.0.0' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: h, port };
}

/** `bytes` random bytes as lowercase hex (query ids and leader ids). */
export function randomHex(random: Random, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += Math.floor(random() * 256).toString(16).padStart(2, '0');
  return s;
}
