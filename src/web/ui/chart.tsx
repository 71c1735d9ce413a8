import { useEffect, useRef, useState } from 'preact/hooks';
import type { RateSample } from '../api-types.js';
import { rate } from './format.js';

/* Download and upload rate over time: one sample a second, the newest on the right. */

const H = 220;
const PAD = { l: 64, r: 12, t: 12, b: 24 };
const SPAN_MS = 300_000;

/** A round axis maximum above `v`, in the binary units the labels use: 1, 2, 4 or 8 times 10^k KiB/s, MiB/s... */
export function niceMax(v: number): number {
  let unit = 1024;
  while (v > unit * 1000) unit *= 1024;
  const x = Math.max(v, 10 * 1024) / unit; // at least 10 KiB/s: an idle torrent's axis reads 0 to 10 KiB/s
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 4, 8, 10]) if (m * p >= x) return m * p * unit;
  return 10 * p * unit;
}

export function RateChart({ samples }: { samples: readonly RateSample[] }) {
  // Drawn at the width it is shown at, so the labels keep their size on a phone and on a wide screen.
  const box = useRef<HTMLElement>(null);
  const [W, setW] = useState(720);
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const ro = new ResizeObserver(() => setW(Math.max(280, el.clientWidth)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const last = samples[samples.length - 1]?.t ?? Date.now();
  const max = niceMax(Math.max(0, ...samples.map((s) => Math.max(s.down, s.up))));
  const x = (t: number): number => PAD.l + ((t - (last - SPAN_MS)) / SPAN_MS) * (W - PAD.l - PAD.r);
  const y = (v: number): number => H - PAD.b - (v / max) * (H - PAD.t - PAD.b);
  const line = (pick: (s: RateSample) => number): string => samples.map((s, i) => `${i === 0 ? 'M' : 'L'}${x(s.t).toFixed(1)},${y(pick(s)).toFixed(1)}`).join('');
  const area = (pick: (s: RateSample) => number): string => (samples.length < 2 ? '' : `${line(pick)}L${x(last).toFixed(1)},${y(0)}L${x(samples[0]!.t).toFixed(1)},${y(0)}Z`);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  return (
    <figure class="chart" ref={box}>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="download and upload rate over the last five minutes">
        {ticks.map((v) => (
          <g key={v}>
            <line x1={PAD.l} x2={W - PAD.r} y1={y(v)} y2={y(v)} class="gridline" />
            <text x={PAD.l - 6} y={y(v) + 4} text-anchor="end" class="axis">
              {rate(v) === '–' ? '0' : rate(v)}
            </text>
          </g>
        ))}
        {[5, 4, 3, 2, 1, 0].filter((m) => W >= 480 || m % 2 === 1 || m === 0).map((m) => (
          <text key={m} x={x(last - m * 60_000)} y={H - 6} text-anchor="middle" class="axis">
            {m === 0 ? 'now' : `−${m} min`}
          </text>
        ))}
        <path d={area((s) => s.down)} class="area down" />
        <path d={area((s) => s.up)} class="area up" />
        <path d={line((s) => s.down)} class="line down" />
        <path d={line((s) => s.up)} class="line up" />
      </svg>
      <figcaption>
        <span class="key down">download</span> <span class="key up">upload</span>
      </figcaption>
    </figure>
  );
}
