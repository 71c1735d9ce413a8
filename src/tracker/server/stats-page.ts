import type { LiveStats } from './http.js';

/** The small human page at `/`: the figures of /stats, refreshed every 5 s. */
export function statsPage(s: LiveStats): string {
  const rows: [string, string][] = [
    ['torrents', String(s.torrents)],
    ['peers', String(s.peers)],
    ['seeders', String(s.seeders)],
    ['leechers', String(s.leechers)],
    ['completed', String(s.completed)],
    ['announces per second', s.announcesPerSecond.toFixed(1)],
    ['announces', String(s.announces)],
    ['scrapes', String(s.scrapes)],
    ['uptime', `${Math.floor(s.uptimeSeconds / 3600)} h ${Math.floor((s.uptimeSeconds % 3600) / 60)} min`],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="5"><title>peerkit tracker</title>
<style>body{font:16px system-ui,sans-serif;margin:2rem auto;max-width:32rem;padding:0 1rem}
td{padding:.3rem 1rem .3rem 0}td+td{text-align:right;font-variant-numeric:tabular-nums}</style></head>
<body><h1>peerkit tracker</h1><table>
${rows.map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`).join('\n')}
</table><p>Announce at <code>/announce</code>, scrape at <code>/scrape</code>, figures as JSON at <a href="/stats">/stats</a>.</p></body></html>
`;
}
