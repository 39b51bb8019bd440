/**
 * Hash routing (`/#/blocks/12`): the service serves one page at `/`, so every console address is
 * that page plus a fragment, and no server route can collide with a console one. `useRoute`
 * re-renders on every change of the fragment.
 */
import { useEffect, useState } from 'preact/hooks';

/** Where the reader is: the path's segments (decoded) and the query. */
export interface Route {
  readonly parts: readonly string[];
  readonly query: URLSearchParams;
}

/** parseRoute reads `#/a/b?x=1` (missing or empty: the explorer's home). */
export function parseRoute(hash: string): Route {
  const text = hash.startsWith('#') ? hash.slice(1) : hash;
  const [path = '', query = ''] = text.split('?', 2);
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  return { parts, query: new URLSearchParams(query) };
}

/** href builds a console address from segments (each encoded) and an optional query. */
export function href(parts: ReadonlyArray<string | bigint | number>, query?: Record<string, string | undefined>): string {
  const path = parts.map((p) => encodeURIComponent(String(p))).join('/');
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') qs.set(k, v);
  const s = qs.toString();
  return `#/${path}${s === '' ? '' : `?${s}`}`;
}

/** navigate goes to a console address. */
export function navigate(to: string): void {
  window.location.hash = to.startsWith('#') ? to.slice(1) : to;
}

/** useRoute is the current route, updated on `hashchange`. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const on = (): void => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
