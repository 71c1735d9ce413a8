import type { Metainfo } from '../metainfo/index.js';
import type { Endpoint, Timer } from '../net/index.js';
import type { PieceStore } from '../storage/index.js';
import { createTrackerClient, TrackerTiers } from '../tracker/client/index.js';
import type { TrackerError } from '../tracker/index.js';
import { Bitfield, decodeExtendedHandshake, encodeExtendedHandshake, type Message } from '../wire/index.js';
import { Announcer } from './announcer.js';
import { PieceAssembler } from './assembler.js';
import { PeerCandidates } from './candidates.js';
import { checkExisting, saveResume } from './check.js';
import { DhtAnnouncer } from './dht-announcer.js';
import { TorrentExtensions } from './extensions.js';
import { clientName, type PeerConnection } from './peer.js';
import { PiecePicker, requestQueueDepth, requestQueueTime, type BlockRef, type PeerKey } from './picker.js';
import { RateMeter, takeAll, TokenBucket } from './rate.js';
import type { Session } from './session.js';
import { SuperSeeder } from './super-seed.js';
import { SuperSeeding } from './super-seeding.js';
import { UploadSlots } from './slots.js';
import type { TorrentEvent, TorrentOptions, TorrentState } from './torrent-types.js';
import { Uploader } from './upload.js';

/*
 * One torrent in a session: its neighbours, what it has, and the two
 * policies that drive BitTorrent (DESIGN.md: policies decide, this applies):
 *
 * - the PiecePicker chooses which blocks to request from whom (rarest
 *   first, partial pieces first, endgame);
 * - the Choker chooses, every 10 s, which peers we upload to (tit-for-tat,
 *   plus one optimistic unchoke rotated every 30 s).
 *
 * Blocks of a piece are assembled in memory; when the last one arrives the
 * piece is hashed (SHA-1, BEP 3), and only a piece that matches is written to
 * the store and announced with `have`. A piece that fails is downloaded again
 * and the peers that sent it get a strike; a peer that alone sent a bad
 * piece, or has several strikes, is banned.
 */

const TICK_MS = 1000;
const KEEPALIVE_MS = 90_000;
/** BEP 3 suggests two minutes; a little longer forgives a slow peer's keep-alive. */
const IDLE_TIMEOUT_MS = 180_000;
/** A peer we asked for blocks that sends none for this long is snubbed (libtorrent: 60 s). */
const SNUB_MS = 60_000;
/** In endgame, a peer that sent none of its outstanding blocks in this long (or four round trips) has them released. */
const ENDGAME_STALL_MS = 2_000;
const RESUME_SAVE_MS = 15_000;
/** Strikes (shared bad pieces) before a peer is banned. */
const MAX_STRIKES = 3;
/** The largest block we serve (BEP 3: clients use 16 KiB; larger requests are refused by most clients). */
const MAX_REQUEST = 128 * 1024;
/** Requests a peer may queue at us (BEP 10 `reqq` we advertise). */
const OUR_REQQ = 2000;
/** A peer whose connection closed (for a reason other than both seeding) may be dialled again after this long. */
const RECONNECT_MS = 5_000;

export type { TorrentEvent, TorrentOptions, TorrentState } from './torrent-types.js';

export class Torrent {
  readonly metainfo: Metainfo;
  readonly infoHash: Uint8Array;
  readonly infoHashHex: string;
  readonly pieceCount: number;
  state: TorrentState = 'checking';
  error: Error | undefined;
  /** Payload bytes over the wire, this run. */
  downloaded = 0;
  uploaded = 0;
  /** Bytes of pieces that failed their hash or arrived unwanted. */
  wasted = 0;
  /** What the check of existing data found (emitted before anyone outside can listen, so kept). */
  checked: Extract<TorrentEvent, { type: 'checked' }> | undefined;
  readonly downloadRate = new RateMeter();
  readonly uploadRate = new RateMeter();
  private readonly session: Session;
  private readonly options: TorrentOptions;
  private readonly store: PieceStore;
  private readonly picker: PiecePicker;
  private readonly slots: UploadSlots;
  private readonly uploader: Uploader;
  private readonly have: Bitfield;
  private readonly peers = new Map<PeerKey, PeerConnection>();
  private readonly candidates = new PeerCandidates();
  /** Outgoing connections being set up. */
  private dialling = 0;
  private readonly assembler: PieceAssembler;
  private readonly strikes = new Map<string, number>();
  private readonly banned = new Set<string>();
  private readonly downloadLimit: TokenBucket;
  private readonly listeners = new Set<(e: TorrentEvent) => void>();
  private announcer: Announcer | undefined;
  private dhtAnnouncer: DhtAnnouncer | undefined;
  private readonly extensions: TorrentExtensions;
  private tickTimer: Timer | undefined;
  private refillTimer: Timer | undefined;
  private resumeDirty = false;
  private lastResumeAt = 0;
  private stopping: Promise<void> | undefined;
  /** Set while we are an initial seeder in super-seed mode (BEP 16). */
  private superSeeding: SuperSeeding | undefined;

  constructor(session: Session, metainfo: Metainfo, options: TorrentOptions) {
    this.session = session;
    this.metainfo = metainfo;
    this.options = options;
    this.infoHash = metainfo.infoHash;
    this.infoHashHex = metainfo.infoHashHex;
    this.pieceCount = metainfo.pieceCount;
    this.store = options.store;
    this.have = new Bitfield(metainfo.pieceCount);
    this.picker = new PiecePicker({ pieceCount: metainfo.pieceCount, pieceLength: metainfo.pieceLength, totalLength: metainfo.length, random: session.random, ...(options.pieceOrder !== undefined && { order: options.pieceOrder }) });
    this.slots = new UploadSlots(
      {
        peers: () => this.peers.values(),
        peer: (key) => this.peers.get(key),
        seeding: () => this.have.complete,
        now: () => this.now(),
        choked: (peer) => this.uploader.choked(peer),
        emit: (e) => this.emit(e),
      },
      { random: session.random, ...(options.uploadSlots !== undefined && { slots: options.uploadSlots }), ...(options.optimisticUnchoke !== undefined && { optimistic: options.optimisticUnchoke }) },
    );
    this.assembler = new PieceAssembler(this.store, metainfo.pieces, metainfo.pieceLength, (i) => metainfo.layout.pieceSize(i), {
      written: (i) => this.pieceWritten(i),
      failed: (i) => this.pieceFailed(i),
      error: (e) => this.fail(e),
      backpressure: (full) => {
        for (const p of this.peers.values()) {
          if (full) p.pause();
          else p.resume();
        }
      },
    });
    this.downloadLimit = new TokenBucket(unlimitedIfZero(options.maxDownload));
    this.extensions = new TorrentExtensions({
      infoBytes: metainfo.infoBytes,
      isPrivate: metainfo.private,
      dht: options.dht === false ? undefined : session.dht,
      peers: () => this.peers.values(),
      addCandidates: (list) => this.addCandidates(list),
      learned: (from, peers) => this.emit({ type: 'pex', from: from.address, peers: peers.map((e) => `${e.host}:${e.port}`) }),
    });
    this.uploader = new Uploader(
      {
        store: this.store,
        clock: session.clock,
        limits: [session.uploadLimit, new TokenBucket(unlimitedIfZero(options.maxUpload))],
        pieceSize: (i) => metainfo.layout.pieceSize(i),
        onSent: (peer, n, index) => {
          this.uploaded += n;
          this.uploadRate.add(n, this.now());
          this.superSeeding?.sent(peer, index, n);
        },
        onError: (e) => this.fail(e),
      },
      metainfo.pieceLength,
    );
  }

  on(listener: (e: TorrentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get acceptsPeers(): boolean {
    return this.state === 'downloading' || this.state === 'seeding';
  }

  get complete(): boolean {
    return this.have.complete;
  }

  /** Verified pieces and bytes. */
  get progress(): { readonly pieces: number; readonly bytes: number; readonly total: number } {
    const last = this.pieceCount - 1;
    let bytes = this.have.count * this.metainfo.pieceLength;
    if (this.pieceCount > 0 && this.have.has(last)) bytes -= this.metainfo.pieceLength - this.metainfo.layout.pieceSize(last);
    return { pieces: this.have.count, bytes, total: this.metainfo.length };
  }

  /** Whether piece `index` is verified and stored. */
  hasPiece(index: number): boolean {
    return this.have.has(index);
  }

  get peerCount(): number {
    return this.peers.size;
  }

  /** The neighbours, for a status display. */
  peerList(): readonly PeerConnection[] {
    return [...this.peers.values()];
  }

  /** How many connected peers have each piece (seeds included), for a piece map: what rarest first sees. */
  availability(): number[] {
    return Array.from({ length: this.pieceCount }, (_, i) => this.picker.availability(i));
  }

  /** Whether `peer` holds the optimistic unchoke slot now. */
  isOptimistic(peer: PeerConnection): boolean {
    return this.slots.isOptimistic(peer);
  }

  /** Select or skip pieces (file selection): a skipped piece is never requested. Interest follows at once. */
  selectPieces(wanted: (index: number) => boolean): void {
    for (let i = 0; i < this.pieceCount; i++) this.picker.setWanted(i, wanted(i));
    if (!this.acceptsPeers) return;
    for (const p of this.peers.values()) {
      this.updateInterest(p);
      this.fillRequests(p);
    }
  }

  /** Every selected piece is verified (all of them unless some were skipped with selectPieces). */
  get selectedComplete(): boolean {
    return this.picker.complete;
  }

  /** Check existing data, then announce and start trading. */
  async start(): Promise<void> {
    if (this.options.fileStore !== undefined) {
      const r = await checkExisting(this.metainfo, this.options.fileStore, this.options.resumeFile, {
        ...(this.options.onCheckProgress !== undefined && { onProgress: this.options.onCheckProgress }),
        ...(this.options.signal !== undefined && { signal: this.options.signal }),
      });
      const have = Bitfield.fromBytes(r.have, this.pieceCount);
      for (let i = 0; i < this.pieceCount; i++) {
        if (have.has(i)) {
          this.have.set(i);
          this.picker.markHave(i);
        }
      }
      this.checked = { type: 'checked', have: this.have.count, trusted: r.trusted, rechecked: r.rechecked };
      // Pieces just hashed are recorded, so the next start trusts them instead of hashing them all again.
      if (r.rechecked > 0) this.resumeDirty = true;
      this.emit(this.checked);
    }
    if (this.options.assumeComplete === true) for (let i = 0; i < this.pieceCount; i++) if (!this.have.has(i)) {
      this.have.set(i);
      this.picker.markHave(i);
    }
    this.state = this.have.complete ? 'seeding' : 'downloading';
    if (this.options.superSeed === true && this.have.complete) {
      const seeder = new SuperSeeder({ pieceCount: this.pieceCount, random: this.session.random, availability: (i) => this.picker.availability(i) });
      const m = this.metainfo;
      this.superSeeding = new SuperSeeding({ peers: () => this.peers.values(), now: () => this.now(), pieceCount: m.pieceCount, pieceLength: m.pieceLength, pieceSize: (i) => m.layout.pieceSize(i) }, seeder);
    }
    this.lastResumeAt = this.now();
    if (this.options.trackers !== false && !this.metainfo.announceList.every((t) => t.length === 0)) {
      const { session } = this;
      const tiers = new TrackerTiers(this.metainfo.announceList, {
        random: session.random,
        open: (url) => createTrackerClient(url, { httpGet: session.httpGet, ...(session.udpTrackers !== undefined && { udp: session.udpTrackers }) }),
      });
      this.announcer = new Announcer(
        { clock: session.clock, tiers },
        {
          infoHash: this.infoHash,
          peerId: session.peerId,
          port: session.port,
          key: Math.floor(session.random() * 2 ** 32),
          numbers: () => ({ uploaded: this.uploaded, downloaded: this.downloaded, left: this.metainfo.length - this.progress.bytes, numWant: 50 }),
          onAnswer: (url, result, event) => {
            this.emit({ type: 'tracker', url, event, peers: result.peers.length, ...(result.warning !== undefined && { warning: result.warning }) });
            this.addCandidates(result.peers);
          },
          onFailure: (e: TrackerError, event) => this.emit({ type: 'tracker-error', event, message: e.message }),
        },
      );
      this.announcer.start();
    }
    const dht = this.session.dht;
    if (dht !== undefined && !this.metainfo.private && this.options.dht !== false) {
      this.dhtAnnouncer = new DhtAnnouncer(dht, this.session.clock, this.infoHash, this.session.port, {
        peers: (list) => {
          this.emit({ type: 'dht', peers: list.length });
          this.addCandidates(list);
        },
      });
      this.dhtAnnouncer.start();
    }
    this.addCandidates(this.options.peers ?? []);
    if (this.have.complete) this.emit({ type: 'complete' });
    this.tick();
  }

  /** Leave: tell the tracker `stopped`, close every connection, remember what we have. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const failed = this.state === 'error';
    if (!failed) this.state = 'stopped';
    this.tickTimer?.cancel();
    this.refillTimer?.cancel();
    this.dhtAnnouncer?.stop();
    for (const peer of [...this.peers.values()]) peer.close('torrent stopped');
    await Promise.all([this.announcer?.stop(), this.writeResume()]);
    await this.store.close().catch(() => undefined);
    this.session.forget(this);
  }

  // --- peers ---------------------------------------------------------------

  addCandidates(list: readonly Endpoint[]): void {
    this.candidates.add(list);
    this.connectMore();
  }

  /** Attach a handshaken connection; false when we don't want it (banned, full, duplicate). */
  addPeer(peer: PeerConnection): boolean {
    if (!this.acceptsPeers) return false;
    if (this.banned.has(this.banKey(peer))) return false;
    for (const p of this.peers.values()) {
      if (Buffer.compare(p.peerId, peer.peerId) !== 0) continue;
      // Two peers that dial each other at the same moment each hold two connections. Both keep the one opened by the
      // peer with the lower id (libtorrent's rule): refusing the newer one on both sides would close both.
      const keepNew = peer.outgoing !== p.outgoing && peer.outgoing === Buffer.compare(this.session.peerId, peer.peerId) < 0;
      if (!keepNew) return false;
      p.close('duplicate connection');
      break;
    }
    if (this.peers.size >= (this.options.maxPeers ?? 50)) return false;
    this.peers.set(peer.key, peer);
    const now = this.now();
    peer.attach(
      {
        message: (p, m) => this.onMessage(p, m),
        closed: (p, reason) => this.onClosed(p, reason),
        drain: (p) => this.uploader.serve(p),
      },
      () => this.session.clock.now(),
    );
    if (peer.isClosed) return true;
    const out: Message[] = [];
    // BEP 10: the extension handshake comes first after the BitTorrent handshake.
    if (peer.extensions.extended) {
      const payload = encodeExtendedHandshake({
        m: this.extensions.handshakeMap(),
        v: 'peerkit 0.1.0',
        reqq: OUR_REQQ,
        p: this.session.port,
        ...(/^\d+\.\d+\.\d+\.\d+$/.test(peer.remote.host) && { yourip: Uint8Array.from(peer.remote.host.split('.').map(Number)) }),
        metadataSize: this.metainfo.infoBytes.length,
      });
      out.push({ type: 'extended', id: 0, payload });
    }
    // BEP 6 lets us say "all" or "none" in one byte; otherwise a bitfield, omitted when empty (BEP 3 allows that).
    // A super-seeder says it has nothing and offers pieces one by one.
    const hiding = this.superSeeding?.active === true;
    if (peer.extensions.fast && this.have.complete && !hiding) out.push({ type: 'have-all' });
    else if (peer.extensions.fast && (this.have.count === 0 || hiding)) out.push({ type: 'have-none' });
    else if (this.have.count > 0 && !hiding) out.push({ type: 'bitfield', bitfield: this.have.bytes });
    // BEP 5: tell a DHT-capable peer where our node listens.
    const dht = this.session.dht;
    if (peer.extensions.dht && dht !== undefined && !this.metainfo.private) out.push({ type: 'port', port: dht.local.port });
    peer.sendAll(out, now);
    // A super-seeder's first offers wait for the peer's bitfield (or have-none), so they are not pieces it has;
    // a peer with nothing may send neither, and gets them at the next tick.
    this.emit({ type: 'peer-connected', address: peer.address, client: clientName(peer.peerId), outgoing: peer.outgoing });
    return true;
  }

  private onClosed(peer: PeerConnection, reason: string): void {
    if (this.peers.get(peer.key) !== peer) return;
    this.peers.delete(peer.key);
    this.picker.removePeer(peer.key);
    this.superSeeding?.removePeer(peer.key);
    this.uploader.forget(peer);
    this.extensions.forget(peer);
    // Two seeds have nothing to say to each other: not again while we seed. Anyone else may be dialled again, after a pause,
    // so that peers that close on each other do not reconnect every round trip.
    this.candidates.released(peer.remote, this.now() + (this.have.complete && peer.pieces.complete ? Infinity : RECONNECT_MS));
    this.emit({ type: 'peer-disconnected', address: peer.address, reason });
    // Its requested blocks are free again: give them to the others.
    for (const p of this.peers.values()) this.fillRequests(p);
    this.slots.left(peer);
    this.connectMore();
  }

  private connectMore(): void {
    if (!this.acceptsPeers) return;
    const room = (this.options.maxPeers ?? 50) - this.peers.size - this.dialling;
    if (room <= 0 || !this.session.canConnect()) return;
    const targets = this.candidates.take(room, this.now(), (e) => this.banned.has(e.host));
    for (const endpoint of targets) {
      this.dialling++;
      this.session.connect(this, endpoint).then(
        (attached) => {
          this.dialling--;
          if (!attached) this.candidates.failed(endpoint, this.now()); // a duplicate or refused: not again soon
        },
        () => {
          this.dialling--;
          this.candidates.failed(endpoint, this.now());
        },
      );
    }
  }

  /** Loopback and private networks put many peers on one address: ban those by peer id as well. */
  private banKey(peer: PeerConnection): string {
    const h = peer.remote.host;
    const shared = h.startsWith('127.') || h === '::1' || h.startsWith('::ffff:127.');
    return shared ? `${h}/${Buffer.from(peer.peerId).toString('hex')}` : h;
  }

  private ban(peer: PeerConnection, reason: string): void {
    this.banned.add(this.banKey(peer));
    this.emit({ type: 'peer-banned', address: peer.address, reason });
    peer.close(`banned: ${reason}`);
  }

  // --- messages ------------------------------------------------------------

  private onMessage(peer: PeerConnection, m: Message): void {
    const now = this.now();
    switch (m.type) {
      case 'keep-alive':
      case 'suggest':
      case 'unknown':
        return;
      case 'port':
        return this.extensions.onPort(peer, m.port);
      case 'choke':
        peer.peerChoking = true;
        peer.cancelRttProbe();
        // Without the fast extension a choke discards our requests (BEP 3); with it, the peer
        // rejects them one by one (BEP 6), but we put them back now rather than wait on it.
        this.picker.releaseAll(peer.key);
        for (const p of this.peers.values()) if (p !== peer) this.fillRequests(p);
        if (peer.allowedFast.size > 0) this.fillRequests(peer);
        return;
      case 'unchoke':
        peer.peerChoking = false;
        this.fillRequests(peer);
        return;
      case 'interested':
        peer.peerInterested = true;
        this.slots.interested(peer, now);
        return;
      case 'not-interested':
        peer.peerInterested = false;
        // A super-seeder may have more to offer it, and a peer offered new pieces will want them at once:
        // choking it would cost it two round trips.
        if ((this.superSeeding?.offer(peer) ?? 0) > 0) return;
        this.slots.lostInterest(peer, now);
        return;
      case 'have':
        if (m.index >= this.pieceCount) return peer.close('have for a piece that does not exist');
        if (peer.pieces.has(m.index)) return;
        peer.pieces.set(m.index);
        this.picker.peerHave(peer.key, m.index);
        if (this.have.complete && peer.pieces.complete) return peer.close('both seeding');
        if (this.superSeeding?.active === true) {
          this.superSeeding.offer(peer);
          return;
        }
        // One new piece can only make it interesting, and only if we want that piece.
        if (!peer.amInterested && !this.have.complete && this.picker.wants(m.index) && !this.picker.has(m.index)) this.updateInterest(peer);
        this.fillRequests(peer);
        return;
      case 'bitfield': {
        const pieces = Bitfield.fromBytes(m.bitfield, this.pieceCount);
        if (!peer.sentPieces) {
          peer.pieces = pieces;
          return this.peerPieces(peer, peer.pieces);
        }
        // BEP 3 puts the bitfield first only, but aria2 sends a later one in place of 20 or
        // more `have`s (and have-all when it finishes), as libtorrent accepts: take them as haves.
        for (let i = 0; i < this.pieceCount; i++) if (pieces.has(i)) this.laterHave(peer, i);
        return this.afterPeerPieces(peer);
      }
      case 'have-all':
      case 'have-none':
        if (!peer.extensions.fast) return peer.close(`${m.type} without the fast extension`);
        if (peer.sentPieces) {
          if (m.type === 'have-all') for (let i = 0; i < this.pieceCount; i++) this.laterHave(peer, i);
          return this.afterPeerPieces(peer);
        }
        if (m.type === 'have-all') peer.pieces.setAll();
        return this.peerPieces(peer, m.type === 'have-all' ? 'all' : 'none');
      case 'request':
        return this.onRequest(peer, m, now);
      case 'cancel':
        this.uploader.cancel(peer, m);
        return;
      case 'piece':
        return this.onBlock(peer, m.index, m.begin, m.block, now);
      case 'reject':
        if (!peer.extensions.fast) return peer.close('reject without the fast extension');
        peer.cancelRttProbe();
        this.picker.release(peer.key, m);
        this.fillRequests(peer);
        return;
      case 'allowed-fast':
        if (m.index < this.pieceCount) peer.allowedFast.add(m.index);
        if (peer.peerChoking) this.fillRequests(peer);
        return;
      case 'extended':
        if (m.id === 0) {
          const h = decodeExtendedHandshake(m.payload);
          peer.extensionIds = h.m;
          if (h.reqq !== undefined && h.reqq > 0) peer.maxRequests = Math.min(h.reqq, 2000);
          if (h.v !== undefined) peer.clientVersion = h.v;
          this.extensions.onHandshake(peer, h);
        } else {
          this.extensions.onMessage(peer, m.id, m.payload, now);
        }
        return;
    }
  }

  private laterHave(peer: PeerConnection, index: number): void {
    if (peer.pieces.has(index)) return;
    peer.pieces.set(index);
    this.picker.peerHave(peer.key, index);
  }

  private peerPieces(peer: PeerConnection, pieces: Bitfield | 'all' | 'none'): void {
    peer.sentPieces = true;
    this.picker.addPeer(peer.key, pieces === 'all' || pieces === 'none' ? pieces : peer.pieces);
    this.afterPeerPieces(peer);
  }

  private afterPeerPieces(peer: PeerConnection): void {
    // Two seeds have nothing to say to each other.
    if (this.have.complete && peer.pieces.complete) return peer.close('both seeding');
    if (this.superSeeding?.active === true) {
      this.superSeeding.offer(peer);
      return;
    }
    this.updateInterest(peer);
    this.fillRequests(peer);
  }

  private updateInterest(peer: PeerConnection): void {
    const interested = !this.have.complete && this.picker.isInteresting(peer.pieces);
    if (interested === peer.amInterested) return;
    peer.amInterested = interested;
    peer.send({ type: interested ? 'interested' : 'not-interested' }, this.now());
  }

  private onRequest(peer: PeerConnection, r: BlockRef, now: number): void {
    const valid = r.index < this.pieceCount && r.length > 0 && r.length <= MAX_REQUEST && r.begin + r.length <= this.metainfo.layout.pieceSize(r.index);
    if (!valid) return peer.close(`bad request ${r.index}:${r.begin}+${r.length}`);
    const reject = (): void => {
      if (peer.extensions.fast) peer.send({ type: 'reject', index: r.index, begin: r.begin, length: r.length }, now);
    };
    // Choked peers get no data (BEP 3); nor do requests for pieces we don't have.
    if (peer.amChoking || !this.have.has(r.index) || peer.requests.length >= OUR_REQQ) return reject();
    if (this.superSeeding !== undefined && !this.superSeeding.mayRequest(peer.key, r.index)) return reject();
    this.uploader.enqueue(peer, r);
  }

  // --- downloading -----------------------------------------------------------

  private onBlock(peer: PeerConnection, index: number, begin: number, block: Uint8Array, now: number): void {
    const len = block.length;
    this.downloaded += len;
    this.downloadRate.add(len, now);
    peer.download.add(len, now);
    peer.downloadAverage.add(len, now);
    peer.blockArrived(now, index, begin);
    if (index >= this.pieceCount || begin + len > this.metainfo.layout.pieceSize(index)) return peer.close(`block outside piece ${index}`);
    const r = this.picker.onBlock(peer.key, { index, begin, length: len });
    if (!r.wanted) {
      this.wasted += len;
      this.fillRequests(peer);
      return;
    }
    peer.lastBlockAt = now;
    peer.snubbed = false;
    this.assembler.block(index, begin, block);
    for (const key of r.cancel) {
      const other = this.peers.get(key);
      other?.send({ type: 'cancel', index, begin, length: len }, now);
    }
    if (r.pieceReady) this.assembler.complete(index);
    this.fillRequests(peer);
  }

  /** A piece failed its hash check: blame and perhaps ban the peers that sent it, and fetch it again. */
  private pieceFailed(index: number): void {
    this.wasted += this.metainfo.layout.pieceSize(index);
    const contributors = this.picker.pieceFailed(index);
    const sent = contributors.map((k) => this.peers.get(k)).filter((p): p is PeerConnection => p !== undefined);
    this.emit({ type: 'hash-failed', index, peers: sent.map((p) => p.address) });
    for (const p of sent) {
      const key = this.banKey(p);
      const strikes = (this.strikes.get(key) ?? 0) + 1;
      this.strikes.set(key, strikes);
      // A peer that sent every block of a bad piece sent bad data: no doubt about whom to blame.
      if (contributors.length === 1) this.ban(p, `sent piece ${index}, which failed its hash check`);
      else if (strikes >= MAX_STRIKES) this.ban(p, `took part in ${strikes} pieces that failed their hash check`);
    }
    for (const p of this.peers.values()) this.fillRequests(p);
  }

  private pieceWritten(index: number): void {
    if (this.state !== 'downloading') return;
    this.picker.pieceVerified(index);
    this.have.set(index);
    this.resumeDirty = true;
    this.emit({ type: 'piece-verified', index });
    const now = this.now();
    for (const p of this.peers.values()) {
      // BEP 3: tell everyone, so they know whom to ask; a peer that has it too does not need it,
      // but some clients count `have` for availability, so it goes to all.
      p.send({ type: 'have', index }, now);
      if (p.pieces.has(index)) this.updateInterest(p);
    }
    if (this.have.complete) this.completed();
  }

  private completed(): void {
    this.state = 'seeding';
    this.announcer?.completed();
    void this.writeResume();
    for (const p of [...this.peers.values()]) {
      if (p.pieces.complete) p.close('both seeding');
      else this.updateInterest(p);
    }
    this.emit({ type: 'complete' });
  }

  /** Keep `peer`'s request pipeline full: deep enough for its rate, never more than it queues. */
  private fillRequests(peer: PeerConnection): void {
    if (peer.isClosed || !peer.amInterested || this.state !== 'downloading' || this.refillTimer !== undefined) return;
    const choked = peer.peerChoking;
    if (choked && peer.allowedFast.size === 0) return;
    const now = this.now();
    const depth = peer.snubbed ? 1 : requestQueueDepth(peer.download.rate(now), { blockSize: this.picker.blockSize, max: peer.maxRequests, latencyMs: requestQueueTime(peer.rtt) });
    const outstanding = this.picker.outstanding(peer.key);
    let want = depth - outstanding;
    // Top the pipeline up in batches, not one request per block received: fewer, larger sends.
    if (want <= 0 || (outstanding > 0 && want < Math.max(1, depth >> 3))) return;
    // A download cap: request no more than it lets in now (at least one block, which then waits its turn).
    const room = Math.min(this.session.downloadLimit.available(now), this.downloadLimit.available(now));
    if (room !== Infinity) want = Math.min(want, Math.max(1, Math.floor(room / this.picker.blockSize)));
    const blocks = this.picker.pick(peer.key, peer.pieces, want, choked ? peer.allowedFast : undefined);
    if (blocks.length === 0) return;
    // Nothing was queued at the peer, so the first block back measures the round trip (queue-depth.ts).
    if (outstanding === 0 && !choked) peer.startRttProbe(now, blocks[0]!);
    if (outstanding === 0) peer.requestedAt = now;
    peer.sendAll(
      blocks.map((b) => ({ type: 'request', index: b.index, begin: b.begin, length: b.length })),
      now,
    );
    // A download cap: requests are what pull data in, so pace them.
    const wait = takeAll([this.session.downloadLimit, this.downloadLimit], blocks.length * this.picker.blockSize, now);
    if (wait > 0) this.pauseRequests(wait);
  }

  private pauseRequests(ms: number): void {
    if (this.refillTimer !== undefined) return;
    this.refillTimer = this.session.clock.setTimer(ms, () => {
      this.refillTimer = undefined;
      for (const p of this.peers.values()) this.fillRequests(p);
    });
  }

  // --- housekeeping ------------------------------------------------------------

  private tick(): void {
    if (this.state === 'stopped' || this.state === 'error') return;
    const now = this.now();
    for (const p of [...this.peers.values()]) {
      if (now - p.lastReceivedAt > IDLE_TIMEOUT_MS) {
        p.close('idle for 3 minutes');
        continue;
      }
      if (now - p.lastSentAt > KEEPALIVE_MS) p.send({ type: 'keep-alive' }, now);
      // Endgame: a peer holding some of the last blocks that has sent nothing for a while is not waited for.
      if (this.picker.inEndgame && this.picker.outstanding(p.key) > 0 && now - Math.max(p.lastBlockAt, p.requestedAt) > Math.max(ENDGAME_STALL_MS, 4 * (p.rtt ?? 0))) {
        p.cancelRttProbe();
        this.picker.releaseAll(p.key);
        for (const o of this.peers.values()) if (o !== p) this.fillRequests(o);
      }
      if (!p.snubbed && this.picker.outstanding(p.key) > 0 && now - p.lastBlockAt > SNUB_MS) {
        // Snubbed (it ignores our requests): hand its blocks to others and ask it for one at a time.
        p.snubbed = true;
        p.cancelRttProbe();
        this.picker.releaseAll(p.key);
        for (const o of this.peers.values()) this.fillRequests(o);
      }
    }
    this.slots.tick(now);
    if (this.resumeDirty && now - this.lastResumeAt >= RESUME_SAVE_MS) void this.writeResume();
    if (this.peers.size < 5) {
      this.announcer?.wantMorePeers();
      this.dhtAnnouncer?.wantMorePeers();
    }
    this.extensions.tick(now);
    this.superSeeding?.tick();
    this.connectMore();
    this.tickTimer = this.session.clock.setTimer(TICK_MS, () => this.tick());
  }

  private async writeResume(): Promise<void> {
    const { fileStore, resumeFile } = this.options;
    if (fileStore === undefined || resumeFile === undefined || !this.resumeDirty) return;
    this.resumeDirty = false;
    this.lastResumeAt = this.now();
    try {
      await saveResume(this.metainfo, fileStore, resumeFile, () => this.have.bytes.slice());
    } catch {
      this.resumeDirty = true; // try again later; losing resume data only costs a recheck
    }
  }

  private fail(e: Error): void {
    if (this.state === 'error' || this.state === 'stopped') return;
    this.state = 'error';
    this.error = e;
    this.emit({ type: 'error', error: e });
    void this.stop();
  }

  private now(): number {
    return this.session.clock.now();
  }

  private emit(e: TorrentEvent): void {
    for (const l of this.listeners) l(e);
  }
}

/** A cap of 0 (or none) means no cap, as in other clients' settings. */
export function unlimitedIfZero(rate: number | undefined): number {
  return rate === undefined || rate <= 0 ? Infinity : rate;
}
