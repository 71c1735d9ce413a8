import type { SessionView, TrackerView } from '../api-types.js';
import { api } from './api.js';
import { Stat, usePoll } from './widgets.js';

/* The embedded tracker: its announce URLs and its figures. */

const load = (): Promise<TrackerView> => api<TrackerView>('GET', '/api/tracker');

export function TrackerPage({ session }: { session: SessionView | null }) {
  const { data, error } = usePoll(load, 2000);
  return (
    <section>
      <div class="page-head">
        <h1>Tracker</h1>
      </div>
      {error !== null && <p class="t-error">{error}</p>}
      {data === null ? null : !data.enabled ? (
        <p class="empty">The embedded tracker is off (--no-tracker).</p>
      ) : (
        <>
          <p class="muted">
            A tracker keeps the list of peers of each torrent and gives each one that announces a random few others. Torrents you share here announce to{' '}
            <code>{session?.trackerUrl ?? data.httpUrl}</code>.
          </p>
          <dl class="facts">
            {data.httpUrl && (
              <>
                <dt>HTTP</dt>
                <dd>
                  <code>{data.httpUrl}</code>
                </dd>
              </>
            )}
            {data.udpUrl && (
              <>
                <dt>UDP (BEP 15)</dt>
                <dd>
                  <code>{data.udpUrl}</code>
                </dd>
              </>
            )}
          </dl>
          <div class="stats">
            <Stat label="torrents">{data.stats!.torrents}</Stat>
            <Stat label="peers">{data.stats!.peers}</Stat>
            <Stat label="seeders">{data.stats!.seeders}</Stat>
            <Stat label="leechers">{data.stats!.leechers}</Stat>
            <Stat label="completed">{data.stats!.completed}</Stat>
            <Stat label="announces">{data.stats!.announces}</Stat>
            <Stat label="scrapes">{data.stats!.scrapes}</Stat>
          </div>
        </>
      )}
    </section>
  );
}
