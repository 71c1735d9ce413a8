import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { barChart, escapeXml, lineChart, linearTicks, logTicks, stackCharts } from '../../src/lab/index.js';

/*
 * The SVG chart writer (src/lab/chart.ts): what a browser would be given.
 * The output must be well-formed XML (checked by the small tokenizer below:
 * balanced tags, quoted attributes, only known entities), hold the title,
 * the axis labels and every series name, have ticks at 1-2-5 values, escape
 * text, and never contain NaN, whatever the data.
 */

const ENTITY = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;

/** Throws unless `svg` is one well-formed XML element tree rooted at <svg>; returns the element names in order. */
function wellFormed(svg: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  let roots = 0;
  for (const m of svg.matchAll(/<[^>]*>|[^<]+/g)) {
    const token = m[0];
    if (!token.startsWith('<')) {
      assert.ok(!ENTITY.test(token), `bare & in text ${JSON.stringify(token)}`);
      if (stack.length === 0) assert.match(token, /^\s*$/, 'text outside the root element');
      continue;
    }
    const tag = /^<(\/)?([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/)?>$/.exec(token);
    assert.ok(tag !== null, `malformed tag ${token}`);
    const [, closing, name, attrs, selfClosing] = tag;
    assert.ok(!ENTITY.test(attrs!), `bare & in attributes of ${token}`);
    const attrNames = [...attrs!.matchAll(/([\w:.-]+)=/g)].map((a) => a[1]);
    assert.equal(new Set(attrNames).size, attrNames.length, `repeated attribute in ${token}`);
    if (closing !== undefined) {
      assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
      continue;
    }
    if (stack.length === 0) roots++;
    names.push(name!);
    if (selfClosing === undefined) stack.push(name!);
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(roots, 1, 'one root element');
  assert.equal(names[0], 'svg');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" [^>]*viewBox="0 0 [\d.]+ [\d.]+"/);
  return names;
}

/** The values of the ticks drawn on one axis. */
function ticks(svg: string, axis: 'x' | 'y'): number[] {
  return [...svg.matchAll(new RegExp(`class="tick tick-${axis}" data-value="([^"]+)"`, 'g'))].map((m) => Number(m[1]));
}

/** m * 10^k with m in {1, 2, 5}, allowing for binary rounding. */
function isOneTwoFive(v: number): boolean {
  if (!(v > 0)) return false;
  const k = Math.floor(Math.log10(v) + 1e-9);
  const m = v / 10 ** k;
  return [1, 2, 5, 10].some((x) => Math.abs(m - x) < 1e-6);
}

function assertLinearTicks(t: readonly number[]): void {
  assert.ok(t.length >= 2, `at least two ticks, got ${JSON.stringify(t)}`);
  const step = t[1]! - t[0]!;
  assert.ok(isOneTwoFive(step), `step ${step} of ${JSON.stringify(t)} is 1, 2 or 5 times a power of ten`);
  for (let i = 1; i < t.length; i++) assert.ok(Math.abs(t[i]! - t[i - 1]! - step) <= Math.abs(step) * 1e-6, `even steps in ${JSON.stringify(t)}`);
  for (const v of t) assert.ok(Math.abs(v / step - Math.round(v / step)) < 1e-6, `${v} is a multiple of the step ${step}`);
}

/** No coordinate, size or tick value is NaN or infinite (names and titles may say what they like). */
function assertDrawable(svg: string): void {
  assert.doesNotMatch(svg, /="[^"]*(?:NaN|undefined|Infinity)[^"]*"/);
  for (const m of svg.matchAll(/class="tick[^"]*" data-value="[^"]*"[^>]*>([^<]*)</g)) assert.doesNotMatch(m[1]!, /NaN|undefined|Infinity/);
}

describe('lineChart', () => {
  const svg = lineChart({
    title: 'Time <to> distribute & "share"',
    xLabel: 'peers (n)',
    yLabel: "time (s) 'wall'",
    series: [
      { name: 'measured <median>', points: [[1, 3.2], [10, 12.5], [100, 41], [1000, 97]] },
      { name: 'lower bound F/u_s & n·F/(u_s+Σu)', points: [[1, 2], [10, 9], [100, 30], [1000, 60]], dashed: true },
    ],
  });

  it('is one well-formed SVG document that a browser opens', () => {
    const names = wellFormed(svg);
    assert.ok(names.includes('polyline'));
    assertDrawable(svg);
  });

  it('shows the title, the axis labels and every series name, escaped', () => {
    assert.ok(svg.includes('Time &lt;to&gt; distribute &amp; &quot;share&quot;'));
    assert.ok(svg.includes('peers (n)'));
    assert.ok(svg.includes('time (s) &apos;wall&apos;'));
    assert.ok(svg.includes('measured &lt;median&gt;'));
    assert.ok(svg.includes('lower bound F/u_s &amp; n·F/(u_s+Σu)'));
    assert.ok(!svg.includes('<median>'));
  });

  it('draws the dashed series dashed, and the other solid', () => {
    const lines = [...svg.matchAll(/<polyline [^>]*>/g)].map((m) => m[0]);
    assert.equal(lines.length, 2);
    assert.equal(lines.filter((l) => l.includes('stroke-dasharray')).length, 1);
  });

  it('puts ticks at multiples of 1, 2 or 5 times a power of ten, covering the data', () => {
    const x = ticks(svg, 'x');
    const y = ticks(svg, 'y');
    assertLinearTicks(x);
    assertLinearTicks(y);
    assert.ok(x[0]! <= 1 && x[x.length - 1]! >= 1000);
    assert.ok(y[0]! <= 2 && y[y.length - 1]! >= 97);
  });

  it('on a log y axis, ticks at 1, 2 or 5 times powers of ten, and leaves out what a log axis cannot show', () => {
    const log = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', logY: true, series: [{ name: 's', points: [[0, 0], [1, 3], [2, 4000], [3, -5], [4, 70]] }] });
    wellFormed(log);
    assertDrawable(log);
    const y = ticks(log, 'y');
    assert.ok(y.length >= 2);
    for (const v of y) assert.ok(isOneTwoFive(v), `log tick ${v}`);
    assert.ok(y[0]! <= 3 && y[y.length - 1]! >= 4000);
    // Five points given, three drawable: three dots.
    assert.equal((log.match(/<circle /g) ?? []).length, 3);
  });

  it('copes with no series, empty series, one point and flat lines without NaN', () => {
    const cases = [
      lineChart({ title: 'nothing', xLabel: 'x', yLabel: 'y', series: [] }),
      lineChart({ title: 'empty', xLabel: 'x', yLabel: 'y', series: [{ name: 'none', points: [] }] }),
      lineChart({ title: 'one', xLabel: 'x', yLabel: 'y', series: [{ name: 'single', points: [[5, 7]] }] }),
      lineChart({ title: 'one log', xLabel: 'x', yLabel: 'y', logY: true, logX: true, series: [{ name: 'single', points: [[5, 7]] }] }),
      lineChart({ title: 'flat', xLabel: 'x', yLabel: 'y', series: [{ name: 'zero', points: [[1, 0], [2, 0]] }] }),
      lineChart({ title: 'same x', xLabel: 'x', yLabel: 'y', series: [{ name: 'v', points: [[3, 1], [3, 2]] }] }),
    ];
    for (const svg of cases) {
      wellFormed(svg);
      assertDrawable(svg);
      if (svg.includes('one log')) for (const v of [...ticks(svg, 'x'), ...ticks(svg, 'y')]) assert.ok(isOneTwoFive(v), `log tick ${v}`);
      else for (const axis of ['x', 'y'] as const) assertLinearTicks(ticks(svg, axis));
    }
    assert.ok(cases[1]!.includes('none'), 'an empty series still has its legend entry');
    assert.equal((cases[2]!.match(/<circle /g) ?? []).length, 1, 'a single point is drawn as a dot');
  });

  it('never writes NaN or malformed XML, whatever the numbers and names (property)', () => {
    const num = fc.oneof(fc.double(), fc.integer({ min: -1e6, max: 1e6 }), fc.constantFrom(0, NaN, Infinity, -Infinity, 1e-300, 1e300));
    fc.assert(
      fc.property(
        fc.array(fc.record({ name: fc.string(), points: fc.array(fc.tuple(num, num), { maxLength: 6 }), dashed: fc.boolean() }), { maxLength: 4 }),
        fc.boolean(),
        fc.string(),
        (series, logY, title) => {
          const svg = lineChart({ title, xLabel: 'x <', yLabel: 'y &', series, logY });
          wellFormed(svg);
          assertDrawable(svg);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('barChart', () => {
  const svg = barChart({
    title: 'Messages per query',
    yLabel: 'messages',
    logY: true,
    groups: [
      { label: 'directory', values: [{ name: 'hash', value: 2 }, { name: 'keyword', value: 2 }] },
      { label: 'flood ttl=3', values: [{ name: 'hash', value: 310 }, { name: 'keyword', value: 305 }] },
      { label: 'dht <hash only>', values: [{ name: 'hash', value: 48 }] },
      { label: 'never ran', values: [{ name: 'hash', value: 0 }] },
    ],
  });

  it('is well-formed, with the title, the y label, every group and every series name', () => {
    wellFormed(svg);
    assertDrawable(svg);
    for (const s of ['Messages per query', 'messages', 'directory', 'flood ttl=3', 'dht &lt;hash only&gt;', 'never ran', '>hash<', '>keyword<']) assert.ok(svg.includes(s), s);
  });

  it('draws one bar per drawable value, the same colour for a name in every group', () => {
    const bars = [...svg.matchAll(/<rect x="[^"]+" y="[^"]+" width="[^"]+" height="[^"]+" fill="([^"]+)"><title>([^<]*)</g)];
    // Five positive values; the zero cannot sit on a log axis.
    assert.equal(bars.length, 5);
    const colour = (name: string): Set<string> => new Set(bars.filter((b) => b[2]!.includes(`, ${name}:`)).map((b) => b[1]!));
    assert.equal(colour('hash').size, 1);
    assert.equal(colour('keyword').size, 1);
    assert.notDeepEqual(colour('hash'), colour('keyword'));
  });

  it('has 1-2-5 ticks on log and on linear axes, from zero up on a linear one', () => {
    for (const v of ticks(svg, 'y')) assert.ok(isOneTwoFive(v), `log tick ${v}`);
    const lin = barChart({ title: 't', yLabel: 'success %', groups: [{ label: 'a', values: [{ name: 'v', value: 93.5 }] }, { label: 'b', values: [{ name: 'v', value: 12 }] }] });
    wellFormed(lin);
    const y = ticks(lin, 'y');
    assertLinearTicks(y);
    assert.equal(y[0], 0);
    assert.ok(y[y.length - 1]! >= 93.5);
  });

  it('copes with no groups, empty groups and equal values', () => {
    for (const groups of [[], [{ label: 'x', values: [] }], [{ label: 'x', values: [{ name: 'a', value: 5 }, { name: 'b', value: 5 }] }]]) {
      for (const logY of [false, true]) {
        const out = barChart({ title: 't', yLabel: 'y', groups, logY });
        wellFormed(out);
        assertDrawable(out);
      }
    }
  });

  it('slants group labels that would not fit under their bars', () => {
    const groups = Array.from({ length: 12 }, (_, i) => ({ label: `a rather long label ${i}`, values: [{ name: 'v', value: i + 1 }] }));
    const out = barChart({ title: 't', yLabel: 'y', groups });
    wellFormed(out);
    assert.equal((out.match(/class="group-label"[^>]*rotate\(/g) ?? []).length, 12);
  });
});

describe('ticks and escaping', () => {
  it('linear ticks cover any finite range with a 1-2-5 step (property)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }), fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }), (a, b) => {
        const t = linearTicks(a, b);
        assertLinearTicks(t);
        // Values within 1e-300 of zero count as zero (src/lab/chart.ts).
        assert.ok(t[0]! <= Math.min(a, b) + 1e-300 && t[t.length - 1]! >= Math.max(a, b) - 1e-300);
        assert.ok(t.length <= 12, `${t.length} ticks`);
      }),
      { numRuns: 300 },
    );
  });

  it('log ticks are 1, 2 or 5 times powers of ten covering the range (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-9, max: 1e12, noNaN: true }), fc.double({ min: 1e-9, max: 1e12, noNaN: true }), (a, b) => {
        const t = logTicks(a, b);
        for (const v of t) assert.ok(isOneTwoFive(v), `log tick ${v}`);
        assert.ok(t[0]! <= Math.min(a, b) * (1 + 1e-9) && t[t.length - 1]! >= Math.max(a, b) * (1 - 1e-9));
      }),
      { numRuns: 300 },
    );
  });

  it('escapes markup and drops characters XML cannot hold', () => {
    assert.equal(escapeXml(`<a href="x">&'</a>`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
    assert.equal(escapeXml('bell\u0007 nul\u0000 tab\t'), 'bell nul tab\t');
    assert.equal(escapeXml('lone \ud800 surrogate, pair \ud83d\ude00'), 'lone  surrogate, pair \ud83d\ude00');
  });
});

describe('stackCharts', () => {
  it('puts two charts one under the other in one well-formed document', () => {
    const a = barChart({ title: 'first chart', yLabel: 'y', groups: [{ label: 'g', values: [{ name: 'v', value: 1 }] }] });
    const b = lineChart({ title: 'second chart', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [[1, 1], [2, 4]] }], height: 300 });
    const svg = stackCharts([a, b]);
    wellFormed(svg);
    assert.ok(svg.includes('first chart') && svg.includes('second chart'));
    assert.match(svg, /^<svg [^>]*height="736"/);
    assert.match(svg, /<svg x="0" y="436" /);
  });
});
