/**
 * `guzheng monitor` with a witness policy (SPEC.md#witnesses, docs/audit.md#guzheng-monitor): the
 * witnesses' views compared on every poll (a frozen view shown to the monitor is caught), the
 * quorum of the served checkpoint reported, and fraud proofs written only on conclusive evidence:
 * a log that cannot be reached is an error, never fraud. The witness is a `fetch` answering for
 * http://witness.test (c2sp.org/tlog-witness's latest-checkpoint path).
 */
import { describe, it, expect, afterAll, afterEach } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { toHex, utf8 } from '../../src/core/bytes.js';
import { generateWitnessKey, signCosignature } from '../../src/core/cosignature.js';
import { sha256 } from '../../src/core/crypto.js';
import { splitNote } from '../../src/core/note.js';
import { parsePolicy } from '../../src/core/policy.js';
import { verifyFraudProof } from '../../src/audit/fraud.js';
import { monitorOnce, runMonitor, type MonitorError, type MonitorOutcome } from '../../src/audit/monitor.js';
import { CliError } from '../../src/cli/client.js';
import { registerMonitor } from '../../src/cli/monitor.js';
import { KEYS, ORIGIN, appendEntries, cleanupDirs, tempDir } from './helpers.js';
import { closeAll, intercept, ledger, monitorOptions, problemsOf, serve } from './monitor-support.js';

afterEach(closeAll);
afterAll(cleanupDirs);

const W = generateWitnessKey('witness.test/w1', new Uint8Array(32).fill(21));
const WITNESS_URL = 'http://witness.test/w1';
const withUrl = parsePolicy(`witness w1 ${W.verifierKey} ${WITNESS_URL}\nquorum w1\n`);
const keysOnly = parsePolicy(`witness w1 ${W.verifierKey}\nquorum w1\n`);

/** A fetch where the witness answers with `view()` (404 when undefined) and the rest goes to `base`. */
function witness(view: () => string | undefined, base: typeof fetch = fetch): typeof fetch {
  return intercept(async (url, pass) => {
    if (url.origin !== 'http://witness.test') return pass();
    expect(url.pathname).toBe(`/w1/${toHex(sha256(utf8(ORIGIN)))}/checkpoint`);
    const note = view();
    return note === undefined ? new Response('not found', { status: 404 }) : new Response(note, { status: 200 });
  }, base);
}

const fail = (p: Promise<unknown>): Promise<unknown> => p.then(
  (x) => {
    throw new Error(`want a rejection, got ${JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
  },
  (e: unknown) => e,
);

describe('witness views, on every poll', () => {
  it('catches a log that keeps showing the monitor a frozen view while it advances the witnesses on a fork', async () => {
    const real = await ledger(100);
    const server = await serve(real);
    const frozen = real.latest().checkpoint.note;
    let view = frozen;
    const o = { ...monitorOptions(server), policy: withUrl, fetch: witness(() => view) };
    expect((await monitorOnce(o)).status).toBe('initialized');
    // The operator forks after entry 50 and shows the fork to the witnesses only; this monitor
    // keeps getting the frozen checkpoint, and proofs from the fork's tree.
    const fork = await ledger(130, { variant: (i) => (i >= 50 ? 'forked ' : '') });
    server.use(fork);
    server.overrideCheckpoint(frozen);
    view = fork.latest().checkpoint.note;
    const out = await monitorOnce(o);
    expect(out.status).toBe('fraud');
    const { proof, file } = out as Extract<MonitorOutcome, { status: 'fraud' }>;
    expect(proof).toMatchObject({ kind: 'inconsistent', conclusive: true, from: '100', to: '130', trusted: frozen, contradicting: view, source: expect.stringMatching(/and witness w1/) });
    expect(proof.proof.length).toBeGreaterThan(0);
    // The file holds both signed checkpoints and the failed proof, and convinces with the key alone.
    const written = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    expect(written).toEqual(proof);
    expect(verifyFraudProof(written, KEYS.verifierKey)).toMatchObject({ valid: true, conclusive: true });
  });

  it('reports a split view the log will not prove, with both signed checkpoints', async () => {
    const real = await ledger(100);
    const server = await serve(real);
    const fork = await ledger(130, { variant: (i) => (i >= 50 ? 'forked ' : '') });
    let view: string | undefined;
    const o = { ...monitorOptions(server), policy: withUrl, fetch: witness(() => view) };
    expect((await monitorOnce(o)).status).toBe('initialized');
    view = fork.latest().checkpoint.note;
    const [p] = problemsOf(await fail(monitorOnce(o)));
    expect(p).toMatchObject({ kind: 'split-view-suspected', evidence: { monitorView: real.latest().checkpoint.note, witness: 'w1', witnessView: view, refused: expect.stringMatching(/status 400/) } });
    expect(existsSync(`${o.stateFile}.fraud-proof.json`)).toBe(false);
  });
});

describe('fraud proofs only on conclusive evidence', () => {
  it('a consistency proof that cannot be fetched is an error to retry, never fraud', async () => {
    const log = await ledger(100);
    const server = await serve(log);
    const at100 = log.latest().checkpoint.note;
    await appendEntries(log, 120, { batch: 20 });
    // The monitor is shown 100, the witness has 120: consistent, if only the log could be reached.
    server.overrideCheckpoint(at100);
    let down = 2;
    const flaky = intercept(async (url, pass) => {
      if (url.pathname === '/v1/proof/consistency' && down > 0) {
        down--;
        throw new TypeError('fetch failed');
      }
      return pass();
    });
    const o = { ...monitorOptions(server), policy: withUrl, fetch: witness(() => log.latest().checkpoint.note, flaky) };
    const err = await fail(monitorOnce(o));
    expect(err).toMatchObject({ name: 'MonitorError', exitCode: 1, message: expect.stringMatching(/proof\/consistency\?from=100&to=120 failed/) });
    expect(existsSync(`${o.stateFile}.fraud-proof.json`)).toBe(false);
    expect(existsSync(o.stateFile)).toBe(false);
    // The loop reports it and tries again.
    const errors: MonitorError[] = [];
    const seen: MonitorOutcome[] = [];
    const stop = new AbortController();
    const result = await runMonitor({
      ...o,
      intervalMs: 5,
      signal: stop.signal,
      onError: (e) => errors.push(e),
      onOutcome: (x) => {
        seen.push(x);
        stop.abort();
      },
    });
    expect(result).toBeUndefined();
    expect(errors.map((e) => e.name)).toEqual(['MonitorError']);
    expect(seen.map((x) => x.status)).toEqual(['initialized']);
  });

  it('a proof the log serves that fails against the two signed checkpoints is fraud; the file verifies', async () => {
    const log = await ledger(100);
    const server = await serve(log);
    const o = monitorOptions(server);
    await monitorOnce(o);
    await appendEntries(log, 150, { batch: 50 });
    const garble = intercept(async (url, pass) => {
      const res = await pass();
      if (url.pathname !== '/v1/proof/consistency') return res;
      const p = (await res.json()) as { path: string[] };
      return new Response(JSON.stringify({ ...p, path: p.path.map((h, i) => (i === 0 ? 'ab'.repeat(32) : h)) }), { status: 200 });
    });
    const out = await monitorOnce({ ...o, fetch: garble });
    expect(out).toMatchObject({ status: 'fraud', proof: { kind: 'inconsistent', conclusive: false, from: '100', to: '150' } });
    const written = JSON.parse(readFileSync((out as Extract<MonitorOutcome, { status: 'fraud' }>).file, 'utf8')) as { proof: string[] };
    expect(written.proof[0]).toBe('ab'.repeat(32));
    expect(verifyFraudProof(written, KEYS.verifierKey)).toMatchObject({ valid: true, conclusive: false });
  });
});

describe('the quorum of the served checkpoint', () => {
  it('is a warning when not met (the checkpoint is still accepted), and met once the witness cosigned', async () => {
    const log = await ledger(10);
    const server = await serve(log);
    const o = { ...monitorOptions(server), policy: keysOnly };
    const first = await monitorOnce(o);
    expect(first).toMatchObject({ status: 'initialized', warnings: [{ kind: 'quorum-not-met', code: 'QUORUM_NOT_MET', message: expect.stringMatching(/quorum w1 \(valid cosignatures by: none\)/) }] });
    expect(existsSync(o.stateFile)).toBe(true);
    const note = log.latest().checkpoint.note;
    const line = signCosignature(splitNote(note).text, W.signerKey, 1_780_000_000n);
    // A cosignature by the policy's witness that does not verify is named, and not counted.
    const forged = line.slice(0, -4) + (line.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    server.overrideCheckpoint(`${note}${forged}\n`);
    expect(await monitorOnce(o)).toMatchObject({ status: 'unchanged', warnings: [{ kind: 'quorum-not-met', message: expect.stringMatching(/failed: witness\.test\/w1 \(SIGNATURE_INVALID\)/) }] });
    server.overrideCheckpoint(`${note}${line}\n`);
    expect(await monitorOnce(o)).toMatchObject({ status: 'unchanged', warnings: [] });
  });

  it('guzheng monitor --witness VKEY --quorum K: the warning is printed, the exit is 0; --policy with --witness is a usage error', async () => {
    const log = await ledger(10);
    const server = await serve(log);
    const state = join(tempDir(), 'state.json');
    let out = '';
    const run = async (...args: string[]) => {
      const program = new Command().exitOverride();
      registerMonitor(program, { out: (t) => void (out += t), err: () => {}, progress: false });
      await program.parseAsync(['monitor', '--url', server.url, '--key', KEYS.verifierKey, '--state', state, '--once', ...args], { from: 'user' });
    };
    await run('--witness', W.verifierKey, '--quorum', '1', '--json');
    expect(JSON.parse(out.trim())).toMatchObject({ status: 'initialized', head: { timeSigned: true }, warnings: [{ kind: 'quorum-not-met' }] });
    out = '';
    await run('--witness', W.verifierKey);
    expect(out).toMatch(/unchanged at size 10, block \d+ at .*\n  warning: quorum-not-met: /);
    const both = await run('--witness', W.verifierKey, '--policy', join(tempDir(), 'policy')).catch((e: unknown) => e);
    expect(both).toBeInstanceOf(CliError);
    expect((both as CliError).exitCode).toBe(2);
    const tooMany = await run('--witness', W.verifierKey, '--quorum', '2').catch((e: unknown) => e);
    expect((tooMany as CliError).exitCode).toBe(2);
  });
});
