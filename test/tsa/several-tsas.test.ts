/**
 * The stamper with several TSAs and with failures that are not the TSA's (src/tsa/stamper.ts,
 * docs/operations.md#time-stamping): the real Stamper over a real Ledger and StampBook, asking
 * real TSAs (`openssl ts -reply` behind the loopback shims of test/support/tsa).
 *
 * - GUZHENG_TSA_URL is a list tried in order, "first valid token wins": a first TSA that is down,
 *   answers garbage or signs under an unpinned root is passed over and the second one's token is
 *   kept; a working first TSA means the second is never asked.
 * - A failing TSA is retried with exponential backoff (1 s, 2 s, 4 s, …), however often the log
 *   says it has a new block: the request times the TSA saw are spaced at least that far apart, and
 *   no request comes early within a known window.
 * - A storage failure while keeping a good token is counted with outcome `error`, not `invalid`,
 *   in the stamper, in /metrics and in /healthz, and the next TSA is not asked for a token the
 *   log could not keep either.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../src/core/bytes.js';
import { stampImprint } from '../../src/core/stamp.js';
import { loadConfig } from '../../src/config.js';
import type { TsaView } from '../../src/http/context.js';
import { Ledger } from '../../src/log/ledger.js';
import { StampBook } from '../../src/log/stamps.js';
import { MemoryStore } from '../../src/storage/memory.js';
import type { LedgerStore } from '../../src/storage/store.js';
import { startService } from '../../src/server.js';
import { Stamper, type TsaOutcome } from '../../src/tsa/stamper.js';
import { verifyReceipt } from '../../src/verifier/index.js';
import { TEST_LOG, startServer } from '../http/helpers.js';
import { opensslOk } from '../support/tsa/openssl.js';
import { startTsa, type TestTsa, type TsaMode } from '../support/tsa/server.js';

let first: TestTsa;
let second: TestTsa;
let roots: Uint8Array[];
const work = mkdtempSync(join(tmpdir(), 'guzheng-several-tsas-'));

beforeAll(async () => {
  [first, second] = await Promise.all([startTsa(), startTsa()]);
  roots = [first.rootDer];
}, 60_000);

afterAll(async () => {
  await Promise.all([first?.close(), second?.close()]);
  rmSync(work, { recursive: true, force: true });
});

/** until polls `f` until it holds (a wait, not an assertion on how long it took). */
async function until(what: string, f: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A log with its genesis block published and nothing else (checkpoints only when asked). */
async function openLog(): Promise<Ledger> {
  return Ledger.open({ store: new MemoryStore(), signerKey: TEST_LOG.signerKey, checkpointIntervalMs: 3_600_000 });
}

/** The stamper's request counts as `url → outcome → n`, for exact comparison. */
function counts(s: Stamper): Record<string, Partial<Record<TsaOutcome, number>>> {
  return Object.fromEntries([...s.requests].map(([url, byOutcome]) => [url, Object.fromEntries(byOutcome)]));
}

/** openssl's own verdict on a kept token: it stamps exactly this checkpoint and chains to the root. */
async function opensslVerifies(token: Uint8Array, checkpoint: string): Promise<void> {
  const file = join(work, `token-${Math.random().toString(36).slice(2)}.der`);
  writeFileSync(file, token);
  const r = await opensslOk(['ts', '-verify', '-in', file, '-token_in', '-digest', toHex(stampImprint(checkpoint)), '-CAfile', first.rootPemPath]);
  expect(r.stdout).toMatch(/Verification: OK/);
}

describe('several TSAs: the list is tried in order and the first valid token wins', () => {
  const broken: Array<[TsaMode, TsaOutcome]> = [
    ['down', 'unavailable'],
    ['http-error', 'unavailable'],
    ['garbage', 'invalid'],
    ['wrong-nonce', 'invalid'],
    ['untrusted', 'untrusted'],
  ];

  it.each(broken)('first TSA %s, second works: the second TSA’s token is kept (first counted %s)', async (mode, outcome) => {
    first.setMode(mode);
    second.setMode('ok');
    const ledger = await openLog();
    const asked = [first.requests, second.requests];
    const stamper = new Stamper({ urls: [first.url, second.url], roots, intervalMs: 60_000, book: ledger.stamps, latest: () => ledger.publisher.latest });
    try {
      stamper.start();
      await until('a kept token', () => ledger.stamps.lastStamped !== undefined);
      const genesis = ledger.latest().block;
      expect(ledger.stamps.lastStamped).toBe(genesis.height);
      const kept = await ledger.stamps.tokensIn(0n, 10);
      expect([...kept.keys()]).toEqual([genesis.height]);
      expect(kept.get(genesis.height)?.tsa).toBe(second.url);
      await opensslVerifies(kept.get(genesis.height)!.token, genesis.checkpoint);
      // Each TSA was asked exactly once: the first failed, the second answered, nothing more.
      expect([first.requests - asked[0]!, second.requests - asked[1]!]).toEqual([1, 1]);
      expect(counts(stamper)).toEqual({ [first.url]: { [outcome]: 1 }, [second.url]: { ok: 1 } });
      // A fallback that worked is a success: the stamper is not degraded.
      expect(stamper.status()).toMatchObject({ state: 'ok', consecutiveFailures: 0, lastStampedHeight: genesis.height.toString(), unstampedBlocks: 0 });
    } finally {
      await stamper.stop();
      await ledger.close();
      first.setMode('ok');
    }
  }, 60_000);

  it('a working first TSA is the only one asked: the others are fallbacks, not extra stamps', async () => {
    first.setMode('ok');
    second.setMode('ok');
    const ledger = await openLog();
    const asked = [first.requests, second.requests];
    const stamper = new Stamper({ urls: [first.url, second.url], roots, intervalMs: 60_000, book: ledger.stamps, latest: () => ledger.publisher.latest });
    try {
      stamper.start();
      await until('a kept token', () => ledger.stamps.lastStamped !== undefined);
      expect((await ledger.stamps.tokensIn(0n, 10)).get(0n)?.tsa).toBe(first.url);
      expect([first.requests - asked[0]!, second.requests - asked[1]!]).toEqual([1, 0]);
      expect(counts(stamper)).toEqual({ [first.url]: { ok: 1 } });
    } finally {
      await stamper.stop();
      await ledger.close();
    }
  }, 60_000);

  it('when every TSA fails nothing is kept, the stamper is degraded and names each failure', async () => {
    first.setMode('down');
    second.setMode('garbage');
    const ledger = await openLog();
    const stamper = new Stamper({ urls: [first.url, second.url], roots, intervalMs: 60_000, book: ledger.stamps, latest: () => ledger.publisher.latest });
    try {
      stamper.start();
      await until('a failed attempt', () => stamper.status().consecutiveFailures >= 1);
      await stamper.stop();
      expect(ledger.stamps.lastStamped).toBeUndefined();
      expect(await ledger.stamps.tokensIn(0n, 10)).toEqual(new Map());
      const status = stamper.status();
      expect(status).toMatchObject({ state: 'degraded', consecutiveFailures: 1, unstampedBlocks: 1 });
      expect(status.lastError).toContain(`${first.url}: TSA ${first.url} is unreachable`);
      expect(status.lastError).toContain(`${second.url}: `);
      expect(counts(stamper)).toEqual({ [first.url]: { unavailable: 1 }, [second.url]: { invalid: 1 } });
    } finally {
      await stamper.stop();
      await ledger.close();
      first.setMode('ok');
      second.setMode('ok');
    }
  }, 60_000);
});

describe('the service with GUZHENG_TSA_URL listing two TSAs', () => {
  it('keeps the second TSA’s token while the first is down, serves it with the block, and receipts verify', async () => {
    first.setMode('down');
    second.setMode('ok');
    const data = join(work, 'service');
    const admin = `gzk_${'S'.repeat(43)}`;
    // The comma-separated list, read as the operator writes it (docs/operations.md#time-stamping).
    const config = loadConfig({ GUZHENG_DATA: data, PORT: '0', GUZHENG_ORIGIN: 'guzheng.test/two-tsas', GUZHENG_TSA_URL: `${first.url},${second.url}`, GUZHENG_TSA_CA: first.rootPemPath, GUZHENG_TSA_INTERVAL_MS: '100' });
    expect(config.tsaUrls).toEqual([first.url, second.url]);
    const service = await startService({ ...config, adminKey: admin, hj212Port: undefined, checkpointIntervalMs: 20, receiptIntervalMs: 10 }, () => {});
    const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
      const res = await fetch(`${service.url}${path}`, { ...init, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' } });
      expect(res.status, path).toBeLessThan(300);
      return (await res.json()) as T;
    };
    try {
      const { index } = await api<{ index: string }>('/v1/entries?wait=receipt', { method: 'POST', body: JSON.stringify({ type: 'record', record: { n: 1 } }) });
      let receipt: { timestamp: unknown } = { timestamp: null };
      await until('a stamped receipt', async () => (receipt = await api<{ timestamp: unknown }>(`/v1/receipts/${index}`)).timestamp !== null);
      const { blocks } = await api<{ blocks: Array<{ height: string; timestamps?: Array<{ tsa: string }> }> }>('/v1/blocks?from=0&limit=100');
      const kept = blocks.filter((b) => b.timestamps !== undefined);
      expect(kept.length).toBeGreaterThan(0);
      for (const b of kept) expect(b.timestamps?.map((t) => t.tsa), `block ${b.height}`).toEqual([second.url]);
      const report = await verifyReceipt(receipt, { trustedKeys: [service.ledger.verifierKey], trustedTsaRoots: roots });
      expect([report.valid, report.checks.find((c) => c.id === 'timestamp')?.status]).toEqual([true, 'pass']);
      // The fallback worked: stamping is healthy although the first TSA is down, and the metric says which failed.
      const health = await api<{ tsa: string }>('/healthz');
      expect(health.tsa).toBe('ok');
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`guzheng_tsa_requests_total\\{tsa="${first.url}",outcome="unavailable"\\} [1-9]`));
      expect(metrics).toMatch(new RegExp(`guzheng_tsa_requests_total\\{tsa="${second.url}",outcome="ok"\\} [1-9]`));
    } finally {
      await service.close();
      first.setMode('ok');
    }
  }, 60_000);
});

describe('retries back off', () => {
  it('a TSA that stays down is asked again after 1 s, then 2 s, then 4 s, however busy the log is', async () => {
    first.setMode('down');
    const ledger = await openLog();
    const before = first.requestTimes.length;
    const stamper = new Stamper({ urls: [first.url], roots, intervalMs: 10, book: ledger.stamps, latest: () => ledger.publisher.latest });
    // A busy log: the publisher would notify the stamper after every block, many times a second.
    const busy = setInterval(() => stamper.notify(), 10);
    try {
      stamper.start();
      await until('three attempts', () => first.requestTimes.length - before >= 3, 30_000);
      const third = first.requestTimes.length;
      // The window: the next attempt is due 4 s after the third failed. For 2.5 s of notifications
      // after the third request arrived, not one more request may come.
      await sleep(2500);
      const times = first.requestTimes.slice(before);
      expect(first.requestTimes.length, `requests at +${times.map((t) => t - times[0]!).join(', +')} ms`).toBe(third);
      expect(times).toHaveLength(3);
      // Spacing: each failure doubles the wait before the next request (never shorter: a slow
      // machine only widens it). 10 ms of slack for timer rounding.
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1000 - 10);
      expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(2000 - 10);
      expect(stamper.status()).toMatchObject({ state: 'degraded', consecutiveFailures: 3 });
      expect(counts(stamper)).toEqual({ [first.url]: { unavailable: 3 } });
    } finally {
      clearInterval(busy);
      await stamper.stop();
      await ledger.close();
      first.setMode('ok');
    }
  }, 60_000);

  it('the backoff is capped by maxBackoffMs, and a TSA that comes back is used again', async () => {
    first.setMode('down');
    const ledger = await openLog();
    const before = first.requestTimes.length;
    const stamper = new Stamper({ urls: [first.url], roots, intervalMs: 10, maxBackoffMs: 300, book: ledger.stamps, latest: () => ledger.publisher.latest });
    try {
      stamper.start();
      await until('four attempts', () => first.requestTimes.length - before >= 4, 30_000);
      const times = first.requestTimes.slice(before, before + 4);
      // 1 s would be the first backoff: capped at 300 ms, so four attempts come sooner than that
      // allows; each still waits the cap.
      for (let i = 1; i < 4; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(300 - 10);
      first.setMode('ok');
      await until('the token after recovery', () => ledger.stamps.lastStamped !== undefined);
      expect(stamper.status()).toMatchObject({ state: 'ok', consecutiveFailures: 0 });
      expect(counts(stamper)[first.url]?.ok).toBe(1);
      expect(counts(stamper)[first.url]?.unavailable).toBeGreaterThanOrEqual(4);
    } finally {
      await stamper.stop();
      await ledger.close();
      first.setMode('ok');
    }
  }, 60_000);
});

/**
 * failingEvidence wraps a store so that writing block evidence fails while `failing.on` is set,
 * as a full disk or an I/O error would; everything else goes through to the real store.
 */
function failingEvidence(inner: LedgerStore, failing: { on: boolean }): LedgerStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'putEvidence' && failing.on) {
        return async () => {
          throw Object.assign(new Error('IO error: /data/ledger/000042.log: No space left on device'), { code: 'LEVEL_IO_ERROR' });
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe('a storage failure while keeping a good token', () => {
  it('is counted as outcome error (not invalid) in the stamper, /metrics and /healthz; the next TSA is not asked; it recovers', async () => {
    first.setMode('ok');
    second.setMode('ok');
    let stamper: Stamper | undefined;
    // What the HTTP app sees of the stamper, as src/server.ts builds it (the stamper comes next).
    const view: TsaView = {
      roots,
      status: () => stamper?.status() ?? { state: 'off' },
      requests: () => [...(stamper?.requests ?? [])].flatMap(([tsa, byOutcome]) => [...byOutcome].map(([outcome, count]) => ({ tsa, outcome, count }))),
    };
    const s = await startServer({ deps: { tsa: view } });
    const failing = { on: true };
    const book = new StampBook(failingEvidence(s.store, failing));
    await book.load();
    const events: string[] = [];
    stamper = new Stamper({ urls: [first.url, second.url], roots, intervalMs: 60_000, book, latest: () => s.ledger.publisher.latest, onEvent: (l) => events.push(l) });
    const asked = [first.requests, second.requests];
    try {
      stamper.start();
      await until('a failed attempt', () => stamper!.status().consecutiveFailures >= 1);
      expect(counts(stamper)).toEqual({ [first.url]: { error: 1 } });
      // The good token could not be kept: asking the second TSA would only bill a stamp that cannot be kept either.
      expect([first.requests - asked[0]!, second.requests - asked[1]!]).toEqual([1, 0]);
      expect(book.lastStamped).toBeUndefined();
      const why = /could not keep the token of block \d+ from http:\S+ \(storage error, not the TSA's\): IO error: .*No space left on device/;
      expect(stamper.status()).toMatchObject({ state: 'degraded', consecutiveFailures: 1, lastError: expect.stringMatching(why) });
      expect(events.some((e) => e.startsWith('tsa: ') && why.test(e))).toBe(true);
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      expect(metrics).toContain(`guzheng_tsa_requests_total{tsa="${first.url}",outcome="error"} 1`);
      expect(metrics).not.toMatch(/outcome="invalid"/);
      expect(metrics).toMatch(/guzheng_tsa_up 0/);
      const health = (await (await fetch(`${s.url}/healthz`)).json()) as { status: string; tsa: string; tsaDetail?: { lastError?: string } };
      expect(health).toMatchObject({ status: 'ok', tsa: 'degraded' });
      expect(health.tsaDetail?.lastError).toMatch(why);
      // The disk is fixed: the retry (after the 1 s backoff) keeps the first TSA's token.
      failing.on = false;
      await until('the token kept after the store recovered', () => book.lastStamped !== undefined);
      expect(counts(stamper)).toEqual({ [first.url]: { error: 1, ok: 1 } });
      expect((await book.tokensIn(0n, 10)).get(book.lastStamped!)?.tsa).toBe(first.url);
      expect(stamper.status()).toMatchObject({ state: 'ok', consecutiveFailures: 0 });
    } finally {
      await stamper.stop();
      await s.destroy();
    }
  }, 60_000);
});
