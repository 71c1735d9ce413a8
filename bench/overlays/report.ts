import { barChart, stackCharts } from '../../src/lab/index.js';
import type { Row } from './common.js';

/*
 * The output of bench:overlays: the table (one row per overlay
 * configuration), the verdict lines in the style of the other benches
 * ("overlays: ... (target ...)  MET"), and the two charts (messages per query
 * on a log scale; success rate) stacked in one SVG.
 */

/** Super-peers must cut messages per query by at least this against flat flooding at equal success (BENCH.md). */
export const SUPERPEER_CUT_TARGET = 10;

const fixed = (x: number | null, digits = 1): string => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(digits));

export function table(rows: readonly Row[]): string {
  const head = ['configuration', 'queries', 'success', 'hash', 'words', 'msgs/query', 'hops med', 'max', 'ms med', 'busiest/query', 'floodCost/q', 'Query msgs/q', 'matched'];
  const body = rows.map((r) => [
    r.name,
    String(r.queries),
    `${fixed(r.successPct)}%`,
    r.byKind.hash.of === 0 ? '-' : `${r.byKind.hash.ok}/${r.byKind.hash.of}`,
    r.byKind.keywords.of === 0 ? '-' : `${r.byKind.keywords.ok}/${r.byKind.keywords.of}`,
    fixed(r.messagesPerQuery),
    r.hopsMedian === null ? '-' : String(r.hopsMedian),
    r.hopsMax === null ? '-' : String(r.hopsMax),
    fixed(r.msMedian),
    fixed(r.busiestPerQuery, 2),
    r.analytical === undefined ? '' : fixed(r.analytical.queryMessagesPerQuery),
    r.analytical === undefined ? '' : fixed(r.analytical.measuredQueryMessagesPerQuery),
    r.analytical === undefined ? '' : `${r.analytical.matched}/${r.analytical.of}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n') + '\n';
}

function verdict(name: string, value: string, want: string, met: boolean | undefined): string {
  return `overlays: ${name} ${value} (target ${want})  ${met === undefined ? 'NOT MEASURED' : met ? 'MET' : 'MISSED'}`;
}

export function verdicts(rows: readonly Row[]): string[] {
  const out: string[] = [];
  const floods = rows.filter((r) => r.overlay === 'flood' && r.analytical !== undefined).sort((a, b) => (a.ttl ?? 0) - (b.ttl ?? 0));
  if (floods.length > 0) {
    const matched = floods.reduce((n, r) => n + r.analytical!.matched, 0);
    const of = floods.reduce((n, r) => n + r.analytical!.of, 0);
    const ttls = floods.map((r) => r.ttl).join(',');
    out.push(verdict(`flood Query messages equal to floodCost on the same graph (ttl ${ttls})`, `for ${matched}/${of} queries`, 'all', of > 0 && matched === of));
  } else {
    out.push(verdict('flood Query messages equal to floodCost on the same graph', '(flood not run)', 'all', undefined));
  }

  const sp = rows.find((r) => r.overlay === 'superpeer');
  if (sp === undefined || floods.length === 0) {
    out.push(verdict('superpeer vs flood messages per query', `(${sp === undefined ? 'superpeer' : 'flood'} not run)`, `>= ${SUPERPEER_CUT_TARGET}x at equal success`, undefined));
  } else {
    // Equal success: the smallest TTL at which flooding finds at least what super-peers find.
    const equal = floods.find((r) => r.successPct >= sp.successPct);
    const against = equal ?? floods[floods.length - 1]!;
    const ratio = sp.messagesPerQuery > 0 ? against.messagesPerQuery / sp.messagesPerQuery : Infinity;
    const detail = `(superpeer ${fixed(sp.successPct)}% success, ${fixed(sp.messagesPerQuery)} msgs/query; ${against.name} ${fixed(against.successPct)}%, ${fixed(against.messagesPerQuery)} msgs/query${equal === undefined ? `: no flood TTL reached superpeer's success` : ''})`;
    out.push(verdict(`superpeer vs ${against.name} messages per query`, `${fixed(ratio, 2)}x ${detail}`, `>= ${SUPERPEER_CUT_TARGET}x at equal success`, equal !== undefined && ratio >= SUPERPEER_CUT_TARGET));
  }
  return out;
}

/** Messages per query (log scale) and success rate per configuration, one chart under the other. */
export function charts(rows: readonly Row[], subtitle: string): string {
  const width = Math.max(760, 150 + rows.length * 80);
  const messages = barChart({
    title: `Messages per query (${subtitle})`,
    yLabel: 'messages per query (log scale)',
    logY: true,
    width,
    height: 440,
    groups: rows.map((r) => ({
      label: r.name,
      values: [
        { name: 'all messages (measured)', value: r.messagesPerQuery },
        { name: 'received by the busiest node', value: r.busiestPerQuery },
        ...(r.analytical !== undefined ? [{ name: 'Query messages by floodCost', value: r.analytical.queryMessagesPerQuery }] : []),
      ],
    })),
  });
  const success = barChart({
    title: `Success rate (${subtitle})`,
    yLabel: 'queries that found a holder (%)',
    width,
    height: 380,
    groups: rows.map((r) => ({
      label: r.name,
      values: [
        ...(r.byKind.hash.of > 0 ? [{ name: 'hash queries', value: (100 * r.byKind.hash.ok) / r.byKind.hash.of }] : []),
        ...(r.byKind.keywords.of > 0 ? [{ name: 'keyword queries', value: (100 * r.byKind.keywords.ok) / r.byKind.keywords.of }] : []),
      ],
    })),
  });
  return stackCharts([messages, success]);
}
