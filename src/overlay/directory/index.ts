/** The central directory overlay (Napster-style, docs/directory.md): one server indexes every peer's files; peers register, heartbeat and search. */
export { clipReason, directoryCodec, MAX_FILES_PER_MESSAGE, MAX_REASON_BYTES, MAX_REQUEST_ID, MAX_RESULTS_PER_MESSAGE, type DirectoryMessage, type DirectoryMessageType } from './codec.js';
export { DirectoryServer, type DirectoryServerOptions, type DirectoryServerStats } from './server.js';
export { DirectoryClient, type DirectoryClientOptions, type SearchAnswer } from './client.js';
