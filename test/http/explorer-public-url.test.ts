/**
 * GUZHENG_PUBLIC_URL (`guzheng serve --public-url`): certificates' QR codes and links use it,
 * GET /v1/log shows it; without it they use the URL the request came in on; a bad one stops
 * `guzheng serve` with exit code 2 before anything is created.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import QRCode from 'qrcode';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { auth, json, postJson, sha256Hex, startServer, type TestServer } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'src', 'cli', 'bin.ts');

async function certificate(s: TestServer, hex: string): Promise<{ html: string; index: string }> {
  const r = await json<{ index: string }>(await postJson(`${s.url}/v1/entries?wait=receipt`, { type: 'digest', digest: { alg: 'sha256', hex } }, s.keys.submit), 201);
  const res = await fetch(`${s.url}/v1/receipts/${r.index}/certificate`, { headers: auth(s.keys.submit) });
  expect(res.status).toBe(200);
  return { html: await res.text(), index: r.index };
}

/** The QR code's SVG in a certificate. */
function qrOf(html: string): string {
  const m = /<div class="qr" id="qr">(<svg[\s\S]*?<\/svg>)/.exec(html);
  expect(m).not.toBeNull();
  return (m as RegExpExecArray)[1] as string;
}

describe('public URL', () => {
  it("is what a certificate's QR code and link open, and GET /v1/log shows it", async () => {
    const s = await startServer({ deps: { publicUrl: 'https://evidence.example.gov.cn/gz' } });
    try {
      const hex = sha256Hex('public url document');
      const { html } = await certificate(s, hex);
      const link = `https://evidence.example.gov.cn/gz/verify#sha256=${hex}`;
      expect(html).toContain(`<p class="link mono" id="verify-link">${link}</p>`);
      expect(html).not.toContain('127.0.0.1');
      // The QR code encodes exactly that link: the same SVG as the link's own QR code.
      expect(qrOf(html)).toBe((await QRCode.toString(link, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 })).trim());
      expect((await json<{ publicUrl?: string }>(await fetch(`${s.url}/v1/log`))).publicUrl).toBe('https://evidence.example.gov.cn/gz');
    } finally {
      await s.destroy();
    }
  });

  it('defaults to the URL the request came in on', async () => {
    const s = await startServer();
    try {
      const hex = sha256Hex('default url document');
      const { html } = await certificate(s, hex);
      const link = `${s.url}/verify#sha256=${hex}`;
      expect(html).toContain(`id="verify-link">${link}</p>`);
      expect(qrOf(html)).toBe((await QRCode.toString(link, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 })).trim());
      expect((await json<Record<string, unknown>>(await fetch(`${s.url}/v1/log`))).publicUrl).toBeUndefined();
    } finally {
      await s.destroy();
    }
  });

  it('is an absolute http(s) URL without credentials, query or fragment, kept without a trailing slash', () => {
    expect(loadConfig({}).publicUrl).toBeUndefined();
    expect(loadConfig({ GUZHENG_PUBLIC_URL: 'https://Evidence.Example.gov.cn:443/' }).publicUrl).toBe('https://evidence.example.gov.cn');
    expect(loadConfig({ GUZHENG_PUBLIC_URL: 'http://10.0.0.5:8080/guzheng//' }).publicUrl).toBe('http://10.0.0.5:8080/guzheng');
    expect(loadConfig({ GUZHENG_PUBLIC_URL: 'https://a.example' }, { publicUrl: 'https://b.example/x' }).publicUrl).toBe('https://b.example/x');
    for (const bad of ['evidence.example.gov.cn', 'ftp://evidence.example.gov.cn', 'https://evidence.example.gov.cn/?a=1', 'https://evidence.example.gov.cn/#x', 'https://evidence.example.gov.cn/?', 'https://user:pw@evidence.example.gov.cn', 'javascript:alert(1)', '/relative']) {
      expect(() => loadConfig({ GUZHENG_PUBLIC_URL: bad }), bad).toThrow(ConfigError);
    }
    expect(() => loadConfig({}, { publicUrl: 'mailto:x@example.com' })).toThrow(/GUZHENG_PUBLIC_URL/);
  });

  it('a bad one stops guzheng serve with exit code 2, nothing created', () => {
    const dir = mkdtempSync(join(tmpdir(), 'guzheng-public-url-'));
    try {
      const data = join(dir, 'data');
      const viaEnv = spawnSync(process.execPath, ['--import', 'tsx', BIN, 'serve', '--port', '0', '--data', data], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, GUZHENG_PUBLIC_URL: 'https://evidence.example.gov.cn/?case=1' }, timeout: 60_000 });
      expect(viaEnv.status, viaEnv.stderr).toBe(2);
      expect(viaEnv.stderr).toMatch(/GUZHENG_PUBLIC_URL.*query/);
      const viaFlag = spawnSync(process.execPath, ['--import', 'tsx', BIN, 'serve', '--port', '0', '--data', data, '--public-url', 'ftp://evidence.example.gov.cn'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      expect(viaFlag.status, viaFlag.stderr).toBe(2);
      expect(viaFlag.stderr).toMatch(/GUZHENG_PUBLIC_URL.*http or https/);
      expect(existsSync(data)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
