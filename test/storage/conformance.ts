/**
 * The one storage conformance suite (STYLE.md §9, after Go sumdb/storage `TestStorage`): every
 * LedgerStore implementation runs it through a one-line caller (memory.test.ts, level.test.ts).
 * Batches are built with the real core CompactRange and hashLeaf, and the suite keeps its own
 * model of what must be stored, then checks every entry, node, attachment, digest and leaf-hash
 * lookup against it, and that proofs built from the stored nodes verify.
 */
import { describe, expect, it } from 'vitest';
import { formatBlock, sealBlock, type Block, type BlockJson } from '../../src/core/block.js';
import { MAX_UINT64, fromHex, toHex, utf8 } from '../../src/core/bytes.js';
import { signCheckpoint } from '../../src/core/checkpoint.js';
import { sha256 } from '../../src/core/crypto.js';
import { isLedgerError } from '../../src/core/errors.js';
import { CompactRange, foldRight, rightEdge } from '../../src/core/merkle/compact.js';
import { hashLeaf } from '../../src/core/merkle/hash.js';
import type { NodeHash } from '../../src/core/merkle/node.js';
import { buildProof, planConsistency, planInclusion } from '../../src/core/merkle/plan.js';
import { verifyConsistency, verifyInclusion } from '../../src/core/merkle/verify.js';
import { generateSignerKey } from '../../src/core/note.js';
import type { AppendBatch, ApiKeyRecord, LedgerStore } from '../../src/storage/store.js';

/** What a backend's factory returns for one test. */
export interface StoreHandle {
  /** A fresh, empty store. */
  store: LedgerStore;
  /** Open the same data again; the suite has already closed the previous store. Omit if volatile. */
  reopen?: () => Promise<LedgerStore>;
  /** Remove whatever the store left behind; the suite has already closed the store. */
  cleanup: () => Promise<void>;
}

const ORIGIN = 'guzheng.test/storage';
const KEYS = generateSignerKey(ORIGIN, new Uint8Array(32).fill(5));

/** What one entry of a test batch carries. */
interface EntrySpec {
  /** Leaf bytes; default `entry-<index>`. */
  data?: Uint8Array;
  /** Content the digest is computed from; default none (no digest indexed). */
  content?: string;
  /** Attachment bytes; default none. */
  attachment?: Uint8Array;
}

/** The suite's model of a log: the expected contents of the store. */
class Model {
  range = CompactRange.empty();
  readonly entries: Uint8Array[] = [];
  readonly nodes: NodeHash[] = [];
  readonly digests = new Map<string, bigint[]>();
  readonly attachments = new Map<bigint, Uint8Array>();

  get size(): bigint {
    return this.range.size;
  }

  /** Build the next batch (not yet committed to the model). */
  next(specs: readonly EntrySpec[], first: bigint = this.size): { batch: AppendBatch; commit: () => void } {
    const range = this.range.clone();
    const entries: Uint8Array[] = [];
    const leafHashes: Uint8Array[] = [];
    const nodes: NodeHash[] = [];
    const digests: Array<{ alg: string; hex: string; index: bigint }> = [];
    const attachments: Array<{ index: bigint; bytes: Uint8Array }> = [];
    specs.forEach((s, i) => {
      const index = first + BigInt(i);
      const data = s.data ?? utf8(`entry-${index}`);
      const leaf = hashLeaf(data);
      entries.push(data);
      leafHashes.push(leaf.slice());
      // The batch gets its own copies: the range keeps references to the hashes it returns.
      nodes.push(...range.append(leaf).map((n) => ({ ...n, hash: n.hash.slice() })));
      if (s.content !== undefined) digests.push({ alg: 'sha256', hex: toHex(sha256(utf8(s.content))), index });
      if (s.attachment !== undefined) attachments.push({ index, bytes: s.attachment });
    });
    const batch: AppendBatch = { first, entries, leafHashes, nodes, digests, attachments };
    const commit = (): void => {
      this.range = range;
      this.entries.push(...entries.map((e) => e.slice()));
      this.nodes.push(...nodes.map((n) => ({ ...n, hash: n.hash.slice() })));
      for (const d of digests) {
        const key = `${d.alg}:${d.hex}`;
        this.digests.set(key, [...(this.digests.get(key) ?? []), d.index]);
      }
      for (const a of attachments) this.attachments.set(a.index, a.bytes.slice());
    };
    return { batch, commit };
  }

  /** Build, append and commit a batch. */
  async append(store: LedgerStore, specs: readonly EntrySpec[]): Promise<AppendBatch> {
    const { batch, commit } = this.next(specs);
    await store.appendBatch(batch);
    commit();
    return batch;
  }
}

function plain(n: number): EntrySpec[] {
  return Array.from({ length: n }, () => ({}));
}

function u8(xs: readonly Uint8Array[]): Uint8Array[] {
  return xs.map((x) => new Uint8Array(x));
}

/** Check everything the model holds against the store. */
async function expectMatches(store: LedgerStore, model: Model): Promise<void> {
  const size = model.size;
  expect(await store.getSize()).toBe(size);
  expect(u8(await store.getEntries(0n, model.entries.length + 3))).toEqual(model.entries);
  const hashes = await store.readNodes(model.nodes);
  expect(hashes.length).toBe(model.nodes.length);
  hashes.forEach((h, i) => expect(toHex(h), `node ${model.nodes[i]?.level}/${model.nodes[i]?.index}`).toBe(toHex(model.nodes[i]!.hash)));
  for (let i = 0n; i < size + 2n; i++) {
    const want = model.attachments.get(i);
    const got = await store.getAttachment(i);
    expect(got === undefined ? undefined : new Uint8Array(got)).toEqual(want);
  }
  for (const [key, indexes] of model.digests) {
    const [alg, hex] = key.split(':') as [string, string];
    expect(await store.lookupDigest(alg, hex)).toEqual([...indexes].sort((a, b) => (a < b ? -1 : 1)));
  }
  const byLeaf = new Map<string, bigint[]>();
  model.entries.forEach((e, i) => {
    const k = toHex(hashLeaf(e));
    byLeaf.set(k, [...(byLeaf.get(k) ?? []), BigInt(i)]);
  });
  for (const [leaf, indexes] of byLeaf) {
    expect(await store.lookupLeafHash(fromHex(leaf))).toEqual(indexes);
  }
  // The stored right edge folds to the compact range's root, and proofs from stored nodes verify.
  const root = model.range.root();
  if (size > 0n) {
    expect(toHex(foldRight(await store.readNodes(rightEdge(size)))!)).toBe(toHex(root));
    for (const index of new Set([0n, size / 2n, size - 1n])) {
      const plan = planInclusion(index, size);
      const proof = buildProof(plan, await store.readNodes(plan.ids));
      verifyInclusion(index, size, hashLeaf(model.entries[Number(index)]!), proof, root);
    }
  }
}

async function expectRejects(p: Promise<unknown>, pattern: RegExp, code?: 'INPUT_INVALID'): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, `want rejection matching ${pattern}`).toBeInstanceOf(Error);
  expect((err as Error).message).toMatch(pattern);
  if (code !== undefined) expect(isLedgerError(err, code), `want ${code}, got ${String(err)}`).toBe(true);
  else expect(isLedgerError(err), `want a plain Error, got ${String(err)}`).toBe(false);
}

/**
 * Expect nothing of a refused `batch` to be visible: the size is unchanged, there is no entry at
 * it, none of the batch's digests, attachments or (all newly created) nodes exist.
 */
async function expectNothingOf(store: LedgerStore, batch: AppendBatch, size: bigint): Promise<void> {
  expect(await store.getSize()).toBe(size);
  expect(await store.getEntries(size, batch.entries.length + 1)).toEqual([]);
  for (const d of batch.digests) expect(await store.lookupDigest(d.alg, d.hex)).toEqual([]);
  for (const a of batch.attachments) expect(await store.getAttachment(a.index)).toBeUndefined();
  for (const n of batch.nodes) await expectRejects(store.readNodes([n]), /missing/);
}

function block(previous: Block | undefined, size: bigint, second: number): Block {
  return sealBlock(previous, { signer: KEYS.signerKey, size, root: sha256(utf8(`root-${size}`)), time: `2026-11-28T08:00:${String(second).padStart(2, '0')}.000Z` });
}

function chainOf(sizes: readonly bigint[]): BlockJson[] {
  const out: Block[] = [];
  sizes.forEach((s, i) => out.push(block(out.at(-1), s, i)));
  return out.map(formatBlock);
}

function apiKey(n: number, extra: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    id: `key-${n}`,
    secretHash: toHex(sha256(utf8(`secret-${n}`))),
    role: (['submit', 'audit', 'admin'] as const)[n % 3]!,
    createdAt: '2026-11-28T08:00:00.000Z',
    ...extra,
  };
}

/**
 * describeLedgerStore runs the storage conformance suite against one backend. `open` makes a
 * fresh empty store per test; with `reopen`, persistence across close/reopen is checked too.
 */
export function describeLedgerStore(name: string, open: () => Promise<StoreHandle>): void {
  /** Run `fn` on a fresh store; `reopen` closes the current store and opens the data again. */
  async function withStore(
    fn: (ctx: { store: () => LedgerStore; reopen: (() => Promise<LedgerStore>) | undefined }) => Promise<void>,
  ): Promise<void> {
    const handle = await open();
    let current = handle.store;
    const reopen = handle.reopen;
    const ctx = {
      store: () => current,
      reopen:
        reopen === undefined
          ? undefined
          : async () => {
              await current.close();
              current = await reopen();
              return current;
            },
    };
    try {
      await fn(ctx);
    } finally {
      await current.close();
      await handle.cleanup();
    }
  }

  describe(`LedgerStore conformance: ${name}`, () => {
    it('starts empty', () =>
      withStore(async ({ store }) => {
        const s = store();
        expect(await s.getSize()).toBe(0n);
        expect(await s.getEntries(0n, 10)).toEqual([]);
        expect(await s.getAttachment(0n)).toBeUndefined();
        expect(await s.readNodes([])).toEqual([]);
        await expectRejects(s.readNodes([{ level: 0, index: 0n }]), /^storage: node 0\/0 missing$/);
        expect(await s.lookupDigest('sha256', toHex(sha256(utf8('x'))))).toEqual([]);
        expect(await s.lookupLeafHash(hashLeaf(utf8('x')))).toEqual([]);
        expect(await s.getBlockCount()).toBe(0n);
        expect(await s.getBlock(0n)).toBeUndefined();
        expect(await s.getBlocks(0n, 10)).toEqual([]);
        expect(await s.getMeta('origin')).toBeUndefined();
        expect(await s.listApiKeys()).toEqual([]);
        expect(await s.getApiKeyBySecretHash(apiKey(1).secretHash)).toBeUndefined();
      }));

    it('round-trips every entry, node, attachment and lookup across batches of many sizes', () =>
      withStore(async ({ store }) => {
        const s = store();
        const model = new Model();
        let n = 0;
        for (const count of [1, 1, 2, 5, 8, 13, 1, 33]) {
          const specs = Array.from({ length: count }, (_, i): EntrySpec => {
            const k = n + i;
            return {
              content: `content-${k % 7}`,
              ...(k % 3 === 0 ? { attachment: utf8(`raw packet ${k}`) } : {}),
            };
          });
          n += count;
          await model.append(s, specs);
          await expectMatches(s, model);
        }
        expect(model.size).toBe(64n);
        // A consistency proof between two sizes, from stored nodes.
        const plan = planConsistency(30n, 64n);
        const proof = buildProof(plan, await s.readNodes(plan.ids));
        const oldRange = CompactRange.fromRightEdge(30n, await s.readNodes(rightEdge(30n)));
        verifyConsistency(30n, 64n, proof, oldRange.root(), model.range.root());
      }));

    it('refuses a batch whose first is not the size, and writes nothing', () =>
      withStore(async ({ store }) => {
        const s = store();
        const model = new Model();
        await model.append(s, plain(3));
        for (const first of [0n, 2n, 4n, 100n]) {
          const { batch } = model.next([{ content: 'c', attachment: utf8('a') }, { content: 'd' }], first);
          await expectRejects(s.appendBatch(batch), new RegExp(`^storage: appendBatch first ${first}, want the stored size 3$`));
          await expectNothingOf(s, batch, 3n);
        }
        await expectMatches(s, model);
        await model.append(s, plain(2)); // still writable
        await expectMatches(s, model);
      }));

    it('refuses a malformed batch with INPUT_INVALID naming the problem, and writes nothing', () =>
      withStore(async ({ store }) => {
        const s = store();
        const model = new Model();
        await model.append(s, plain(5));
        const good = (): AppendBatch => model.next([{ content: 'x', attachment: utf8('a') }, { content: 'y' }, {}]).batch;
        const cases: Array<[string, (b: AppendBatch) => AppendBatch, RegExp]> = [
          ['fewer leaf hashes', (b) => ({ ...b, leafHashes: b.leafHashes.slice(1) }), /got 2 leaf hashes, want 3/],
          ['short leaf hash', (b) => ({ ...b, leafHashes: [b.leafHashes[0]!.subarray(1), ...b.leafHashes.slice(1)] }), /leafHashes\[0\] got 31 bytes/],
          ['a node missing', (b) => ({ ...b, nodes: b.nodes.slice(0, -1) }), /nodes, want/],
          ['a node duplicated', (b) => ({ ...b, nodes: [...b.nodes.slice(0, -1), b.nodes[0]!] }), /appears twice/],
          ['a foreign node', (b) => ({ ...b, nodes: [...b.nodes.slice(0, -1), { level: 0, index: 2n, hash: new Uint8Array(32) }] }), /not completed by leaves \[5, 8\)/],
          ['leaf node differs from leaf hash', (b) => ({ ...b, nodes: b.nodes.map((n) => (n.level === 0 && n.index === 6n ? { ...n, hash: new Uint8Array(32) } : n)) }), /0\/6 differs/],
          ['33-byte node hash', (b) => ({ ...b, nodes: b.nodes.map((n, i) => (i === 0 ? { ...n, hash: new Uint8Array(33) } : n)) }), /nodes\[0\]\.hash got 33 bytes/],
          ['digest index past the batch', (b) => ({ ...b, digests: [{ alg: 'sha256', hex: b.digests[0]!.hex, index: 8n }] }), /digests\[0\]\.index got 8, want in \[5, 8\)/],
          ['digest index before the batch', (b) => ({ ...b, digests: [{ alg: 'sha256', hex: b.digests[0]!.hex, index: 4n }] }), /digests\[0\]\.index got 4/],
          ['uppercase digest hex', (b) => ({ ...b, digests: [{ alg: 'sha256', hex: b.digests[0]!.hex.toUpperCase(), index: 5n }] }), /digests\[0\] hex/],
          ['short digest', (b) => ({ ...b, digests: [{ alg: 'sha256', hex: 'abcd', index: 5n }] }), /got 2 bytes, want 32/],
          ['bad digest alg', (b) => ({ ...b, digests: [{ alg: 'SHA\u0000256', hex: b.digests[0]!.hex, index: 5n }] }), /digests\[0\] alg/],
          ['attachment index past the batch', (b) => ({ ...b, attachments: [{ index: 9n, bytes: utf8('a') }] }), /attachments\[0\]\.index got 9/],
          ['two attachments for one entry', (b) => ({ ...b, attachments: [...b.attachments, { index: 5n, bytes: utf8('b') }] }), /second attachment for entry 5/],
          ['oversized entry', (b) => ({ ...b, entries: [new Uint8Array(65_536), ...b.entries.slice(1)] }), /entries\[0\] got 65536 bytes, want at most 65535/],
          ['negative first', (b) => ({ ...b, first: -1n }), /batch\.first got -1/],
        ];
        for (const [what, mutate, pattern] of cases) {
          const batch = mutate(good());
          await expectRejects(s.appendBatch(batch), pattern, 'INPUT_INVALID').catch((e: unknown) => {
            throw new Error(`case "${what}": ${String(e)}`);
          });
          await expectNothingOf(s, good(), 5n);
        }
        await expectMatches(s, model);
        await model.append(s, [{ content: 'x' }]);
        await expectMatches(s, model);
      }));

    it('accepts an empty batch at the size and changes nothing', () =>
      withStore(async ({ store }) => {
        const s = store();
        const model = new Model();
        await model.append(s, plain(2));
        await s.appendBatch({ first: 2n, entries: [], leafHashes: [], nodes: [], digests: [], attachments: [] });
        await expectMatches(s, model);
        await expectRejects(s.appendBatch({ first: 1n, entries: [], leafHashes: [], nodes: [], digests: [], attachments: [] }), /first 1, want the stored size 2/);
      }));

    it('refuses a second appendBatch while one is in flight', () =>
      withStore(async ({ store }) => {
        const s = store();
        const model = new Model();
        const a = model.next(plain(4));
        const p1 = s.appendBatch(a.batch);
        const b = model.next(plain(2), 4n);
        const p2 = s.appendBatch(b.batch);
        await expectRejects(p2, /^storage: appendBatch already in flight/);
        await p1;
        a.commit();
        await expectMatches(s, model);
        await model.append(s, plain(2)); // the flag was released
        await expectMatches(s, model);
        // A refused batch also releases it.
        await expectRejects(s.appendBatch(model.next(plain(1), 0n).batch), /first 0/);
        await model.append(s, plain(1));
        expect(await s.getSize()).toBe(7n);
      }));

    it('throws naming a node that was never written (imperfect subtree, beyond the tree, huge index)', () =>
      withStore(async ({ store }) => {
        const s = store();
        const model = new Model();
        await model.append(s, plain(3));
        await expectRejects(s.readNodes([{ level: 0, index: 0n }, { level: 1, index: 1n }]), /^storage: node 1\/1 missing$/);
        await expectRejects(s.readNodes([{ level: 0, index: 3n }]), /^storage: node 0\/3 missing$/);
        await expectRejects(s.readNodes([{ level: 0, index: 1n << 40n }]), /^storage: node 0\/1099511627776 missing$/);
        await expectRejects(s.readNodes([{ level: 63, index: 1n }]), /^storage: node 63\/1 missing$/);
        await expectRejects(s.readNodes([{ level: 64, index: 0n }]), /level/, 'INPUT_INVALID');
        await expectRejects(s.readNodes([{ level: 0, index: 1n << 64n }]), /want 0 <= n < 2\^64/, 'INPUT_INVALID');
        await expectRejects(s.readNodes([{ level: 0, index: -1n }]), /got -1/, 'INPUT_INVALID');
        // Reads in any order and with repeats are fine.
        const [a, b, c] = await s.readNodes([{ level: 1, index: 0n }, { level: 0, index: 2n }, { level: 1, index: 0n }]);
        expect(toHex(a!)).toBe(toHex(c!));
        expect(toHex(b!)).toBe(toHex(hashLeaf(utf8('entry-2'))));
      }));

    it('returns fewer entries past the end, none beyond it, and checks its arguments', () =>
      withStore(async ({ store }) => {
        const s = store();
        const model = new Model();
        await model.append(s, plain(10));
        expect(u8(await s.getEntries(7n, 10))).toEqual(model.entries.slice(7));
        expect(u8(await s.getEntries(3n, 2))).toEqual(model.entries.slice(3, 5));
        expect(await s.getEntries(3n, 0)).toEqual([]);
        expect(await s.getEntries(10n, 5)).toEqual([]);
        expect(await s.getEntries(1n << 40n, 5)).toEqual([]);
        expect(await s.getEntries(MAX_UINT64, 1)).toEqual([]);
        expect(await s.getAttachment(MAX_UINT64)).toBeUndefined();
        await expectRejects(s.getEntries(1n << 64n, 1), /getEntries start/, 'INPUT_INVALID');
        await expectRejects(s.getEntries(0n, -1), /getEntries count/, 'INPUT_INVALID');
        await expectRejects(s.getEntries(0n, 1.5), /getEntries count/, 'INPUT_INVALID');
        await expectRejects(s.getAttachment(-1n), /got -1/, 'INPUT_INVALID');
      }));

    it('looks digests and leaf hashes up with every index, ascending, across batches', () =>
      withStore(async ({ store }) => {
        const s = store();
        const model = new Model();
        const dup = utf8('the same leaf bytes');
        // Within a batch the digests may be listed in any order; lookups still ascend.
        const { batch, commit } = model.next([{ content: 'A' }, { content: 'B' }, { content: 'A', data: dup }, {}, { content: 'A' }]);
        await s.appendBatch({ ...batch, digests: [...batch.digests].reverse() });
        commit();
        await model.append(s, [{ content: 'B' }, { data: dup }, { content: 'A', data: dup }]);
        await model.append(s, [{ content: 'A' }]);
        const hexA = toHex(sha256(utf8('A')));
        expect(await s.lookupDigest('sha256', hexA)).toEqual([0n, 2n, 4n, 7n, 8n]);
        expect(await s.lookupDigest('sha256', toHex(sha256(utf8('B'))))).toEqual([1n, 5n]);
        expect(await s.lookupDigest('sm3', hexA)).toEqual([]); // the algorithm is part of the key
        expect(await s.lookupLeafHash(hashLeaf(dup))).toEqual([2n, 6n, 7n]);
        await expectRejects(s.lookupDigest('sha256', hexA.toUpperCase()), /hex/, 'INPUT_INVALID');
        await expectRejects(s.lookupDigest('sha256', hexA.slice(2)), /want 32/, 'INPUT_INVALID');
        await expectRejects(s.lookupDigest('', hexA), /alg/, 'INPUT_INVALID');
        await expectRejects(s.lookupLeafHash(new Uint8Array(31)), /want 32 bytes/, 'INPUT_INVALID');
        await expectMatches(s, model);
      }));

    it('lists entries under secondary indexes, ascending, paged by start and limit', () =>
      withStore(async ({ store }) => {
        const s = store();
        const model = new Model();
        const one = model.next(plain(4));
        await s.appendBatch({
          ...one.batch,
          secondary: [
            { name: 'case', key: '衡环罚〔2026〕12号', index: 3n },
            { name: 'case', key: '衡环罚〔2026〕12号', index: 0n },
            { name: 'case', key: '衡环罚〔2026〕13号', index: 1n },
            { name: 'hj212-mn', key: '010000A8900016F000169DC0', index: 2n },
          ],
        });
        one.commit();
        const two = model.next(plain(2));
        await s.appendBatch({ ...two.batch, secondary: [{ name: 'case', key: '衡环罚〔2026〕12号', index: 5n }] });
        two.commit();
        expect(await s.lookupSecondary('case', '衡环罚〔2026〕12号', 0n, 100)).toEqual([0n, 3n, 5n]);
        expect(await s.lookupSecondary('case', '衡环罚〔2026〕12号', 1n, 1)).toEqual([3n]);
        expect(await s.lookupSecondary('case', '衡环罚〔2026〕12号', 6n, 10)).toEqual([]);
        expect(await s.lookupSecondary('case', '衡环罚〔2026〕1', 0n, 10)).toEqual([]); // no prefix matches
        expect(await s.lookupSecondary('hj212-mn', '010000A8900016F000169DC0', 0n, 10)).toEqual([2n]);
        expect(await s.lookupSecondary('case', '010000A8900016F000169DC0', 0n, 10)).toEqual([]);
        await expectRejects(s.lookupSecondary('Case', 'x', 0n, 1), /name/, 'INPUT_INVALID');
        await expectRejects(s.lookupSecondary('case', 'a\u0000b', 0n, 1), /key/, 'INPUT_INVALID');
        const bad = model.next(plain(1));
        await expectRejects(s.appendBatch({ ...bad.batch, secondary: [{ name: 'case', key: 'x', index: 0n }] }), /secondary\[0\]\.index/, 'INPUT_INVALID');
        expect(await s.getSize()).toBe(6n);
      }));

    it('copies bytes in and out: callers cannot change stored data', () =>
      withStore(async ({ store }) => {
        const s = store();
        const model = new Model();
        const { batch, commit } = model.next([{ attachment: utf8('attached') }, {}, {}]);
        await s.appendBatch(batch);
        commit();
        for (const e of batch.entries) e.fill(0xee);
        for (const n of batch.nodes) n.hash.fill(0xee);
        for (const a of batch.attachments) a.bytes.fill(0xee);
        (await s.getEntries(0n, 3)).forEach((e) => e.fill(0xdd));
        (await s.readNodes(batch.nodes)).forEach((h) => h.fill(0xdd));
        (await s.getAttachment(0n))?.fill(0xdd);
        await expectMatches(s, model);
        expect(new Uint8Array((await s.getAttachment(0n))!)).toEqual(utf8('attached'));
      }));

    it('appends and reads blocks, and refuses a wrong height', () =>
      withStore(async ({ store }) => {
        const s = store();
        const chain = chainOf([0n, 3n, 7n, 9n, 12n]);
        for (const [i, b] of chain.entries()) {
          expect(await s.getBlockCount()).toBe(BigInt(i));
          if (i > 0) await expectRejects(s.appendBlock(chain[i - 1]!), new RegExp(`height ${i - 1}, want the block count ${i}`));
          if (i + 1 < chain.length) await expectRejects(s.appendBlock(chain[i + 1]!), new RegExp(`height ${i + 1}, want the block count ${i}`));
          await s.appendBlock(b);
        }
        expect(await s.getBlockCount()).toBe(5n);
        for (const [i, b] of chain.entries()) expect(await s.getBlock(BigInt(i))).toEqual(b);
        expect(await s.getBlock(5n)).toBeUndefined();
        expect(await s.getBlock(1n << 40n)).toBeUndefined();
        expect(await s.getBlocks(0n, 100)).toEqual(chain);
        expect(await s.getBlocks(1n, 2)).toEqual(chain.slice(1, 3));
        expect(await s.getBlocks(3n, 10)).toEqual(chain.slice(3));
        expect(await s.getBlocks(5n, 10)).toEqual([]);
        expect(await s.getBlocks(2n, 0)).toEqual([]);
        await expectRejects(s.getBlock(-1n), /got -1/, 'INPUT_INVALID');
        await expectRejects(s.getBlocks(0n, -1), /limit/, 'INPUT_INVALID');
        // A malformed block is bad input, and nothing is written.
        const next = chainOf([0n, 3n, 7n, 9n, 12n, 13n])[5]!;
        await expectRejects(s.appendBlock({ ...next, prev: next.prev.toUpperCase() }), /block\.prev/, 'INPUT_INVALID');
        await expectRejects(s.appendBlock({ ...next, extra: 'x' } as BlockJson), /block/, 'INPUT_INVALID');
        expect(await s.getBlockCount()).toBe(5n);
        // Concurrent appends are refused like batches.
        const p1 = s.appendBlock(next);
        await expectRejects(s.appendBlock(next), /appendBlock already in flight/);
        await p1;
        expect(await s.getBlocks(5n, 1)).toEqual([next]);
      }));

    it('stores meta values durably and checks keys', () =>
      withStore(async ({ store }) => {
        const s = store();
        expect(await s.getMeta('origin')).toBeUndefined();
        await s.putMeta('origin', ORIGIN);
        await s.putMeta('签名密钥指纹', 'ed25519:abc');
        await s.putMeta('empty', '');
        expect(await s.getMeta('origin')).toBe(ORIGIN);
        expect(await s.getMeta('签名密钥指纹')).toBe('ed25519:abc');
        expect(await s.getMeta('empty')).toBe('');
        await s.putMeta('origin', 'other');
        expect(await s.getMeta('origin')).toBe('other');
        expect(await s.getMeta('origi')).toBeUndefined();
        await expectRejects(s.putMeta('', 'x'), /meta key/, 'INPUT_INVALID');
        await expectRejects(s.getMeta('x'.repeat(257)), /257 bytes/, 'INPUT_INVALID');
      }));

    it('stores, replaces, finds and lists API keys by secret hash', () =>
      withStore(async ({ store }) => {
        const s = store();
        const keys = [apiKey(1), apiKey(2, { label: '衡水执法一队' }), apiKey(3)];
        for (const k of keys) await s.putApiKey(k);
        for (const k of keys) expect(await s.getApiKeyBySecretHash(k.secretHash)).toEqual(k);
        const sorted = [...keys].sort((a, b) => (a.secretHash < b.secretHash ? -1 : 1));
        expect(await s.listApiKeys()).toEqual(sorted);
        const revoked = { ...keys[0]!, revokedAt: '2026-11-29T00:00:00.000Z' };
        await s.putApiKey(revoked);
        expect(await s.getApiKeyBySecretHash(revoked.secretHash)).toEqual(revoked);
        expect((await s.listApiKeys()).length).toBe(3);
        expect(await s.getApiKeyBySecretHash(apiKey(4).secretHash)).toBeUndefined();
        await expectRejects(s.putApiKey({ ...apiKey(5), role: 'root' as 'admin' }), /role/, 'INPUT_INVALID');
        await expectRejects(s.putApiKey({ ...apiKey(5), secretHash: apiKey(5).secretHash.toUpperCase() }), /secretHash/, 'INPUT_INVALID');
        await expectRejects(s.getApiKeyBySecretHash('abc'), /secretHash/, 'INPUT_INVALID');
        expect((await s.listApiKeys()).length).toBe(3);
      }));

    it('finds a key stored after the first lookup, and a revocation at the very next lookup', () =>
      withStore(async ({ store }) => {
        const s = store();
        const k = apiKey(7);
        // The first lookup may load an in-memory table (LevelStore): later writes must reach it.
        expect(await s.getApiKeyBySecretHash(k.secretHash)).toBeUndefined();
        await s.putApiKey(k);
        expect(await s.getApiKeyBySecretHash(k.secretHash)).toEqual(k);
        const revoked = { ...k, revokedAt: '2026-11-29T00:00:00.000Z' };
        await s.putApiKey(revoked);
        expect((await s.getApiKeyBySecretHash(k.secretHash))?.revokedAt).toBe(revoked.revokedAt);
      }));

    it('keeps record tables apart, ordered by UTF-8 bytes, ranged, reversed, and deletes rows', () =>
      withStore(async ({ store }) => {
        const s = store();
        await s.putRecords('users', [
          { key: 'b', value: '2' },
          { key: 'a', value: '1' },
          { key: '警官', value: '3' },
          { key: 'ab', value: '' },
        ]);
        await s.putRecords('users-x', [{ key: 'a', value: 'other table' }]);
        await s.putRecords('user', [{ key: 'zz', value: 'a prefix of users' }]);
        expect(await s.getRecord('users', 'a')).toBe('1');
        expect(await s.getRecord('users', 'ab')).toBe('');
        expect(await s.getRecord('users', 'c')).toBeUndefined();
        expect(await s.listRecords('users', { limit: 100 })).toEqual([
          { key: 'a', value: '1' },
          { key: 'ab', value: '' },
          { key: 'b', value: '2' },
          { key: '警官', value: '3' },
        ]);
        expect((await s.listRecords('users', { limit: 2, reverse: true })).map((r) => r.key)).toEqual(['警官', 'b']);
        expect((await s.listRecords('users', { gte: 'ab', lt: 'b', limit: 10 })).map((r) => r.key)).toEqual(['ab']);
        expect((await s.listRecords('users', { lt: 'b', limit: 10, reverse: true })).map((r) => r.key)).toEqual(['ab', 'a']);
        await s.putRecords('users', [{ key: 'a', value: undefined }, { key: 'b', value: 'two' }]);
        expect((await s.listRecords('users', { limit: 10 })).map((r) => `${r.key}=${r.value}`)).toEqual(['ab=', 'b=two', '警官=3']);
        expect(await s.listRecords('user', { limit: 10 })).toEqual([{ key: 'zz', value: 'a prefix of users' }]);
        await expectRejects(s.putRecords('Users', [{ key: 'a', value: '1' }]), /record table/, 'INPUT_INVALID');
        await expectRejects(s.putRecords('users', [{ key: 'ok', value: '1' }, { key: '', value: '1' }]), /record key/, 'INPUT_INVALID');
        expect(await s.getRecord('users', 'ok')).toBeUndefined();
        await expectRejects(s.putRecords('users', [{ key: 'big', value: 'x'.repeat(64 * 1024 + 1) }]), /at most 65536/, 'INPUT_INVALID');
        await expectRejects(s.listRecords('users', { limit: 0 }), /limit/, 'INPUT_INVALID');
      }));

    it('rejects every call after close', () =>
      withStore(async ({ store }) => {
        const s = store();
        await s.close();
        await expectRejects(s.getSize(), /closed/);
        await expectRejects(s.getEntries(0n, 1), /closed/);
        await expectRejects(s.appendBatch(new Model().next(plain(1)).batch), /closed/);
        await expectRejects(s.appendBlock(chainOf([0n])[0]!), /closed/);
        await s.close(); // idempotent
      }));

    it('keeps everything across close and reopen, and continues at the stored size', async (ctx) => {
      const probe = await open();
      const durable = probe.reopen !== undefined;
      await probe.store.close();
      await probe.cleanup();
      if (!durable) {
        ctx.skip();
        return;
      }
      await withStore(async ({ store, reopen }) => {
        const model = new Model();
        await model.append(store(), [{ content: 'A', attachment: utf8('raw') }, { content: 'B' }, {}]);
        await model.append(store(), plain(6));
        const chain = chainOf([0n, 3n, 9n]);
        for (const b of chain) await store().appendBlock(b);
        await store().putMeta('origin', ORIGIN);
        await store().putApiKey(apiKey(1));
        await store().putRecords('sessions', [{ key: 's1', value: '{}' }]);
        const s = await reopen!();
        expect(await s.listRecords('sessions', { limit: 5 })).toEqual([{ key: 's1', value: '{}' }]);
        await expectMatches(s, model);
        expect(await s.getBlockCount()).toBe(3n);
        expect(await s.getBlocks(0n, 10)).toEqual(chain);
        expect(await s.getMeta('origin')).toBe(ORIGIN);
        expect(await s.listApiKeys()).toEqual([apiKey(1)]);
        // The reopened store knows its size and block count: it continues, and refuses a stale first.
        await expectRejects(s.appendBatch(model.next(plain(1), 0n).batch), /first 0, want the stored size 9/);
        await model.append(s, [{ content: 'A' }, {}]);
        const next = chainOf([0n, 3n, 9n, 11n])[3]!;
        await s.appendBlock(next);
        const again = await reopen!();
        await expectMatches(again, model);
        expect(await again.lookupDigest('sha256', toHex(sha256(utf8('A'))))).toEqual([0n, 9n]);
        expect(await again.getBlock(3n)).toEqual(next);
      });
    });
  });
}
