/**
 * People's accounts (docs/console-api.md#people-sessions-and-csrf): a name, one of the API key
 * roles (src/auth/api-keys.ts: submit, audit, admin; admin implies all), an scrypt password hash
 * (src/auth/passwords.ts), whether the password must be changed at the next sign-in, and whether
 * the account is disabled. Kept in the store's record table `users`, keyed by the name; outside
 * the log (src/storage/records.ts). Accounts are never deleted: a name once given stays taken, so
 * the admin trail and the entries' `submitter: "user:<name>"` always name one person.
 */
import type { LedgerStore } from '../storage/store.js';
import { ROLES, type Role } from './api-keys.js';
import { generatePassword, hashPassword } from './passwords.js';

/** The record table of accounts. */
export const USERS_TABLE = 'users';

/** What a user name looks like: 2–32 characters, lowercase letters, digits, `.`, `_`, `-`, not starting with punctuation. */
export const USER_NAME_RE = /^[a-z0-9][a-z0-9._-]{1,31}$/;

/** A stored account. */
export interface UserRecord {
  readonly name: string;
  readonly role: Role;
  /** scrypt$N$r$p$salt$key (src/auth/passwords.ts). */
  readonly passwordHash: string;
  /** Set for a generated one-time password: every route but the session routes answers 403 until it is changed. */
  readonly mustChangePassword: boolean;
  readonly createdAt: string;
  readonly passwordChangedAt?: string;
  readonly disabledAt?: string;
}

/** What the API shows of an account (never the hash). */
export interface UserView {
  readonly name: string;
  readonly role: Role;
  readonly mustChangePassword: boolean;
  readonly createdAt: string;
  readonly disabledAt?: string;
}

/** isUserName tells whether `name` is a well-formed user name ({@link USER_NAME_RE}). */
export function isUserName(name: string): boolean {
  return USER_NAME_RE.test(name);
}

/** principalIdOf returns the id a user acts under: `user:<name>` (entries' `submitter`, rate limits, the trail). */
export function principalIdOf(name: string): string {
  return `user:${name}`;
}

/** userView returns the public fields of an account. */
export function userView(u: UserRecord, withDisabled = false): UserView {
  return {
    name: u.name,
    role: u.role,
    mustChangePassword: u.mustChangePassword,
    createdAt: u.createdAt,
    ...(withDisabled && u.disabledAt !== undefined ? { disabledAt: u.disabledAt } : {}),
  };
}

function decodeUser(text: string): UserRecord {
  const v = JSON.parse(text) as Partial<UserRecord>;
  if (typeof v.name !== 'string' || !isUserName(v.name) || !ROLES.includes(v.role as Role) || typeof v.passwordHash !== 'string' || typeof v.mustChangePassword !== 'boolean' || typeof v.createdAt !== 'string') {
    throw new Error('users: malformed stored user record');
  }
  return v as UserRecord;
}

/** getUser returns the account named `name`, if any (undefined for a malformed name). */
export async function getUser(store: LedgerStore, name: string): Promise<UserRecord | undefined> {
  if (!isUserName(name)) return undefined;
  const text = await store.getRecord(USERS_TABLE, name);
  return text === undefined ? undefined : decodeUser(text);
}

/** listUsers returns every account, by name. */
export async function listUsers(store: LedgerStore): Promise<UserRecord[]> {
  const out: UserRecord[] = [];
  let gte: string | undefined;
  for (;;) {
    const rows = await store.listRecords(USERS_TABLE, { limit: 1000, ...(gte !== undefined ? { gte } : {}) });
    for (const r of rows) if (r.key !== gte) out.push(decodeUser(r.value));
    const last = rows.at(-1);
    if (rows.length < 1000 || last === undefined) return out;
    gte = last.key;
  }
}

/** putUser stores (creates or replaces) an account, durably. */
export async function putUser(store: LedgerStore, user: UserRecord): Promise<void> {
  if (!isUserName(user.name)) throw new Error(`users: bad name ${JSON.stringify(user.name)}`);
  await store.putRecords(USERS_TABLE, [{ key: user.name, value: JSON.stringify(user) }]);
}

/**
 * createUser makes an account `name` with `role` and a generated one-time password (it must be
 * changed at the first sign-in). Returns the record and the password (shown once), or undefined
 * when the name is taken. Requires: `name` matches {@link USER_NAME_RE}, `role` is a role (else it
 * throws).
 */
export async function createUser(store: LedgerStore, name: string, role: Role, options: { now?: Date } = {}): Promise<{ user: UserRecord; password: string } | undefined> {
  if (!isUserName(name)) throw new Error(`a user name must match ${USER_NAME_RE.source}, got ${JSON.stringify(name)}`);
  if (!ROLES.includes(role)) throw new Error(`unknown role ${JSON.stringify(role)}; want one of ${ROLES.join(', ')}`);
  if ((await store.getRecord(USERS_TABLE, name)) !== undefined) return undefined;
  const password = generatePassword();
  const user: UserRecord = { name, role, passwordHash: await hashPassword(password), mustChangePassword: true, createdAt: (options.now ?? new Date()).toISOString() };
  // Checked again after the slow hash: a create that raced this one keeps its account.
  if ((await store.getRecord(USERS_TABLE, name)) !== undefined) return undefined;
  await putUser(store, user);
  return { user, password };
}

/**
 * setPassword stores a new hash of `password` for `user`. `oneTime` marks it a generated password
 * that must be changed at the next sign-in. Returns the updated record. Does not check the policy
 * and revokes no session: callers do both.
 */
export async function setPassword(store: LedgerStore, user: UserRecord, password: string, oneTime: boolean, now = new Date()): Promise<UserRecord> {
  const updated: UserRecord = { ...user, passwordHash: await hashPassword(password), mustChangePassword: oneTime, passwordChangedAt: now.toISOString() };
  await putUser(store, updated);
  return updated;
}

/** resetPassword gives `user` a new generated one-time password and returns it with the record. */
export async function resetPassword(store: LedgerStore, user: UserRecord, now = new Date()): Promise<{ user: UserRecord; password: string }> {
  const password = generatePassword();
  return { user: await setPassword(store, user, password, true, now), password };
}

/** setDisabled disables (at `now`) or enables the account; returns the updated record. */
export async function setDisabled(store: LedgerStore, user: UserRecord, disabled: boolean, now = new Date()): Promise<UserRecord> {
  const { disabledAt: _was, ...rest } = user;
  const updated: UserRecord = disabled ? { ...rest, disabledAt: user.disabledAt ?? now.toISOString() } : rest;
  await putUser(store, updated);
  return updated;
}
