/**
 * The console's accessibility (issue 14: GB/T 37668, WCAG 2.1 AA), checked in Chromium by
 * axe-core (Deque's rule engine, the reference implementation of these checks): every page,
 * public and signed-in, in Chinese and in English, normal and large text, has no violation of the
 * WCAG 2.0/2.1 A and AA rules axe can decide (contrast, labels, names, landmarks, lang, ARIA). axe
 * is injected by the test (the context bypasses the console's CSP for it); the console itself
 * never loads it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../src/certificate/pdf.js';
import type { RunningService } from '../../src/server.js';
import { sha256Hex } from '../http/helpers.js';
import { startConsoleService } from './service.js';
import { CHROMIUM, HAVE_CHROMIUM, NO_CHROMIUM } from '../web/chromium.js';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const CASE = '衡环罚〔2026〕30号';
const PASSWORD = 'Accessible-2026-pages';

interface Violation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: ReadonlyArray<{ readonly target: readonly string[] }>;
}

describe.skipIf(!HAVE_CHROMIUM)(`console accessibility (axe-core, WCAG 2.1 AA) in Chromium (${CHROMIUM})`, { timeout: 90_000 }, () => {
  let dir: string;
  let service: RunningService;
  let browser: Browser;
  let publicCtx: BrowserContext;
  let adminCtx: BrowserContext;
  const admin = `gzk_${'X'.repeat(43)}`;

  beforeAll(async () => {
    ({ dir, service } = await startConsoleService('a11y', admin));
    const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${service.url}/v1/entries?wait=receipt`, { method: 'POST', headers, body: JSON.stringify({ type: 'digest', digest: { alg: 'sha256', hex: sha256Hex(randomBytes(8)) }, meta: { name: `照片-${i}.jpg`, caseId: CASE } }) });
      expect(res.status).toBe(201);
    }
    const created = await fetch(`${service.url}/v1/users`, { method: 'POST', headers, body: JSON.stringify({ name: 'admin-a11y', role: 'admin' }) });
    const { password } = (await created.json()) as { password: string };
    browser = await launchChromium();
    publicCtx = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
    adminCtx = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
    const page = await adminCtx.newPage();
    await page.goto(`${service.url}/#/signin`);
    await page.fill('#username', 'admin-a11y');
    await page.fill('#password', password);
    await page.click('form button[type=submit]');
    await page.fill('#current', password);
    await page.fill('#next', PASSWORD);
    await page.fill('#again', PASSWORD);
    await page.click('form button[type=submit]');
    await page.waitForURL(/#\/anchor/);
    await page.close();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  /** audit opens `path`, waits for `ready`, runs axe with the WCAG A/AA tags, returns the violations. */
  async function audit(ctx: BrowserContext, path: string, ready: string, prepare?: (page: Page) => Promise<void>): Promise<string[]> {
    const page = await ctx.newPage();
    await page.goto(`${service.url}/${path}`);
    await page.locator('html[data-ready=true]').waitFor();
    await page.locator(ready).first().waitFor();
    await prepare?.(page);
    await page.addScriptTag({ content: AXE });
    const violations = (await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] }).then((r) => r.violations)`)) as Violation[];
    await page.close();
    return violations.map((v) => `${path} ${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  }

  const publicPages: Array<[string, string]> = [
    ['', '[data-testid=size]'],
    ['#/blocks', 'tbody tr'],
    ['#/blocks/1', 'pre.note'],
    ['#/entries/1', 'dd code.hash'],
    ['#/search?q=1', 'main [role=status]'],
    ['#/check', '#files'],
    ['#/stats', '.chart canvas'],
    ['#/signin', '#username'],
  ];
  const adminPages: Array<[string, string]> = [
    ['#/anchor', '#anchor-files'],
    ['#/cases', 'tbody tr'],
    [`#/cases/${encodeURIComponent(CASE)}`, 'tbody tr'],
    ['#/admin/users', 'tbody tr'],
    ['#/admin/keys', '#key-label'],
    ['#/admin/health', 'dl.facts'],
    ['#/admin/trail', 'tbody tr'],
    ['#/password', '#current'],
  ];

  it('the public pages have no WCAG 2.1 A/AA violation', async () => {
    const found: string[] = [];
    for (const [path, ready] of publicPages) found.push(...(await audit(publicCtx, path, ready)));
    expect(found).toEqual([]);
  });

  it('the signed-in pages have none either', async () => {
    const found: string[] = [];
    for (const [path, ready] of adminPages) found.push(...(await audit(adminCtx, path, ready)));
    expect(found).toEqual([]);
  });

  it('nor in English, nor in the large-text mode, nor with a refusal on screen', async () => {
    const found: string[] = [];
    found.push(...(await audit(publicCtx, '', '[data-testid=size]', async (p) => p.click('button:has-text("English")'))));
    found.push(...(await audit(adminCtx, '#/anchor', '#anchor-files', async (p) => p.click('button:has-text("大字模式")'))));
    found.push(
      ...(await audit(publicCtx, '#/signin', '#username', async (p) => {
        await p.fill('#username', 'nobody');
        await p.fill('#password', 'wrong-password');
        await p.click('form button[type=submit]');
        await p.locator('.problem').waitFor();
      })),
    );
    expect(found).toEqual([]);
  });
});

if (!HAVE_CHROMIUM) it.skip(`console accessibility in Chromium: ${NO_CHROMIUM}`, () => {});
