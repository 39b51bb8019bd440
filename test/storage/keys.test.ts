import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_UINT64, concatBytes, utf8 } from '../../src/core/bytes.js';
import { isLedgerError } from '../../src/core/errors.js';
import { KeyArena, PREFIX, attachmentKey, digestKey, digestPrefix, encodeU64, entryKey, leafHashKey, leafHashPrefix, nodeKey, prefixed, secondaryKey, secondaryPrefix } from '../../src/storage/keys.js';

/** The key spelled the slow, obvious way: prefix ‖ DataView u64be. */
function oracle(prefix: Uint8Array, index: bigint): Uint8Array {
  return concatBytes(prefix, encodeU64(index));
}

const u64 = fc.oneof(fc.bigInt({ min: 0n, max: MAX_UINT64 }), fc.constantFrom(0n, 1n, 255n, 256n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, MAX_UINT64));
const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('storage keys (the fast writers of keys.ts against the layout spelled out)', () => {
  it('every key family is prefix ‖ u64be(index), for every uint64', () => {
    fc.assert(
      fc.property(u64, hash, fc.integer({ min: 0, max: 63 }), (i, h, level) => {
        expect(prefixed(utf8('xy'), i)).toEqual(oracle(utf8('xy'), i));
        expect(entryKey(i)).toEqual(oracle(PREFIX.entry, i));
        expect(nodeKey(level, i)).toEqual(oracle(Uint8Array.of(PREFIX.node[0] as number, level), i));
        expect(leafHashKey(h, i)).toEqual(oracle(leafHashPrefix(h), i));
        expect(digestKey('sha256', h, i)).toEqual(oracle(digestPrefix('sha256', h), i));
        expect(secondaryKey('case', '衡环罚〔2026〕12号', i)).toEqual(oracle(secondaryPrefix('case', '衡环罚〔2026〕12号'), i));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses what the layout cannot hold, cached prefixes or not', () => {
    const bad = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return isLedgerError(err, 'INPUT_INVALID');
      }
      return false;
    };
    const h = new Uint8Array(32);
    for (let round = 0; round < 2; round++) {
      expect(bad(() => entryKey(-1n))).toBe(true);
      expect(bad(() => entryKey(MAX_UINT64 + 1n))).toBe(true);
      expect(bad(() => digestKey('SHA256', h, 0n))).toBe(true);
      expect(bad(() => digestKey('sha256', new Uint8Array(31), 0n))).toBe(true);
      expect(bad(() => leafHashKey(new Uint8Array(33), 0n))).toBe(true);
      expect(bad(() => secondaryKey('case', 'a\u0000b', 0n))).toBe(true);
      expect(bad(() => secondaryKey('Case', 'x', 0n))).toBe(true);
      // A valid pair is cached after its first use; the invalid ones above never are.
      expect(secondaryKey('case', 'x', 1n)).toEqual(oracle(secondaryPrefix('case', 'x'), 1n));
    }
  });
});

describe('KeyArena (the batch key writer of LevelStore.appendBatch)', () => {
  const safe = fc.oneof(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1));
  const name = fc.constantFrom('case', 'hj212-mn', 'x');
  const key = fc.oneof(fc.constantFrom('衡环罚〔2026〕12号', '010000A8900016F000169DC0'), fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !/[\u0000-\u001f\u007f]/.test(k)));

  it('writes byte for byte the keys of the *Key functions, for bigint and number indexes, across chunks', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(u64, safe, hash, fc.integer({ min: 0, max: 63 }), name, key), { minLength: 1, maxLength: 40 }), (rows) => {
        // A tiny arena: most keys start a new chunk; the views written before must not change.
        const arena = new KeyArena(1);
        const got: Uint8Array[] = [];
        const want: Uint8Array[] = [];
        for (const [i, n, h, level, nm, k] of rows) {
          const packed = concatBytes(new Uint8Array(5), h, new Uint8Array(3));
          got.push(arena.entry(i), arena.entry(n), arena.attachment(i), arena.attachment(n), arena.node(level, i), arena.node(level, n));
          want.push(entryKey(i), entryKey(BigInt(n)), attachmentKey(i), attachmentKey(BigInt(n)), nodeKey(level, i), nodeKey(level, BigInt(n)));
          got.push(arena.leafHash(h, i), arena.leafHash(h, n), arena.digest('sha256', packed, 5, i), arena.digest('sha256', packed, 5, n));
          want.push(leafHashKey(h, i), leafHashKey(h, BigInt(n)), digestKey('sha256', h, i), digestKey('sha256', h, BigInt(n)));
          got.push(arena.secondary(nm, k, i), arena.secondary(nm, k, n), arena.prefixed(utf8('xy'), i));
          want.push(secondaryKey(nm, k, i), secondaryKey(nm, k, BigInt(n)), prefixed(utf8('xy'), i));
        }
        expect(got).toEqual(want);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses what the *Key functions refuse, and an index number that is not a safe integer', () => {
    const bad = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return isLedgerError(err, 'INPUT_INVALID');
      }
      return false;
    };
    const a = new KeyArena(64);
    const h = new Uint8Array(32);
    for (const i of [-1, 1.5, 2 ** 53, Number.NaN, Infinity]) expect(bad(() => a.entry(i))).toBe(true);
    expect(bad(() => a.entry(-1n))).toBe(true);
    expect(bad(() => a.entry(MAX_UINT64 + 1n))).toBe(true);
    expect(bad(() => a.node(64, 0))).toBe(true);
    expect(bad(() => a.node(-1, 0))).toBe(true);
    expect(bad(() => a.leafHash(new Uint8Array(31), 0))).toBe(true);
    expect(bad(() => a.digest('SHA256', h, 0, 0))).toBe(true);
    expect(bad(() => a.digest('sha256', h, 1, 0))).toBe(true);
    expect(bad(() => a.secondary('case', 'a\u0000b', 0))).toBe(true);
    expect(bad(() => a.secondary('Case', 'x', 0))).toBe(true);
  });
});
