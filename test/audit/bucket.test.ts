/**
 * `guzheng audit` and `guzheng monitor` straight from the mirror's bucket (issue 15 items 3 and 7;
 * src/audit/bucket.ts, bucket-log.ts, docs/audit.md#auditing-a-mirror), against a real Ceph RADOS
 * Gateway (scripts/ceph-rgw.sh, one cluster for this file) fed by a real service with
 * GUZHENG_MIRROR, a test TSA and a witness.
 *
 * - The audit from the bucket (s3:// with credentials) passes and agrees with the audit of the
 *   service (same size, root, blocks; every time stamp verifies against the TSA root; the policy's
 *   quorum met), and accounts for every object listed.
 * - Anonymous: with a bucket policy that publishes the checkpoint, hash tiles and blocks but not the
 *   entry bundles, the audit stops with a clear error and the monitor works; with the entry bundles
 *   public too, the audit over plain HTTP passes.
 * - Faults: one byte flipped in a hash tile, an entry bundle, an attachment bundle, a block bundle,
 *   an older partial tile;
 *   an object deleted: the audit exits 1 with a problem naming the object; the monitor names a bad
 *   block bundle and a bad hash tile it uses.
 * - The monitor against the bucket follows new checkpoints, and catches a rolled-back checkpoint
 *   (an alarm) and a fork (a conclusive fraud proof; the audit with the saved checkpoint too).
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, PutBucketPolicyCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyFraudProof } from '../../src/audit/fraud.js';
import { registerAudit } from '../../src/cli/audit.js';
import { CliError } from '../../src/cli/client.js';
import { registerMonitor } from '../../src/cli/monitor.js';
import { loadConfig, type ServiceConfig } from '../../src/config.js';
import { findBlockHeader } from '../../src/core/block-header.js';
import { fromUtf8, utf8 } from '../../src/core/bytes.js';
import { parseCheckpoint } from '../../src/core/checkpoint.js';
import { formatVerifierKey } from '../../src/core/note.js';
import { planConsistency } from '../../src/core/merkle/plan.js';
import { formatTilePath, tileWidth, TILE_WIDTH } from '../../src/core/tiles.js';
import { blockBundleKey } from '../../src/mirror/layout.js';
import { S3ObjectStore } from '../../src/mirror/s3.js';
import { startService, type RunningService } from '../../src/server.js';
import { dataPaths, loadOrCreateLogKey } from '../../src/setup.js';
import { buildWitnessedLogs } from '../../src/witness/config.js';
import { initWitness } from '../../src/witness/keyfile.js';
import { startWitness } from '../../src/witness/server.js';
import { RGW_START_TIMEOUT_MS, startRgw, type Rgw } from '../support/rgw.js';
import { startTsa, type TestTsa } from '../support/tsa/server.js';

const ADMIN = `gzk_${'B'.repeat(43)}`;
const AUTH = { authorization: `Bearer ${ADMIN}` };
const ORIGIN = 'guzheng.test/bucket-audit';
const BUCKET = 'logs';

let rgw: Rgw;
let tsa: TestTsa;
let witness: Awaited<ReturnType<typeof startWitness>>;
let s3: S3ObjectStore;
let raw: S3Client;
let dir: string;
let vkey: string;
let policyFile: string;
let primary: RunningService;
const services: RunningService[] = [];
const savedEnv = { ...process.env };
let seq = 0;

interface Run {
  readonly out: string;
  readonly err: string;
  readonly code: number;
}

/** cli runs `guzheng audit` or `guzheng monitor` in-process, output captured. */
async function cli(...args: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const io = { out: (t: string) => void (out += t), err: (t: string) => void (err += t), progress: false };
  const program = new Command().exitOverride();
  registerAudit(program, io);
  registerMonitor(program, io);
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out, err, code: 0 };
  } catch (e) {
    if (e instanceof CliError) return { out, err: err + e.message, code: e.exitCode };
    throw e;
  }
}

interface AuditJson {
  ok: boolean;
  size: string;
  root: string;
  checkpoints: string;
  problemCount: number;
  problems: Array<{ kind: string; message: string }>;
  time: { tokens: number; verifiedTokens: number };
  witnesses?: { blocksMeetingQuorum: string };
  stats: { entriesPerSecond: number; elapsedMs: number };
  bucket?: { listed: boolean; objectsListed: number; objectsRead: number; olderChecked: number; newer: number; stamps: number; cosignatures: number; unknownCount: number };
}

/** auditJson runs an audit with --json and returns the exit code and report. */
async function auditJson(...args: string[]): Promise<{ code: number; err: string; report: AuditJson }> {
  const r = await cli('audit', '--key', vkey, '--json', '--no-progress', '--workers', '0', ...args);
  return { code: r.code, err: r.err, report: JSON.parse(r.out) as AuditJson };
}

const endpointArgs = (): string[] => ['--endpoint', rgw.endpoint];

async function start(name: string, env: Record<string, string>, extra: Partial<ServiceConfig> = {}): Promise<RunningService> {
  const config: ServiceConfig = {
    ...loadConfig({ GUZHENG_MIRROR_ENDPOINT: rgw.endpoint, AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region, ...env }),
    dataDir: join(dir, name),
    port: 0,
    origin: ORIGIN,
    adminKey: ADMIN,
    checkpointIntervalMs: 20,
    receiptIntervalMs: 10,
    ...extra,
  };
  const service = await startService(config, () => {});
  services.push(service);
  return service;
}

/**
 * anchor anchors `n` entries (batches of at most 1,000): digests, every 7th naming a file of a
 * case, and every 11th a record (kept with its canonical JSON: an attachment bundle in the bucket).
 */
async function anchor(s: RunningService, n: number, tag = 'p'): Promise<void> {
  for (let done = 0; done < n; ) {
    const k = Math.min(1000, n - done);
    const entries = Array.from({ length: k }, () => {
      const i = ++seq;
      const hex = `${tag === 'p' ? 'a' : 'f'}${i.toString(16).padStart(63, '0')}`;
      if (i % 11 === 0) return { type: 'record', record: { station: 'HS-15', seq: i, value: (i % 97) / 7, tag } };
      return i % 7 === 0
        ? { type: 'digest', digest: { alg: 'sha256', hex }, meta: { caseId: '衡环罚〔2026〕15号', name: `现场照片-${i}.jpg`, mediaType: 'image/jpeg', size: 1000 + i } }
        : { type: 'digest', digest: { alg: 'sha256', hex }, meta: {} };
    });
    const res = await fetch(`${s.url}/v1/entries/batch`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ entries }) });
    expect(res.status, await res.clone().text()).toBe(201);
    done += k;
  }
}

async function until(f: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await f())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Health {
  size: string;
  checkpointSize: string;
  mirror?: string;
  mirrorDetail?: { lagEntries: string; uploadedSize: string };
  tsa?: string;
  tsaDetail?: { unstampedBlocks?: number };
}

async function health(s: RunningService): Promise<Health> {
  return (await (await fetch(`${s.url}/healthz`)).json()) as Health;
}

/** converge waits until a checkpoint covers every stored entry and the bucket holds it. */
async function converge(s: RunningService, prefix: string): Promise<string> {
  let note = '';
  await until(
    async () => {
      const h = await health(s);
      note = await (await fetch(`${s.url}/checkpoint`)).text();
      const inBucket = await s3.get(`${prefix}/checkpoint`);
      return h.size === h.checkpointSize && sizeOf(note) === BigInt(h.size) && h.mirror === 'ok' && h.mirrorDetail?.lagEntries === '0' && inBucket !== undefined && fromUtf8(inBucket) === note;
    },
    60_000,
    `the mirror of ${prefix} to converge`,
  );
  return note;
}

const sizeOf = (note: string): bigint => parseCheckpoint(note.slice(0, note.indexOf('\n\n') + 1)).size;
const blocksOf = (note: string): bigint => (findBlockHeader(parseCheckpoint(note.slice(0, note.indexOf('\n\n') + 1)).extensions)?.height ?? -1n) + 1n;

/** byteAt: the UTF-8 offset of character `i` of `text` (signature lines hold an em dash, 3 bytes). */
const byteAt = (text: string, i: number): number => utf8(text.slice(0, i)).length;

async function put(key: string, bytes: Uint8Array): Promise<void> {
  await raw.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes }));
}

/**
 * tampered replaces an object (flip: one byte XOR 1 at `at`; or deleted when `at` is undefined),
 * runs `f`, and puts the original bytes back whatever happens. A plain PutObject (no If-None-Match)
 * overwrites: the bucket's write-once rule is the mirror's, not the store's.
 */
async function tampered<T>(key: string, at: number | undefined, f: () => Promise<T>): Promise<T> {
  const original = await s3.get(key);
  if (original === undefined) throw new Error(`no object ${key}`);
  if (at === undefined) await raw.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
  else {
    const bad = original.slice();
    bad[at] = (bad[at] as number) ^ 1;
    await put(key, bad);
  }
  try {
    return await f();
  } finally {
    await put(key, original);
  }
}

async function setPolicy(resources: string[]): Promise<void> {
  const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: resources.map((r) => `arn:aws:s3:::${BUCKET}/${r}`) }] };
  await raw.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: JSON.stringify(policy) }));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'guzheng-bucket-audit-'));
  [rgw, tsa] = await Promise.all([startRgw(), startTsa()]);
  await rgw.bucket(BUCKET);
  s3 = new S3ObjectStore({ bucket: BUCKET, endpoint: rgw.endpoint, region: rgw.region, credentials: rgw });
  raw = new S3Client({ endpoint: rgw.endpoint, region: rgw.region, forcePathStyle: true, credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  // What the commands read credentials from, as an operator's shell would give them.
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region });
  const { key } = loadOrCreateLogKey(join(dir, 'primary'), ORIGIN);
  vkey = formatVerifierKey(key.name, key.publicKey);
  const wdata = join(dir, 'witness');
  const wkey = initWitness(wdata, 'witness.test/bucket');
  witness = await startWitness({ dataDir: wdata, logs: buildWitnessedLogs([vkey]), port: 0, rateLimit: 0 });
  policyFile = join(dir, 'policy.txt');
  writeFileSync(policyFile, `log ${vkey}\nwitness solo ${wkey} ${witness.url}\nquorum solo\n`);
  primary = await start('primary', { GUZHENG_MIRROR: `s3://${BUCKET}/primary`, GUZHENG_WITNESS_POLICY: policyFile }, { tsaUrls: [tsa.url], tsaCaFile: tsa.rootPemPath, tsaIntervalMs: 100 });
  // A first small checkpoint mirrored on its own, so the bucket keeps partial tiles of it.
  await anchor(primary, 100);
  await converge(primary, 'primary');
  await anchor(primary, 20_000);
  await until(async () => {
    const h = await health(primary);
    return h.tsa === 'ok' && h.tsaDetail?.unstampedBlocks === 0;
  }, 60_000, 'time stamping to catch up');
  // One more checkpoint, so a mirror pass carries the stamps and cosignatures of the blocks before it.
  await anchor(primary, 1);
  await converge(primary, 'primary');
}, RGW_START_TIMEOUT_MS + 120_000);

afterAll(async () => {
  for (const s of services) await s.close();
  await witness?.close();
  await tsa?.close();
  s3?.close();
  raw?.destroy();
  await rgw?.stop();
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('guzheng audit --url s3://BUCKET/PREFIX', () => {
  it('passes, and agrees with the audit of the service: size, root, blocks, time stamps, witnesses; every listed object accounted for', async () => {
    const fromService = await auditJson('--url', primary.url, '--api-key', ADMIN, '--tsa-ca', tsa.rootPemPath, '--policy', policyFile);
    expect(fromService.code, fromService.err).toBe(0);
    const fromBucket = await auditJson('--url', `s3://${BUCKET}/primary`, ...endpointArgs(), '--tsa-ca', tsa.rootPemPath, '--policy', policyFile);
    expect(fromBucket.code, `${fromBucket.err}\n${JSON.stringify(fromBucket.report.problems)}`).toBe(0);
    const a = fromService.report;
    const b = fromBucket.report;
    expect(b.ok).toBe(true);
    expect(b.size).toBe('20101');
    expect([b.size, b.root, b.checkpoints]).toEqual([a.size, a.root, a.checkpoints]);
    expect(b.time.tokens).toBeGreaterThan(0);
    expect(b.time.verifiedTokens).toBe(b.time.tokens);
    expect(BigInt(b.witnesses?.blocksMeetingQuorum ?? '0')).toBeGreaterThan(0n);
    expect(b.bucket).toMatchObject({ listed: true, newer: 0, unknownCount: 0 });
    expect(b.bucket?.objectsListed).toBeGreaterThan(160);
    expect(b.bucket?.olderChecked).toBeGreaterThan(0);
    expect(b.bucket?.stamps).toBe(b.time.tokens);
    expect(b.bucket?.cosignatures).toBeGreaterThan(0);
    console.log(
      `bucket audit: ${b.size} entries, ${b.checkpoints} blocks: from the bucket ${b.stats.entriesPerSecond} entries/s (${b.stats.elapsedMs} ms, ${b.bucket?.objectsRead} objects read of ${b.bucket?.objectsListed} listed), ` +
        `from the service ${a.stats.entriesPerSecond} entries/s (${a.stats.elapsedMs} ms)`,
    );
    const human = await cli('audit', '--url', `s3://${BUCKET}/primary`, ...endpointArgs(), '--key', vkey, '--objects', 'needed', '--workers', '0');
    expect(human.code, human.err).toBe(0);
    expect(human.out).toMatch(/^audit of bucket s3:\/\/logs\/primary at http:\/\/127\.0\.0\.1:\d+$/m);
    expect(human.out).toMatch(/^ {2}indexes {4}not checked: the bucket holds no digest index/m);
    expect(human.out).toMatch(/^OK: 20,101 entries, \d+ checkpoints: everything is consistent\.$/m);
  }, 120_000);

  it('anonymous, with only the checkpoint, hash tiles and blocks public: the audit says the entries are private; the monitor works; with the entries public the audit passes over plain HTTP', async () => {
    // The public policy of docs/scaling.md#what-is-public: never tile/entries/ nor guzheng/attachments/.
    const levels = Array.from({ length: 4 }, (_, l) => `primary/tile/${l}/*`);
    await setPolicy(['primary/checkpoint', ...levels, 'primary/guzheng/blocks/*', 'primary/guzheng/tsa/*', 'primary/guzheng/cosignatures/*']);
    const base = `${rgw.endpoint}/${BUCKET}/primary`;
    expect((await fetch(`${base}/checkpoint`)).status).toBe(200);
    expect((await fetch(`${base}/tile/entries/000`)).status).toBe(403);
    expect((await fetch(`${base}/guzheng/attachments/000`)).status).toBe(403);
    const denied = await cli('audit', '--url', base, '--bucket', '--key', vkey, '--no-progress');
    expect(denied.code).toBe(2);
    expect(denied.err).toMatch(/bucket object http:\/\/127\.0\.0\.1:\d+\/logs\/primary\/tile\/entries\/000 is not readable \(HTTP 403\): this bucket keeps its entry bundles private/);
    expect(denied.err).toMatch(/guzheng monitor checks what is public/);
    const s3Anonymous = await cli('audit', '--url', `s3://${BUCKET}/primary`, ...endpointArgs(), '--anonymous', '--key', vkey, '--no-progress');
    expect(s3Anonymous.code).toBe(2);
    expect(s3Anonymous.err).toMatch(/entry bundles private/);
    const state = join(dir, 'anonymous.json');
    const m = await cli('monitor', '--url', base, '--bucket', '--key', vkey, '--state', state, '--once');
    expect(m.code, m.err).toBe(0);
    expect(m.out).toMatch(/first checkpoint: size 20101,/);

    await setPolicy(['primary/*']);
    const open = await auditJson('--url', base, '--bucket', '--tsa-ca', tsa.rootPemPath);
    expect(open.code, `${open.err}\n${JSON.stringify(open.report.problems)}`).toBe(0);
    expect(open.report.size).toBe('20101');
    expect(open.report.bucket).toMatchObject({ listed: false, anonymous: true });
    expect(open.report.time.verifiedTokens).toBe(open.report.time.tokens);
    expect(open.report.time.tokens).toBeGreaterThan(0);
    await raw.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${BUCKET}/nothing`] }] }) }));
    expect((await fetch(`${base}/checkpoint`)).status).toBe(403);
  }, 120_000);
});

describe('faults in the bucket: audit exits 1 naming the object', () => {
  const audit = () => cli('audit', '--url', `s3://${BUCKET}/primary`, ...endpointArgs(), '--key', vkey, '--no-progress', '--workers', '0');

  it('one byte of a hash tile flipped', async () => {
    const r = await tampered('primary/tile/0/005', 32 * 7 + 3, audit);
    expect(r.code, r.err).toBe(1);
    expect(r.out).toMatch(/\[node-mismatch\] entry 1287: .*\(bucket object primary\/tile\/0\/005\)/);
    expect(r.out).not.toMatch(/root-mismatch/);
  }, 60_000);

  it('one byte of an entry bundle flipped', async () => {
    const r = await tampered('primary/tile/entries/010', 12, audit);
    expect(r.code, r.err).toBe(1);
    expect(r.out).toMatch(/entry 2560: .*\(bucket object primary\/tile\/entries\/010\)/);
    expect(r.out).toMatch(/\[root-mismatch\]/);
  }, 60_000);

  it('one byte of a block bundle flipped', async () => {
    const count = blocksOf(fromUtf8((await s3.get('primary/checkpoint')) as Uint8Array));
    const key = blockBundleKey('primary', { index: 0n, width: count >= 256n ? 256 : Number(count) });
    const text = fromUtf8((await s3.get(key)) as Uint8Array);
    // The last digit of the second block's time: still canonical JSON, no longer its signed header's.
    const line = text.indexOf('\n') + 1;
    const at = byteAt(text, text.indexOf('Z"', text.indexOf('"time":"', line)) - 1);
    const r = await tampered(key, at, audit);
    expect(r.code, r.err).toBe(1);
    expect(r.out).toContain(`(bucket object ${key})`);
    expect(r.out).toMatch(/\[block-invalid\] block 1: block 1 does not verify: block 1: time \S+ differs from the signed block header's/);
  }, 60_000);

  it('one byte of an attachment bundle flipped (a record kept with its entry)', async () => {
    // Entries 0–9 have none (a byte 0 each); entry 10 is a record: marker, length, then its JSON.
    const r = await tampered('primary/guzheng/attachments/000', 10 + 5 + 5, audit);
    expect(r.code, r.err).toBe(1);
    expect(r.out).toMatch(/\[attachment\] entry 10: entry 10: the stored attachment does not hash to the entry's digest \(bucket object primary\/guzheng\/attachments\/000\)/);
  }, 60_000);

  it('an entry bundle deleted', async () => {
    const r = await tampered('primary/tile/entries/020', undefined, audit);
    expect(r.code, r.err).toBe(1);
    expect(r.out).toMatch(/\[tile-invalid\] entry 5120: bucket object primary\/tile\/entries\/020 is missing, although the bucket's checkpoint of size 20101 covers it/);
  }, 60_000);

  it('a partial tile of an earlier checkpoint altered: not a prefix of the current one', async () => {
    const r = await tampered('primary/tile/0/000.p/100', 32 * 50, audit);
    expect(r.code, r.err).toBe(1);
    expect(r.out).toMatch(/\[tile-invalid\] entry 0: bucket object primary\/tile\/0\/000\.p\/100, the hash tile of an earlier checkpoint \(width 100\), is not a prefix of bucket object primary\/tile\/0\/000: one of the two is not the log's/);
    const needed = await cli('audit', '--url', `s3://${BUCKET}/primary`, ...endpointArgs(), '--key', vkey, '--no-progress', '--objects', 'needed');
    expect(needed.code).toBe(0); // only what the checkpoint needs: the old tile is not read
  }, 60_000);
});

describe('guzheng monitor --url s3://BUCKET/PREFIX', () => {
  const state = () => join(dir, 'monitor.json');
  const monitor = (url = `s3://${BUCKET}/primary`, file = state()) => cli('monitor', '--url', url, ...endpointArgs(), '--key', vkey, '--state', file, '--once');

  it('follows new checkpoints; names a bad block bundle and a bad hash tile it reads', async () => {
    const first = await monitor();
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/first checkpoint: size 20101,/);
    const old = fromUtf8((await s3.get('primary/checkpoint')) as Uint8Array);
    writeFileSync(join(dir, 'old-checkpoint'), old);

    await anchor(primary, 300);
    const note = await converge(primary, 'primary');
    const grown = await monitor();
    expect(grown.code, grown.err).toBe(0);
    expect(grown.out).toMatch(/verified 20101 → 20401: consistent/);

    // The newest block's bundle: the monitor checks it on every poll, moved or not.
    const count = blocksOf(note);
    const group = (count - 1n) / 256n;
    const key = blockBundleKey('primary', { index: group, width: Number(count - group * 256n) });
    const text = fromUtf8((await s3.get(key)) as Uint8Array);
    const at = byteAt(text, text.indexOf('Z"', text.lastIndexOf('"time":"')) - 1);
    const badBlock = await tampered(key, at, monitor);
    expect(badBlock.code).toBe(1);
    // The saved head's block with another time: its signed block header says otherwise.
    expect(badBlock.err).toMatch(/the log serves blocks that do not match its signed checkpoints: BLOCK_INVALID: block 23: time \S+ differs from the signed block header's \S+ \(in primary\/guzheng\/blocks\/000\.p\/24\)/);

    // A hash tile the next consistency proof is built from.
    await anchor(primary, 300);
    const next = await converge(primary, 'primary');
    const from = sizeOf(note);
    const to = sizeOf(next);
    const id = planConsistency(from, to).ids[0];
    if (id === undefined) throw new Error('no proof nodes');
    const L = Math.floor(id.level / 8);
    const firstNode = id.index << BigInt(id.level - 8 * L);
    const n = firstNode / BigInt(TILE_WIDTH);
    const tile = `primary/${formatTilePath({ kind: 'hash', level: L, index: n, width: tileWidth(L, n, to) })}`;
    const badTile = await tampered(tile, Number(firstNode - n * BigInt(TILE_WIDTH)) * 32, monitor);
    expect(badTile.code).toBe(1);
    expect(badTile.err).toMatch(/tile-invalid: the bucket's hash tiles \(.*\) do not reproduce the signed root of size 20701/);
    expect(badTile.err).toContain(tile);
    expect((JSON.parse(readFileSync(state(), 'utf8')) as { size: string }).size).toBe('20401'); // nothing accepted
    const after = await monitor();
    expect(after.code, after.err).toBe(0);
    expect(after.out).toMatch(/verified 20401 → 20701: consistent/);
  }, 120_000);

  it('a rolled-back checkpoint in the bucket is a rollback alarm', async () => {
    const current = (await s3.get('primary/checkpoint')) as Uint8Array;
    await put('primary/checkpoint', utf8(readFileSync(join(dir, 'old-checkpoint'), 'utf8')));
    try {
      const r = await monitor();
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/rollback: .*size 20101, smaller than the accepted one of size 20701/);
    } finally {
      await put('primary/checkpoint', current);
    }
    expect((await monitor()).code).toBe(0);
  }, 60_000);

  it('a forked bucket (same key, other entries) is a conclusive fraud proof; the audit with the saved checkpoint finds the fork', async () => {
    const forkData = join(dir, 'fork');
    const { logKey } = dataPaths(forkData);
    mkdirSync(forkData, { recursive: true, mode: 0o700 });
    cpSync(dataPaths(join(dir, 'primary')).logKey, logKey);
    const fork = await start('fork', { GUZHENG_MIRROR: `s3://${BUCKET}/fork` });
    await anchor(fork, 20_800, 'f');
    await converge(fork, 'fork');
    const file = join(dir, 'fork-monitor.json');
    cpSync(state(), file);
    const r = await monitor(`s3://${BUCKET}/fork`, file);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/MISBEHAVIOUR: .*fraud proof written to/);
    const proof = JSON.parse(readFileSync(`${file}.fraud-proof.json`, 'utf8')) as unknown;
    expect(verifyFraudProof(proof, vkey)).toMatchObject({ valid: true, conclusive: true });
    expect(proof).toMatchObject({ kind: 'inconsistent', from: '20701', to: '20800' });

    const audited = await cli('audit', '--url', `s3://${BUCKET}/fork`, ...endpointArgs(), '--key', vkey, '--checkpoint', state(), '--fraud-proof', join(dir, 'audit-fraud.json'), '--no-progress');
    expect(audited.code).toBe(1);
    expect(audited.out).toMatch(/\[fork\] /);
    expect(verifyFraudProof(JSON.parse(readFileSync(join(dir, 'audit-fraud.json'), 'utf8')), vkey)).toMatchObject({ valid: true, conclusive: true });
  }, 180_000);
});
