/**
 * End to end through the real executable: `guzheng serve` as a child process on a temp data
 * directory and an ephemeral port, then `submit`, `prove`, `keys`, a clean SIGTERM shutdown and a
 * restart. Runs the TypeScript sources through tsx (the same code `npm start` builds).
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyReceipt } from '../../src/verifier/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'src', 'cli', 'bin.ts');
const dir = mkdtempSync(join(tmpdir(), 'guzheng-cli-'));
const data = join(dir, 'data');

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
}

async function serve(): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'serve', '--port', '0', '--data', data, '--origin', 'cli.test/log', '--checkpoint-interval-ms', '20'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start:\n${err}`)), 30_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m && err.includes('openapi.json')) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    };
    child.stderr!.on('data', check);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${err}`)));
  });
  return { child, url, stderr: () => err };
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('guzheng CLI', () => {
  it('prints help and exits 2 on a usage error', async () => {
    const help = cli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/serve[\s\S]*keys[\s\S]*submit[\s\S]*prove/);
    expect(cli(['submit']).status).toBe(2);
    expect(cli(['no-such-command']).status).toBe(2);
  }, 60_000);

  it('serve exits 2 on an unreadable or empty TSA root bundle, before creating anything', async () => {
    const empty = join(dir, 'empty.pem');
    writeFileSync(empty, 'no certificates here\n');
    for (const [ca, want] of [[empty, /GUZHENG_TSA_CA .*empty\.pem: PEM bundle: line 1/], [join(dir, 'missing.pem'), /GUZHENG_TSA_CA .*missing\.pem: cannot read it/]] as const) {
      const target = join(dir, 'data-bad-tsa');
      const r = cli(['serve', '--port', '0', '--data', target, '--tsa-url', 'http://127.0.0.1:9/tsa', '--tsa-ca', ca]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(want);
      expect(existsSync(target)).toBe(false);
    }
  }, 60_000);

  it('the built executable (dist/cli/guzheng.cjs, what npm start runs) is the same CLI, exit codes included', async () => {
    const launcher = join(ROOT, 'dist', 'cli', 'guzheng.cjs');
    expect(existsSync(launcher), 'dist/cli/guzheng.cjs missing: npm ci / npm run build writes it').toBe(true);
    const run = (args: string[]) => spawnSync(process.execPath, [launcher, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    const version = run(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe('0.1.0');
    expect(run(['no-such-command']).status).toBe(2);
  });

  it('serves, anchors a file and a record with receipts that verify offline, shuts down cleanly, restarts', async () => {
    const s = await serve();
    try {
      expect(s.stderr()).toContain('log origin:     cli.test/log');
      const vkey = /verifier key:\s+(\S+)/.exec(s.stderr())![1]!;
      const adminKeyFile = join(data, 'admin-api-key');
      expect(statSync(adminKeyFile).mode & 0o777).toBe(0o600);
      expect(statSync(join(data, 'log-key')).mode & 0o777).toBe(0o600);
      const admin = readFileSync(adminKeyFile, 'utf8').trim();
      expect(s.stderr()).not.toContain(admin);
      expect(s.stderr()).not.toContain('PRIVATE+KEY');

      const file = join(dir, '现场检查笔录.pdf');
      writeFileSync(file, '%PDF-1.7 inspection record\n');
      const sub = cli(['submit', '--file', file, '--case', '衡环罚〔2026〕12号', '--url', s.url, '--api-key', admin]);
      expect(sub.status, sub.stderr).toBe(0);
      const receipt = JSON.parse(sub.stdout);
      const report = await verifyReceipt(receipt, { trustedKeys: [vkey], content: { bytes: readFileSync(file) } });
      expect(report.valid).toBe(true);
      expect(report.facts.entry?.meta).toMatchObject({ caseId: '衡环罚〔2026〕12号', name: '现场检查笔录.pdf', mediaType: 'application/pdf' });

      const rec = join(dir, 'record.json');
      writeFileSync(rec, JSON.stringify({ station: 'HS-AQ-0001', value: '35.2' }));
      const out = join(dir, 'record.receipt.json');
      const sub2 = cli(['submit', '--record', rec, '--url', s.url, '--api-key', admin, '--out', out]);
      expect(sub2.status, sub2.stderr).toBe(0);
      expect((await verifyReceipt(JSON.parse(readFileSync(out, 'utf8')), { trustedKeys: [vkey], content: { record: { value: '35.2', station: 'HS-AQ-0001' } } })).valid).toBe(true);

      // The officer saves the certificate: HTML always, PDF when Chromium is installed (CI installs it).
      const certHtml = join(dir, 'cert.html');
      const c1 = cli(['certificate', '--index', '0', '-o', certHtml, '--url', s.url, '--api-key', admin]);
      expect(c1.status, c1.stderr).toBe(0);
      const html = readFileSync(certHtml, 'utf8');
      expect(html).toContain('衡环罚〔2026〕12号');
      expect(html).toContain(receipt.entry.digest.hex);
      if (existsSync('/usr/bin/chromium')) {
        const certPdf = join(dir, 'cert.pdf');
        const c2 = cli(['certificate', '--index', '0', '-o', certPdf, '--url', s.url, '--api-key', admin]);
        expect(c2.status, c2.stderr).toBe(0);
        expect(readFileSync(certPdf).subarray(0, 5).toString()).toBe('%PDF-');
      }
      expect(cli(['certificate', '--index', '01', '-o', certHtml, '--url', s.url]).status).toBe(2);
      expect(cli(['certificate', '--index', '0', '-o', certHtml, '--url', s.url]).status).toBe(1); // no key

      const prove = cli(['prove', '--index', '0', '--url', s.url]);
      expect(prove.status, prove.stderr).toBe(0);
      expect(JSON.parse(prove.stdout)).toMatchObject({ index: '0' });

      expect(cli(['submit', '--file', file, '--url', s.url, '--api-key', 'gzk_' + 'A'.repeat(43)]).status).toBe(1);
      expect(cli(['submit', '--file', join(dir, 'missing.pdf'), '--url', s.url]).status).toBe(2);

      const locked = cli(['keys', 'list', '--data', data]);
      expect(locked.status).toBe(1);
      expect(locked.stderr).toMatch(/in use|Stop "guzheng serve"/);
    } finally {
      expect(await stop(s.child)).toBe(0);
    }

    const keys = cli(['keys', 'create', '--role', 'submit', '--label', 'officer', '--data', data]);
    expect(keys.status, keys.stderr).toBe(0);
    const submitKey = keys.stdout.trim();
    expect(submitKey).toMatch(/^gzk_/);
    const list = cli(['keys', 'list', '--data', data, '--json']);
    expect(JSON.parse(list.stdout).map((k: { role: string }) => k.role).sort()).toEqual(['admin', 'submit']);
    expect(list.stdout).not.toContain(submitKey);

    const again = await serve();
    try {
      expect(again.stderr()).toMatch(/entries:\s+2/);
      const file = join(dir, 'photo.jpg');
      writeFileSync(file, 'jpeg bytes');
      const sub = cli(['submit', '--file', file, '--url', again.url, '--api-key', submitKey]);
      expect(sub.status, sub.stderr).toBe(0);
      expect(JSON.parse(sub.stdout).index).toBe('2');
    } finally {
      expect(await stop(again.child)).toBe(0);
    }
  }, 120_000);
});
