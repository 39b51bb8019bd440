/**
 * The court verification page in real Chromium (Debian's, driven by playwright-core): served by a
 * real log on 127.0.0.1 and saved to disk (file://, no network). Files are given with
 * setInputFiles, the key is typed, Verify is clicked, and the verdict and check list are read from
 * the DOM. Chromium is launched once for the file.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildVerifyPage, VERIFY_PAGE_PATH } from '../../scripts/build-web.js';
import { launchChromium } from '../../src/certificate/pdf.js';
import { generateSignerKey } from '../../src/core/note.js';
import { canonicalJsonText } from '../../src/core/entry/jcs.js';
import { parseReceipt, type Receipt } from '../../src/core/receipt.js';
import { receiptToTlogProof } from '../../src/core/tlog-proof.js';
import { auth, json, sha256Hex, startServer, type TestServer } from '../http/helpers.js';
import { CHROMIUM, HAVE_CHROMIUM, NO_CHROMIUM, pixelStats, openPage, type OpenedPage } from './chromium.js';

const OTHER_LOG = generateSignerKey('guzheng.test/other-log', new Uint8Array(32).fill(9));

/** What the page shows after Verify, read from the DOM in one round trip. */
interface Shown {
  valid: boolean | null;
  verdict: string;
  summary: string;
  checks: Array<{ id: string; status: string; code: string | null; text: string }>;
  items: Array<{ index: string; valid: boolean; text: string }>;
  error: string | null;
  expectedMatch: string | null;
}

const READ_RESULT = `JSON.stringify({
  valid: document.getElementById('result').hidden ? null : document.getElementById('result').dataset.valid === 'true',
  verdict: document.getElementById('verdict').textContent,
  summary: document.getElementById('summary').textContent,
  checks: Array.from(document.querySelectorAll('#checks > li')).map((li) => ({ id: li.dataset.check, status: li.dataset.status, code: li.dataset.code || null, text: li.textContent })),
  items: Array.from(document.querySelectorAll('#items > li')).map((li) => ({ index: li.dataset.index, valid: li.dataset.valid === 'true', text: li.textContent })),
  error: document.getElementById('error').hidden ? null : document.getElementById('error').textContent,
  expectedMatch: document.getElementById('expected-match').dataset.match || null,
})`;

/** Shown when a verification ends: a verdict or an input error. (Locators run in Playwright's
 * isolated world, so waiting needs no eval, which the page's CSP rightly forbids.) */
const DONE = '#result[data-valid], #error:not([hidden])';

const timings: Array<[string, number]> = [];
async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await f();
  } finally {
    timings.push([label, Math.round(performance.now() - t0)]);
  }
}

describe.skipIf(!HAVE_CHROMIUM)(`court verification page in Chromium (${CHROMIUM})`, () => {
  let s: TestServer;
  let other: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let dir: string;
  const f: Record<string, string> = {};
  let receipt: Receipt;
  let fileHex: string;

  beforeAll(async () => {
    await timed('build page', () => buildVerifyPage());
    dir = mkdtempSync(join(tmpdir(), 'guzheng-verify-page-'));
    [s, other] = await Promise.all([startServer(), startServer({ ledger: { signerKey: OTHER_LOG.signerKey } })]);
    const file = randomBytes(300_000);
    fileHex = sha256Hex(file);
    const upload = async (srv: TestServer, body: Uint8Array, name: string) =>
      json(
        await fetch(`${srv.url}/v1/documents?name=${encodeURIComponent(name)}&mediaType=application/pdf&caseId=${encodeURIComponent('衡环罚〔2026〕12号')}&wait=receipt`, {
          method: 'POST',
          headers: { ...auth(srv.keys.submit), 'Content-Type': 'application/octet-stream' },
          body,
        }),
        201,
      );
    // Three documents so the receipt of the first has a non-empty inclusion proof.
    const first = await upload(s, file, '现场检查笔录.pdf');
    const photos = [randomBytes(1000), randomBytes(2000)];
    await upload(s, photos[0] as Buffer, 'photo-1.jpg');
    await upload(s, photos[1] as Buffer, 'photo-2.jpg');
    receipt = (await json(await fetch(`${s.url}/v1/receipts/${first.index}`, { headers: auth(s.keys.audit) }))) as Receipt;
    expect(receipt.inclusionProof.length).toBeGreaterThan(0);
    const otherReceipt = (await upload(other, file, '现场检查笔录.pdf')).receipt as Receipt;

    const changed = Buffer.from(file);
    changed[123_456]! ^= 0x01;
    const tampered = structuredClone(receipt);
    const h = tampered.inclusionProof[0] as string;
    tampered.inclusionProof[0] = (h[0] === 'a' ? 'b' : 'a') + h.slice(1);
    const write = (name: string, data: string | Uint8Array) => {
      const path = join(dir, name);
      f[name] = path;
      writeFileSync(path, data);
    };
    write('现场检查笔录.pdf', file);
    write('changed.pdf', changed);
    write('receipt.json', JSON.stringify(receipt, null, 2));
    write('receipt-other-log.json', JSON.stringify(otherReceipt, null, 2));
    write('receipt-tampered-proof.json', JSON.stringify(tampered, null, 2));
    // The sealing block's members, each changed to another well-formed value: a guzheng-block/v2
    // block's members are bound to the header line its checkpoint signs (SPEC.md#block-validity).
    expect(receipt.block.format).toBe('guzheng-block/v2');
    const withBlock = (change: Partial<Receipt['block']>) => JSON.stringify({ ...receipt, block: { ...receipt.block, ...change } }, null, 2);
    write('receipt-block-time.json', withBlock({ time: new Date(Date.parse(receipt.block.time) - 1000).toISOString() }));
    write('receipt-block-prev.json', withBlock({ prev: (receipt.block.prev[0] === 'a' ? 'b' : 'a') + receipt.block.prev.slice(1) }));
    write('receipt-block-height.json', withBlock({ height: String(BigInt(receipt.block.height) + 1n) }));
    write('receipt.tlog-proof', receiptToTlogProof(parseReceipt(receipt)));
    write('entry.json', canonicalJsonText(receipt.entry));
    write('photo-1.jpg', photos[0] as Buffer);
    write('photo-2.jpg', photos[1] as Buffer);
    const bundle = await fetch(`${s.url}/v1/cases/${encodeURIComponent('衡环罚〔2026〕12号')}/bundle`, { headers: auth(s.keys.audit) });
    expect(bundle.status).toBe(200);
    write('case.bundle.json', await bundle.text());
    const cert = await fetch(`${s.url}/v1/receipts/${first.index}/certificate`, { headers: auth(s.keys.audit) });
    expect(cert.status).toBe(200);
    write('certificate.html', await cert.text());
    // The page as a browser's "save page" would keep it (with the serving log's data block in it),
    // and the built file itself: both must work from disk.
    mkdirSync(join(dir, 'saved'));
    write('saved/verify.html', await (await fetch(`${s.url}/verify`)).text());
    f['dist/verify.html'] = join(dir, 'saved', 'verify-dist.html');
    copyFileSync(VERIFY_PAGE_PATH, f['dist/verify.html']);

    browser = await timed('launch chromium', () => launchChromium());
    context = await browser.newContext({ viewport: { width: 1100, height: 1400 } });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await Promise.all([s?.destroy(), other?.destroy()]);
    if (dir) console.log(`verify page: screenshots and inputs in ${dir}`);
    console.log(`verify page browser timings (ms): ${timings.map(([l, ms]) => `${l} ${ms}`).join('; ')}`);
  });

  /** A page with request, console-error and page-error recorders. */
  async function open(url: string): Promise<OpenedPage> {
    return openPage(context, url);
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

  it('is served with a CSP that forbids every request, and prefills (and labels) this log’s key', async () => {
    const res = await fetch(`${s.url}/verify`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'sha256-/);
    expect(csp).not.toMatch(/unsafe|connect-src/);
    const { page, errors } = await open(`${s.url}/verify`);
    expect(await page.inputValue('#key')).toBe(s.ledger.verifierKey);
    expect(await page.isVisible('#key-note')).toBe(true);
    expect(await page.textContent('#key-note')).toMatch(/pin your own copy/);
    expect(await page.textContent('#key-origin')).toBe(s.ledger.origin);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('served: a valid file and receipt show VALID with every check passed, and the file never leaves the page', async () => {
    const { page, requests, errors } = await open(`${s.url}/verify`);
    const shown = await timed('valid (served)', () => verify(page, { file: f['现场检查笔录.pdf'], receipt: f['receipt.json'] as string }));
    expect(shown.valid).toBe(true);
    expect(shown.verdict).toMatch(/有效.*VALID/);
    expect(shown.checks.map((c) => `${c.id}:${c.status}`)).toEqual([...['format', 'checkpoint', 'entry', 'leaf-hash', 'content', 'inclusion', 'block', 'block-consistency'].map((id) => `${id}:pass`), 'timestamp:skip', 'cosignatures:skip']);
    // This log has no TSA: no TSA roots are prefilled, and the receipt has no stamp yet.
    expect(await page.inputValue('#tsa-roots')).toBe('');
    expect(await page.isVisible('#tsa-note')).toBe(false);
    const rows = page.locator('#times tbody tr');
    const times = await Promise.all((await rows.all()).map(async (r) => `${await r.getAttribute('data-time')}:${await r.getAttribute('data-state')}`));
    expect(times).toEqual(['received:signed', 'sealed:signed', 'trusted:none']);
    expect(check(shown, 'content')?.text).toMatch(/✓内容摘要Content digest/);
    expect(await page.textContent('#facts')).toContain(fileHex);
    await page.screenshot({ path: join(dir, 'verify-valid.png'), fullPage: true });
    // One request: the page itself. Hashing and verification made none.
    expect(requests).toEqual([`${s.url}/verify`]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('served: one byte changed shows INVALID naming the content digest', async () => {
    const { page, requests } = await open(`${s.url}/verify`);
    const shown = await timed('byte changed (served)', () => verify(page, { file: f['changed.pdf'], receipt: f['receipt.json'] as string }));
    expect(shown.valid).toBe(false);
    expect(shown.verdict).toMatch(/无效.*INVALID/);
    expect(shown.summary).toMatch(/内容摘要.*Content digest/);
    expect(check(shown, 'content')).toMatchObject({ status: 'fail', code: 'DIGEST_MISMATCH' });
    expect(check(shown, 'content')?.text).toMatch(/✗内容摘要Content digest.*哪怕只改动一个字节.*changing even one byte/);
    expect(shown.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['content']);
    await page.screenshot({ path: join(dir, 'verify-byte-changed.png'), fullPage: true });
    expect(requests).toHaveLength(1);
    await page.close();
  });

  it('served: a receipt from another log key shows INVALID naming the checkpoint signature', async () => {
    const { page } = await open(`${s.url}/verify`);
    const shown = await timed('other log key (served)', () => verify(page, { file: f['现场检查笔录.pdf'], receipt: f['receipt-other-log.json'] as string }));
    expect(shown.valid).toBe(false);
    expect(shown.summary).toMatch(/检查点签名.*Checkpoint signature/);
    expect(check(shown, 'checkpoint')).toMatchObject({ status: 'fail', code: 'NOTE_UNVERIFIED' });
    expect(check(shown, 'checkpoint')?.text).toMatch(/检查点签名（已固定的日志公钥）.*another log/);
    expect(check(shown, 'inclusion')?.status).toBe('skip');
    // The content itself does match: it is the same file, anchored in the other log.
    expect(check(shown, 'content')?.status).toBe('pass');
    await page.close();
  });

  it('served: a tampered inclusion proof shows INVALID naming the inclusion proof', async () => {
    const { page } = await open(`${s.url}/verify`);
    const shown = await timed('tampered proof (served)', () => verify(page, { file: f['现场检查笔录.pdf'], receipt: f['receipt-tampered-proof.json'] as string }));
    expect(shown.valid).toBe(false);
    expect(shown.summary).toMatch(/包含性证明.*Inclusion proof/);
    expect(check(shown, 'inclusion')).toMatchObject({ status: 'fail', code: 'PROOF_INVALID' });
    expect(check(shown, 'inclusion')?.text).toMatch(/✗包含性证明Inclusion proof/);
    expect(shown.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['inclusion']);
    await page.close();
  });

  it('served: a changed block time, prev or height shows INVALID naming the sealing block (BLOCK_INVALID): the block header is signed', async () => {
    const { page, requests } = await open(`${s.url}/verify`);
    for (const member of ['time', 'prev', 'height']) {
      const shown = await timed(`block ${member} changed (served)`, () => verify(page, { file: f['现场检查笔录.pdf'], receipt: f[`receipt-block-${member}.json`] as string }));
      expect(shown.valid, member).toBe(false);
      expect(shown.verdict).toMatch(/无效.*INVALID/);
      expect(shown.summary, member).toMatch(/封存区块.*Sealing block/);
      expect(check(shown, 'block'), member).toMatchObject({ status: 'fail', code: 'BLOCK_INVALID' });
      expect(check(shown, 'block')?.text, member).toMatch(/✗封存区块Sealing block.*与日志签名的区块头不符.*differs from the block header the log signed/);
      // Everything else about the receipt still holds: only the block fails, and its consistency is not checked.
      expect(shown.checks.filter((c) => c.status === 'fail').map((c) => c.id), member).toEqual(['block']);
      expect(check(shown, 'block-consistency')?.status, member).toBe('skip');
      expect(await page.locator('#times table').count(), member).toBe(0);
      if (member === 'time') await page.screenshot({ path: join(dir, 'verify-block-time-changed.png'), fullPage: true });
    }
    expect(requests).toHaveLength(1);
    await page.close();
  });

  it('from disk (a saved copy, file://): no key is prefilled; the same four cases give the same verdicts, with no request', async () => {
    for (const saved of [f['saved/verify.html'] as string, f['dist/verify.html'] as string]) {
      const url = pathToFileURL(saved).href;
      const { page, requests, errors } = await open(url);
      expect(await page.inputValue('#key')).toBe('');
      expect(await page.isVisible('#key-note')).toBe(false);
      const key = s.ledger.verifierKey;
      const valid = await timed('valid (file://)', () => verify(page, { file: f['现场检查笔录.pdf'], receipt: f['receipt.json'] as string, key }));
      expect(valid.valid).toBe(true);
      const changed = await verify(page, { file: f['changed.pdf'], receipt: f['receipt.json'] as string });
      expect([changed.valid, check(changed, 'content')?.code]).toEqual([false, 'DIGEST_MISMATCH']);
      const otherLog = await verify(page, { file: f['现场检查笔录.pdf'], receipt: f['receipt-other-log.json'] as string });
      expect([otherLog.valid, check(otherLog, 'checkpoint')?.code]).toEqual([false, 'NOTE_UNVERIFIED']);
      const tampered = await verify(page, { file: f['现场检查笔录.pdf'], receipt: f['receipt-tampered-proof.json'] as string });
      expect([tampered.valid, check(tampered, 'inclusion')?.code]).toEqual([false, 'PROOF_INVALID']);
      expect(requests).toEqual([url]);
      expect(errors).toEqual([]);
      await page.close();
    }
  });

  it('accepts the evidence certificate (HTML) as the receipt, and checks the digest its QR code carries', async () => {
    const { page } = await open(`${s.url}/verify#sha256=${fileHex}`);
    expect(await page.textContent('#expected-hex')).toBe(fileHex);
    const shown = await timed('certificate as receipt', () => verify(page, { file: f['现场检查笔录.pdf'], receipt: f['certificate.html'] as string }));
    expect(shown.valid).toBe(true);
    expect(shown.expectedMatch).toBe('true');
    const changed = await verify(page, { file: f['changed.pdf'], receipt: f['certificate.html'] as string });
    expect([changed.valid, changed.expectedMatch]).toEqual([false, 'false']);
    await page.close();
  });

  it('verifies a tlog-proof with its entry file, and a receipt alone (content not compared, shown as –)', async () => {
    const { page } = await open(`${s.url}/verify`);
    const proof = await verify(page, { file: f['现场检查笔录.pdf'], receipt: f['receipt.tlog-proof'] as string, entry: f['entry.json'] as string });
    expect(proof.valid).toBe(true);
    expect(check(proof, 'leaf-hash')?.status).toBe('skip');
    expect(check(proof, 'block-consistency')?.status).toBe('pass');
    const alone = await verify(page, { receipt: f['receipt.json'] as string });
    expect(alone.valid).toBe(true);
    expect(check(alone, 'content')).toMatchObject({ status: 'skip' });
    expect(check(alone, 'content')?.text).toMatch(/^–.*未提供文件.*No file given/);
    expect(alone.summary).toMatch(/未比对文件内容本身.*not compared/);
    await page.close();
  });

  it('verifies an evidence bundle with the case files, naming a changed file and listing every item', async () => {
    const { page, requests } = await open(`${s.url}/verify`);
    const files = [f['现场检查笔录.pdf'], f['photo-1.jpg'], f['photo-2.jpg']] as string[];
    const all = await timed('bundle, 3 files', () => verify(page, { file: files, receipt: f['case.bundle.json'] as string }));
    expect(all.valid).toBe(true);
    expect(all.checks.map((c) => `${c.id}:${c.status}`)).toEqual(['format:pass', 'checkpoint:pass', 'manifest:pass', 'items:pass', 'files:pass']);
    expect(all.items.map((i) => i.valid)).toEqual([true, true, true]);
    expect(all.items[0]?.text).toContain('现场检查笔录.pdf');
    expect(all.summary).toMatch(/证据包有效（3 项）.*The bundle is valid \(3 items\)/);
    const changed = await verify(page, { file: [f['changed.pdf'] as string, f['photo-1.jpg'] as string], receipt: f['case.bundle.json'] as string });
    expect(changed.valid).toBe(false);
    expect(check(changed, 'files')).toMatchObject({ status: 'fail', code: 'DIGEST_MISMATCH' });
    expect(check(changed, 'files')?.text).toMatch(/所给文件均为已存证项.*changed\.pdf/);
    await page.screenshot({ path: join(dir, 'verify-bundle-changed.png'), fullPage: true });
    const none = await verify(page, { receipt: f['case.bundle.json'] as string });
    expect([none.valid, check(none, 'files')?.status]).toEqual([true, 'skip']);
    // Several files with a single receipt is a mistake, said as such.
    const two = await verify(page, { file: files.slice(0, 2), receipt: f['receipt.json'] as string });
    expect([two.valid, two.error]).toEqual([null, expect.stringMatching(/一份回执只对应一个文件.*use a bundle/)]);
    expect(requests).toHaveLength(1);
    await page.close();
  });

  it('says so when the key is missing or malformed, without a verdict', async () => {
    const { page } = await open(pathToFileURL(f['dist/verify.html'] as string).href);
    const none = await verify(page, { file: f['现场检查笔录.pdf'], receipt: f['receipt.json'] as string, key: '' });
    expect(none.valid).toBeNull();
    expect(none.error).toMatch(/请填写.*Enter the log key/);
    const bad = await verify(page, { receipt: f['receipt.json'] as string, key: 'not-a-key' });
    expect(bad.valid).toBeNull();
    expect(bad.error).toMatch(/公钥格式错误.*The pinned key is malformed/);
    await page.close();
  });

  it('renders a readable result (screenshot: a green verdict and dark text)', async () => {
    const { page } = await open(`${s.url}/verify`);
    await verify(page, { file: f['现场检查笔录.pdf'], receipt: f['receipt.json'] as string });
    const verdict = await page.locator('#verdict').screenshot({ path: join(dir, 'verdict-valid.png') });
    const stats = pixelStats(verdict);
    expect(stats.inked).toBeGreaterThan(0.02);
    expect(stats.colours).toBeGreaterThan(2);
    await page.close();
  });
});

if (!HAVE_CHROMIUM) it.skip(`court verification page in Chromium: ${NO_CHROMIUM}`, () => {});
