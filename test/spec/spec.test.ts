/**
 * Keeps contracts-free-ledger/SPEC.md honest:
 *
 * 1. every value of the worked example (vectors/example/end-to-end.json) that SPEC.md presents is
 *    quoted byte for byte inside a fenced code block;
 * 2. every `SPEC.md#anchor` linked from src/ and scripts/ resolves to a heading (GitHub slugs);
 * 3. every error code of the closed `ErrorCode` union and every verification check id is
 *    documented, and SPEC.md documents no code or check that the code does not have.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CHECK_IDS } from '../../src/verifier/report.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SPEC_PATH = join(ROOT, 'contracts-free-ledger', 'SPEC.md');
const EXAMPLE_PATH = join(ROOT, 'contracts-free-ledger', 'vectors', 'example', 'end-to-end.json');

const spec = readFileSync(SPEC_PATH, 'utf8');

interface Example {
  origin: string;
  signerKey: string;
  verifierKey: string;
  recordCanonical: string;
  recordDigest: string;
  documentBase64: string;
  documentDigest: string;
  entries: string[];
  leafHashes: string[];
  rootHash: string;
  checkpoint: string;
  genesisBlock: Record<string, string>;
  genesisBlockHash: string;
  block: Record<string, string>;
  blockHash: string;
  receipt: { inclusionProof: string[] } & Record<string, unknown>;
  tlogProof: string;
}

const example = JSON.parse(readFileSync(EXAMPLE_PATH, 'utf8')) as Example;

/** The contents of every fenced code block (``` or ~~~), each ending in "\n"; headings outside them. */
function parseMarkdown(text: string): { blocks: string[]; headings: string[] } {
  const blocks: string[] = [];
  const headings: string[] = [];
  let fence: string | undefined;
  let body: string[] = [];
  for (const line of text.split('\n')) {
    if (fence === undefined) {
      const open = /^ {0,3}(`{3,}|~{3,})/.exec(line);
      if (open) {
        fence = open[1];
        body = [];
        continue;
      }
      const h = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
      if (h) headings.push(h[1] ?? '');
    } else {
      const t = line.trim();
      if (t.length >= fence.length && t === fence.charAt(0).repeat(t.length)) {
        blocks.push(body.map((l) => l + '\n').join(''));
        fence = undefined;
      } else {
        body.push(line);
      }
    }
  }
  expect(fence, 'SPEC.md has an unclosed code fence').toBeUndefined();
  return { blocks, headings };
}

const { blocks, headings } = parseMarkdown(spec);

/** GitHub's heading slug: lowercase, punctuation dropped (except - and _), spaces → hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/`/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor a heading of SPEC.md defines, with GitHub's -1, -2 … suffixes for repeats. */
function anchors(): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const h of headings) {
    const base = slug(h);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else if (/\.(ts|js|mjs|cjs|md)$/.test(name)) out.push(p);
  }
  return out;
}

/** The section of SPEC.md under the `## <title>` heading, up to the next `## ` heading. */
function section(title: string): string {
  const start = spec.indexOf(`\n## ${title}\n`);
  expect(start, `SPEC.md has a "## ${title}" section`).toBeGreaterThanOrEqual(0);
  const end = spec.indexOf('\n## ', start + 1);
  return spec.slice(start, end < 0 ? undefined : end);
}

describe('contracts-free-ledger/SPEC.md', () => {
  describe('worked example: every value is quoted verbatim in a code block', () => {
    // The exact text, including inner newlines; a final newline may be left off.
    const inBlock = (value: string) => blocks.some((b) => b.includes(value.replace(/\n$/, '')));
    const values: Array<[string, string]> = [
      ['origin', example.origin],
      ['signerKey', example.signerKey],
      ['verifierKey', example.verifierKey],
      ['recordCanonical', example.recordCanonical],
      ['recordDigest', example.recordDigest],
      ['documentBase64', example.documentBase64],
      ['documentDigest', example.documentDigest],
      ...example.entries.map((e, i): [string, string] => [`entries[${i}]`, e]),
      ...example.leafHashes.map((h, i): [string, string] => [`leafHashes[${i}]`, h]),
      ['rootHash', example.rootHash],
      ['checkpoint', example.checkpoint],
      ['genesisBlock.checkpoint', example.genesisBlock.checkpoint ?? ''],
      ['genesisBlockHash', example.genesisBlockHash],
      ['blockHash', example.blockHash],
      ['tlogProof', example.tlogProof],
      ...example.receipt.inclusionProof.map((h, i): [string, string] => [`receipt.inclusionProof[${i}]`, h]),
      // The JSON documents, as printed with 2-space indentation.
      ['genesisBlock (JSON)', JSON.stringify(example.genesisBlock, null, 2)],
      ['block (JSON)', JSON.stringify(example.block, null, 2)],
      ['receipt (JSON)', JSON.stringify(example.receipt, null, 2)],
    ];
    it.each(values)('%s', (_name, value) => {
      expect(value.length).toBeGreaterThan(0);
      expect(inBlock(value)).toBe(true);
    });

    it('multi-line values keep their exact line structure', () => {
      // A note quoted without its final newline is still the same lines; anything else is not.
      for (const note of [example.checkpoint, example.tlogProof]) {
        expect(note.endsWith('\n')).toBe(true);
        expect(blocks.filter((b) => b === note).length, JSON.stringify(note.slice(0, 40))).toBeGreaterThan(0);
      }
    });

    it('marks the signer key as a published test key', () => {
      const at = spec.indexOf(example.signerKey);
      const before = spec.slice(Math.max(0, at - 600), at);
      expect(before).toMatch(/published test key/i);
      expect(before).toMatch(/never use/i);
    });
  });

  describe('anchors', () => {
    const defined = anchors();

    it('has every section that source comments link to', () => {
      for (const a of [
        'encodings',
        'entries',
        'tree',
        'proofs',
        'consistency-policy',
        'signed-notes',
        'checkpoints',
        'blocks',
        'receipts',
        'tlog-proof',
        'verification',
        'errors',
        'vectors',
      ]) {
        expect(defined, a).toContain(a);
      }
    });

    it('resolves every SPEC.md#anchor in src/ and scripts/', () => {
      const missing: string[] = [];
      let links = 0;
      for (const dir of ['src', 'scripts']) {
        for (const file of listFiles(join(ROOT, dir))) {
          const text = readFileSync(file, 'utf8');
          for (const m of text.matchAll(/SPEC\.md#([A-Za-z0-9_-]+)/g)) {
            links++;
            if (!defined.has(m[1] ?? '')) missing.push(`${relative(ROOT, file)}: #${m[1]}`);
          }
        }
      }
      expect(links).toBeGreaterThan(0);
      expect(missing).toEqual([]);
    });

    it('resolves every internal link of SPEC.md itself', () => {
      const missing = [...spec.matchAll(/\]\(#([^)\s]+)\)/g)].map((m) => m[1] ?? '').filter((a) => !defined.has(a));
      expect(missing).toEqual([]);
    });
  });

  describe('closed sets are documented', () => {
    const errorsSource = readFileSync(join(ROOT, 'src', 'core', 'errors.ts'), 'utf8');
    const union = /export type ErrorCode\s*=([\s\S]*?);/.exec(errorsSource)?.[1] ?? '';
    const codes = [...union.matchAll(/\|\s*'([A-Z_]+)'/g)].map((m) => m[1] ?? '');

    it('reads the ErrorCode union', () => {
      expect(codes.length).toBeGreaterThanOrEqual(10);
      expect(new Set(codes).size).toBe(codes.length);
    });

    it('documents exactly the ErrorCode union in the Errors table', () => {
      const errors = section('Errors');
      const documented = [...errors.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1] ?? '');
      expect([...documented].sort()).toEqual([...codes].sort());
    });

    it('documents exactly the check ids, in their order, in the Verification table', () => {
      const verification = section('Verification');
      const documented = [...verification.matchAll(/^\| \d+ \| `([a-z-]+)` \|/gm)].map((m) => m[1] ?? '');
      expect(documented).toEqual([...CHECK_IDS]);
      for (const id of CHECK_IDS) expect(verification).toContain(`| \`${id}\` |`);
    });

    it('names every vector family directory in the Vectors section', () => {
      const vectors = section('Vectors');
      const dir = join(ROOT, 'contracts-free-ledger', 'vectors');
      const families = readdirSync(dir).filter((n) => statSync(join(dir, n)).isDirectory());
      expect(families.length).toBeGreaterThan(0);
      for (const f of families) expect(vectors, f).toMatch(new RegExp('`' + f + '/'));
    });
  });
});
