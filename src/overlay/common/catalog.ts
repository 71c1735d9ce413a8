import type { Endpoint } from '../../net/index.js';
import { matches, sourceKey, type Query, type SharedFile, type Source } from './shared.js';

/*
 * An index of sources, shared by the overlays that keep one (the directory
 * server for every registered peer, a super-peer leader for its members):
 * each listing's files, found by content
 * hash (a map) or by keywords (an inverted index of the words of the
 * names). Matching is exactly `matches()` from common/shared.ts, the rule
 * every overlay uses: each keyword must appear in the lower-cased name. A
 * keyword is made of letters and digits only (parseQuery splits on the
 * rest), so it appears in a name exactly when it appears inside one of the
 * name's words; the index therefore finds the words that contain a keyword
 * (one scan over the distinct words, far fewer than the files, for all the
 * keywords at once) and takes the files of the most selective keyword as
 * candidates.
 *
 * A search may cost at most `maxExamined` candidates: a keyword whose words
 * hold more files than that stops being tracked during the scan (and when
 * every keyword is that broad the scan stops), and a search that reaches the
 * bound returns what it found so far, marked truncated. A searcher cannot
 * make one search walk the whole index.
 */

/** One registered peer's listing: where its files are served and what they are. */
export interface Listing {
  readonly address: Endpoint;
  /** By content hash: a peer lists a file once, whatever its names. */
  readonly files: Map<string, Entry>;
}

interface Entry {
  readonly listing: Listing;
  readonly file: SharedFile;
}

export interface Found {
  readonly sources: Source[];
  /** More matched than `limit`, or the search stopped at `maxExamined` candidates (more may match). */
  readonly truncated: boolean;
  /** Candidates checked against the query: the work the search did, at most `maxExamined`. */
  readonly examined: number;
}

/** Candidates one search examines at most, by default. */
export const MAX_EXAMINED = 20_000;

export interface CatalogOptions {
  /** Candidates one search examines at most; a search that reaches it returns what it found, truncated. @default MAX_EXAMINED */
  readonly maxExamined?: number;
}

const WORD_SPLIT = /[^\p{L}\p{N}]+/u;

/** The distinct runs of letters and digits of a lower-cased name. */
export function words(name: string): string[] {
  return [...new Set(name.toLowerCase().split(WORD_SPLIT).filter((w) => w.length > 0))];
}

export class Catalog {
  private readonly byHash = new Map<string, Set<Entry>>();
  private readonly byWord = new Map<string, Set<Entry>>();
  private count = 0;
  private readonly maxExamined: number;

  constructor(options: CatalogOptions = {}) {
    this.maxExamined = Math.max(1, options.maxExamined ?? MAX_EXAMINED);
  }

  /** Files listed, over all peers. */
  get files(): number {
    return this.count;
  }

  newListing(address: Endpoint): Listing {
    return { address, files: new Map() };
  }

  /** Add a file to a listing; false when the listing already has that content. */
  add(listing: Listing, file: SharedFile): boolean {
    if (listing.files.has(file.hash)) return false;
    const entry: Entry = { listing, file };
    listing.files.set(file.hash, entry);
    insert(this.byHash, file.hash, entry);
    for (const w of words(file.name)) insert(this.byWord, w, entry);
    this.count++;
    return true;
  }

  /** Remove one file of a listing; false when it was not listed. */
  remove(listing: Listing, hash: string): boolean {
    const entry = listing.files.get(hash);
    if (entry === undefined) return false;
    this.unindex(entry);
    listing.files.delete(hash);
    return true;
  }

  /** Remove every file of a listing (its peer left, expired or re-registered). */
  clear(listing: Listing): void {
    for (const entry of listing.files.values()) this.unindex(entry);
    listing.files.clear();
  }

  private unindex(entry: Entry): void {
    remove(this.byHash, entry.file.hash, entry);
    for (const w of words(entry.file.name)) remove(this.byWord, w, entry);
    this.count--;
  }

  /** The first `limit` sources that match, one per file and address, examining at most `maxExamined` candidates. */
  find(query: Query, limit: number): Found {
    const sources: Source[] = [];
    const seen = new Set<string>();
    const { entries, partial } = this.candidates(query);
    let examined = 0;
    for (const entry of entries) {
      if (examined >= this.maxExamined) return { sources, truncated: true, examined };
      examined++;
      if (!matches(entry.file, query)) continue;
      const source: Source = { ...entry.file, address: entry.listing.address };
      // Two connections from one host may register the same files port: list that source once.
      const key = sourceKey(source);
      if (seen.has(key)) continue;
      if (sources.length === limit) return { sources, truncated: true, examined };
      seen.add(key);
      sources.push(source);
    }
    return { sources, truncated: partial, examined };
  }

  /**
   * Entries that may match: for keywords, those of the most selective keyword, found in one scan of the words. A keyword
   * whose words hold more than `maxExamined` files is dropped from the scan; when all are, the scan stops and the
   * candidates are those gathered so far (`partial`: more may match).
   */
  private candidates(query: Query): { entries: Iterable<Entry>; partial: boolean } {
    if (query.kind === 'hash') return { entries: this.byHash.get(query.hash) ?? [], partial: false };
    const keywords = query.keywords;
    const sets: Set<Entry>[][] = keywords.map(() => []);
    const sizes: number[] = keywords.map(() => 0);
    const tracked: boolean[] = keywords.map(() => true);
    let left = keywords.length;
    for (const [w, set] of this.byWord) {
      for (let i = 0; i < keywords.length; i++) {
        if (!tracked[i] || !w.includes(keywords[i]!)) continue;
        sets[i]!.push(set);
        sizes[i]! += set.size;
        if (sizes[i]! > this.maxExamined) {
          tracked[i] = false;
          left--;
        }
      }
      if (left === 0) break;
    }
    let best = -1;
    for (let i = 0; i < keywords.length; i++) {
      if (tracked[i] && (best < 0 || sizes[i]! < sizes[best]!)) best = i;
    }
    if (best >= 0) return { entries: union(sets[best]!), partial: false };
    // Every keyword is broader than one search may examine: take the first one's files, as far as they go.
    return { entries: union(sets[0] ?? []), partial: true };
  }
}

function* union(sets: readonly Set<Entry>[]): Iterable<Entry> {
  if (sets.length === 1) {
    yield* sets[0]!;
    return;
  }
  const seen = new Set<Entry>();
  for (const set of sets) {
    for (const e of set) {
      if (seen.has(e)) continue;
      seen.add(e);
      yield e;
    }
  }
}

function insert(map: Map<string, Set<Entry>>, key: string, entry: Entry): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(entry);
}

function remove(map: Map<string, Set<Entry>>, key: string, entry: Entry): void {
  const set = map.get(key);
  if (set === undefined) return;
  set.delete(entry);
  if (set.size === 0) map.delete(key);
}
