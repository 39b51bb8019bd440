/**
 * The explorer's home: the chain's head (size, root, the signed checkpoint, the verifier key and
 * how to pin it) and the latest blocks, kept live by the service's block events
 * (`GET /v1/events`), with polling as the fallback when events cannot flow.
 */
import { useEffect, useState } from 'preact/hooks';
import { getJson, request } from '../api.js';
import { formatNumber, formatTime, t } from '../i18n.js';
import { href } from '../router.js';
import { useConsole } from '../state.js';
import { Copy, Hash, Problem } from '../ui.js';
import { BlockRows, type ServedBlock } from './blocks.js';
import { SearchBox } from './search.js';

const LATEST = 10;
const POLL_MS = 5000;

/** useLatestBlocks is the newest blocks, newest first, updated live. */
export function useLatestBlocks(count: number): { blocks: ServedBlock[] | undefined; live: boolean; error: unknown } {
  const [blocks, setBlocks] = useState<ServedBlock[] | undefined>();
  const [live, setLive] = useState(false);
  const [error, setError] = useState<unknown>();
  const { refreshLog } = useConsole();
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async (): Promise<void> => {
      try {
        // The head (size, root) is the log's state, shared with every page: refresh it, and page
        // the blocks back from its height.
        const info = await refreshLog();
        if (info === undefined) throw new Error(t('home.noLog'));
        const top = BigInt(info.height);
        const from = top + 1n > BigInt(count) ? top + 1n - BigInt(count) : 0n;
        const page = await getJson<{ blocks: ServedBlock[] }>(`/v1/blocks?from=${from}&limit=${count}`);
        if (!stopped) {
          setBlocks([...page.blocks].reverse());
          setError(undefined);
        }
      } catch (err) {
        if (!stopped) setError(err);
      }
    };
    void load();
    let events: EventSource | undefined;
    const poll = (): void => {
      timer = setTimeout(() => {
        void load().then(() => !stopped && poll());
      }, POLL_MS);
    };
    if (typeof EventSource === 'function') {
      events = new EventSource('/v1/events');
      events.addEventListener('open', () => setLive(true));
      events.addEventListener('block', () => void load());
      events.addEventListener('error', () => {
        // The browser retries by itself; until then, poll.
        setLive(false);
        if (timer === undefined) poll();
      });
    } else poll();
    return () => {
      stopped = true;
      events?.close();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [count]);
  return { blocks, live, error };
}

function Head() {
  const { log } = useConsole();
  const [note, setNote] = useState<string | undefined>();
  useEffect(() => {
    void request('GET', '/checkpoint')
      .then((r) => r.text())
      .then(setNote, () => setNote(undefined));
  }, [log?.size]);
  if (log === undefined) return <Problem error={new Error(t('home.noLog'))} />;
  return (
    <section aria-labelledby="head-title" class="card">
      <h2 id="head-title">{t('home.head')}</h2>
      <dl class="facts">
        <dt>{t('home.origin')}</dt>
        <dd>
          <code>{log.origin}</code>
        </dd>
        <dt>{t('home.size')}</dt>
        <dd data-testid="size">{formatNumber(log.size)}</dd>
        <dt>{t('home.height')}</dt>
        <dd>
          <a href={href(['blocks', log.height])}>{formatNumber(log.height)}</a>
        </dd>
        <dt>{t('home.root')}</dt>
        <dd>
          <Hash hex={log.rootHash} full />
        </dd>
        <dt>{t('home.suite')}</dt>
        <dd>{log.suite === 'gm' ? t('suite.gm') : t('suite.c2sp')}</dd>
      </dl>
      {note !== undefined && (
        <details>
          <summary>{t('home.checkpoint')}</summary>
          <pre class="note">{note}</pre>
        </details>
      )}
      <h3>{t('home.key')}</h3>
      <p class="key-line">
        <code class="wrap" data-testid="verifier-key">
          {log.verifierKey}
        </code>{' '}
        <Copy text={log.verifierKey} />
      </p>
      <p class="muted">{t('home.pin')}</p>
      <pre class="cmd">guzheng verify --key '{log.verifierKey}' receipt.json</pre>
      {log.publicKeyPem !== undefined && (
        <details>
          <summary>PEM</summary>
          <pre class="note">{log.publicKeyPem}</pre>
        </details>
      )}
    </section>
  );
}

/** HomePage is the explorer's front page. */
export function HomePage() {
  const { blocks, live, error } = useLatestBlocks(LATEST);
  return (
    <>
      <h1>{t('home.title')}</h1>
      <SearchBox />
      <div class="grid">
        <Head />
        <section aria-labelledby="latest-title" class="card">
          <h2 id="latest-title">
            {t('home.latest')}{' '}
            <span class={live ? 'badge ok' : 'badge'} aria-live="polite">
              {live ? t('home.live') : t('home.polling')}
            </span>
          </h2>
          {error !== undefined && <Problem error={error} />}
          {blocks !== undefined && <BlockRows blocks={blocks} />}
          <p>
            <a href={href(['blocks'])}>{t('home.allBlocks')}</a>
          </p>
        </section>
      </div>
      <p class="muted">{t('home.time', formatTime(blocks?.[0]?.time))}</p>
    </>
  );
}
