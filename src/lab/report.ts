import { lineChart, seriesColour, stackCharts } from './chart.js';
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

/**
 * Time to distribute against N: the measured curves solid, the bounds dashed. With both modes, a second panel
 * shows P2P alone on its own scale, where its flat curve is not squashed against the axis by client-server's line.
 */
export function distributionChart(rows: readonly DistributionRow[], title = 'Time to distribute a file to N peers'): string {
  const modes = [...new Set(rows.map((r) => r.mode))];
  // Each curve keeps its colour in both panels.
  const colour = (mode: DistributionMode, bound: boolean): string => seriesColour(modes.indexOf(mode) * 2 + (bound ? 1 : 0));
  const chart = (shown: readonly DistributionMode[], t: string): string =>
    lineChart({
      title: t,
      xLabel: 'peers (N)',
      yLabel: 'time to distribute (s)',
      series: shown.flatMap((mode) => {
        const mine = rows.filter((r) => r.mode === mode).sort((a, b) => a.n - b.n);
        return [
          { name: NAMES[mode].measured, points: mine.map((r) => [r.n, r.seconds] as const), colour: colour(mode, false) },
          { name: NAMES[mode].bound, points: mine.map((r) => [r.n, r.bound] as const), dashed: true, colour: colour(mode, true) },
        ];
      }),
    });
  if (modes.length < 2) return chart(modes, title);
  return stackCharts([chart(modes, title), chart(['p2p'], 'P2P alone, on its own scale')]);
}
