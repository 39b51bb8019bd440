import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromUtf8, utf8 } from '../../src/core/bytes.js';

describe('utf8 (pooled for short strings)', () => {
  it('equals TextEncoder for any string, short or long, around the pool limits', () => {
    const te = new TextEncoder();
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', minLength: 1000, maxLength: 1100 }), fc.string({ maxLength: 3000 })), (s) => {
        expect(utf8(s)).toEqual(te.encode(s));
      }),
      { numRuns: 2000 },
    );
  }, 30_000);

  it('gives every result its own bytes: writing one never changes another', () => {
    const texts = Array.from({ length: 500 }, (_, i) => `entry ${i} 衡环罚〔2026〕${i}号 😀`);
    const out = texts.map(utf8);
    out.forEach((b, i) => {
      b.fill(0x41);
      // The next slice of the pool is untouched by writing this one.
      if (i + 1 < out.length) expect(fromUtf8(out[i + 1] as Uint8Array)).toBe(texts[i + 1]);
    });
    for (const b of out) expect(b.every((x) => x === 0x41)).toBe(true);
    texts.map(utf8).forEach((b, i) => expect(fromUtf8(b)).toBe(texts[i]));
  });
});
