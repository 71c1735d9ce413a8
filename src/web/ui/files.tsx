import type { FilePriority, TorrentDetails } from '../api-types.js';
import { api } from './api.js';
import { bytes, percent } from './format.js';
import type { Notify } from './widgets.js';

/* The files of a torrent: which to download (unticked: skipped, never requested) and which first (high: before the normal ones). */

export function FilesView({ d, notify }: { d: TorrentDetails; notify: Notify }) {
  const files = d.files.filter((f) => !f.padding);
  if (files.length === 0) return <p class="muted">The file list arrives with the metadata.</p>;
  const set = async (index: number, priority: FilePriority): Promise<void> => {
    try {
      await api('PATCH', `/api/torrents/${d.infoHash}/files`, { files: [{ index, priority }] });
    } catch (e) {
      notify(e instanceof Error ? e.message : String(e), 'error');
    }
  };
  return (
    <div class="table-wrap">
      <table class="grid files stack" aria-label="files">
        <thead>
          <tr>
            <th>Download</th>
            <th>File</th>
            <th class="num">Size</th>
            <th>Done</th>
            <th>Priority</th>
          </tr>
        </thead>
        <tbody>
          {files.map((f) => (
            <tr key={f.index} class={f.priority === 'skip' ? 'skipped' : undefined}>
              <td data-label="Download">
                <input type="checkbox" checked={f.priority !== 'skip'} aria-label={`download ${f.path}`} onChange={(e) => void set(f.index, e.currentTarget.checked ? 'normal' : 'skip')} />
              </td>
              <td class="wrap" data-label="File">{f.path}</td>
              <td class="num" data-label="Size">{bytes(f.size)}</td>
              <td data-label="Done">
                <div class="mini-bar" title={percent(f.size > 0 ? f.done / f.size : 1)}>
                  <div style={{ width: `${f.size > 0 ? (100 * f.done) / f.size : 100}%` }} />
                </div>
              </td>
              <td data-label="Priority">
                <select value={f.priority === 'skip' ? 'normal' : f.priority} disabled={f.priority === 'skip'} aria-label={`priority of ${f.path}`} onChange={(e) => void set(f.index, e.currentTarget.value as FilePriority)}>
                  <option value="high">high: first</option>
                  <option value="normal">normal</option>
                </select>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
