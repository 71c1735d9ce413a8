import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { TorrentStateName } from '../api-types.js';
import { percent } from './format.js';

/* The few pieces the pages share: notices, progress bars, state badges, a dialog, a copyable field. */

export interface Notice {
  readonly id: number;
  readonly text: string;
  readonly kind: 'info' | 'error';
}

export type Notify = (text: string, kind?: Notice['kind']) => void;

export function useNotices(): { notices: readonly Notice[]; notify: Notify; dismiss: (id: number) => void } {
  const [notices, setNotices] = useState<readonly Notice[]>([]);
  const next = useRef(1);
  const dismiss = useCallback((id: number) => setNotices((list) => list.filter((n) => n.id !== id)), []);
  const notify = useCallback<Notify>(
    (text, kind = 'info') => {
      const id = next.current++;
      setNotices((list) => [...list.slice(-3), { id, text, kind }]);
      // Errors stay until dismissed: they may need reading twice.
      if (kind === 'info') setTimeout(() => dismiss(id), 6000);
    },
    [dismiss],
  );
  return { notices, notify, dismiss };
}

export function Notices({ notices, dismiss }: { notices: readonly Notice[]; dismiss: (id: number) => void }) {
  if (notices.length === 0) return null;
  return (
    <div class="notices" role="status" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} class={`notice ${n.kind}`}>
          <span>{n.text}</span>
          <button class="plain" aria-label="dismiss" onClick={() => dismiss(n.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

const STATE_LABEL: Record<TorrentStateName, string> = {
  metadata: 'getting metadata',
  checking: 'checking',
  downloading: 'downloading',
  finished: 'finished',
  seeding: 'seeding',
  paused: 'paused',
  error: 'error',
};

export function StateBadge({ state }: { state: TorrentStateName }) {
  return <span class={`badge s-${state}`}>{STATE_LABEL[state]}</span>;
}

export function Progress({ value, state, label }: { value: number; state: TorrentStateName; label?: string }) {
  return (
    <div class={`progress s-${state}`} role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.floor(value * 100)} aria-label={label ?? 'progress'}>
      <div class="fill" style={{ width: `${Math.min(100, value * 100)}%` }} />
      <span class="pct">{percent(value)}</span>
    </div>
  );
}

export function Modal({ title, children, onClose }: { title: string; children: ComponentChildren; onClose: () => void }) {
  useEffect(() => {
    const key = (e: KeyboardEvent): void => {
      if (e.key === 'Escape') onClose();
    };
    addEventListener('keydown', key);
    return () => removeEventListener('keydown', key);
  }, [onClose]);
  return (
    <div class="modal-back" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div class="modal" role="dialog" aria-modal="true" aria-label={title}>
        <h2>{title}</h2>
        {children}
      </div>
    </div>
  );
}

export function CopyField({ value, label }: { value: string; label: string }) {
  const [copied, setCopied] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      // No clipboard access (an insecure origin): leave it selected for Ctrl-C.
      input.current?.select();
      return;
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <div class="copy-field">
      <input ref={input} readOnly value={value} aria-label={label} onFocus={(e) => e.currentTarget.select()} />
      <button type="button" onClick={() => void copy()}>
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

export function Stat({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="stat">
      <div class="stat-label">{label}</div>
      <div class="stat-value">{children}</div>
    </div>
  );
}

/** Re-run `fn` every `ms` while the page is shown (pages that the event stream does not feed). */
export function usePoll<T>(fn: () => Promise<T>, ms: number): { data: T | null; error: string | null } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stopped = false;
    const run = (): void => {
      fn().then(
        (d) => {
          if (stopped) return;
          setData(d);
          setError(null);
        },
        (e: unknown) => !stopped && setError(e instanceof Error ? e.message : String(e)),
      );
    };
    run();
    const t = setInterval(run, ms);
    return () => {
      stopped = true;
      clearInterval(t);
    };
  }, [fn, ms]);
  return { data, error };
}
