/** The peerkit daemon: its torrents (kept in XDG folders), the HTTP API with live events, and the browser UI it serves. */
export { Daemon, type DaemonComponents, type DaemonInit } from './daemon.js';
export { daemonPaths, DEFAULT_TRACKER_PORT, DEFAULT_UI_PORT, loadConfig, type DaemonConfig, type DaemonPaths } from './config.js';
export { DaemonError, type DaemonErrorCode } from './errors.js';
export type * from './api-types.js';
