/**
 * `guzheng verify --tsa-ca` on a time-stamped receipt, through the real executable (a child
 * process through tsx), against receipts of the real service stamped by a real TSA (`openssl ts
 * -reply` behind test/support/tsa). What the output says of the token (genTime, serial, TSA name,
 * policy) is compared with what `openssl ts -reply -text` reads from the same token.
 *
 * Offline: the right root pinned (alone or among others) verifies the trusted time; an altered
 * token, or only an unrelated root (or an impostor with the root's name) pinned, is exit 1 naming
 * the time-stamp check; without --tsa-ca the time is shown as NOT verified.
 * With --url: the roots the user pins decide, not the service's (the service pins the right root,
 * so a receipt it calls valid must still fail against another pinned root).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBase64, toBase64 } from '../../src/core/bytes.js';
import { generateWitnessKey } from '../../src/core/cosignature.js';
import { alterGenTime } from '../support/tsa/forge.js';
import { derToPem, opensslTokenFacts, type OpensslTokenFacts } from '../support/tsa/openssl.js';
import { anchorDocument, stampedReceipt, startStampingService, type StampedReceipt, type StampingService } from '../support/tsa/service.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'src', 'cli', 'bin.ts');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** cli runs the executable asynchronously (the service lives in this process). */
function cli(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], { cwd: ROOT, env: { ...process.env, GUZHENG_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'guzheng-verify-tsa-'));
const p = (name: string) => join(dir, name);
let s: StampingService;
let key: string;
let receipt: StampedReceipt;
/** What openssl reads from the receipt's token. */
let token: OpensslTokenFacts;
const f = {
  doc: p('现场检查笔录.pdf'),
  receipt: p('receipt.json'),
  altered: p('receipt-altered-token.json'),
  root: p('tsa-root.pem'),
  other: p('other-root.pem'),
  impostor: p('impostor-root.pem'),
  notPem: p('not-a-root.pem'),
};

beforeAll(async () => {
  s = await startStampingService({ dir, origin: 'guzheng.test/verify-tsa' });
  key = s.service.ledger.verifierKey;
  const doc = new TextEncoder().encode('%PDF-1.7 现场检查笔录 衡环罚〔2026〕TS号\n');
  writeFileSync(f.doc, doc);
  const index = await anchorDocument(s, '现场检查笔录.pdf', doc);
  receipt = await stampedReceipt(s, index);
  writeFileSync(f.receipt, JSON.stringify(receipt, null, 2));
  const der = fromBase64(receipt.timestamp.tokens[0] as string);
  writeFileSync(p('token.der'), der);
  token = await opensslTokenFacts(p('token.der'));
  writeFileSync(f.altered, JSON.stringify({ ...receipt, timestamp: { ...receipt.timestamp, tokens: [toBase64(alterGenTime(der))] } }, null, 2));
  writeFileSync(f.root, derToPem(s.tsa.rootDer));
  // A second, unrelated root of the throwaway PKI, and one with the pinned root's name but another key.
  writeFileSync(f.other, derToPem(s.tsa.pki.untrustedRootDer));
  writeFileSync(f.impostor, derToPem(s.tsa.pki.impostorRootDer));
  writeFileSync(f.notPem, 'this is not a certificate\n');
}, 120_000);

afterAll(async () => {
  await s?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The ✓/✗/– line of the time-stamp check. */
const TS = 'Trusted time stamp (RFC 3161, pinned TSA roots)';
const lastLine = (r: Run) => r.stdout.trim().split('\n').at(-1);
const failLines = (r: Run) => r.stdout.split('\n').filter((l) => l.startsWith('  ✗ '));

describe('guzheng verify --tsa-ca, offline', () => {
  it('the right root pinned: exit 0, the trusted time verified, with the TSA name, genTime and serial openssl reads from the token', async () => {
    const [human, among, asJson] = await Promise.all([
      cli(['verify', '--receipt', f.receipt, '--file', f.doc, '--key', key, '--tsa-ca', f.root]),
      // --tsa-ca is repeatable: the right root among others is enough.
      cli(['verify', '--receipt', f.receipt, '--key', key, '--tsa-ca', f.other, '--tsa-ca', f.root]),
      cli(['verify', '--receipt', f.receipt, '--key', key, '--tsa-ca', f.root, '--json']),
    ]);
    expect(human.status, human.stdout + human.stderr).toBe(0);
    expect(human.stdout).toContain(`  ✓ ${TS}: the entry existed no later than ${token.genTime} according to TSA ${token.tsa} (serial ${token.serial}, policy ${token.policy}, accuracy 1.5001 s), which stamped checkpoint `);
    expect(human.stdout).toMatch(/^VALID: entry \d+ \(document "现场检查笔录\.pdf", .*The content matches the anchored digest\.$/m);
    expect(human.stdout).toContain(`  可信时间   ${token.genTime}  (independent: RFC 3161 TSA ${token.tsa}, serial ${token.serial}, policy ${token.policy}, accuracy ±1.5001 s): the entry existed no later than this`);
    expect(human.stdout).not.toContain('NOT verified');
    expect(failLines(human)).toEqual([]);

    expect(among.status, among.stdout + among.stderr).toBe(0);
    expect(among.stdout).toContain(`  ✓ ${TS}: the entry existed no later than ${token.genTime} according to TSA ${token.tsa}`);

    expect(asJson.status).toBe(0);
    const report = JSON.parse(asJson.stdout) as { valid: boolean; checks: Array<{ id: string; status: string }>; facts: { timestamp?: { height: string; tokens: Array<Record<string, unknown>> } } };
    expect(report.valid).toBe(true);
    expect(report.checks.find((c) => c.id === 'timestamp')?.status).toBe('pass');
    expect(report.facts.timestamp?.tokens).toEqual([{ verified: true, tsa: token.tsa, genTime: token.genTime, serial: token.serial, policy: token.policy, accuracy: '1.5001', root: expect.stringMatching(/CN=Guzheng Test Root CA/) }]);
  }, 120_000);

  it('the token altered (one byte of its DER): exit 1, the time-stamp check fails and nothing else', async () => {
    const r = await cli(['verify', '--receipt', f.altered, '--file', f.doc, '--key', key, '--tsa-ca', f.root]);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(failLines(r)).toEqual([`  ✗ ${TS}: time-stamp token: the CMS signature does not verify [TIMESTAMP_INVALID]`]);
    expect(lastLine(r)).toBe('INVALID: failed timestamp (TIMESTAMP_INVALID)');
    // An invalid receipt establishes no time.
    expect(r.stdout).not.toContain('Times:');
    expect(r.stderr).toMatch(/INVALID: failed timestamp \(TIMESTAMP_INVALID\)/);
  }, 120_000);

  it('only another root pinned: exit 1, TIMESTAMP_UNTRUSTED; an impostor root with the right name does not pass either', async () => {
    const [other, impostor] = await Promise.all([
      cli(['verify', '--receipt', f.receipt, '--file', f.doc, '--key', key, '--tsa-ca', f.other]),
      cli(['verify', '--receipt', f.receipt, '--key', key, '--tsa-ca', f.impostor]),
    ]);
    expect(other.status, other.stdout + other.stderr).toBe(1);
    expect(failLines(other)).toEqual([`  ✗ ${TS}: time-stamp token: the TSA certificate (${token.tsa}) does not chain to any pinned root [TIMESTAMP_UNTRUSTED]`]);
    expect(lastLine(other)).toBe('INVALID: failed timestamp (TIMESTAMP_UNTRUSTED)');
    expect(impostor.status, impostor.stdout + impostor.stderr).toBe(1);
    // Same subject as the real root, another key: the chain is checked by signature, not by name.
    expect(failLines(impostor)).toEqual([`  ✗ ${TS}: time-stamp token: the TSA certificate (${token.tsa}) does not chain to any pinned root [TIMESTAMP_UNTRUSTED]`]);
    expect(lastLine(impostor)).toBe('INVALID: failed timestamp (TIMESTAMP_UNTRUSTED)');
  }, 120_000);

  it('without --tsa-ca: exit 0, the time shown as claimed and NOT verified', async () => {
    const r = await cli(['verify', '--receipt', f.receipt, '--file', f.doc, '--key', key]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`  – ${TS}: time not verified: no TSA root certificate pinned (the token claims ${token.genTime} by ${token.tsa}); pin the TSA's root (--tsa-ca) to verify it`);
    expect(r.stdout).toContain(`  可信时间   ${token.genTime}  (NOT verified: no TSA root pinned; give --tsa-ca; claimed by ${token.tsa})`);
    expect(r.stdout).not.toContain('independent: RFC 3161');
    expect(r.stdout).toMatch(/^VALID: /m);
  }, 120_000);

  it('a --tsa-ca file that holds no certificate is a usage error (exit 2), not a verdict', async () => {
    const r = await cli(['verify', '--receipt', f.receipt, '--key', key, '--tsa-ca', f.notPem]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--tsa-ca ${f.notPem}`);
    expect(r.stdout).toBe('');
  }, 120_000);
});

describe('guzheng verify --url with --tsa-ca: the roots the user pins decide', () => {
  it('the right root: exit 0, the trusted time verified on this machine, plus what only the service can say', async () => {
    const r = await cli(['verify', '--receipt', f.receipt, '--file', f.doc, '--url', s.url, '--key', key, '--tsa-ca', f.root]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`  ✓ ${TS}: the entry existed no later than ${token.genTime} according to TSA ${token.tsa} (serial ${token.serial}`);
    expect(r.stdout).toContain(`  可信时间   ${token.genTime}  (independent: RFC 3161 TSA ${token.tsa}, serial ${token.serial}`);
    expect(r.stdout).toContain("Checked on this machine against the pinned log key and the TSA roots you pinned (--tsa-ca); the service's own check (its key, TSA roots and policy) says VALID.");
    expect(r.stdout).toContain('✓ the log still holds exactly these entry bytes');
    expect(r.stdout).toMatch(/✓ the document's checkpoint \(size \d+\) is consistent with the log's latest/);
  }, 120_000);

  it('another root: exit 1 with TIMESTAMP_UNTRUSTED, although the service (pinning the right root) calls it valid', async () => {
    const [human, asJson] = await Promise.all([
      cli(['verify', '--receipt', f.receipt, '--file', f.doc, '--url', s.url, '--key', key, '--tsa-ca', f.other]),
      cli(['verify', '--receipt', f.receipt, '--url', s.url, '--key', key, '--tsa-ca', f.other, '--json']),
    ]);
    expect(human.status, human.stdout + human.stderr).toBe(1);
    expect(failLines(human)).toEqual([`  ✗ ${TS}: time-stamp token: the TSA certificate (${token.tsa}) does not chain to any pinned root [TIMESTAMP_UNTRUSTED]`]);
    expect(human.stdout).toContain("the service's own check (its key, TSA roots and policy) says VALID.");
    expect(human.stdout).toContain('✓ the log still holds exactly these entry bytes');
    expect(human.stderr).toMatch(/INVALID \(failed timestamp \(TIMESTAMP_UNTRUSTED\) \(checked locally\)\)/);
    expect(asJson.status).toBe(1);
    const report = JSON.parse(asJson.stdout) as { valid: boolean; checks: Array<{ id: string; status: string; code?: string }>; online: { logStillHolds?: boolean }; service: { valid: boolean; checks: Array<{ id: string; status: string }> } };
    expect(report.valid).toBe(false);
    expect(report.checks.find((c) => c.id === 'timestamp')).toMatchObject({ status: 'fail', code: 'TIMESTAMP_UNTRUSTED' });
    expect(report.online.logStillHolds).toBe(true);
    expect(report.service.valid).toBe(true);
    expect(report.service.checks.find((c) => c.id === 'timestamp')?.status).toBe('pass');
  }, 120_000);

  it('an altered token without --tsa-ca: the service, pinning its own root, reports it invalid (exit 1)', async () => {
    const r = await cli(['verify', '--receipt', f.altered, '--file', f.doc, '--url', s.url]);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(failLines(r)).toEqual([`  ✗ ${TS}: time-stamp token: the CMS signature does not verify [TIMESTAMP_INVALID]`]);
    expect(r.stderr).toContain(`INVALID (as reported by ${s.url})`);
  }, 120_000);

  it('--witness with --url is not ignored either: the witness policy you give decides (no cosignature here: exit 1)', async () => {
    const witness = generateWitnessKey('witness.test/w1', new Uint8Array(32).fill(21)).verifierKey;
    const r = await cli(['verify', '--receipt', f.receipt, '--url', s.url, '--key', key, '--tsa-ca', f.root, '--witness', witness]);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(failLines(r)).toEqual([expect.stringMatching(/^ {2}✗ Witness cosignatures.*: quorum .* not met: .*\[QUORUM_NOT_MET\]$/)]);
    expect(r.stdout).toContain("Checked on this machine against the pinned log key and the TSA roots you pinned (--tsa-ca) and your witness policy; the service's own check (its key, TSA roots and policy) says VALID.");
  }, 120_000);

  it('--tsa-ca with --url but no --key is a usage error: local checks need the log key you trust', async () => {
    const r = await cli(['verify', '--receipt', f.receipt, '--url', s.url, '--tsa-ca', f.root]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--tsa-ca, --policy or --witness with --url: .*give --key/);
    expect(r.stdout).toBe('');
  }, 120_000);
});
