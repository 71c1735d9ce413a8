import { useEffect, useState } from 'preact/hooks';
import type { LabRow, LabView } from '../api-types.js';
import { api } from './api.js';
import { bytes } from './format.js';
import type { Notify } from './widgets.js';

/*
 * The distribution experiment (Kurose and Ross, "self-scalability"): the
 * time for a server to give a file to N peers, client-server against P2P,
 * with peerkit's own engine on the simulated network, next to the lower
 * bounds. The run is the daemon's (on a worker thread); rows arrive as the
 * event stream brings them.
 */

const MB = 1e6;

export function LabPage({ live, notify }: { live: LabView | null; notify: Notify }) {
  const [view, setView] = useState<LabView | null>(null);
  const [peers, setPeers] = useState('1, 2, 5, 10, 20');
  const [sizeMiB, setSizeMiB] = useState('4');
  const [serverUp, setServerUp] = useState('4');
  const [peerUp, setPeerUp] = useState('2');
  const [seed, setSeed] = useState('1');

  useEffect(() => {
    void api<LabView>('GET', '/api/lab').then(setView);
  }, []);
  useEffect(() => {
    if (live !== null) setView(live);
  }, [live]);

  const run = async (e: Event): Promise<void> => {
    e.preventDefault();
    const body = {
      peers: peers
        .split(/[\s,]+/)
        .filter((s) => s.length > 0)
        .map(Number),
      size: Math.round(Number(sizeMiB) * 1024 * 1024),
      serverUp: Number(serverUp) * MB,
      peerUp: Number(peerUp) * MB,
      seed: Number(seed),
    };
    try {
      setView(await api<LabView>('POST', '/api/lab/distribution', body));
    } catch (err) {
      notify(err instanceof Error ? err.message : String(err), 'error');
    }
  };
  const running = view?.state === 'running';
  return (
    <section>
      <div class="page-head">
        <h1>Lab: distributing a file to N peers</h1>
      </div>
      <p class="muted">
        A server with upload u<sub>s</sub> gives a file of F bytes to N peers with upload u. <strong>Client-server</strong>: the server sends every copy, so it needs at least N·F/u<sub>s</sub>, growing with N.{' '}
        <strong>P2P</strong>: the peers trade pieces among themselves (here the real peerkit engine, rarest first and choking included, on a simulated network), and the bound max(F/u<sub>s</sub>, N·F/(u
        <sub>s</sub> + N·u)) hardly grows: each newcomer brings upload too.
      </p>
      <form class="panel lab-form" onSubmit={(e) => void run(e)} aria-label="experiment">
        <div class="field grow">
          <label for="lab-n">N, peers (up to 50)</label>
          <input id="lab-n" value={peers} onInput={(e) => setPeers(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="lab-f">F, MiB</label>
          <input id="lab-f" type="number" min="0.02" max="16" step="any" value={sizeMiB} onInput={(e) => setSizeMiB(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="lab-us">
            u<sub>s</sub>, MB/s
          </label>
          <input id="lab-us" type="number" min="0.01" step="any" value={serverUp} onInput={(e) => setServerUp(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="lab-u">u, MB/s</label>
          <input id="lab-u" type="number" min="0.01" step="any" value={peerUp} onInput={(e) => setPeerUp(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="lab-seed">seed</label>
          <input id="lab-seed" type="number" min="0" step="1" value={seed} onInput={(e) => setSeed(e.currentTarget.value)} />
        </div>
        <div class="panel-actions">
          <button class="primary" type="submit" disabled={running}>
            {running ? 'Running…' : 'Run the experiment'}
          </button>
        </div>
      </form>
      {view !== null && view.state !== 'idle' && <Result view={view} />}
    </section>
  );
}

function Result({ view }: { view: LabView }) {
  const p = view.params;
  return (
    <div class="lab-result">
      {p !== null && (
        <p class="muted">
          F = {bytes(p.size)}, u<sub>s</sub> = {p.serverUp / MB} MB/s, u = {p.peerUp / MB} MB/s, seed {p.seed}
          {view.ms !== null && view.state === 'done' ? `: ${view.rows.length} runs in ${(view.ms / 1000).toFixed(1)} s of real time` : ''}.
        </p>
      )}
      {view.state === 'error' && <p class="t-error">{view.error}</p>}
      {view.svg !== null && <img class="lab-chart" alt="time to distribute against N: measured and bounds, client-server and P2P" src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(view.svg)}`} />}
      <div class="table-wrap">
        <table class="grid" aria-label="results">
          <thead>
            <tr>
              <th>Mode</th>
              <th class="num">N</th>
              <th class="num">Measured (s)</th>
              <th class="num">Bound (s)</th>
              <th class="num">Measured / bound</th>
            </tr>
          </thead>
          <tbody>
            {view.rows.map((r: LabRow) => (
              <tr key={`${r.mode}${r.n}`}>
                <td>{r.mode}</td>
                <td class="num">{r.n}</td>
                <td class="num">{r.seconds.toFixed(2)}</td>
                <td class="num">{r.bound.toFixed(2)}</td>
                <td class="num">{r.ratio.toFixed(2)}</td>
              </tr>
            ))}
            {view.state === 'running' && (
              <tr>
                <td colSpan={5} class="muted">
                  running…
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
