/**
 * The court verification page for a 国密 (`gm`) log, in real Chromium (Debian's, driven by
 * playwright-core): the page is built (as `npm run build:web` builds it) into a temp directory and
 * opened from disk (file://, no network), the log's SM2 key is typed, and files, receipts, a
 * tlog-proof, a certificate and a bundle of a gm MiniLog (scripts/vectors/gm.ts) are given. The page
 * must hash the files with SM3 (the pinned key's suite), say so in both languages, and give
 * VALID for the anchored file and INVALID naming the content digest for a changed one.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildVerifyPage } from '../../scripts/build-web.js';
import { GM_DOCUMENT, GM_ORIGIN_ED25519, buildGmLog } from '../../scripts/vectors/gm.js';
import { GM_KEYS, TEST_KEYS, content } from '../../scripts/vectors/mini-log.js';
import { renderCertificateHtml } from '../../src/certificate/html.js';
import { launchChromium } from '../../src/certificate/pdf.js';
import { buildBundle } from '../../src/core/bundle.js';
import { toHex } from '../../src/core/bytes.js';
import { sm3 } from '../../src/core/crypto-gm.js';
import { canonicalJsonText } from '../../src/core/entry/jcs.js';
import { parseReceipt } from '../../src/core/receipt.js';
import { receiptToTlogProof } from '../../src/core/tlog-proof.js';
import { CASE, itemParts } from '../support/bundles.js';
import { CHROMIUM, HAVE_CHROMIUM, NO_CHROMIUM, openPage, type OpenedPage } from './chromium.js';

/** What the page shows after Verify, read from the DOM in one round trip. */
interface Shown {
  valid: boolean | null;
  verdict: string;
  summary: string;
  suite: string | null;
  suiteText: string;
  checks: Array<{ id: string; status: string; code: string | null; text: string }>;
  items: Array<{ index: string; valid: boolean }>;
  facts: string;
  error: string | null;
  expectedMatch: string | null;
}

const READ_RESULT = `JSON.stringify({
  valid: document.getElementById('result').hidden ? null : document.getElementById('result').dataset.valid === 'true',
  verdict: document.getElementById('verdict').textContent,
  summary: document.getElementById('summary').textContent,
  suite: document.getElementById('suite').dataset.suite || null,
  suiteText: document.getElementById('suite').textContent,
  checks: Array.from(document.querySelectorAll('#checks > li')).map((li) => ({ id: li.dataset.check, status: li.dataset.status, code: li.dataset.code || null, text: li.textContent })),
  items: Array.from(document.querySelectorAll('#items > li')).map((li) => ({ index: li.dataset.index, valid: li.dataset.valid === 'true' })),
  facts: document.getElementById('facts').textContent,
  error: document.getElementById('error').hidden ? null : document.getElementById('error').textContent,
  expectedMatch: document.getElementById('expected-match').dataset.match || null,
})`;

/** Shown when a verification ends: a verdict or an input error. */
const DONE = '#result[data-valid], #error:not([hidden])';

describe.skipIf(!HAVE_CHROMIUM)(`court verification page for a gm log in Chromium (${CHROMIUM})`, () => {
  let browser: Browser;
  let context: BrowserContext;
  let dir: string;
  let pageUrl: string;
  const f: Record<string, string> = {};
  const log = buildGmLog();
  const receipt = log.receipt(1n);
  const fileSm3 = toHex(sm3(GM_DOCUMENT));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'guzheng-verify-page-gm-'));
    // The page as `npm run build:web <out>` writes it, in a directory of its own (dist/ is left to the other browser tests).
    const built = await buildVerifyPage(join(dir, 'verify.html'));
    pageUrl = pathToFileURL(built.path).href;
    const write = (name: string, data: string | Uint8Array) => {
      const path = join(dir, name);
      f[name] = path;
      writeFileSync(path, data);
    };
    const changed = GM_DOCUMENT.slice();
    changed[20]! ^= 0x01;
    write('现场检查笔录.pdf', GM_DOCUMENT);
    write('changed.pdf', changed);
    write('receipt.json', JSON.stringify(receipt, null, 2));
    write('receipt.tlog-proof', receiptToTlogProof(parseReceipt(receipt)));
    write('entry.json', canonicalJsonText(receipt.entry));
    write('doc-0.pdf', content(0));
    write('doc-1.pdf', content(1));
    write('certificate.html', await renderCertificateHtml({ receipt, verifierKey: GM_KEYS.verifierKey, verifyUrl: 'https://evidence.example.gov.cn/verify', issuedAt: new Date('2026-03-01T09:00:00.000Z') }));
    const bundle = buildBundle({ caseId: CASE, createdAt: '2026-03-01T09:00:00.000Z', verifierKey: GM_KEYS.verifierKey, checkpoint: log.blocks.at(-1)!.checkpoint, items: [1n, 3n, 4n].map((i) => itemParts(log, i)) });
    write('case.bundle.json', JSON.stringify(bundle, null, 2));
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1100, height: 1400 } });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    if (dir) console.log(`verify page (gm): screenshots and inputs in ${dir}`);
  });

  async function open(hash = ''): Promise<OpenedPage> {
    return openPage(context, pageUrl + hash);
  }

  async function verify(page: Page, o: { file?: string | string[]; receipt: string; key?: string; entry?: string }): Promise<Shown> {
    await page.setInputFiles('#file', o.file === undefined ? [] : Array.isArray(o.file) ? o.file : [o.file]);
    await page.setInputFiles('#receipt', [o.receipt]);
    if (o.entry) await page.setInputFiles('#entry', [o.entry]);
    if (o.key !== undefined) await page.fill('#key', o.key);
    await page.click('#verify');
    await page.locator(DONE).first().waitFor();
    return JSON.parse(await page.evaluate<string>(READ_RESULT)) as Shown;
  }

  const check = (shown: Shown, id: string) => shown.checks.find((c) => c.id === id);

  it('from disk, with the SM2 key pinned: the file is hashed with SM3, the suite is said in both languages, VALID; one byte changed is INVALID naming the content digest', async () => {
    const { page, requests, errors } = await open();
    expect(await page.inputValue('#key')).toBe('');
    await page.fill('#key', GM_KEYS.verifierKey);
    // The key field says at once what the key means.
    expect(await page.getAttribute('#key-info', 'data-suite')).toBe('gm');
    expect(await page.textContent('#key-info')).toMatch(/国密日志：文件摘要与默克尔树用 SM3.*SM2.*A 国密 \(gm\) log: file digests and the Merkle tree use SM3/);

    const valid = await verify(page, { file: f['现场检查笔录.pdf'], receipt: f['receipt.json'] as string });
    expect(valid.valid).toBe(true);
    expect(valid.verdict).toMatch(/有效.*VALID/);
    expect(valid.checks.map((c) => `${c.id}:${c.status}`)).toEqual([...['format', 'checkpoint', 'entry', 'leaf-hash', 'content', 'inclusion', 'block', 'block-consistency'].map((id) => `${id}:pass`), 'timestamp:skip', 'cosignatures:skip']);
    expect(valid.suite).toBe('gm');
    expect(valid.suiteText).toBe('密码算法：国密 SM3 / SM2 · Crypto suite: Chinese commercial cryptography (国密) SM3 / SM2');
    expect(valid.facts).toContain(`sm3 ${fileSm3} (现场检查笔录.pdf)`);
    expect(valid.facts).toContain(`存证摘要Anchored digestsm3 ${fileSm3}`);
    expect(valid.facts).toMatch(/密码算法Crypto suite国密日志.*SM3.*SM2/);
    expect(valid.facts).not.toMatch(/sha256/);
    await page.screenshot({ path: join(dir, 'verify-gm-valid.png'), fullPage: true });

    const changed = await verify(page, { file: f['changed.pdf'], receipt: f['receipt.json'] as string });
    expect(changed.valid).toBe(false);
    expect(changed.verdict).toMatch(/无效.*INVALID/);
    expect(changed.summary).toMatch(/内容摘要.*Content digest/);
    expect(check(changed, 'content')).toMatchObject({ status: 'fail', code: 'DIGEST_MISMATCH' });
    expect(check(changed, 'content')?.text).toMatch(/content sm3 [0-9a-f]{64} differs from the anchored sm3/);
    expect(changed.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['content']);
    expect(changed.suite).toBe('gm');
    await page.screenshot({ path: join(dir, 'verify-gm-byte-changed.png'), fullPage: true });
    expect(requests).toEqual([pageUrl]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the gm receipt under an Ed25519 key (even one with the log name) is INVALID naming the checkpoint signature; the c2sp suite is said', async () => {
    const { page } = await open();
    for (const key of [GM_ORIGIN_ED25519.verifierKey, TEST_KEYS.verifierKey]) {
      const shown = await verify(page, { file: f['现场检查笔录.pdf'], receipt: f['receipt.json'] as string, key });
      expect(shown.valid, key).toBe(false);
      expect(check(shown, 'checkpoint'), key).toMatchObject({ status: 'fail', code: 'NOTE_UNVERIFIED' });
      expect(shown.suite).toBe('c2sp');
      expect(shown.suiteText).toMatch(/SHA-256 \/ Ed25519/);
      // Hashed with the pinned key's SHA-256, never with the SM3 the receipt would have wanted.
      expect(shown.facts).toMatch(/sha256 [0-9a-f]{64} \(现场检查笔录\.pdf\)/);
      // Under a c2sp key an sm3 entry is not a valid entry of that log: nothing is compared with it.
      expect(check(shown, 'entry'), key).toMatchObject({ status: 'fail', code: 'ENTRY_INVALID' });
      expect(check(shown, 'content')?.status, key).toBe('skip');
    }
    await page.close();
  });

  it('a gm tlog-proof with its entry file, and the gm certificate with its #sm3= QR digest, verify', async () => {
    const { page } = await open();
    const proof = await verify(page, { file: f['现场检查笔录.pdf'], receipt: f['receipt.tlog-proof'] as string, entry: f['entry.json'] as string, key: GM_KEYS.verifierKey });
    expect([proof.valid, check(proof, 'content')?.status, proof.suite]).toEqual([true, 'pass', 'gm']);
    await page.close();

    const cert = await open(`#sm3=${fileSm3}`);
    expect(await cert.page.textContent('#expected')).toBe(`证书上的文件摘要 / Digest on the certificate (SM3)：${fileSm3}`);
    const fromCert = await verify(cert.page, { file: f['现场检查笔录.pdf'], receipt: f['certificate.html'] as string, key: GM_KEYS.verifierKey });
    expect([fromCert.valid, fromCert.expectedMatch]).toEqual([true, 'true']);
    const changed = await verify(cert.page, { file: f['changed.pdf'], receipt: f['certificate.html'] as string });
    expect([changed.valid, changed.expectedMatch, check(changed, 'content')?.code]).toEqual([false, 'false', 'DIGEST_MISMATCH']);
    await cert.page.close();
  });

  it('a gm bundle with the case files: each matched by its SM3 digest; a changed file named', async () => {
    const { page } = await open();
    const files = [f['现场检查笔录.pdf'], f['doc-0.pdf'], f['doc-1.pdf']] as string[];
    const all = await verify(page, { file: files, receipt: f['case.bundle.json'] as string, key: GM_KEYS.verifierKey });
    expect(all.valid).toBe(true);
    expect(all.checks.map((c) => `${c.id}:${c.status}`)).toEqual(['format:pass', 'checkpoint:pass', 'manifest:pass', 'items:pass', 'files:pass']);
    expect(all.items.map((i) => [i.index, i.valid])).toEqual([['1', true], ['3', true], ['4', true]]);
    expect(all.suite).toBe('gm');
    const changed = await verify(page, { file: [f['changed.pdf'] as string, f['doc-0.pdf'] as string], receipt: f['case.bundle.json'] as string });
    expect(changed.valid).toBe(false);
    expect(check(changed, 'files')).toMatchObject({ status: 'fail', code: 'DIGEST_MISMATCH' });
    await page.close();
  });

  it('a malformed key is said under the key field and as an input error, without a verdict', async () => {
    const { page } = await open();
    await page.fill('#key', `${GM_KEYS.verifierKey.slice(0, -4)}AAA=`);
    expect(await page.getAttribute('#key-info', 'data-ok')).toBe('false');
    expect(await page.textContent('#key-info')).toMatch(/公钥格式错误.*Malformed key/);
    const shown = await verify(page, { file: f['现场检查笔录.pdf'], receipt: f['receipt.json'] as string });
    expect(shown.valid).toBeNull();
    expect(shown.error).toMatch(/公钥格式错误.*The pinned key is malformed/);
    await page.close();
  });
});

if (!HAVE_CHROMIUM) it.skip(`court verification page for a gm log in Chromium: ${NO_CHROMIUM}`, () => {});
