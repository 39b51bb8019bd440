/**
 * The accept-only fast paths of the entry request bodies (src/http/routes/entries.ts) against
 * the zod schemas they shortcut: whenever a fast path accepts a body, zod accepts it too and
 * gives the same output (records compared by their canonical bytes); and well-formed bodies do
 * take the fast path, so a fast path that silently gave up on everything would fail here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { CanonicalJson } from '../../src/core/entry/jcs.js';
import { batchSchema, entryInputSchema, fastBatch, fastEntryInput } from '../../src/http/routes/entries.js';

/** Output with every CanonicalJson replaced by its bytes in hex, so outputs compare by value. */
function comparable(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (x instanceof CanonicalJson ? { canonical: toHex(x.bytes) } : x)));
}

const textArb = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '衡', '〔', '号', '😀', '\t', '\n', '\u0000', '\u007f', '\ud800', '"'), minLength: 0, maxLength: 130 });
const hexArb = fc.oneof(
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b).toUpperCase()),
  fc.string({ maxLength: 66 }),
);
const digestArb = fc.oneof(
  { weight: 5, arbitrary: fc.record({ alg: fc.constant('sha256'), hex: hexArb }) },
  { weight: 1, arbitrary: fc.record({ alg: fc.constantFrom('sm3', 'SHA256', ''), hex: hexArb }) },
  { weight: 1, arbitrary: fc.record({ alg: fc.constant('sha256'), hex: hexArb, extra: fc.anything() }) },
  { weight: 1, arbitrary: fc.anything() },
);
const sizeArb = fc.oneof(fc.nat(), fc.constantFrom(-1, 1.5, 2 ** 53, -0, Number.NaN, '5', null));
const metaArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        caseId: textArb,
        name: textArb,
        mediaType: fc.constantFrom('application/pdf', 'text/plain', 'bad', 'a/b/c', 'x'.repeat(64) + '/' + 'y'.repeat(64)),
        size: sizeArb,
        note: textArb,
        source: textArb,
        schema: textArb,
        dataTime: fc.constantFrom('2026-03-01T08:00:00+08:00', '2025-02-29T00:00:00Z', '2026-03-01T08:00:00', '2026-12-31T23:59:60Z'),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.anything() },
);
const recordArb = fc.oneof(
  { weight: 5, arbitrary: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 }) },
  { weight: 1, arbitrary: fc.anything() },
  { weight: 1, arbitrary: fc.constantFrom([1, 2], null, 'text', { n: Number.NaN }, { s: '\ud800' }, { d: new Date(0) }) },
);
const inputArb = fc.oneof(
  fc.record({ type: fc.constant('record'), record: recordArb, meta: metaArb }, { requiredKeys: ['type', 'record'] }),
  fc.record({ type: fc.constant('digest'), digest: digestArb, meta: metaArb }, { requiredKeys: ['type', 'digest'] }),
  fc.record({ type: fc.constantFrom('record', 'digest', 'document', 'hj212', 1), record: recordArb, digest: digestArb, meta: metaArb, extra: fc.anything() }, { requiredKeys: [] }),
  fc.anything(),
);
/** Well-formed inputs: the fast path must take (nearly) all of them. */
const goodInputArb = fc.oneof(
  fc.record({ type: fc.constant('record' as const), record: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 }), meta: fc.record({ caseId: fc.constantFrom('衡环罚〔2026〕12号', 'C-1'), source: fc.constant('station-7') }, { requiredKeys: [] }) }, { requiredKeys: ['type', 'record'] }),
  fc.record({ type: fc.constant('digest' as const), digest: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => ({ alg: 'sha256', hex: toHex(b) })), meta: fc.record({ name: fc.constant('a.pdf'), mediaType: fc.constant('application/pdf'), size: fc.nat() }, { requiredKeys: [] }) }, { requiredKeys: ['type', 'digest'] }),
);

/** Property: fast accepts ⇒ zod accepts with the same output. Returns whether fast accepted. */
function agrees(fast: (v: unknown) => unknown, schema: { safeParse(v: unknown): { success: boolean; data?: unknown } }, v: unknown): boolean {
  const f = fast(v);
  if (f === undefined) return false;
  const z = schema.safeParse(v);
  expect(z.success, `fast path accepted what zod rejects: ${JSON.stringify(v)}`).toBe(true);
  expect(comparable(f)).toEqual(comparable(z.data));
  return true;
}

describe('request body fast paths', () => {
  it('single entry: whenever the fast path accepts, zod accepts with the same output', () => {
    fc.assert(fc.property(inputArb, (v) => void agrees(fastEntryInput, entryInputSchema, v)), { numRuns: 1500 });
  });

  it('single entry: also after a JSON round trip (what express.json hands over)', () => {
    fc.assert(fc.property(inputArb, (v) => {
      const text = JSON.stringify(v);
      if (text !== undefined) agrees(fastEntryInput, entryInputSchema, JSON.parse(text));
    }), { numRuns: 1000 });
  });

  it('batch: whenever the fast path accepts, zod accepts with the same output, bounds included', () => {
    const max = 5;
    const fast = fastBatch(max);
    const schema = batchSchema(max);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ entries: fc.array(fc.oneof(goodInputArb, inputArb), { minLength: 0, maxLength: 7 }) }),
          fc.record({ entries: fc.array(goodInputArb, { minLength: 0, maxLength: 7 }), extra: fc.anything() }, { requiredKeys: ['entries'] }),
          fc.anything(),
        ),
        (v) => void agrees(fast, schema, v),
      ),
      { numRuns: 800 },
    );
  });

  it('takes the fast path for well-formed bodies (else it would be dead code)', () => {
    let taken = 0;
    const runs = 500;
    fc.assert(fc.property(goodInputArb, (v) => void (agrees(fastEntryInput, entryInputSchema, JSON.parse(JSON.stringify(v))) && taken++)), { numRuns: runs });
    expect(taken).toBe(runs);
    const batch = { entries: [{ type: 'digest', digest: { alg: 'sha256', hex: 'ab'.repeat(32) } }, { type: 'record', record: { pH: 7.2 }, meta: { caseId: 'C-1' } }] };
    expect(agrees(fastBatch(1000), batchSchema(1000), batch)).toBe(true);
  });

  it('leaves unusual values to zod: getters, class instances, inherited keys, holes', () => {
    const getter = { type: 'digest', get digest() { return { alg: 'sha256', hex: 'ab'.repeat(32) }; } };
    class Input { type = 'digest'; digest = { alg: 'sha256', hex: 'ab'.repeat(32) }; }
    const inherited = Object.create({ extra: 1 }) as Record<string, unknown>;
    Object.assign(inherited, { type: 'digest', digest: { alg: 'sha256', hex: 'ab'.repeat(32) } });
    for (const v of [getter, new Input(), inherited]) expect(fastEntryInput(v)).toBeUndefined();
    // eslint-disable-next-line no-sparse-arrays
    expect(fastBatch(10)({ entries: [, { type: 'digest', digest: { alg: 'sha256', hex: 'ab'.repeat(32) } }] })).toBeUndefined();
  });
});
