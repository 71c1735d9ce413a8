/** BitTorrent trackers: the server (HTTP BEP 3/23/7/48, UDP BEP 15) and the shared codecs; the client is in ./client. */
export { TrackerError, type TrackerErrorCode } from './errors.js';
export * as udp from './udp-codec.js';
export { decodePeers4, decodePeers6, encodePeers, ipv4ToNumber, type PeerAddress } from './compact.js';
export { startTrackerServer, Tracker, type TrackerServer, type TrackerServerOptions, type TrackerStats } from './server/index.js';
