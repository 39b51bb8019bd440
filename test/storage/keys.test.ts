import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_UINT64, concatBytes, utf8 } from '../../src/core/bytes.js';
import { isLedgerError } from '../../src/core/errors.js';
import { PREFIX, digestKey, digestPrefix, encodeU64, entryKey, leafHashKey, leafHashPrefix, nodeKey, prefixed, secondaryKey, secondaryPrefix } from '../../src/storage/keys.js';

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
