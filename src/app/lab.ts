import { distributionChart, runDistribution, type DistributionRow } from '../lab/index.js';
import { AppError } from './errors.js';

/*
 * POST /api/lab/distribution: the self-scalability experiment of
 * `peerkit lab distribution`, with defaults small enough to answer in a few
 * seconds (it runs in the daemon's process, on the simulated network), and
 * caps so that one request cannot occupy the daemon for minutes. One run at
 * a time.
 */

export interface LabResult {
  readonly params: { readonly peers: readonly number[]; readonly size: number; readonly serverUp: number; readonly peerUp: number; readonly seed: number };
  readonly rows: readonly DistributionRow[];
  readonly svg: string;
  /** Wall-clock ms the run took. */
  readonly ms: number;
}

const LIMITS = { maxPeers: 50, maxValues: 8, maxSize: 16 * 1024 * 1024, minRate: 10_000, maxRate: 1e9 };
let running = false;

export async function runLab(body: Record<string, unknown>): Promise<LabResult> {
  const peers = body['peers'] === undefined ? [1, 2, 5, 10, 20] : body['peers'];
  if (!Array.isArray(peers) || peers.length === 0 || peers.length > LIMITS.maxValues || peers.some((n) => !Number.isInteger(n) || (n as number) < 1 || (n as number) > LIMITS.maxPeers)) {
    throw new AppError('bad-request', `"peers" must be a list of 1 to ${LIMITS.maxValues} whole numbers from 1 to ${LIMITS.maxPeers}`);
  }
  const num = (key: string, fallback: number, lo: number, hi: number): number => {
    const v = body[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw new AppError('bad-request', `"${key}" must be a number from ${lo} to ${hi}`);
    return v;
  };
  const size = Math.round(num('size', 4 * 1024 * 1024, 16 * 1024, LIMITS.maxSize));
  const serverUp = num('serverUp', 4e6, LIMITS.minRate, LIMITS.maxRate);
  const peerUp = num('peerUp', 2e6, LIMITS.minRate, LIMITS.maxRate);
  const seed = Math.round(num('seed', 1, 0, 2 ** 31));
  if (running) throw new AppError('conflict', 'an experiment is already running; try again when it is done');
  running = true;
  const started = performance.now();
  try {
    const list = [...new Set(peers as number[])].sort((x, y) => x - y);
    const rows = await runDistribution({ peers: list, size, serverUp, peerUp, seed });
    return { params: { peers: list, size, serverUp, peerUp, seed }, rows, svg: distributionChart(rows), ms: Math.round(performance.now() - started) };
  } finally {
    running = false;
  }
}
