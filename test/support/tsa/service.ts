/**
 * The real Guzheng service (src/server.ts: LevelDB, publisher, stamper, HTTP) with a real test TSA
 * (./server.ts), for tests that need receipts and blocks carrying RFC 3161 tokens: start it,
 * anchor documents, and wait until the log has stamped them. Waits poll and give up after a
 * deadline; they assert nothing about how long stamping took.
 */
import { join } from 'node:path';
import { loadConfig, type ServiceConfig } from '../../../src/config.js';
import type { SuiteId } from '../../../src/core/suite.js';
import { startService, type RunningService } from '../../../src/server.js';
import { startTsa, type TestTsa } from './server.js';

/** A running service with its TSA. */
export interface StampingService {
  readonly service: RunningService;
  readonly tsa: TestTsa;
  /** The data directory (LevelDB in `<dataDir>/ledger`). */
  readonly dataDir: string;
  readonly url: string;
  /** The admin API key (every role). */
  readonly admin: string;
  /** fetch a path of the service with the admin key. */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** Stop the service, then the TSA (unless it was given). */
  close(): Promise<void>;
}

/**
 * startStampingService starts a new log in `<dir>/data` that stamps through `tsa` (a new one if not
 * given); `profile` is the new log's crypto suite (GUZHENG_PROFILE; default c2sp, `gm` for SM3/SM2).
 */
export async function startStampingService(o: { dir: string; origin: string; tsa?: TestTsa; profile?: SuiteId }): Promise<StampingService> {
  const tsa = o.tsa ?? (await startTsa());
  const admin = `gzk_${'T'.repeat(43)}`;
  const dataDir = join(o.dir, 'data');
  const config: ServiceConfig = {
    ...loadConfig({}),
    dataDir,
    port: 0,
    origin: o.origin,
    adminKey: admin,
    hj212Port: undefined,
    hj212Host: '127.0.0.1',
    hj212LegacyCrc: new Map(),
    checkpointIntervalMs: 20,
    receiptIntervalMs: 10,
    tsaUrls: [tsa.url],
    tsaCaFile: tsa.rootPemPath,
    tsaIntervalMs: 100,
    tsaTimeoutMs: 10_000,
    ...(o.profile !== undefined ? { profile: o.profile } : {}),
  };
  const service = await startService(config, () => {});
  const api = (path: string, init: RequestInit = {}) => fetch(`${service.url}${path}`, { ...init, headers: { authorization: `Bearer ${admin}`, ...(init.headers as Record<string, string> | undefined) } });
  return {
    service,
    tsa,
    dataDir,
    url: service.url,
    admin,
    api,
    async close() {
      await service.close();
      if (o.tsa === undefined) await tsa.close();
    },
  };
}

/** anchorDocument anchors `bytes` as a document of `caseId` and returns its index. */
export async function anchorDocument(s: StampingService, name: string, bytes: Uint8Array, caseId = '衡环罚〔2026〕TS号'): Promise<bigint> {
  const q = new URLSearchParams({ name, mediaType: 'application/pdf', caseId, wait: 'receipt' });
  const res = await s.api(`/v1/documents?${q}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST /v1/documents: ${res.status} ${text}`);
  return BigInt((JSON.parse(text) as { index: string }).index);
}

/** A receipt as the service serves it, with the members the tests read. */
export interface StampedReceipt {
  readonly index: string;
  readonly checkpoint: string;
  readonly block: { readonly height: string };
  readonly timestamp: { readonly checkpoint: string; readonly consistency: string[]; readonly tokens: string[] };
  readonly [member: string]: unknown;
}

async function until(what: string, f: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await f()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** stampedReceipt waits until the receipt of `index` carries a time stamp and returns it. */
export async function stampedReceipt(s: StampingService, index: bigint, ms = 60_000): Promise<StampedReceipt> {
  let receipt: StampedReceipt | undefined;
  await until(`a time stamp covering entry ${index}`, async () => {
    const r = (await (await s.api(`/v1/receipts/${index}`)).json()) as StampedReceipt | { timestamp: null };
    if (r.timestamp === null) return false;
    receipt = r as StampedReceipt;
    return true;
  }, ms);
  return receipt as StampedReceipt;
}

/** caughtUp waits until the stamper has stamped the latest block and is healthy. */
export async function caughtUp(s: StampingService, ms = 60_000): Promise<void> {
  await until('time stamping to catch up', async () => {
    const h = (await (await s.api('/healthz')).json()) as { tsa: string; tsaDetail?: { unstampedBlocks?: number } };
    return h.tsa === 'ok' && h.tsaDetail?.unstampedBlocks === 0;
  }, ms);
}
