import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { BIN, ROOT } from '../cli/run.js';

/*
 * `peerkit daemon` as a user starts it, in a process of its own, for the
 * web tests: loopback only, any free ports, no DHT unless a local bootstrap
 * is given, config and data in the test's folder. It is ready when it has
 * printed its URL; the test reads the token from that output, as a person
 * does.
 */

export interface RunningDaemon extends Spawned {
  /** http://127.0.0.1:<port> */
  readonly base: string;
  readonly port: number;
  readonly token: string;
  /** The login link it printed. */
  readonly loginUrl: string;
  readonly trackerUrl: string | undefined;
}

export async function startDaemon(dir: string, extra: readonly string[] = []): Promise<RunningDaemon> {
  const args = ['daemon', '--config-dir', join(dir, 'config'), '--data-dir', join(dir, 'data'), '--port', '0', '--peer-host', '127.0.0.1', '--peer-port', '0', '--tracker-port', '0', ...extra];
  if (!extra.includes('--bootstrap')) args.push('--no-dht');
  const p = await spawnPeerkit(args, /Ctrl-C to stop/);
  const out = p.stdout();
  const m = /web UI +(http:\/\/127\.0\.0\.1:(\d+))\/login\?token=(\S+)/.exec(out);
  if (m === null) throw new Error(`no web UI line in the daemon's output:\n${out}`);
  const tracker = /tracker +(http:\/\/\S+\/announce)/.exec(out)?.[1];
  return { ...p, base: m[1]!, port: Number(m[2]), token: m[3]!, loginUrl: `${m[1]!}/login?token=${m[3]!}`, trackerUrl: tracker };
}

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
}

/**
 * One HTTP request with node:http (fetch would not let a test set Host or
 * Origin as a browser or an attacker's page would).
 */
export function request(d: RunningDaemon, method: string, path: string, options: { token?: string | null; body?: string | Uint8Array; type?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const token = options.token === undefined ? d.token : options.token;
  const headers: Record<string, string> = { ...(token !== null && { Authorization: `Bearer ${token}` }), ...(options.type !== undefined && { 'Content-Type': options.type }), ...options.headers };
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: d.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
      });
    });
    req.on('error', reject);
    if (options.body !== undefined) req.end(options.body);
    else req.end();
  });
}

export function json(d: RunningDaemon, method: string, path: string, body?: unknown): Promise<Answer> {
  return request(d, method, path, body === undefined ? {} : { body: JSON.stringify(body), type: 'application/json' });
}

/** Poll `fn` until it returns something other than undefined (a torrent reaching a state, say). */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last !== undefined ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Spawned {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** SIGTERM (Ctrl-C's sibling), then the exit code. */
  stop(): Promise<number | null>;
}

/** Another `peerkit` process (a seeder, a DHT node), ready once its standard output matches `ready` (null: at once). */
export async function spawnPeerkit(args: readonly string[], ready: RegExp | null, env: Record<string, string> = {}): Promise<Spawned> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PEERKIT_DEBUG: undefined, ...env } });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    if (ready === null) return resolve();
    const timer = setTimeout(() => reject(new Error(`peerkit ${args.join(' ')}: not ready in 20 s\n--- stdout\n${out}--- stderr\n${err}`)), 20_000);
    child.stdout!.on('data', () => {
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`peerkit ${args.join(' ')} exited (${code})\n--- stdout\n${out}--- stderr\n${err}`));
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
