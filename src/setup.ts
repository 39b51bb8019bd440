/**
 * First start and data-directory layout (issue 3): the log key is created once, in
 * `<data>/log-key` with mode 0600, and never logged or served: Ed25519 for a `c2sp` log (the
 * default), SM2 for a `gm` log (GUZHENG_PROFILE=gm; SPEC.md#crypto-suites: the key fixes the log's
 * suite for its life). On a new store an admin API key is registered (GUZHENG_ADMIN_KEY, or a
 * generated one written to `<data>/admin-api-key`, 0600).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { isLedgerError } from './core/errors.js';
import { generateSignerKey, isValidKeyName, parseSignerKey, type KeyPair, type SignerKey } from './core/note.js';
import { C2SP, suiteById, suiteOfKey, type SuiteId } from './core/suite.js';
import { createApiKey } from './auth/api-keys.js';
import { ConfigError } from './config.js';
import type { LedgerStore } from './storage/store.js';
import { fsyncDir } from './platform/fsync.js';

/** Paths inside a data directory. */
export function dataPaths(dataDir: string): { root: string; ledger: string; logKey: string; adminKey: string; checkpoint: string } {
  const root = resolve(dataDir);
  return { root, ledger: join(root, 'ledger'), logKey: join(root, 'log-key'), adminKey: join(root, 'admin-api-key'), checkpoint: join(root, 'checkpoint') };
}

/**
 * ensureDataDir creates the data directory with mode 0700 if it does not exist (with its parents),
 * so `guzheng keys create` before the first `guzheng serve` makes it as private as the service
 * does (LevelDB alone would create it 0755). An existing directory is left as it is; the caller
 * gets a warning to print when it is open to group or others.
 */
export function ensureDataDir(dataDir: string): { warning?: string } {
  const root = dataPaths(dataDir).root;
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const mode = statSync(root).mode & 0o777;
  if ((mode & 0o077) === 0) return {};
  return { warning: `warning: the data directory ${root} is accessible to group or others (mode ${mode.toString(8)}); run: chmod 700 ${root}` };
}


/** The default origin of a new log when GUZHENG_ORIGIN is not set. */
export const DEFAULT_ORIGIN = 'localhost/guzheng';

/**
 * Write a secret file readable by its owner only (created 0600, re-chmodded in case of umask
 * games), atomically and durably: the text goes to a temporary file that is fsynced and then
 * linked into place (failing, like `wx`, if the file exists), so a crash never leaves an empty or
 * half-written key file behind that would stop every later start.
 */
export function writeSecret(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  // Left by a crashed process that had our pid (containers reuse small pids): not in use.
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    chmodSync(tmp, 0o600);
    linkSync(tmp, path);
  } finally {
    unlinkSync(tmp);
  }
  fsyncDir(dirname(path));
}

/**
 * removeStaleTemporaries deletes temporary files a crash left behind while writing a secret or the
 * checkpoint file. Requires: this process holds the data directory (the store's lock), so no
 * other process is writing them.
 */
export function removeStaleTemporaries(dataDir: string): void {
  const root = dataPaths(dataDir).root;
  for (const name of readdirSync(root)) {
    if (/^(log-key|admin-api-key|checkpoint)\.tmp(-\d+)?$/.test(name)) unlinkSync(join(root, name));
  }
}

/**
 * newLogKeyPair generates a log key pair for `name` in the suite `profile`: 32 random bytes as the
 * Ed25519 seed, or as the SM2 private key d. An SM2 d must lie in [1, n − 2] (GB/T 32918.1 §6.1,
 * SPEC.md#sm2-note-signatures): 32 random bytes fall outside with probability about 2^-32, and
 * are then drawn again (rejection sampling keeps d uniform; reducing mod n would not).
 */
export function newLogKeyPair(name: string, profile: SuiteId = C2SP.id): KeyPair {
  const algorithm = suiteById(profile).keyAlgorithm;
  for (let attempt = 0; ; attempt++) {
    try {
      return generateSignerKey(name, new Uint8Array(randomBytes(32)), algorithm);
    } catch (err) {
      if (algorithm !== 'sm2' || attempt >= 8 || !isLedgerError(err)) throw err;
    }
  }
}

/**
 * loadOrCreateLogKey returns the log signer key, creating `<data>/log-key` (0600) on first start,
 * in the crypto suite `profile` (default `c2sp`). Throws if an existing key's origin differs from
 * `origin` (when given), if the file is readable by group or others, and a {@link ConfigError}
 * if `profile` is given and is not the existing key's suite (SPEC.md#crypto-suites: a log keeps
 * the suite of its key for its life; signing with another would make a second, unrelated log).
 */
export function loadOrCreateLogKey(dataDir: string, origin: string | undefined, profile?: SuiteId): { key: SignerKey; created: boolean } {
  const paths = dataPaths(dataDir);
  ensureDataDir(dataDir);
  if (existsSync(paths.logKey)) {
    const mode = statSync(paths.logKey).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new Error(`${paths.logKey} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${paths.logKey}`);
    }
    const key = parseSignerKey(readFileSync(paths.logKey, 'utf8').trim());
    if (origin !== undefined && origin !== key.name) {
      throw new Error(`GUZHENG_ORIGIN is ${JSON.stringify(origin)} but this data directory's log key is for ${JSON.stringify(key.name)}; a log's origin cannot change`);
    }
    const suite = suiteOfKey(key);
    if (profile !== undefined && profile !== suite.id) {
      throw new ConfigError(
        `configuration: GUZHENG_PROFILE (--profile) is ${profile} but the log in ${paths.root} is ${suite.id} (its key ${paths.logKey} is ${suite.keyAlgorithm === 'sm2' ? 'SM2' : 'Ed25519'}); a log's crypto suite is fixed by its key for its life: leave GUZHENG_PROFILE unset, set it to ${suite.id}, or create the ${profile} log in another data directory`,
      );
    }
    return { key, created: false };
  }
  const name = origin ?? DEFAULT_ORIGIN;
  if (!isValidKeyName(name)) throw new Error(`origin ${JSON.stringify(name)} is not a valid key name (no spaces, no "+")`);
  const { signerKey } = newLogKeyPair(name, profile);
  writeSecret(paths.logKey, signerKey + '\n');
  return { key: parseSignerKey(signerKey), created: true };
}

/**
 * readLogKey reads the log signer key of an existing data directory (for `guzheng keys export`),
 * without creating anything. Throws if there is none yet.
 */
export function readLogKey(dataDir: string): SignerKey {
  const path = dataPaths(dataDir).logKey;
  if (!existsSync(path)) throw new Error(`no log key at ${path}: this data directory holds no log yet (run "guzheng serve" once)`);
  return parseSignerKey(readFileSync(path, 'utf8').trim());
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

/**
 * readKnownCheckpoint returns the latest checkpoint the service recorded outside the store
 * (`<data>/checkpoint`), or undefined if there is none yet. Not trusted: recovery verifies it
 * with the log key.
 */
export function readKnownCheckpoint(dataDir: string): { note: string; source: string } | undefined {
  const path = dataPaths(dataDir).checkpoint;
  if (!existsSync(path)) return undefined;
  return { note: readFileSync(path, 'utf8'), source: path };
}

/**
 * CheckpointFile keeps `<data>/checkpoint` (the latest signed checkpoint, public, 0644) outside
 * the LevelDB store, so a deleted, replaced or rolled-back store is refused at the next start
 * instead of signing a fork. Each save replaces the file atomically (temporary file, fsync,
 * rename, fsync of the directory); saves are serialized and a burst collapses into the newest.
 * Failures (e.g. a full disk) are reported and retried with the next save: the file is a lower
 * bound, never ahead of the store.
 */
export class CheckpointFile {
  readonly #path: string;
  readonly #report: (message: string) => void;
  #pending: string | undefined;
  #running: Promise<void> | undefined;
  #failing = false;

  constructor(dataDir: string, report: (message: string) => void) {
    this.#path = dataPaths(dataDir).checkpoint;
    this.#report = report;
  }

  /** save records `note` (a newer checkpoint than any saved before). */
  save(note: string): void {
    this.#pending = note;
    this.#running ??= this.#drain();
  }

  /** flush resolves once every saved note is on disk (or failed). */
  async flush(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending !== undefined) {
        const note = this.#pending;
        this.#pending = undefined;
        try {
          await this.#write(note);
          if (this.#failing) this.#report(`checkpoint file: ${this.#path} written again`);
          this.#failing = false;
        } catch (err) {
          if (!this.#failing) this.#report(`checkpoint file: cannot write ${this.#path} (${(err as Error).message}); retried with the next checkpoint`);
          this.#failing = true;
        }
      }
    } finally {
      this.#running = undefined;
    }
  }

  async #write(note: string): Promise<void> {
    const tmp = `${this.#path}.tmp`;
    const f = await open(tmp, 'w', 0o644);
    try {
      await f.writeFile(note);
      await f.sync();
    } finally {
      await f.close();
    }
    await rename(tmp, this.#path);
    const d = await open(dirname(this.#path), 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }
}

/** A fresh random seed, for tests and tools that need a throwaway key. */
export function randomSeed(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}
