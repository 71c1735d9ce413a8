import { decodeMetadataMessage, encodeMetadataMessage, MetadataAssembler, UT_METADATA } from '../extensions/index.js';
import type { Endpoint, StreamConnection, Timer } from '../net/index.js';
import { createTrackerClient } from '../tracker/client/index.js';
import { decodeExtendedHandshake, encodeExtendedHandshake, encodeMessage, type WireDecoder } from '../wire/index.js';
import { PeerCandidates } from './candidates.js';
import { OUR_EXTENSION_IDS } from './extensions.js';
import type { Session } from './session.js';

/*
 * The first step of a magnet link (BEP 9): there is only an info hash, so
 * find peers (the link's x.pe peers and trackers, the DHT) and ask those
 * that support ut_metadata for the info dictionary, 16 KiB at a time. The
 * pieces from all peers go into one MetadataAssembler, and the whole is
 * accepted only when its SHA-1 is the info hash; after a mismatch the peers
 * that sent pieces are dropped and it starts over with the others.
 *
 * Each connection: handshake (extension bit set), our extended handshake
 * offering ut_metadata, `have none` when the fast extension is on (we have
 * nothing yet), then up to two requests in flight. A peer that rejects, has
 * no metadata_size or no ut_metadata is closed, as is one silent for 30 s.
 */

export interface FetchOptions {
  readonly peers?: readonly Endpoint[];
  readonly trackers?: readonly string[];
  /** Ask the session's DHT node for peers. @default true when the session has one */
  readonly dht?: boolean;
  /** Connections at once. @default 8 */
  readonly maxConnections?: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: FetchEvent) => void;
}

export type FetchEvent =
  | { readonly type: 'peers'; readonly source: string; readonly count: number }
  | { readonly type: 'connected'; readonly address: string; readonly hasMetadata: boolean }
  | { readonly type: 'size'; readonly bytes: number; readonly pieces: number }
  | { readonly type: 'piece'; readonly missing: number }
  | { readonly type: 'bad-metadata'; readonly peers: readonly string[] };

export interface FetchedMetadata {
  /** The info dictionary, whose SHA-1 is the info hash. */
  readonly info: Uint8Array;
  /** Every peer address found, those that served metadata first. */
  readonly peers: Endpoint[];
}

const IDLE_MS = 20_000;
const RETRY_SOURCES_MS = 20_000;
const REQUESTS_PER_PEER = 2;
/** A peer that refused or dropped us is tried again after 5 s, 10 s, ... (a client still checking its files refuses at first). */
const RETRY_MS = 5_000;

interface Fetcher {
  readonly conn: StreamConnection;
  readonly decoder: WireDecoder;
  readonly address: string;
  readonly endpoint: Endpoint;
  theirId: number;
  /** Its `metadata_size`, once its extended handshake came. */
  size: number | undefined;
  inFlight: Set<number>;
  idle: Timer | undefined;
}

/** Addresses remembered from all sources (the dial list has its own bound). */
const MAX_KNOWN = 2000;

export function fetchMetadata(session: Session, infoHash: Uint8Array, options: FetchOptions = {}): Promise<FetchedMetadata> {
  const candidates = new PeerCandidates(RETRY_MS);
  const known = new Map<string, Endpoint>();
  const served: Endpoint[] = [];
  const live = new Set<Fetcher>();
  const maxConnections = options.maxConnections ?? 8;
  const emit = options.onEvent ?? (() => undefined);
  let assembler: MetadataAssembler<Fetcher> | undefined;
  let dialling = 0;
  let finished = false;
  let sourcesTimer: Timer | undefined;
  let retryTimer: Timer | undefined;
  let dhtBusy = false;
  let announced = false;

  return new Promise<FetchedMetadata>((resolve, reject) => {
    const finish = (error: Error | undefined, info?: Uint8Array): void => {
      if (finished) return;
      finished = true;
      sourcesTimer?.cancel();
      retryTimer?.cancel();
      for (const f of live) close(f);
      options.signal?.removeEventListener('abort', onAbort);
      if (error !== undefined) reject(error);
      else {
        const first = new Set(served.map((e) => `${e.host}:${e.port}`));
        resolve({ info: info!, peers: [...served, ...[...known.entries()].filter(([k]) => !first.has(k)).map(([, e]) => e)] });
      }
    };
    const onAbort = (): void => finish(new Error('metadata fetch aborted'));
    if (options.signal?.aborted === true) return onAbort();
    options.signal?.addEventListener('abort', onAbort);

    const addPeers = (list: readonly Endpoint[], source: string): void => {
      if (finished) return;
      for (const e of list) if (known.size < MAX_KNOWN) known.set(`${e.host}:${e.port}`, e);
      emit({ type: 'peers', source, count: list.length });
      candidates.add(list);
      dialMore();
    };

    const dialMore = (): void => {
      if (finished) return;
      const room = maxConnections - live.size - dialling;
      if (room <= 0 || !session.canConnect()) return;
      for (const endpoint of candidates.take(room, session.clock.now(), () => false)) {
        dialling++;
        session.dial(infoHash, endpoint).then(
          ({ conn, handshake, decoder }) => {
            dialling--;
            if (finished || !handshake.extensions.extended) {
              conn.destroy();
              candidates.failed(endpoint, session.clock.now());
              return dialMore();
            }
            start({ conn, decoder, address: `${endpoint.host}:${endpoint.port}`, endpoint, theirId: 0, size: undefined, inFlight: new Set(), idle: undefined }, handshake.extensions.fast);
          },
          () => {
            dialling--;
            candidates.failed(endpoint, session.clock.now());
            dialMore();
          },
        );
      }
    };

    const close = (f: Fetcher): void => {
      if (!live.delete(f)) return;
      f.idle?.cancel();
      for (const p of f.inFlight) assembler?.release(p);
      f.conn.destroy();
      if (!finished) {
        candidates.failed(f.endpoint, session.clock.now()); // not again soon
        reconsiderSize();
        requestMore();
        dialMore();
      }
    };

    /**
     * The assembler holds the size the first peer announced. When it has no
     * piece yet and no peer left says that size (the one that did lied, or
     * left), start over with the size a live peer gives.
     */
    const reconsiderSize = (): void => {
      if (assembler !== undefined && (assembler.missing < assembler.pieceCount || [...live].some((f) => f.size === assembler!.totalSize))) return;
      assembler = undefined;
      const next = [...live].find((f) => f.size !== undefined);
      if (next !== undefined) useSize(next.size!);
    };

    const useSize = (size: number): void => {
      assembler = new MetadataAssembler<Fetcher>(infoHash, size);
      emit({ type: 'size', bytes: size, pieces: assembler.pieceCount });
    };

    const touch = (f: Fetcher): void => {
      f.idle?.cancel();
      f.idle = session.clock.setTimer(IDLE_MS, () => close(f));
    };

    const requestMore = (): void => {
      if (assembler === undefined) return;
      for (const f of live) {
        while (f.theirId > 0 && f.size === assembler.totalSize && f.inFlight.size < REQUESTS_PER_PEER) {
          const piece = assembler.nextRequest();
          if (piece === undefined) return;
          f.inFlight.add(piece);
          f.conn.write(encodeMessage({ type: 'extended', id: f.theirId, payload: encodeMetadataMessage({ type: 'request', piece }) }));
        }
      }
    };

    const start = (f: Fetcher, fast: boolean): void => {
      live.add(f);
      touch(f);
      const hello = encodeExtendedHandshake({ m: new Map([[UT_METADATA, OUR_EXTENSION_IDS[UT_METADATA]]]), v: 'peerkit 0.1.0', p: session.port });
      f.conn.write(encodeMessage({ type: 'extended', id: 0, payload: hello }));
      if (fast) f.conn.write(encodeMessage({ type: 'have-none' }));
      f.conn.onClose(() => close(f));
      f.conn.onData((chunk) => {
        f.decoder.push(chunk);
        drain(f);
      });
      drain(f);
      f.conn.resume();
    };

    const drain = (f: Fetcher): void => {
      try {
        for (;;) {
          if (finished || !live.has(f)) return;
          const m = f.decoder.next();
          if (m === undefined) return;
          if (m.type !== 'extended') continue;
          if (m.id === 0) {
            if (f.size !== undefined) continue; // a later handshake changes nothing here
            const h = decodeExtendedHandshake(m.payload);
            const id = h.m.get(UT_METADATA) ?? 0;
            const size = h.metadataSize;
            emit({ type: 'connected', address: f.address, hasMetadata: id > 0 && size !== undefined });
            if (id === 0 || size === undefined || size === 0) return close(f);
            f.size = size;
            f.theirId = id;
            // A peer that disagrees with the size in use waits: if the first one lied, reconsiderSize switches.
            if (assembler === undefined) useSize(size);
            requestMore();
            continue;
          }
          if (m.id !== OUR_EXTENSION_IDS[UT_METADATA] || assembler === undefined) continue;
          const msg = decodeMetadataMessage(m.payload);
          if (msg.type === 'reject') return close(f);
          if (msg.type !== 'data' || !f.inFlight.delete(msg.piece)) continue;
          touch(f); // only data counts as progress: a peer that just chats keeps its requests no longer than IDLE_MS
          const r = assembler.add(msg.piece, msg.data, f);
          if (r.status === 'done') {
            served.push(f.endpoint);
            return finish(undefined, r.info);
          }
          if (r.status === 'bad') {
            emit({ type: 'bad-metadata', peers: r.contributors.map((c) => c.address) });
            for (const c of r.contributors) close(c);
            reconsiderSize();
          } else if (r.status === 'invalid') {
            return close(f);
          } else {
            if (!served.includes(f.endpoint)) served.push(f.endpoint);
            emit({ type: 'piece', missing: assembler.missing });
          }
          requestMore();
        }
      } catch {
        close(f); // a malformed message: drop this peer, keep the others
      }
    };

    const askSources = (): void => {
      if (finished) return;
      const dht = session.dht;
      if (dht !== undefined && options.dht !== false && !dhtBusy) {
        dhtBusy = true;
        dht.getPeers(infoHash)
          .then(
            (r) => addPeers(r.peers, 'dht'),
            () => undefined,
          )
          .finally(() => (dhtBusy = false))
          .catch(() => undefined);
      }
      const event = announced ? 'none' : 'started';
      announced = true;
      for (const url of options.trackers ?? []) {
        const client = createTrackerClient(url, { httpGet: session.httpGet, ...(session.udpTrackers !== undefined && { udp: session.udpTrackers }) });
        if (client === undefined) continue;
        // left must be non-zero: a tracker sends a seeder (left = 0) leechers only.
        client.announce({ infoHash, peerId: session.peerId, port: session.port, uploaded: 0, downloaded: 0, left: 1, event, numWant: 50 }).then(
          (r) => addPeers(r.peers, url),
          () => undefined,
        );
      }
      sourcesTimer = session.clock.setTimer(RETRY_SOURCES_MS, askSources);
    };

    // Peers whose retry time has come are dialled again.
    const retry = (): void => {
      if (finished) return;
      dialMore();
      retryTimer = session.clock.setTimer(RETRY_MS, retry);
    };
    addPeers(options.peers ?? [], 'given');
    askSources();
    retryTimer = session.clock.setTimer(RETRY_MS, retry);
  });
}
