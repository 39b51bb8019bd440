/**
 * Following a mirror (src/mirror/follow.ts, restore.ts) against an in-memory bucket with the
 * write-once rule, fed by the real Mirror from a real Ledger over LevelDB: fast, so every fault
 * is tried. A restore gives a store whose log keys (entries, attachments, nodes, digest, leaf and
 * secondary indexes, blocks, evidence, size) are byte for byte the primary's and that
 * `guzheng audit` finds clean; a follower stepping after each of many checkpoints (partial groups
 * and all) ends the same; a flipped byte in a hash tile (level 0 and above), an entry bundle, a
 * block bundle or an attachment bundle, or a deleted object, stops it naming the object; a
 * checkpoint of another tree at the verified size, or a smaller one, is a fork / rollback with
 * both notes attached. The real-gateway tests are restore.test.ts and replica.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { parseBlock, sealBlock } from '../../src/core/block.js';
import { fromUtf8, toHex, utf8 } from '../../src/core/bytes.js';
import { digestBytes } from '../../src/core/entry/index.js';
import { InconsistencyError } from '../../src/core/errors.js';
import { generateSignerKey } from '../../src/core/note.js';
import { LocalSource } from '../../src/audit/local.js';
import { runAudit } from '../../src/audit/replay.js';
import { formatReport } from '../../src/audit/report.js';
import { Ledger, secondaryKeysOf, type EntryInput } from '../../src/log/ledger.js';
import { Follower } from '../../src/mirror/follow.js';
import {
  attachmentBundleKey,
  blockBundleKey,
  checkpointKey,
  cosignatureKey,
  decodeAttachmentBundle,
  encodeAttachmentBundle,
  evidenceListPrefixes,
  parseEvidenceKey,
  parseTileIndex,
  stampKey,
  tileKey,
} from '../../src/mirror/layout.js';
import { formatTileIndex } from '../../src/core/tiles.js';
import { Mirror, type ObjectStore } from '../../src/mirror/mirror.js';
import { BucketReader, MirrorObjectError, type ObjectReader } from '../../src/mirror/read.js';
import { restoreStore } from '../../src/mirror/restore.js';
import { MirrorConflictError, type PutOnceResult } from '../../src/mirror/s3.js';
import { LevelStore } from '../../src/storage/level.js';

const KEYS = generateSignerKey('guzheng.test/follow', new Uint8Array(32).fill(21));
const W1 = `— witness.test/1 ${Buffer.alloc(76, 1).toString('base64')}`;
const W2 = `— witness.test/2 ${Buffer.alloc(76, 2).toString('base64')}`;

/** An in-memory bucket: write-once puts (a conflict throws), listing in key order. */
class MemoryBucket implements ObjectStore, ObjectReader {
  readonly id = 'memory://bucket';
  readonly objects = new Map<string, Uint8Array>();
  async putOnce(key: string, bytes: Uint8Array): Promise<PutOnceResult> {
    const have = this.objects.get(key);
    if (have === undefined) {
      this.objects.set(key, bytes.slice());
      return 'written';
    }
    if (toHex(have) === toHex(bytes)) return 'present';
    throw new MirrorConflictError(key, 'x', 'y');
  }
  async putMutable(key: string, bytes: Uint8Array): Promise<void> {
    this.objects.set(key, bytes.slice());
  }
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.objects.get(key)?.slice();
  }
  async list(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  copy(): MemoryBucket {
    const b = new MemoryBucket();
    for (const [k, v] of this.objects) b.objects.set(k, v.slice());
    return b;
  }
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'guzheng-follow-'));
  dirs.push(d);
  return d;
}

/** The i-th entry: a document of a case, a record, a digest, an HJ 212 packet, in turn. */
function entry(i: number): EntryInput {
  const content = utf8(`content ${i}`);
  switch (i % 4) {
    case 0:
      return { type: 'document', digest: digestBytes(content), meta: { name: `卷宗-${i}.pdf`, mediaType: 'application/pdf', size: content.length, caseId: `衡环罚〔2026〕${i % 7}号` } };
    case 1:
      return { type: 'record', record: { station: 'HS-AQ-0001', value: `${i}.5` }, meta: { source: 'HS-AQ-0001' } };
    case 2:
      return { type: 'digest', digest: digestBytes(content), meta: { name: `IMG_${i}.jpg` } };
    default: {
      const raw = utf8(`##0101QN=2026030100000${i};ST=22;CN=2011;MN=DEV${i % 3};CP=&&&&ABCD\r\n`);
      return { type: 'hj212', raw, digest: digestBytes(raw), meta: { mn: `DEV${i % 3}`, pollutants: [], crc: { ok: true, variant: 'hj212-2017' }, parserVersion: 'test/1' } };
    }
  }
}

let primary: Ledger;
let primaryDir: string;
let bucket: MemoryBucket;
let mirror: Mirror;
let next = 0;
/** The checkpoints mirrored, in order (a follower steps through them). */
const mirrored: Array<{ size: bigint; snapshot: MemoryBucket }> = [];

async function grow(to: number, batch: number): Promise<void> {
  while (next < to) {
    const n = Math.min(batch, to - next);
    await primary.append(Array.from({ length: n }, (_, k) => entry(next + k)), 'follow-test');
    next += n;
    await primary.publisher.publishNow();
  }
}

async function mirrorNow(): Promise<void> {
  const p = await primary.latestProving();
  mirror.notify(p);
  await mirror.sync();
  mirrored.push({ size: p.size, snapshot: bucket.copy() });
}

function follower(store: LevelStore, b: ObjectReader, more: Partial<Parameters<typeof Follower.open>[0]> = {}): Promise<Follower> {
  return Follower.open({ store, reader: new BucketReader(b, 'log'), verifier: primary.verifierKey, secondaryKeysOf, commitEntries: 300, ...more });
}

/** rawLog reads every log key of a LevelDB (not the record tables), cosignature lists as sorted sets. */
async function rawLog(dir: string): Promise<Map<string, string>> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view', createIfMissing: false });
  await db.open();
  const out = new Map<string, string>();
  try {
    for await (const [k, v] of db.iterator()) {
      const text = Buffer.from(k).toString('latin1');
      const key = toHex(k);
      if ('eandlxbv'.includes(text[0] as string)) {
        out.set(key, text.startsWith('vcosig') ? JSON.stringify((JSON.parse(fromUtf8(v)) as string[]).sort()) : toHex(v));
      } else if (text.startsWith('s:')) out.set(key, toHex(v));
    }
  } finally {
    await db.close();
  }
  return out;
}

async function auditDir(dir: string): Promise<void> {
  const source = await LocalSource.open(dir);
  try {
    const report = await runAudit(source, { verifierKey: primary.verifierKey, maxProblems: 20 });
    expect(report.ok, formatReport(report)).toBe(true);
  } finally {
    await source.close();
  }
}

beforeAll(async () => {
  primaryDir = tempDir();
  primary = await Ledger.open({ store: await LevelStore.open(primaryDir), signerKey: KEYS.signerKey, checkpointIntervalMs: 60_000, summaries: false });
  bucket = new MemoryBucket();
  mirror = await Mirror.open({ store: primary.store, objects: bucket, prefix: 'log', verifier: primary.verifierKey });
  // Checkpoints at sizes that end groups early, late, exactly, and span several at once.
  for (const [to, batch] of [
    [1, 1],
    [200, 50],
    [256, 56],
    [300, 7],
    [1500, 333],
    [2100, 100],
  ] as const) {
    await grow(to, batch);
    // Evidence for some blocks: a time stamp, cosignature lines (arriving one by one).
    const h = (await primary.store.getBlockCount()) - 1n;
    await primary.stamps.record(h, { tsa: 'http://tsa.test', token: new Uint8Array(64).fill(Number(h % 200n)) });
    await primary.cosignatures.add(h, [W1]);
    await primary.cosignatures.add(h, [W2]);
    await mirrorNow();
  }
}, 120_000);

afterAll(async () => {
  await primary.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('the layout of what a restore reads', () => {
  it('attachment bundles: one spelling, decoded strictly', () => {
    const list = [undefined, utf8('{"a":1}'), new Uint8Array(0), undefined, new Uint8Array(70_000).fill(7)];
    const bytes = encodeAttachmentBundle(list);
    expect(decodeAttachmentBundle(bytes, 5)).toEqual(list);
    expect(attachmentBundleKey('p', { index: 1234n, width: 3 })).toBe('p/guzheng/attachments/x001/234.p/3');
    expect(() => decodeAttachmentBundle(bytes, 4)).toThrow(/trailing/);
    expect(() => decodeAttachmentBundle(bytes, 6)).toThrow(/got 5 entries, want 6/);
    expect(() => decodeAttachmentBundle(bytes.subarray(0, bytes.length - 1), 5)).toThrow(/want 70000/);
    expect(() => decodeAttachmentBundle(Uint8Array.of(2), 1)).toThrow(/marker 2/);
  });

  it('evidence names parse back, and list prefixes cover a window without walking the folder', () => {
    for (const n of [0n, 7n, 999n, 1000n, 1234n, 999_999n, 1_000_000n, 1_234_567n]) expect(parseTileIndex(formatTileIndex(n))).toBe(n);
    for (const bad of ['7', '0007', 'x000/007', 'x1/234', '001/234', '']) expect(parseTileIndex(bad)).toBeUndefined();
    expect(parseEvidenceKey('p', 'tsa', stampKey('p', 1234n))).toEqual({ height: 1234n });
    const line = '— w1 abc';
    const c = parseEvidenceKey('p', 'cosignatures', cosignatureKey('p', 5n, line));
    expect(c?.height).toBe(5n);
    expect(c?.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(parseEvidenceKey('p', 'tsa', 'p/guzheng/tsa/stray.txt')).toBeUndefined();
    expect(evidenceListPrefixes('p', 'tsa', 0n, 1n)).toEqual(['p/guzheng/tsa/0']);
    expect(evidenceListPrefixes('p', 'tsa', 950n, 2100n)).toEqual(['p/guzheng/tsa/9', 'p/guzheng/tsa/x001/', 'p/guzheng/tsa/x002/']);
    expect(evidenceListPrefixes('p', 'cosignatures', 1_233_500n, 1_234_524n)).toEqual(['p/guzheng/cosignatures/x001/x233/', 'p/guzheng/cosignatures/x001/x234/']);
    // Every height of a window is under one of its prefixes.
    for (const [from, to] of [[0n, 1024n], [500n, 1524n], [99_000n, 100_024n]] as const) {
      const prefixes = evidenceListPrefixes('p', 'tsa', from, to);
      for (let h = from; h < to; h += 7n) expect(prefixes.some((x) => stampKey('p', h).startsWith(x)), `${h}`).toBe(true);
    }
  });
});

describe('restore from the mirror', () => {
  it('rebuilds a store byte for byte the primary\'s that the audit finds clean', async () => {
    const dir = tempDir();
    const store = await LevelStore.open(dir);
    const r = await restoreStore({ store, reader: new BucketReader(bucket, 'log'), verifier: primary.verifierKey, secondaryKeysOf, commitEntries: 500 });
    expect(r.size).toBe(primary.sequencer.size);
    expect(r.blocks).toBe(await primary.store.getBlockCount());
    expect(r.attachments).toBe(next / 2);
    expect(r.stamps).toBe(mirrored.length);
    expect(r.cosignatures).toBe(2 * mirrored.length);
    await store.close();
    // Close the primary's store to read it raw, then reopen.
    const want = await (async () => {
      await primary.close();
      const m = await rawLog(primaryDir);
      primary = await Ledger.open({ store: await LevelStore.open(primaryDir), signerKey: KEYS.signerKey, checkpointIntervalMs: 60_000, summaries: false });
      mirror = await Mirror.open({ store: primary.store, objects: bucket, prefix: 'log', verifier: primary.verifierKey });
      return m;
    })();
    const got = await rawLog(dir);
    expect([...got.keys()].length).toBe([...want.keys()].length);
    for (const [k, v] of want) if (got.get(k) !== v) expect({ key: k, value: got.get(k) }).toEqual({ key: k, value: v });
    await auditDir(dir);
  });

  it('a follower stepping through every mirrored checkpoint ends where the restore does', async () => {
    const dir = tempDir();
    const store = await LevelStore.open(dir);
    let f = await follower(store, mirrored[0]!.snapshot);
    for (const m of mirrored) {
      // Reopened now and then: its state is the store's.
      if (m.size % 2n === 0n) f = await follower(store, m.snapshot);
      else f = await follower(store, m.snapshot, {});
      const r = await f.step();
      expect(r.to).toBe(m.size);
      const again = await f.step();
      expect(again.to).toBe(again.from);
      await f.syncEvidence(0n);
    }
    expect(await store.getSize()).toBe(primary.sequencer.size);
    expect(await store.lookupSecondary('hj212-mn', 'DEV1', 0n, 10)).toEqual(await primary.store.lookupSecondary('hj212-mn', 'DEV1', 0n, 10));
    await store.close();
    await auditDir(dir);
  });
});

describe('a damaged bucket', () => {
  const size = () => mirrored[mirrored.length - 1]!.size;

  /** restoreFails restores from a copy of the bucket changed by `damage`, and returns the error. */
  async function restoreFails(damage: (b: MemoryBucket) => void): Promise<unknown> {
    const b = bucket.copy();
    damage(b);
    const store = await LevelStore.open(tempDir());
    try {
      await restoreStore({ store, reader: new BucketReader(b, 'log'), verifier: primary.verifierKey, secondaryKeysOf, commitEntries: 300 });
      return undefined;
    } catch (err) {
      return err;
    } finally {
      await store.close();
    }
  }

  function flip(b: MemoryBucket, key: string, at = 10): void {
    const v = b.objects.get(key);
    if (v === undefined) throw new Error(`no object ${key}`);
    v[at] = (v[at] as number) ^ 1;
  }

  it('names an altered hash tile, at level 0 and above', async () => {
    for (const t of [
      { kind: 'hash', level: 0, index: 2n, width: 256 },
      { kind: 'hash', level: 1, index: 0n, width: Number(size() / 256n) },
      { kind: 'hash', level: 0, index: size() / 256n, width: Number(size() % 256n) },
    ] as const) {
      const key = tileKey('log', t);
      const err = await restoreFails((b) => flip(b, key));
      expect(err, key).toBeInstanceOf(MirrorObjectError);
      expect((err as MirrorObjectError).key).toBe(key);
      expect((err as Error).message).toMatch(/hash tile .* is altered/);
    }
  });

  it('names an altered entry bundle, block bundle or attachment bundle', async () => {
    const entries = tileKey('log', { kind: 'entries', index: 3n, width: 256 });
    let err = await restoreFails((b) => {
      // Change a digit inside an entry (it still decodes): the root tells.
      const v = b.objects.get(entries) as Uint8Array;
      const at = Buffer.from(v).indexOf('"receivedAt":"2') + 20;
      v[at] = (v[at] as number) === 0x31 ? 0x32 : 0x31;
    });
    expect((err as MirrorObjectError).key).toBe(entries);
    const blocks = blockBundleKey('log', { index: 0n, width: Number(await primary.store.getBlockCount()) });
    err = await restoreFails((b) => flip(b, blocks, 200));
    expect((err as MirrorObjectError).key).toBe(blocks);
    const atts = attachmentBundleKey('log', { index: 1n, width: 256 });
    err = await restoreFails((b) => {
      const v = b.objects.get(atts) as Uint8Array;
      const list = decodeAttachmentBundle(v, 256);
      const k = list.findIndex((a) => a !== undefined);
      const a = list[k] as Uint8Array;
      a[a.length - 3] = (a[a.length - 3] as number) ^ 1;
    });
    expect((err as MirrorObjectError).key).toBe(atts);
    expect((err as Error).message).toMatch(/does not hash to its digest/);
  });

  it('names a deleted object', async () => {
    for (const key of [tileKey('log', { kind: 'entries', index: 1n, width: 256 }), tileKey('log', { kind: 'hash', level: 0, index: 4n, width: 256 }), attachmentBundleKey('log', { index: 0n, width: 256 })]) {
      const err = await restoreFails((b) => b.objects.delete(key));
      expect(err, key).toBeInstanceOf(MirrorObjectError);
      expect((err as MirrorObjectError).code).toBe('MIRROR_OBJECT_MISSING');
      expect((err as MirrorObjectError).key).toBe(key);
    }
  });

  it('a fork (another root at the verified size) and a rollback stop a follower with both checkpoints', async () => {
    const store = await LevelStore.open(tempDir());
    const f = await follower(store, bucket);
    await f.step();
    const verified = f.verified!;
    const last = parseBlock((await primary.store.getBlock(verified.blocks - 1n))!);
    const prev = parseBlock((await primary.store.getBlock(verified.blocks - 2n))!);
    // The log's key signs another tree of the same size, as the same block.
    const forked = sealBlock(prev, { signer: KEYS.signerKey, size: verified.size, root: new Uint8Array(32).fill(7), time: last.time });
    const b = bucket.copy();
    b.objects.set(checkpointKey('log'), utf8(forked.checkpoint));
    const fork = await (await follower(store, b)).step().catch((e: unknown) => e);
    expect(fork).toBeInstanceOf(InconsistencyError);
    expect((fork as InconsistencyError).smaller).toBe(verified.note);
    expect((fork as InconsistencyError).larger).toBe(forked.checkpoint);
    b.objects.set(checkpointKey('log'), utf8(mirrored[2]!.snapshot.objects.has(checkpointKey('log')) ? fromUtf8(mirrored[2]!.snapshot.objects.get(checkpointKey('log'))!) : ''));
    const rollback = await (await follower(store, b)).step().catch((e: unknown) => e);
    expect(rollback).toBeInstanceOf(InconsistencyError);
    expect((rollback as Error).message).toMatch(/went back/);
    await store.close();
  });
});
