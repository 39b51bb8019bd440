/**
 * The console (docs/console.md): one page at `/`, hash-routed, talking only to this service
 * (docs/console-api.md). The public explorer needs no sign-in; officers' and admins' pages need a
 * session. Bundled by scripts/build-web.ts (esbuild, Preact) into dist/web/console/.
 */
import { render, type ComponentType } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, getJson, setCsrfToken } from './api.js';
import { currentLang, initialLang, initialLargeText, setLang, setLargeText, t, type Lang } from './i18n.js';
import { AdminPage } from './pages/admin.js';
import { AnchorPage } from './pages/anchor.js';
import { BlockPage, BlocksPage } from './pages/blocks.js';
import { CasePage, CasesPage } from './pages/cases.js';
import { HomePage } from './pages/home.js';
import { EntryPage, SearchPage } from './pages/search.js';
import { PasswordPage, SignInPage, signOut } from './pages/signin.js';
import { StatsPage } from './pages/stats.js';
import { href, useRoute, type Route } from './router.js';
import { StateContext, may, useConsole, type ConsoleState, type LogInfo, type User } from './state.js';
import { Problem } from './ui.js';

/**
 * Pages anyone may see render at once, their data loading beside the session's; the others wait
 * for the session, so a signed-in officer never sees "sign in first" flash by.
 */
const PUBLIC = new Set(['', 'blocks', 'entries', 'search', 'check', 'stats']);

function Page({ route, state }: { route: Route; state: ConsoleState }) {
  const [first, second] = route.parts;
  const { user } = state;
  if (user?.mustChangePassword === true && first !== 'signin') return <PasswordPage forced />;
  switch (first) {
    case undefined:
      return <HomePage />;
    case 'blocks':
      return second === undefined ? <BlocksPage route={route} /> : <BlockPage height={second} />;
    case 'entries':
      return <EntryPage index={second ?? ''} />;
    case 'search':
      return <SearchPage q={route.query.get('q') ?? ''} />;
    case 'check':
      return <Later load={() => import('./pages/check.js').then((m) => m.CheckPage)} />;
    case 'stats':
      return <StatsPage />;
    case 'signin':
      return <SignInPage />;
    case 'password':
      return user === undefined ? <SignInPage /> : <PasswordPage forced={false} />;
    case 'cases':
      if (!may(user, ['submit', 'audit'])) return <NeedRole role="submit" />;
      // Keyed by what seeds their fields: another address is a fresh form.
      return second === undefined ? <CasesPage key={route.query.get('prefix') ?? ''} route={route} /> : <CasePage caseId={second} route={route} />;
    case 'anchor':
      if (!may(user, ['submit'])) return <NeedRole role="submit" />;
      return <AnchorPage key={route.query.get('case') ?? ''} route={route} />;
    case 'admin':
      if (!may(user, ['admin'])) return <NeedRole role="admin" />;
      return <AdminPage tab={second ?? 'users'} />;
    default:
      return <Problem error={new ApiError(404, 'NOT_FOUND', route.parts.join('/'))} />;
  }
}

/**
 * Later renders a page whose code is loaded on first use: "check a file" brings the offline
 * verifier (zod, pkijs, the 国密 curves), most of the console's bytes, which no other page needs.
 */
function Later({ load }: { load: () => Promise<ComponentType> }) {
  const [Loaded, setLoaded] = useState<{ c: ComponentType } | { error: unknown } | undefined>();
  useEffect(() => {
    void load().then(
      (c) => setLoaded({ c }),
      (error: unknown) => setLoaded({ error }),
    );
  }, []);
  if (Loaded === undefined) return <p class="muted">{t('loading')}</p>;
  if ('error' in Loaded) return <Problem error={Loaded.error} />;
  return <Loaded.c />;
}

function NeedRole({ role }: { role: string }) {
  const { user } = useConsole();
  return (
    <section>
      <h1>{t('needRole.title')}</h1>
      <p>{user === undefined ? t('needRole.signIn') : t('needRole.role', role)}</p>
      {user === undefined && (
        <p>
          <a class="button" href={href(['signin'])}>
            {t('nav.signIn')}
          </a>
        </p>
      )}
    </section>
  );
}

function Nav({ state, onLang, large, onLarge }: { state: ConsoleState; onLang: (l: Lang) => void; large: boolean; onLarge: (on: boolean) => void }) {
  const { user } = state;
  return (
    <header class="top">
      <a class="skip" href="#main">
        {t('skip')}
      </a>
      <div class="brand">
        <a href={href([])}>
          <span class="seal" aria-hidden="true">
            固证
          </span>
          <span>{t('brand')}</span>
        </a>
      </div>
      <nav aria-label={t('nav.label')}>
        <ul>
          <li>
            <a href={href([])}>{t('nav.explorer')}</a>
          </li>
          <li>
            <a href={href(['blocks'])}>{t('nav.blocks')}</a>
          </li>
          <li>
            <a href={href(['check'])}>{t('nav.check')}</a>
          </li>
          <li>
            <a href={href(['stats'])}>{t('nav.stats')}</a>
          </li>
          {may(user, ['submit', 'audit']) && (
            <li>
              <a href={href(['cases'])}>{t('nav.cases')}</a>
            </li>
          )}
          {may(user, ['submit']) && (
            <li>
              <a href={href(['anchor'])}>{t('nav.anchor')}</a>
            </li>
          )}
          {may(user, ['admin']) && (
            <li>
              <a href={href(['admin'])}>{t('nav.admin')}</a>
            </li>
          )}
        </ul>
      </nav>
      <div class="prefs">
        <button type="button" class="small" lang={currentLang() === 'zh' ? 'en' : 'zh-CN'} onClick={() => onLang(currentLang() === 'zh' ? 'en' : 'zh')}>
          {currentLang() === 'zh' ? 'English' : '中文'}
        </button>
        <button type="button" class="small" aria-pressed={large} onClick={() => onLarge(!large)}>
          {t('largeText')}
        </button>
        {user === undefined ? (
          <a class="button small" href={href(['signin'])}>
            {t('nav.signIn')}
          </a>
        ) : (
          <span class="who">
            <a href={href(['password'])} title={t('nav.password')}>
              {user.name} · {t(`role.${user.role}`)}
            </a>{' '}
            <button type="button" class="small" onClick={() => void signOut(state)}>
              {t('nav.signOut')}
            </button>
          </span>
        )}
      </div>
    </header>
  );
}

function App() {
  const route = useRoute();
  const [lang, setLangState] = useState<Lang>(currentLang());
  const [large, setLarge] = useState(initialLargeText());
  const [log, setLog] = useState<LogInfo | undefined>();
  const [user, setUser] = useState<User | undefined>();
  const [ready, setReady] = useState(false);

  const refreshSession = useCallback(async () => {
    try {
      const s = await getJson<{ user: User; csrfToken: string }>('/v1/session');
      setCsrfToken(s.csrfToken);
      setUser(s.user);
    } catch {
      setCsrfToken(undefined);
      setUser(undefined);
    }
  }, []);
  const refreshLog = useCallback(async (): Promise<LogInfo | undefined> => {
    try {
      const info = await getJson<LogInfo>('/v1/log');
      setLog(info);
      return info;
    } catch {
      // The explorer pages show their own problem when the log cannot be read.
      return undefined;
    }
  }, []);
  useEffect(() => {
    void Promise.all([refreshSession(), refreshLog()]).then(() => {
      setReady(true);
      // Tests and screen readers wait for this: the first render with the log's state is done.
      document.documentElement.dataset['ready'] = 'true';
    });
  }, []);
  useEffect(() => {
    // Each page names itself; the document title follows, for tabs and screen readers.
    const h1 = document.querySelector('main h1');
    document.title = `${h1?.textContent ?? ''}${h1 ? ' · ' : ''}${t('brand')}`;
  });

  const state: ConsoleState = { log, user, refreshSession, refreshLog };
  return (
    <StateContext.Provider value={state}>
      <div class="app" key={lang}>
        <Nav
          state={state}
          onLang={(l) => {
            setLang(l);
            setLangState(l);
          }}
          large={large}
          onLarge={(on) => {
            setLargeText(on);
            setLarge(on);
          }}
        />
        <main id="main" tabIndex={-1} data-ready={ready ? 'true' : 'false'}>
          {ready || PUBLIC.has(route.parts[0] ?? '') ? <Page route={route} state={state} /> : <p class="muted">{t('loading')}</p>}
        </main>
        <footer>
          <span>{t('footer')}</span> · <a href="/verify">{t('nav.courtPage')}</a> · <a href="/openapi.json">API</a>
        </footer>
      </div>
    </StateContext.Provider>
  );
}

setLang(initialLang());
setLargeText(initialLargeText());
const root = document.getElementById('app');
if (root !== null) render(<App />, root);
