import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Level } from 'level';
import { describe, expect, it, vi } from 'vitest';
import { formatBlock, sealBlock } from '../../src/core/block.js';
import { MAX_UINT64, toHex } from '../../src/core/bytes.js';
import { signCheckpoint } from '../../src/core/checkpoint.js';
import { generateSignerKey } from '../../src/core/note.js';
import { isLedgerError } from '../../src/core/errors.js';
import { CompactRange, rightEdge } from '../../src/core/merkle/compact.js';
import { hashLeaf } from '../../src/core/merkle/hash.js';
import {
  BLOCK_COUNT_KEY,
  PREFIX,
  SIZE_KEY,
  apiKeyKey,
  blockKey,
  decodeU64,
  digestKey,
  encodeU64,
  entryKey,
  indexOfKey,
  indexRange,
  leafHashKey,
  metaKey,
  nodeKey,
  prefixEnd,
} from '../../src/storage/keys.js';
import { LevelStore, StoreLockedError } from '../../src/storage/level.js';
import { describeLedgerStore } from './conformance.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'guzheng-store-'));
}

describeLedgerStore('LevelStore', async () => {
  const dir = tempDir();
  return { store: await LevelStore.open(dir), reopen: () => LevelStore.open(dir), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

const ROOT = resolve(import.meta.dirname, '..', '..');
const url = (path: string): string => pathToFileURL(join(ROOT, path)).href;

/** Run an ES module script in a fresh Node process with tsx, from the repo root. */
function runNode(script: string, ...args: string[]): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, '--', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function hex(b: Uint8Array): string {
  return toHex(b);
}

describe('storage keys (keys.ts)', () => {
  const values = [0n, 1n, 255n, 256n, (1n << 32n) - 1n, 1n << 32n, (1n << 40n) + 5n, 1n << 63n, MAX_UINT64 - 1n, MAX_UINT64];

  it('encodes u64 big-endian, round-trips values above 2^32, and rejects out-of-range values', () => {
    expect(hex(encodeU64(0n))).toBe('0000000000000000');
    expect(hex(encodeU64(1n << 32n))).toBe('0000000100000000');
    expect(hex(encodeU64((1n << 40n) + 5n))).toBe('0000010000000005');
    expect(hex(encodeU64(MAX_UINT64))).toBe('ffffffffffffffff');
    for (const v of values) {
      expect(decodeU64(encodeU64(v))).toBe(v);
      expect(indexOfKey(entryKey(v))).toBe(v);
      expect(indexOfKey(nodeKey(63, v))).toBe(v);
    }
    for (const bad of [-1n, 1n << 64n]) expect(() => encodeU64(bad)).toThrow(/want 0 <= n < 2\^64/);
    expect(() => decodeU64(new Uint8Array(7))).toThrow(/want 8/);
    expect(() => nodeKey(64, 0n)).toThrow(/level/);
  });

  it('orders keys bytewise exactly as their indexes order numerically', () => {
    const cmp = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);
    const shuffled = [...values].reverse();
    expect(shuffled.map(entryKey).sort(cmp).map(indexOfKey)).toEqual(values);
    // Nodes sort by level, then index.
    const nodes = [nodeKey(1, 0n), nodeKey(0, MAX_UINT64), nodeKey(0, 1n << 32n), nodeKey(2, 0n)].sort(cmp);
    expect(nodes.map((k) => `${k[1]}/${indexOfKey(k)}`)).toEqual([`0/${1n << 32n}`, `0/${MAX_UINT64}`, '1/0', '2/0']);
  });

  it('lays keys out as documented', () => {
    const digest = new Uint8Array(32).fill(0xab);
    expect(new TextDecoder().decode(SIZE_KEY)).toBe('s:size');
    expect(new TextDecoder().decode(BLOCK_COUNT_KEY)).toBe('s:blocks');
    expect(hex(entryKey(1n << 32n))).toBe('65' + '0000000100000000');
    expect(hex(nodeKey(5, 7n))).toBe('6e' + '05' + '0000000000000007');
    expect(hex(blockKey(2n))).toBe('62' + '0000000000000002');
    expect(hex(digestKey('sha256', digest, 9n))).toBe('64' + hex(new TextEncoder().encode('sha256')) + '00' + 'ab'.repeat(32) + '0000000000000009');
    expect(hex(leafHashKey(digest, 9n))).toBe('6c' + 'ab'.repeat(32) + '0000000000000009');
    expect(new TextDecoder().decode(metaKey('origin'))).toBe('m:origin');
    expect(new TextDecoder().decode(apiKeyKey('0'.repeat(64)))).toBe(`k:${'0'.repeat(64)}`);
    expect(() => digestKey('SHA256', digest, 0n)).toThrow(/alg/);
    expect(() => digestKey('sha256', digest.subarray(1), 0n)).toThrow(/want 32 bytes/);
    // Every family has its own first byte.
    const firsts = [SIZE_KEY, PREFIX.entry, PREFIX.attachment, PREFIX.node, PREFIX.digest, PREFIX.leafHash, PREFIX.block, PREFIX.meta, PREFIX.apiKey].map((k) => k[0]);
    expect(new Set(firsts).size).toBe(firsts.length);
  });

  it('computes scan bounds, including a range that runs to 2^64', () => {
    expect(hex(prefixEnd(new Uint8Array([0x64, 0x01, 0xff, 0xff])))).toBe('6402');
    expect(() => prefixEnd(new Uint8Array([0xff]))).toThrow(/bad math/);
    const all = indexRange(PREFIX.entry, MAX_UINT64, MAX_UINT64 + 1n);
    expect(hex(all.gte)).toBe('65ffffffffffffffff');
    expect(hex(all.lt)).toBe('66');
    expect(() => indexRange(PREFIX.entry, 5n, 4n)).toThrow(/want 0 <= start <= end/);
    let err: unknown;
    try {
      encodeU64(-1n);
    } catch (e) {
      err = e;
    }
    expect(isLedgerError(err, 'INPUT_INVALID')).toBe(true);
  });
});

describe('LevelStore: one writer per data directory', () => {
  it('refuses a second open in this process with STORE_LOCKED naming the directory', async () => {
    const dir = tempDir();
    try {
      const first = await LevelStore.open(dir);
      const err: unknown = await LevelStore.open(dir).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreLockedError);
      expect(err).toMatchObject({ code: 'STORE_LOCKED', dir: resolve(dir) });
      expect((err as Error).message).toBe(`data directory ${resolve(dir)} is in use by another Guzheng process (LevelDB lock held)`);
      expect(await first.getSize()).toBe(0n); // the holder is unaffected
      await first.close();
      const again = await LevelStore.open(dir); // the lock is released on close
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes another process fail fast with the message while this one holds the directory', async () => {
    const dir = tempDir();
    try {
      const holder = await LevelStore.open(dir);
      const script = `
        const { LevelStore } = await import(${JSON.stringify(url('src/storage/level.ts'))});
        try {
          await LevelStore.open(process.argv[1]);
          console.log('opened');
        } catch (err) {
          console.error(err.code + ': ' + err.message);
          process.exit(3);
        }`;
      const started = Date.now();
      const r = runNode(script, dir);
      expect(r.stdout).not.toContain('opened');
      expect(r.status).toBe(3);
      expect(r.stderr).toContain(`STORE_LOCKED: data directory ${resolve(dir)} is in use by another Guzheng process (LevelDB lock held)`);
      expect(Date.now() - started).toBeLessThan(20_000);
      await holder.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('LevelStore: acknowledged means durable', () => {
  it('fsyncs every write: one batch per appendBatch and appendBlock, sync puts for meta and keys', async () => {
    const dir = tempDir();
    // Record every batch commit (array form, or a chained batch's write()) with its options.
    type Batchy = { length: number; write: (options?: unknown) => Promise<void> };
    const commits: Array<{ ops: number; options: unknown }> = [];
    const original = Level.prototype.batch as unknown as (this: unknown, ...args: unknown[]) => unknown;
    const batch = vi.spyOn(Level.prototype, 'batch').mockImplementation(function (this: unknown, ...args: unknown[]) {
      const result = original.apply(this, args);
      if (args.length === 0) {
        const chained = result as Batchy;
        const write = chained.write.bind(chained);
        chained.write = (options?: unknown) => {
          commits.push({ ops: chained.length, options });
          return write(options);
        };
      } else {
        commits.push({ ops: (args[0] as unknown[]).length, options: args[1] });
      }
      return result as ReturnType<typeof Level.prototype.batch>;
    } as unknown as typeof Level.prototype.batch);
    const put = vi.spyOn(Level.prototype, 'put');
    try {
      const store = await LevelStore.open(dir);
      const range = CompactRange.empty();
      const data = [new TextEncoder().encode('a'), new TextEncoder().encode('b'), new TextEncoder().encode('c')];
      const leafHashes = data.map(hashLeaf);
      const nodes = range.appendAll(leafHashes);
      await store.appendBatch({ first: 0n, entries: data, leafHashes, nodes, digests: [], attachments: [] });
      const keys = generateSignerKey('guzheng.test/sync', new Uint8Array(32).fill(1));
      await store.appendBlock(formatBlock(sealBlock(undefined, { signer: keys.signerKey, size: 3n, root: range.root(), time: '2026-11-28T08:00:00.000Z' })));
      await store.putMeta('origin', 'x');
      await store.putApiKey({ id: 'k', secretHash: '0'.repeat(64), role: 'admin', createdAt: '2026-11-28T08:00:00.000Z' });
      // appendBatch (layout 2): the piece of the partial entry bundle, the piece of the partial
      // level-0 tile, s:size; no index record (the indexes lag, written unsynced later).
      // appendBlock: the block and s:blocks.
      expect(commits).toEqual([
        { ops: 1 + 1 + 1, options: { sync: true } },
        { ops: 2, options: { sync: true } },
      ]);
      // The layout marker of the new store, the meta value, the API key.
      expect(put).toHaveBeenCalledTimes(3);
      for (const call of put.mock.calls) expect(call[2]).toMatchObject({ sync: true });
      await store.close();
    } finally {
      batch.mockRestore();
      put.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps every acknowledged batch when the writer process is killed (SIGKILL) right after', async () => {
    const dir = tempDir();
    try {
      // The child appends 20 batches of 50, prints each acknowledged size, then kills itself
      // without closing the store. The parent reopens and must see all of it.
      const script = `
        const { LevelStore } = await import(${JSON.stringify(url('src/storage/level.ts'))});
        const { CompactRange } = await import(${JSON.stringify(url('src/core/merkle/compact.ts'))});
        const { hashLeaf } = await import(${JSON.stringify(url('src/core/merkle/hash.ts'))});
        const { sha256 } = await import(${JSON.stringify(url('src/core/crypto.ts'))});
        const { toHex } = await import(${JSON.stringify(url('src/core/bytes.ts'))});
        const store = await LevelStore.open(process.argv[1]);
        const range = CompactRange.empty();
        const enc = new TextEncoder();
        for (let b = 0; b < 20; b++) {
          const first = range.size;
          const entries = [], leafHashes = [], nodes = [], digests = [];
          for (let i = 0; i < 50; i++) {
            const index = first + BigInt(i);
            const data = enc.encode('entry-' + index);
            const leaf = hashLeaf(data);
            entries.push(data); leafHashes.push(leaf); nodes.push(...range.append(leaf));
            digests.push({ alg: 'sha256', hex: toHex(sha256(data)), index });
          }
          await store.appendBatch({ first, entries, leafHashes, nodes, digests, attachments: [{ index: first, bytes: enc.encode('att-' + first) }] });
          console.log('acked ' + range.size + ' ' + toHex(range.root()));
        }
        process.kill(process.pid, 'SIGKILL');`;
      const r = runNode(script, dir);
      expect(r.signal, r.stderr).toBe('SIGKILL');
      const acks = r.stdout.trim().split('\n');
      expect(acks.length).toBe(20);
      const [, size, root] = acks.at(-1)!.split(' ');
      expect(size).toBe('1000');
      const store = await LevelStore.open(dir); // the dead process's lock is gone
      try {
        expect(await store.getSize()).toBe(1000n);
        const entries = await store.getEntries(0n, 2000);
        expect(entries.length).toBe(1000);
        expect(new TextDecoder().decode(entries[999]!)).toBe('entry-999');
        const edge = await store.readNodes(rightEdge(1000n));
        expect(toHex(CompactRange.fromRightEdge(1000n, edge).root())).toBe(root);
        expect(await store.lookupLeafHash(hashLeaf(new TextEncoder().encode('entry-950')))).toEqual([950n]);
        expect(new TextDecoder().decode((await store.getAttachment(950n))!)).toBe('att-950');
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
