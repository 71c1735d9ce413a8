import type { Random } from '../../net/index.js';
import { TrackerError } from '../errors.js';
import { rememberTrackerId } from './schedule.js';
import type { AnnounceParams, AnnounceResult, RequestOptions, ScrapeFile, TrackerClient } from './types.js';

/*
 * Multitracker metadata (BEP 12).
 *
 *   announce-list: [ [a, b, c], [d, e], [f] ]      tiers, tried in order
 *
 * - Each tier is shuffled once, when the list is loaded.
 * - Trackers are tried in order: each tracker of the first tier, then each
 *   of the second, and so on, until one answers.
 * - The tracker that answers moves to the front of its tier, so the next
 *   announce goes straight to it:  [a, b, c] and b answers -> [b, a, c].
 *
 * Which protocol a URL speaks is the `open` component's business (see
 * createTrackerClient), so this class is the same for HTTP, UDP and fakes.
 */

export interface TrackerTiersComponents {
  /** For the shuffle within each tier. */
  readonly random: Random;
  /** The client for a tracker URL, or undefined for a scheme we do not speak (skipped like a failure). */
  readonly open: (url: string) => TrackerClient | undefined;
}

/** A tracker that was tried and failed, in the order tried. */
export interface TierFailure {
  readonly url: string;
  readonly error: TrackerError;
}

export interface TierAnswer<T> {
  /** The tracker that answered. */
  readonly url: string;
  readonly result: T;
  /** The trackers tried before it. */
  readonly failed: readonly TierFailure[];
}

function toTrackerError(e: unknown): TrackerError {
  return e instanceof TrackerError ? e : new TrackerError('network', e instanceof Error ? e.message : String(e));
}

/** Fisher-Yates with the injected random source (never Math.random: DESIGN.md). */
export function shuffle<T>(items: readonly T[], random: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export class TrackerTiers {
  private readonly list: string[][];
  private readonly open: (url: string) => TrackerClient | undefined;
  private readonly clients = new Map<string, TrackerClient | undefined>();
  private trackerIds: ReadonlyMap<string, Uint8Array> = new Map();

  /**
   * `tiers` is the torrent's announce-list, or `[[announce]]` when it has
   * none. Empty tiers and repeated URLs (a later copy) are dropped.
   */
  constructor(tiers: readonly (readonly string[])[], components: TrackerTiersComponents) {
    this.open = components.open;
    const seen = new Set<string>();
    this.list = [];
    for (const tier of tiers) {
      const urls: string[] = [];
      for (const url of tier) {
        if (seen.has(url)) continue;
        seen.add(url);
        urls.push(url);
      }
      if (urls.length > 0) this.list.push(shuffle(urls, components.random));
    }
  }

  /** The tiers in their current order (a copy). */
  get tiers(): string[][] {
    return this.list.map((t) => [...t]);
  }

  /** The `tracker id` a tracker gave us (BEP 3), sent back on every later announce to it. */
  trackerId(url: string): Uint8Array | undefined {
    return this.trackerIds.get(url);
  }

  /** Announce to the first tracker, in BEP 12 order, that answers. Rejects with a TrackerError when none does. */
  async announce(params: AnnounceParams, options: RequestOptions = {}): Promise<TierAnswer<AnnounceResult>> {
    const answer = await this.first((client) => {
      const trackerId = this.trackerIds.get(client.url) ?? params.trackerId;
      const { trackerId: _, ...rest } = params;
      return client.announce(trackerId === undefined ? rest : { ...rest, trackerId }, options);
    }, options);
    this.trackerIds = rememberTrackerId(this.trackerIds, answer.url, answer.result);
    return answer;
  }

  /** Scrape the first tracker, in the same order, that answers. */
  scrape(infoHashes: readonly Uint8Array[], options: RequestOptions = {}): Promise<TierAnswer<ScrapeFile[]>> {
    return this.first((client) => client.scrape(infoHashes, options), options);
  }

  private client(url: string): TrackerClient | undefined {
    if (!this.clients.has(url)) {
      let c: TrackerClient | undefined;
      try {
        c = this.open(url);
      } catch {
        c = undefined; // a URL the client refuses is one we cannot use: the same as an unknown scheme
      }
      this.clients.set(url, c);
    }
    return this.clients.get(url);
  }

  private async first<T>(ask: (client: TrackerClient) => Promise<T>, options: RequestOptions): Promise<TierAnswer<T>> {
    const failed: TierFailure[] = [];
    for (const tier of this.list) {
      // Iterate over a snapshot: a concurrent request may reorder the tier.
      for (const url of [...tier]) {
        if (options.signal?.aborted === true) throw new TrackerError('network', 'aborted');
        const client = this.client(url);
        if (client === undefined) {
          failed.push({ url, error: new TrackerError('bad-param', `unsupported tracker URL: ${url}`) });
          continue;
        }
        try {
          const result = await ask(client);
          this.promote(tier, url);
          return { url, result, failed };
        } catch (e) {
          failed.push({ url, error: toTrackerError(e) });
        }
      }
    }
    const last = failed[failed.length - 1];
    if (last === undefined) throw new TrackerError('bad-param', 'no trackers');
    throw new TrackerError(last.error.code, `every tracker failed: ${failed.map((f) => `${f.url}: ${f.error.message}`).join('; ')}`);
  }

  /** BEP 12: the tracker that answered goes to the front of its tier. */
  private promote(tier: string[], url: string): void {
    const i = tier.indexOf(url);
    if (i > 0) {
      tier.splice(i, 1);
      tier.unshift(url);
    }
  }
}
