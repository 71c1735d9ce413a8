/*
 * A small SVG chart writer with no dependencies, for the benches and the lab
 * (bench/overlays.ts: messages per query per overlay; the lab: distribution
 * time against the number of peers, with theoretical bounds as dashed lines).
 *
 * Each function returns a standalone SVG document (xmlns and viewBox set, so
 * a browser opens the file as it is): a title, labelled axes with "nice" tick
 * values (steps of 1, 2 or 5 times a power of ten), grid lines, a legend and
 * one distinct colour per series. All text is XML-escaped. Points that cannot
 * be drawn (NaN, infinite, or not positive on a log axis) are left out, and a
 * degenerate range (no points, one point, all values equal) still gets a
 * sensible axis, so the output never holds NaN.
 */

export type Point = readonly [x: number, y: number];

export interface LineSeries {
  readonly name: string;
  readonly points: readonly Point[];
  /** Draw as a dashed line (e.g. a theoretical bound). */
  readonly dashed?: boolean;
  /** @default the palette's colour for the series' place (seriesColour) */
  readonly colour?: string;
}

export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly LineSeries[];
  readonly logY?: boolean;
  readonly logX?: boolean;
  readonly width?: number;
  readonly height?: number;
}

export interface BarGroup {
  readonly label: string;
  readonly values: readonly { readonly name: string; readonly value: number }[];
}

export interface BarChartOptions {
  readonly title: string;
  readonly yLabel: string;
  readonly groups: readonly BarGroup[];
  readonly logY?: boolean;
  readonly width?: number;
  readonly height?: number;
}

const FONT = 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif';
/** Chosen to stay apart from each other on white and for the common colour blindnesses, as far as ten colours can. */
const PALETTE = ['#1f6fb4', '#e4731c', '#2e9e44', '#d1343a', '#8a5cc2', '#8f5a3c', '#d667b5', '#6f6f6f', '#b5b82a', '#1eb0c4'];
/** Rough width of a character at the 12 px font, for layout only (no text metrics outside a browser). */
const CHAR_PX = 7;

/** The colour of the i-th series: the palette, then hues a golden angle apart. */
export function seriesColour(i: number): string {
  return PALETTE[i] ?? `hsl(${Math.round((i * 137.508) % 360)}, 62%, 42%)`;
}

/** Text safe inside an element or a double- or single-quoted attribute. */
export function escapeXml(text: string): string {
  return (
    text
      // Characters XML 1.0 forbids even when escaped: drop them.
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

/** Drop the binary noise of products like 3 * 0.2 (0.6000000000000001). */
function clean(x: number): number {
  const v = Number(x.toPrecision(12));
  return v === 0 ? 0 : v; // no "-0"
}

/**
 * Values beyond this (or, on a log axis, below its inverse) are not drawn:
 * past it a tick of 5 times a power of ten would overflow to Infinity, and
 * near zero powers of ten underflow.
 */
const LIMIT = 1e300;

function drawable(v: number, log: boolean): boolean {
  return Number.isFinite(v) && Math.abs(v) <= LIMIT && (!log || v >= 1 / LIMIT);
}

/** m * 10^e, computed so that decimal values come out as the nearest double (0.6, not 0.6000000000000001). */
function times10(m: number, e: number): number {
  const v = e >= 0 ? m * 10 ** e : m / 10 ** -e;
  return v === 0 ? 0 : v;
}

/** A step of 1, 2 or 5 times a power of ten, near span / target, as [mantissa, exponent]. */
function stepOf(span: number, target: number): [number, number] {
  const raw = span / Math.max(1, target);
  if (!(raw > 0) || !Number.isFinite(raw)) return [1, 0];
  let e = Math.floor(Math.log10(raw));
  const m = raw / 10 ** e;
  const mult = m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10;
  if (mult === 10) e++;
  return [mult === 10 ? 1 : mult, e];
}

/** A step of 1, 2 or 5 times a power of ten, near span / target. */
export function niceStep(span: number, target = 5): number {
  const [m, e] = stepOf(span, target);
  return times10(m, e);
}

/** Ticks covering [lo, hi] on a linear axis: multiples of a nice step, the first at or below lo, the last at or above hi. */
export function linearTicks(lo: number, hi: number, target = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  // Clamp to what can be drawn; subnormal values count as zero (their steps would underflow).
  const fit = (v: number): number => (Math.abs(v) < 1 / LIMIT ? 0 : Math.max(-LIMIT, Math.min(LIMIT, v)));
  lo = fit(lo);
  hi = fit(hi);
  if (lo > hi) [lo, hi] = [hi, lo];
  // One value, or a range too narrow for doubles to tell its ticks apart: an axis around it
  // (from 0 when it is positive, so a bar or point sits visibly above the axis).
  if (hi - lo <= Math.max(Math.abs(lo), Math.abs(hi)) * 1e-9) {
    const v = (lo + hi) / 2;
    [lo, hi] = v > 0 ? [0, v * 1.5] : v < 0 ? [v * 1.5, 0] : [0, 1];
  }
  const [m, e] = stepOf(hi - lo, target);
  const step = times10(m, e);
  const first = Math.floor(lo / step);
  const last = Math.ceil(hi / step);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push(times10(k * m, e));
  return ticks;
}

/** Ticks covering [lo, hi] (both > 0) on a log axis: whole decades, with 2 and 5 between them when the range is short. */
export function logTicks(lo: number, hi: number): number[] {
  if (!(lo > 0) || !(hi > 0) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [1, 10];
  lo = Math.max(1 / LIMIT, Math.min(LIMIT, lo));
  hi = Math.max(1 / LIMIT, Math.min(LIMIT, hi));
  if (lo > hi) [lo, hi] = [hi, lo];
  const e0 = Math.floor(clean(Math.log10(lo)));
  let e1 = Math.ceil(clean(Math.log10(hi)));
  if (e1 === e0) e1 = e0 + 1;
  const decades = e1 - e0;
  const ticks: number[] = [];
  if (decades <= 2) {
    for (let e = e0; e < e1; e++) for (const m of [1, 2, 5]) ticks.push(times10(m, e));
    ticks.push(times10(1, e1));
    return ticks;
  }
  const every = Math.ceil(decades / 8);
  // Every few decades, and always the top one (the last step may be shorter): past it 10^e could overflow.
  for (let e = e0; e < e1; e += every) ticks.push(times10(1, e));
  ticks.push(times10(1, e1));
  return ticks;
}

/** A tick label: short, exact for the 1-2-5 values, with k/M/G for large numbers. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e9) return `${clean(v / 1e9)}G`;
  if (a >= 1e6) return `${clean(v / 1e6)}M`;
  if (a >= 1e4) return `${clean(v / 1e3)}k`;
  if (a !== 0 && a < 1e-4) return v.toExponential(0);
  return String(clean(v));
}

/** A coordinate with at most two decimals; never NaN in the output. */
function n(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x * 100) / 100) : '0';
}

/** An axis: its ticks and a function from data values to pixels. */
interface Scale {
  readonly ticks: number[];
  readonly at: (v: number) => number;
}

function scale(values: readonly number[], log: boolean, from: number, to: number, includeZero: boolean): Scale {
  const finite = values.filter((v) => drawable(v, log));
  // A loop, not Math.min(...finite): a long series would overflow the argument list.
  let lo = finite.length > 0 ? finite.reduce((a, b) => Math.min(a, b)) : log ? 1 : 0;
  let hi = finite.length > 0 ? finite.reduce((a, b) => Math.max(a, b)) : log ? 10 : 1;
  if (includeZero && !log) [lo, hi] = [Math.min(lo, 0), Math.max(hi, 0)];
  const ticks = log ? logTicks(lo, hi) : linearTicks(lo, hi);
  const f = log ? Math.log10 : (v: number): number => v;
  const a = f(ticks[0]!);
  const b = f(ticks[ticks.length - 1]!);
  return { ticks, at: (v) => from + ((f(v) - a) / (b - a || 1)) * (to - from) };
}

interface Frame {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

function open(width: number, height: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n(width)}" height="${n(height)}" viewBox="0 0 ${n(width)} ${n(height)}" font-family="${FONT}" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${n(width)}" height="${n(height)}" fill="#ffffff"/>`,
    `<text class="title" x="${n(width / 2)}" y="24" text-anchor="middle" font-size="16" font-weight="600">${escapeXml(title)}</text>`,
  ];
}

/** The y axis: grid lines, tick labels, the rotated label. */
function yAxis(out: string[], f: Frame, y: Scale, label: string): void {
  for (const t of y.ticks) {
    const py = y.at(t);
    out.push(`<line x1="${n(f.left)}" y1="${n(py)}" x2="${n(f.right)}" y2="${n(py)}" stroke="#e3e3e3"/>`);
    out.push(`<text class="tick tick-y" data-value="${t}" x="${n(f.left - 6)}" y="${n(py + 4)}" text-anchor="end">${escapeXml(formatNumber(t))}</text>`);
  }
  out.push(`<line x1="${n(f.left)}" y1="${n(f.top)}" x2="${n(f.left)}" y2="${n(f.bottom)}" stroke="#333333"/>`);
  const cy = (f.top + f.bottom) / 2;
  out.push(`<text class="axis-label y-label" x="14" y="${n(cy)}" transform="rotate(-90 14 ${n(cy)})" text-anchor="middle" dominant-baseline="middle">${escapeXml(label)}</text>`);
}

function legend(out: string[], f: Frame, entries: readonly { name: string; colour: string; dashed: boolean; bar: boolean }[]): void {
  const x = f.right + 16;
  entries.forEach((e, i) => {
    const y = f.top + 8 + i * 20;
    out.push(
      e.bar
        ? `<rect x="${n(x)}" y="${n(y - 6)}" width="18" height="12" fill="${e.colour}"/>`
        : `<line x1="${n(x)}" y1="${n(y)}" x2="${n(x + 22)}" y2="${n(y)}" stroke="${e.colour}" stroke-width="2.5"${e.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    out.push(`<text class="legend" x="${n(x + 28)}" y="${n(y + 4)}">${escapeXml(e.name)}</text>`);
  });
}

function legendWidth(names: readonly string[]): number {
  return Math.min(320, 48 + CHAR_PX * Math.max(0, ...names.map((s) => s.length)));
}

function yLabelsWidth(y: Scale): number {
  return 36 + CHAR_PX * Math.max(...y.ticks.map((t) => formatNumber(t).length));
}

/** Lines (with a dot at each point) on linear or log axes. */
export function lineChart(o: LineChartOptions): string {
  const width = o.width ?? 720;
  const height = o.height ?? 420;
  const logX = o.logX === true;
  const logY = o.logY === true;
  const usable = (p: Point): boolean => drawable(p[0], logX) && drawable(p[1], logY);
  const all = o.series.flatMap((s) => s.points.filter(usable));
  const top = 44;
  const bottom = height - 52;
  // Two passes: the y labels' width decides the left margin, which the x scale needs.
  const y = scale(all.map((p) => p[1]), logY, bottom, top, false);
  const left = yLabelsWidth(y);
  const right = Math.max(left + 40, width - legendWidth(o.series.map((s) => s.name)) - 8);
  const x = scale(all.map((p) => p[0]), logX, left, right, false);
  const f: Frame = { width, height, left, right, top, bottom };

  const out = open(width, height, o.title);
  yAxis(out, f, y, o.yLabel);
  for (const t of x.ticks) {
    const px = x.at(t);
    out.push(`<line x1="${n(px)}" y1="${n(top)}" x2="${n(px)}" y2="${n(bottom)}" stroke="#f0f0f0"/>`);
    out.push(`<text class="tick tick-x" data-value="${t}" x="${n(px)}" y="${n(bottom + 18)}" text-anchor="middle">${escapeXml(formatNumber(t))}</text>`);
  }
  out.push(`<line x1="${n(left)}" y1="${n(bottom)}" x2="${n(right)}" y2="${n(bottom)}" stroke="#333333"/>`);
  out.push(`<text class="axis-label x-label" x="${n((left + right) / 2)}" y="${n(height - 12)}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);

  o.series.forEach((s, i) => {
    const colour = s.colour ?? seriesColour(i);
    out.push(`<g class="series" stroke="${colour}" fill="${colour}">`);
    out.push(`<title>${escapeXml(s.name)}</title>`);
    // A point that cannot be drawn breaks the line rather than joining its neighbours across it.
    let run: string[] = [];
    const flush = (): void => {
      if (run.length > 1) out.push(`<polyline fill="none" stroke-width="2"${s.dashed === true ? ' stroke-dasharray="6 4"' : ''} points="${run.join(' ')}"/>`);
      run = [];
    };
    for (const p of s.points) {
      if (!usable(p)) {
        flush();
        continue;
      }
      const px = x.at(p[0]);
      const py = y.at(p[1]);
      run.push(`${n(px)},${n(py)}`);
      out.push(`<circle cx="${n(px)}" cy="${n(py)}" r="${s.dashed === true ? 2 : 3}" stroke="none"/>`);
    }
    flush();
    out.push('</g>');
  });
  legend(out, f, o.series.map((s, i) => ({ name: s.name, colour: s.colour ?? seriesColour(i), dashed: s.dashed === true, bar: false })));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Grouped bars: one group per label, one bar per series name (a colour per name, the same in every group). */
export function barChart(o: BarChartOptions): string {
  const width = o.width ?? 720;
  const height = o.height ?? 420;
  const logY = o.logY === true;
  const names = [...new Set(o.groups.flatMap((g) => g.values.map((v) => v.name)))];
  const values = o.groups.flatMap((g) => g.values.map((v) => v.value)).filter((v) => drawable(v, logY));

  const labelPx = CHAR_PX * Math.max(0, ...o.groups.map((g) => g.label.length));
  const top = 44;
  // The y ticks (their labels' width) decide the left margin, which decides the room per group, which decides
  // whether the group labels must slant, which decides the bottom margin: a first y scale gives the ticks.
  const provisional = scale(values, logY, height - 40, top, true);
  const left = yLabelsWidth(provisional);
  const right = Math.max(left + 40, width - legendWidth(names) - 8);
  const slot = (right - left) / Math.max(1, o.groups.length);
  const slanted = labelPx > slot - 6;
  const bottom = height - (slanted ? Math.min(height / 3, 24 + labelPx * 0.6) : 40);
  const y = scale(values, logY, bottom, top, true);
  const f: Frame = { width, height, left, right, top, bottom };

  const out = open(width, height, o.title);
  yAxis(out, f, y, o.yLabel);
  // Bars grow from zero, or on a log axis from its bottom.
  const base = logY ? bottom : y.at(0);
  const barW = (slot * 0.8) / Math.max(1, names.length);
  o.groups.forEach((g, gi) => {
    const x0 = left + gi * slot + slot * 0.1;
    out.push(`<g class="group">`);
    for (const v of g.values) {
      if (!drawable(v.value, logY)) continue;
      const k = names.indexOf(v.name);
      const py = y.at(v.value);
      const bx = x0 + k * barW;
      out.push(
        `<rect x="${n(bx + 1)}" y="${n(Math.min(py, base))}" width="${n(Math.max(1, barW - 2))}" height="${n(Math.abs(base - py))}" fill="${seriesColour(k)}">` +
          `<title>${escapeXml(`${g.label}, ${v.name}: ${formatNumber(clean(Number(v.value.toPrecision(4))))}`)}</title></rect>`,
      );
      if (barW >= 26) {
        out.push(`<text class="value" x="${n(bx + barW / 2)}" y="${n(Math.min(py, base) - 4)}" text-anchor="middle" font-size="10">${escapeXml(formatNumber(Number(v.value.toPrecision(3))))}</text>`);
      }
    }
    out.push('</g>');
    const cx = left + (gi + 0.5) * slot;
    out.push(
      slanted
        ? `<text class="group-label" x="${n(cx)}" y="${n(bottom + 14)}" text-anchor="end" transform="rotate(-35 ${n(cx)} ${n(bottom + 14)})">${escapeXml(g.label)}</text>`
        : `<text class="group-label" x="${n(cx)}" y="${n(bottom + 18)}" text-anchor="middle">${escapeXml(g.label)}</text>`,
    );
  });
  out.push(`<line x1="${n(left)}" y1="${n(bottom)}" x2="${n(right)}" y2="${n(bottom)}" stroke="#333333"/>`);
  legend(out, f, names.map((name, i) => ({ name, colour: seriesColour(i), dashed: false, bar: true })));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Several charts from this file, one under the other, as one SVG document. */
export function stackCharts(charts: readonly string[], gap = 16): string {
  let y = 0;
  let width = 0;
  const parts: string[] = [];
  for (const c of charts) {
    // The root element is ours (open() above), so its width and height are plain numbers.
    const m = /^<svg [^>]*?width="([\d.]+)" height="([\d.]+)"/.exec(c.trimStart());
    if (m === null) throw new Error('stackCharts takes charts made by lineChart or barChart');
    parts.push(c.trimStart().replace(/^<svg /, `<svg x="0" y="${n(y)}" `).trimEnd());
    width = Math.max(width, Number(m[1]));
    y += Number(m[2]) + gap;
  }
  const height = Math.max(0, y - gap);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n(width)}" height="${n(height)}" viewBox="0 0 ${n(width)} ${n(height)}">\n` +
    `<rect width="${n(width)}" height="${n(height)}" fill="#ffffff"/>\n${parts.join('\n')}\n</svg>\n`
  );
}
