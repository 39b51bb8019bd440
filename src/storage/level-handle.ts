/**
 * The LevelDB handle under a {@link LevelStore} (level.ts), and what keeps it trustworthy: opening
 * it under LevelDB's lock (one writer: a second open fails fast with {@link StoreLockedError}),
 * serializing writes, and poisoning it after a failed write until it has been closed and reopened.
 * Apart from level.ts, which holds the ledger's tables and key layout, because none of this
 * depends on what is stored: the store only says what to reread after a reopen.
 *
 * Why poison: LevelDB appends every write to its log file; a write that fails half way (ENOSPC)
 * leaves a torn record there, and on the next open LevelDB drops the log from that record on,
 * including every later write that "succeeded" on the same handle: acknowledged entries would
 * vanish after a crash. So after a failed write no further write reaches that handle: writes are
 * refused with {@link StoreUnavailableError} until the handle has been reopened (which replays the
 * log up to the torn record and starts a new log file). Writes are serialized, so no write can be
 * in flight behind a failing one. Reopening waits for reads in flight and holds new ones for its
 * few milliseconds; it is attempted at most every `retryMs`, and while the disk is full only once
 * the free space could hold the log being replayed, so reads keep working on the old handle.
 */
import { readdirSync, statSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { Level } from 'level';
import { StoreUnavailableError, type StoreHealth } from './store.js';

/**
 * StoreLockedError is thrown by {@link LevelStore.open} when another Guzheng process (or another
 * LevelStore in this process) holds the data directory's LevelDB lock (DESIGN.md §4: one writer).
 */
export class StoreLockedError extends Error {
  /** Stable code for callers (CLI exit message, service start-up). */
  readonly code = 'STORE_LOCKED' as const;
  /** The data directory, resolved to an absolute path. */
  readonly dir: string;
  constructor(dir: string, options?: { cause?: unknown }) {
    super(`data directory ${dir} is in use by another Guzheng process (LevelDB lock held)`, options);
    this.name = 'StoreLockedError';
    this.dir = dir;
  }
}

/** A LevelDB handle with binary keys and values. */
export type Db = Level<Uint8Array, Uint8Array>;

function errorCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
}

function isLockError(err: unknown): boolean {
  if (errorCode(err) === 'LEVEL_LOCKED') return true;
  const cause = typeof err === 'object' && err !== null && 'cause' in err ? err.cause : undefined;
  return errorCode(cause) === 'LEVEL_LOCKED';
}

/** Is this LevelDB (or fs) error a full disk? */
function isNoSpace(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === 'ENOSPC') return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && /no space left on device|ENOSPC/i.test(message)) return true;
  }
  return false;
}

/** Options of {@link LevelStore.open}. */
export interface LevelStoreOptions {
  /** Least time between two attempts to reopen after a failed write, ms (default 1,000). */
  readonly retryMs?: number;
  /** Free bytes wanted beyond the size of LevelDB's log files before reopening a full store (default 1 MiB). */
  readonly reserveBytes?: number;
  /** Where state changes (write failed, reopened) are reported (default: nowhere). */
  readonly onEvent?: (message: string) => void;
}

/**
 * openLevel opens (creating if needed) the LevelDB at `dir`, an absolute path. Rejects at once
 * with {@link StoreLockedError} when another process or handle holds its lock.
 */
export async function openLevel(dir: string): Promise<Db> {
  const db: Db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  try {
    await db.open();
  } catch (err) {
    if (isLockError(err)) throw new StoreLockedError(dir, { cause: err });
    throw err;
  }
  return db;
}

/** What a {@link LevelHandle} asks of the store that owns it. */
export interface HandleOwner {
  /**
   * After a reopen: reread what the store keeps in memory (a write reported as failed may have
   * landed). Returns the size writes resume at, for the event. Throwing leaves the store down.
   */
  reloaded(): Promise<bigint>;
  /** Before each write: an error to refuse it with (once), when the reopen found more than was acknowledged. */
  stale(): Error | undefined;
}

/** An open LevelDB handle: its operations counted, its writes serialized, poisoned by a failed write. */
export class LevelHandle {
  readonly #db: Db;
  /** Absolute path of the data directory. */
  readonly dir: string;
  readonly #owner: HandleOwner;
  #closed = false;
  readonly #o: Required<Omit<LevelStoreOptions, 'onEvent'>> & Pick<LevelStoreOptions, 'onEvent'>;
  /** Why writes are refused, since when; undefined while healthy. */
  #failure: { readonly error: unknown; readonly full: boolean; readonly since: string } | undefined;
  /** The handle is closed because reopening failed: reads are refused too. */
  #down = false;
  #lastReopenAt = 0;
  #reopening: Promise<void> | undefined;
  /** Tail of the chain that serializes writes. */
  #writes: Promise<unknown> = Promise.resolve();
  /** Operations using the handle now, and the gate a reopen holds them at. */
  #users = 0;
  #gate: Promise<void> | undefined;
  #idle: (() => void) | undefined;
  /** Successful reopens after failed writes (for tests and metrics). */
  reopens = 0;

  constructor(db: Db, dir: string, options: LevelStoreOptions, owner: HandleOwner) {
    this.#db = db;
    this.dir = dir;
    this.#owner = owner;
    this.#o = { retryMs: options.retryMs ?? 1000, reserveBytes: options.reserveBytes ?? 1 << 20, onEvent: options.onEvent };
  }

  /** assertOpen throws once the store has been closed. */
  assertOpen(): void {
    if (this.#closed) throw new Error(`storage: store ${this.dir} is closed`);
  }

  /** health reports whether writes (and reads) work now; see {@link StoreHealth}. */
  health(): StoreHealth {
    const f = this.#failure;
    if (f === undefined) return { state: 'ok' };
    return { state: this.#down ? 'down' : f.full ? 'full' : 'failed', since: f.since };
  }

  #unavailable(): StoreUnavailableError {
    const f = this.#failure;
    const full = f?.full ?? false;
    const what = this.#down
      ? 'storage is down: the database could not be reopened after a failed write'
      : full
        ? 'storage is full: no space left on device; writes are refused until space is freed'
        : 'storage failed a write; writes are refused until the database has been reopened';
    return new StoreUnavailableError(what, full, { cause: f?.error });
  }

  /**
   * use runs `f` on the handle: after a reopen in progress, and counted, so a reopen waits for it.
   * While the store is down it first tries to reopen (rate-limited) and otherwise refuses.
   */
  async use<T>(f: () => Promise<T>): Promise<T> {
    this.assertOpen();
    while (this.#gate !== undefined) await this.#gate;
    if (this.#down) {
      await this.#reopen();
      if (this.#down) throw this.#unavailable();
      while (this.#gate !== undefined) await this.#gate;
    }
    this.assertOpen();
    this.#users++;
    try {
      return await f();
    } finally {
      if (--this.#users === 0) this.#idle?.();
    }
  }

  /**
   * write serializes a mutation: it runs after every earlier write has settled; if an earlier
   * write failed, only after a successful reopen. `commit` must perform exactly one LevelDB write;
   * if it fails, the handle is poisoned and the caller gets {@link StoreUnavailableError}.
   */
  write<T>(prepare: () => T, commit: (prepared: T) => Promise<void>): Promise<T> {
    const run = async (): Promise<T> => {
      this.assertOpen();
      if (this.#failure !== undefined) {
        await this.#reopen();
        if (this.#failure !== undefined) throw this.#unavailable();
      }
      // The caller's view (size, block count) may predate what a reopen found: let it resync.
      const stale = this.#owner.stale();
      if (stale !== undefined) throw stale;
      return this.use(async () => {
        const prepared = prepare();
        try {
          await commit(prepared);
        } catch (err) {
          this.#poison(err);
          throw this.#unavailable();
        }
        return prepared;
      });
    };
    const result = this.#writes.then(run, run);
    this.#writes = result.catch(() => undefined);
    return result;
  }

  #poison(err: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = { error: err, full: isNoSpace(err), since: new Date().toISOString() };
    this.#lastReopenAt = Date.now();
    this.#o.onEvent?.(`storage: a write failed (${(err as Error).message ?? String(err)}); refusing writes until the database can be reopened`);
  }

  /** Bytes free on the store's filesystem, and bytes a reopen needs (LevelDB replays its log files into a table). */
  #space(): { free: number; need: number } {
    let logs = 0;
    for (const name of readdirSync(this.dir)) if (name.endsWith('.log')) logs += statSync(join(this.dir, name)).size;
    const fs = statfsSync(this.dir);
    return { free: fs.bavail * fs.bsize, need: logs + this.#o.reserveBytes };
  }

  /**
   * #reopen closes and reopens the handle after a failed write (at most every `retryMs`; while the
   * disk is full, only when the free space could hold the replayed log, so that reads keep
   * working on the open handle meanwhile). It waits for operations in flight and holds new ones.
   * On success the failure is cleared and the owner rereads what it keeps (a write whose fsync
   * failed may or may not have landed). If LevelDB cannot open, the store is down.
   */
  #reopen(): Promise<void> {
    if (this.#reopening !== undefined) return this.#reopening;
    const failure = this.#failure;
    if (failure === undefined || this.#closed) return Promise.resolve();
    if (Date.now() - this.#lastReopenAt < this.#o.retryMs) return Promise.resolve();
    this.#lastReopenAt = Date.now();
    if (!this.#down && failure.full) {
      try {
        const { free, need } = this.#space();
        if (free < need) return Promise.resolve();
      } catch {
        return Promise.resolve();
      }
    }
    let release!: () => void;
    this.#gate = new Promise<void>((r) => (release = r));
    this.#reopening = (async () => {
      try {
        if (this.#users > 0) await new Promise<void>((r) => (this.#idle = r));
        this.#idle = undefined;
        let size: bigint;
        try {
          if (this.#db.status === 'open') await this.#db.close();
          await this.#db.open();
          size = await this.#owner.reloaded();
        } catch (err) {
          if (!this.#down) this.#o.onEvent?.(`storage: reopening failed (${(err as Error).message ?? String(err)}); reads and writes are refused until it succeeds`);
          this.#down = true;
          this.#failure = { error: err, full: failure.full || isNoSpace(err), since: failure.since };
          return;
        }
        this.#down = false;
        this.#failure = undefined;
        this.reopens++;
        this.#o.onEvent?.(`storage: reopened after a failed write; writes resume at size ${size}`);
      } finally {
        this.#gate = undefined;
        this.#reopening = undefined;
        release();
      }
    })();
    return this.#reopening;
  }

  /** close releases the LevelDB handle and its lock, after the writes queued; later calls reject. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writes;
    while (this.#gate !== undefined) await this.#gate;
    if (this.#db.status === 'open') await this.#db.close();
  }
}
