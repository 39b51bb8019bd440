/**
 * `guzheng restore` (issue 15 item 5, docs/scaling.md#restore) against a real Ceph RADOS Gateway
 * (scripts/ceph-rgw.sh, one cluster for this file): a primary `startService` with GUZHENG_MIRROR
 * anchors 50,000 entries (digests of cases, records, HJ 212 packets), the mirror converges, the
 * primary is stopped (its disk is lost). Then:
 *
 * - a restore (runRestore, the CLI's library entry) from the bucket with the key from the
 *   operator's backup gives a data directory `guzheng audit` (runAudit over LocalSource) finds
 *   clean, holding the mirror's checkpoint; the restored service continues the same log with the
 *   same key, its next checkpoint is consistent with the mirror's (a consistency proof from the
 *   mirror's size to the new one verifies against both roots), and its mirror, pointed at the same
 *   bucket, continues writing without a conflict;
 * - a byte flipped in a hash tile, an entry bundle deleted: the restore stops, naming the object;
 *   run again once the object is back, it resumes the partial restore and completes;
 * - a non-empty directory, a wrong key: refused before anything is written.
 *
 * Measured: the restore's entries/s on this machine (printed).
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { fromHex, fromUtf8, utf8 } from '../../src/core/bytes.js';
import { openCheckpoint } from '../../src/core/checkpoint.js';
import { digestBytes } from '../../src/core/entry/index.js';
import { verifyConsistency } from '../../src/core/merkle/verify.js';
import { generateSignerKey, parseVerifierKey } from '../../src/core/note.js';
import { suiteOfVerifier } from '../../src/core/suite.js';
import { loadConfig, type ServiceConfig } from '../../src/config.js';
import { LocalSource } from '../../src/audit/local.js';
import { runAudit } from '../../src/audit/replay.js';
import { formatReport } from '../../src/audit/report.js';
import { runRestore, RESTORE_MARKER } from '../../src/cli/restore.js';
import { CliError } from '../../src/cli/client.js';
import { attachmentBundleKey, tileKey } from '../../src/mirror/layout.js';
import { S3ObjectStore } from '../../src/mirror/s3.js';
import { startService, type RunningService } from '../../src/server.js';
import { dataPaths } from '../../src/setup.js';
import type { EntryInput } from '../../src/log/ledger.js';
import { RGW_START_TIMEOUT_MS, startRgw, type Rgw } from '../support/rgw.js';

const ADMIN = `gzk_${'R'.repeat(43)}`;
const AUTH = { authorization: `Bearer ${ADMIN}` };
const BUCKET = 'restore';
const PREFIX = 'city/guzheng';
const FROM = `s3://${BUCKET}/${PREFIX}`;
const ENTRIES = 50_000;

let rgw: Rgw;
let s3: S3ObjectStore;
let admin: S3Client;
let dir: string;
const services: RunningService[] = [];
let primary: RunningService;
let keyBackup: string;
let verifierKey: string;
/** The mirror's checkpoint when the primary was lost. */
let mirrored: string;

function env(): Record<string, string> {
  return { GUZHENG_MIRROR_ENDPOINT: rgw.endpoint, AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region };
}

async function start(dataDir: string, extra: Record<string, string> = {}): Promise<RunningService> {
  const config: ServiceConfig = {
    ...loadConfig({ ...env(), GUZHENG_MIRROR: FROM, ...extra }),
    dataDir,
    port: 0,
    origin: undefined,
    adminKey: ADMIN,
    checkpointIntervalMs: 50,
    receiptIntervalMs: 10,
  };
  const service = await startService(config, () => undefined);
  services.push(service);
  return service;
}

async function stop(s: RunningService): Promise<void> {
  await s.close();
  services.splice(services.indexOf(s), 1);
}

let n = 0;
function nextEntry(): EntryInput {
  const i = n++;
  const content = utf8(`evidence ${i}`);
  if (i % 50 === 1) return { type: 'record', record: { station: `HS-${i % 9}`, value: i }, meta: { caseId: `衡环罚〔2026〕${i % 11}号` } };
  if (i % 50 === 2) {
    const raw = utf8(`##0101QN=20260301000000${i};ST=22;CN=2011;MN=DEV${i % 5};CP=&&&&ABCD\r\n`);
    return { type: 'hj212', raw, digest: digestBytes(raw), meta: { mn: `DEV${i % 5}`, pollutants: [], crc: { ok: true, variant: 'hj212-2017' }, parserVersion: 'test/1' } };
  }
  return { type: 'digest', digest: digestBytes(content), meta: i % 3 === 0 ? { caseId: `衡环罚〔2026〕${i % 11}号` } : { name: `IMG_${i}.jpg` } };
}

async function health(s: RunningService): Promise<{ checkpointSize: string; mirror?: string; mirrorDetail?: { lagEntries: string; uploadedSize: string; lastError?: string } }> {
  return (await (await fetch(`${s.url}/healthz`)).json()) as never;
}

async function until(f: () => Promise<boolean>, ms: number, what: () => Promise<unknown>): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await f())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms: ${JSON.stringify(await what())}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function converged(s: RunningService): Promise<boolean> {
  const h = await health(s);
  return h.mirror === 'ok' && h.mirrorDetail?.lagEntries === '0' && h.mirrorDetail.uploadedSize === h.checkpointSize;
}

/** restore runs `guzheng restore` into `data`, capturing its output. */
async function restore(data: string, flags: { key?: string; withoutAttachments?: boolean } = {}): Promise<{ out: string; err: string; result: Awaited<ReturnType<typeof runRestore>> }> {
  let out = '';
  let err = '';
  const result = await runRestore({ from: FROM, data, ...(flags.key !== undefined ? { key: flags.key } : {}), ...(flags.withoutAttachments ? { withoutAttachments: true } : {}) }, env(), {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    progress: false,
  });
  return { out, err, result };
}

async function restoreFails(data: string, key?: string): Promise<CliError> {
  try {
    await restore(data, key === undefined ? {} : { key });
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    return e as CliError;
  }
  throw new Error('the restore did not fail');
}

async function audit(data: string): Promise<void> {
  const source = await LocalSource.open(data);
  try {
    const report = await runAudit(source, { verifierKey, maxProblems: 20 });
    expect(report.ok, formatReport(report)).toBe(true);
    expect(report.size).toBe(BigInt(openCheckpoint(mirrored, verifierKey).checkpoint.size));
  } finally {
    await source.close();
  }
}

beforeAll(async () => {
  rgw = await startRgw();
  await rgw.bucket(BUCKET);
  s3 = new S3ObjectStore({ bucket: BUCKET, endpoint: rgw.endpoint, region: rgw.region, credentials: rgw });
  admin = new S3Client({ endpoint: rgw.endpoint, region: rgw.region, forcePathStyle: true, credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey } });
  dir = mkdtempSync(join(tmpdir(), 'guzheng-restore-'));
  primary = await start(join(dir, 'primary'));
  verifierKey = primary.ledger.verifierKey;
  // The operator's own backup of the key, kept away from the bucket.
  keyBackup = join(dir, 'log-key.backup');
  writeFileSync(keyBackup, readFileSync(dataPaths(join(dir, 'primary')).logKey), { mode: 0o600 });
  for (let done = 0; done < ENTRIES; done += 1000) await primary.ledger.append(Array.from({ length: 1000 }, nextEntry), 'restore-test');
  await until(() => converged(primary), 120_000, () => health(primary));
  // The primary's disk dies: what is left is the bucket (and the key backup).
  await stop(primary);
  mirrored = fromUtf8((await s3.get(`${PREFIX}/checkpoint`)) as Uint8Array);
}, RGW_START_TIMEOUT_MS + 240_000);

afterAll(async () => {
  for (const s of [...services]) await s.close();
  s3?.close();
  admin?.destroy();
  await rgw?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('guzheng restore from a mirror on Ceph RGW', () => {
  it('rebuilds the data directory, verified; the audit is clean; the restored service continues the log consistently and mirrors on', async () => {
    const data = join(dir, 'restored');
    const { out, err, result } = await restore(data, { key: keyBackup });
    const seconds = result.elapsedMs / 1000;
    console.log(`restore: ${result.size} entries, ${result.blocks} blocks in ${seconds.toFixed(2)} s = ${Math.round(Number(result.size) / seconds)} entries/s; ${result.gets} objects, ${Math.round(result.bytes / 1024)} KiB`);
    expect(out).toMatch(/restored .* 50,000 entries/);
    expect(out).toMatch(/attachments: 2,000 \(records, raw HJ 212 packets\)/);
    expect(err).toMatch(/entries\/s/);
    expect(result.size).toBe(BigInt(ENTRIES));
    expect(result.attachments).toBe(ENTRIES / 25);
    expect(readdirSync(data).sort()).toEqual(['checkpoint', 'ledger', 'log-key']);
    await audit(data);

    // The same log, the same key, continued: consistent with the mirror's checkpoint.
    const restored = await start(data);
    expect(restored.ledger.verifierKey).toBe(verifierKey);
    for (let i = 0; i < 5; i++) await restored.ledger.append(Array.from({ length: 300 }, nextEntry), 'restore-test');
    await until(() => converged(restored), 60_000, () => health(restored));
    const old = openCheckpoint(mirrored, verifierKey).checkpoint;
    const now = openCheckpoint(await (await fetch(`${restored.url}/checkpoint`)).text(), verifierKey).checkpoint;
    expect(now.size).toBe(old.size + 1500n);
    const proof = (await (await fetch(`${restored.url}/v1/proof/consistency?from=${old.size}&to=${now.size}`)).json()) as { path: string[] };
    verifyConsistency(old.size, now.size, proof.path.map((h) => fromHex(h, 32)), old.root, now.root, suiteOfVerifier(parseVerifierKey(verifierKey)).tree);
    // Its mirror went on in the same bucket, without a conflict, to the new checkpoint.
    const h = await health(restored);
    expect(h.mirrorDetail?.lastError).toBeUndefined();
    expect(openCheckpoint((await s3.get(`${PREFIX}/checkpoint`)) as Uint8Array, verifierKey).checkpoint.size).toBe(now.size);
    // A record restored with its body.
    const e = (await (await fetch(`${restored.url}/v1/entries/1`, { headers: AUTH })).json()) as { record?: unknown };
    expect(e.record).toEqual({ station: 'HS-1', value: 1 });
    await stop(restored);
    mirrored = fromUtf8((await s3.get(`${PREFIX}/checkpoint`)) as Uint8Array);
  }, 240_000);

  it('stops at a byte flipped in a hash tile, naming it; resumes once it is back', async () => {
    const key = `${PREFIX}/${'tile/0/150'}`;
    expect(key).toBe(tileKey(PREFIX, { kind: 'hash', level: 0, index: 150n, width: 256 }));
    const good = (await s3.get(key)) as Uint8Array;
    const bad = good.slice();
    bad[100] = (bad[100] as number) ^ 1;
    await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bad }));
    const data = join(dir, 'tile-flipped');
    const e = await restoreFails(data, keyBackup);
    expect(e.exitCode).toBe(1);
    expect(e.message).toContain(key);
    expect(e.message).toMatch(/altered/);
    expect(e.message).toMatch(/partial restore, verified up to [0-9,]+ entries: run the same command again/);
    expect(readdirSync(data)).toContain(RESTORE_MARKER);
    // Still refused while the tile is bad; once it is back, the same command resumes and completes.
    await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: good }));
    const { err } = await restore(data);
    expect(err).toMatch(/resuming at [1-9][0-9,]* entries/);
    expect(readdirSync(data)).not.toContain(RESTORE_MARKER);
    await audit(data);
  }, 240_000);

  it('stops at a deleted entry bundle or attachment bundle, naming it', async () => {
    for (const key of [tileKey(PREFIX, { kind: 'entries', index: 7n, width: 256 }), attachmentBundleKey(PREFIX, { index: 9n, width: 256 })]) {
      const good = (await s3.get(key)) as Uint8Array;
      await admin.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
      const e = await restoreFails(join(dir, `deleted-${key.replace(/\W/g, '-')}`), keyBackup);
      expect(e.message).toContain(`${key} is missing from the bucket`);
      await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: good }));
    }
  }, 120_000);

  it('refuses a non-empty directory, a missing key and a wrong key before writing anything', async () => {
    const full = join(dir, 'not-empty');
    mkdirSync(full);
    writeFileSync(join(full, 'notes.txt'), 'mine');
    let e = await restoreFails(full, keyBackup);
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/is not empty \(it holds notes\.txt\)/);
    e = await restoreFails(join(dir, 'no-key'));
    expect(e.message).toMatch(/the log key is needed: --key FILE/);
    const wrong = join(dir, 'wrong-key');
    writeFileSync(wrong, generateSignerKey(openCheckpoint(mirrored, verifierKey).checkpoint.origin, new Uint8Array(32).fill(3)).signerKey + '\n');
    const empty = join(dir, 'wrong');
    e = await restoreFails(empty, wrong);
    expect(e.exitCode).toBe(1);
    expect(e.message).toMatch(/does not verify with the key/);
    expect(() => readdirSync(empty)).toThrow();
  }, 60_000);
});
