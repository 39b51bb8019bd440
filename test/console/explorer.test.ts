/**
 * The console's public explorer in Chromium (docs/console.md): served at `/` under a self-only
 * CSP, it loads nothing from elsewhere; it shows the chain's head and the latest blocks, which
 * follow the log as it grows; a block page shows its signed checkpoint and signatures; "check a
 * file" hashes a file in the page (the file is never sent) and shows its anchorings with receipts
 * that verify offline. Screenshots in Chinese and English are checked by pixels, on a desktop and
 * on a phone, and in the large-text mode.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../src/certificate/pdf.js';
import { CONSOLE_CSP } from '../../src/http/routes/console.js';
import type { RunningService } from '../../src/server.js';
import { verifyReceipt } from '../../src/verifier/index.js';
import { sha256Hex } from '../http/helpers.js';
import { startConsoleService } from './service.js';
import { CHROMIUM, HAVE_CHROMIUM, NO_CHROMIUM, openPage, pixelStats } from '../web/chromium.js';

const CASE = '衡环罚〔2026〕7号';

describe.skipIf(!HAVE_CHROMIUM)(`console explorer in Chromium (${CHROMIUM})`, { timeout: 60_000 }, () => {
  let dir: string;
  let service: RunningService;
  let browser: Browser;
  let context: BrowserContext;
  const admin = `gzk_${'E'.repeat(43)}`;
  const files: Record<string, string> = {};

  const anchor = async (name: string, body: Uint8Array): Promise<void> => {
    const res = await fetch(`${service.url}/v1/entries?wait=receipt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'digest', digest: { alg: 'sha256', hex: sha256Hex(body) }, meta: { name, size: body.length, caseId: CASE } }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
  };

  beforeAll(async () => {
    ({ dir, service } = await startConsoleService('explorer', admin));
    for (const name of ['现场照片-1.jpg', '监测报告.pdf']) {
      const body = randomBytes(50_000);
      files[name] = join(dir, name);
      writeFileSync(files[name], body);
      await anchor(name, body);
    }
    files['never.bin'] = join(dir, 'never.bin');
    writeFileSync(files['never.bin'], randomBytes(1000));
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await service?.close();
    if (dir) console.log(`console explorer: screenshots in ${dir}`);
  });

  it('is served at / with a CSP that allows only this origin, and loads nothing from anywhere else', async () => {
    const res = await fetch(`${service.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe|https?:|\*/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html).toMatch(/<script type="module" src="\/console\/app\.js\?v=[0-9a-f]{16}"><\/script>/);
    expect(html).not.toMatch(/<script>|style=|https?:\/\//);
    for (const asset of ['/console/app.js', '/console/app.css']) {
      const r = await fetch(`${service.url}${asset}`);
      expect(r.status, asset).toBe(200);
      expect(r.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    }
    // The verifier is a chunk of its own, loaded by "check a file" only; other names are refused.
    const chunk = /"\.\/(chunk-[A-Z0-9]+\.js)"/.exec(await (await fetch(`${service.url}/console/app.js`)).text())?.[1];
    expect(chunk).toBeDefined();
    const c = await fetch(`${service.url}/console/${chunk}`);
    expect(c.status).toBe(200);
    expect(c.headers.get('cache-control')).toContain('immutable');
    for (const bad of ['index.html', '..%2Fverify.html', 'chunk-ZZZZZZZZ.js', 'app.js.map']) expect((await fetch(`${service.url}/console/${bad}`)).status, bad).toBeGreaterThanOrEqual(400);
    const { page, requests, errors } = await openPage(context, `${service.url}/`);
    await page.getByTestId('size').waitFor();
    expect(requests.every((u) => u.startsWith(service.url)), requests.join('\n')).toBe(true);
    // A CSP violation would be reported as a console error.
    expect(errors.filter((e) => /Content Security Policy|Refused/.test(e))).toEqual([]);
    await page.close();
  });

  it("shows the chain's head and the latest blocks, and follows the log as it grows", async () => {
    const { page } = await openPage(context, `${service.url}/`);
    expect(await page.getByTestId('size').textContent()).toBe('2');
    expect(await page.getByTestId('verifier-key').textContent()).toBe(service.ledger.verifierKey);
    expect(await page.locator('h1').textContent()).toBe('区块浏览器');
    const top = service.ledger.latest().block.height;
    await expect.poll(() => page.locator('section[aria-labelledby=latest-title] tbody tr').first().locator('td').first().textContent()).toBe(top.toString());
    await anchor('later.bin', randomBytes(10));
    const next = service.ledger.latest().block.height;
    expect(next).toBeGreaterThan(top);
    await expect.poll(() => page.locator('section[aria-labelledby=latest-title] tbody tr').first().locator('td').first().textContent(), { timeout: 15_000 }).toBe(next.toString());
    await expect.poll(() => page.getByTestId('size').textContent(), { timeout: 15_000 }).toBe('3');
    // It followed by server-sent events, not by polling.
    expect(await page.locator('#latest-title .badge').textContent()).toBe('实时');
    await page.close();
  });

  it('searches by digest, leaf hash, index, block height and evidence number, from the search box', async () => {
    const body = readFileSync(files['监测报告.pdf'] as string);
    const digest = sha256Hex(body);
    const { page } = await openPage(context, `${service.url}/`);
    const search = async (q: string): Promise<string[]> => {
      await page.fill('#q', q);
      await page.press('#q', 'Enter');
      await page.locator('main [role=status]').waitFor();
      await expect.poll(() => page.locator('h1').textContent()).toBe('搜索');
      await page.waitForFunction(`new URLSearchParams(location.hash.split('?')[1]).get('q') === ${JSON.stringify(q)}`);
      await page.locator('main [role=status]').first().waitFor();
      return page.locator('main [role=status]').allTextContents();
    };
    const [found] = (await search(digest)) as [string];
    expect(found).toContain('条目 1');
    const leaf = (await page.locator('main [role=status] code.hash').getAttribute('title')) as string;
    expect(await search(leaf)).toEqual([found]);
    expect((await search('1'))[0]).toMatch(/区块 1.*条目 1|条目 1.*区块 1/);
    expect((await search('区块 2'))[0]).toContain('区块 2');
    expect((await search(`GZ-1-${leaf.slice(0, 12)}`))[0]).toContain('条目 1');
    expect((await search(`GZ-1-${'0'.repeat(12)}`))[0]).toContain('没有找到');
    await search(digest);
    await page.click('main [role=status] a >> nth=0');
    await page.locator('h1', { hasText: '条目 1' }).waitFor();
    await page.close();
  });

  it('shows a block with its checkpoint, its signature and its neighbours', async () => {
    const height = service.ledger.latest().block.height;
    const { page } = await openPage(context, `${service.url}/#/blocks/${height}`);
    await page.locator('pre.note').waitFor();
    expect(await page.locator('pre.note').textContent()).toContain(`${service.ledger.origin}\n`);
    const rows = await page.locator('table tbody tr').allTextContents();
    expect(rows.some((r) => r.includes(service.ledger.origin) && r.includes('日志签名'))).toBe(true);
    await page.click('text=← 上一区块');
    await expect.poll(() => page.locator('h1').textContent()).toBe(`区块 ${height - 1n}`);
    await page.close();
  });

  it('checks a file in the page: its digest, never its bytes, is sent, and its receipt verifies offline', async () => {
    const { page, requests } = await openPage(context, `${service.url}/#/check`);
    const sent: Array<number | undefined> = [];
    page.on('request', (r) => sent.push(r.postDataBuffer()?.length));
    await page.setInputFiles('#files', [files['监测报告.pdf'] as string, files['never.bin'] as string]);
    // The verifier's chunk (1 MB) loads and runs in the page: give a machine busy with other
    // suites (the crash campaign, Ceph) time, and say what the page showed if it never came.
    await page
      .locator('.badge.ok', { hasText: '核验通过' })
      .waitFor({ timeout: 90_000 })
      .catch(async (err: unknown) => {
        throw new Error(`no 核验通过 badge; the page showed: ${JSON.stringify((await page.locator('main').innerText()).slice(0, 2000))}`, { cause: err });
      });
    await page.locator('text=此文件未在本日志存证').waitFor();
    expect(sent.every((n) => n === undefined)).toBe(true);
    expect(requests.filter((u) => u.includes('/v1/verify/sha256/'))).toHaveLength(2);
    const download = page.waitForEvent('download');
    await page.click('text=下载回执');
    const receipt = JSON.parse(readFileSync(await (await download).path(), 'utf8'));
    const report = await verifyReceipt(receipt, { trustedKeys: [service.ledger.verifierKey] });
    expect(report.valid).toBe(true);
    expect((receipt.entry as { meta: { name: string } }).meta.name).toBe('监测报告.pdf');
    await page.close();
  }, 150_000);

  it('checks a file chosen before the log key has arrived, against the log key once it comes', async () => {
    const page = await context.newPage();
    // The log's description comes 1.5 s late (a busy server): the files are chosen before it.
    await page.route('**/v1/log', async (route) => {
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue();
    });
    await page.goto(`${service.url}/#/check`);
    await page.locator('#files').waitFor({ state: 'attached' });
    await page.setInputFiles('#files', [files['监测报告.pdf'] as string]);
    await page
      .locator('.badge.ok', { hasText: '核验通过' })
      .waitFor({ timeout: 45_000 })
      .catch(async (err: unknown) => {
        throw new Error(`no 核验通过 badge; the page showed: ${JSON.stringify((await page.locator('main').innerText()).slice(0, 2000))}`, { cause: err });
      });
    expect(await page.locator('#pinned').inputValue()).toBe(service.ledger.verifierKey);
    await page.close();
  });

  it('reads in Chinese and in English; the screenshots differ and are drawn (pixels); the choice is kept', async () => {
    const { page } = await openPage(context, `${service.url}/`);
    await page.getByTestId('size').waitFor();
    const zh = await page.screenshot({ path: join(dir, 'home-zh.png') });
    await page.click('button:has-text("English")');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Chain explorer');
    expect(await page.evaluate<string>('document.documentElement.lang')).toBe('en');
    const en = await page.screenshot({ path: join(dir, 'home-en.png') });
    for (const png of [zh, en]) {
      const s = pixelStats(png);
      expect(s.inked).toBeGreaterThan(0.03);
      expect(s.inked).toBeLessThan(0.6);
      expect(s.dark).toBeGreaterThan(0.005);
      expect(s.colours).toBeGreaterThan(50);
    }
    // The header's title differs between the two: compare its pixels.
    const header = { x: 0, y: 0, width: 600, height: 60 };
    expect(pixelStats(zh, header).inked).not.toBeCloseTo(pixelStats(en, header).inked, 3);
    await page.reload();
    await page.locator('html[data-ready=true]').waitFor();
    expect(await page.locator('h1').textContent()).toBe('Chain explorer');
    await page.click('button:has-text("中文")');
    await page.close();
  });

  it('fits a phone (no sideways scrolling) and grows its text in the large-text mode', async () => {
    const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const { page } = await openPage(phone, `${service.url}/`);
    await page.getByTestId('size').waitFor();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(dir, 'home-phone.png'), fullPage: true });
    const before = await page.evaluate<number>("parseFloat(getComputedStyle(document.querySelector('h1')).fontSize)");
    await page.click('button:has-text("大字模式")');
    const after = await page.evaluate<number>("parseFloat(getComputedStyle(document.querySelector('h1')).fontSize)");
    expect(after / before).toBeGreaterThan(1.2);
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await phone.close();
  });
});

if (!HAVE_CHROMIUM) it.skip(`console explorer in Chromium: ${NO_CHROMIUM}`, () => {});
