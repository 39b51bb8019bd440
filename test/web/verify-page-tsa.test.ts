/**
 * The court verification page with RFC 3161 time stamps, in real Chromium: a real service with a
 * real TSA (`openssl ts -reply` behind test/support/tsa) stamps its checkpoints; the page, served
 * by that log (TSA roots prefilled) and saved to disk (nothing prefilled), verifies the stamped
 * receipt and shows each time with who vouches for it. The trusted time is independent only with
 * the TSA root pinned; an altered token or an unrelated root makes the receipt INVALID; a
 * format-1 receipt's sealing time is shown as not verified.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildVerifyPage } from '../../scripts/build-web.js';
import { fromBase64, toBase64 } from '../../src/core/bytes.js';
import { launchChromium } from '../../src/certificate/pdf.js';
import { DEFAULTS, loadConfig, type ServiceConfig } from '../../src/config.js';
import { startService, type RunningService } from '../../src/server.js';
import { verifyReceipt, type TimestampTokenFact } from '../../src/verifier/index.js';
import { beijingTime } from '../../src/web/times.js';
import { formatCertificatesPem } from '../../src/web/input.js';
import { startTsa, type TestTsa } from '../support/tsa/server.js';
import { CHROMIUM, HAVE_CHROMIUM, NO_CHROMIUM, openPage, type OpenedPage } from './chromium.js';

const CASE = '衡环罚〔2026〕TS号';
const WAVE1_KEY = 'guzheng.test/wave1+96d1dd6f+AREuOeD+YLMsKf7IQew6fAB7Sx2kJB+ion/PlFKRNjOx';
const WAVE1_RECEIPT = join(import.meta.dirname, '..', 'fixtures', 'wave1-log', 'receipt-1.json');

/** One row of a times table as shown. */
interface TimeShown {
  time: string;
  state: string;
  text: string;
}

/** What the page shows after Verify. */
interface Shown {
  valid: boolean | null;
  summary: string;
  checks: Array<{ id: string; status: string; code: string | null; text: string }>;
  times: TimeShown[];
  items: Array<{ index: string; valid: boolean; times: TimeShown[] }>;
  error: string | null;
}

const READ_RESULT = `(() => {
  const rows = (root) => Array.from(root.querySelectorAll('table.times tbody tr')).map((tr) => ({ time: tr.dataset.time, state: tr.dataset.state, text: tr.textContent }));
  return JSON.stringify({
    valid: document.getElementById('result').hidden ? null : document.getElementById('result').dataset.valid === 'true',
    summary: document.getElementById('summary').textContent,
    checks: Array.from(document.querySelectorAll('#checks > li')).map((li) => ({ id: li.dataset.check, status: li.dataset.status, code: li.dataset.code || null, text: li.textContent })),
    times: rows(document.getElementById('times')),
    items: Array.from(document.querySelectorAll('#items > li')).map((li) => ({ index: li.dataset.index, valid: li.dataset.valid === 'true', times: rows(li) })),
    error: document.getElementById('error').hidden ? null : document.getElementById('error').textContent,
  });
})()`;

const DONE = '#result[data-valid], #error:not([hidden])';

/**
 * alterGenTime flips one bit of one byte of a token's DER: a digit of the TSTInfo's genTime (the
 * first GeneralizedTime; certificates and the signing-time attribute use UTCTime), so the token
 * claims another minute. Its signature no longer verifies.
 */
function alterGenTime(der: Uint8Array): Uint8Array {
  const out = der.slice();
  for (let i = 0; i + 14 < out.length; i++) {
    if (out[i] === 0x18 && (out[i + 1] ?? 0) >= 15 && out[i + 2] === 0x32 && out[i + 3] === 0x30) {
      out[i + 2 + 11]! ^= 0x01; // YYYYMMDDHHM[M]: the minute's last digit, still a digit
      return out;
    }
  }
  throw new Error('no GeneralizedTime in the token');
}

describe.skipIf(!HAVE_CHROMIUM)(`court verification page with time stamps, in Chromium (${CHROMIUM})`, () => {
  let dir: string;
  let tsa: TestTsa;
  let service: RunningService;
  let browser: Browser;
  let context: BrowserContext;
  const admin = `gzk_${'B'.repeat(43)}`;
  const f: Record<string, string> = {};
  let token: TimestampTokenFact;

  const api = async (path: string): Promise<Response> => fetch(`${service.url}${path}`, { headers: { authorization: `Bearer ${admin}` } });

  beforeAll(async () => {
    await buildVerifyPage();
    dir = mkdtempSync(join(tmpdir(), 'guzheng-verify-tsa-'));
    tsa = await startTsa();
    const config: ServiceConfig = {
      ...loadConfig({}),
      dataDir: join(dir, 'data'),
      port: 0,
      origin: 'guzheng.test/tsa-page',
      adminKey: admin,
      hj212Port: undefined,
      hj212Host: '127.0.0.1',
      hj212LegacyCrc: new Map(),
      checkpointIntervalMs: 20,
      receiptIntervalMs: 10,
      tsaUrls: [tsa.url],
      tsaCaFile: tsa.rootPemPath,
      tsaIntervalMs: 200,
      tsaTimeoutMs: 5000,
    };
    service = await startService(config, () => {});
    const write = (name: string, data: string | Uint8Array) => {
      const path = join(dir, name);
      f[name] = path;
      writeFileSync(path, data);
    };
    const files: Array<[string, Uint8Array]> = [['现场检查笔录.pdf', randomBytes(200_000)], ['photo-1.jpg', randomBytes(3000)], ['photo-2.jpg', randomBytes(5000)]];
    for (const [name, body] of files) {
      const res = await fetch(`${service.url}/v1/documents?name=${encodeURIComponent(name)}&mediaType=application/octet-stream&caseId=${encodeURIComponent(CASE)}&wait=receipt`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/octet-stream' },
        body,
      });
      expect(res.status, await res.clone().text()).toBe(201);
      write(name, body);
    }
    // Stamping runs after anchoring: wait until the last entry's receipt carries its stamp.
    const end = Date.now() + 30_000;
    for (;;) {
      const r = (await (await api('/v1/receipts/2')).json()) as { timestamp: unknown };
      if (r.timestamp !== null) break;
      if (Date.now() > end) throw new Error('timed out waiting for a time stamp');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const receipt = (await (await api('/v1/receipts/0')).json()) as { timestamp: { checkpoint: string; consistency: string[]; tokens: string[] } };
    const ok = await verifyReceipt(receipt, { trustedKeys: [service.ledger.verifierKey], trustedTsaRoots: [tsa.rootDer] });
    expect(ok.checks.find((c) => c.id === 'timestamp')?.status).toBe('pass');
    token = ok.facts.timestamp?.tokens[0] as TimestampTokenFact;
    write('receipt.json', JSON.stringify(receipt, null, 2));
    const altered = alterGenTime(fromBase64(receipt.timestamp.tokens[0] as string));
    write('receipt-altered-token.json', JSON.stringify({ ...receipt, timestamp: { ...receipt.timestamp, tokens: [toBase64(altered)] } }, null, 2));
    const bundle = await api(`/v1/cases/${encodeURIComponent(CASE)}/bundle`);
    expect(bundle.status).toBe(200);
    write('case.bundle.json', await bundle.text());
    write('tsa-root.pem', formatCertificatesPem([tsa.rootDer]));
    write('tsa-root.crt', tsa.rootDer); // binary DER, as some CAs publish it
    write('unrelated-root.pem', formatCertificatesPem([tsa.pki.untrustedRootDer]));
    write('saved-verify.html', await (await fetch(`${service.url}/verify`)).text());
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1100, height: 1400 } });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await service?.close();
    await tsa?.close();
    if (dir) console.log(`verify page (time stamps): screenshots and inputs in ${dir}`);
  });

  async function open(url: string): Promise<OpenedPage> {
    return openPage(context, url);
  }

  /** Give the inputs and click Verify. `roots`: PEM text to paste, or a file to pick; omitted: leave the field as it is. */
  async function verify(page: Page, o: { file?: string | string[]; receipt: string; key?: string; roots?: { text: string } | { file: string; wantPem: string } }): Promise<Shown> {
    await page.setInputFiles('#file', o.file === undefined ? [] : Array.isArray(o.file) ? o.file : [o.file]);
    await page.setInputFiles('#receipt', [o.receipt]);
    if (o.key !== undefined) await page.fill('#key', o.key);
    if (o.roots !== undefined && 'text' in o.roots) await page.fill('#tsa-roots', o.roots.text);
    if (o.roots !== undefined && 'file' in o.roots) {
      await page.setInputFiles('#tsa-file', [o.roots.file]);
      const want = o.roots.wantPem;
      await expect.poll(() => page.inputValue('#tsa-roots')).toBe(want);
    }
    await page.click('#verify');
    await page.locator(DONE).first().waitFor();
    return JSON.parse(await page.evaluate<string>(READ_RESULT)) as Shown;
  }

  const check = (shown: Shown, id: string) => shown.checks.find((c) => c.id === id);
  const times = (rows: TimeShown[]) => rows.map((r) => `${r.time}:${r.state}`);

  it('served: the TSA roots the log pins are prefilled and labelled "pin your own copy"; with them the trusted time is independent', async () => {
    const { page, requests, errors } = await open(`${service.url}/verify`);
    expect(await page.inputValue('#tsa-roots')).toBe(formatCertificatesPem([tsa.rootDer]));
    expect(await page.isVisible('#tsa-note')).toBe(true);
    expect(await page.textContent('#tsa-note')).toMatch(/时间戳机构.*pin your own copy/);
    expect(await page.textContent('#tsa-origin')).toBe('guzheng.test/tsa-page');
    expect(await page.textContent('#tsa-info')).toMatch(/已固定 1 个根证书.*CN=Guzheng Test Root CA/);
    const shown = await verify(page, { file: f['现场检查笔录.pdf'], receipt: f['receipt.json'] as string });
    expect(shown.valid).toBe(true);
    expect(shown.checks.map((c) => `${c.id}:${c.status}`)).toEqual([...['format', 'checkpoint', 'entry', 'leaf-hash', 'content', 'inclusion', 'block', 'block-consistency', 'timestamp'].map((id) => `${id}:pass`), 'cosignatures:skip']);
    expect(check(shown, 'timestamp')?.text).toMatch(/✓可信时间戳.*Trusted time stamp/);
    expect(times(shown.times)).toEqual(['received:signed', 'sealed:signed', 'trusted:independent']);
    const [received, sealed, trusted] = shown.times as [TimeShown, TimeShown, TimeShown];
    expect(received.text).toMatch(/接收时间.*Received.*北京时间.*日志时钟.*log clock.*signed by the log/);
    expect(sealed.text).toMatch(/封存时间.*Sealed.*日志签名担保.*signed by the log \(signed block header\)/);
    expect(trusted.text).toContain('可信时间');
    expect(trusted.text).toContain(token.tsa as string);
    expect(trusted.text).toContain(`${token.genTime} (UTC)`);
    expect(trusted.text).toContain(`${beijingTime(token.genTime as string)}（北京时间）`);
    expect(trusted.text).toMatch(/独立时间来源.*independent/);
    expect(trusted.text).toContain(`序列号 · Serial: ${token.serial}`);
    expect(trusted.text).toContain(`策略 · Policy: ${token.policy}`);
    expect(trusted.text).toContain(`精度 · Accuracy: ±${token.accuracy} s`);
    expect(trusted.text).toMatch(/Pinned root: .*Guzheng Test Root CA/);
    await page.screenshot({ path: join(dir, 'verify-stamped-independent.png'), fullPage: true });
    expect(requests).toEqual([`${service.url}/verify`]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('from disk (a saved copy): nothing is prefilled; without a pinned root it is VALID with the time marked not verified', async () => {
    const url = pathToFileURL(f['saved-verify.html'] as string).href;
    const { page, requests, errors } = await open(url);
    expect(await page.inputValue('#key')).toBe('');
    expect(await page.inputValue('#tsa-roots')).toBe('');
    expect(await page.isVisible('#tsa-note')).toBe(false);
    const shown = await verify(page, { file: f['现场检查笔录.pdf'], receipt: f['receipt.json'] as string, key: service.ledger.verifierKey });
    expect(shown.valid).toBe(true);
    expect(check(shown, 'timestamp')).toMatchObject({ status: 'skip' });
    expect(check(shown, 'timestamp')?.text).toMatch(/^–.*未固定时间戳服务机构.*no TSA root certificate is pinned/);
    expect(times(shown.times)).toEqual(['received:signed', 'sealed:signed', 'trusted:unverified']);
    const trusted = shown.times[2] as TimeShown;
    expect(trusted.text).toMatch(/未核验：未固定该时间戳机构的根证书.*not verified: TSA root not pinned/);
    expect(trusted.text).not.toMatch(/独立时间来源|independent/);
    expect(trusted.text).toContain(`${token.genTime} (UTC)`); // what the token claims, labelled as such
    await page.screenshot({ path: join(dir, 'verify-stamped-unpinned.png'), fullPage: true });
    expect(requests).toEqual([url]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('from disk: a picked root file (.pem, or a binary DER .crt) pins the root, and the time is independent', async () => {
    const url = pathToFileURL(f['saved-verify.html'] as string).href;
    for (const file of [f['tsa-root.pem'] as string, f['tsa-root.crt'] as string]) {
      const { page, requests } = await open(url);
      const shown = await verify(page, { receipt: f['receipt.json'] as string, key: service.ledger.verifierKey, roots: { file, wantPem: formatCertificatesPem([tsa.rootDer]) } });
      expect(await page.textContent('#tsa-info')).toMatch(/CN=Guzheng Test Root CA/);
      expect(shown.valid, file).toBe(true);
      expect(check(shown, 'timestamp')?.status).toBe('pass');
      expect(times(shown.times)).toEqual(['received:signed', 'sealed:signed', 'trusted:independent']);
      expect(requests).toEqual([url]);
      await page.close();
    }
  });

  it('an altered token (one byte flipped in its DER) is INVALID, naming the time-stamp check', async () => {
    const { page } = await open(`${service.url}/verify`);
    const shown = await verify(page, { file: f['现场检查笔录.pdf'], receipt: f['receipt-altered-token.json'] as string });
    expect(shown.valid).toBe(false);
    expect(shown.summary).toMatch(/未通过：可信时间戳.*Failed: Trusted time stamp/);
    expect(check(shown, 'timestamp')).toMatchObject({ status: 'fail', code: 'TIMESTAMP_INVALID' });
    expect(check(shown, 'timestamp')?.text).toMatch(/✗可信时间戳.*时间戳令牌被改动.*the token was altered/);
    expect(shown.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['timestamp']);
    expect(shown.times).toEqual([]); // an invalid receipt establishes no time
    await page.screenshot({ path: join(dir, 'verify-stamped-altered.png'), fullPage: true });
    await page.close();
  });

  it('with only an unrelated root pinned it is INVALID (TIMESTAMP_UNTRUSTED)', async () => {
    const { page } = await open(`${service.url}/verify`);
    const shown = await verify(page, { receipt: f['receipt.json'] as string, roots: { text: formatCertificatesPem([tsa.pki.untrustedRootDer]) } });
    expect(shown.valid).toBe(false);
    expect(check(shown, 'timestamp')).toMatchObject({ status: 'fail', code: 'TIMESTAMP_UNTRUSTED' });
    expect(check(shown, 'timestamp')?.text).toMatch(/不属于您所固定的任何时间戳服务机构根证书.*does not chain to any time-stamping authority root you pinned/);
    expect(shown.summary).toMatch(/可信时间戳.*Trusted time stamp/);
    await page.close();
  });

  it('a malformed root bundle is a clear bilingual input error, not a verdict', async () => {
    const { page, errors } = await open(`${service.url}/verify`);
    const bad = formatCertificatesPem([tsa.rootDer]).replace(/\n([A-Za-z0-9+/]{64})\n/, '\n$1x\n');
    const shown = await verify(page, { receipt: f['receipt.json'] as string, roots: { text: bad } });
    expect(shown.valid).toBeNull();
    expect(shown.error).toMatch(/时间戳机构根证书格式错误.*The pinned TSA root certificates are malformed.*PEM bundle: line 2/);
    // The field itself says so as it is typed or pasted.
    expect(await page.getAttribute('#tsa-info', 'data-ok')).toBe('false');
    expect(await page.textContent('#tsa-info')).toMatch(/不是有效的 PEM 证书.*Not valid PEM certificates.*line 2/);
    const garbage = await verify(page, { receipt: f['receipt.json'] as string, roots: { text: 'not a certificate' } });
    expect(garbage.error).toMatch(/时间戳机构根证书格式错误.*want -----BEGIN CERTIFICATE-----/);
    // Clearing the field verifies the receipt alone again.
    const cleared = await verify(page, { receipt: f['receipt.json'] as string, roots: { text: '' } });
    expect([cleared.valid, check(cleared, 'timestamp')?.status], String(cleared.error)).toEqual([true, 'skip']);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a format-1 receipt shows its sealing time as NOT verified (未经签名), and no time stamp yet', async () => {
    const { page } = await open(pathToFileURL(f['saved-verify.html'] as string).href);
    const shown = await verify(page, { receipt: WAVE1_RECEIPT, key: WAVE1_KEY, roots: { text: formatCertificatesPem([tsa.rootDer]) } });
    expect(shown.valid).toBe(true);
    expect(times(shown.times)).toEqual(['received:signed', 'sealed:unsigned', 'trusted:none']);
    const [, sealed, trusted] = shown.times as [TimeShown, TimeShown, TimeShown];
    expect(sealed.text).toContain('2026-12-04T15:11:52.534Z (UTC)');
    expect(sealed.text).toMatch(/未经签名（格式1区块）.*NOT verified: not signed \(a format-1 block\)/);
    expect(sealed.text).not.toMatch(/signed by the log|日志签名担保/);
    expect(trusted.text).toMatch(/尚无可信时间戳——请稍后重新获取回执.*no time stamp yet — fetch the receipt again later/);
    expect(check(shown, 'timestamp')?.text).toMatch(/尚无可信时间戳.*No time stamp yet/);
    expect(await page.textContent('#facts')).toMatch(/区块格式.*1（仅检查点经签名/);
    await page.screenshot({ path: join(dir, 'verify-format1.png'), fullPage: true });
    await page.close();
  });

  it('a time-stamped bundle shows each item’s times: independent with the pinned root, not verified without', async () => {
    const { page, requests } = await open(`${service.url}/verify`);
    const files = [f['现场检查笔录.pdf'], f['photo-1.jpg'], f['photo-2.jpg']] as string[];
    const pinned = await verify(page, { file: files, receipt: f['case.bundle.json'] as string });
    expect(pinned.valid).toBe(true);
    expect(pinned.items).toHaveLength(3);
    for (const it of pinned.items) expect(times(it.times), it.index).toEqual(['received:signed', 'sealed:signed', 'trusted:independent']);
    expect(pinned.items[0]?.times[2]?.text).toContain(token.tsa as string);
    await page.screenshot({ path: join(dir, 'verify-bundle-stamped.png'), fullPage: true });
    const unpinned = await verify(page, { file: files, receipt: f['case.bundle.json'] as string, roots: { text: '' } });
    expect(unpinned.valid).toBe(true);
    for (const it of unpinned.items) expect(times(it.times)[2], it.index).toBe('trusted:unverified');
    expect(requests).toHaveLength(1);
    await page.close();
  });
});

if (!HAVE_CHROMIUM) it.skip(`court verification page with time stamps: ${NO_CHROMIUM}`, () => {});

