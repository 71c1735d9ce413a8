import { parentPort, workerData } from 'node:worker_threads';
import { distributionChart, runDistribution } from '../lab/index.js';
import type { LabParams, LabRow } from './api-types.js';

/*
 * The lab page's experiment, on a worker thread (lab.ts starts it): the
 * simulated network runs as fast as the CPU allows, and on the daemon's
 * own thread it would hold up the real peers and the UI for seconds.
 * Posts each row as its run finishes, then the chart.
 */

export type LabWorkerMessage = { readonly type: 'row'; readonly row: LabRow } | { readonly type: 'done'; readonly svg: string };

const params = workerData as LabParams;
const rows = await runDistribution({ ...params, onRow: (row) => parentPort!.postMessage({ type: 'row', row } satisfies LabWorkerMessage) });
parentPort!.postMessage({ type: 'done', svg: distributionChart(rows) } satisfies LabWorkerMessage);
