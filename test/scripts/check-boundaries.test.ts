import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkBoundaries, checkNoAny } from '../../scripts/check-boundaries.js';

describe('check-boundaries', () => {
  const root = mkdtempSync(join(tmpdir(), 'guzheng-bounds-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('passes on the real source tree', () => {
    expect(checkBoundaries(join(import.meta.dirname, '..', '..', 'src'))).toEqual([]);
    expect(checkNoAny(join(import.meta.dirname, '..', '..', 'src'))).toEqual([]);
  });

  it('catches an explicit any anywhere', () => {
    mkdirSync(join(root, 'http'), { recursive: true });
    writeFileSync(join(root, 'http', 'loose.ts'), 'const a: any = 1;\nconst b = a as any;\n// any in a comment is fine\nconst anyway = 2;\n');
    expect(checkNoAny(join(root, 'http')).map((v) => `${v.line}: ${v.message}`)).toEqual(['1: explicit any (: any)', '2: explicit any (as any)']);
  });

  it('catches each kind of forbidden dependency in a planted tree', () => {
    mkdirSync(join(root, 'core'), { recursive: true });
    mkdirSync(join(root, 'verifier'), { recursive: true });
    mkdirSync(join(root, 'storage'), { recursive: true });
    mkdirSync(join(root, 'web'), { recursive: true });
    writeFileSync(
      join(root, 'core', 'bad.ts'),
      [
        "import { readFileSync } from 'node:fs';",
        "import express from 'express';",
        "import { Level } from 'level';",
        "import { x } from '../storage/level.js';",
        "import { ok } from './fine.js';",
        "import { sha256 } from '@noble/hashes/sha2.js';",
        'const b = Buffer.from("x");',
        'const t = Date.now();',
        'const r = Math.random();',
        '// Buffer in a comment is fine',
      ].join('\n'),
    );
    writeFileSync(join(root, 'verifier', 'bad.ts'), "export { y } from '../http/app.js';\nconst n = new Date();\n");
    writeFileSync(join(root, 'storage', 'ok.ts'), "import { Level } from 'level';\n");
    writeFileSync(join(root, 'web', 'bad.ts'), "import { verifyReceipt } from '../verifier/index.js';\nimport { createApp } from '../http/app.js';\nimport { readFile } from 'node:fs/promises';\nconst k = process.env.KEY;\n");
    const found = checkBoundaries(root).map((v) => `${v.file}:${v.line}: ${v.message}`);
    expect(found).toEqual([
      'core/bad.ts:1: core may not import package node:fs',
      'core/bad.ts:2: core may not import package express',
      'core/bad.ts:3: core may not import package level',
      'core/bad.ts:4: core may not import ../storage/level.js (resolves to src/storage/level.js)',
      'core/bad.ts:7: core may not use Buffer (use Uint8Array)',
      'core/bad.ts:8: core may not use Date.now (a clock must be passed in)',
      'core/bad.ts:9: core may not use Math.random (randomness must be passed in)',
      'verifier/bad.ts:1: verifier may not import ../http/app.js (resolves to src/http/app.js)',
      'verifier/bad.ts:2: verifier may not use new Date() (a clock must be passed in)',
      'web/bad.ts:2: web may not import ../http/app.js (resolves to src/http/app.js)',
      'web/bad.ts:3: web may not import package node:fs/promises',
      'web/bad.ts:4: web may not use process (no environment access in pure code)',
    ]);
  });

  it('keeps the witness off the log, storage, http and audit (planted tree)', () => {
    const tree = mkdtempSync(join(tmpdir(), 'guzheng-bounds-witness-'));
    try {
      mkdirSync(join(tree, 'witness'), { recursive: true });
      writeFileSync(
        join(tree, 'witness', 'bad.ts'),
        [
          "import { readFileSync } from 'node:fs';",
          "import express from 'express';",
          "import { Level } from 'level';",
          "import { openCosigned } from '../core/cosignature.js';",
          "import { installNodeCrypto } from '../platform/node-crypto.js';",
          "import { Ledger } from '../log/ledger.js';",
          "import { LevelStore } from '../storage/level.js';",
          "import { createApp } from '../http/app.js';",
          "import { replay } from '../audit/replay.js';",
          "import { ok } from './state.js';",
          "import { Command } from 'commander';",
          'const t = Date.now();',
        ].join('\n'),
      );
      expect(checkBoundaries(tree).map((v) => `${v.file}:${v.line}: ${v.message}`)).toEqual([
        'witness/bad.ts:6: witness may not import ../log/ledger.js (resolves to src/log/ledger.js)',
        'witness/bad.ts:7: witness may not import ../storage/level.js (resolves to src/storage/level.js)',
        'witness/bad.ts:8: witness may not import ../http/app.js (resolves to src/http/app.js)',
        'witness/bad.ts:9: witness may not import ../audit/replay.js (resolves to src/audit/replay.js)',
        'witness/bad.ts:11: witness may not import package commander',
      ]);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });
});
