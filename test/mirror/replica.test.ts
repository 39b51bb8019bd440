/**
 * Read replicas (issue 15 item 4, docs/scaling.md#read-replicas) against a real Ceph RADOS Gateway
 * (scripts/ceph-rgw.sh, one cluster for this file): a primary `startService` with GUZHENG_MIRROR,
 * and a replica `startService` with GUZHENG_REPLICA_OF on the same bucket, in its own directory
 * with no key.
 *
 * - The replica serves the primary's checkpoint; a digest looked up there, its inclusion proof
 *   and its receipt verify against the primary's key (not the replica's: it has none).
 * - Its /checkpoint lags the primary's, then catches up; /healthz says how far (`replica`).
 * - Every write is refused: 409 READ_ONLY_REPLICA naming the primary; POST /v1/verify still works.
 * - Under a steady write load, its lag behind the primary is measured (printed), and so are
 *   inclusion proofs/s on the replica against the primary.
 * - The bucket's checkpoint replaced by the log key's signature over another tree at the verified
 *   size (a fork): the replica halts loudly, /healthz 503 with both checkpoints as evidence (also
 *   in replica-halt.json), and still serves what it had verified.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../../src/mirror/s3.js';
import { parseBlock, sealBlock, type BlockJson } from '../../src/core/block.js';
import { fromHex, utf8 } from '../../src/core/bytes.js';
import { openCheckpoint } from '../../src/core/checkpoint.js';
import { digestBytes } from '../../src/core/entry/index.js';
import { verifyInclusion } from '../../src/core/merkle/verify.js';
import { parseVerifierKey } from '../../src/core/note.js';
import { suiteOfVerifier } from '../../src/core/suite.js';
import { verifyReceipt } from '../../src/verifier/verify.js';
import { loadConfig, type ServiceConfig } from '../../src/config.js';
import type { healthSchema } from '../../src/http/routes/ops.js';
import { REPLICA_HALT_FILE } from '../../src/replica-service.js';
import { startService, type RunningService } from '../../src/server.js';
import { dataPaths, readLogKey } from '../../src/setup.js';
import { RGW_START_TIMEOUT_MS, startRgw, type Rgw } from '../support/rgw.js';
import type { z } from 'zod';

type Health = z.infer<typeof healthSchema>;

const ADMIN = `gzk_${'P'.repeat(43)}`;
const AUTH = { authorization: `Bearer ${ADMIN}` };
const BUCKET = 'replica';
const FROM = `s3://${BUCKET}/log`;

let rgw: Rgw;
let admin: S3Client;
let s3: S3ObjectStore;
let dir: string;
const services: RunningService[] = [];
let primary: RunningService;
let replica: RunningService;
let vkey: string;
let digestNo = 0;

function env(): Record<string, string> {
  return { GUZHENG_MIRROR_ENDPOINT: rgw.endpoint, AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region };
}

async function start(name: string, vars: Record<string, string>, said: string[] = []): Promise<RunningService> {
  const config: ServiceConfig = {
    ...loadConfig({ ...env(), ...vars }),
    dataDir: join(dir, name),
    port: 0,
    adminKey: ADMIN,
    checkpointIntervalMs: 20,
    receiptIntervalMs: 10,
  };
  const s = await startService(config, (l) => said.push(l));
  services.push(s);
  return s;
}

function digestEntry(): { type: 'digest'; digest: { alg: 'sha256'; hex: string }; meta: Record<string, string> } {
  const hex = (++digestNo).toString(16).padStart(64, '0');
  return { type: 'digest', digest: { alg: 'sha256', hex }, meta: { caseId: '衡环罚〔2026〕16号' } };
}

async function anchor(n: number): Promise<void> {
  const res = await fetch(`${primary.url}/v1/entries/batch`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ entries: Array.from({ length: n }, digestEntry) }) });
  expect(res.status, await res.clone().text()).toBe(201);
}

async function checkpointSize(s: RunningService): Promise<bigint> {
  return openCheckpoint(await (await fetch(`${s.url}/checkpoint`)).text(), vkey).checkpoint.size;
}

async function health(s: RunningService): Promise<{ status: number; body: Health }> {
  const res = await fetch(`${s.url}/healthz`);
  return { status: res.status, body: (await res.json()) as Health };
}

async function until(f: () => Promise<boolean>, ms: number, what: () => Promise<unknown>): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await f())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms: ${JSON.stringify(await what())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function quantiles(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => (s[Math.min(s.length - 1, Math.floor(q * s.length))] as number).toFixed(0);
  return `median ${at(0.5)} ms, p90 ${at(0.9)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms (n=${s.length})`;
}

/** proofsPerSecond asks `n` inclusion proofs of random entries, `c` at a time. */
async function proofsPerSecond(s: RunningService, size: bigint, n: number, c: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (next < n) {
        next++;
        const i = BigInt(Math.floor(Math.random() * Number(size)));
        const res = await fetch(`${s.url}/v1/proof/inclusion?index=${i}&size=${size}`);
        if (res.status !== 200) throw new Error(`proof: ${res.status}`);
        await res.arrayBuffer();
      }
    }),
  );
  return (n * 1000) / (performance.now() - t0);
}

beforeAll(async () => {
  rgw = await startRgw();
  await rgw.bucket(BUCKET);
  s3 = new S3ObjectStore({ bucket: BUCKET, endpoint: rgw.endpoint, region: rgw.region, credentials: rgw });
  admin = new S3Client({ endpoint: rgw.endpoint, region: rgw.region, forcePathStyle: true, credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey } });
  dir = mkdtempSync(join(tmpdir(), 'guzheng-replica-'));
  primary = await start('primary', { GUZHENG_MIRROR: FROM });
  vkey = primary.ledger.verifierKey;
  for (let i = 0; i < 5; i++) await anchor(400);
  await until(async () => (await health(primary)).body.mirrorDetail?.uploadedSize === '2000', 60_000, () => health(primary));
}, RGW_START_TIMEOUT_MS + 60_000);

afterAll(async () => {
  for (const s of services) await s.close();
  admin?.destroy();
  s3?.close();
  await rgw?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('replica configuration', () => {
  const creds = { AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' };
  const key = 'example.com/behind-the-sofa+252b74d2+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs';
  it('needs the primary\'s key and the credentials, takes the mirror\'s endpoint, polls every second by default', () => {
    expect(() => loadConfig({ ...creds, GUZHENG_REPLICA_OF: 's3://b-1/p' })).toThrow(/GUZHENG_REPLICA_KEY/);
    expect(() => loadConfig({ GUZHENG_REPLICA_OF: 's3://b-1/p', GUZHENG_REPLICA_KEY: key })).toThrow(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    expect(() => loadConfig({ ...creds, GUZHENG_REPLICA_OF: 's3://b-1/p', GUZHENG_REPLICA_KEY: 'nonsense' })).toThrow(/not a verifier key/);
    const c = loadConfig({ ...creds, GUZHENG_REPLICA_OF: 's3://b-1/p/', GUZHENG_REPLICA_KEY: key, GUZHENG_MIRROR_ENDPOINT: 'http://rgw.test:7480' });
    expect(c.replica).toMatchObject({ url: 's3://b-1/p', bucket: 'b-1', prefix: 'p', endpoint: 'http://rgw.test:7480', verifierKey: key, pollMs: 1000, primaryUrl: undefined });
    expect(c.mirror).toBeUndefined();
    expect(loadConfig({ ...creds }, { replicaOf: 's3://b-1/p', replicaKey: key, replicaPollMs: '250', primaryUrl: 'https://primary.test/' }).replica).toMatchObject({ pollMs: 250, primaryUrl: 'https://primary.test' });
  });

  it('refuses what would write or sign beside it, and its settings without it', () => {
    const base = { ...creds, GUZHENG_REPLICA_OF: 's3://b-1/p', GUZHENG_REPLICA_KEY: key };
    expect(() => loadConfig({ ...base, GUZHENG_MIRROR: 's3://b-1/q' })).toThrow(/a replica reads the mirror, it writes none/);
    expect(() => loadConfig({ ...base, GUZHENG_HJ212_PORT: '0' })).toThrow(/GUZHENG_HJ212_PORT/);
    expect(() => loadConfig({ ...base, GUZHENG_TSA_URL: 'https://tsa.test/', GUZHENG_TSA_CA: 'x.pem' })).toThrow(/stamps nothing/);
    expect(() => loadConfig({ ...base, GUZHENG_WITNESS_POLICY: 'p' })).toThrow(/witnesses/);
    expect(() => loadConfig({ GUZHENG_REPLICA_KEY: key })).toThrow(/for a read replica: set GUZHENG_REPLICA_OF/);
    expect(() => loadConfig({ GUZHENG_MIRROR_ENDPOINT: 'http://rgw.test' })).toThrow(/GUZHENG_MIRROR_ENDPOINT/);
  });
});

describe('guzheng serve --replica-of on Ceph RGW', () => {
  it('starts caught up, and serves lookups, proofs and receipts that verify against the primary\'s key', async () => {
    const said: string[] = [];
    replica = await start('replica', { GUZHENG_REPLICA_OF: FROM, GUZHENG_REPLICA_KEY: vkey, GUZHENG_REPLICA_POLL_MS: '100', GUZHENG_PRIMARY_URL: primary.url }, said);
    expect(said.join('\n')).toMatch(/READ REPLICA listening on http/);
    expect(existsSync(dataPaths(join(dir, 'replica')).logKey)).toBe(false);
    expect(replica.ledger.readOnly).toBe(true);
    const note = await (await fetch(`${replica.url}/checkpoint`)).text();
    const cp = openCheckpoint(note, vkey).checkpoint;
    expect(cp.size).toBe(2000n);
    // Look a digest up on the replica, prove it there, check the proof with the primary's key only.
    const hex = (1234).toString(16).padStart(64, '0');
    const found = (await (await fetch(`${replica.url}/v1/lookup/sha256/${hex}`)).json()) as { anchorings: Array<{ index: string; leafHash: string }> };
    expect(found.anchorings).toHaveLength(1);
    const a = found.anchorings[0] as { index: string; leafHash: string };
    const proof = (await (await fetch(`${replica.url}/v1/proof/inclusion?index=${a.index}&size=${cp.size}`)).json()) as { path: string[] };
    verifyInclusion(BigInt(a.index), cp.size, fromHex(a.leafHash, 32), proof.path.map((h) => fromHex(h, 32)), cp.root, suiteOfVerifier(parseVerifierKey(vkey)).tree);
    const receipt = (await (await fetch(`${replica.url}/v1/receipts/${a.index}`, { headers: AUTH })).json()) as unknown;
    const report = await verifyReceipt(receipt, { trustedKeys: [vkey] });
    expect(report.valid, JSON.stringify(report.checks)).toBe(true);
    // The same secondary index and blocks as the primary.
    for (const path of ['/v1/blocks?limit=5', `/v1/blocks/3`, '/tile/0/003', `/v1/verify/sha256/${hex}`]) {
      const [p, r] = await Promise.all([fetch(`${primary.url}${path}`), fetch(`${replica.url}${path}`)]);
      expect(r.status, path).toBe(p.status);
    }
    const { body } = await health(replica);
    expect(body.replica).toMatchObject({ of: FROM, primary: primary.url, state: 'following', verifiedSize: '2000', lagEntries: '0' });
  }, 60_000);

  it('refuses every write with 409 READ_ONLY_REPLICA naming the primary; checking a document still works', async () => {
    for (const [method, path] of [
      ['POST', '/v1/entries'],
      ['POST', '/v1/entries/batch'],
      ['POST', '/v1/documents'],
      ['POST', '/v1/session'],
      ['POST', '/v1/users'],
      ['POST', '/v1/keys'],
      ['DELETE', '/v1/session'],
    ] as const) {
      const res = await fetch(`${replica.url}${path}`, { method, headers: { ...AUTH, 'content-type': 'application/json' }, body: method === 'POST' ? JSON.stringify(digestEntry()) : undefined });
      const problem = (await res.json()) as { code: string; detail: string };
      expect(res.status, path).toBe(409);
      expect(problem.code).toBe('READ_ONLY_REPLICA');
      expect(problem.detail).toContain(primary.url);
    }
    const verify = await fetch(`${replica.url}/v1/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(verify.status).not.toBe(409);
    expect(await replica.ledger.append([{ type: 'digest', digest: digestBytes(utf8('x')), meta: {} }], 'x').catch((e: Error) => e.message)).toMatch(/read replica/);
  });

  it('lags, then catches up; under a steady write load the lag is measured', async () => {
    const before = await checkpointSize(replica);
    await anchor(500);
    await until(async () => (await checkpointSize(primary)) >= before + 500n, 10_000, () => health(primary));
    const primarySize = await checkpointSize(primary);
    // The primary signed it; the bucket and the replica follow a pass and a poll behind.
    expect(await checkpointSize(replica)).toBeLessThan(primarySize);
    const t0 = performance.now();
    await until(async () => (await checkpointSize(replica)) >= primarySize, 30_000, () => health(replica));
    console.log(`replica: caught up with 500 new entries ${(performance.now() - t0).toFixed(0)} ms after the primary's checkpoint`);

    // A steady load: 100 entries every 50 ms (about 2,000 entries/s) for 6 s; each of the
    // primary's checkpoints is timed until the replica serves it.
    const lags: number[] = [];
    const seenAt = new Map<bigint, number>();
    let writing = true;
    let written = 0;
    const w0 = performance.now();
    const writer = (async () => {
      while (writing) {
        await anchor(100);
        written += 100;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const watcher = (async () => {
      const deadline = performance.now() + 6_000;
      while (performance.now() < deadline) {
        const s = await checkpointSize(primary);
        if (!seenAt.has(s)) seenAt.set(s, performance.now());
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const replicaWatch = (async () => {
      const done = new Set<bigint>();
      const deadline = performance.now() + 30_000;
      while (performance.now() < deadline) {
        const s = await checkpointSize(replica);
        for (const [size, at] of seenAt) {
          if (!done.has(size) && size <= s) {
            done.add(size);
            lags.push(performance.now() - at);
          }
        }
        if (!writing && done.size === seenAt.size) return;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await watcher;
    writing = false;
    await writer;
    const rate = (written * 1000) / (performance.now() - w0);
    await replicaWatch;
    const h = (await health(replica)).body.replica;
    console.log(`replica lag behind the primary's checkpoint under ${rate.toFixed(0)} entries/s (checkpoint every 20 ms, a mirror pass, a replica poll every 100 ms): ${quantiles(lags)}; /healthz replica ${JSON.stringify(h)}`);
    expect(lags.length).toBeGreaterThan(5);
    await until(async () => (await checkpointSize(replica)) === (await checkpointSize(primary)), 30_000, () => health(replica));
    expect((await health(replica)).body.replica).toMatchObject({ state: 'following', lagEntries: '0' });
  }, 90_000);

  it('serves inclusion proofs (measured against the primary)', async () => {
    const size = await checkpointSize(replica);
    await proofsPerSecond(replica, size, 200, 8);
    const r = await proofsPerSecond(replica, size, 2000, 16);
    const p = await proofsPerSecond(primary, size, 2000, 16);
    console.log(`inclusion proofs/s at size ${size}, 16 concurrent: replica ${r.toFixed(0)}, primary ${p.toFixed(0)}`);
    expect(r).toBeGreaterThan(50);
  }, 60_000);

  it('a new replica refuses to start on a bucket with an altered or deleted object, naming it', async () => {
    const tile = 'log/tile/0/002';
    const good = (await s3.get(tile)) as Uint8Array;
    const bad = good.slice();
    bad[7] = (bad[7] as number) ^ 0x80;
    await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: tile, Body: bad }));
    const vars = { GUZHENG_REPLICA_OF: FROM, GUZHENG_REPLICA_KEY: vkey };
    await expect(start('replica-2', vars)).rejects.toThrow(/hash tile log\/tile\/0\/002 is altered/);
    await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: tile, Body: good }));
    const bundle = 'log/tile/entries/005';
    const kept = (await s3.get(bundle)) as Uint8Array;
    await admin.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: bundle }));
    await expect(start('replica-3', vars)).rejects.toThrow(/entry bundle log\/tile\/entries\/005 is missing from the bucket/);
    await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: bundle, Body: kept }));
    // Once the object is back, the same directory resumes what it had verified and starts.
    const r3 = await start('replica-3', vars);
    expect(await checkpointSize(r3)).toBeGreaterThan(1280n);
    await r3.close();
    services.splice(services.indexOf(r3), 1);
  }, 120_000);

  it('halts loudly on a fork in the bucket, with both checkpoints, and keeps serving what it verified', async () => {
    // The primary stops (its mirror with it): nothing else writes the bucket's checkpoint now.
    await primary.close();
    services.splice(services.indexOf(primary), 1);
    const key = 'log/checkpoint';
    const bucketSize = async () => openCheckpoint((await s3.get(key)) as Uint8Array, vkey).checkpoint.size;
    await until(async () => (await checkpointSize(replica)) === (await bucketSize()), 30_000, () => health(replica));
    const size = await checkpointSize(replica);
    const top = replica.ledger.latest().block;
    const prev = parseBlock((await replica.ledger.block(top.height - 1n)) as BlockJson);
    const signer = readLogKey(join(dir, 'primary'));
    const forked = sealBlock(prev, { signer, size, root: new Uint8Array(32).fill(9), time: top.time });
    await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: utf8(forked.checkpoint) }));
    await until(async () => (await health(replica)).body.replica?.state === 'halted', 10_000, () => health(replica));
    const { status, body } = await health(replica);
    expect(status).toBe(503);
    expect(body.status).toBe('degraded');
    expect(body.replica?.halt?.code).toBe('INCONSISTENT');
    expect(body.replica?.halt?.reason).toMatch(/fork/);
    expect(body.replica?.halt?.larger).toBe(forked.checkpoint);
    expect(openCheckpoint(body.replica?.halt?.smaller ?? '', vkey).checkpoint.size).toBe(size);
    const kept = JSON.parse(readFileSync(join(dir, 'replica', REPLICA_HALT_FILE), 'utf8')) as { larger: string };
    expect(kept.larger).toBe(forked.checkpoint);
    // What it verified is still served.
    expect(openCheckpoint(await (await fetch(`${replica.url}/checkpoint`)).text(), vkey).checkpoint.size).toBe(size);
  }, 60_000);
});
