/**
 * `guzheng verify` and `guzheng case` as real child processes (through tsx) against a real server
 * on 127.0.0.1 over LevelDB in a temp directory. Exit codes: 0 valid, 1 invalid (naming the failed
 * check), 2 usage or unreadable input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson } from '../../src/core/entry/jcs.js';
import { parseReceipt, type Receipt } from '../../src/core/receipt.js';
import { receiptToTlogProof } from '../../src/core/tlog-proof.js';
import { MiniLog, OTHER_KEYS } from '../../scripts/vectors/mini-log.js';
import { startServer, type TestServer } from '../http/helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'src', 'cli', 'bin.ts');
const CASE = '衡环罚〔2026〕12号';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** cli runs the executable asynchronously (the server lives in this process). */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'guzheng-verify-'));
const p = (name: string) => join(dir, name);
let s: TestServer;
let key: string;
let receipt: Receipt;
const files = { record: p('现场检查笔录.pdf'), photo: p('photo-0012.jpg'), decision: p('行政处罚决定书.pdf'), data: p('monitoring.json') };

beforeAll(async () => {
  s = await startServer();
  key = s.ledger.verifierKey;
  writeFileSync(p('log.vkey'), `# guzheng.test/log, pinned on 2026-03-01\n${key}\n`);
  writeFileSync(files.record, '%PDF-1.7 现场检查笔录 2026-03-02\n');
  writeFileSync(files.photo, '\xff\xd8\xff\xe0 photo 0012');
  writeFileSync(files.decision, '%PDF-1.7 行政处罚决定书 衡环罚〔2026〕12号\n');
  writeFileSync(files.data, JSON.stringify({ station: 'HS-AQ-0001', pm25: '35.2' }));
  const admin = s.keys.admin;
  for (const args of [
    ['--file', files.record, '--out', p('record.first-receipt.json')],
    ['--file', files.photo],
    ['--record', files.data],
  ]) {
    const r = await cli(['submit', ...args, '--case', CASE, '--url', s.url, '--api-key', admin]);
    expect(r.status, r.stderr).toBe(0);
  }
  // The receipt of entry 0 against the latest checkpoint: its block consistency proof is not empty.
  const res = await fetch(`${s.url}/v1/receipts/0`, { headers: { Authorization: `Bearer ${s.keys.audit}` } });
  receipt = (await res.json()) as Receipt;
  expect(receipt.blockConsistency.length).toBeGreaterThan(0);
  writeFileSync(p('record.receipt.json'), JSON.stringify(receipt, null, 2));
}, 120_000);

afterAll(async () => {
  await s.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, value: unknown): string {
  writeFileSync(p(name), typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return p(name);
}

function flip(h: string): string {
  return (h[0] === '0' ? '1' : '0') + h.slice(1);
}

describe('guzheng case export + guzheng verify: the officer and the clerk', () => {
  it('exports the case bundle, verifies it offline with the files; one changed file is exit 1 naming its item', async () => {
    const exp = await cli(['case', 'export', CASE, '-o', p('case.bundle.json'), '--key', key, '--url', s.url, '--api-key', s.keys.audit]);
    expect(exp.status, exp.stderr).toBe(0);
    expect(exp.stderr).toMatch(/3 items, verified against the pinned key/);
    const bundle = JSON.parse(readFileSync(p('case.bundle.json'), 'utf8'));
    expect(bundle.manifest.map((m: { name?: string }) => m.name ?? null)).toEqual(['现场检查笔录.pdf', 'photo-0012.jpg', null]);

    const ok = await cli(['verify', '--receipt', p('case.bundle.json'), '--file', files.record, '--file', files.photo, '--record', files.data, '--key', p('log.vkey')], { GUZHENG_URL: 'http://127.0.0.1:9' });
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`evidence bundle for case ${CASE}`);
    expect(ok.stdout).toMatch(/Bundle format: guzheng-bundle\/v2/);
    for (const line of ['✓ Bundle format', '✓ Common checkpoint signature', '✓ Manifest and case id match the entries', '✓ Every item verifies', '✓ Given files are anchored items']) expect(ok.stdout).toContain(line);
    expect(ok.stdout).toMatch(/Items \(3 of 3 valid\)/);
    expect(ok.stdout).toMatch(/✓ format {2}✓ checkpoint {2}✓ entry {2}✓ leaf-hash {2}✓ content {2}✓ inclusion {2}✓ block {2}✓ block-consistency/);
    expect(ok.stdout.trim().split('\n').at(-1)).toMatch(/^VALID: all 3 items of case 衡环罚〔2026〕12号 are in log guzheng\.test\/log .*every given file is an anchored item/);

    // The clerk's copy of the photo was altered.
    const changed = join(mkdtempSync(join(dir, 'clerk-')), 'photo-0012.jpg');
    writeFileSync(changed, '\xff\xd8\xff\xe0 photo 0013');
    const bad = await cli(['verify', '--receipt', p('case.bundle.json'), '--file', files.record, '--file', changed, '--key', key]);
    expect(bad.status).toBe(1);
    const photoIndex = bundle.manifest[1].index;
    expect(bad.stdout).toMatch(new RegExp(`✗ #${photoIndex} document "photo-0012\\.jpg"`));
    expect(bad.stdout).toMatch(/✗ Content digest: content sha256 [0-9a-f]{64} differs from the anchored sha256 [0-9a-f]{64} \[DIGEST_MISMATCH\]/);
    expect(bad.stdout.trim().split('\n').at(-1)).toBe(`INVALID: #${photoIndex} "photo-0012.jpg" failed content (DIGEST_MISMATCH); failed bundle checks: items, files`);
    expect(bad.stderr).toContain(`(items: #${photoIndex})`);

    const js = await cli(['verify', '--receipt', p('case.bundle.json'), '--file', changed, '--key', key, '--json']);
    expect(js.status).toBe(1);
    const report = JSON.parse(js.stdout);
    expect(report).toMatchObject({ kind: 'bundle', valid: false, facts: { caseId: CASE, itemCount: '3', validItems: '2' } });
    expect(report.items.find((i: { index: string }) => i.index === photoIndex).checks.find((c: { id: string }) => c.id === 'content')).toMatchObject({ status: 'fail', code: 'DIGEST_MISMATCH' });
  }, 120_000);

  it('lists the case', async () => {
    const r = await cli(['case', 'list', CASE, '--url', s.url, '--api-key', s.keys.submit]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
    expect(r.stdout).toContain('photo-0012.jpg');
    expect((await cli(['case', 'export', '衡环罚〔2026〕99号', '--url', s.url, '--api-key', s.keys.audit])).status).toBe(1);
  }, 60_000);
});

describe('guzheng verify: each input kind round-trips', () => {
  it('a receipt with its file, with the key as a string or a file; --json gives the structured report', async () => {
    const [human, asJson, noFile] = await Promise.all([
      cli(['verify', '--receipt', p('record.receipt.json'), '--file', files.record, '--key', key]),
      cli(['verify', '-r', p('record.receipt.json'), '-f', files.record, '-k', p('log.vkey'), '--json']),
      cli(['verify', '--receipt', p('record.first-receipt.json'), '--key', key]),
    ]);
    expect(human.status, human.stdout + human.stderr).toBe(0);
    for (const t of ['Receipt format', 'Checkpoint signature (pinned log key)', 'Entry encoding', 'Leaf hash', 'Content digest', 'Inclusion proof', 'Sealing block', 'Block consistency']) expect(human.stdout).toContain(`✓ ${t}: `);
    const verdict = human.stdout.slice(human.stdout.indexOf('VALID: '));
    expect(verdict).toMatch(/^VALID: entry 0 \(document "现场检查笔录\.pdf", sha256 [0-9a-f]{64}\) is in log guzheng\.test\/log at tree size \d+, sealed in block \d+\. The content matches the anchored digest\.\nTimes:\n/);
    // Each time says who vouches for it.
    expect(verdict).toMatch(/received {2}\S+ {2}\(log clock, signed by the log\)/);
    expect(verdict).toMatch(/sealed {4}\S+ {2}\(log clock, signed by the log; block \d+\)/);
    expect(verdict).toMatch(/可信时间 {3}none/);
    expect(asJson.status).toBe(0);
    const report = JSON.parse(asJson.stdout);
    expect(report).toMatchObject({ kind: 'receipt', valid: true, facts: { index: '0', verifierKey: key } });
    expect(report.checks).toHaveLength(10);
    expect(noFile.status).toBe(0);
    expect(noFile.stdout).toContain('– Content digest: no file, record or digest given');
    expect(noFile.stdout).toContain('The content itself was not compared');
  }, 60_000);

  it('a tlog-proof with --entry (the exact entry bytes)', async () => {
    write('record.tlog-proof', receiptToTlogProof(parseReceipt(receipt)));
    writeFileSync(p('record.entry'), canonicalJson(receipt.entry));
    const [ok, noEntry] = await Promise.all([
      cli(['verify', '--receipt', p('record.tlog-proof'), '--entry', p('record.entry'), '--file', files.record, '--key', key, '--json']),
      cli(['verify', '--receipt', p('record.tlog-proof'), '--key', key]),
    ]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ kind: 'tlog-proof', valid: true });
    expect(noEntry.status).toBe(2);
    expect(noEntry.stderr).toMatch(/tlog-proof needs the exact entry bytes/);
  }, 60_000);
});

describe('guzheng verify: every failure kind is exit 1 naming the failed check', () => {
  it.each<[string, () => string, string[], string[]?]>([
    ['file changed', () => p('record.receipt.json'), ['content (DIGEST_MISMATCH)'], ['--file', files.photo]],
    ['inclusion proof tampered', () => write('t1.json', { ...receipt, inclusionProof: receipt.inclusionProof.map((h, i) => (i === 0 ? flip(h) : h)) }), ['inclusion (PROOF_INVALID)']],
    ['entry edited', () => write('t2.json', { ...receipt, entry: { ...receipt.entry, submitter: 'someone-else' } }), ['leaf-hash (RECEIPT_MALFORMED)', 'inclusion (PROOF_INVALID)']],
    ['index changed', () => write('t3.json', { ...receipt, index: '1' }), ['inclusion (PROOF_INVALID)', 'block (BLOCK_INVALID)']],
    ['checkpoint altered', () => write('t4.json', { ...receipt, checkpoint: receipt.checkpoint.replace(/\n(\d+)\n/, (_m, n: string) => `\n${Number(n) + 1}\n`) }), ['checkpoint (SIGNATURE_INVALID)']],
    ['block from elsewhere', () => write('t5.json', { ...receipt, block: { ...receipt.block, first: String(Number(receipt.block.first) + 1) } }), ['block (BLOCK_INVALID)']],
    ['block consistency dropped', () => write('t6.json', { ...receipt, blockConsistency: ['0'.repeat(64)] }), ['block-consistency (PROOF_INVALID)']],
    ['an unknown member', () => write('t7.json', { ...receipt, extra: 1 }), ['format (RECEIPT_MALFORMED)']],
  ])('%s', async (_what, make, want, extra = []) => {
    const r = await cli(['verify', '--receipt', make(), '--key', key, ...extra]);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(`INVALID: failed ${want.join(', ')}`);
    for (const w of want) expect(r.stdout).toMatch(new RegExp(`\\n  ✗ [^\\n]*\\[${/\((\w+)\)/.exec(w)![1]}\\]\\n`));
  }, 60_000);

  it('the wrong pinned key: checkpoint fails', async () => {
    const r = await cli(['verify', '--receipt', p('record.receipt.json'), '--key', OTHER_KEYS.verifierKey]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/✗ Checkpoint signature \(pinned log key\): checkpoint is not signed by any pinned key .*\[NOTE_UNVERIFIED\]/);
    expect(r.stdout).toMatch(/– Inclusion proof: no verified checkpoint/);
  }, 60_000);

  it('a bundle signed by another log key: checkpoint fails for the bundle and every item', async () => {
    const other = new MiniLog(OTHER_KEYS.signerKey, OTHER_KEYS.verifierKey);
    other.publish();
    const b = JSON.parse(readFileSync(p('case.bundle.json'), 'utf8'));
    b.checkpoint = other.blocks[0]!.checkpoint;
    const r = await cli(['verify', '--receipt', write('forged.bundle.json', b), '--key', key]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('✗ Common checkpoint signature (pinned log key)');
    expect(r.stdout).toMatch(/Items \(0 of 3 valid\)/);
  }, 60_000);
});

describe('guzheng verify: usage and unreadable input are exit 2', () => {
  it.each<[string, string[], RegExp]>([
    ['missing receipt file', ['--receipt', join(dir, 'missing.json'), '--key', '__KEY__'], /cannot read receipt/],
    ['not a receipt at all', ['--receipt', '__FILE__', '--key', '__KEY__'], /neither JSON .* nor a tlog-proof/],
    ['a malformed key', ['--receipt', '__RECEIPT__', '--key', 'guzheng.test/log+00000000+AAAA'], /not a verifier key/],
    ['no key', ['--receipt', '__RECEIPT__'], /give --key/],
    ['no receipt', ['--key', '__KEY__'], /give --receipt/],
    ['--entry with a receipt', ['--receipt', '__RECEIPT__', '--key', '__KEY__', '--entry', '__RECEIPT__'], /--entry: entry bytes go with a tlog-proof/],
    ['two files for one receipt', ['--receipt', '__RECEIPT__', '--key', '__KEY__', '--file', '__FILE__', '--file', '__FILE__'], /files: 2 given/],
    ['a missing file', ['--receipt', '__RECEIPT__', '--key', '__KEY__', '--file', join(dir, 'nope.pdf')], /cannot read file/],
    ['a record that is not JSON', ['--receipt', '__RECEIPT__', '--key', '__KEY__', '--record', '__FILE__'], /not valid JSON/],
    ['an unknown option', ['--receipt', '__RECEIPT__', '--colour', 'red'], /unknown option/],
  ])('%s', async (_what, args, want) => {
    const sub = (a: string) => a.replace('__FILE__', files.record).replace('__KEY__', key).replace('__RECEIPT__', p('record.receipt.json'));
    const r = await cli(['verify', ...args.map(sub)]);
    expect(r.status, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(want);
  }, 60_000);
});

describe('guzheng verify --url: the service instead of a local check', () => {
  it('posts the receipt with only the file digest; reports the online checks', async () => {
    const [ok, bad, bundle] = await Promise.all([
      cli(['verify', '--receipt', p('record.receipt.json'), '--file', files.record, '--url', s.url, '--key', key]),
      cli(['verify', '--receipt', p('record.receipt.json'), '--file', files.photo, '--url', s.url]),
      cli(['verify', '--receipt', p('case.bundle.json'), '--file', files.record, '--file', files.photo, '--url', s.url, '--json']),
    ]);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain('✓ Content digest');
    expect(ok.stdout).toContain('✓ the log still holds exactly these entry bytes');
    expect(ok.stdout).toMatch(/✓ the document's checkpoint \(size \d+\) is consistent with the log's latest/);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/✗ Content digest/);
    expect(bundle.status, bundle.stderr).toBe(0);
    expect(JSON.parse(bundle.stdout)).toMatchObject({ kind: 'bundle', valid: true, online: { logStillHolds: true, consistency: { ok: true } } });
  }, 60_000);

  it('looks a file up by its digest and checks the answer offline against the pinned key', async () => {
    const [found, unknown, wrongKey, noKey] = await Promise.all([
      cli(['verify', '--file', files.record, '--url', s.url, '--key', key]),
      cli(['verify', '--file', files.decision, '--url', s.url, '--key', key]),
      cli(['verify', '--file', files.record, '--url', s.url, '--key', OTHER_KEYS.verifierKey]),
      cli(['verify', '--file', files.record, '--url', s.url]),
    ]);
    expect(found.status, found.stdout + found.stderr).toBe(0);
    expect(found.stdout).toMatch(/✓ anchoring at index 0/);
    expect(found.stdout).toMatch(/VALID: anchored 1 time\(s\)/);
    expect(unknown.status).toBe(1);
    expect(unknown.stdout).toContain('never anchored in this log');
    expect(wrongKey.status).toBe(1);
    expect(wrongKey.stdout).toMatch(/✗ Checkpoint signature/);
    expect(noKey.status).toBe(2);
  }, 60_000);

  it('an unreachable service is exit 2, not a verdict', async () => {
    const r = await cli(['verify', '--receipt', p('record.receipt.json'), '--url', 'http://127.0.0.1:9']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot reach/);
  }, 60_000);
});
