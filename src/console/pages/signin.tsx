/**
 * Signing in and out, and changing one's password (forced at the first sign-in: an account is
 * created with a one-time password, docs/console-api.md). The password goes only to
 * `POST /v1/session`; the session lives in an HttpOnly cookie no script can read.
 */
import { useState } from 'preact/hooks';
import { sendJson, setCsrfToken } from '../api.js';
import { t } from '../i18n.js';
import { href, navigate } from '../router.js';
import { useConsole, type ConsoleState, type User } from '../state.js';
import { Problem } from '../ui.js';

/** signOut ends the session here and at the service. */
export async function signOut(state: ConsoleState): Promise<void> {
  try {
    await sendJson('DELETE', '/v1/session');
  } catch {
    // Already gone: signed out either way.
  }
  setCsrfToken(undefined);
  await state.refreshSession();
  navigate(href([]));
}

/** SignInPage is the sign-in form. */
export function SignInPage() {
  const state = useConsole();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  if (state.user !== undefined && !state.user.mustChangePassword) {
    return (
      <section>
        <h1>{t('signin.title')}</h1>
        <p>{t('signin.already', state.user.name)}</p>
      </section>
    );
  }
  return (
    <section class="narrow">
      <h1>{t('signin.title')}</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            const s = await sendJson<{ user: User; csrfToken: string }>('POST', '/v1/session', { username: name.trim(), password });
            setCsrfToken(s?.csrfToken);
            await state.refreshSession();
            navigate(s?.user.mustChangePassword === true ? href(['password']) : s?.user.role === 'audit' ? href(['cases']) : href(['anchor']));
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
            setPassword('');
          }
        }}
      >
        <div class="field">
          <label for="username">{t('signin.name')}</label>
          <input id="username" name="username" autoComplete="username" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="password">{t('signin.password')}</label>
          <input id="password" name="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </div>
        {error !== undefined && <Problem error={error} />}
        <button type="submit" disabled={busy}>
          {t('signin.submit')}
        </button>
      </form>
    </section>
  );
}

/** PasswordPage changes the password; `forced` when the service requires it before anything else. */
export function PasswordPage({ forced }: { forced: boolean }) {
  const state = useConsole();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState(false);
  const mismatch = again !== '' && again !== next;
  return (
    <section class="narrow">
      <h1>{t('password.title')}</h1>
      {forced && <p role="status">{t('password.forced')}</p>}
      {done && <p role="status">{t('password.done')}</p>}
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if (next !== again) return;
          setError(undefined);
          try {
            await sendJson('POST', '/v1/session/password', { current, next });
            setDone(true);
            setCurrent('');
            setNext('');
            setAgain('');
            await state.refreshSession();
            if (forced) navigate(href(state.user?.role === 'audit' ? ['cases'] : ['anchor']));
          } catch (err) {
            setError(err);
          }
        }}
      >
        <div class="field">
          <label for="current">{t('password.current')}</label>
          <input id="current" type="password" autoComplete="current-password" required value={current} onInput={(e) => setCurrent((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="next">{t('password.next')}</label>
          <input id="next" type="password" autoComplete="new-password" required minLength={10} aria-describedby="next-help" value={next} onInput={(e) => setNext((e.target as HTMLInputElement).value)} />
          <p id="next-help" class="muted">
            {t('password.rule')}
          </p>
        </div>
        <div class="field">
          <label for="again">{t('password.again')}</label>
          <input id="again" type="password" autoComplete="new-password" required aria-invalid={mismatch} value={again} onInput={(e) => setAgain((e.target as HTMLInputElement).value)} />
          {mismatch && (
            <p class="bad" role="alert">
              {t('password.mismatch')}
            </p>
          )}
        </div>
        {error !== undefined && <Problem error={error} />}
        <button type="submit" disabled={mismatch}>
          {t('password.submit')}
        </button>
      </form>
    </section>
  );
}
