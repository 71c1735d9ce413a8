import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Endpoint } from '../../../src/net/index.js';
import { scanShared, serveFiles, type FileServer, type LocalFile } from '../../../src/overlay/index.js';

/*
 * What the directory tests share: temporary folders of real files served
 * over HTTP on 127.0.0.1, a raw TCP client for sending bytes no well-behaved
 * peer would, and a poll for conditions that depend on another socket.
 */

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `peerkit-dir-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A sharing node's files: written under `dir`, hashed, and served on a free port of 127.0.0.1. */
export async function shareFolder(dir: string, contents: Record<string, Uint8Array | string>): Promise<{ files: LocalFile[]; server: FileServer }> {
  await mkdir(dir, { recursive: true });
  for (const [name, data] of Object.entries(contents)) await writeFile(join(dir, name), data);
  const files = await scanShared([dir]);
  return { files, server: await serveFiles(files, '127.0.0.1', 0) };
}

/** Deterministic bytes (no Math.random in a test that compares downloads). */
export function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Poll until `check` holds (another socket's effect arrives when it arrives); fails after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A plain TCP socket to `to`, connected. */
export function rawConnect(to: Endpoint): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: to.host, port: to.port }, () => {
      s.off('error', reject);
      s.on('error', () => undefined);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Resolves when the socket is closed (by the other side, here). */
export function closed(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (s.closed) resolve();
    else s.once('close', () => resolve());
  });
}
