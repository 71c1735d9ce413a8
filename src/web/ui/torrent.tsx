import type { PeerView, TorrentDetails, TrackerStatus } from '../api-types.js';
import { api } from './api.js';
import { RateChart } from './chart.js';
import { FilesView } from './files.js';
import { ago, bytes, duration, rate, ratio } from './format.js';
import { PeersView } from './peers.js';
import { PieceMap } from './pieces.js';
import { CopyField, type Notify, Progress, Stat, StateBadge } from './widgets.js';

/* One torrent: its figures, then tabs for its rates, peers, pieces, files and trackers. */

const TABS = [
  ['overview', 'Overview'],
  ['peers', 'Peers'],
  ['pieces', 'Pieces'],
  ['files', 'Files'],
  ['trackers', 'Trackers'],
] as const;

export function TorrentPage({ hash, tab, detail, notify }: { hash: string; tab: string; detail: { details: TorrentDetails; peers: readonly PeerView[] } | null; notify: Notify }) {
  if (detail === null) {
    return (
      <section>
        <p class="muted">
          Loading… (<a href="#/">back to the torrents</a>)
        </p>
      </section>
    );
  }
  const d = detail.details;
  const act = async (what: 'pause' | 'resume'): Promise<void> => {
    try {
      await api('POST', `/api/torrents/${hash}/${what}`);
    } catch (e) {
      notify(e instanceof Error ? e.message : String(e), 'error');
    }
  };
  return (
    <section class="torrent-page">
      <a class="back" href="#/">
        ← Torrents
      </a>
      <div class="page-head">
        <h1 class="t-title" title={d.name}>
          {d.name}
        </h1>
        <div class="actions">
          <StateBadge state={d.state} />
          <button onClick={() => void act(d.paused ? 'resume' : 'pause')}>{d.paused ? 'Resume' : 'Pause'}</button>
        </div>
      </div>
      <Progress value={d.progress} state={d.state} label={`${d.name}: progress`} />
      {d.error !== null && <p class="t-error">{d.error}</p>}
      <div class="stats">
        <Stat label="size">{d.size > 0 ? bytes(d.size) : 'not known yet'}</Stat>
        <Stat label="done">{bytes(d.done)}</Stat>
        <Stat label="download">{rate(d.downloadRate)}</Stat>
        <Stat label="upload">{rate(d.uploadRate)}</Stat>
        <Stat label="ratio">{ratio(d.ratio)}</Stat>
        <Stat label="peers">{detail.peers.length}</Stat>
        <Stat label="ETA">{d.eta === null ? '–' : duration(d.eta)}</Stat>
        <Stat label="uploaded">{bytes(d.uploaded)}</Stat>
        <Stat label="pieces">{d.pieceCount > 0 ? `${d.pieceCount} × ${bytes(d.pieceLength)}` : '–'}</Stat>
      </div>
      <nav class="tabs" aria-label="torrent views">
        {TABS.map(([id, label]) => (
          <a key={id} href={`#/torrent/${hash}/${id}`} class={tab === id ? 'active' : undefined} aria-current={tab === id ? 'page' : undefined}>
            {label}
            {id === 'peers' ? ` (${detail.peers.length})` : ''}
          </a>
        ))}
      </nav>
      <div class="tab-body">
        {tab === 'peers' && <PeersView peers={detail.peers} />}
        {tab === 'pieces' && <PieceMap have={d.have} availability={d.availability} pieceLength={d.pieceLength} />}
        {tab === 'files' && <FilesView d={d} notify={notify} />}
        {tab === 'trackers' && <Trackers list={d.trackers} />}
        {(tab === 'overview' || !TABS.some(([id]) => id === tab)) && <Overview d={d} />}
      </div>
    </section>
  );
}

function Overview({ d }: { d: TorrentDetails }) {
  return (
    <div class="overview">
      <h2>Rates, the last five minutes</h2>
      <RateChart samples={d.history} />
      <dl class="facts">
        <dt>Magnet link</dt>
        <dd>
          <CopyField value={d.magnet} label="magnet link" />
        </dd>
        <dt>Info hash</dt>
        <dd>
          <code>{d.infoHash}</code>
        </dd>
        <dt>Saved in</dt>
        <dd>
          <code>{d.savePath}</code>
        </dd>
        {d.comment !== null && (
          <>
            <dt>Comment</dt>
            <dd>{d.comment}</dd>
          </>
        )}
        <dt>Private</dt>
        <dd>{d.private ? 'yes: trackers only, no DHT or peer exchange (BEP 27)' : 'no'}</dd>
      </dl>
    </div>
  );
}

function Trackers({ list }: { list: readonly TrackerStatus[] }) {
  const now = Date.now();
  if (list.length === 0) return <p class="muted">No trackers, and no DHT: peers come only from peer exchange and the addresses given.</p>;
  return (
    <div class="table-wrap">
      <table class="grid stack" aria-label="trackers">
        <thead>
          <tr>
            <th>Tracker</th>
            <th>Tier</th>
            <th>Status</th>
            <th class="num">Peers</th>
            <th>Last answer</th>
            <th>Message</th>
          </tr>
        </thead>
        <tbody>
          {list.map((t) => (
            <tr key={t.url}>
              <td data-label="Tracker" class="mono">{t.url}</td>
              <td data-label="Tier">{t.tier < 0 ? '–' : t.tier + 1}</td>
              <td data-label="Status">
                <span class={`badge tr-${t.status.replace(' ', '-')}`}>{t.status}</span>
              </td>
              <td data-label="Peers" class="num">{t.peers}</td>
              <td data-label="Last answer">{ago(t.at, now)}</td>
              <td data-label="Message" class="wrap">{t.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
