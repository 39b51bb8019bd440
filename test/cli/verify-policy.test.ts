/**
 * `guzheng verify` and `guzheng audit` with a witness policy (SPEC.md#witness-policy), through the
 * real CLI: `--policy FILE`, or `--witness VKEY` (repeatable) with `--quorum K`. The log's witness
 * is the independent C2SP witness of test support (no code from src/); a second witness that
 * never cosigns makes a quorum that cannot be met.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePolicy } from '../../src/core/policy.js';
import { startC2spWitness, type C2spWitness } from '../support/c2sp-witness/witness.js';
import { TEST_LOG, startServer, type TestServer } from '../http/helpers.js';
import { cli, cliAsync } from '../witness/process.js';

const dir = mkdtempSync(join(tmpdir(), 'guzheng-verify-policy-'));
let court: C2spWitness;
let stranger: C2spWitness;
let s: TestServer;
let receiptFile: string;
let metFile: string;
let unmetFile: string;

beforeAll(async () => {
  court = await startC2spWitness('witness.test/court', 0x04, [TEST_LOG.verifierKey]);
  stranger = await startC2spWitness('witness.test/stranger', 0x04, [TEST_LOG.verifierKey]);
  const logPolicy = `log ${TEST_LOG.verifierKey}\nwitness court ${court.vkey} ${court.url}\nquorum court\n`;
  const policy = parsePolicy(logPolicy);
  s = await startServer({ ledger: { witnessPolicy: policy, witnessTimeoutMs: 2000 }, deps: { policy } });
  const res = await fetch(`${s.url}/v1/entries?wait=receipt`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.keys.submit}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'record', record: { station: 'HS-001' } }),
  });
  const { receipt } = (await res.json()) as { receipt: { checkpoint: string } };
  expect(receipt.checkpoint).toContain('— witness.test/court ');
  receiptFile = join(dir, 'receipt.json');
  writeFileSync(receiptFile, JSON.stringify(receipt));
  metFile = join(dir, 'met.policy');
  writeFileSync(metFile, `witness court ${court.vkey}\nwitness stranger ${stranger.vkey}\ngroup any-one any court stranger\nquorum any-one\n`);
  unmetFile = join(dir, 'unmet.policy');
  writeFileSync(unmetFile, `witness court ${court.vkey}\nwitness stranger ${stranger.vkey}\ngroup both all court stranger\nquorum both\n`);
}, 60_000);

afterAll(async () => {
  await s?.destroy();
  await court?.close();
  await stranger?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('guzheng verify with a witness policy', () => {
  it('--policy met: exit 0, and each witness is shown with its own time', () => {
    const r = cli(['verify', '--receipt', receiptFile, '--key', TEST_LOG.verifierKey, '--policy', metFile]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/witness court had seen this checkpoint by 20\d\d-/);
    expect(r.stdout).not.toMatch(/witness stranger had seen/);
  }, 60_000);

  it('--policy not met: exit 1 with QUORUM_NOT_MET', () => {
    const r = cli(['verify', '--receipt', receiptFile, '--key', TEST_LOG.verifierKey, '--policy', unmetFile, '--json']);
    expect(r.status, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as { valid: boolean; checks: Array<{ id: string; status: string; code?: string }> };
    expect(report.valid).toBe(false);
    expect(report.checks.find((c) => c.id === 'cosignatures')).toMatchObject({ status: 'fail', code: 'QUORUM_NOT_MET' });
  }, 60_000);

  it('--witness with --quorum: 1 of 2 met (exit 0), 2 of 2 not (exit 1); a bad --quorum is a usage error (exit 2)', () => {
    const base = ['verify', '--receipt', receiptFile, '--key', TEST_LOG.verifierKey, '--witness', court.vkey, '--witness', stranger.vkey];
    expect(cli([...base, '--quorum', '1']).status).toBe(0);
    expect(cli([...base, '--quorum', '2']).status).toBe(1);
    expect(cli([...base, '--quorum', '3']).status).toBe(2);
    expect(cli(['verify', '--receipt', receiptFile, '--key', TEST_LOG.verifierKey, '--policy', metFile, '--witness', court.vkey]).status).toBe(2);
  }, 60_000);

  it('a malformed policy file is a usage error naming the line (exit 2)', () => {
    const bad = join(dir, 'bad.policy');
    writeFileSync(bad, `witness court ${court.vkey}\nquorum nobody\n`);
    const r = cli(['verify', '--receipt', receiptFile, '--key', TEST_LOG.verifierKey, '--policy', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/line 2/);
  }, 60_000);
});

describe('guzheng audit --url with a witness policy', () => {
  it('counts the blocks whose checkpoints meet the policy, and passes', async () => {
    const r = await cliAsync(['audit', '--url', s.url, '--key', TEST_LOG.verifierKey, '--api-key', s.keys.audit, '--policy', metFile, '--json']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; witnesses?: { blocksMeetingQuorum: string } };
    expect(report.ok).toBe(true);
    expect(BigInt(report.witnesses?.blocksMeetingQuorum ?? '0')).toBeGreaterThan(0n);
  }, 60_000);
});
