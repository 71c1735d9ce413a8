import { lineChart } from './chart.js';
import type { DistributionMode, DistributionRow } from './distribution.js';

/* The distribution experiment's outputs: a text table, CSV and an SVG chart of time against N. */

const NAMES: Record<DistributionMode, { measured: string; bound: string }> = {
  'client-server': { measured: 'client-server (measured)', bound: 'client-server bound N·F/u_s' },
  p2p: { measured: 'P2P (measured)', bound: 'P2P bound' },
};

/** Rows of cells, the first the header; the first column left-aligned, the others right-aligned. */
export function alignedTable(cells: readonly (readonly string[])[]): string {
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  return cells.map((row) => row.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ')).join('\n');
}

/** One aligned line per row, with a header. */
export function distributionTable(rows: readonly DistributionRow[]): string {
  return alignedTable([['mode', 'N', 'seconds', 'bound', 'ratio'], ...rows.map((r) => [r.mode, String(r.n), r.seconds.toFixed(2), r.bound.toFixed(2), r.ratio.toFixed(3)])]);
}

/** `mode,n,seconds,bound,ratio`, one line per row, full precision. */
export function distributionCsv(rows: readonly DistributionRow[]): string {
  return ['mode,n,seconds,bound,ratio', ...rows.map((r) => `${r.mode},${r.n},${r.seconds},${r.bound},${r.ratio}`)].join('\n') + '\n';
}

/** Time to distribute against N: the measured curves solid, the bounds dashed. */
export function distributionChart(rows: readonly DistributionRow[], title = 'Time to distribute a file to N peers'): string {
  const modes = [...new Set(rows.map((r) => r.mode))];
  const series = modes.flatMap((mode) => {
    const mine = rows.filter((r) => r.mode === mode).sort((a, b) => a.n - b.n);
    return [
      { name: NAMES[mode].measured, points: mine.map((r) => [r.n, r.seconds] as const) },
      { name: NAMES[mode].bound, points: mine.map((r) => [r.n, r.bound] as const), dashed: true },
    ];
  });
  return lineChart({ title, xLabel: 'peers (N)', yLabel: 'time to distribute (s)', series });
}
