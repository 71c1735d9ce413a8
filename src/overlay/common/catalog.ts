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
 * (a scan over the distinct words, far fewer than the files) and takes
 * their files as candidates.
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
  /** More matched than `limit`. */
  readonly truncated: boolean;
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

  /** The first `limit` sources that match, one per file and address. */
  find(query: Query, limit: number): Found {
    const sources: Source[] = [];
    const seen = new Set<string>();
    for (const entry of this.candidates(query)) {
      if (!matches(entry.file, query)) continue;
      const source: Source = { ...entry.file, address: entry.listing.address };
      // Two connections from one host may register the same files port: list that source once.
      const key = sourceKey(source);
      if (seen.has(key)) continue;
      if (sources.length === limit) return { sources, truncated: true };
      seen.add(key);
      sources.push(source);
    }
    return { sources, truncated: false };
  }

  /** Entries that may match: for keywords, those of the most selective keyword. */
  private candidates(query: Query): Iterable<Entry> {
    if (query.kind === 'hash') return this.byHash.get(query.hash) ?? [];
    let best: Set<Entry>[] | undefined;
    let bestSize = Infinity;
    for (const k of query.keywords) {
      const exact = this.byWord.get(k);
      const sets: Set<Entry>[] = exact === undefined ? [] : [exact];
      let size = exact?.size ?? 0;
      for (const [w, set] of this.byWord) {
        if (w !== k && w.includes(k)) {
          sets.push(set);
          size += set.size;
        }
      }
      if (size < bestSize) {
        best = sets;
        bestSize = size;
      }
      if (size === 0) break;
    }
    return union(best ?? []);
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
