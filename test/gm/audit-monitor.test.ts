/**
 * `guzheng monitor` following a gm (国密) log: the real HTTP service (test/http/helpers.ts
 * startServer) with an SM2 log key. monitorOnce starts on the empty log (root SM3("")), verifies
 * each growth with the log's SM3 consistency proofs, and checks the served blocks by their SM3
 * hashes; the CLI (`guzheng monitor --once --json`) does the same. A block forged and re-hashed
 * with SM3, or served with its SHA-256 hash, raises an alarm at its height; a fork signed with the
 * same SM2 key (a longer tree that does not extend the accepted one, or another root for the same
 * size) ends in a conclusive fraud proof, which verifyFraudProof re-checks with only the SM2 key.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { blockHash, parseBlock } from '../../src/core/block.js';
import { toHex, utf8 } from '../../src/core/bytes.js';
import { C2SP, GM } from '../../src/core/suite.js';
import { verifyFraudProof, type FraudProof } from '../../src/audit/fraud.js';
import { monitorOnce, type MonitorOutcome } from '../../src/audit/monitor.js';
import { CliError } from '../../src/cli/client.js';
import { registerMonitor } from '../../src/cli/monitor.js';
import { CLOCK, cleanupDirs, tempDir } from '../audit/helpers.js';
import { aYearLater, problemsOf, rewriteBlocks, type ServedBlock, type ServedPage } from '../audit/monitor-support.js';
import { newDir, startServer, type TestServer } from '../http/helpers.js';
import { GM_KEYS, appendGm, gmEntryInput, sm3 } from './audit-support.js';

const servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.destroy();
});
afterAll(cleanupDirs);

/** A gm log served over HTTP with `size` entries, a block per 50. */
async function gmLog(size: number, variant = ''): Promise<TestServer> {
  const s = await startServer({ dir: newDir(), ledger: { signerKey: GM_KEYS.signerKey, checkpointIntervalMs: 3_600_000, clock: CLOCK } });
  servers.push(s);
  if (size > 0) await appendGm(s.ledger, size, { batch: 50, input: (i) => gmEntryInput(i, variant) });
  return s;
}

function options(s: TestServer, dir = tempDir()) {
  return { url: s.url, verifierKey: GM_KEYS.verifierKey, stateFile: join(dir, 'monitor.json'), attempts: 1 };
}

/** SM3 of a note's signed text (through its last text line's newline), by OpenSSL: a format-2 block hash. */
const sm3BlockHash = (note: string) => sm3(utf8(note.slice(0, note.indexOf('\n\n') + 1))).toString('hex');

const fail = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    (x) => {
      throw new Error(`want a rejection, got ${JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
    },
    (e: unknown) => e,
  );

describe('monitorOnce follows a gm log', () => {
  it('starts on the empty log (SM3("")), verifies each growth with SM3 consistency proofs, heads hashed with SM3', async () => {
    const s = await gmLog(0);
    const o = options(s);
    const genesis = s.ledger.latest();
    expect(await monitorOnce(o)).toMatchObject({
      status: 'initialized',
      size: 0n,
      root: sm3().toString('hex'),
      head: { height: 0n, hash: sm3BlockHash(genesis.block.checkpoint), timeSigned: true },
      blocks: { from: 0n, to: 0n },
      warnings: [],
    });
    await appendGm(s.ledger, 130, { batch: 50 });
    const advanced = (await monitorOnce(o)) as Exclude<MonitorOutcome, { status: 'fraud' }>;
    const tip = s.ledger.latest();
    expect(advanced).toMatchObject({ status: 'advanced', from: 0n, to: 130n, root: toHex(tip.checkpoint.checkpoint.root), head: { height: 3n, hash: sm3BlockHash(tip.block.checkpoint) }, blocks: { from: 0n, to: 3n } });
    expect(advanced.head.hash).toBe(toHex(blockHash(tip.block, GM)));
    expect(advanced.head.hash).not.toBe(toHex(blockHash(tip.block, C2SP)));
    await appendGm(s.ledger, 131, { batch: 1 });
    expect(await monitorOnce(o)).toMatchObject({ status: 'advanced', from: 130n, to: 131n });
    expect(await monitorOnce(o)).toMatchObject({ status: 'unchanged', size: 131n, head: { height: 4n } });
    const state = JSON.parse(readFileSync(o.stateFile, 'utf8'));
    expect(state).toMatchObject({ format: 'guzheng-monitor/v1', size: '131', verifierKey: GM_KEYS.verifierKey, checkpoint: s.ledger.latest().checkpoint.note, block: { height: '4' } });
  });

  it('guzheng monitor --once --json: initialized, then advanced; exit 0', async () => {
    const s = await gmLog(60);
    const stateFile = join(tempDir(), 'monitor.json');
    const run = async () => {
      let out = '';
      const program = new Command().exitOverride();
      registerMonitor(program, { out: (t) => void (out += t), err: () => undefined, progress: false });
      try {
        await program.parseAsync(['monitor', '--url', s.url, '--key', GM_KEYS.verifierKey, '--state', stateFile, '--once', '--json'], { from: 'user' });
        return { code: 0, json: JSON.parse(out) as Record<string, unknown> };
      } catch (e) {
        if (e instanceof CliError) return { code: e.exitCode, json: { error: e.message, out } };
        throw e;
      }
    };
    const first = await run();
    expect(first).toMatchObject({ code: 0, json: { status: 'initialized', size: '60', head: { height: '2', hash: sm3BlockHash(s.ledger.latest().block.checkpoint) } } });
    await appendGm(s.ledger, 100, { batch: 50 });
    expect(await run()).toMatchObject({ code: 0, json: { status: 'advanced', from: '60', to: '100', root: toHex(s.ledger.latest().checkpoint.checkpoint.root) } });
  });
});

describe('a gm log that misbehaves', () => {
  it('a block forged and re-hashed with SM3, or served with its SHA-256 hash: an alarm at its height, nothing saved', async () => {
    const s = await gmLog(30);
    const tip = s.ledger.latest().block.height;
    const o = options(s);
    expect(await monitorOnce(o)).toMatchObject({ status: 'initialized' });
    const state = readFileSync(o.stateFile, 'utf8');
    const forge = (edit: (b: ServedBlock) => void) =>
      rewriteBlocks((page: ServedPage) => {
        for (const b of page.blocks) if (BigInt(b.height) === tip) edit(b);
      });
    // Moved a year forward and re-hashed with SM3, as a careful forger of a gm log would.
    const moved = forge((b) => {
      b.time = aYearLater(b.time);
      const { hash: _h, timestamps: _t, ...json } = b;
      b.hash = toHex(blockHash(parseBlock(json), GM));
    });
    expect(problemsOf(await fail(monitorOnce({ ...o, fetch: moved })))[0]).toMatchObject({ kind: 'block-invalid', code: 'BLOCK_INVALID', height: tip.toString(), message: expect.stringMatching(/differs from the signed block header/) });
    // The block as it is, with the hash a c2sp log would give it.
    const sha = forge((b) => {
      const { hash: _h, timestamps: _t, ...json } = b;
      b.hash = toHex(blockHash(parseBlock(json), C2SP));
    });
    expect(problemsOf(await fail(monitorOnce({ ...o, fetch: sha })))[0]).toMatchObject({ kind: 'block-invalid', height: tip.toString(), expected: sm3BlockHash(s.ledger.latest().block.checkpoint) });
    expect(readFileSync(o.stateFile, 'utf8')).toBe(state);
    expect(await monitorOnce(o)).toMatchObject({ status: 'unchanged', size: 30n });
  });

  it('a fork signed with the same SM2 key that does not extend the accepted tree: a conclusive fraud proof', async () => {
    const honest = await gmLog(100);
    const o = options(honest);
    expect(await monitorOnce(o)).toMatchObject({ status: 'initialized', size: 100n });
    // The operator serves another history, past the accepted size, from the same URL's point of view.
    const fork = await gmLog(160, 'forged');
    const out = await monitorOnce({ ...o, url: fork.url });
    expect(out.status).toBe('fraud');
    const { proof, file } = out as Extract<MonitorOutcome, { status: 'fraud' }>;
    expect(proof).toMatchObject({ kind: 'inconsistent', conclusive: true, from: '100', to: '160', verifierKey: GM_KEYS.verifierKey });
    const written = JSON.parse(readFileSync(file, 'utf8')) as FraudProof;
    expect(verifyFraudProof(written, GM_KEYS.verifierKey)).toMatchObject({ valid: true, conclusive: true });
    // The honest log's own SM3 proof from 100 to 160 would have verified: the proof convicts the fork only.
    await appendGm(honest.ledger, 160, { batch: 60 });
    const honestProof = await honest.ledger.consistencyProof(100n, 160n);
    expect(verifyFraudProof({ ...written, contradicting: honest.ledger.latest().checkpoint.note, proof: honestProof.path }, GM_KEYS.verifierKey)).toMatchObject({ valid: false, reason: 'the two checkpoints are consistent' });
  });

  it('another root for the accepted size, signed with the same SM2 key: a same-size fraud proof', async () => {
    const honest = await gmLog(100);
    const o = options(honest);
    await monitorOnce(o);
    const fork = await gmLog(100, 'same-size');
    const out = await monitorOnce({ ...o, url: fork.url });
    expect(out).toMatchObject({ status: 'fraud', proof: { kind: 'same-size', conclusive: true, from: '100', to: '100', proof: [] } });
    expect(verifyFraudProof((out as Extract<MonitorOutcome, { status: 'fraud' }>).proof, GM_KEYS.verifierKey)).toMatchObject({ valid: true, conclusive: true });
  });
});
