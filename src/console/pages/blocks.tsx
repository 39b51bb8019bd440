/**
 * Blocks: the chain paged back to genesis (newest first), and one block with its signed
 * checkpoint, the signatures on it (the log's and the witnesses' cosignatures) and its time
 * stamps. What a time-stamp token claims is read here without checking it, and said so: the
 * court page and `guzheng verify --tsa-ca` check it against the roots the reader trusts.
 */
import { useEffect, useState } from 'preact/hooks';
import { fromBase64 } from '../../core/bytes.js';
import type { TimestampInfo } from '../../verifier/timestamp.js';
import { formatNumber, formatTime, t } from '../i18n.js';
import { href, type Route } from '../router.js';
import { useConsole } from '../state.js';
import { Hash, Show, useLoad } from '../ui.js';

/** A block as `GET /v1/blocks` serves it. */
export interface ServedBlock {
  readonly format?: string;
  readonly height: string;
  readonly prev: string;
  readonly time: string;
  readonly first: string;
  readonly count: string;
  readonly checkpoint: string;
  readonly hash: string;
  readonly timestamps?: ReadonlyArray<{ tsa: string; token: string }>;
}

const PAGE = 25;

/** BlockRows is a table of blocks, in the order given. */
export function BlockRows({ blocks }: { blocks: readonly ServedBlock[] }) {
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">{t('block.height')}</th>
            <th scope="col">{t('block.timeZone')}</th>
            <th scope="col">{t('block.entries')}</th>
            <th scope="col" class="hide-narrow">
              {t('block.hash')}
            </th>
            <th scope="col" class="hide-narrow">
              {t('block.evidence')}
            </th>
          </tr>
        </thead>
        <tbody>
          {blocks.map((b) => (
            <tr key={b.height}>
              <td>
                <a href={href(['blocks', b.height])}>{formatNumber(b.height)}</a>
              </td>
              <td>{formatTime(b.time, true)}</td>
              <td>{formatNumber(b.count)}</td>
              <td class="hide-narrow">
                <Hash hex={b.hash} />
              </td>
              <td class="hide-narrow">
                {cosignersOf(b).length > 0 && <span class="badge ok">{t('block.cosigned', cosignersOf(b).length)}</span>}{' '}
                {(b.timestamps?.length ?? 0) > 0 && <span class="badge ok">{t('block.stamped')}</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A signature line of a note: `— <name> <base64(keyid ‖ sig)>` (C2SP signed-note). */
interface SignatureLine {
  readonly name: string;
  readonly keyId: string;
}

/** noteParts splits a signed note into its text and its signature lines. */
export function noteParts(note: string): { text: string; signatures: SignatureLine[] } {
  const cut = note.lastIndexOf('\n\n');
  const text = cut < 0 ? note : note.slice(0, cut + 1);
  const signatures: SignatureLine[] = [];
  for (const line of (cut < 0 ? '' : note.slice(cut + 2)).split('\n')) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (m === null) continue;
    let keyId = '';
    try {
      keyId = Array.from(fromBase64(m[2] as string).subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
    } catch {
      keyId = '?';
    }
    signatures.push({ name: m[1] as string, keyId });
  }
  return { text, signatures };
}

function cosignersOf(b: ServedBlock): string[] {
  const origin = b.checkpoint.split('\n', 1)[0] ?? '';
  return noteParts(b.checkpoint)
    .signatures.filter((s) => s.name !== origin)
    .map((s) => s.name);
}

/** BlocksPage pages the chain newest first: `#/blocks?before=<height>`. */
export function BlocksPage({ route }: { route: Route }) {
  const { log } = useConsole();
  const before = route.query.get('before');
  const top = before !== null && /^\d+$/.test(before) ? BigInt(before) : log !== undefined ? BigInt(log.height) + 1n : 0n;
  const from = top > BigInt(PAGE) ? top - BigInt(PAGE) : 0n;
  const loaded = useLoad<{ blocks: ServedBlock[] }>(top === 0n ? undefined : `/v1/blocks?from=${from}&limit=${Number(top - from)}`);
  if (top === 0n) {
    return (
      <section>
        <h1>{t('blocks.title')}</h1>
        <p role="status">{t('blocks.none')}</p>
        <nav class="pager" aria-label={t('pager')}>
          <a href={href(['blocks'])}>{t('pager.newest')}</a>
        </nav>
      </section>
    );
  }
  return (
    <section>
      <h1>{t('blocks.title')}</h1>
      <Show loaded={loaded}>
        {(page) => (
          <>
            <BlockRows blocks={[...page.blocks].reverse()} />
            <nav class="pager" aria-label={t('pager')}>
              {before !== null && <a href={href(['blocks'])}>{t('pager.newest')}</a>}
              {from > 0n && <a href={href(['blocks'], { before: from.toString() })}>{t('pager.older')}</a>}
            </nav>
          </>
        )}
      </Show>
    </section>
  );
}

function Stamp({ token, tsa }: { token: string; tsa: string }) {
  const [info, setInfo] = useState<TimestampInfo | undefined | null>(null);
  useEffect(() => {
    // The token reader (pkijs) is loaded only when a block has a stamp to show.
    void import('../../verifier/timestamp.js')
      .then((m) => m.inspectTimestampToken(fromBase64(token)))
      .then(setInfo, () => setInfo(undefined));
  }, [token]);
  return (
    <li>
      {info === null ? '…' : info === undefined ? t('block.stampUnreadable') : t('block.stampClaims', formatTime(info.genTime), info.tsaName ?? '—')} <span class="muted">({tsa})</span>
    </li>
  );
}

/** BlockPage shows one block. */
export function BlockPage({ height }: { height: string }) {
  const loaded = useLoad<ServedBlock>(/^\d+$/.test(height) ? `/v1/blocks/${height}` : undefined);
  const n = /^\d+$/.test(height) ? BigInt(height) : -1n;
  return (
    <section>
      <h1>{t('block.title', formatNumber(height))}</h1>
      <Show loaded={loaded}>
        {(b) => {
          const { text, signatures } = noteParts(b.checkpoint);
          const origin = text.split('\n', 1)[0] ?? '';
          const last = BigInt(b.first) + BigInt(b.count) - 1n;
          return (
            <>
              <dl class="facts">
                <dt>{t('block.time')}</dt>
                <dd>{formatTime(b.time)}</dd>
                <dt>{t('block.entries')}</dt>
                <dd>
                  {b.count === '0' ? (
                    '0'
                  ) : (
                    <>
                      <a href={href(['entries', b.first])}>{formatNumber(b.first)}</a> – <a href={href(['entries', last.toString()])}>{formatNumber(last)}</a> ({formatNumber(b.count)})
                    </>
                  )}
                </dd>
                <dt>{t('block.hash')}</dt>
                <dd>
                  <Hash hex={b.hash} full />
                </dd>
                <dt>{t('block.prev')}</dt>
                <dd>{n > 0n ? <a href={href(['blocks', (n - 1n).toString()])}><Hash hex={b.prev} /></a> : <Hash hex={b.prev} />}</dd>
                <dt>{t('block.format')}</dt>
                <dd>{b.format === undefined ? t('block.unsigned') : b.format}</dd>
              </dl>
              <h2>{t('block.checkpoint')}</h2>
              <pre class="note">{b.checkpoint}</pre>
              <h2>{t('block.signatures')}</h2>
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t('block.signer')}</th>
                    <th scope="col">{t('block.keyId')}</th>
                    <th scope="col">{t('block.role')}</th>
                  </tr>
                </thead>
                <tbody>
                  {signatures.map((s) => (
                    <tr key={`${s.name}${s.keyId}`}>
                      <td>
                        <code>{s.name}</code>
                      </td>
                      <td>
                        <code>{s.keyId}</code>
                      </td>
                      <td>{s.name === origin ? t('block.logSignature') : t('block.cosignature')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <h2>{t('block.timestamps')}</h2>
              {(b.timestamps?.length ?? 0) === 0 ? (
                <p class="muted">{t('block.noStamp')}</p>
              ) : (
                <>
                  <ul>{b.timestamps?.map((s) => <Stamp key={s.token} token={s.token} tsa={s.tsa} />)}</ul>
                  <p class="muted">{t('block.stampNote')}</p>
                </>
              )}
              <nav class="pager" aria-label={t('pager')}>
                {n > 0n && <a href={href(['blocks', (n - 1n).toString()])}>{t('block.previous')}</a>}
                <a href={href(['blocks', (n + 1n).toString()])}>{t('block.next')}</a>
              </nav>
            </>
          );
        }}
      </Show>
    </section>
  );
}
