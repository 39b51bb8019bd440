/**
 * expectMigrated: a migrated layout-2 store (src/storage/migrate.ts) holds everything its layout-1
 * source held, read through the LevelStore API against the source's raw keys (src/storage/keys.ts):
 * every entry, every stored node, every leaf-hash and digest lookup (exact index lists), every
 * attachment, secondary key, block, evidence, meta value, API key and record.
 */
import { Level } from 'level';
import { expect } from 'vitest';
import { fromUtf8, toHex } from '../../src/core/bytes.js';
import type { NodeId } from '../../src/core/merkle/node.js';
import { PREFIX, SIZE_KEY, decodeU64, indexOfKey, prefixRange } from '../../src/storage/keys.js';
import { LevelStore } from '../../src/storage/level.js';

type Rows = Array<[Uint8Array, Uint8Array]>;

async function readSource(dir: string): Promise<(prefix: Uint8Array) => Rows> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  try {
    const all = (await db.iterator().all()).map(([k, v]): [Uint8Array, Uint8Array] => [new Uint8Array(k), new Uint8Array(v)]);
    return (prefix) => all.filter(([k]) => prefix.every((b, i) => k[i] === b));
  } finally {
    await db.close();
  }
}

function group(rows: Rows, keyOf: (k: Uint8Array) => string): Map<string, bigint[]> {
  const out = new Map<string, bigint[]>();
  for (const [k] of rows) {
    const g = keyOf(k);
    out.set(g, [...(out.get(g) ?? []), indexOfKey(k)]);
  }
  return out;
}

/** expectMigrated compares the store at `migratedDir` with the layout-1 store at `sourceDir`. */
export async function expectMigrated(sourceDir: string, migratedDir: string): Promise<void> {
  const src = await readSource(sourceDir);
  const store = await LevelStore.open(migratedDir);
  try {
    const size = decodeU64((src(SIZE_KEY)[0] as [Uint8Array, Uint8Array])[1]);
    expect(await store.getSize()).toBe(size);
    const entries = src(PREFIX.entry);
    expect(BigInt(entries.length)).toBe(size);
    const stored = await store.getEntries(0n, Number(size));
    expect(stored.map(toHex)).toEqual(entries.map(([, v]) => toHex(v)));

    const nodes = src(PREFIX.node);
    expect(BigInt(nodes.length)).toBe(2n * size - BigInt(size.toString(2).replaceAll('0', '').length));
    const ids: NodeId[] = nodes.map(([k]) => ({ level: k[1] as number, index: indexOfKey(k) }));
    expect((await store.readNodes(ids)).map(toHex)).toEqual(nodes.map(([, v]) => toHex(v)));

    // Every lookup at once (the store serves concurrent reads), compared as one list.
    const leaves = [...group(src(PREFIX.leafHash), (k) => toHex(k.subarray(1, 33)))];
    expect(await Promise.all(leaves.map(([hex]) => store.lookupLeafHash(Buffer.from(hex, 'hex'))))).toEqual(leaves.map(([, indexes]) => indexes));
    const digests = [...group(src(PREFIX.digest), (k) => `${fromUtf8(k.subarray(1, k.indexOf(0)), 'alg')}:${toHex(k.subarray(k.indexOf(0) + 1, k.length - 8))}`)];
    const found = await Promise.all(digests.map(([id]) => store.lookupDigest(...(id.split(':') as [string, string]))));
    expect(found).toEqual(digests.map(([, indexes]) => indexes));
    const attachments = src(PREFIX.attachment);
    expect(attachments.length).toBeGreaterThan(0);
    const got = await Promise.all(attachments.map(([k]) => store.getAttachment(indexOfKey(k))));
    expect(got.map((a) => (a === undefined ? '' : toHex(a)))).toEqual(attachments.map(([, v]) => toHex(v)));
    expect(await store.getAttachment(0n)).toBeUndefined();
    const secondary = group(src(PREFIX.secondary), (k) => fromUtf8(k.subarray(1, k.length - 9), 'secondary'));
    expect(secondary.size).toBeGreaterThan(1);
    for (const [id, indexes] of secondary) {
      const [name, key] = id.split('\0') as [string, string];
      expect(await store.lookupSecondary(name, key, 0n, 100_000)).toEqual(indexes);
    }

    const blocks = src(PREFIX.block);
    expect(await store.getBlockCount()).toBe(BigInt(blocks.length));
    expect(await store.getBlocks(0n, blocks.length)).toEqual(blocks.map(([, v]) => JSON.parse(fromUtf8(v, 'block')) as unknown));
    const evidence = src(PREFIX.evidence);
    expect(evidence.length).toBeGreaterThan(0);
    expect((await store.listEvidence('tsa', 0n, 10_000)).map((e) => [e.height, toHex(e.value)])).toEqual(evidence.map(([k, v]) => [indexOfKey(k), toHex(v)]));
    for (const [k, v] of src(PREFIX.meta)) expect(await store.getMeta(fromUtf8(k.subarray(2), 'meta'))).toBe(fromUtf8(v, 'meta'));
    expect((await store.listApiKeys()).map((k) => JSON.stringify(k))).toEqual(src(PREFIX.apiKey).map(([, v]) => fromUtf8(v, 'key')));
    for (const table of ['users', 'admin-trail']) {
      const want = src(prefixRange(new TextEncoder().encode(`r:${table}\0`)).gte);
      expect((await store.listRecords(table, { limit: 1000 })).map((r) => r.value)).toEqual(want.map(([, v]) => fromUtf8(v, 'record')));
    }
  } finally {
    await store.close();
  }
}
