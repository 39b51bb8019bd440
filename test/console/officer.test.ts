/**
 * The console for people, in Chromium (docs/console.md): an officer signs in (changing the
 * one-time password first), anchors three files into a case while each file's progress shows,
 * downloads their receipts (verified with the CLI), sees them in the case and in the explorer,
 * and finds one by dropping its file; all of it again with the keyboard only. An admin revokes a
 * key; a submit-role user cannot reach the admin pages; requests from another origin are refused
 * (CSRF) and the session cookie is never readable by scripts.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../src/certificate/pdf.js';
import type { RunningService } from '../../src/server.js';
import { startConsoleService } from './service.js';
import { CHROMIUM, HAVE_CHROMIUM, NO_CHROMIUM, openPage, pixelStats } from '../web/chromium.js';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * cli runs `guzheng` and resolves to its exit status and output. Asynchronously: the service
 * under test runs in this process, and a blocked event loop would stall it (and let its
 * keep-alive timer close sockets the test's fetch is about to reuse).
 */
function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npx', ['tsx', join(ROOT, 'src', 'cli', 'bin.ts'), ...args], { cwd: ROOT, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}
const CASE = '衡环罚〔2026〕21号';
const NEW_PASSWORD = 'Hengshui-2026-evidence';

describe.skipIf(!HAVE_CHROMIUM)(`console for officers and admins in Chromium (${CHROMIUM})`, { timeout: 90_000 }, () => {
  let dir: string;
  let service: RunningService;
  let browser: Browser;
  const admin = `gzk_${'O'.repeat(43)}`;
  const oneTime: Record<string, string> = {};
  const files: Record<string, string> = {};

  const api = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${service.url}${path}`, { ...init, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });

  beforeAll(async () => {
    ({ dir, service } = await startConsoleService('officer', admin));
    for (const [name, role] of [['officer-li', 'submit'], ['officer-kb', 'submit'], ['admin-zhao', 'admin']] as const) {
      const res = await api('/v1/users', { method: 'POST', body: JSON.stringify({ name, role }) });
      expect(res.status, await res.clone().text()).toBe(201);
      oneTime[name] = ((await res.json()) as { password: string }).password;
    }
    const sizes: Record<string, number> = { '现场检查笔录.pdf': 24 << 20, '现场照片-1.jpg': 300_000, '采样记录.xlsx': 40_000, 'keyboard.txt': 5000 };
    for (const [name, size] of Object.entries(sizes)) {
      files[name] = join(dir, name);
      writeFileSync(files[name], randomBytes(size));
    }
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await service?.close();
    if (dir) console.log(`console officer: screenshots and downloads in ${dir}`);
  });

  /** signIn signs `name` in on a new context; the first time, changes the one-time password. */
  async function signIn(name: string, o: { viewport?: { width: number; height: number } } = {}): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: o.viewport ?? { width: 1280, height: 900 }, acceptDownloads: true });
    const { page } = await openPage(context, `${service.url}/#/signin`);
    await page.fill('#username', name);
    const first = oneTime[name] !== undefined;
    await page.fill('#password', first ? (oneTime[name] as string) : NEW_PASSWORD);
    await page.click('form button[type=submit]');
    if (first) {
      await page.locator('text=首次登录须先修改密码').waitFor();
      await page.fill('#current', oneTime[name] as string);
      await page.fill('#next', NEW_PASSWORD);
      await page.fill('#again', NEW_PASSWORD);
      await page.click('form button[type=submit]');
      delete oneTime[name];
    }
    // Signed in (and the password changed): the console moves on to the role's first page.
    await page.waitForURL(/#\/(anchor|cases)/);
    await page.locator('.who').waitFor();
    return { context, page };
  }

  async function download(page: Page, click: () => Promise<void>, to: string): Promise<string> {
    const wait = page.waitForEvent('download');
    await click();
    const d = await wait;
    const path = join(dir, to);
    await d.saveAs(path);
    return path;
  }

  it('an officer anchors three files into a case with progress, downloads the receipts, and finds them in the case, the explorer and by file', async () => {
    const { context, page } = await signIn('officer-li');
    expect(page.url()).toContain('#/anchor');
    await page.fill('#case', CASE);
    // Every progress value each file's bar takes is recorded as it changes.
    await page.evaluate(`window.__progress = {}; new MutationObserver(() => { for (const li of document.querySelectorAll('.file-row')) { const n = li.querySelector('strong').textContent; const v = li.querySelector('progress').value; (window.__progress[n] ??= []).push(v); } }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });`);
    const names = ['现场检查笔录.pdf', '现场照片-1.jpg', '采样记录.xlsx'];
    const bodies: number[] = [];
    page.on('request', (r) => bodies.push(r.postDataBuffer()?.length ?? 0));
    await page.setInputFiles('#anchor-files', names.map((n) => files[n] as string));
    await expect.poll(() => page.locator('.file-row[data-phase=done]').count(), { timeout: 60_000 }).toBe(3);
    const seen = (await page.evaluate('window.__progress')) as Record<string, number[]>;
    // The 24 MiB file is hashed in 4 MiB chunks: its bar passes through values between 0 and 100.
    expect(seen['现场检查笔录.pdf']?.some((v) => v > 0 && v < 100), JSON.stringify(seen)).toBe(true);
    for (const n of names) expect(seen[n]?.at(-1)).toBe(100);
    const receipts: string[] = [];
    for (const n of names) receipts.push(await download(page, () => page.click(`text=下载“${n}”的回执`), `receipt-${n}.json`));
    for (const [i, n] of names.entries()) {
      const r = await cli(['verify', '--receipt', receipts[i] as string, '--file', files[n] as string, '--key', service.ledger.verifierKey]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
    }
    const indexes = receipts.map((p) => (JSON.parse(readFileSync(p, 'utf8')) as { index: string }).index);
    // Only digests and metadata went out: three small JSON bodies, nothing near a file's size.
    expect(bodies.filter((n) => n > 0)).toHaveLength(3);
    expect(Math.max(...bodies)).toBeLessThan(1024);
    const entries = await (await api(`/v1/cases/${encodeURIComponent(CASE)}`)).json() as { entries: Array<{ entry: { submitter: string; meta: { name: string } } }> };
    // Anchored a few at a time, so in the order they finished (the small ones first).
    expect(entries.entries.map((e) => e.entry.meta.name).sort()).toEqual([...names].sort());
    expect(entries.entries.every((e) => e.entry.submitter === 'user:officer-li')).toBe(true);

    await page.click(`text=查看此案件 →`);
    await page.locator('h1', { hasText: CASE }).waitFor();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(3);
    for (const row of await page.locator('tbody tr').allTextContents()) expect(row).toMatch(/已存证.*已封存/);
    // The case's other downloads: the bundle (one checkpoint for all), each certificate (HTML, PDF).
    const bundlePath = await download(page, () => page.click('text=下载案件证据包'), 'case.bundle.json');
    const r = await cli(['verify', '--receipt', bundlePath, ...names.flatMap((n) => ['--file', files[n] as string]), '--key', service.ledger.verifierKey]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const certificate = page.waitForEvent('popup');
    const firstIndex = (await page.locator('tbody tr').first().locator('td').first().textContent()) as string;
    await page.locator('tbody tr').first().locator('a', { hasText: '存证证书' }).click();
    const cert = await certificate;
    await cert.waitForLoadState();
    expect(await cert.locator('body').textContent()).toContain(`GZ-${firstIndex}-`);
    await cert.close();
    const pdfStatus = await page.evaluate<number>(`fetch(${JSON.stringify(`/v1/receipts/${indexes[0]}/certificate.pdf`)}).then((r) => r.headers.get('content-type') === 'application/pdf' ? r.status : -1)`);
    expect(pdfStatus).toBe(200);
    const shot = await page.screenshot({ path: join(dir, 'case-zh.png'), fullPage: true });
    expect(pixelStats(shot).dark).toBeGreaterThan(0.005);

    await page.goto(`${service.url}/#/entries/${indexes[1]}`);
    await page.locator('dd code.hash').waitFor();
    expect(await page.locator('dd code.hash').textContent()).toBe(JSON.parse(readFileSync(receipts[1] as string, 'utf8')).leafHash);

    await page.goto(`${service.url}/#/check`);
    await page.setInputFiles('#files', [files['现场照片-1.jpg'] as string]);
    await page.locator('.badge.ok', { hasText: '核验通过' }).waitFor();
    expect(await page.locator('td a').first().textContent()).toBe(indexes[1]);
    await context.close();
  });

  it('anchors with the keyboard only: nav link, case field, file picker, download', async () => {
    const { context, page } = await signIn('officer-kb');
    await page.goto(`${service.url}/#/`);
    await page.locator('html[data-ready=true]').waitFor();
    const tabTo = async (test: string, max = 40): Promise<void> => {
      for (let i = 0; i < max; i++) {
        await page.keyboard.press('Tab');
        if ((await page.evaluate<boolean>(test)) === true) return;
      }
      throw new Error(`never focused: ${test}`);
    };
    await tabTo(`document.activeElement?.getAttribute('href') === '#/anchor'`);
    await page.keyboard.press('Enter');
    await page.locator('#case').waitFor();
    await tabTo(`document.activeElement?.id === 'case'`);
    await page.keyboard.type(CASE);
    await tabTo(`document.activeElement?.id === 'anchor-files'`);
    const chooser = page.waitForEvent('filechooser');
    await page.keyboard.press('Space');
    await (await chooser).setFiles([files['keyboard.txt'] as string]);
    await page.locator('.file-row[data-phase=done]').waitFor({ timeout: 30_000 });
    await tabTo(`document.activeElement?.textContent?.includes('下载“keyboard.txt”的回执') === true`);
    const path = await download(page, () => page.keyboard.press('Enter'), 'receipt-keyboard.json');
    expect((JSON.parse(readFileSync(path, 'utf8')) as { entry: { meta: { caseId: string } } }).entry.meta.caseId).toBe(CASE);
    // Focus is always visible: the focused element has an outline.
    expect(await page.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    await context.close();
  });

  it('anchors a record typed in as JSON; a malformed one cannot be sent, and a too-large one is refused in words', async () => {
    const { context, page } = await signIn('officer-li');
    await page.goto(`${service.url}/#/anchor?case=${encodeURIComponent(CASE)}`);
    await page.click('button[role=tab]:has-text("记录")');
    await page.fill('#record', '{"station": "HS-001", "cod": 12.5');
    expect(await page.locator('#record-help').textContent()).toMatch(/JSON 有误/);
    expect(await page.locator('form button[type=submit]').isDisabled()).toBe(true);
    await page.fill('#record', JSON.stringify({ station: 'HS-001', cod: 12.5, time: '2026-12-06T08:00:00+08:00' }));
    await page.fill('#source', 'datalogger HS-001');
    await page.click('form button[type=submit]');
    await page.locator('p[role=status]', { hasText: '已存证' }).waitFor();
    const index = /序号 (\d+)/.exec((await page.locator('p[role=status]').textContent()) ?? '')?.[1] as string;
    const stored = (await (await api(`/v1/entries/${index}`)).json()) as { entry: { type: string; submitter: string; meta: { caseId: string; source: string } } };
    expect(stored.entry).toMatchObject({ type: 'record', submitter: 'user:officer-li', meta: { caseId: CASE, source: 'datalogger HS-001' } });
    await page.fill('#record', JSON.stringify({ blob: 'x'.repeat(1_100_000) }));
    await page.click('form button[type=submit]');
    await page.locator('.problem', { hasText: '内容过大' }).waitFor();
    expect(await page.locator('.problem .detail').textContent()).toContain('BODY_TOO_LARGE');
    await context.close();
  });

  it('a submit-role user cannot reach the admin pages, in the console or through the API', async () => {
    const { context, page } = await signIn('officer-li');
    expect(await page.locator('nav a[href="#/admin"]').count()).toBe(0);
    await page.goto(`${service.url}/#/admin/keys`);
    await page.locator('h1', { hasText: '需要登录' }).waitFor();
    expect(await page.locator('text=您的角色不能使用此页面').count()).toBe(1);
    const status = await page.evaluate<number>(`fetch('/v1/keys').then((r) => r.status)`);
    expect(status).toBe(403);
    await context.close();
  });

  it('an admin creates a key (shown once) and revokes it; the key stops working at once', async () => {
    const { context, page } = await signIn('admin-zhao');
    await page.goto(`${service.url}/#/admin/keys`);
    await page.fill('#key-label', '衡水监测站网关');
    await page.click('text=创建密钥');
    const secret = (await page.getByTestId('secret').textContent()) as string;
    expect(secret).toMatch(/^gzk_[A-Za-z0-9_-]{43}$/);
    const use = () => fetch(`${service.url}/v1/receipts/0`, { headers: { authorization: `Bearer ${secret}` } });
    expect((await use()).status).toBe(200);
    const row = page.locator('tr', { hasText: '衡水监测站网关' });
    page.once('dialog', (d) => void d.accept());
    await row.locator('button', { hasText: '吊销' }).click();
    await expect.poll(async () => (await page.locator('tr', { hasText: '衡水监测站网关' }).textContent()) ?? '').toMatch(/已吊销/);
    expect((await use()).status).toBe(401);
    await page.goto(`${service.url}/#/admin/trail`);
    await expect.poll(async () => (await page.locator('tbody').textContent()) ?? '').toMatch(/key.*revoke|revoke.*key/i);
    await page.screenshot({ path: join(dir, 'admin-trail-zh.png'), fullPage: true });
    await context.close();
  });

  it('refuses requests from another origin (CSRF) and never lets a script read the session cookie', async () => {
    const { context, page } = await signIn('officer-li');
    expect(await page.evaluate<string>('document.cookie')).not.toContain('guzheng_session');
    const cookies = await context.cookies(service.url);
    const session = cookies.find((c) => c.name === 'guzheng_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    // Another origin on the same host (127.0.0.1, another port: same site, so the cookie travels).
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<form id=f method=POST action="${service.url}/v1/entries" enctype="text/plain"><input name='{"type":"record","record":{"a":1},"x":"' value='"}'></form>
<script>fetch("${service.url}/v1/entries", {method: "POST", credentials: "include", headers: {"content-type": "application/json"}, body: JSON.stringify({type: "record", record: {b: 2}})}).then((r) => { document.title = "fetch " + r.status; }, () => { document.title = "fetch blocked"; }).finally(() => document.getElementById("f").submit());</script>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    const port = (evil.address() as { port: number }).port;
    const before = service.ledger.checkpointSize;
    const evilPage = await context.newPage();
    const answer = evilPage.waitForResponse((r) => r.url() === `${service.url}/v1/entries` && r.request().method() === 'POST' && r.request().resourceType() === 'document');
    await evilPage.goto(`http://127.0.0.1:${port}/`);
    const res = await answer;
    expect(res.status()).toBe(403);
    expect(await res.text()).toContain('CSRF_REJECTED');
    await new Promise((r) => setTimeout(r, 300));
    expect(service.ledger.checkpointSize).toBe(before);
    expect(await service.ledger.store.getSize()).toBe(before);
    evil.close();
    await context.close();
  });

  it('reads in English too: the anchor page by pixels', async () => {
    const { context, page } = await signIn('officer-li');
    await page.goto(`${service.url}/#/anchor`);
    const zh = await page.screenshot({ path: join(dir, 'anchor-zh.png') });
    await page.click('button:has-text("English")');
    await page.locator('h1', { hasText: 'Anchor evidence' }).waitFor();
    const en = await page.screenshot({ path: join(dir, 'anchor-en.png') });
    for (const png of [zh, en]) expect(pixelStats(png).dark).toBeGreaterThan(0.003);
    expect(pixelStats(zh, { x: 0, y: 60, width: 1280, height: 300 }).inked).not.toBeCloseTo(pixelStats(en, { x: 0, y: 60, width: 1280, height: 300 }).inked, 3);
    await page.click('button:has-text("中文")');
    await context.close();
  });
});

if (!HAVE_CHROMIUM) it.skip(`console for officers and admins in Chromium: ${NO_CHROMIUM}`, () => {});
