/**
 * API keys (DESIGN.md §4): `Authorization: Bearer <secret>`. Only SHA-256 of a secret is stored,
 * keyed by that hash, so checking a presented key is one lookup by its hash plus a constant-time
 * comparison; a stolen database yields no usable key. Roles: submit, audit, admin (admin implies
 * all). Secrets look like `gzk_<43 base64url chars>` (256 random bits).
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyRecord, LedgerStore } from '../storage/store.js';

export type Role = ApiKeyRecord['role'];
export const ROLES: readonly Role[] = ['submit', 'audit', 'admin'];

const SECRET_RE = /^gzk_[A-Za-z0-9_-]{43}$/;

/** hashSecret returns SHA-256 of the secret's UTF-8 bytes, lowercase hex. */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/** A key id derived from the secret hash: public, safe to log and to record as `submitter`. */
function keyIdOf(secretHash: string): string {
  return `key-${secretHash.slice(0, 12)}`;
}

/** createApiKey makes a new key with `role`, stores its hash, and returns the secret (shown once). */
export async function createApiKey(store: LedgerStore, role: Role, options: { label?: string; secret?: string; now?: Date } = {}): Promise<{ record: ApiKeyRecord; secret: string }> {
  if (!ROLES.includes(role)) throw new Error(`unknown role ${JSON.stringify(role)}; want one of ${ROLES.join(', ')}`);
  const secret = options.secret ?? `gzk_${randomBytes(32).toString('base64url')}`;
  if (!SECRET_RE.test(secret)) throw new Error('an API key must look like gzk_ followed by 43 base64url characters (generate one with "guzheng keys create")');
  const secretHash = hashSecret(secret);
  if (await store.getApiKeyBySecretHash(secretHash)) throw new Error('this API key is already registered');
  const record: ApiKeyRecord = {
    id: keyIdOf(secretHash),
    secretHash,
    role,
    createdAt: (options.now ?? new Date()).toISOString(),
    ...(options.label ? { label: options.label } : {}),
  };
  await store.putApiKey(record);
  return { record, secret };
}

/** authenticate returns the active key record for a presented secret, or undefined. */
export async function authenticate(store: LedgerStore, secret: string): Promise<ApiKeyRecord | undefined> {
  if (!SECRET_RE.test(secret)) return undefined;
  const presented = hash('sha256', secret, 'buffer');
  const record = await store.getApiKeyBySecretHash(presented.toString('hex'));
  if (record === undefined || record.revokedAt !== undefined) return undefined;
  // The lookup is by hash already; compare anyway in constant time (defence in depth).
  return timingSafeEqual(presented, Buffer.from(record.secretHash, 'hex')) ? record : undefined;
}

/** revokeApiKey marks the key with this id revoked. Returns false if there is no such key. */
export async function revokeApiKey(store: LedgerStore, id: string, now = new Date()): Promise<boolean> {
  const record = (await store.listApiKeys()).find((k) => k.id === id);
  if (record === undefined) return false;
  if (record.revokedAt === undefined) await store.putApiKey({ ...record, revokedAt: now.toISOString() });
  return true;
}

/** hasRole reports whether a key with `role` may act as `needed` (admin implies all). */
export function hasRole(role: Role, needed: Role | readonly Role[]): boolean {
  const want = typeof needed === 'string' ? [needed] : needed;
  return role === 'admin' || want.includes(role);
}

/** isWellFormedSecret tells whether a string has the shape of an API key secret. */
export function isWellFormedSecret(secret: string): boolean {
  return SECRET_RE.test(secret);
}
