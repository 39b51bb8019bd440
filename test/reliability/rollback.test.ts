/**
 * A deleted, replaced or rolled-back database. The store's own last block cannot reveal it (an
 * older or empty store is consistent with itself), and a log that started over with the same key
 * would sign checkpoints inconsistent with those it already handed out: a fork. The service keeps
 * its latest checkpoint outside the store (`<data>/checkpoint`) and refuses to start on a store
 * that does not extend it.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/core/checkpoint.js';
import { loadConfig } from '../../src/config.js';
import { startService } from '../../src/server.js';
import { newSecret } from './helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function config(data: string) {
  return loadConfig({ GUZHENG_DATA: data, PORT: '0', GUZHENG_CHECKPOINT_INTERVAL_MS: '10', GUZHENG_ADMIN_KEY: newSecret(), GUZHENG_ORIGIN: 'rollback.test/log' });
}

async function anchor(url: string, admin: string, n: number): Promise<void> {
  const entries = Array.from({ length: n }, (_, i) => ({ type: 'record', record: { i, t: Math.random() } }));
  const res = await fetch(`${url}/v1/entries/batch?wait=receipt`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ entries }) });
  expect(res.status).toBe(201);
}

describe('a deleted, replaced or rolled-back store', () => {
  it('is refused at start, naming the checkpoint it fails to extend; the untouched store starts', async () => {
    const base = mkdtempSync(join(tmpdir(), 'guzheng-rollback-'));
    dirs.push(base);
    const data = join(base, 'data');
    const c = config(data);
    const admin = c.adminKey as string;
    let svc = await startService(c, () => {});
    await anchor(svc.url, admin, 5);
    await svc.close();
    // A backup of the ledger at 5 entries.
    const backup = join(base, 'ledger-at-5');
    cpSync(join(data, 'ledger'), backup, { recursive: true });
    svc = await startService(c, () => {});
    const key = svc.ledger.verifierKey;
    await anchor(svc.url, admin, 7);
    await svc.close();
    expect(existsSync(join(data, 'checkpoint'))).toBe(true);
    const kept = openCheckpoint(readFileSync(join(data, 'checkpoint'), 'utf8'), key).checkpoint;
    expect(kept.size).toBe(12n);

    // Restored from the older backup: refused.
    const current = join(base, 'ledger-at-12');
    cpSync(join(data, 'ledger'), current, { recursive: true });
    rmSync(join(data, 'ledger'), { recursive: true });
    cpSync(backup, join(data, 'ledger'), { recursive: true });
    await expect(startService(c, () => {})).rejects.toThrow(/already signed a checkpoint of 12 entries .*checkpoint\) but the stored blocks end at a checkpoint of 5 entries: the database was deleted, replaced or restored from an older backup/);

    // Deleted: refused (it would otherwise start a new log of size 0 under the same key).
    rmSync(join(data, 'ledger'), { recursive: true });
    await expect(startService(c, () => {})).rejects.toThrow(/already signed a checkpoint of 12 entries .* but storage holds no signed checkpoint at all/);

    // Replaced by another history of the same length under the same key: refused.
    rmSync(join(data, 'ledger'), { recursive: true, force: true });
    const other = join(base, 'other');
    const o = { ...config(other), adminKey: admin };
    mkdirSync(other, { mode: 0o700 });
    cpSync(join(data, 'log-key'), join(other, 'log-key'));
    const forked = await startService(o, () => {});
    await anchor(forked.url, admin, 12);
    await forked.close();
    cpSync(join(other, 'ledger'), join(data, 'ledger'), { recursive: true });
    await expect(startService(c, () => {})).rejects.toThrow(/the stored tree at size 12 has another root|already signed a checkpoint of 12 entries/);

    // The real one starts, and goes on.
    rmSync(join(data, 'ledger'), { recursive: true });
    cpSync(current, join(data, 'ledger'), { recursive: true });
    svc = await startService(c, () => {});
    await anchor(svc.url, admin, 1);
    expect(svc.ledger.checkpointSize).toBe(13n);
    await svc.close();
    expect(openCheckpoint(readFileSync(join(data, 'checkpoint'), 'utf8'), key).checkpoint.size).toBe(13n);
  }, 60_000);
});
