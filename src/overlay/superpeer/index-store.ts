import type { Endpoint } from '../../net/index.js';
import { Catalog, words, type Listing } from '../common/catalog.js';
import type { Query, SharedFile, Source } from '../common/shared.js';

/*
 * A leader's index of what its members share: the shared Catalog
 * (common/catalog.ts: by content hash, and by the words of names for
 * keyword queries, matching exactly as `matches` does), with one listing
 * per member and two bounds: at most maxMembers members and at most
 * maxFilesPerMember files each (files past the cap are ignored, and the
 * member was told the cap in its welcome). Removing a member removes all
 * its entries in one call, which is what happens when its connection drops.
 */

export interface IndexStoreOptions {
  /** @default 50 */
  readonly maxMembers?: number;
  /** @default 10_000 */
  readonly maxFilesPerMember?: number;
}

export class IndexStore {
  readonly maxMembers: number;
  readonly maxFilesPerMember: number;
  private readonly members = new Map<string, Listing>();
  private readonly catalog = new Catalog();

  constructor(options: IndexStoreOptions = {}) {
    this.maxMembers = options.maxMembers ?? 50;
    this.maxFilesPerMember = options.maxFilesPerMember ?? 10_000;
  }

  get memberCount(): number {
    return this.members.size;
  }

  /** All (member, file) entries. */
  get fileCount(): number {
    return this.catalog.files;
  }

  hasMember(key: string): boolean {
    return this.members.has(key);
  }

  filesOf(key: string): number {
    return this.members.get(key)?.files.size ?? 0;
  }

  /** Make room for a member whose files are served at `address`. False when the index is full or the key is taken. */
  addMember(key: string, address: Endpoint): boolean {
    if (this.members.has(key) || this.members.size >= this.maxMembers) return false;
    this.members.set(key, this.catalog.newListing(address));
    return true;
  }

  /** Forget a member and all its files; returns how many files went. */
  removeMember(key: string): number {
    const m = this.members.get(key);
    if (m === undefined) return 0;
    const n = m.files.size;
    this.catalog.clear(m);
    this.members.delete(key);
    return n;
  }

  /** Index files of a member; returns how many were new. Files past maxFilesPerMember are ignored. */
  add(key: string, files: readonly SharedFile[]): number {
    const m = this.members.get(key);
    if (m === undefined) return 0;
    let added = 0;
    for (const f of files) {
      if (m.files.size >= this.maxFilesPerMember) break;
      if (this.catalog.add(m, { hash: f.hash, name: f.name, size: f.size })) added++;
    }
    return added;
  }

  /** Drop files of a member by content hash; returns how many it had. */
  remove(key: string, hashes: readonly string[]): number {
    const m = this.members.get(key);
    if (m === undefined) return 0;
    return hashes.filter((h) => this.catalog.remove(m, h)).length;
  }

  /** Sources that match `query`, at most `limit` (one per file and address). */
  search(query: Query, limit = 500): Source[] {
    return limit <= 0 ? [] : this.catalog.find(query, limit).sources;
  }
}

/** The distinct runs of letters and digits of a lower-cased name (the words the index is keyed by). */
export const wordsOf = words;
