/**
 * Audit throughput benchmark (not part of the test suite):
 *   npx tsx test/audit/bench.ts build <dir> <entries>   # a real LevelDB ledger, 1,000 per batch and block
 *   npx tsx test/audit/bench.ts audit <dir> [workers]   # replay it and print the report
 */
import { LocalSource } from '../../src/audit/local.js';
import { runAudit } from '../../src/audit/replay.js';
import { formatReport } from '../../src/audit/report.js';
import { installNodeCrypto } from '../../src/platform/node-crypto.js';
import { KEYS, buildLedger } from './helpers.js';

installNodeCrypto();
const [cmd, dir, arg] = process.argv.slice(2);
if (cmd === 'build' && dir) {
  const t = performance.now();
  await buildLedger(dir, Number(arg ?? 1_000_000), { batch: 1000 });
  console.log(`built ${arg} entries in ${((performance.now() - t) / 1000).toFixed(1)} s`);
} else if (cmd === 'audit' && dir) {
  const src = await LocalSource.open(dir);
  const r = await runAudit(src, { verifierKey: KEYS.verifierKey, ...(arg !== undefined ? { workers: Number(arg) } : {}) });
  await src.close();
  process.stdout.write(formatReport(r));
} else {
  console.error('usage: bench.ts build <dir> <entries> | audit <dir> [workers]');
  process.exitCode = 2;
}
