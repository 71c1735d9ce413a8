import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { LabView, PeerView, SessionView, TorrentDetails, TorrentSummary } from '../api-types.js';
import { api, ApiError, follow } from './api.js';
import { DhtPage } from './dht.js';
import { rate } from './format.js';
import { LabPage } from './lab.js';
import { LoginPage } from './login.js';
import { go, useRoute } from './router.js';
import { TorrentPage } from './torrent.js';
import { TorrentsPage } from './torrents.js';
import { TrackerPage } from './tracker.js';
import { Notices, type Notify, useNotices } from './widgets.js';

/*
 * The app: a bar with the pages and the totals, and the page of the
 * route. The state that the daemon pushes (the list, the totals, the
 * followed torrent, the lab) lives here, fed by one event stream.
 */

type Auth = 'checking' | 'in' | 'out';

function App() {
  const route = useRoute();
  const [auth, setAuth] = useState<Auth>('checking');
  const [session, setSession] = useState<SessionView | null>(null);
  const [torrents, setTorrents] = useState<readonly TorrentSummary[] | null>(null);
  const [detail, setDetail] = useState<{ details: TorrentDetails; peers: readonly PeerView[] } | null>(null);
  const [lab, setLab] = useState<LabView | null>(null);
  const [connected, setConnected] = useState(true);
  const { notices, notify, dismiss } = useNotices();
  const following = route.page === 'torrent' ? route.hash : undefined;

  const checkAuth = useCallback(async () => {
    try {
      setSession(await api<SessionView>('GET', '/api/session'));
      setTorrents(await api<TorrentSummary[]>('GET', '/api/torrents'));
      setAuth('in');
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setAuth('out');
      else setConnected(false);
    }
  }, []);

  useEffect(() => void checkAuth(), [checkAuth]);

  useEffect(() => {
    if (auth !== 'in') return;
    setDetail(null);
    if (following !== undefined) {
      Promise.all([api<TorrentDetails>('GET', `/api/torrents/${following}`), api<PeerView[]>('GET', `/api/torrents/${following}/peers`)]).then(
        ([details, peers]) => setDetail({ details, peers }),
        (e: unknown) => notify(e instanceof Error ? e.message : String(e), 'error'),
      );
    }
    return follow(
      following,
      {
        torrents: setTorrents,
        session: setSession,
        torrent: setDetail,
        lab: setLab,
        removed: () => {
          // Removed elsewhere (another tab, a script): this page has nothing left to show.
          setDetail(null);
          notify('This torrent was removed.');
          go('#/');
        },
      },
      (up) => {
        setConnected(up);
        // Refused for good? Then the token changed or the daemon is gone: find out which.
        if (!up) void checkAuth();
      },
    );
  }, [auth, following, checkAuth, notify]);

  if (auth === 'checking') return <div class="splash">peerkit</div>;
  if (auth === 'out' || route.page === 'login') {
    return <LoginPage failed={route.query.get('failed') === '1'} onIn={() => void checkAuth().then(() => (location.hash = '#/'))} />;
  }
  return (
    <>
      <TopBar page={route.page} session={session} connected={connected} />
      <main>
        <Notices notices={notices} dismiss={dismiss} />
        {page(route, { torrents, session, detail, lab, notify })}
      </main>
    </>
  );
}

function page(route: ReturnType<typeof useRoute>, s: { torrents: readonly TorrentSummary[] | null; session: SessionView | null; detail: { details: TorrentDetails; peers: readonly PeerView[] } | null; lab: LabView | null; notify: Notify }) {
  switch (route.page) {
    case 'torrent':
      return <TorrentPage hash={route.hash!} tab={route.tab ?? 'overview'} detail={s.detail?.details.infoHash === route.hash ? s.detail : null} notify={s.notify} />;
    case 'dht':
      return <DhtPage />;
    case 'tracker':
      return <TrackerPage session={s.session} />;
    case 'lab':
      return <LabPage live={s.lab} notify={s.notify} />;
    default:
      return <TorrentsPage torrents={s.torrents} session={s.session} notify={s.notify} />;
  }
}

const NAV = [
  ['torrents', '#/', 'Torrents'],
  ['dht', '#/dht', 'DHT'],
  ['tracker', '#/tracker', 'Tracker'],
  ['lab', '#/lab', 'Lab'],
] as const;

function TopBar({ page, session, connected }: { page: string; session: SessionView | null; connected: boolean }) {
  const current = page === 'torrent' ? 'torrents' : page;
  return (
    <header class="topbar">
      <a class="brand" href="#/" aria-label="peerkit: torrents">
        <Logo />
        <span>peerkit</span>
      </a>
      <nav>
        {NAV.map(([id, href, label]) => (
          <a key={id} href={href} class={current === id ? 'active' : undefined} aria-current={current === id ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      <div class="totals" title="all torrents together">
        <span class="down">↓ {rate(session?.downloadRate ?? 0)}</span>
        <span class="up">↑ {rate(session?.uploadRate ?? 0)}</span>
        <span class={`dot ${connected ? 'on' : 'off'}`} title={connected ? 'live' : 'reconnecting to the daemon…'} />
      </div>
    </header>
  );
}

function Logo() {
  // Three peers sharing: the mark of the project.
  return (
    <svg viewBox="0 0 32 32" width="26" height="26" aria-hidden="true">
      <path d="M16 6 L6 24 L26 24 Z" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linejoin="round" opacity="0.55" />
      <circle cx="16" cy="6" r="4.2" fill="#f59e0b" />
      <circle cx="6" cy="24" r="4.2" fill="#22a06b" />
      <circle cx="26" cy="24" r="4.2" fill="#4f6bed" />
    </svg>
  );
}

render(<App />, document.getElementById('app')!);
