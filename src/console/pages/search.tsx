/**
 * Search (docs/console-api.md `GET /v1/search`): by content digest, leaf hash, entry index, block
 * height or evidence number (证书编号, on the certificate); and the public page of one entry,
 * which shows where it sits without showing what it is (entries' metadata holds case numbers and
 * file names: those are for signed-in officers and auditors, and for whoever has the file).
 */
import { useState } from 'preact/hooks';
import { formatNumber, t } from '../i18n.js';
import { href, navigate } from '../router.js';
import { may, useConsole } from '../state.js';
import { Hash, Show, useLoad } from '../ui.js';

/** One search result. */
export type SearchResult = { readonly kind: 'entry'; readonly index: string; readonly leafHash: string } | { readonly kind: 'block'; readonly height: string };

/** SearchBox sends the reader to the search page. */
export function SearchBox({ initial = '' }: { initial?: string }) {
  const [q, setQ] = useState(initial);
  return (
    <form
      class="search"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        if (q.trim() !== '') navigate(href(['search'], { q: q.trim() }));
      }}
    >
      <label for="q">{t('search.label')}</label>
      <input id="q" name="q" type="search" value={q} maxLength={200} placeholder={t('search.placeholder')} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
      <button type="submit">{t('search.go')}</button>
    </form>
  );
}

/** SearchPage shows what `q` found. */
export function SearchPage({ q }: { q: string }) {
  const loaded = useLoad<{ results: SearchResult[] }>(q === '' ? undefined : `/v1/search?q=${encodeURIComponent(q)}`);
  return (
    <section>
      <h1>{t('search.title')}</h1>
      <SearchBox initial={q} key={q} />
      {q !== '' && (
        <Show loaded={loaded}>
          {({ results }) =>
            results.length === 0 ? (
              <p role="status">{t('search.none', q)}</p>
            ) : (
              <div role="status">
              <ul class="results">
                {results.map((r) =>
                  r.kind === 'block' ? (
                    <li key={`b${r.height}`}>
                      <a href={href(['blocks', r.height])}>{t('search.block', formatNumber(r.height))}</a>
                    </li>
                  ) : (
                    <li key={`e${r.index}`}>
                      <a href={href(['entries', r.index])}>{t('search.entry', formatNumber(r.index))}</a> <Hash hex={r.leafHash} />
                    </li>
                  ),
                )}
              </ul>
              </div>
            )
          }
        </Show>
      )}
    </section>
  );
}

/** EntryPage is the public page of one entry: its leaf hash, and for officers its receipt. */
export function EntryPage({ index }: { index: string }) {
  const { user } = useConsole();
  const ok = /^(0|[1-9]\d{0,19})$/.test(index);
  const loaded = useLoad<{ results: SearchResult[] }>(ok ? `/v1/search?q=${index}` : undefined);
  return (
    <section>
      <h1>{t('entry.title', formatNumber(index))}</h1>
      <Show loaded={loaded}>
        {({ results }) => {
          const e = results.find((r): r is Extract<SearchResult, { kind: 'entry' }> => r.kind === 'entry' && r.index === index);
          if (e === undefined) return <p role="status">{t('entry.none')}</p>;
          return (
            <>
              <dl class="facts">
                <dt>{t('entry.leafHash')}</dt>
                <dd>
                  <Hash hex={e.leafHash} full />
                </dd>
              </dl>
              <p class="muted">{t('entry.private')}</p>
              {may(user, ['submit', 'audit']) && (
                <p class="actions">
                  <a class="button" href={`/v1/receipts/${index}/certificate`} target="_blank" rel="noopener">
                    {t('case.certificate')}
                  </a>{' '}
                  <a class="button" href={`/v1/receipts/${index}/certificate.pdf`}>
                    PDF
                  </a>
                </p>
              )}
            </>
          );
        }}
      </Show>
    </section>
  );
}
