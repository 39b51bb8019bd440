/**
 * The mirror wired into the service (issue 15, items 1–2; docs/scaling.md): a real `startService`
 * with GUZHENG_MIRROR pointing at a real Ceph RADOS Gateway (scripts/ceph-rgw.sh, one cluster for
 * this file). The bucket converges to the log (its checkpoint is the service's /checkpoint, every
 * tile and entry bundle equals the service's /tile answer); /healthz and /metrics report the
 * mirror ok, failing while radosgw is killed (anchoring goes on: 201s), and ok again once it is
 * back; wrong credentials: the service starts and anchors, the mirror fails with a clear error;
 * strict mode: ?wait=receipt answers with a receipt only once the bucket holds the entry, and
 * while the store is down answers 201 without one after receiptWaitMs (GET /v1/receipts/{i}: 503);
 * with a witness, the bucket's checkpoint carries the cosignature once the quorum is met.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { equalBytes, fromBase64, fromUtf8 } from '../../src/core/bytes.js';
import { decodeEntryBundle, formatTilePath, listTiles, parseTilePath } from '../../src/core/tiles.js';
import { loadConfig, type ServiceConfig } from '../../src/config.js';
import { formatVerifierKey } from '../../src/core/note.js';
import { loadOrCreateLogKey } from '../../src/setup.js';
import { buildWitnessedLogs } from '../../src/witness/config.js';
import { initWitness } from '../../src/witness/keyfile.js';
import { startWitness } from '../../src/witness/server.js';
import type { healthSchema } from '../../src/http/routes/ops.js';
import { S3ObjectStore } from '../../src/mirror/s3.js';
import { startService, type RunningService } from '../../src/server.js';
import { RGW_START_TIMEOUT_MS, startRgw, type Rgw } from '../support/rgw.js';
import type { z } from 'zod';

type Health = z.infer<typeof healthSchema>;

const ADMIN = `gzk_${'M'.repeat(43)}`;
const AUTH = { authorization: `Bearer ${ADMIN}` };
const CASE = '衡环罚〔2026〕15号';
/** The HTTP default of receiptWaitMs (src/http/config.ts): what the service runs with. */
const RECEIPT_WAIT_MS = 10_000;

let rgw: Rgw;
let s3: S3ObjectStore;
let dir: string;
const services: RunningService[] = [];
let digestNo = 0;

/** start runs a service on a fresh data directory with the mirror settings of `env` (plus the gateway's endpoint and keys). */
async function start(name: string, env: Record<string, string>): Promise<{ service: RunningService; said: string[] }> {
  const said: string[] = [];
  const config: ServiceConfig = {
    ...loadConfig({ GUZHENG_MIRROR_ENDPOINT: rgw.endpoint, AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region, ...env }),
    dataDir: join(dir, name),
    port: 0,
    origin: `guzheng.test/mirror-${name}`,
    adminKey: ADMIN,
    checkpointIntervalMs: 20,
    receiptIntervalMs: 10,
  };
  const service = await startService(config, (l) => said.push(l));
  services.push(service);
  return { service, said };
}

function digestEntry(caseId?: string): { type: 'digest'; digest: { alg: 'sha256'; hex: string }; meta: Record<string, string> } {
  const hex = (++digestNo).toString(16).padStart(64, '0');
  return { type: 'digest', digest: { alg: 'sha256', hex }, meta: caseId === undefined ? {} : { caseId } };
}

/** anchorBatch anchors `n` entries in one request; expects 201. */
async function anchorBatch(s: RunningService, n: number): Promise<void> {
  const res = await fetch(`${s.url}/v1/entries/batch`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ entries: Array.from({ length: n }, () => digestEntry()) }) });
  expect(res.status, await res.clone().text()).toBe(201);
}

interface Anchored {
  readonly status: number;
  readonly hex: string;
  readonly index: bigint;
  readonly receipt: unknown;
  readonly ms: number;
}

/** anchorOne anchors one entry of the case with ?wait=receipt, timing the answer. */
async function anchorOne(s: RunningService): Promise<Anchored> {
  const entry = digestEntry(CASE);
  const t0 = performance.now();
  const res = await fetch(`${s.url}/v1/entries?wait=receipt`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify(entry) });
  const ms = performance.now() - t0;
  const body = (await res.json()) as { index: string; receipt?: unknown };
  return { status: res.status, hex: entry.digest.hex, index: BigInt(body.index), receipt: body.receipt, ms };
}

async function health(s: RunningService): Promise<{ status: number; body: Health }> {
  const res = await fetch(`${s.url}/healthz`);
  return { status: res.status, body: (await res.json()) as Health };
}

async function metric(s: RunningService, name: string): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (m === null) throw new Error(`no metric ${name}`);
  return Number(m[1]);
}

/** until polls `f` every 100 ms until it returns true; fails after `ms`, showing `what()`. */
async function until(f: () => Promise<boolean>, ms: number, what: () => Promise<unknown>): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await f())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms: ${JSON.stringify(await what())}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** converged: /healthz says the mirror is ok, with no lag, at the log's checkpoint size. */
async function converged(s: RunningService): Promise<boolean> {
  const { body } = await health(s);
  return body.mirror === 'ok' && body.mirrorDetail?.lagEntries === '0' && body.mirrorDetail.uploadedSize === body.checkpointSize;
}

/**
 * checkBucket: the bucket's checkpoint is the service's /checkpoint; every tile and entry bundle
 * the current size needs is there; every object under tile/ equals the service's /tile answer.
 */
async function checkBucket(s: RunningService, prefix: string): Promise<bigint> {
  const note = await (await fetch(`${s.url}/checkpoint`)).text();
  const size = BigInt(note.split('\n')[1] as string);
  expect(fromUtf8((await s3.get(`${prefix}/checkpoint`)) as Uint8Array)).toBe(note);
  const keys = await s3.list(`${prefix}/tile/`);
  for (const t of listTiles(size)) expect(keys).toContain(`${prefix}/${formatTilePath(t)}`);
  for (const key of keys) {
    const path = key.slice(prefix.length + 1);
    parseTilePath(path);
    const res = await fetch(`${s.url}/${path}`, { headers: AUTH });
    expect(res.status, path).toBe(200);
    const served = new Uint8Array(await res.arrayBuffer());
    const stored = (await s3.get(key)) as Uint8Array;
    if (!equalBytes(stored, served)) expect(stored, path).toEqual(served);
  }
  return size;
}

/** bundleHolds: an entry bundle in the bucket holds entry `index`, with the leaf bytes the service stores. */
async function bundleHolds(s: RunningService, prefix: string, index: bigint): Promise<boolean> {
  const keys = await s3.list(`${prefix}/tile/entries/`);
  for (const key of keys) {
    const t = parseTilePath(key.slice(prefix.length + 1));
    if (t.kind !== 'entries' || index < t.index * 256n || index >= t.index * 256n + BigInt(t.width)) continue;
    const leaves = decodeEntryBundle((await s3.get(key)) as Uint8Array, t.width);
    const stored = (await (await fetch(`${s.url}/v1/entries/${index}`, { headers: AUTH })).json()) as { data: string };
    return equalBytes(leaves[Number(index - t.index * 256n)] as Uint8Array, fromBase64(stored.data));
  }
  return false;
}

function summary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number).toFixed(1);
  return `median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms (n=${ms.length})`;
}

beforeAll(async () => {
  rgw = await startRgw();
  for (const b of ['primary', 'creds', 'strict', 'witnessed']) await rgw.bucket(b);
  s3 = new S3ObjectStore({ bucket: 'primary', endpoint: rgw.endpoint, region: rgw.region, credentials: rgw });
  dir = mkdtempSync(join(tmpdir(), 'guzheng-mirror-serve-'));
}, RGW_START_TIMEOUT_MS);

afterAll(async () => {
  for (const s of services) await s.close();
  s3?.close();
  await rgw?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('guzheng serve with GUZHENG_MIRROR on Ceph RGW', () => {
  let primary: RunningService;
  const wait: number[] = [];

  it('mirrors what it anchors: the bucket converges to the log, /healthz says ok with no lag, /metrics counts the uploads', async () => {
    const { service, said } = await start('primary', { GUZHENG_MIRROR: 's3://primary/hs/guzheng' });
    primary = service;
    expect(said.join('\n')).toMatch(/mirror: +s3:\/\/primary\/hs\/guzheng at http:\/\/127\.0\.0\.1:\d+, write-once/);
    for (const n of [300, 1, 400, 255]) await anchorBatch(primary, n);
    for (let i = 0; i < 10; i++) {
      const a = await anchorOne(primary);
      expect(a.status).toBe(201);
      expect(a.receipt).toBeDefined();
      wait.push(a.ms);
    }
    await until(() => converged(primary), 30_000, () => health(primary));
    const size = await checkBucket(primary, 'hs/guzheng');
    expect(size).toBe(966n);
    const { status, body } = await health(primary);
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'ok', mirror: 'ok', mirrorDetail: { lagEntries: '0', lagSeconds: 0, uploadedSize: '966', failures: 0, strict: false } });
    expect(body.mirrorDetail?.lastError).toBeUndefined();
    const admin = (await (await fetch(`${primary.url}/v1/admin/health`, { headers: AUTH })).json()) as Health;
    expect(admin).toMatchObject({ mirror: 'ok', mirrorDetail: { lagEntries: '0' } });
    expect(await metric(primary, 'guzheng_mirror_up')).toBe(1);
    expect(await metric(primary, 'guzheng_mirror_lag_entries')).toBe(0);
    expect(await metric(primary, 'guzheng_mirror_lag_seconds')).toBe(0);
    expect(await metric(primary, 'guzheng_mirror_uploaded_size')).toBe(966);
    expect(await metric(primary, 'guzheng_mirror_uploads_total')).toBeGreaterThan(10);
    expect(await metric(primary, 'guzheng_mirror_upload_failures_total')).toBe(0);
  }, 60_000);

  it('keeps anchoring while radosgw is killed (failing in /healthz, never 503), and converges once it is back', async () => {
    await rgw.kill();
    const t0 = performance.now();
    const down: number[] = [];
    for (let i = 0; i < 5; i++) {
      const a = await anchorOne(primary);
      expect(a.status).toBe(201);
      expect(a.receipt).toBeDefined(); // not strict: receipts do not wait for the mirror
      down.push(a.ms);
      await anchorBatch(primary, 100);
    }
    await until(async () => (await health(primary)).body.mirror === 'failing', 20_000, () => health(primary));
    const { status, body } = await health(primary);
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.mirrorDetail?.lastError).toMatch(/^S3 (PUT|GET) \S+: cannot reach the store: /);
    expect(BigInt(body.mirrorDetail?.lagEntries ?? '0')).toBeGreaterThan(0n);
    expect(body.mirrorDetail?.failures).toBeGreaterThan(0);
    expect(await metric(primary, 'guzheng_mirror_up')).toBe(0);
    expect(await metric(primary, 'guzheng_mirror_lag_entries')).toBeGreaterThan(0);
    expect(await metric(primary, 'guzheng_mirror_upload_failures_total')).toBeGreaterThan(0);
    console.log(`mirror serve: ?wait=receipt with the mirror up: ${summary(wait)}; with radosgw killed: ${summary(down)}`);
    await rgw.restart();
    const t1 = performance.now();
    await until(() => converged(primary), 90_000, () => health(primary));
    console.log(`mirror serve: radosgw down ${((t1 - t0) / 1000).toFixed(1)} s; converged ${((performance.now() - t1) / 1000).toFixed(1)} s after its restart`);
    expect(await checkBucket(primary, 'hs/guzheng')).toBe(1471n);
    expect((await health(primary)).body.mirrorDetail).toMatchObject({ lagEntries: '0', failures: 0 });
  }, 150_000);

  it('wrong credentials: the service starts and anchors; the mirror fails with a clear error; nothing reaches the bucket', async () => {
    const { service, said } = await start('creds', { GUZHENG_MIRROR: 's3://creds/log', AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
    await anchorBatch(service, 10);
    const a = await anchorOne(service);
    expect(a.status).toBe(201);
    expect(a.receipt).toBeDefined();
    await until(async () => (await health(service)).body.mirror === 'failing', 20_000, () => health(service));
    const { status, body } = await health(service);
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.mirrorDetail?.lastError).toMatch(/SignatureDoesNotMatch \(HTTP 403\): the store refused the credentials \(check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\)/);
    expect(said.some((l) => /^mirror: failing: .*refused the credentials/.test(l))).toBe(true);
    const reader = new S3ObjectStore({ bucket: 'creds', endpoint: rgw.endpoint, region: rgw.region, credentials: rgw });
    expect(await reader.list('')).toEqual([]);
    reader.close();
    await service.close();
    services.splice(services.indexOf(service), 1);
  }, 60_000);

  it('strict mode: a receipt only once the bucket holds the entry; 201 without one (and 503 RECEIPT_PENDING) while the store is down', async () => {
    const { service: strict, said } = await start('strict', { GUZHENG_MIRROR: 's3://strict/log', GUZHENG_MIRROR_STRICT: '1' });
    expect(said.join('\n')).toMatch(/strict: receipts wait until it holds their entry/);
    const bucket = new S3ObjectStore({ bucket: 'strict', endpoint: rgw.endpoint, region: rgw.region, credentials: rgw });
    const was = s3;
    try {
      s3 = bucket;
      await anchorBatch(strict, 300);
      // Interleaved with the primary's (not strict, same machine state), for a fair comparison.
      const waits: number[] = [];
      const plain: number[] = [];
      for (let i = 0; i < 20; i++) {
        plain.push((await anchorOne(primary)).ms);
        const a = await anchorOne(strict);
        expect(a.status).toBe(201);
        expect(a.receipt).toBeDefined();
        // Right after the answer: the bucket holds the entry, and a checkpoint covering it.
        expect(await bundleHolds(strict, 'log', a.index), `entry ${a.index}`).toBe(true);
        const cp = fromUtf8((await bucket.get('log/checkpoint')) as Uint8Array);
        expect(BigInt(cp.split('\n')[1] as string)).toBeGreaterThan(a.index);
        waits.push(a.ms);
      }
      console.log(`mirror serve: ?wait=receipt in strict mode: ${summary(waits)}; not strict (interleaved, primary): ${summary(plain)}`);
      expect((await health(strict)).body.mirrorDetail?.strict).toBe(true);
      const listing = (await (await fetch(`${strict.url}/v1/cases/${encodeURIComponent(CASE)}`, { headers: AUTH })).json()) as { entries: Array<{ receipt?: unknown }> };
      expect(listing.entries).toHaveLength(20);
      expect(listing.entries.every((e) => e.receipt !== undefined)).toBe(true);

      await rgw.kill();
      const t0 = performance.now();
      // The wait for a receipt, the receipt route and the case listing run together: each ends at receiptWaitMs.
      const lastIndex = async (): Promise<string> => {
        await new Promise((r) => setTimeout(r, 200));
        return (BigInt((await health(strict)).body.size) - 1n).toString();
      };
      const [a, later, page] = await Promise.all([
        anchorOne(strict),
        (async () => {
          const index = await lastIndex();
          const res = await fetch(`${strict.url}/v1/receipts/${index}`, { headers: AUTH });
          return { index, status: res.status, body: (await res.json()) as { code?: string }, retryAfter: res.headers.get('retry-after') };
        })(),
        (async () => {
          const index = await lastIndex();
          const res = await fetch(`${strict.url}/v1/cases/${encodeURIComponent(CASE)}?start=${index}`, { headers: AUTH });
          return (await res.json()) as { entries: Array<{ index: string; receipt?: unknown }> };
        })(),
      ]);
      expect(a.status).toBe(201);
      expect(a.receipt).toBeUndefined();
      expect(a.ms).toBeGreaterThanOrEqual(RECEIPT_WAIT_MS - 100);
      expect(later).toMatchObject({ index: a.index.toString(), status: 503, body: { code: 'RECEIPT_PENDING' } });
      expect(later.retryAfter).not.toBeNull();
      // The case listing lists it, without a receipt.
      expect(page.entries.map((e) => [e.index, e.receipt === undefined])).toEqual([[a.index.toString(), true]]);
      // The public digest lookup lists it as pending, not with a receipt.
      const lookup = async () => (await (await fetch(`${strict.url}/v1/verify/sha256/${a.hex}`)).json()) as { anchored: boolean; anchorings: unknown[]; pending: string[] };
      expect(await lookup()).toMatchObject({ anchored: true, anchorings: [], pending: [a.index.toString()] });
      console.log(`mirror serve: strict, radosgw killed: 201 without receipt after ${a.ms.toFixed(0)} ms (receiptWaitMs ${RECEIPT_WAIT_MS})`);
      expect((await health(strict)).status).toBe(200);

      await rgw.restart();
      await until(() => converged(strict), 90_000, () => health(strict));
      console.log(`mirror serve: strict: radosgw down ${((performance.now() - t0) / 1000).toFixed(1)} s in all; converged`);
      const res = await fetch(`${strict.url}/v1/receipts/${a.index}`, { headers: AUTH });
      expect(res.status).toBe(200);
      expect(await lookup()).toMatchObject({ anchored: true, anchorings: [{ index: a.index.toString() }], pending: [] });
      expect(await bundleHolds(strict, 'log', a.index)).toBe(true);
      expect(await checkBucket(strict, 'log')).toBe(321n);
    } finally {
      s3 = was;
      bucket.close();
    }
  }, 180_000);
  it('with a witness policy: the bucket\'s checkpoint is the cosigned one /checkpoint serves, and the cosignature lines are mirrored', async () => {
    const name = 'witnessed';
    const { key } = loadOrCreateLogKey(join(dir, name), `guzheng.test/mirror-${name}`);
    const logKey = formatVerifierKey(key.name, key.publicKey);
    const wdata = join(dir, 'witness');
    const wkey = initWitness(wdata, 'witness.test/mirror');
    const witness = await startWitness({ dataDir: wdata, logs: buildWitnessedLogs([logKey]), port: 0, rateLimit: 0 });
    const bucket = new S3ObjectStore({ bucket: 'witnessed', endpoint: rgw.endpoint, region: rgw.region, credentials: rgw });
    const was = s3;
    let service: RunningService | undefined;
    try {
      s3 = bucket;
      const policyFile = join(dir, 'policy.txt');
      writeFileSync(policyFile, `log ${logKey}\nwitness solo ${wkey} ${witness.url}\nquorum solo\n`);
      service = (await start(name, { GUZHENG_MIRROR: 's3://witnessed/log', GUZHENG_WITNESS_POLICY: policyFile })).service;
      const sv = service;
      await anchorBatch(sv, 40);
      for (let i = 0; i < 3; i++) expect((await anchorOne(sv)).receipt).toBeDefined();
      await until(
        async () => {
          const [cp, mirrored] = await Promise.all([fetch(`${sv.url}/checkpoint`).then((r) => r.text()), bucket.get('log/checkpoint')]);
          return (await converged(sv)) && cp.includes('— witness.test/mirror ') && mirrored !== undefined && fromUtf8(mirrored) === cp;
        },
        30_000,
        async () => ({ health: (await health(sv)).body, checkpoint: await fetch(`${sv.url}/checkpoint`).then((r) => r.text()), bucket: fromUtf8((await bucket.get('log/checkpoint')) ?? new Uint8Array()) }),
      );
      expect(await checkBucket(sv, 'log')).toBe(43n);
      expect((await bucket.list('log/guzheng/cosignatures/')).length).toBeGreaterThan(0);
    } finally {
      s3 = was;
      bucket.close();
      if (service !== undefined) {
        await service.close();
        services.splice(services.indexOf(service), 1);
      }
      await witness.close();
    }
  }, 60_000);
});
