/* Numbers as people read them: sizes in binary units, rates, durations, percentages. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function bytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '–';
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${Number.isInteger(v) ? v : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v)} ${UNITS[i]}`;
}

export function rate(n: number): string {
  return n < 1 ? '–' : `${bytes(Math.round(n))}/s`;
}

export function percent(fraction: number): string {
  // 99.95% is not 100%: a torrent is done only when it is done.
  const p = Math.floor(fraction * 1000) / 10;
  return `${p.toFixed(p === 100 || p === 0 ? 0 : 1)}%`;
}

export function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '∞';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

export function ago(at: number | null, now: number): string {
  if (at === null) return 'never';
  const s = Math.max(0, Math.round((now - at) / 1000));
  return s < 5 ? 'just now' : `${duration(s)} ago`;
}

export function ratio(r: number): string {
  return r.toFixed(2);
}

export function shortHash(hex: string): string {
  return `${hex.slice(0, 8)}…${hex.slice(-4)}`;
}
