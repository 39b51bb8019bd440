/**
 * A migration run in a child process, for the kill tests of test/storage/migrate.test.ts:
 * `node --import tsx test/support/migrate-child.ts <ledgerDir> <batch>`. Prints one line per
 * progress report on stderr (`progress <phase> <done>`) so the parent can SIGKILL it part way;
 * GUZHENG_MIGRATE_KILL_AT (src/storage/migrate-swap.ts killPoint) kills it at a named point.
 */
import { installNodeCrypto } from '../../src/platform/node-crypto.js';
import { migrateStore } from '../../src/storage/migrate.js';

installNodeCrypto();
const [dir, batch] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: migrate-child.ts <ledgerDir> [batch]');
migrateStore(dir, {
  batch: batch === undefined ? undefined : Number(batch),
  onProgress: (p) => process.stderr.write(`progress ${p.phase} ${p.done}\n`),
}).then(
  (r) => process.stderr.write(`done ${r.status} ${r.size}\n`),
  (err: unknown) => {
    process.stderr.write(`failed ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
