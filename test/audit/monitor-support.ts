/**
 * Support for the monitor tests: ledgers served by the audit test server (helpers.ts), the
 * format-1 log of test/fixtures/wave1-log, and hostile proxies built as a `fetch` that the monitor
 * is given (MonitorOptions.fetch): they pass requests to the real server and rewrite the answers.
 */
import { cpSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { blockHash, parseBlock, type BlockJson } from '../../src/core/block.js';
import { toHex } from '../../src/core/bytes.js';
import type { MonitorAlarm, MonitorProblem } from '../../src/audit/monitor.js';
import { Ledger } from '../../src/log/ledger.js';
import { MemoryStore } from '../../src/storage/memory.js';
import { openUpgrading } from '../../src/storage/migrate.js';
import { CLOCK, KEYS, appendEntries, openLedger, serveLedger, tempDir, type TestServer } from './helpers.js';

/** Things to close after each test, newest first. */
export const opened: Array<{ close(): Promise<void> }> = [];

export async function closeAll(): Promise<void> {
  for (const x of opened.splice(0).reverse()) await x.close();
}

/** A ledger in memory with `size` entries, one block per `batch` entries. */
export async function ledger(size: number, o: { batch?: number; variant?: (i: number) => string } = {}): Promise<Ledger> {
  const l = await Ledger.open({ store: new MemoryStore(), signerKey: KEYS.signerKey, checkpointIntervalMs: 3_600_000, clock: CLOCK });
  if (size > 0) await appendEntries(l, size, { batch: o.batch ?? 50, ...(o.variant ? { variant: o.variant } : {}) });
  opened.push(l);
  return l;
}

export async function serve(l: Ledger): Promise<TestServer> {
  const s = await serveLedger(l);
  opened.push(s);
  return s;
}

export function monitorOptions(server: TestServer, dir = tempDir()) {
  return { url: server.url, verifierKey: KEYS.verifierKey, stateFile: join(dir, 'monitor.json'), attempts: 1 };
}

/** The log of test/fixtures/wave1-log: 8 entries in format-1 blocks 0–5, opened (not yet upgraded) from a copy. */
export const WAVE1 = join(import.meta.dirname, '..', 'fixtures', 'wave1-log', 'data');
export const WAVE1_KEY = 'guzheng.test/wave1+96d1dd6f+AREuOeD+YLMsKf7IQew6fAB7Sx2kJB+ion/PlFKRNjOx';

export async function wave1Ledger(): Promise<Ledger> {
  const dir = join(tempDir(), 'ledger');
  cpSync(join(WAVE1, 'ledger'), dir, { recursive: true });
  // The fixture is in storage layout 1: upgraded as the service upgrades it at start.
  await (await openUpgrading(dir, {}, () => {})).close();
  const l = await openLedger(dir, readFileSync(join(WAVE1, 'log-key'), 'utf8').trim());
  opened.push(l);
  return l;
}

/** A block as /v1/blocks serves it. */
export type ServedBlock = BlockJson & { hash: string; timestamps?: unknown };
export interface ServedPage {
  blocks: ServedBlock[];
  next?: string;
}

/**
 * intercept returns a fetch that hands every request to `handler` with a way to pass it on to the
 * real server (through `base`): a proxy between the monitor and the log (or a witness).
 */
export function intercept(handler: (url: URL, pass: () => Promise<Response>) => Promise<Response>, base: typeof fetch = fetch): typeof fetch {
  const f = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    return handler(url, () => base(input, init));
  };
  return f as typeof fetch;
}

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/** rewriteBlocks passes everything through, but every /v1/blocks page goes through `rewrite`. */
export function rewriteBlocks(rewrite: (page: ServedPage, url: URL) => ServedPage | void, onBlocks?: (url: URL) => void): typeof fetch {
  return intercept(async (url, pass) => {
    const res = await pass();
    if (url.pathname !== '/v1/blocks' || res.status !== 200) return res;
    onBlocks?.(url);
    const page = (await res.json()) as ServedPage;
    return jsonResponse(rewrite(page, url) ?? page);
  });
}

/** rehash recomputes the `hash` member of a served block, as a careful forger would. */
export function rehash(b: ServedBlock): void {
  const { hash: _hash, timestamps: _timestamps, ...json } = b;
  b.hash = toHex(blockHash(parseBlock(json)));
}

export const aYearLater = (t: string): string => new Date(Date.parse(t) + 365 * 86_400_000).toISOString();

/** The problems of an alarm, or fails the test with what was thrown instead. */
export function problemsOf(err: unknown): readonly MonitorProblem[] {
  if (!(err instanceof Error) || err.name !== 'MonitorAlarm') throw new Error(`want a MonitorAlarm, got ${err instanceof Error ? `${err.name}: ${err.message}` : JSON.stringify(err)}`);
  return (err as MonitorAlarm).problems;
}

/** proxyServer serves `target` over HTTP through `fetcher` (for the CLI, which takes a URL, not a fetch). */
export async function proxyServer(target: string, fetcher: typeof fetch): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const upstream = await fetcher(`${target}${req.url ?? '/'}`);
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' });
        res.end(Buffer.from(await upstream.arrayBuffer()));
      } catch {
        res.writeHead(502).end();
      }
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const p = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
  opened.push(p);
  return p;
}
