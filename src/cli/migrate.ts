/**
 * `guzheng migrate --data DIR`: upgrade a data directory's store from storage layout 1 to layout 2
 * (src/storage/migrate.ts; contracts-free-ledger/SPEC.md#storage; docs/storage-v2.md, "Migrating
 * from layout 1"). Crash-safe and resumable: run it again after any interruption. Progress on
 * stderr. Runs while the server is stopped (LevelDB admits one process); `guzheng serve` on a
 * layout-1 directory does the same at start.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { dataPaths } from '../setup.js';
import { StoreLockedError } from '../storage/level.js';
import { migrateReporting } from '../storage/migrate.js';
import { CliError } from './client.js';

/**
 * ledgerOf returns the store directory of `dir`: its `ledger` (a data directory), or `dir` itself
 * when it is a store (holds LevelDB's CURRENT file), as StoreLayoutError's hint names it.
 */
export function ledgerOf(dir: string): string {
  const { ledger } = dataPaths(dir);
  if (existsSync(ledger) || existsSync(`${ledger}.migrating`)) return ledger;
  return existsSync(join(dir, 'CURRENT')) ? resolve(dir) : ledger;
}

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('upgrade the data directory\'s store from storage layout 1 to layout 2 (crash-safe, resumable; run while the server is stopped)')
    .option('-d, --data <dir>', 'data directory (env GUZHENG_DATA)', process.env.GUZHENG_DATA ?? './data')
    .option('--data-dir <dir>', 'the same as --data (a store directory itself is accepted too)')
    .action(async (o: { data: string; dataDir?: string }) => {
      const dir = o.dataDir ?? o.data;
      const ledger = ledgerOf(dir);
      if (!existsSync(ledger) && !existsSync(`${ledger}.migrating`)) throw new CliError(`no store in ${resolve(dir)} (looked for ${ledger})`, 2);
      const say = (line: string) => process.stderr.write(`${line}\n`);
      try {
        const r = await migrateReporting(ledger, say);
        if (r.status === 'already') say(`migrate: ${r.ledger} already holds storage layout 2; nothing to do`);
        if (r.status === 'empty') say(`migrate: ${r.ledger} is empty; it becomes layout 2 when the service first opens it`);
      } catch (err) {
        if (err instanceof StoreLockedError) throw new CliError(`${err.message}. Stop "guzheng serve" on this data directory first (LevelDB admits one process).`);
        throw err;
      }
    });
}
