import { useState } from 'preact/hooks';
import type { SessionView, TorrentSummary } from '../api-types.js';
import { api } from './api.js';
import { bytes, duration, percent, rate, ratio } from './format.js';
import { CopyField, Modal, type Notify, Progress, StateBadge } from './widgets.js';

/* The torrents page: add (file, magnet or URL), share a local file or folder, and the list. */

export function TorrentsPage({ torrents, session, notify }: { torrents: readonly TorrentSummary[] | null; session: SessionView | null; notify: Notify }) {
  const [panel, setPanel] = useState<'add' | 'share' | null>(null);
  const [removing, setRemoving] = useState<TorrentSummary | null>(null);
  return (
    <section>
      <div class="page-head">
        <h1>Torrents</h1>
        <div class="actions">
          <button class={panel === 'add' ? 'primary on' : 'primary'} onClick={() => setPanel(panel === 'add' ? null : 'add')} aria-expanded={panel === 'add'}>
            + Add torrent
          </button>
          <button class={panel === 'share' ? 'on' : undefined} onClick={() => setPanel(panel === 'share' ? null : 'share')} aria-expanded={panel === 'share'}>
            Share a file or folder
          </button>
        </div>
      </div>
      {panel === 'add' && <AddPanel session={session} notify={notify} done={() => setPanel(null)} />}
      {panel === 'share' && <SharePanel notify={notify} />}
      {torrents === null ? null : torrents.length === 0 ? (
        <div class="empty">
          <p>No torrents yet.</p>
          <p class="muted">Add a .torrent file, a magnet link or a URL, or share a file or folder of yours: peerkit makes the torrent and seeds it.</p>
        </div>
      ) : (
        <ul class="torrent-list" aria-label="torrents">
          {torrents.map((t) => (
            <TorrentRow key={t.infoHash} t={t} notify={notify} remove={() => setRemoving(t)} />
          ))}
        </ul>
      )}
      {removing !== null && <RemoveDialog t={removing} notify={notify} close={() => setRemoving(null)} />}
    </section>
  );
}

function TorrentRow({ t, notify, remove }: { t: TorrentSummary; notify: Notify; remove: () => void }) {
  const toggle = async (): Promise<void> => {
    try {
      await api('POST', `/api/torrents/${t.infoHash}/${t.paused ? 'resume' : 'pause'}`);
    } catch (e) {
      notify(e instanceof Error ? e.message : String(e), 'error');
    }
  };
  return (
    <li class={`torrent s-${t.state}`} data-hash={t.infoHash}>
      <div class="t-head">
        <a class="t-name" href={`#/torrent/${t.infoHash}`} title={t.name}>
          {t.name}
        </a>
        <StateBadge state={t.state} />
      </div>
      <Progress value={t.progress} state={t.state} label={`${t.name}: progress`} />
      <div class="t-foot">
        <dl class="t-stats">
          <div>
            <dt>size</dt>
            <dd>{t.size > 0 ? `${bytes(t.done)} of ${bytes(t.size)}` : '–'}</dd>
          </div>
          <div>
            <dt>down</dt>
            <dd class="down">{rate(t.downloadRate)}</dd>
          </div>
          <div>
            <dt>up</dt>
            <dd class="up">{rate(t.uploadRate)}</dd>
          </div>
          <div>
            <dt>ratio</dt>
            <dd>{ratio(t.ratio)}</dd>
          </div>
          <div>
            <dt>peers</dt>
            <dd>{t.peers}</dd>
          </div>
          {t.eta !== null && (
            <div>
              <dt>ETA</dt>
              <dd>{duration(t.eta)}</dd>
            </div>
          )}
        </dl>
        <div class="t-actions">
          <button onClick={() => void toggle()} aria-label={`${t.paused ? 'Resume' : 'Pause'} ${t.name}`}>
            {t.paused ? 'Resume' : 'Pause'}
          </button>
          <button class="danger" onClick={remove} aria-label={`Remove ${t.name}`}>
            Remove
          </button>
        </div>
      </div>
      {t.error !== null && <p class="t-error">{t.error}</p>}
    </li>
  );
}

function AddPanel({ session, notify, done }: { session: SessionView | null; notify: Notify; done: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [link, setLink] = useState('');
  const [savePath, setSavePath] = useState('');
  const [paused, setPaused] = useState(false);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (file === null && link.trim() === '') {
      notify('Choose a .torrent file, or paste a magnet link or URL.', 'error');
      return;
    }
    const form = new FormData();
    if (file !== null) form.append('torrent', file, file.name);
    else form.append('url', link.trim());
    if (savePath.trim() !== '') form.append('savePath', savePath.trim());
    if (paused) form.append('paused', 'true');
    setBusy(true);
    try {
      const t = await api<TorrentSummary>('POST', '/api/torrents', form);
      notify(`Added ${t.name}`);
      done();
    } catch (err) {
      notify(err instanceof Error ? err.message : String(err), 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="panel" onSubmit={(e) => void submit(e)} aria-label="add a torrent">
      <div class="field">
        <label for="add-file">A .torrent file</label>
        <input id="add-file" type="file" accept=".torrent,application/x-bittorrent" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
      </div>
      <div class="or">or</div>
      <div class="field grow">
        <label for="add-link">A magnet link or the URL of a .torrent</label>
        <input id="add-link" type="text" placeholder="magnet:?xt=urn:btih:…  or  https://…/file.torrent" value={link} onInput={(e) => setLink(e.currentTarget.value)} disabled={file !== null} />
      </div>
      <div class="field grow">
        <label for="add-dir">Save to</label>
        <input id="add-dir" type="text" placeholder={session?.downloadDir ?? ''} value={savePath} onInput={(e) => setSavePath(e.currentTarget.value)} />
      </div>
      <label class="check">
        <input type="checkbox" checked={paused} onChange={(e) => setPaused(e.currentTarget.checked)} /> start paused
      </label>
      <div class="panel-actions">
        <button class="primary" type="submit" disabled={busy}>
          {busy ? 'Adding…' : 'Add'}
        </button>
      </div>
    </form>
  );
}

function SharePanel({ notify }: { notify: Notify }) {
  const [path, setPath] = useState('');
  const [busy, setBusy] = useState(false);
  const [made, setMade] = useState<{ name: string; magnet: string } | null>(null);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    try {
      const t = await api<TorrentSummary & { magnet: string }>('POST', '/api/share', { path: path.trim() });
      setMade({ name: t.name, magnet: t.magnet });
      notify(`Sharing ${t.name}`);
    } catch (err) {
      notify(err instanceof Error ? err.message : String(err), 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="panel" onSubmit={(e) => void submit(e)} aria-label="share a file or folder">
      <div class="field grow">
        <label for="share-path">The file or folder to share, as a full path on this machine</label>
        <input id="share-path" type="text" placeholder="/home/you/Music/album" value={path} onInput={(e) => setPath(e.currentTarget.value)} required />
      </div>
      <div class="panel-actions">
        <button class="primary" type="submit" disabled={busy || path.trim() === ''}>
          {busy ? 'Hashing…' : 'Create the torrent and seed'}
        </button>
      </div>
      {made !== null && (
        <div class="field full">
          <label>Magnet link of {made.name}: give it to whoever should download it</label>
          <CopyField value={made.magnet} label="magnet link" />
        </div>
      )}
    </form>
  );
}

function RemoveDialog({ t, notify, close }: { t: TorrentSummary; notify: Notify; close: () => void }) {
  const remove = async (deleteData: boolean): Promise<void> => {
    try {
      await api('DELETE', `/api/torrents/${t.infoHash}?deleteData=${deleteData}`);
      notify(`Removed ${t.name}${deleteData ? ' and deleted its data' : ''}`);
    } catch (e) {
      notify(e instanceof Error ? e.message : String(e), 'error');
    }
    close();
  };
  return (
    <Modal title={`Remove ${t.name}?`} onClose={close}>
      <p>
        It stops at once. Its data in <code>{t.savePath}</code> can stay ({percent(t.progress)} of {bytes(t.size)}), or go with it: only the torrent's own files are deleted, anything else in that folder stays.
      </p>
      <div class="modal-actions">
        <button onClick={close}>Cancel</button>
        <button onClick={() => void remove(false)}>Remove, keep the data</button>
        <button class="danger solid" onClick={() => void remove(true)}>
          Remove and delete the data
        </button>
      </div>
    </Modal>
  );
}
