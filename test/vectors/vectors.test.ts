/**
 * Walks every committed vector (merkle `TestVerifyInclusionProbes`) and lists every vector whose
 * outcome differs from its `wantErr`/`expectCode`, by path and desc. A family without a checker
 * here fails the run, so no vector goes unwalked.
 */
import { describe, it, expect } from 'vitest';
import { fromHex, parseDecimal, toHex } from '../../src/core/bytes.js';
import { LedgerError } from '../../src/core/errors.js';
import { CompactRange, hashLeaf, verifyConsistency, verifyInclusion } from '../../src/core/merkle/index.js';
import { refConsistency, refInclusion } from '../support/reference-merkle.js';
import { compareWithDisk, generateAll } from '../../scripts/gen-vectors.js';
import { readVectors, type VectorFile } from './walk.js';
import { gmVectorCheckers, vectorCheckers } from './checkers.js';

type Checker = (v: VectorFile['value']) => void | Promise<void>;

const hexList = (x: unknown) => (x as string[]).map((h) => fromHex(h, 32));

const CHECKERS: Record<string, Checker> = {
  inclusion: (v) =>
    verifyInclusion(
      parseDecimal(v.leafIndex as string),
      parseDecimal(v.treeSize as string),
      fromHex(v.leafHash as string, 32),
      hexList(v.proof),
      fromHex(v.root as string, 32),
    ),
  consistency: (v) =>
    verifyConsistency(
      parseDecimal(v.size1 as string),
      parseDecimal(v.size2 as string),
      hexList(v.proof),
      fromHex(v.root1 as string, 32),
      fromHex(v.root2 as string, 32),
    ),
  hashing: (v) => {
    // Known answers are checked against a naive RFC implementation, not the code that made them.
    if (v.leaves) {
      const leafHashes = (v.leaves as string[]).map((l) => hashLeaf(fromHex(l)));
      expect(leafHashes.map(toHex)).toEqual(v.leafHashes);
      const range = CompactRange.empty();
      const roots = [toHex(range.root())];
      for (const h of leafHashes) {
        range.append(h);
        roots.push(toHex(range.root()));
      }
      expect(roots).toEqual(v.roots);
    }
    const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((l) =>
      hashLeaf(fromHex(l)),
    );
    for (const [key, path] of Object.entries((v.paths ?? {}) as Record<string, string[]>)) {
      const [m, n] = key.split('/').map(Number) as [number, number];
      expect(refInclusion(m, leaves.slice(0, n)).map(toHex), key).toEqual(path);
    }
    for (const [key, proof] of Object.entries((v.proofs ?? {}) as Record<string, string[]>)) {
      const [m, n] = key.split('/').map(Number) as [number, number];
      expect(refConsistency(m, leaves.slice(0, n)).map(toHex), key).toEqual(proof);
    }
  },
  ...vectorCheckers,
  ...gmVectorCheckers,
};

describe('contracts-free-ledger/vectors', () => {
  const vectors = readVectors();

  it('has vectors of every family', () => {
    const families = new Set(vectors.map((v) => v.family));
    for (const f of ['hashing', 'inclusion', 'consistency', 'checkpoint', 'verifier-key', 'receipt', 'tlog-proof', 'example', 'block', 'block-chain']) expect(families).toContain(f);
    for (const f of ['gm/hashing', 'gm/sm2', 'gm/checkpoint', 'gm/verifier-key', 'gm/receipt']) expect(families).toContain(f);
    expect(vectors.length).toBeGreaterThan(5000);
  });

  it('every vector gives its expected outcome', async () => {
    const failures: string[] = [];
    for (const { path, family, value } of vectors) {
      const check = CHECKERS[family];
      if (!check) {
        failures.push(`${path}: no checker for family "${family}"`);
        continue;
      }
      let code: string | undefined;
      try {
        await check(value);
      } catch (err) {
        code = err instanceof LedgerError ? err.code : `uncoded ${(err as Error).message}`;
      }
      const failed = code !== undefined;
      if (failed !== value.wantErr || (value.wantErr && value.expectCode !== undefined && code !== value.expectCode)) {
        failures.push(`${path}: ${value.desc}: got ${code ?? 'success'}, want ${value.wantErr ? value.expectCode ?? 'an error' : 'success'}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('are exactly what scripts/gen-vectors.ts generates (deterministic, up to date)', async () => {
    const diffs = compareWithDisk(await generateAll());
    expect(diffs.slice(0, 20)).toEqual([]);
  });
});
