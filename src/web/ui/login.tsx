import { useState } from 'preact/hooks';
import { api } from './api.js';

/* Logging in with the token the daemon printed (also in daemon.json): the daemon answers with an HttpOnly cookie. */

export function LoginPage({ failed, onIn }: { failed: boolean; onIn: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(failed ? 'That link had a wrong token: the daemon prints the right one when it starts.' : null);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    try {
      await api('POST', '/login', { token: token.trim() });
      onIn();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <div class="login">
      <form class="panel" onSubmit={(e) => void submit(e)} aria-label="log in">
        <h1>peerkit</h1>
        <p class="muted">
          Open the link the daemon printed when it started, or paste its token here. It is kept in <code>daemon.json</code> in the config folder (<code>~/.config/peerkit</code>).
        </p>
        <div class="field full">
          <label for="token">Token</label>
          <input id="token" type="password" autocomplete="current-password" value={token} onInput={(e) => setToken(e.currentTarget.value)} required />
        </div>
        {error !== null && <p class="t-error">{error}</p>}
        <div class="panel-actions">
          <button class="primary" type="submit">
            Log in
          </button>
        </div>
      </form>
    </div>
  );
}
