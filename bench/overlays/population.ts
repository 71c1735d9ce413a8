import { parseQuery, type Query, type SharedFile } from '../../src/overlay/common/shared.js';
import { seededRandom, type Random } from '../../src/net/index.js';

/*
 * The population every overlay of bench:overlays is measured on: the same
 * nodes, the same files on the same nodes, the same queries from the same
 * askers, all fixed by the seed.
 *
 * Files follow a Zipf-like popularity: the file of rank i has
 * max(1, round(C / i)) copies (C = nodes / 5 by default), each on a
 * different random node, so a few files are everywhere and most are rare,
 * as in measured file-sharing networks. A file's name is two or three words,
 * one of them a made-up word no other name contains (not even inside another
 * word: keyword matching is by substring), so a keyword query for it matches
 * exactly that file, and the query's success means the same as for a hash
 * query. The other words come from a small shared vocabulary.
 *
 * A query asks for a file drawn uniformly among the distinct files (so rare
 * files are asked for as often as popular ones: the hard case for flooding),
 * half by hash and half by the made-up word, from a random node that does
 * not hold it.
 */

export interface PopulationOptions {
  readonly nodes: number;
  readonly files: number;
  readonly queries: number;
  readonly seed: number;
  /** C: copies of the most popular file. @default nodes / 5 */
  readonly topCopies?: number;
}

export interface BenchFile extends SharedFile {
  /** Popularity rank, 1 = most copies. */
  readonly rank: number;
  /** The word only this file's name contains. */
  readonly keyword: string;
  /** Indices of the nodes that hold it, ascending. */
  readonly holders: readonly number[];
}

export interface BenchQuery {
  /** Index into Population.files. */
  readonly file: number;
  readonly kind: 'hash' | 'keywords';
  /** What a user would type: the hash, or the made-up word. */
  readonly text: string;
  readonly query: Query;
  /** The asking node, which does not hold the file. */
  readonly from: number;
}

export interface Population {
  readonly nodes: number;
  readonly files: readonly BenchFile[];
  /** node index -> indices of the files it holds. */
  readonly holdings: readonly (readonly number[])[];
  readonly queries: readonly BenchQuery[];
  readonly topCopies: number;
  /** All copies over all nodes. */
  readonly copies: number;
}

const VOCABULARY = [
  'live', 'remix', 'demo', 'album', 'session', 'edit', 'concert', 'lecture', 'notes', 'draft', 'scan', 'photos',
  'summer', 'winter', 'night', 'river', 'city', 'garden', 'radio', 'tape', 'mix', 'cover', 'final', 'backup',
];
const CONSONANTS = 'bdfgjklmnprstvz';
const VOWELS = 'aeiou';

function pick(random: Random, n: number): number {
  return Math.floor(random() * n);
}

function hex(random: Random, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += pick(random, 256).toString(16).padStart(2, '0');
  return s;
}

/** A pronounceable made-up word of three syllables and a final consonant ("kavomir"). */
function madeUpWord(random: Random): string {
  let w = '';
  for (let i = 0; i < 3; i++) w += CONSONANTS[pick(random, CONSONANTS.length)]! + VOWELS[pick(random, VOWELS.length)]!;
  return w + CONSONANTS[pick(random, CONSONANTS.length)]!;
}

/** `count` distinct indices in [0, n), by a partial Fisher-Yates shuffle. */
function sample(random: Random, n: number, count: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + pick(random, n - i);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, count).sort((a, b) => a - b);
}

export function makePopulation(o: PopulationOptions): Population {
  if (!Number.isInteger(o.nodes) || o.nodes < 2) throw new Error('a population needs at least 2 nodes');
  if (!Number.isInteger(o.files) || o.files < 1) throw new Error('a population needs at least 1 file');
  const random = seededRandom(o.seed);
  const topCopies = o.topCopies ?? Math.max(1, Math.round(o.nodes / 5));
  // Every file must leave a node that can ask for it.
  const maxCopies = o.nodes - 1;

  // Made-up words first, so each can be checked against every name.
  const words = new Set<string>();
  while (words.size < o.files) {
    const w = madeUpWord(random);
    // All made-up words have the same length, so one holds another only if they are equal; a vocabulary word may hide in one ("live" in "livebaz").
    if (!words.has(w) && !VOCABULARY.some((v) => w.includes(v))) words.add(w);
  }
  const unique = [...words];

  const files: BenchFile[] = [];
  const holdings: number[][] = Array.from({ length: o.nodes }, () => []);
  for (let i = 0; i < o.files; i++) {
    const rank = i + 1;
    const copies = Math.min(maxCopies, Math.max(1, Math.round(topCopies / rank)));
    const holders = sample(random, o.nodes, copies);
    const keyword = unique[i]!;
    const common = VOCABULARY[pick(random, VOCABULARY.length)]!;
    const parts = pick(random, 2) === 0 ? [common, keyword] : [keyword, common, VOCABULARY[pick(random, VOCABULARY.length)]!];
    const name = parts.join(' ');
    const size = 1024 + pick(random, 100 * 2 ** 20);
    files.push({ hash: hex(random, 20), name, size, rank, keyword, holders });
    for (const h of holders) holdings[h]!.push(i);
  }
  // The made-up words were chosen apart from each other and from the vocabulary; a name is
  // made of those words and spaces, so no other name can contain this file's word. Check anyway.
  for (const f of files) {
    const hits = files.filter((g) => g.name.toLowerCase().includes(f.keyword));
    if (hits.length !== 1) throw new Error(`the word ${f.keyword} matches ${hits.length} names`);
  }

  const queries: BenchQuery[] = [];
  for (let q = 0; q < o.queries; q++) {
    const file = pick(random, files.length);
    const f = files[file]!;
    // A random node among those that do not hold the file.
    const held = new Set(f.holders);
    let from = pick(random, o.nodes - f.holders.length);
    for (const h of f.holders) if (h <= from) from++;
    if (held.has(from)) throw new Error('asker holds the file'); // cannot happen: holders are ascending
    const kind = q % 2 === 0 ? 'hash' : 'keywords';
    const text = kind === 'hash' ? f.hash : f.keyword;
    queries.push({ file, kind, text, query: parseQuery(text), from });
  }
  return { nodes: o.nodes, files, holdings, queries, topCopies, copies: files.reduce((n, f) => n + f.holders.length, 0) };
}

/** The port each node says it serves its files on (no server runs: the bench only checks who answered). */
export function filesPort(node: number): number {
  return 20_000 + node;
}

/** The node whose files port this is, or undefined. */
export function nodeOfFilesPort(port: number, nodes: number): number | undefined {
  const i = port - 20_000;
  return Number.isInteger(i) && i >= 0 && i < nodes ? i : undefined;
}

/** Whether a result (hash and address) names a node that holds the file asked for. */
export function isHolder(pop: Population, q: BenchQuery, hash: string, address: { host: string; port: number }): boolean {
  const f = pop.files[q.file]!;
  if (hash !== f.hash || address.host !== '127.0.0.1') return false;
  const node = nodeOfFilesPort(address.port, pop.nodes);
  return node !== undefined && f.holders.includes(node);
}

export const MAX_NODES = 65_535 - 20_000;
