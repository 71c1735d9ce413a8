import { useEffect, useState } from 'preact/hooks';

/*
 * Pages are addressed by the URL's fragment, so a reload or a shared link
 * opens the same page and the daemon serves one index.html:
 *
 *   #/                        the torrents
 *   #/torrent/<hash>/<tab>    one torrent: peers, pieces, files, trackers
 *   #/dht  #/tracker  #/lab  #/login
 */

export interface Route {
  readonly page: 'torrents' | 'torrent' | 'dht' | 'tracker' | 'lab' | 'login';
  readonly hash?: string;
  readonly tab?: string;
  readonly query: URLSearchParams;
}

export function parseRoute(fragment: string): Route {
  const [path = '', q = ''] = fragment.replace(/^#/, '').split('?');
  const parts = path.split('/').filter((p) => p.length > 0);
  const query = new URLSearchParams(q);
  const [first, second, third] = parts;
  if (first === 'torrent' && second !== undefined && /^[0-9a-f]{40}$/i.test(second)) return { page: 'torrent', hash: second.toLowerCase(), tab: third ?? 'overview', query };
  if (first === 'dht' || first === 'tracker' || first === 'lab' || first === 'login') return { page: first, query };
  return { page: 'torrents', query };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = (): void => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function go(fragment: string): void {
  location.hash = fragment;
}
