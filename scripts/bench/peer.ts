/**
 * Scenario 8: a peer append-only log on the same machine in the same run: hypercore (npm,
 * RocksDB storage through rocksdb-native), appending the very same entry bytes as scenario 1 in
 * batches of 1,000. Hypercore signs its tree and hashes every block too, but with its defaults it
 * does not fsync an append (RocksDB's WAL is written, not synced), so its figure is an upper bound
 * for a log that would be as durable as Guzheng.
 */
import Hypercore from 'hypercore';
import { LevelStore } from '../../src/storage/level.js';
import type { BuiltLedger } from './append.js';
import { log, since, tempDir, type Row, type Sizes } from './common.js';

/** benchPeer runs scenario 8 against scenario 1's figure `guzhengRate` (entries/s). */
export async function benchPeer(sizes: Sizes, built: BuiltLedger, guzhengRate: number): Promise<Row[]> {
  const n = Math.min(sizes.peerEntries, built.entries);
  const store = await LevelStore.open(built.dir);
  const entries: Uint8Array[] = [];
  for (let i = 0; i < n; i += 10_000) for (const e of await store.getEntries(BigInt(i), Math.min(10_000, n - i))) entries.push(e);
  await store.close();
  const core = new Hypercore(tempDir('hypercore'));
  await core.ready();
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1000) await core.append(entries.slice(i, i + 1000));
  const rate = n / since(t0);
  if (core.length !== n) throw new Error(`bench: hypercore holds ${core.length} blocks, want ${n}`);
  await core.close();
  log(`8: hypercore ${Math.round(rate)} entries/s`);
  return [
    {
      scenario: '8 peer: hypercore',
      metric: `hypercore append, same ${n.toLocaleString('en-US')} entries, batches of 1,000`,
      value: rate,
      unit: 'entries/s',
      baseline: { name: 'Guzheng, scenario 1 (entries/s)', value: guzhengRate, unit: 'entries/s' },
      ratio: guzhengRate / rate,
      note: 'ratio = Guzheng / hypercore; hypercore does not fsync appends by default (Guzheng fsyncs every flush)',
    },
  ];
}
