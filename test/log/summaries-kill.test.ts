/**
 * The summaries after a real crash: `guzheng serve` (a child process) is killed with SIGKILL while
 * submissions flow, then started again. Once the summaries have caught up, the case list and the
 * statistics agree exactly with what the log holds (read back entry by entry): nothing counted
 * twice, nothing skipped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bearer, newSecret, spawnServer, type ChildServer } from '../reliability/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'guzheng-summaries-kill-'));
const data = join(dir, 'data');
const admin = newSecret();
const env = { GUZHENG_ADMIN_KEY: admin, GUZHENG_CHECKPOINT_INTERVAL_MS: '20' };
let running: ChildServer | undefined;

afterAll(async () => {
  await running?.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function get<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: bearer(admin) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

describe('summaries after SIGKILL', () => {
  it('catch up to exactly what the log holds', async () => {
    running = await spawnServer(data, env);
    const url = running.url;
    let stop = false;
    let batches = 0;
    const submit = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const entries = Array.from({ length: 40 }, (_, j) => ({ type: 'record', record: { w, i, j }, ...((i + j) % 3 === 0 ? {} : { meta: { caseId: `K-${(w * 7 + i + j) % 11}` } }) }));
        try {
          const res = await fetch(`${url}/v1/entries/batch`, { method: 'POST', headers: { ...bearer(admin), 'content-type': 'application/json' }, body: JSON.stringify({ entries }) });
          if (res.status === 201) batches++;
          await res.arrayBuffer();
        } catch {
          return; // killed
        }
      }
    };
    const workers = [0, 1, 2].map(submit);
    // Past a few summary writes (one a second), then killed at some point between two.
    await new Promise((r) => setTimeout(r, 2600));
    await running.kill();
    stop = true;
    await Promise.all(workers);
    expect(batches).toBeGreaterThan(10);

    running = await spawnServer(data, env);
    const again = running.url;
    await expect
      .poll(
        async () => {
          const h = await get<{ summaries: { state: string; blocks: { behind: string }; entries: { behind: string } } }>(`${again}/v1/admin/health`);
          return h.summaries.state === 'current' && h.summaries.blocks.behind === '0' && h.summaries.entries.behind === '0';
        },
        { timeout: 20_000, interval: 100 },
      )
      .toBe(true);
    // What the log holds, entry by entry.
    const size = BigInt((await get<{ size: string }>(`${again}/healthz`)).size);
    const truth = new Map<string, { entries: number; firstIndex: string; lastIndex: string }>();
    for (let start = 0n; start < size; start += 1000n) {
      const page = await get<{ entries: Array<{ index: string; entry: { meta: { caseId?: string } } }> }>(`${again}/v1/entries?start=${start}&limit=1000`);
      for (const e of page.entries) {
        const c = e.entry.meta.caseId;
        if (c === undefined) continue;
        const t = truth.get(c);
        if (t === undefined) truth.set(c, { entries: 1, firstIndex: e.index, lastIndex: e.index });
        else {
          t.entries++;
          t.lastIndex = e.index;
        }
      }
    }
    const listed = await get<{ cases: Array<{ caseId: string; entries: number; firstIndex: string; lastIndex: string }>; upTo: string }>(`${again}/v1/cases?limit=1000`);
    expect(BigInt(listed.upTo)).toBe(size);
    expect(new Map(listed.cases.map((c) => [c.caseId, { entries: c.entries, firstIndex: c.firstIndex, lastIndex: c.lastIndex }]))).toEqual(truth);
    // Most recently touched first.
    const last = listed.cases.map((c) => BigInt(c.lastIndex));
    expect(last).toEqual([...last].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));

    const log = await get<{ height: string }>(`${again}/v1/log`);
    const stats = await get<{ buckets: Array<{ entries: number; blocks: number }>; upTo: string }>(`${again}/v1/stats/entries?by=day`);
    const sealed = stats.buckets.reduce((a, b) => a + b.entries, 0);
    const blocks = stats.buckets.reduce((a, b) => a + b.blocks, 0);
    // The stats cover the blocks below upTo: every one of them, each once.
    expect(BigInt(stats.upTo)).toBeLessThanOrEqual(BigInt(log.height) + 1n);
    expect(blocks).toBe(Number(stats.upTo));
    const covered = await get<{ blocks: Array<{ first: string; count: string }> }>(`${again}/v1/blocks?from=${BigInt(stats.upTo) - 1n}&limit=1`);
    const b = covered.blocks[0] as { first: string; count: string };
    expect(sealed).toBe(Number(BigInt(b.first) + BigInt(b.count)));
    expect(await running.stop()).toBe(0);
    running = undefined;
  }, 60_000);
});
