/**
 * Small shared pieces of the console's pages: loading and refusal messages (in the reader's
 * language, from the problem's code), hashes shown short with the full value on hover and copy,
 * and a hook that loads JSON for a page.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, getJson } from './api.js';
import { t } from './i18n.js';
import { problemText } from './problems.js';

/** What {@link useLoad} knows about one request. */
export type Loaded<T> = { readonly state: 'loading' } | { readonly state: 'ok'; readonly value: T } | { readonly state: 'error'; readonly error: unknown };

/**
 * useLoad fetches `path` (again whenever it changes or `reloadKey` does); undefined path: nothing.
 * What it returns always belongs to the current path: until the new answer is in, it is
 * `loading`, never the previous path's value.
 */
export function useLoad<T>(path: string | undefined, reloadKey: unknown = 0): Loaded<T> {
  const [loaded, setLoaded] = useState<{ key: string; value: Loaded<T> } | undefined>();
  const key = `${path ?? ''}\u0000${String(reloadKey)}`;
  useEffect(() => {
    if (path === undefined) return;
    let live = true;
    getJson<T>(path).then(
      (value) => live && setLoaded({ key, value: { state: 'ok', value } }),
      (error: unknown) => live && setLoaded({ key, value: { state: 'error', error } }),
    );
    return () => {
      live = false;
    };
  }, [key]);
  return loaded !== undefined && loaded.key === key ? loaded.value : { state: 'loading' };
}

/** Problem shows why a request failed, in words, with the service's own detail underneath. */
export function Problem({ error }: { error: unknown }) {
  const { title, detail } = problemText(error);
  return (
    <div class="problem" role="alert">
      <strong>{title}</strong>
      {detail !== undefined && <div class="detail">{detail}</div>}
    </div>
  );
}

/** Show renders a loaded value, a spinner line, or the problem. */
export function Show<T>({ loaded, children }: { loaded: Loaded<T>; children: (value: T) => ComponentChildren }) {
  if (loaded.state === 'loading') return <p class="muted" aria-busy="true">{t('loading')}</p>;
  if (loaded.state === 'error') return <Problem error={loaded.error} />;
  return <>{children(loaded.value)}</>;
}

/** Hash shows a hex value shortened, the whole of it in the title and for copying. */
export function Hash({ hex, full = false }: { hex: string; full?: boolean }) {
  return (
    <code class="hash" title={hex}>
      {full || hex.length <= 20 ? hex : `${hex.slice(0, 12)}…${hex.slice(-8)}`}
    </code>
  );
}

/** Copy copies `text` to the clipboard and says so. */
export function Copy({ text, label }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(text);
      setDone(true);
      setTimeout(() => setDone(false), 1500);
    } catch {
      setDone(false);
    }
  };
  return (
    <button type="button" class="small" onClick={copy}>
      {done ? t('copied') : (label ?? t('copy'))}
    </button>
  );
}

/** Progress is a labelled progress bar (0–1), announced to screen readers. */
export function Progress({ value, label }: { value: number; label: string }) {
  const pct = Math.round(Math.max(0, Math.min(1, value)) * 100);
  return (
    <div class="progress-line">
      <progress max={100} value={pct} aria-label={label} />
      <span class="pct">{pct}%</span>
    </div>
  );
}

/** isApiError narrows an unknown error. */
export function isApiError(err: unknown, code?: string): err is ApiError {
  return err instanceof ApiError && (code === undefined || err.code === code);
}
