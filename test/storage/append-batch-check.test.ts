/**
 * checkAppendBatch (src/storage/checks.ts) runs once per entry of every flush, so it avoids a
 * bigint, a string and a closure per element. These tests hold it to the implementation it
 * replaced, kept here verbatim as the reference: on valid batches and on thousands of randomly
 * corrupted ones, both accept the same batches and refuse the others with the same error
 * (class, code and message), including at indexes around 2^32, 2^53 and 2^64 where the fast
 * path switches from numbers to bigints.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_UINT64, equalBytes, fromHex, toHex, utf8 } from '../../src/core/bytes.js';
import { sha256 } from '../../src/core/crypto.js';
import { MAX_ENTRY_SIZE } from '../../src/core/entry/codec.js';
import { badInput } from '../../src/core/errors.js';
import { CompactRange, rightEdge } from '../../src/core/merkle/compact.js';
import { hashLeaf } from '../../src/core/merkle/hash.js';
import type { NodeHash } from '../../src/core/merkle/node.js';
import { checkAppendBatch, checkDigestArg, checkHash, checkIndex, checkSecondary } from '../../src/storage/checks.js';
import type { AppendBatch } from '../../src/storage/store.js';

// ---- the reference: checkAppendBatch as it was before the fast path (verbatim) ----

function isBytes(b: unknown): b is Uint8Array {
  return b instanceof Uint8Array;
}

function popcount(n: bigint): number {
  let c = 0;
  for (let x = n; x > 0n; x &= x - 1n) c++;
  return c;
}

function storedNodeCount(size: bigint): bigint {
  return 2n * size - BigInt(popcount(size));
}

function referenceCheckAppendBatch(batch: AppendBatch, size: bigint): { end: bigint; digestBytes: Uint8Array[] } {
  if (typeof batch !== 'object' || batch === null) badInput('storage: appendBatch got a non-object, want an AppendBatch');
  checkIndex(batch.first, 'batch.first');
  if (batch.first !== size) throw new Error(`storage: appendBatch first ${batch.first}, want the stored size ${size}`);
  const { entries, leafHashes, nodes, digests, attachments } = batch;
  if (!Array.isArray(entries) || !Array.isArray(leafHashes) || !Array.isArray(nodes) || !Array.isArray(digests) || !Array.isArray(attachments)) {
    badInput('storage: appendBatch: entries, leafHashes, nodes, digests and attachments must be arrays');
  }
  if (entries.length !== leafHashes.length) {
    badInput(`storage: appendBatch got ${leafHashes.length} leaf hashes, want ${entries.length} (one per entry)`);
  }
  const first = batch.first;
  const end = first + BigInt(entries.length);
  if (end > MAX_UINT64) badInput(`storage: appendBatch would grow the log to ${end} entries, past 2^64-1`);
  entries.forEach((e, i) => {
    if (!isBytes(e)) badInput(`storage: batch.entries[${i}] got ${typeof e}, want a Uint8Array`);
    if (e.length > MAX_ENTRY_SIZE) badInput(`storage: batch.entries[${i}] got ${e.length} bytes, want at most ${MAX_ENTRY_SIZE}`);
  });
  leafHashes.forEach((h, i) => checkHash(h, `batch.leafHashes[${i}]`));

  // The nodes must be exactly those a compact range creates for leaves [first, end): every
  // perfect subtree whose last leaf is in that range, once each, leaves equal to leafHashes.
  const wantNodes = storedNodeCount(end) - storedNodeCount(first);
  if (BigInt(nodes.length) !== wantNodes) badInput(`storage: appendBatch got ${nodes.length} nodes, want ${wantNodes} for leaves [${first}, ${end})`);
  // The nodes of level L completed by leaves [first, end) are exactly indexes [first >> L, end >> L):
  // with the count right, every node in its level's range and none twice, the set is exact.
  const los: bigint[] = [];
  const seen: Uint8Array[] = [];
  nodes.forEach((n, i) => {
    if (typeof n !== 'object' || n === null) badInput(`storage: batch.nodes[${i}] got ${String(n)}, want a NodeHash`);
    const level = n.level;
    if (!Number.isInteger(level) || level < 0 || level > 63) badInput(`storage: node id got level ${String(level)}, want 0..63`);
    checkIndex(n.index, `node ${level} index`);
    checkHash(n.hash, `batch.nodes[${i}].hash`);
    let lo = los[level];
    let bits = seen[level];
    if (lo === undefined || bits === undefined) {
      const shift = BigInt(level);
      lo = first >> shift;
      los[level] = lo;
      bits = new Uint8Array(Number((end >> shift) - lo));
      seen[level] = bits;
    }
    const off = n.index - lo;
    if (off < 0n || off >= BigInt(bits.length)) badInput(`storage: batch.nodes[${i}] ${level}/${n.index} is not completed by leaves [${first}, ${end})`);
    const o = Number(off);
    if (bits[o] === 1) badInput(`storage: batch.nodes[${i}] ${level}/${n.index} appears twice`);
    bits[o] = 1;
    if (level === 0 && !equalBytes(n.hash, leafHashes[o] as Uint8Array)) {
      badInput(`storage: batch.nodes[${i}] 0/${n.index} differs from leafHashes[${o}]`);
    }
  });

  const digestBytes = digests.map((d, i) => {
    if (typeof d !== 'object' || d === null) badInput(`storage: batch.digests[${i}] got ${String(d)}, want {alg, hex, index}`);
    checkIndex(d.index, `batch.digests[${i}].index`);
    if (d.index < first || d.index >= end) badInput(`storage: batch.digests[${i}].index got ${d.index}, want in [${first}, ${end})`);
    return checkDigestArg(d.alg, d.hex, `batch.digests[${i}]`);
  });

  const attached = new Set<bigint>();
  attachments.forEach((a, i) => {
    if (typeof a !== 'object' || a === null) badInput(`storage: batch.attachments[${i}] got ${String(a)}, want {index, bytes}`);
    checkIndex(a.index, `batch.attachments[${i}].index`);
    if (a.index < first || a.index >= end) badInput(`storage: batch.attachments[${i}].index got ${a.index}, want in [${first}, ${end})`);
    if (attached.has(a.index)) badInput(`storage: batch.attachments[${i}]: a second attachment for entry ${a.index}`);
    attached.add(a.index);
    if (!isBytes(a.bytes)) badInput(`storage: batch.attachments[${i}].bytes got ${typeof a.bytes}, want a Uint8Array`);
  });
  const secondary = batch.secondary ?? [];
  if (!Array.isArray(secondary)) badInput('storage: appendBatch: secondary must be an array');
  secondary.forEach((x, i) => {
    if (typeof x !== 'object' || x === null) badInput(`storage: batch.secondary[${i}] got ${String(x)}, want {name, key, index}`);
    checkSecondary(x.name, x.key, `storage: batch.secondary[${i}]`);
    checkIndex(x.index, `batch.secondary[${i}].index`);
    if (x.index < first || x.index >= end) badInput(`storage: batch.secondary[${i}].index got ${x.index}, want in [${first}, ${end})`);
  });
  return { end, digestBytes };
}

// ---- batches ----

type Mutable<T> = { -readonly [P in keyof T]: T[P] };
type Batch = Mutable<AppendBatch> & {
  digests: Array<{ alg: string; hex: string; index: bigint }>;
  attachments: Array<{ index: bigint; bytes: Uint8Array }>;
  secondary: Array<{ name: string; key: string; index: bigint }>;
  nodes: NodeHash[];
  entries: Uint8Array[];
  leafHashes: Uint8Array[];
};

/** A valid batch of `n` entries appended to a tree of `first` leaves (its right edge made up). */
function validBatch(first: bigint, n: number, seed = 0): Batch {
  const edge = rightEdge(first).map((_, i) => sha256(utf8(`edge ${seed} ${i}`)));
  const range = CompactRange.fromRightEdge(first, edge);
  const b: Batch = { first, entries: [], leafHashes: [], nodes: [], digests: [], attachments: [], secondary: [] };
  for (let i = 0; i < n; i++) {
    const index = first + BigInt(i);
    const data = utf8(`entry ${seed} ${index}`);
    const leaf = hashLeaf(data);
    b.entries.push(data);
    b.leafHashes.push(leaf);
    b.nodes.push(...range.append(leaf));
    b.digests.push({ alg: 'sha256', hex: toHex(sha256(data)), index });
    if (i % 3 === 1) b.attachments.push({ index, bytes: utf8(`{"i":${i}}`) });
    if (i % 3 === 0) b.secondary.push({ name: 'case', key: '衡环罚〔2026〕12号', index });
  }
  return b;
}

type Outcome = { ok: true; end: bigint; digests: string[] } | { ok: false; name: string; code: unknown; message: string };

function outcome(f: () => { end: bigint; digests: string[] }): Outcome {
  try {
    return { ok: true, ...f() };
  } catch (err) {
    const e = err as Error & { code?: unknown };
    return { ok: false, name: e.name, code: e.code, message: e.message };
  }
}

function both(batch: AppendBatch, size: bigint): { fast: Outcome; reference: Outcome } {
  const fast = outcome(() => {
    const r = checkAppendBatch(batch, size);
    const digests: string[] = [];
    for (let i = 0; i < r.digestBytes.length / 32; i++) digests.push(toHex(r.digestBytes.subarray(32 * i, 32 * i + 32)));
    expect(r.digestBytes.length).toBe(32 * batch.digests.length);
    return { end: r.end, digests };
  });
  const reference = outcome(() => {
    const r = referenceCheckAppendBatch(batch, size);
    return { end: r.end, digests: r.digestBytes.map(toHex) };
  });
  return { fast, reference };
}

function expectSame(batch: AppendBatch, size: bigint = batch.first): Outcome {
  const { fast, reference } = both(batch, size);
  expect(fast).toEqual(reference);
  return fast;
}

/** The sizes where the fast path changes representation, and ordinary ones. */
const FIRSTS = [0n, 1n, 5n, 1000n, 2n ** 32n - 3n, 2n ** 53n - 7n, 2n ** 53n - 2n, 2n ** 53n + 1n, 2n ** 60n + 3n, MAX_UINT64 - 9n];

const weirdIndex = fc.oneof(
  fc.bigInt({ min: -3n, max: MAX_UINT64 + 3n }),
  fc.constantFrom(-1n, 0n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, MAX_UINT64, MAX_UINT64 + 1n),
  fc.constantFrom<unknown>(1, '1', undefined, null, 1.5),
);

/** One corruption of a batch: a function of the batch and some random numbers. */
const mutation = fc.tuple(fc.integer({ min: 0, max: 27 }), fc.nat(), fc.nat(), weirdIndex, fc.string({ maxLength: 70 }));

function mutate(b: Batch, [kind, r1, r2, wild, text]: [number, number, number, unknown, string]): void {
  // After a mutation that replaced an array, the batch is refused at once: nothing more to do.
  if (![b.entries, b.leafHashes, b.nodes, b.digests, b.attachments, b.secondary].every(Array.isArray)) return;
  const pick = <T>(xs: T[]): number => (xs.length === 0 ? -1 : r1 % xs.length);
  const n = b.nodes.length;
  switch (kind) {
    case 0: if (n > 0) b.nodes.splice(pick(b.nodes), 1); break;
    case 1: if (n > 0) b.nodes.push(b.nodes[pick(b.nodes)]!); break;
    case 2: if (n > 0) { const i = pick(b.nodes); b.nodes[i] = { ...b.nodes[i]!, index: b.nodes[i]!.index + BigInt((r2 % 5) - 2) }; } break;
    case 3: if (n > 0) { const i = pick(b.nodes); b.nodes[i] = { ...b.nodes[i]!, level: (r2 % 66) - 1 }; } break;
    case 4: if (n > 0) { const i = pick(b.nodes); b.nodes[i] = { ...b.nodes[i]!, index: wild as bigint }; } break;
    case 5: if (n > 0) { const i = pick(b.nodes); b.nodes[i] = { ...b.nodes[i]!, hash: new Uint8Array(r2 % 3 === 0 ? 31 : 32) }; } break;
    case 6: if (n > 1) { const i = pick(b.nodes); const j = r2 % n; const t = b.nodes[i]!; b.nodes[i] = b.nodes[j]!; b.nodes[j] = t; } break;
    case 7: if (b.leafHashes.length > 0) b.leafHashes[pick(b.leafHashes)] = r2 % 2 === 0 ? new Uint8Array(32).fill(r2 & 255) : new Uint8Array(r2 % 40); break;
    case 8: if (b.entries.length > 0) b.entries[pick(b.entries)] = (r2 % 3 === 0 ? 'text' : new Uint8Array(r2 % 3 === 1 ? MAX_ENTRY_SIZE + 1 : MAX_ENTRY_SIZE)) as Uint8Array; break;
    case 9: if (b.digests.length > 0) { const i = pick(b.digests); b.digests[i] = { ...b.digests[i]!, index: wild as bigint }; } break;
    case 10: if (b.digests.length > 0) { const i = pick(b.digests); b.digests[i] = { ...b.digests[i]!, hex: text }; } break;
    case 11: if (b.digests.length > 0) { const i = pick(b.digests); const h = b.digests[i]!.hex; const at = r2 % 64; b.digests[i] = { ...b.digests[i]!, hex: h.slice(0, at) + text.slice(0, 1) + h.slice(at + 1) }; } break;
    case 12: if (b.digests.length > 0) { const i = pick(b.digests); b.digests[i] = { ...b.digests[i]!, alg: r2 % 2 === 0 ? text : ['sha256', 'sm3', 'SHA256', '', 'a'.repeat(33), 'x\u0000'][r2 % 6]! }; } break;
    case 13: if (b.digests.length > 0) { const i = pick(b.digests); b.digests[i] = { ...b.digests[i]!, hex: b.digests[i]!.hex.toUpperCase() }; } break;
    case 14: if (b.attachments.length > 0) { const i = pick(b.attachments); b.attachments[i] = { ...b.attachments[i]!, index: wild as bigint }; } break;
    case 15: if (b.attachments.length > 0) b.attachments.push({ ...b.attachments[pick(b.attachments)]! }); break;
    case 16: b.attachments.push({ index: b.first + BigInt(r2 % (b.entries.length + 2)), bytes: r2 % 5 === 0 ? ('x' as unknown as Uint8Array) : utf8('a') }); break;
    case 17: if (b.secondary.length > 0) { const i = pick(b.secondary); b.secondary[i] = { ...b.secondary[i]!, key: text }; } break;
    case 18: if (b.secondary.length > 0) { const i = pick(b.secondary); b.secondary[i] = { ...b.secondary[i]!, name: r2 % 2 === 0 ? text : ['case', 'Case', 'hj212-mn', '-x', 'a'.repeat(33)][r2 % 5]! }; } break;
    case 19: if (b.secondary.length > 0) { const i = pick(b.secondary); b.secondary[i] = { ...b.secondary[i]!, index: wild as bigint }; } break;
    case 20: b.first = wild as bigint; break;
    case 21: if (b.entries.length > 0) { b.entries.pop(); } break;
    case 22: if (b.leafHashes.length > 0) { b.leafHashes.pop(); } break;
    case 23: { const arrays = ['entries', 'leafHashes', 'nodes', 'digests', 'attachments', 'secondary'] as const; (b as Record<string, unknown>)[arrays[r2 % 6]!] = r2 % 7 === 0 ? undefined : {}; } break;
    case 24: if (n > 0) (b.nodes as unknown[])[pick(b.nodes)] = [null, 3, 'n', undefined][r2 % 4]; break;
    case 25: if (b.digests.length > 0) (b.digests as unknown[])[pick(b.digests)] = [null, 3, 'd'][r2 % 3]; break;
    case 26: if (b.attachments.length > 0) (b.attachments as unknown[])[pick(b.attachments)] = [null, 3][r2 % 2]; else b.attachments.push(null as unknown as Batch['attachments'][number]); break;
    case 27: if (b.secondary.length > 0) (b.secondary as unknown[])[pick(b.secondary)] = [null, 3][r2 % 2]; break;
  }
}

describe('checkAppendBatch against the reference implementation', () => {
  it('accepts the same valid batches, with the same end and digest bytes, at every size class', () => {
    for (const first of FIRSTS) {
      for (const n of [0, 1, 2, 3, 7, 8, 33]) {
        if (first + BigInt(n) > MAX_UINT64) continue;
        const out = expectSame(validBatch(first, n));
        expect(out.ok).toBe(true);
      }
    }
  });

  it('refuses every corrupted batch the reference refuses, with the same error', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.constantFrom(...FIRSTS), fc.integer({ min: 1, max: 12 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.boolean(), (first, n, mutations, wrongSize) => {
        if (first + BigInt(n) > MAX_UINT64) return;
        const b = validBatch(first, n);
        for (const m of mutations) {
          try {
            mutate(b, m);
          } catch {
            // A mutation of an element an earlier one already replaced (e.g. by null): skip it.
          }
        }
        const out = expectSame(b, wrongSize ? first + 1n : first);
        seen.add(out.ok ? 'accepted' : out.message.replace(/\[\d+\]/g, '[i]').replace(/-?\d+/g, '#').slice(0, 48));
      }),
      { numRuns: 4000 },
    );
    // The corruptions reach the checks: many different refusals (and some harmless mutations).
    expect(seen.size).toBeGreaterThan(30);
  });

  it('decodes digest hex exactly as checkDigestArg does, and refuses what it refuses', () => {
    const hexChar = fc.constantFrom(...'0123456789abcdefABCDEFgxz \u00e9\u0100'.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: hexChar, minLength: 62, maxLength: 66 }), fc.string({ maxLength: 70 }), fc.string({ unit: hexChar, minLength: 64, maxLength: 64 })), (hex) => {
        const b = validBatch(10n, 1);
        b.digests[0] = { ...b.digests[0]!, hex };
        const out = expectSame(b);
        let want: Uint8Array | undefined;
        try {
          want = checkDigestArg('sha256', hex);
        } catch {
          want = undefined;
        }
        expect(out.ok).toBe(want !== undefined);
        if (out.ok && want !== undefined) expect(out.digests[0]).toBe(toHex(want));
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts exactly the secondary keys checkSecondary accepts (UTF-8 length without encoding)', () => {
    // Keys around 170 and 512 UTF-8 bytes made of 1-, 2-, 3- and 4-byte characters and lone surrogates.
    const unit = fc.oneof(
      fc.constantFrom('a', 'é', '衡', '😀', '\ud800', '\udfff', '\u0001', '\u007f', '\u0080'),
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
    );
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit, minLength: 150, maxLength: 540 }), fc.string({ unit, maxLength: 4 }), fc.string({ unit: fc.constantFrom('a', 'é', '衡', '😀'), minLength: 160, maxLength: 520 })), (key) => {
        const b = validBatch(3n, 2);
        b.secondary = [{ name: 'case', key, index: 3n }];
        const out = expectSame(b);
        let accepted = true;
        try {
          checkSecondary('case', key, 'x');
        } catch {
          accepted = false;
        }
        expect(out.ok).toBe(accepted);
        expect(accepted).toBe(key.length > 0 && !/[\u0000-\u001f\u007f]/.test(key) && new TextEncoder().encode(key).length <= 512);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses a node index past 2^53 while the batch ends below it (no rounding into range)', () => {
    const b = validBatch(2n ** 53n - 40n, 4);
    for (const bad of [2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 1n, 2n ** 63n]) {
      const c = { ...b, nodes: [...b.nodes.slice(0, -1), { level: 0, index: bad, hash: b.leafHashes[3]! }] };
      const out = expectSame(c);
      expect(out.ok).toBe(false);
      if (!out.ok) expect(out.message).toMatch(/is not completed by leaves/);
    }
  });

  it('refuses a sparse entries array (the reference skipped the holes: stricter, never weaker)', () => {
    const b = validBatch(0n, 2);
    const entries = new Array<Uint8Array>(2);
    entries[1] = b.entries[1]!;
    expect(() => checkAppendBatch({ ...b, entries }, 0n)).toThrow(/entries\[0\] got undefined/);
  });
});

// Used only by the reference (kept verbatim above).
void [MAX_UINT64, equalBytes, fromHex, badInput, checkHash, checkIndex, checkDigestArg, checkSecondary, MAX_ENTRY_SIZE, isBytes];
