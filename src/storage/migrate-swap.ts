/**
 * The swap that ends a migration from storage layout 1 to layout 2 (migrate.ts;
 * contracts-free-ledger/SPEC.md#storage, "Layout 2"; docs/storage-v2.md, "Migrating from layout
 * 1"), and its recovery. Layout 2 is written beside the old store in `<ledger>.migrating`; once it
 * is whole and verified, a completion marker file is written into it (fsynced), then two renames:
 *
 *   1. `<ledger>` → `<ledger>.layout1` (the old store, kept until the operator deletes it);
 *   2. `<ledger>.migrating` → `<ledger>`.
 *
 * Each rename is atomic and followed by an fsync of the parent directory. A kill between any two
 * steps leaves one of these states, each of which {@link finishMigration} completes or leaves
 * alone, so `<ledger>` is only ever opened holding the whole old store or the whole new one:
 *
 * | `<ledger>` | `.migrating` | `.layout1` | state |
 * |---|---|---|---|
 * | layout 1 | absent or no marker | absent | migration not started or cut short: resumable |
 * | layout 1 | marker | absent | marker written, not swapped: rename 1 then 2 |
 * | absent | marker | present | between the renames: rename 2 |
 * | layout 2, marker | absent | present | migrated (the marker file stays as a record) |
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { openLevel } from './level-handle.js';
import { storedLayout } from './level-layout.js';
import { fsyncDir } from '../platform/fsync.js';

/** The completion marker file a verified layout-2 store carries (written last, fsynced). */
export const MIGRATED_MARKER = 'MIGRATED-FROM-LAYOUT-1';

/** The three directories of a migration of the store at `ledgerDir` (absolute paths). */
export interface MigrationPaths {
  readonly ledger: string;
  readonly migrating: string;
  readonly old: string;
}

/** migrationPaths returns where a migration of `ledgerDir` writes (`.migrating`) and keeps the old store (`.layout1`). */
export function migrationPaths(ledgerDir: string): MigrationPaths {
  const ledger = resolve(ledgerDir);
  return { ledger, migrating: `${ledger}.migrating`, old: `${ledger}.layout1` };
}

/**
 * killPoint stops the process with SIGKILL when GUZHENG_MIGRATE_KILL_AT names `point`. A test-only
 * hook (test/storage/migrate.test.ts): the instants between the last write and the renames are too
 * short to hit by timing. Points: `copy` (after the first batch of unchanged keys), `copied` (after
 * the copy, before the verification), `marker` (after the marker, before the renames), `swap`
 * (between the renames). Unset, it does nothing.
 */
export function killPoint(point: string): void {
  if (process.env.GUZHENG_MIGRATE_KILL_AT === point) process.kill(process.pid, 'SIGKILL');
}


/** hasMarker tells whether `dir` holds a completed migration's marker. */
export function hasMarker(dir: string): boolean {
  return existsSync(join(dir, MIGRATED_MARKER));
}

/**
 * writeMarker writes the completion marker into `dir` durably: a temporary file fsynced, renamed
 * into place, the directory fsynced. Requires: the store in `dir` is whole and verified.
 */
export function writeMarker(dir: string, text: string): void {
  const tmp = join(dir, `${MIGRATED_MARKER}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, MIGRATED_MARKER));
  fsyncDir(dir);
}

/** readMarker returns the marker's text (what was migrated, when), if `dir` has one. */
export function readMarker(dir: string): string | undefined {
  return hasMarker(dir) ? readFileSync(join(dir, MIGRATED_MARKER), 'utf8') : undefined;
}

function code(err: unknown): unknown {
  return typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
}

/** renameDurably renames `from` to `to` and fsyncs the parent; false when `from` is gone (another process renamed it). */
function renameDurably(from: string, to: string): boolean {
  try {
    renameSync(from, to);
  } catch (err) {
    if (code(err) === 'ENOENT') return false;
    throw err;
  }
  fsyncDir(dirname(to));
  return true;
}

/** checkOldStore requires `dir` to hold a layout-1 store no process has open (else it throws, StoreLockedError when locked). */
async function checkOldStore(dir: string): Promise<void> {
  const db = await openLevel(dir);
  try {
    const layout = await storedLayout(db);
    if (layout !== 1) {
      throw new Error(`storage: ${dir} holds ${layout === undefined ? 'an empty store' : `layout ${layout}`} beside a completed migration in ${dir}.migrating; move one of them away by hand`);
    }
  } finally {
    await db.close();
  }
}

/**
 * finishMigration completes a migration whose swap was cut short (see the table above), and
 * refuses to let a missing `<ledger>` be created empty while a migration's directories exist.
 * Returns `finished` when it renamed, `none` when there was nothing to do (the common case: one
 * stat). Called by LevelStore.open before it opens `<ledger>`, and by migrateStore for its own
 * swap. Requires: no other process is migrating the same store (the old store's LevelDB lock is
 * checked: StoreLockedError while it is open).
 */
export async function finishMigration(ledgerDir: string): Promise<'finished' | 'none'> {
  const p = migrationPaths(ledgerDir);
  if (!hasMarker(p.migrating)) {
    if (!existsSync(p.ledger) && (existsSync(p.migrating) || existsSync(p.old))) {
      const which = existsSync(p.migrating) ? `${p.migrating} (an unfinished migration)` : `${p.old} (the layout-1 store a migration kept)`;
      throw new Error(`storage: ${p.ledger} is missing but ${which} exists; refusing to create an empty store there: move it back or finish the migration (docs/storage-v2.md)`);
    }
    return 'none';
  }
  if (existsSync(p.ledger)) {
    if (hasMarker(p.ledger)) throw new Error(`storage: both ${p.ledger} and ${p.migrating} are completed migrations; move one of them away by hand`);
    // The marker is written, the old store still in place: rename 1.
    await checkOldStore(p.ledger);
    if (existsSync(p.old)) throw new Error(`storage: cannot keep the layout-1 store as ${p.old}: it exists; move it away, then start again`);
    renameDurably(p.ledger, p.old);
    killPoint('swap');
  }
  // Rename 2. Gone: another process finished the swap first.
  if (!renameDurably(p.migrating, p.ledger) && !hasMarker(p.ledger)) throw new Error(`storage: ${p.migrating} vanished during the swap and ${p.ledger} is not the migrated store`);
  return 'finished';
}
