/**
 * The console's words (src/console/messages.ts): every message exists in Chinese and in English,
 * non-empty, with the same placeholders, and every problem code the service can answer with has
 * its own sentence in src/console/problems.ts (else the reader gets the generic one).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MESSAGES } from '../../src/console/messages.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('console messages', () => {
  it('has every message in both languages, with the same placeholders', () => {
    const keys = Object.keys(MESSAGES);
    expect(keys.length).toBeGreaterThan(200);
    for (const [key, [zh, en]] of Object.entries(MESSAGES)) {
      expect(zh.trim(), key).not.toBe('');
      expect(en.trim(), key).not.toBe('');
      const holes = (s: string) => [...s.matchAll(/\{(\d+)\}/g)].map((m) => m[1]).sort();
      expect(holes(zh), key).toEqual(holes(en));
      // Chinese first: the Chinese text has Chinese in it (codes and names excepted).
      if (!/^(nav\.courtPage|block\.format)$/.test(key) && /[a-z]{4}/i.test(en) && !/^[\x20-\x7e]*$/.test(zh)) expect(zh).toMatch(/[\u4e00-\u9fff]/);
    }
  });

  it('uses only keys that exist, in every page', () => {
    const files = ['main.tsx', 'ui.tsx', 'problems.ts', ...['admin', 'anchor', 'blocks', 'cases', 'check', 'files', 'home', 'search', 'signin', 'stats'].map((p) => `pages/${p}.tsx`)];
    for (const f of files) {
      const src = readFileSync(join(ROOT, 'src', 'console', f), 'utf8');
      for (const m of src.matchAll(/\bt\('([a-zA-Z.]+)'/g)) expect(Object.hasOwn(MESSAGES, m[1] as string), `${f}: ${m[1]}`).toBe(true);
    }
  });

  it('words every problem code the service answers with', () => {
    const codes = new Set<string>(['STORAGE_FULL']);
    for (const file of readdirSync(join(ROOT, 'src', 'http'), { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue;
      const src = readFileSync(join(ROOT, 'src', 'http', file), 'utf8');
      for (const m of src.matchAll(/HttpProblem\(\d{3}, '([A-Z_]+)'/g)) codes.add(m[1] as string);
    }
    expect(codes.size).toBeGreaterThan(5);
    const problems = readFileSync(join(ROOT, 'src', 'console', 'problems.ts'), 'utf8');
    for (const code of codes) expect(problems, code).toContain(`${code}:`);
  });
});
