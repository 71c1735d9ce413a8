/** Human-readable sizes in binary units, as BitTorrent clients show them. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${n} B`;
  return `${v >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

/**
 * Parse a size: plain bytes (`262144`) or with a unit (`256K`, `256KiB`,
 * `1M`, `1MiB`, `4MB`): K/M/G are binary multiples, as piece lengths are.
 */
export function parseSize(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(s);
  if (m === null) return undefined;
  const exp = ' kmgt'.indexOf((m[2] ?? '').toLowerCase() || ' ');
  const v = Number(m[1]) * 1024 ** exp;
  return Number.isSafeInteger(v) ? v : undefined;
}

/** `1 file`, `3 files`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Text from a torrent or a link, made safe to print on a terminal: control
 * characters (which could move the cursor, clear the screen or set the
 * title) and bidirectional overrides (which can disguise `exe.txt` as
 * `txt.exe`) are shown as \u escapes.
 */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A two-column table of label and value lines. */
export function table(rows: readonly (readonly [string, string])[]): string {
  const width = rows.reduce((w, [k]) => Math.max(w, k.length), 0);
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
