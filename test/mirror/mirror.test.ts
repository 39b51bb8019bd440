/**
 * The mirror (src/mirror/mirror.ts) against a real Ceph RADOS Gateway (scripts/ceph-rgw.sh), fed
 * by a real Ledger over LevelDB: mirrored at several sizes, every object in the bucket equals what
 * the service's own tile API serves (src/tiles handleTileRequest) and nothing else is there; the
 * checkpoint is written last and never over a conflicting tile; progress survives a restart;
 * radosgw SIGKILLed mid-upload and restarted: the mirror converges and loses nothing; wrong
 * credentials: a clear error in status(), nothing thrown at the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { equalBytes, fromUtf8 } from '../../src/core/bytes.js';
import { generateSignerKey } from '../../src/core/note.js';
import { digestBytes } from '../../src/core/entry/index.js';
import { formatTilePath, listTiles, parseTilePath } from '../../src/core/tiles.js';
import { Ledger, type EntryInput } from '../../src/log/ledger.js';
import { LevelStore } from '../../src/storage/level.js';
import { handleTileRequest } from '../../src/tiles/handler.js';
import { blockBundleKey, blockGroupsBetween, checkpointKey, cosignatureKey, decodeBlockBundle, stampKey } from '../../src/mirror/layout.js';
import { Mirror, type MirrorOptions, type ObjectStore } from '../../src/mirror/mirror.js';
import { MirrorConflictError, S3ObjectStore, type PutOnceResult } from '../../src/mirror/s3.js';
import { RGW_START_TIMEOUT_MS, startRgw, type Rgw } from '../support/rgw.js';
import { buildMirrorCheck, runMirrorCheck } from './go.js';

const KEYS = generateSignerKey('guzheng.test/mirror', new Uint8Array(32).fill(9));
const BUCKET = 'mirror';
/** Two witness cosignature lines (shaped as note signatures; the mirror does not check them). */
const W1 = `— witness.test/1 ${Buffer.alloc(76, 1).toString('base64')}`;
const W2 = `— witness.test/2 ${Buffer.alloc(76, 2).toString('base64')}`;

let rgw: Rgw;
let s3: S3ObjectStore;
let ledger: Ledger;
let dir: string;
let next = 0;

function doc(i: number): EntryInput {
  const bytes = new TextEncoder().encode(`mirrored document ${i}`);
  return { type: 'document', digest: digestBytes(bytes), meta: { name: `卷宗-${i}.pdf`, mediaType: 'application/pdf', size: bytes.length } };
}

/** grow appends entries until the log holds `size`, and returns the checkpoint that covers it. */
async function grow(size: number): Promise<{ size: bigint; note: string }> {
  while (next < size) {
    const n = Math.min(500, size - next);
    await ledger.append(Array.from({ length: n }, (_, k) => doc(next + k)), 'mirror-test');
    next += n;
  }
  await ledger.publisher.waitFor(BigInt(size), 20_000);
  return latest();
}

function latest(): { size: bigint; note: string } {
  const l = ledger.latest();
  return { size: l.checkpoint.checkpoint.size, note: l.block.checkpoint };
}

/** A pass-through object store that counts writes and can run a hook before one. */
class Spy implements ObjectStore {
  readonly id: string;
  puts: string[] = [];
  before: ((n: number) => Promise<void>) | undefined;
  constructor(readonly inner: ObjectStore) {
    this.id = inner.id;
  }
  async putOnce(key: string, bytes: Uint8Array, contentType: string): Promise<PutOnceResult> {
    this.puts.push(key);
    await this.before?.(this.puts.length);
    return this.inner.putOnce(key, bytes, contentType);
  }
  async putMutable(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    this.puts.push(key);
    await this.before?.(this.puts.length);
    return this.inner.putMutable(key, bytes, contentType);
  }
  get(key: string): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }
}

function mirror(prefix: string, objects: ObjectStore = s3, extra: Partial<MirrorOptions> = {}): Promise<Mirror> {
  return Mirror.open({ store: ledger.store, objects, prefix, verifier: ledger.verifierKey, ...extra });
}

/** The evidence objects the store's evidence makes (see src/mirror/evidence.ts). */
async function evidenceKeys(prefix: string): Promise<string[]> {
  const keys = (await ledger.store.listEvidence('tsa', 0n, 10_000)).map((r) => stampKey(prefix, r.height));
  for (const r of await ledger.store.listEvidence('cosig', 0n, 10_000)) {
    for (const line of JSON.parse(fromUtf8(r.value)) as string[]) keys.push(cosignatureKey(prefix, r.height, line));
  }
  return keys;
}

/**
 * checkBucket: the objects under `prefix` are exactly the tiles of every mirrored size, the block
 * bundles, the evidence objects of the store, and the checkpoint; each tile equals
 * handleTileRequest's bytes, each block bundle the stored blocks, the checkpoint `note`.
 */
async function checkBucket(prefix: string, sizes: readonly bigint[], note: string): Promise<number> {
  const top = sizes[sizes.length - 1] as bigint;
  const want = new Set<string>([checkpointKey(prefix), ...(await evidenceKeys(prefix))]);
  for (const size of sizes) for (const t of listTiles(size)) want.add(`${prefix}/${formatTilePath(t)}`);
  const blockCount = await ledger.store.getBlockCount();
  const blockKeys = new Map<string, { index: bigint; width: number }>();
  for (const g of blockGroupsBetween(0n, blockCount)) blockKeys.set(blockBundleKey(prefix, g), g);
  const got = await s3.list(`${prefix}/`);
  const tileKeys = got.filter((k) => k.startsWith(`${prefix}/tile/`));
  for (const k of got) if (k.startsWith(`${prefix}/guzheng/blocks/`)) expect(blockKeys.has(k) || partialBlockKey(k), k).toBe(true);
  expect(new Set([...got.filter((k) => !k.startsWith(`${prefix}/guzheng/blocks/`))])).toEqual(want);
  for (const key of tileKeys) {
    const path = key.slice(prefix.length + 1);
    const served = await handleTileRequest(path, { store: ledger.store, checkpointSize: top, authorized: true });
    expect(served.status, path).toBe(200);
    // (toEqual on a 50 kB Uint8Array takes 100 ms: compare the bytes, then only a mismatch in full.)
    const bytes = await s3.get(key);
    if (bytes === undefined || !equalBytes(bytes, served.body)) expect(bytes, path).toEqual(served.body);
    parseTilePath(path);
  }
  // The block bundles of the newest block count are there and hold the stored blocks.
  for (const [key, g] of blockKeys) {
    const bytes = await s3.get(key);
    expect(bytes, key).toBeDefined();
    expect(decodeBlockBundle(bytes as Uint8Array, g)).toEqual(await ledger.store.getBlocks(g.index * 256n, g.width));
  }
  expect(fromUtf8((await s3.get(checkpointKey(prefix))) as Uint8Array)).toBe(note);
  return got.length;
}

/** Block bundles of earlier passes: partial groups of fewer blocks (immutable, superseded). */
function partialBlockKey(key: string): boolean {
  return /\/guzheng\/blocks\/(x\d{3}\/)*\d{3}\.p\/\d+$/.test(key);
}

beforeAll(async () => {
  rgw = await startRgw();
  await rgw.bucket(BUCKET);
  s3 = new S3ObjectStore({ bucket: BUCKET, endpoint: rgw.endpoint, region: rgw.region, credentials: rgw });
  dir = mkdtempSync(join(tmpdir(), 'guzheng-mirror-'));
  ledger = await Ledger.open({ store: await LevelStore.open(dir), signerKey: KEYS.signerKey, checkpointIntervalMs: 5, summaries: false });
}, RGW_START_TIMEOUT_MS);

afterAll(async () => {
  await ledger?.close();
  s3?.close();
  await rgw?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('Mirror to Ceph RGW', () => {
  it('mirrors a small log at several sizes; every object equals the tile API, the checkpoint comes last', async () => {
    const spy = new Spy(s3);
    const m = await mirror('small', spy);
    const sizes: bigint[] = [];
    for (const size of [0, 1, 300, 513, 1300]) {
      const target = size === 0 ? latest() : await grow(size);
      m.notify(target);
      spy.puts = [];
      await m.sync();
      sizes.push(target.size);
      expect(spy.puts[spy.puts.length - 1]).toBe('small/checkpoint');
      expect(m.status()).toMatchObject({ state: 'ok', lagEntries: 0n, lagSeconds: 0, uploadedSize: target.size, failures: 0 });
      await checkBucket('small', sizes, target.note);
    }
    // From 513 to 1300 only the new right edge was written: no full tile twice.
    expect(spy.puts.filter((k) => k.startsWith('small/tile/0/000') || k === 'small/tile/entries/000')).toEqual([]);
    // Nothing new: a pass writes nothing.
    spy.puts = [];
    await m.sync();
    expect(spy.puts).toEqual([]);
    // Progress is durable: a new Mirror resumes at 1300 and writes only what 1400 adds.
    const again = await mirror('small', spy);
    expect(again.uploadedSize).toBe(1300n);
    const t = await grow(1400);
    again.notify(t);
    await again.sync();
    expect(spy.puts.filter((k) => k.includes('/tile/')).sort()).toEqual(['small/tile/0/005.p/120', 'small/tile/entries/005.p/120']);
    await checkBucket('small', [...sizes, t.size], t.note);
  }, 60_000);

  it('mirrors time stamps and cosignature lines as they become known, each once', async () => {
    const t = await grow(1500);
    const height = (await ledger.store.getBlockCount()) - 1n;
    const token = new TextEncoder().encode(JSON.stringify({ tsa: 'http://tsa.test/', token: 'MIIBfake' }));
    await ledger.store.putEvidence('tsa', height - 1n, token);
    await ledger.store.putEvidence('cosig', height, new TextEncoder().encode(JSON.stringify([W1])));
    const spy = new Spy(s3);
    const m = await mirror('evidence', spy);
    m.notify(t);
    await m.sync();
    const evidence = [stampKey('evidence', height - 1n), cosignatureKey('evidence', height, W1)];
    await checkBucket('evidence', [t.size], t.note);
    expect(await s3.get(evidence[0] as string)).toEqual(token);
    expect(fromUtf8((await s3.get(evidence[1] as string)) as Uint8Array)).toBe(`${W1}\n`);
    // A second witness cosigns later: only its line is written, with the checkpoint as cosigned.
    await ledger.store.putEvidence('cosig', height, new TextEncoder().encode(JSON.stringify([W1, W2])));
    spy.puts = [];
    const cosigned = { size: t.size, note: `${t.note}${W1}\n${W2}\n` };
    m.notify(cosigned);
    await m.sync();
    expect(spy.puts).toEqual([cosignatureKey('evidence', height, W2), 'evidence/checkpoint']);
    expect(fromUtf8((await s3.get('evidence/checkpoint')) as Uint8Array)).toBe(cosigned.note);
  }, 60_000);

  it('measures the upload rate of a whole log to RGW', async () => {
    const t = await grow(20_000);
    const spy = new Spy(s3);
    const m = await mirror('rate', spy);
    m.notify(t);
    const t0 = performance.now();
    await m.sync();
    const s = (performance.now() - t0) / 1000;
    console.log(`mirror: ${t.size} entries, ${spy.puts.length} objects in ${s.toFixed(2)} s: ${Math.round(Number(t.size) / s)} entries/s, ${Math.round(spy.puts.length / s)} objects/s`);
    await checkBucket('rate', [t.size], t.note);
  }, 120_000);

  it('never writes over a conflicting object, and publishes no checkpoint past it', async () => {
    const t = latest();
    await s3.putOnce('conflict/tile/0/001', new Uint8Array(32 * 256).fill(1), 'application/octet-stream');
    const m = await mirror('conflict');
    m.notify(t);
    const err = await m.sync().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MirrorConflictError);
    expect((err as MirrorConflictError).key).toBe('conflict/tile/0/001');
    expect(m.status()).toMatchObject({ state: 'failing', uploadedSize: 0n, failures: 1 });
    expect(m.status().lastError).toMatch(/conflict\/tile\/0\/001 already holds other bytes/);
    expect(await s3.get('conflict/tile/0/001')).toEqual(new Uint8Array(32 * 256).fill(1));
    expect(await s3.get('conflict/checkpoint')).toBeUndefined();
  });

  it('radosgw SIGKILLed mid-upload, then restarted: the mirror converges and loses nothing', async () => {
    const t = await grow(20_500);
    const spy = new Spy(s3);
    let killed = false;
    spy.before = async (n) => {
      if (n === 20 && !killed) {
        killed = true;
        await rgw.kill();
      }
    };
    const events: string[] = [];
    const m = await mirror('fault', spy, { concurrency: 4, backoff: { minMs: 100, maxMs: 1000 }, onEvent: (l) => events.push(l) });
    m.start();
    m.notify(t);
    const deadline = Date.now() + 30_000;
    while (m.status().state !== 'failing' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const failing = m.status();
    expect(failing.state).toBe('failing');
    expect(failing.lastError).toMatch(/cannot reach the store/);
    expect(failing.lagEntries).toBe(t.size);
    // The log goes on meanwhile.
    const t2 = await grow(20_800);
    m.notify(t2);
    expect(m.status().lagEntries).toBe(t2.size);
    await rgw.restart();
    await m.waitUploaded(t2.size, 60_000);
    await m.stop();
    expect(m.status()).toMatchObject({ state: 'ok', lagEntries: 0n, uploadedSize: t2.size, failures: 0 });
    expect(events[0]).toMatch(/^mirror: failing: /);
    expect(events[events.length - 1]).toMatch(/^mirror: recovered after \d+ failed attempts; mirrored up to 20800 entries$/);
    await checkBucket('fault', [t2.size], t2.note);
  }, 120_000);

  it('wrong credentials: failing in status() with the reason, nothing thrown at the log, which goes on', async () => {
    const wrong = new S3ObjectStore({ bucket: BUCKET, endpoint: rgw.endpoint, credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: 'wrong' } });
    const m = await mirror('creds', wrong, { backoff: { minMs: 50, maxMs: 200 } });
    m.start();
    expect(() => m.notify(latest())).not.toThrow();
    const deadline = Date.now() + 20_000;
    while (m.status().failures < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const st = m.status();
    expect(st.state).toBe('failing');
    expect(st.lastError).toMatch(/SignatureDoesNotMatch \(HTTP 403\): the store refused the credentials \(check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\)/);
    const before = next;
    const t = await grow(before + 10);
    m.notify(t);
    expect(m.status().lagEntries).toBe(t.size);
    await m.stop();
    wrong.close();
    expect(await s3.list('creds/')).toEqual([]);
  }, 60_000);
});

describe("Go's x/mod sumdb/note and sumdb/tlog on the bucket's objects", () => {
  it('verify the checkpoint, every hash tile and every entry bundle fetched from the bucket', async () => {
    const bin = buildMirrorCheck();
    const t = await grow(21_000);
    const m = await mirror('go');
    m.notify(t);
    await m.sync();
    const copy = mkdtempSync(join(tmpdir(), 'guzheng-mirror-copy-'));
    try {
      for (const key of await s3.list('go/')) {
        const file = join(copy, key.slice('go/'.length));
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, (await s3.get(key)) as Uint8Array);
      }
      const ok = runMirrorCheck(bin, ledger.verifierKey, copy);
      expect(ok.stderr).toBe('');
      // Tiles read: level 0 (82 full, 1 partial of 8), level 1 (partial of 82).
      expect(ok.stdout.trim()).toBe('ok: size 21000, 84 tiles, 21000 entries');
      expect(ok.status).toBe(0);
      // It really checks: one flipped byte in a hash tile, in an entry bundle, in the signature.
      for (const [path, at] of [
        ['tile/0/040', 100],
        ['tile/entries/040', 300],
        ['checkpoint', -10],
      ] as const) {
        const file = join(copy, path);
        const good = readFileSync(file);
        const bad = Buffer.from(good);
        const i = at < 0 ? bad.length + at : at;
        bad[i] = (bad[i] as number) ^ 1;
        writeFileSync(file, bad);
        const r = runMirrorCheck(bin, ledger.verifierKey, copy);
        expect(r.status, path).toBe(1);
        expect(r.stdout, path).toMatch(/^mirror-check: /);
        writeFileSync(file, good);
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }, 120_000);
});
