import { Worker } from 'node:worker_threads';
import type { LabParams, LabRow, LabView } from './api-types.js';
import { DaemonError } from './errors.js';
import type { LabWorkerMessage } from './lab-worker.js';

/*
 * POST /api/lab/distribution: the self-scalability experiment of
 * `peerkit lab distribution` (client-server against P2P, the real engine on
 * the simulated network), with defaults that answer in a second or two and
 * caps so that one request cannot occupy a core for minutes. One run at a
 * time, on a worker thread; each row is told to `onChange` as it arrives
 * (the UI draws the table filling in), and the last run stays readable at
 * GET /api/lab.
 */

const LIMITS = { maxPeers: 50, maxValues: 8, minSize: 16 * 1024, maxSize: 16 * 1024 * 1024, minRate: 10_000, maxRate: 1e9 };
const DEFAULTS: LabParams = { peers: [1, 2, 5, 10, 20], size: 4 * 1024 * 1024, serverUp: 4e6, peerUp: 2e6, seed: 1 };

export function labParams(body: Record<string, unknown>): LabParams {
  const peers = body['peers'] ?? DEFAULTS.peers;
  if (!Array.isArray(peers) || peers.length === 0 || peers.length > LIMITS.maxValues || peers.some((n) => !Number.isInteger(n) || (n as number) < 1 || (n as number) > LIMITS.maxPeers)) {
    throw new DaemonError('bad-request', `"peers" must be a list of 1 to ${LIMITS.maxValues} whole numbers from 1 to ${LIMITS.maxPeers}`);
  }
  const num = (key: keyof LabParams, lo: number, hi: number): number => {
    const v = body[key] ?? DEFAULTS[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw new DaemonError('bad-request', `"${key}" must be a number from ${lo} to ${hi}`);
    return v;
  };
  return {
    peers: [...new Set(peers as number[])].sort((x, y) => x - y),
    size: Math.round(num('size', LIMITS.minSize, LIMITS.maxSize)),
    serverUp: num('serverUp', LIMITS.minRate, LIMITS.maxRate),
    peerUp: num('peerUp', LIMITS.minRate, LIMITS.maxRate),
    seed: Math.round(num('seed', 0, 2 ** 31)),
  };
}

export class LabRunner {
  private current: LabView = { state: 'idle', params: null, rows: [], svg: null, error: null, ms: null };
  private worker: Worker | undefined;

  constructor(private readonly onChange: (view: LabView) => void) {}

  get view(): LabView {
    return this.current;
  }

  /** Run the experiment; resolves with the finished view (state 'done' or 'error'). */
  run(params: LabParams): Promise<LabView> {
    if (this.worker !== undefined) throw new DaemonError('conflict', 'an experiment is already running; try again when it is done');
    const started = performance.now();
    const rows: LabRow[] = [];
    this.set({ state: 'running', params, rows: [], svg: null, error: null, ms: null });
    const worker = new Worker(new URL('./lab-worker.js', import.meta.url), { workerData: params });
    this.worker = worker;
    return new Promise((resolve) => {
      let finished = false;
      const finish = (view: Omit<LabView, 'params' | 'ms' | 'rows'>): void => {
        if (finished) return;
        finished = true;
        this.worker = undefined;
        void worker.terminate();
        this.set({ ...view, params, rows: [...rows], ms: Math.round(performance.now() - started) });
        resolve(this.current);
      };
      worker.on('message', (m: LabWorkerMessage) => {
        if (m.type === 'row') {
          rows.push(m.row);
          this.set({ ...this.current, rows: [...rows] });
        } else finish({ state: 'done', svg: m.svg, error: null });
      });
      worker.on('error', (e) => finish({ state: 'error', svg: null, error: e.message }));
      worker.on('exit', (code) => finish({ state: 'error', svg: null, error: `the experiment stopped (exit ${code})` }));
    });
  }

  close(): void {
    void this.worker?.terminate();
  }

  private set(view: LabView): void {
    this.current = view;
    this.onChange(view);
  }
}
