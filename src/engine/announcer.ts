import type { Clock, Timer } from '../net/index.js';
import {
  afterAnnounce,
  afterFailure,
  INITIAL_ANNOUNCE_STATE,
  nextAnnounceAt,
  type AnnounceEvent,
  type AnnounceResult,
  type AnnounceState,
  type TrackerTiers,
} from '../tracker/client/index.js';
import { TrackerError } from '../tracker/index.js';

/*
 * One torrent's conversation with its trackers (BEP 3, 12): `started` when
 * the torrent starts, regular re-announces on the tracker's interval (the
 * schedule policy in src/tracker/client decides when), `completed` the
 * moment the last piece is verified, and `stopped` when we leave, so the
 * tracker stops handing out our address. Failures back off per the schedule.
 */

export interface AnnounceNumbers {
  readonly uploaded: number;
  readonly downloaded: number;
  readonly left: number;
  readonly numWant: number;
}

export interface AnnouncerComponents {
  readonly clock: Clock;
  readonly tiers: TrackerTiers;
}

export interface AnnouncerInit {
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly port: number;
  readonly key: number;
  /** The transfer totals at the moment of each announce. */
  readonly numbers: () => AnnounceNumbers;
  readonly onAnswer: (url: string, result: AnnounceResult, event: AnnounceEvent) => void;
  readonly onFailure: (error: TrackerError, event: AnnounceEvent) => void;
}

/** How long `stop` waits for the tracker to acknowledge `stopped` before leaving anyway. */
const STOP_TIMEOUT_MS = 5000;

export class Announcer {
  private state: AnnounceState = INITIAL_ANNOUNCE_STATE;
  private timer: Timer | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly components: AnnouncerComponents,
    private readonly init: AnnouncerInit,
  ) {}

  start(): void {
    void this.announce('started');
  }

  /** Report `completed` now (BEP 3: sent when the download completes). */
  completed(): void {
    if (!this.stopped) void this.announce('completed');
  }

  /** Ask early for more peers, if the tracker's `min interval` allows. */
  wantMorePeers(): void {
    if (this.stopped || this.inFlight !== undefined) return;
    const now = this.components.clock.now();
    if (nextAnnounceAt(this.state, now, 'more-peers') <= now) void this.announce('none');
  }

  /** Send `stopped` (waiting at most a few seconds for the answer), then go quiet. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    // Only a torrent that announced `started` successfully has anything to retract.
    if (this.state.lastSuccessAt === undefined) {
      this.abort.abort();
      return;
    }
    const { clock } = this.components;
    let timer: Timer | undefined;
    const timeout = new Promise<void>((resolve) => (timer = clock.setTimer(STOP_TIMEOUT_MS, resolve)));
    // A `completed` still in flight goes first, so the tracker never hears them out of order.
    const inFlight = this.inFlight ?? Promise.resolve();
    await Promise.race([inFlight.then(() => this.send('stopped')), timeout]);
    timer?.cancel();
    this.abort.abort();
  }

  private async announce(event: AnnounceEvent): Promise<void> {
    if (this.stopped) return;
    if (this.inFlight !== undefined) await this.inFlight;
    if (this.stopped) return;
    this.timer?.cancel();
    this.inFlight = this.send(event);
    await this.inFlight;
    this.inFlight = undefined;
    if (this.stopped) return;
    const now = this.components.clock.now();
    const at = nextAnnounceAt(this.state, now, 'regular');
    this.timer = this.components.clock.setTimer(Math.max(0, at - now), () => void this.announce('none'));
  }

  private async send(event: AnnounceEvent): Promise<void> {
    const { clock, tiers } = this.components;
    const sentAt = clock.now();
    const n = this.init.numbers();
    try {
      const answer = await tiers.announce(
        {
          infoHash: this.init.infoHash,
          peerId: this.init.peerId,
          port: this.init.port,
          uploaded: n.uploaded,
          downloaded: n.downloaded,
          left: n.left,
          event,
          numWant: event === 'stopped' ? 0 : n.numWant,
          key: this.init.key,
        },
        { signal: this.abort.signal },
      );
      this.state = afterAnnounce(this.state, answer.result, sentAt);
      this.init.onAnswer(answer.url, answer.result, event);
    } catch (e) {
      this.state = afterFailure(this.state, sentAt);
      this.init.onFailure(e instanceof TrackerError ? e : new TrackerError('network', String(e)), event);
    }
  }
}
