import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { DaemonError } from './errors.js';

/*
 * Where the daemon keeps things (the XDG base directory convention):
 *
 *   $XDG_CONFIG_HOME/peerkit/daemon.json   token, ports, download folder
 *                                          (mode 0600: the token is a
 *                                          password); flags override it
 *   $XDG_DATA_HOME/peerkit/torrents.json   the torrents, their save paths,
 *                                          paused or not, file priorities
 *   $XDG_DATA_HOME/peerkit/torrents/       the added .torrent files
 *   $XDG_DATA_HOME/peerkit/resume/         resume data, one file per torrent
 *   $XDG_DATA_HOME/peerkit/downloads/      the default download folder
 *   $XDG_DATA_HOME/peerkit/dht.dat         the DHT routing table
 */

export interface DaemonPaths {
  readonly configDir: string;
  readonly dataDir: string;
  readonly configFile: string;
  readonly stateFile: string;
  readonly torrentsDir: string;
  readonly resumeDir: string;
  readonly dhtState: string;
}

export interface DaemonConfig {
  /** Bearer token for the API and the UI. */
  readonly token: string;
  readonly uiPort: number;
  readonly uiHost: string;
  /** Peer port; 0 means the first free of 6881-6889. */
  readonly peerPort: number;
  /** The embedded tracker's port (HTTP and UDP); null: no tracker. */
  readonly trackerPort: number | null;
  /** Where new torrents are saved unless told otherwise. */
  readonly downloadDir: string;
}

export const DEFAULT_UI_PORT = 9080;
export const DEFAULT_TRACKER_PORT = 6969;
/** daemon.json is small; anything larger is not ours. */
const MAX_CONFIG_BYTES = 64 * 1024;

export function daemonPaths(options: { readonly configDir?: string | undefined; readonly dataDir?: string | undefined } = {}): DaemonPaths {
  const configDir = options.configDir ?? join(process.env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), 'peerkit');
  const dataDir = options.dataDir ?? join(process.env['XDG_DATA_HOME'] ?? join(homedir(), '.local', 'share'), 'peerkit');
  return {
    configDir,
    dataDir,
    configFile: join(configDir, 'daemon.json'),
    stateFile: join(dataDir, 'torrents.json'),
    torrentsDir: join(dataDir, 'torrents'),
    resumeDir: join(dataDir, 'resume'),
    dhtState: join(dataDir, 'dht.dat'),
  };
}

/** Write `data` to `path` atomically (a reader never sees half a file), with `mode`. */
export async function writeAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, path);
}

/**
 * Read daemon.json, creating it (with a new random token) at the first
 * start. Values missing from an older file get their defaults; a file that
 * is not JSON is an error that names it, never silently replaced (it holds
 * the token the user may have bookmarked).
 */
export async function loadConfig(paths: DaemonPaths): Promise<{ config: DaemonConfig; created: boolean }> {
  let raw: string | undefined;
  try {
    raw = await readFile(paths.configFile, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const defaults = {
    uiPort: DEFAULT_UI_PORT,
    uiHost: '127.0.0.1',
    peerPort: 0,
    trackerPort: DEFAULT_TRACKER_PORT as number | null,
    downloadDir: join(paths.dataDir, 'downloads'),
  };
  if (raw === undefined) {
    const config: DaemonConfig = { token: randomBytes(24).toString('base64url'), ...defaults };
    await mkdir(paths.configDir, { recursive: true, mode: 0o700 });
    await writeAtomic(paths.configFile, `${JSON.stringify(config, null, 2)}\n`, 0o600);
    return { config, created: true };
  }
  if (raw.length > MAX_CONFIG_BYTES) throw new DaemonError('bad-config', `${paths.configFile} is larger than ${MAX_CONFIG_BYTES} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new DaemonError('bad-config', `${paths.configFile} is not JSON (${e instanceof Error ? e.message : String(e)}): fix it, or delete it to start afresh with a new token`);
  }
  if (typeof v !== 'object' || v === null) throw new DaemonError('bad-config', `${paths.configFile}: expected a JSON object`);
  const o = v as Record<string, unknown>;
  const token = o['token'];
  // Letters, digits and -._~ only: the token goes in a cookie and a URL as it is.
  if (typeof token !== 'string' || !/^[A-Za-z0-9._~-]{16,256}$/.test(token)) throw new DaemonError('bad-config', `${paths.configFile}: "token" must be 16 to 256 letters, digits or -._~`);
  const port = (k: string, fallback: number): number => {
    const p = o[k];
    if (p === undefined) return fallback;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 65535) throw new DaemonError('bad-config', `${paths.configFile}: "${k}" must be a port from 0 to 65535`);
    return p;
  };
  const str = (k: string, fallback: string): string => {
    const s = o[k];
    if (s === undefined) return fallback;
    if (typeof s !== 'string' || s.length === 0) throw new DaemonError('bad-config', `${paths.configFile}: "${k}" must be a non-empty string`);
    return s;
  };
  // Keep the token private even if someone loosened the file's mode.
  await chmod(paths.configFile, 0o600).catch(() => undefined);
  return {
    config: {
      token,
      uiPort: port('uiPort', defaults.uiPort),
      uiHost: str('uiHost', defaults.uiHost),
      peerPort: port('peerPort', defaults.peerPort),
      trackerPort: o['trackerPort'] === null ? null : port('trackerPort', DEFAULT_TRACKER_PORT),
      downloadDir: str('downloadDir', defaults.downloadDir),
    },
    created: false,
  };
}
