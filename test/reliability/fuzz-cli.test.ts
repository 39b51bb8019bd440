/**
 * Hostile input to the offline verifier and `guzheng verify`. Real receipts, bundles, tlog-proofs,
 * checkpoints, signed notes, blocks and verifier keys (from the MiniLog of the vectors) are mangled
 * by fast-check: bytes changed, slices cut, doubled or moved, junk inserted, lines swapped,
 * numbers made huge, negative or non-canonical, JSON values replaced anywhere in the tree. Every
 * parser must either accept or throw a coded LedgerError (never a TypeError, RangeError or stack
 * overflow), every verifier must return a report, and a mangled document that still verifies must
 * prove exactly what the original proved. Then a few real `guzheng verify` runs with garbage:
 * exit 1 or 2 with a message, never a stack trace.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBlock, parseBlock } from '../../src/core/block.js';
import { parseBundle } from '../../src/core/bundle.js';
import { openCheckpoint, parseCheckpoint } from '../../src/core/checkpoint.js';
import { encodeEntry } from '../../src/core/entry/index.js';
import { isLedgerError, LedgerError } from '../../src/core/errors.js';
import { openNote, parseVerifierKey } from '../../src/core/note.js';
import { parseReceipt } from '../../src/core/receipt.js';
import { parseTlogProof, receiptToTlogProof } from '../../src/core/tlog-proof.js';
import { readProofDocument, verifyDocument, verifyReceipt, verifyTlogProof, type DocumentReport } from '../../src/verifier/index.js';
import { TEST_KEYS, content } from '../../scripts/vectors/mini-log.js';
import { setup } from '../support/bundles.js';
import { BIN, ROOT } from './helpers.js';

const RUNS = Number(process.env.GUZHENG_FUZZ_RUNS ?? 150);
const { log, bundle } = setup();
const receipt = log.receipt(3n);
const receiptText = JSON.stringify(receipt, null, 2);
const bundleText = JSON.stringify(bundle);
const entryBytes = encodeEntry(log.entries[3]!);
const tlogProof = receiptToTlogProof(parseReceipt(receipt));
const note = receipt.checkpoint;
const blockText = JSON.stringify(formatBlock(log.blocks[1]!));
const key = TEST_KEYS.verifierKey;
const pinned = { trustedKeys: [key] };

/** expectCoded runs `f`: it may return, or throw a LedgerError; anything else fails the property. */
function coded<T>(f: () => T, what: string): T | undefined {
  try {
    return f();
  } catch (err) {
    if (isLedgerError(err)) return undefined;
    throw new Error(`${what} threw a non-coded ${(err as Error)?.name}: ${(err as Error)?.message}`, { cause: err });
  }
}

/** Text mutations: each one edit of the original. */
function mangled(text: string): fc.Arbitrary<string> {
  const at = fc.nat({ max: Math.max(0, text.length - 1) });
  const junk = fc.oneof(fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 8 }), fc.constantFrom('\n', '\r\n', '\u0000', '\ufeff', '\ud800', '—', '+', '=', '"', '{', '}', '[', ']', ',', '-1', '01', '1e3', '18446744073709551616', '99999999999999999999999', '\\u0000'));
  return fc.oneof(
    fc.tuple(at, fc.integer({ min: 1, max: 0xffff })).map(([i, c]) => text.slice(0, i) + String.fromCharCode(c) + text.slice(i + 1)),
    fc.tuple(at, fc.constantFrom(-1, 1)).map(([i, d]) => text.slice(0, i) + String.fromCharCode((text.charCodeAt(i) + d) & 0xffff) + text.slice(i + 1)),
    fc.tuple(at, at).map(([a, b]) => text.slice(0, Math.min(a, b)) + text.slice(Math.max(a, b))),
    fc.tuple(at, at, at).map(([a, b, c]) => text.slice(0, c) + text.slice(Math.min(a, b), Math.max(a, b)) + text.slice(c)),
    fc.tuple(at, junk).map(([i, j]) => text.slice(0, i) + j + text.slice(i)),
    at.map((i) => text.slice(0, i)),
    fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => {
      const lines = text.split('\n');
      const i = a % lines.length;
      const j = b % lines.length;
      [lines[i], lines[j]] = [lines[j] as string, lines[i] as string];
      return lines.join('\n');
    }),
    fc.constantFrom('', ' ', '\n', '{}', '[]', 'null', '"x"', text + text, text.toUpperCase(), text.replace(/\n/g, '\r\n'), text.replace(/[0-9]+/, '18446744073709551616')),
  );
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path into a JSON value. */
function paths(v: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

function replaceAt(v: Json, path: ReadonlyArray<string | number>, by: Json | undefined): Json {
  if (path.length === 0) return by ?? null;
  const [head, ...rest] = path;
  if (Array.isArray(v)) {
    const copy = [...v];
    if (by === undefined && rest.length === 0) copy.splice(head as number, 1);
    else copy[head as number] = replaceAt(v[head as number] as Json, rest, by);
    return copy;
  }
  const copy: { [k: string]: Json } = { ...(v as { [k: string]: Json }) };
  if (by === undefined && rest.length === 0) delete copy[head as string];
  else copy[head as string] = replaceAt(copy[head as string] as Json, rest, by);
  return copy;
}

/** Structured mutations of a JSON document: one value replaced or removed, anywhere in the tree. */
function mangledJson(value: Json): fc.Arbitrary<Json> {
  const all = paths(value);
  const by = fc.oneof(
    fc.constantFrom<Json | undefined>(undefined, null, true, 0, -1, 1e308, -0, 1.5, '', '0', '-1', '01', '18446744073709551616', 'a'.repeat(64), 'A'.repeat(64), [], {}, ['x'], '\ud800', 'x'.repeat(10_000)),
    fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  );
  return fc.tuple(fc.nat({ max: all.length - 1 }), by).map(([i, b]) => replaceAt(value, all[i] as Array<string | number>, b));
}

/** What a report says was proved: a mangled document that still verifies must say the same. */
function proved(r: { valid: boolean; facts: { index?: string; leafHash?: string; treeSize?: string; rootHash?: string } }): string {
  return JSON.stringify([r.facts.index, r.facts.leafHash, r.facts.treeSize, r.facts.rootHash]);
}
const receiptClaim = proved(await verifyReceipt(receipt, pinned));
const bundleReport = await verifyDocument(readProofDocument(bundleText), { ...pinned, files: [] });

async function checkDocument(input: unknown): Promise<void> {
  const doc = coded(() => readProofDocument(input), 'readProofDocument');
  if (doc === undefined) return;
  let report: DocumentReport;
  try {
    report = await verifyDocument(doc, { ...pinned, files: [], ...(doc.kind === 'tlog-proof' ? { entry: entryBytes } : {}) });
  } catch (err) {
    if (isLedgerError(err, 'INPUT_INVALID')) return; // documented: bad options (e.g. no entry)
    throw err;
  }
  expect(typeof report.valid).toBe('boolean');
  if (!report.valid) return;
  if (report.kind === 'bundle') {
    expect(report.facts.treeSize).toBe(bundleReport.facts.treeSize);
    if (bundleReport.kind !== 'bundle') throw new Error('want a bundle report');
    expect(report.items.map((i) => i.index)).toEqual(bundleReport.items.map((i) => i.index));
  } else {
    expect(proved(report)).toBe(receiptClaim);
  }
}

describe('the verifier and parsers under mangled input', () => {
  it('receipts (as text and as JSON values): a coded error or a report; valid only if it proves the same', async () => {
    await fc.assert(fc.asyncProperty(mangled(receiptText), (t) => checkDocument(t)), { numRuns: RUNS });
    await fc.assert(
      fc.asyncProperty(mangledJson(receipt as unknown as Json), async (v) => {
        await checkDocument(v);
        const r = await verifyReceipt(v, pinned);
        if (r.valid) expect(proved(r)).toBe(receiptClaim);
        coded(() => parseReceipt(v), 'parseReceipt');
      }),
      { numRuns: RUNS },
    );
  });

  it('bundles: a coded error or a report', async () => {
    await fc.assert(fc.asyncProperty(mangled(bundleText), (t) => checkDocument(t)), { numRuns: RUNS / 3 });
    await fc.assert(
      fc.asyncProperty(mangledJson(bundle as unknown as Json), async (v) => {
        await checkDocument(v);
        coded(() => parseBundle(v), 'parseBundle');
      }),
      { numRuns: RUNS / 3 },
    );
  });

  it('tlog-proofs: a coded error or a report; valid only if it proves the same', async () => {
    await fc.assert(
      fc.asyncProperty(mangled(tlogProof), fc.option(fc.uint8Array({ maxLength: 64 })), async (t, junkEntry) => {
        coded(() => parseTlogProof(t), 'parseTlogProof');
        await checkDocument(t);
        const r = await verifyTlogProof(t, junkEntry ?? entryBytes, pinned);
        if (r.valid) expect(proved(r)).toBe(receiptClaim);
      }),
      { numRuns: RUNS },
    );
  });

  it('checkpoints and signed notes: a coded error, or exactly the signed content', async () => {
    const original = openCheckpoint(note, key).checkpoint;
    fc.assert(
      fc.property(mangled(note), (t) => {
        coded(() => parseCheckpoint(t), 'parseCheckpoint');
        coded(() => openNote(t, [key]), 'openNote');
        const opened = coded(() => openCheckpoint(t, key), 'openCheckpoint');
        if (opened !== undefined) {
          expect(opened.checkpoint.size).toBe(original.size);
          expect(opened.checkpoint.root).toEqual(original.root);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('verifier keys and blocks: a coded error or a value', async () => {
    fc.assert(fc.property(mangled(key), (t) => void coded(() => parseVerifierKey(t), 'parseVerifierKey')), { numRuns: RUNS });
    fc.assert(
      fc.property(mangled(blockText), (t) => {
        let json: unknown;
        try {
          json = JSON.parse(t);
        } catch {
          return;
        }
        coded(() => parseBlock(json), 'parseBlock');
      }),
      { numRuns: RUNS },
    );
    fc.assert(fc.property(mangledJson(JSON.parse(blockText) as Json), (v) => void coded(() => parseBlock(v), 'parseBlock')), { numRuns: RUNS });
  });

  it('deep and huge inputs: coded errors, no stack overflow', async () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    for (const input of [deep, JSON.parse(deep) as unknown, '{"format":"guzheng-receipt/v1"' + ',"x":1'.repeat(100_000) + '}', 'x'.repeat(5_000_000), 'c2sp.org/tlog-proof@v1\n' + 'a\n'.repeat(200_000)]) {
      checkDocument(input);
    }
    expect(() => readProofDocument(deep)).toThrow(LedgerError);
  });
});

describe('guzheng verify with garbage (child processes)', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'guzheng-fuzz-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'verify', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('exits 1 or 2 with a message and never prints a stack trace', async () => {
    const file = (name: string, data: string | Uint8Array) => {
      const p = join(dir, name);
      writeFileSync(p, data);
      return p;
    };
    const flipped = receiptText.replace(/"inclusionProof": \[\n\s+"(.)/, (m, c: string) => m.slice(0, -1) + (c === 'a' ? 'b' : 'a'));
    const cases: Array<{ args: string[]; want: number[] }> = [
      { args: ['--receipt', file('bytes.bin', new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28])), '--key', key], want: [2] },
      { args: ['--receipt', file('flipped.json', flipped), '--key', key], want: [1] },
      { args: ['--receipt', file('deep.json', '['.repeat(10_000) + ']'.repeat(10_000)), '--key', key], want: [2] },
      { args: ['--receipt', file('proof.txt', tlogProof.replace(/\n[^\n]*$/, '\nAAAA\n')), '--entry', file('entry.bin', new Uint8Array([1, 2, 3])), '--key', key], want: [1, 2] },
      { args: ['--receipt', file('receipt.json', receiptText), '--key', 'not+a+key'], want: [2] },
      { args: ['--receipt', file('bundle.json', bundleText.replace('"items":[', '"items":[null,')), '--key', key], want: [1, 2] },
      { args: ['--receipt', file('huge.txt', 'a'.repeat(5_000_000)), '--key', key], want: [2] },
      { args: ['--receipt', file('note.txt', note), '--key', key], want: [2] },
      { args: ['--receipt', file('good.json', receiptText), '--key', key, '--file', file('wrong.bin', content(4))], want: [1] },
      { args: ['--receipt', join(dir, 'missing.json'), '--key', key], want: [2] },
    ];
    const results = await Promise.all(cases.map((c) => run(c.args)));
    results.forEach((r, i) => {
      const c = cases[i]!;
      const where = `guzheng verify ${c.args.map((a) => a.replace(dir, '…')).join(' ')}: exit ${r.code}\n${r.stderr}${r.stdout.slice(0, 2000)}`;
      expect(c.want, where).toContain(r.code);
      expect(r.stderr, where).toMatch(/^guzheng: \S/m);
      expect(r.stderr + r.stdout, where).not.toMatch(/^\s+at /m);
    });
  }, 60_000);
});
