/**
 * Officers' cases: the list (most recently touched first, filtered by a case number's beginning,
 * paged: `GET /v1/cases`), and one case with every entry's state (anchored; sealed in a block;
 * time-stamped; witnessed) and its downloads: each receipt, each certificate (HTML, PDF), and the
 * case bundle.
 */
import { useState } from 'preact/hooks';
import { q, saveFile } from '../api.js';
import { formatNumber, formatTime, t } from '../i18n.js';
import type { MessageKey } from '../messages.js';
import { href, navigate, type Route } from '../router.js';
import { may, useConsole } from '../state.js';
import { Hash, Show, useLoad } from '../ui.js';
import { noteParts } from './blocks.js';

/**
 * Entries per page of a case: each comes with its receipt (an inclusion proof against the latest
 * checkpoint and its block's consistency proof), so a page costs the service one proof per row.
 */
const CASE_PAGE = 25;

interface CaseSummary {
  readonly caseId: string;
  readonly entries: number;
  readonly firstIndex: string;
  readonly lastIndex: string;
  readonly lastAt?: string;
}

interface CaseEntry {
  readonly index: string;
  readonly leafHash: string;
  readonly entry: { type: string; receivedAt: string; submitter: string; meta?: Record<string, unknown>; digest?: { alg: string; hex: string } };
  readonly receipt?: { checkpoint: string; block: { height: string }; timestamp?: unknown };
}

/** CasesPage lists cases: `#/cases?prefix=…&before=…`. */
export function CasesPage({ route }: { route: Route }) {
  const prefix = route.query.get('prefix') ?? '';
  const before = route.query.get('before') ?? undefined;
  const [text, setText] = useState(prefix);
  const loaded = useLoad<{ cases: CaseSummary[]; next?: string }>(`/v1/cases${q({ prefix, before, limit: 50 })}`);
  return (
    <section>
      <h1>{t('cases.title')}</h1>
      <form
        class="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(href(['cases'], { prefix: text.trim() }));
        }}
      >
        <label for="case-prefix">{t('cases.filter')}</label>
        <input id="case-prefix" value={text} maxLength={128} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        <button type="submit">{t('search.go')}</button>
      </form>
      <Show loaded={loaded}>
        {({ cases, next }) =>
          cases.length === 0 ? (
            <p role="status">{t('cases.none')}</p>
          ) : (
            <>
              <div class="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t('cases.caseId')}</th>
                      <th scope="col">{t('cases.entries')}</th>
                      <th scope="col">{t('cases.last')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {cases.map((c) => (
                      <tr key={c.caseId}>
                        <td>
                          <a href={href(['cases', c.caseId])}>{c.caseId}</a>
                        </td>
                        <td>{formatNumber(c.entries)}</td>
                        <td>{formatTime(c.lastAt)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <nav class="pager" aria-label={t('pager')}>
                {before !== undefined && <a href={href(['cases'], { prefix })}>{t('pager.newest')}</a>}
                {next !== undefined && <a href={href(['cases'], { prefix, before: next })}>{t('pager.older')}</a>}
              </nav>
            </>
          )
        }
      </Show>
    </section>
  );
}

/** The states an entry has reached, in order. */
export function entryStates(e: CaseEntry): string[] {
  const out = [t('state.anchored')];
  if (e.receipt === undefined) return out;
  out.push(t('state.sealed', formatNumber(e.receipt.block.height)));
  if (e.receipt.timestamp !== undefined && e.receipt.timestamp !== null) out.push(t('state.stamped'));
  const origin = e.receipt.checkpoint.split('\n', 1)[0];
  const cosigners = noteParts(e.receipt.checkpoint).signatures.filter((s) => s.name !== origin).length;
  if (cosigners > 0) out.push(t('state.witnessed', cosigners));
  return out;
}

function describe(e: CaseEntry): string {
  const m = e.entry.meta ?? {};
  const name = typeof m['name'] === 'string' ? m['name'] : typeof m['source'] === 'string' ? m['source'] : undefined;
  return name ?? t(`type.${e.entry.type}` as MessageKey);
}

/** CasePage shows one case, page by page: `#/cases/<id>?start=…`. */
export function CasePage({ caseId, route }: { caseId: string; route: Route }) {
  const { user } = useConsole();
  const start = route.query.get('start') ?? undefined;
  const loaded = useLoad<{ caseId: string; entries: CaseEntry[]; next?: string }>(`/v1/cases/${encodeURIComponent(caseId)}${q({ start, limit: CASE_PAGE })}`);
  const bundle = `/v1/cases/${encodeURIComponent(caseId)}/bundle`;
  return (
    <section>
      <h1>{t('case.title', caseId)}</h1>
      <p class="actions">
        <a class="button" href={bundle} download>
          {t('case.bundle')}
        </a>{' '}
        {may(user, ['submit']) && (
          <a class="button" href={href(['anchor'], { case: caseId })}>
            {t('case.anchorMore')}
          </a>
        )}
      </p>
      <Show loaded={loaded}>
        {({ entries, next }) => (
          <>
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t('check.index')}</th>
                    <th scope="col">{t('case.what')}</th>
                    <th scope="col">{t('check.received')}</th>
                    <th scope="col">{t('case.state')}</th>
                    <th scope="col">{t('case.downloads')}</th>
                  </tr>
                </thead>
                <tbody>
                  {entries.map((e) => (
                    <tr key={e.index}>
                      <td>
                        <a href={href(['entries', e.index])}>{formatNumber(e.index)}</a>
                      </td>
                      <td>
                        {describe(e)}
                        <br />
                        <Hash hex={e.entry.digest?.hex ?? e.leafHash} />
                      </td>
                      <td>
                        {formatTime(e.entry.receivedAt)}
                        <br />
                        <span class="muted">{e.entry.submitter}</span>
                      </td>
                      <td>
                        {entryStates(e).map((s) => (
                          <span class="badge ok" key={s}>
                            {s}
                          </span>
                        ))}
                      </td>
                      <td class="downloads">
                        {e.receipt !== undefined ? (
                          <>
                            <button type="button" class="small" onClick={() => saveFile(`receipt-${e.index}.json`, JSON.stringify(e.receipt, null, 2))}>
                              {t('check.receipt')}
                            </button>{' '}
                            <a class="button small" href={`/v1/receipts/${e.index}/certificate`} target="_blank" rel="noopener">
                              {t('case.certificate')}
                            </a>{' '}
                            <a class="button small" href={`/v1/receipts/${e.index}/certificate.pdf`} download>
                              PDF
                            </a>
                          </>
                        ) : (
                          <span class="muted">{t('case.pending')}</span>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {next !== undefined && (
              <nav class="pager" aria-label={t('pager')}>
                <a href={href(['cases', caseId], { start: next })}>{t('pager.more')}</a>
              </nav>
            )}
          </>
        )}
      </Show>
    </section>
  );
}
