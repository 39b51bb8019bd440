/**
 * `guzheng audit` and `guzheng export-tiles` as commands, in-process (registerAudit on a fresh
 * commander program with captured output): exit codes 0/1/2, --json, fraud-proof files.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerAudit, progressLine, loadSavedCheckpoint } from '../../src/cli/audit.js';
import { CliError } from '../../src/cli/client.js';
import { verifyFraudProof } from '../../src/audit/fraud.js';
import { LevelStore } from '../../src/storage/level.js';
import { SIZE_KEY, encodeU64, entryKey } from '../../src/storage/keys.js';
import { bundleKey } from '../../src/storage/layout2.js';
import { utf8 } from '../../src/core/bytes.js';
import { Level } from 'level';
import { KEYS, buildLedger, cleanupDirs, tempDir, withDb } from './helpers.js';

let data: string; // a data directory: <data>/ledger and <data>/log-key
let notes: string[];

beforeAll(async () => {
  data = tempDir();
  notes = await buildLedger(join(data, 'ledger'), 600, { batch: 100 });
  writeFileSync(join(data, 'log-key'), KEYS.signerKey + '\n', { mode: 0o600 });
}, 60_000);
afterAll(cleanupDirs);

async function cli(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  const program = new Command().exitOverride();
  registerAudit(program, { out: (t) => void (out += t), err: (t) => void (err += t), progress: true });
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out, err, code: 0 };
  } catch (e) {
    if (e instanceof CliError) return { out, err: err + e.message, code: e.exitCode };
    throw e;
  }
}

function copyData(): string {
  const dir = join(tempDir(), 'data');
  cpSync(data, dir, { recursive: true });
  return dir;
}

describe('guzheng audit', () => {
  it('exits 0 on a clean data directory, with a report, progress on a TTY, and --json', async () => {
    const r = await cli('audit', '--data', data, '--key', KEYS.verifierKey);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/OK: 600 entries, 7 checkpoints: everything is consistent/);
    expect(r.err).toMatch(/\[#+\] 100\.0%/);
    const j = await cli('audit', '--data', join(data, 'ledger'), '--key', KEYS.verifierKey, '--json', '--no-progress');
    expect(j.err).toBe('');
    expect(JSON.parse(j.out)).toMatchObject({ format: 'guzheng-audit/v1', ok: true, size: '600', checkpoints: '7', problemCount: 0 });
  });

  it('exits 1 and names the first bad index on tampering', async () => {
    const dir = copyData();
    await withDb(join(dir, 'ledger'), (db) => db.del(bundleKey(1n))); // entries 256..511
    const r = await cli('audit', '--data', dir, '--key', KEYS.verifierKey, '--json');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/audit FAILED: 1 problem; first: entry 256: entry-missing/);
    expect(JSON.parse(r.out).firstProblem).toMatchObject({ kind: 'entry-missing', index: '256' });
  });

  it('exits 2 on a data directory in storage layout 1, telling to run guzheng migrate', async () => {
    const dir = join(tempDir(), 'old');
    const db = new Level<Uint8Array, Uint8Array>(join(dir, 'ledger'), { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    await db.batch([
      { type: 'put', key: SIZE_KEY, value: encodeU64(1n) },
      { type: 'put', key: entryKey(0n), value: utf8('{}') },
    ]);
    await db.close();
    const r = await cli('audit', '--data', dir, '--key', KEYS.verifierKey, '--no-progress');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/storage layout 1; upgrade it with `guzheng migrate --data-dir /);
  });

  it('exits 1 with a fraud proof file for a fork against a saved checkpoint', async () => {
    const forked = join(tempDir(), 'forked');
    await buildLedger(forked, 600, { batch: 100, variant: (i) => (i >= 250 ? 'x' : '') });
    const saved = join(tempDir(), 'cp-400.txt');
    writeFileSync(saved, notes[4] as string);
    const proofFile = join(tempDir(), 'fraud.json');
    const r = await cli('audit', '--data', forked, '--key', KEYS.verifierKey, '--checkpoint', saved, '--fraud-proof', proofFile);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/\[fork\]/);
    expect(verifyFraudProof(JSON.parse(readFileSync(proofFile, 'utf8')), KEYS.verifierKey)).toMatchObject({ valid: true, conclusive: true });
  });

  it('exits 2 on usage errors, a bad key, and a directory a server holds', async () => {
    expect((await cli('audit', '--key', KEYS.verifierKey)).code).toBe(2);
    expect((await cli('audit', '--data', data, '--url', 'http://x', '--key', KEYS.verifierKey)).code).toBe(2);
    expect((await cli('audit', '--data', data, '--key', 'not-a-key')).code).toBe(2);
    expect((await cli('audit', '--data', join(tempDir(), 'none'), '--key', KEYS.verifierKey)).code).toBe(2);
    const dir = copyData();
    const store = await LevelStore.open(join(dir, 'ledger'));
    try {
      const r = await cli('audit', '--data', dir, '--key', KEYS.verifierKey);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/in use by another Guzheng process.*stop the server first/);
    } finally {
      await store.close();
    }
  });

  it('takes the key from a file, and saved checkpoints from monitor state JSON', async () => {
    const keyFile = join(tempDir(), 'log.vkey');
    writeFileSync(keyFile, KEYS.verifierKey + '\n');
    const state = join(tempDir(), 'state.json');
    writeFileSync(state, JSON.stringify({ format: 'guzheng-monitor/v1', checkpoint: notes[6] }));
    expect(loadSavedCheckpoint(state).note).toBe(notes[6]);
    const r = await cli('audit', '--data', data, '--key', keyFile, '--checkpoint', state, '--no-progress');
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/1 saved checkpoint/);
  });

  it('draws a progress line with rate and ETA', () => {
    expect(progressLine({ done: 250_000n, total: 1_000_000n, elapsedMs: 1000, rate: 250_000 }, 8)).toBe('[##......]  25.0%  250,000/1,000,000  250,000/s  ETA 3 s');
  });
});

describe('guzheng export-tiles', () => {
  it('writes the tiles of the last checkpoint, with the key derived from log-key', async () => {
    const out = join(tempDir(), 'tiles');
    const r = await cli('export-tiles', '--data', data, '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/exported size 600 .*: 7 tiles, 7 written, 0 already there/);
    expect(readFileSync(join(out, 'checkpoint'), 'utf8')).toBe(notes[6]);
    expect(existsSync(join(out, 'tile/0/002.p/88'))).toBe(true);
    expect(existsSync(join(out, 'tile/entries/002.p/88'))).toBe(true);
    expect(existsSync(join(out, 'tile/1/000.p/2'))).toBe(true);
    const again = await cli('export-tiles', '--data', data, '--out', out, '--key', KEYS.verifierKey, '--no-entries');
    expect(again.out).toMatch(/4 tiles, 2 written, 2 already there/);
  });
});
