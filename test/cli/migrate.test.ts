/**
 * `guzheng migrate` (src/cli/migrate.ts) through the CLI's entry point on copies of a layout-1
 * data directory (test/support/layout1-store.ts): progress and the kept old store on stderr, the
 * store whole afterwards, "already layout 2" with exit 0, a store in use refused with exit 1.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/main.js';
import { writeLayout1Store } from '../support/layout1-store.js';
import { expectMigrated } from '../storage/migrate-compare.js';

const tmp = mkdtempSync(join(tmpdir(), 'guzheng-cli-migrate-'));
const SOURCE = join(tmp, 'source');
let n = 0;

/** A data directory holding a copy of the layout-1 source as its `ledger`. */
function dataDir(): string {
  const data = join(tmp, `data-${n++}`);
  cpSync(SOURCE, join(data, 'ledger'), { recursive: true });
  return data;
}

async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk);
    return true;
  });
  try {
    return { code: await run(args), stderr };
  } finally {
    spy.mockRestore();
  }
}

beforeAll(async () => {
  await writeLayout1Store(SOURCE, { entries: 1200, maxFlush: 200 });
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('guzheng migrate', () => {
  it('upgrades a data directory, says where the old store is kept, then says there is nothing to do', async () => {
    const data = dataDir();
    const first = await cli(['migrate', '--data', data]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/migrate: entries 1,200 \/ 1,200 \(100 %\), [\d,]+ entries\/s/);
    expect(first.stderr).toContain(`the layout-1 store is kept as ${join(data, 'ledger')}.layout1; delete it once you are satisfied`);
    await expectMigrated(SOURCE, join(data, 'ledger'));
    const again = await cli(['migrate', '--data', data]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('already holds storage layout 2; nothing to do');
  }, 60_000);

  it('takes the store directory itself with --data-dir, as the layout error suggests', async () => {
    const ledger = join(dataDir(), 'ledger');
    const r = await cli(['migrate', '--data-dir', ledger]);
    expect(r.code, r.stderr).toBe(0);
    await expectMigrated(SOURCE, ledger);
  }, 60_000);

  it('refuses a store in use, and a directory without a store', async () => {
    const data = dataDir();
    const db = new Level<Uint8Array, Uint8Array>(join(data, 'ledger'), { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    try {
      const r = await cli(['migrate', '--data', data]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/in use by another Guzheng process.*Stop "guzheng serve"/);
    } finally {
      await db.close();
    }
    const none = await cli(['migrate', '--data', join(tmp, 'nothing-here')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no store in');
  }, 60_000);
});
