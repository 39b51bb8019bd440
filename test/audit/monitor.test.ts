/**
 * `guzheng monitor`: following a live log's /checkpoint with consistency proofs, served by a
 * small node:http server over real Ledgers (test/audit/helpers.ts). The server is switched to a
 * forked ledger (same key, rewritten history) to show the monitor catching it.
 */
import { describe, it, expect, afterAll, afterEach } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { signCheckpoint } from '../../src/core/checkpoint.js';
import { parseSignerKey, parseVerifierKey } from '../../src/core/note.js';
import { verifyFraudProof, type FraudProof } from '../../src/audit/fraud.js';
import { monitorOnce, MonitorAlarm, MonitorError, readMonitorState, runMonitor, type MonitorOutcome } from '../../src/audit/monitor.js';
import { CliError } from '../../src/cli/client.js';
import { registerMonitor } from '../../src/cli/monitor.js';
import { Ledger } from '../../src/log/ledger.js';
import { MemoryStore } from '../../src/storage/memory.js';
import { CLOCK, IMPOSTOR, KEYS, appendEntries, cleanupDirs, serveLedger, tempDir, type TestServer } from './helpers.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});
afterAll(cleanupDirs);

async function ledger(size: number, variant: (i: number) => string = () => ''): Promise<Ledger> {
  const l = await Ledger.open({ store: new MemoryStore(), signerKey: KEYS.signerKey, checkpointIntervalMs: 3_600_000, clock: CLOCK });
  if (size > 0) await appendEntries(l, size, { batch: 50, variant });
  open.push(l);
  return l;
}

async function serve(l: Ledger): Promise<TestServer> {
  const s = await serveLedger(l);
  open.push(s);
  return s;
}

function options(server: TestServer, dir = tempDir()) {
  return { url: server.url, verifierKey: KEYS.verifierKey, stateFile: join(dir, 'monitor.json'), attempts: 1 };
}

describe('monitorOnce', () => {
  it('starts on an empty log, then verifies each growth with a consistency proof', async () => {
    const log = await ledger(0);
    const server = await serve(log);
    const o = options(server);
    const genesis = { height: 0n, time: log.latest().block.time, timeSigned: true };
    expect(await monitorOnce(o)).toMatchObject({ status: 'initialized', size: 0n, root: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', head: genesis, blocks: { from: 0n, to: 0n }, warnings: [] });
    expect(await monitorOnce(o)).toMatchObject({ status: 'unchanged', size: 0n, head: genesis });
    await appendEntries(log, 130, { batch: 50 });
    expect(await monitorOnce(o)).toMatchObject({ status: 'advanced', from: 0n, to: 130n });
    await appendEntries(log, 131, { batch: 1 });
    expect(await monitorOnce(o)).toMatchObject({ status: 'advanced', from: 130n, to: 131n });
    const state = JSON.parse(readFileSync(o.stateFile, 'utf8'));
    expect(state).toMatchObject({ format: 'guzheng-monitor/v1', size: '131', verifierKey: KEYS.verifierKey, checkpoint: log.latest().checkpoint.note });
  });

  it('continues from its state after a restart', async () => {
    const log = await ledger(100);
    const server = await serve(log);
    const o = options(server);
    await monitorOnce(o);
    await appendEntries(log, 300, { batch: 100 });
    // A new process: nothing but the state file carries over.
    const again = await monitorOnce({ ...o });
    expect(again).toMatchObject({ status: 'advanced', from: 100n, to: 300n });
    expect(readMonitorState(o.stateFile, parseVerifierKey(KEYS.verifierKey))?.state.size).toBe('300');
  });

  it('catches a fork (history rewritten after k, re-signed with the real key): fraud proof, state kept', async () => {
    const real = await ledger(200);
    const server = await serve(real);
    const o = options(server);
    await monitorOnce(o);
    const before = readFileSync(o.stateFile, 'utf8');
    // The operator rewrites history after entry 120 and keeps signing with the log's key.
    const fork = await ledger(260, (i) => (i >= 120 ? 'rewritten ' : ''));
    server.use(fork);
    const out = await monitorOnce(o);
    expect(out.status).toBe('fraud');
    const { proof, file } = out as Extract<MonitorOutcome, { status: 'fraud' }>;
    expect(file).toBe(`${o.stateFile}.fraud-proof.json`);
    expect(proof).toMatchObject({ kind: 'inconsistent', conclusive: true, from: '200', to: '260', trusted: real.latest().checkpoint.note, contradicting: fork.latest().checkpoint.note });
    expect(proof.proof.length).toBeGreaterThan(0);
    const written = JSON.parse(readFileSync(file, 'utf8')) as FraudProof;
    expect(written).toEqual(proof);
    expect(verifyFraudProof(written, KEYS.verifierKey)).toMatchObject({ valid: true, conclusive: true });
    // Tampering with the evidence makes it worthless.
    expect(verifyFraudProof({ ...written, proof: [] }, KEYS.verifierKey).valid).toBe(false);
    expect(verifyFraudProof({ ...written, contradicting: written.trusted }, KEYS.verifierKey).valid).toBe(false);
    expect(verifyFraudProof(written, IMPOSTOR.verifierKey).valid).toBe(false);
    expect(readFileSync(o.stateFile, 'utf8')).toBe(before);
  });

  it('catches a changed root at the same size; a log that shrinks is an alarm, not a fraud proof', async () => {
    const real = await ledger(200);
    const server = await serve(real);
    const o = options(server);
    await monitorOnce(o);
    server.use(await ledger(200, (i) => (i >= 199 ? 'other ' : '')));
    const same = await monitorOnce({ ...o, fraudProofFile: join(tempDir(), 'same.json') });
    expect(same).toMatchObject({ status: 'fraud', proof: { kind: 'same-size', conclusive: true, from: '200', to: '200', proof: [] } });
    const sameFile = JSON.parse(readFileSync((same as Extract<MonitorOutcome, { status: 'fraud' }>).file, 'utf8')) as unknown;
    expect(verifyFraudProof(sameFile, KEYS.verifierKey)).toMatchObject({ valid: true, conclusive: true });
    // A rollback: both signed, but checkpoints carry no time (a stale cache looks the same) and the
    // log cannot prove 150 → 200, so it is reported with both notes, and no fraud proof is written.
    const smaller = await ledger(150);
    server.use(smaller);
    const file = `${o.stateFile}.fraud-proof.json`;
    const shrunk = await monitorOnce(o).catch((e: unknown) => e);
    expect(shrunk).toBeInstanceOf(MonitorAlarm);
    expect((shrunk as MonitorAlarm).exitCode).toBe(1);
    expect((shrunk as MonitorAlarm).problems).toMatchObject([{ kind: 'rollback', found: 'size 150', evidence: { saved: real.latest().checkpoint.note, served: smaller.latest().checkpoint.note, refused: expect.stringMatching(/status 400/) } }]);
    expect(existsSync(file)).toBe(false);
    // A log that proves the smaller tree is a prefix of the saved one only went back (or is cached).
    server.use(real);
    server.overrideCheckpoint((await ledger(150)).latest().checkpoint.note);
    expect(((await monitorOnce(o).catch((e: unknown) => e)) as MonitorAlarm).problems).toMatchObject([{ kind: 'rollback', evidence: { proof: expect.any(Array) } }]);
    expect(existsSync(file)).toBe(false);
    // One whose own proof shows the smaller tree is not a prefix is convicted.
    server.overrideCheckpoint((await ledger(150, (i) => (i >= 100 ? 'other ' : ''))).latest().checkpoint.note);
    const forked = await monitorOnce(o);
    expect(forked).toMatchObject({ status: 'fraud', proof: { kind: 'shrunk', conclusive: true, from: '150', to: '200' } });
    expect(verifyFraudProof(JSON.parse(readFileSync(file, 'utf8')), KEYS.verifierKey)).toMatchObject({ valid: true, conclusive: true });
  });

  it('refuses checkpoints not signed by the pinned key, and state files of another log', async () => {
    const real = await ledger(10);
    const server = await serve(real);
    const o = options(server);
    await monitorOnce(o);
    const cp = real.latest().checkpoint.checkpoint;
    server.overrideCheckpoint(signCheckpoint({ origin: cp.origin, size: cp.size + 5n, root: cp.root }, parseSignerKey(IMPOSTOR.signerKey)));
    const err = await monitorOnce(o).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MonitorError);
    expect((err as MonitorError).exitCode).toBe(1);
    server.overrideCheckpoint(undefined);
    const foreign = await monitorOnce({ ...o, verifierKey: IMPOSTOR.verifierKey }).catch((e: unknown) => e);
    expect((foreign as MonitorError).exitCode).toBe(2);
    writeFileSync(o.stateFile, '{"format":"guzheng-monitor/v1"}');
    expect(((await monitorOnce(o).catch((e: unknown) => e)) as MonitorError).exitCode).toBe(2);
    const down = await monitorOnce({ ...options(server), url: 'http://127.0.0.1:1' }).catch((e: unknown) => e);
    expect((down as MonitorError).exitCode).toBe(1);
  });
});

describe('runMonitor and the CLI', () => {
  it('follows the log until stopped', async () => {
    const log = await ledger(0);
    const server = await serve(log);
    const stop = new AbortController();
    const seen: MonitorOutcome[] = [];
    const done = runMonitor({
      ...options(server),
      intervalMs: 20,
      signal: stop.signal,
      onOutcome: (x) => {
        seen.push(x);
        if (x.status === 'advanced') stop.abort();
      },
    });
    await new Promise((r) => setTimeout(r, 60));
    await appendEntries(log, 40, { batch: 40 });
    expect(await done).toBeUndefined();
    expect(seen[0]?.status).toBe('initialized');
    expect(seen.at(-1)).toMatchObject({ status: 'advanced', from: 0n, to: 40n });
  });

  it('guzheng monitor --once prints each poll; exits 1 with the fraud proof on a fork', async () => {
    const real = await ledger(100);
    const server = await serve(real);
    const dir = tempDir();
    const state = join(dir, 'state.json');
    let out = '';
    const run = async (...args: string[]) => {
      const program = new Command().exitOverride();
      registerMonitor(program, { out: (t) => void (out += t), err: () => {}, progress: false });
      await program.parseAsync(['monitor', '--url', server.url, '--key', KEYS.verifierKey, '--state', state, ...args], { from: 'user' });
    };
    await run('--once', '--json');
    expect(JSON.parse(out.trim())).toMatchObject({ status: 'initialized', size: '100' });
    out = '';
    await run('--once');
    expect(out).toMatch(/unchanged at size 100/);
    server.use(await ledger(150, (i) => (i >= 10 ? 'forged ' : '')));
    const err = await run('--once').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(1);
    expect(out).toMatch(/MISBEHAVIOUR/);
    expect(existsSync(`${state}.fraud-proof.json`)).toBe(true);
    // In loop mode the same fork ends the loop with exit 1 too.
    const loop = await run('--interval', '0.02').catch((e: unknown) => e);
    expect((loop as CliError).exitCode).toBe(1);
    const usage = await run('--once', '--interval', 'soon').catch((e: unknown) => e);
    expect((usage as CliError).exitCode).toBe(2);
  });
});
