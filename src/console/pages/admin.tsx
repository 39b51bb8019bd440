/**
 * Admin pages (role admin): people (create with a one-time password, disable, enable, reset),
 * API keys for machines (create: the secret is shown once; revoke), the log's health, and the
 * audit trail of admin actions the service keeps in its store.
 */
import { useState } from 'preact/hooks';
import { q, sendJson } from '../api.js';
import { formatTime, t } from '../i18n.js';
import { href } from '../router.js';
import type { User } from '../state.js';
import { Copy, Problem, Show, useLoad } from '../ui.js';

const ROLES = ['submit', 'audit', 'admin'] as const;

/** A secret shown once, with a copy button and a warning. */
function OneTime({ label, secret }: { label: string; secret: string }) {
  return (
    <div class="once" role="status">
      <p>{label}</p>
      <p>
        <code class="wrap" data-testid="secret">
          {secret}
        </code>{' '}
        <Copy text={secret} />
      </p>
      <p class="muted">{t('admin.once')}</p>
    </div>
  );
}

function RoleSelect({ id, value, onChange }: { id: string; value: string; onChange: (v: (typeof ROLES)[number]) => void }) {
  return (
    <select id={id} value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value as (typeof ROLES)[number])}>
      {ROLES.map((r) => (
        <option key={r} value={r}>
          {t(`role.${r}`)}
        </option>
      ))}
    </select>
  );
}

/** What a list the admin changes needs: the list, an action that reloads it, its error, a secret shown once. */
function useManaged<T>(path: string) {
  const [reload, setReload] = useState(0);
  const loaded = useLoad<T>(path, reload);
  const [shown, setShown] = useState<{ label: string; secret: string }>();
  const [error, setError] = useState<unknown>();
  const act = async (f: () => Promise<void>): Promise<void> => {
    setError(undefined);
    try {
      await f();
      setReload((n) => n + 1);
    } catch (err) {
      setError(err);
    }
  };
  return { loaded, act, error, shown, setShown };
}

function Users() {
  const { loaded, act, error, shown, setShown } = useManaged<{ users: User[] }>('/v1/users');
  const [name, setName] = useState('');
  const [role, setRole] = useState<(typeof ROLES)[number]>('submit');
  return (
    <>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            const r = await sendJson<{ user: User; password: string }>('POST', '/v1/users', { name: name.trim(), role });
            if (r !== undefined) setShown({ label: t('admin.userCreated', r.user.name), secret: r.password });
            setName('');
          });
        }}
      >
        <div class="field">
          <label for="new-user">{t('admin.userName')}</label>
          <input id="new-user" required pattern="[a-z0-9][a-z0-9._\-]{1,31}" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="new-user-role">{t('admin.role')}</label>
          <RoleSelect id="new-user-role" value={role} onChange={setRole} />
        </div>
        <button type="submit">{t('admin.createUser')}</button>
      </form>
      {shown !== undefined && <OneTime {...shown} />}
      {error !== undefined && <Problem error={error} />}
      <Show loaded={loaded}>
        {({ users }) => (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('admin.userName')}</th>
                  <th scope="col">{t('admin.role')}</th>
                  <th scope="col">{t('admin.created')}</th>
                  <th scope="col">{t('admin.status')}</th>
                  <th scope="col">{t('admin.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {users.map((u) => (
                  <tr key={u.name}>
                    <td>{u.name}</td>
                    <td>{t(`role.${u.role}`)}</td>
                    <td>{formatTime(u.createdAt)}</td>
                    <td>{u.disabledAt !== undefined ? t('admin.disabled') : u.mustChangePassword ? t('admin.mustChange') : t('admin.active')}</td>
                    <td class="actions">
                      {u.disabledAt === undefined ? (
                        <button type="button" class="small" onClick={() => void act(async () => void (await sendJson('POST', `/v1/users/${encodeURIComponent(u.name)}/disable`)))}>
                          {t('admin.disable')}
                        </button>
                      ) : (
                        <button type="button" class="small" onClick={() => void act(async () => void (await sendJson('POST', `/v1/users/${encodeURIComponent(u.name)}/enable`)))}>
                          {t('admin.enable')}
                        </button>
                      )}{' '}
                      <button
                        type="button"
                        class="small"
                        onClick={() =>
                          void act(async () => {
                            const r = await sendJson<{ password: string }>('POST', `/v1/users/${encodeURIComponent(u.name)}/reset-password`);
                            if (r !== undefined) setShown({ label: t('admin.passwordReset', u.name), secret: r.password });
                          })
                        }
                      >
                        {t('admin.reset')}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Show>
    </>
  );
}

interface KeyRow {
  readonly id: string;
  readonly role: 'submit' | 'audit' | 'admin';
  readonly label?: string;
  readonly createdAt: string;
  readonly revokedAt?: string;
}

function Keys() {
  const { loaded, act, error, shown, setShown } = useManaged<{ keys: KeyRow[] }>('/v1/keys');
  const [label, setLabel] = useState('');
  const [role, setRole] = useState<(typeof ROLES)[number]>('submit');
  return (
    <>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            const r = await sendJson<{ key: KeyRow; secret: string }>('POST', '/v1/keys', { role, ...(label.trim() !== '' ? { label: label.trim() } : {}) });
            if (r !== undefined) setShown({ label: t('admin.keyCreated', r.key.id), secret: r.secret });
            setLabel('');
          });
        }}
      >
        <div class="field">
          <label for="key-label">{t('admin.keyLabel')}</label>
          <input id="key-label" value={label} maxLength={128} onInput={(e) => setLabel((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="key-role">{t('admin.role')}</label>
          <RoleSelect id="key-role" value={role} onChange={setRole} />
        </div>
        <button type="submit">{t('admin.createKey')}</button>
      </form>
      {shown !== undefined && <OneTime {...shown} />}
      {error !== undefined && <Problem error={error} />}
      <Show loaded={loaded}>
        {({ keys }) => (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">ID</th>
                  <th scope="col">{t('admin.keyLabel')}</th>
                  <th scope="col">{t('admin.role')}</th>
                  <th scope="col">{t('admin.created')}</th>
                  <th scope="col">{t('admin.status')}</th>
                  <th scope="col">{t('admin.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {keys.map((k) => (
                  <tr key={k.id} data-key={k.id}>
                    <td>
                      <code>{k.id}</code>
                    </td>
                    <td>{k.label ?? ''}</td>
                    <td>{t(`role.${k.role}`)}</td>
                    <td>{formatTime(k.createdAt)}</td>
                    <td>{k.revokedAt !== undefined ? t('admin.revokedAt', formatTime(k.revokedAt)) : t('admin.active')}</td>
                    <td>
                      {k.revokedAt === undefined && (
                        <button
                          type="button"
                          class="small danger"
                          onClick={() => {
                            if (window.confirm(t('admin.revokeConfirm', k.id))) void act(async () => void (await sendJson('POST', `/v1/keys/${encodeURIComponent(k.id)}/revoke`)));
                          }}
                        >
                          {t('admin.revoke')}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Show>
    </>
  );
}

/** A JSON object shown as nested definition lists. */
function Facts({ value }: { value: unknown }) {
  if (value === null || typeof value !== 'object') return <span>{String(value)}</span>;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  return (
    <dl class="facts">
      {entries.map(([k, v]) => (
        <>
          <dt key={`k${k}`}>{k}</dt>
          <dd key={`v${k}`}>
            <Facts value={v} />
          </dd>
        </>
      ))}
    </dl>
  );
}

function Health() {
  const [reload, setReload] = useState(0);
  const loaded = useLoad<Record<string, unknown>>('/v1/admin/health', reload);
  return (
    <>
      <button type="button" class="small" onClick={() => setReload((n) => n + 1)}>
        {t('admin.refresh')}
      </button>
      <Show loaded={loaded}>{(h) => <Facts value={h} />}</Show>
    </>
  );
}

interface TrailEvent {
  readonly seq: string;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly detail?: string;
}

function Trail() {
  const [before, setBefore] = useState<string | undefined>();
  const loaded = useLoad<{ events: TrailEvent[]; next?: string }>(`/v1/admin/trail${q({ before, limit: 50 })}`);
  return (
    <Show loaded={loaded}>
      {({ events, next }) => (
        <>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">{t('admin.when')}</th>
                  <th scope="col">{t('admin.actor')}</th>
                  <th scope="col">{t('admin.action')}</th>
                  <th scope="col">{t('admin.target')}</th>
                </tr>
              </thead>
              <tbody>
                {events.map((e) => (
                  <tr key={e.seq}>
                    <td>{e.seq}</td>
                    <td>{formatTime(e.at)}</td>
                    <td>{e.actor}</td>
                    <td>
                      <code>{e.action}</code>
                    </td>
                    <td>
                      {e.target}
                      {e.detail !== undefined && <span class="muted"> · {e.detail}</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav class="pager" aria-label={t('pager')}>
            {before !== undefined && (
              <button type="button" class="small" onClick={() => setBefore(undefined)}>
                {t('pager.newest')}
              </button>
            )}
            {next !== undefined && (
              <button type="button" class="small" onClick={() => setBefore(next)}>
                {t('pager.older')}
              </button>
            )}
          </nav>
        </>
      )}
    </Show>
  );
}

const TABS = ['users', 'keys', 'health', 'trail'] as const;

/** AdminPage: `#/admin/<tab>`. */
export function AdminPage({ tab }: { tab: string }) {
  const current = (TABS as readonly string[]).includes(tab) ? (tab as (typeof TABS)[number]) : 'users';
  return (
    <section>
      <h1>{t('admin.title')}</h1>
      <nav class="tabs" aria-label={t('admin.title')}>
        {TABS.map((k) => (
          <a key={k} href={href(['admin', k])} aria-current={k === current ? 'page' : undefined}>
            {t(`admin.tab.${k}`)}
          </a>
        ))}
      </nav>
      <h2>{t(`admin.tab.${current}`)}</h2>
      {current === 'users' ? <Users /> : current === 'keys' ? <Keys /> : current === 'health' ? <Health /> : <Trail />}
    </section>
  );
}
