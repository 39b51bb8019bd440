/**
 * First start and data-directory layout (issue 3): the Ed25519 log key is created once, in
 * `<data>/log-key` with mode 0600, and never logged or served; on a new store an admin API key is
 * registered (GUZHENG_ADMIN_KEY, or a generated one written to `<data>/admin-api-key`, 0600).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateSignerKey, isValidKeyName, parseSignerKey, type SignerKey } from './core/note.js';
import { createApiKey } from './auth/api-keys.js';
import type { LedgerStore } from './storage/store.js';

/** Paths inside a data directory. */
export function dataPaths(dataDir: string): { root: string; ledger: string; logKey: string; adminKey: string } {
  const root = resolve(dataDir);
  return { root, ledger: join(root, 'ledger'), logKey: join(root, 'log-key'), adminKey: join(root, 'admin-api-key') };
}

/** The default origin of a new log when GUZHENG_ORIGIN is not set. */
export const DEFAULT_ORIGIN = 'localhost/guzheng';

/** Write a secret file readable by its owner only (created 0600, re-chmodded in case of umask games). */
function writeSecret(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
}

/**
 * loadOrCreateLogKey returns the log signer key, creating `<data>/log-key` (0600) on first start.
 * Throws if an existing key's origin differs from `origin` (when given), or if the file is
 * readable by group or others.
 */
export function loadOrCreateLogKey(dataDir: string, origin: string | undefined): { key: SignerKey; created: boolean } {
  const paths = dataPaths(dataDir);
  mkdirSync(paths.root, { recursive: true, mode: 0o700 });
  if (existsSync(paths.logKey)) {
    const mode = statSync(paths.logKey).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new Error(`${paths.logKey} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${paths.logKey}`);
    }
    const key = parseSignerKey(readFileSync(paths.logKey, 'utf8').trim());
    if (origin !== undefined && origin !== key.name) {
      throw new Error(`GUZHENG_ORIGIN is ${JSON.stringify(origin)} but this data directory's log key is for ${JSON.stringify(key.name)}; a log's origin cannot change`);
    }
    return { key, created: false };
  }
  const name = origin ?? DEFAULT_ORIGIN;
  if (!isValidKeyName(name)) throw new Error(`origin ${JSON.stringify(name)} is not a valid key name (no spaces, no "+")`);
  const { signerKey } = generateSignerKey(name, randomBytes(32));
  writeSecret(paths.logKey, signerKey + '\n');
  return { key: parseSignerKey(signerKey), created: true };
}

/**
 * ensureAdminKey registers an admin API key if the store has none: `adminKey` if given, else a
 * generated one written to `<data>/admin-api-key` (0600). Returns where the key is, for the banner.
 */
export async function ensureAdminKey(store: LedgerStore, dataDir: string, adminKey: string | undefined): Promise<string | undefined> {
  const keys = await store.listApiKeys();
  if (keys.some((k) => k.role === 'admin' && k.revokedAt === undefined)) return undefined;
  if (adminKey !== undefined) {
    await createApiKey(store, 'admin', { secret: adminKey, label: 'GUZHENG_ADMIN_KEY' });
    return 'the GUZHENG_ADMIN_KEY environment variable';
  }
  const path = dataPaths(dataDir).adminKey;
  if (existsSync(path)) {
    // A previous first start wrote the file but stopped before registering it.
    await createApiKey(store, 'admin', { secret: readFileSync(path, 'utf8').trim(), label: 'first start' });
    return path;
  }
  // File first, then registration: a crash in between leaves a file that the next start registers.
  const secret = `gzk_${randomBytes(32).toString('base64url')}`;
  writeSecret(path, secret + '\n');
  await createApiKey(store, 'admin', { secret, label: 'first start' });
  return path;
}

/** A fresh random seed, for tests and tools that need a throwaway key. */
export function randomSeed(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}
