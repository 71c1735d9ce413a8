import { barChart, lineChart } from './chart.js';
import type { FreeRiderRow, OptimisticResult, PieceOrderResult } from './policies.js';
import { alignedTable } from './report.js';

/* The policy experiments' outputs, in the distribution experiment's style: an aligned table, CSV, an SVG chart. */

function csv(header: readonly string[], rows: readonly (readonly (string | number | boolean)[])[]): string {
  return [header.join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n';
}

const s2 = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : '-');

// --- pieces ---------------------------------------------------------------------

export function pieceOrderTable(r: PieceOrderResult): string {
  return alignedTable([['policy', 'last done (s)', 'median done (s)', 'every piece out (s)'], ...r.rows.map((x) => [x.policy, s2(x.seconds), s2(x.median), s2(x.allOut)])]);
}

/** The summary rows, then the rarest piece's copies over time (policy, t, copies). */
export function pieceOrderCsv(r: PieceOrderResult): { summary: string; rarest: string } {
  return {
    summary: csv(['policy', 'seconds', 'median', 'all_out'], r.rows.map((x) => [x.policy, x.seconds, x.median, x.allOut])),
    rarest: csv(['policy', 't', 'copies_of_rarest'], r.rarest.flatMap((s) => s.points.map(([t, c]) => [s.policy, t, c]))),
  };
}

export function pieceOrderChart(r: PieceOrderResult): string {
  return lineChart({
    title: 'Copies of the rarest piece among the leechers',
    xLabel: 'time (s)',
    yLabel: 'leechers holding the rarest piece',
    series: r.rarest.map((s) => ({ name: s.policy, points: s.points })),
  });
}

// --- optimistic unchoke -----------------------------------------------------------

const modeName = (optimistic: boolean): string => (optimistic ? '4 regular + optimistic' : '5 regular, no optimistic');

export function optimisticTable(r: OptimisticResult): string {
  return alignedTable([
    ['choking', 'newcomers', 'median wait (s)', 'mean wait (s)', 'longest wait (s)', 'waited > 30 s', 'median download (s)'],
    ...r.rows.map((x) => [modeName(x.optimistic), String(x.newcomers), s2(x.medianWait), s2(x.meanWait), s2(x.maxWait), String(x.over30), s2(x.medianDone)]),
  ]);
}

export function optimisticCsv(r: OptimisticResult): string {
  return csv(
    ['optimistic', 'newcomer', 'wait_s'],
    r.waits.flatMap((m) => m.waits.map((w, i) => [m.optimistic, i, w])),
  );
}

export function optimisticChart(r: OptimisticResult): string {
  return barChart({
    title: "A newcomer's wait for its first piece",
    yLabel: 'seconds from joining',
    groups: r.rows.map((x) => ({
      label: modeName(x.optimistic),
      values: [
        { name: 'median', value: x.medianWait },
        { name: 'mean', value: x.meanWait },
        { name: 'longest', value: x.maxWait },
      ],
    })),
  });
}

// --- free riders --------------------------------------------------------------------

export function freeRiderTable(rows: readonly FreeRiderRow[]): string {
  return alignedTable([
    ['peer', 'count', 'download (kB/s)', 'done after (s)', 'uploaded (MB)'],
    ...rows.map((x) => [x.peer, String(x.count), (x.rate / 1000).toFixed(1), s2(x.seconds), (x.uploaded / 1e6).toFixed(1)]),
  ]);
}

export function freeRiderCsv(rows: readonly FreeRiderRow[]): string {
  return csv(['peer', 'count', 'rate', 'seconds', 'uploaded'], rows.map((x) => [x.peer, x.count, x.rate, x.seconds, x.uploaded]));
}

export function freeRiderChart(rows: readonly FreeRiderRow[]): string {
  return barChart({
    title: 'Download rate while the others still trade',
    yLabel: 'kB/s',
    groups: rows.map((x) => ({ label: x.peer, values: [{ name: 'download rate', value: x.rate / 1000 }] })),
  });
}
