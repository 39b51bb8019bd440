/**
 * Takes the screenshots of docs/console.md: starts a service on a fresh data directory (with the
 * HJ 212 gateway), fills it with a few cases, files, records and simulated data-logger packets,
 * creates an officer and an admin, and photographs every page in Chromium, in Chinese (and the
 * home page in English and on a phone) into docs/console/.
 *
 *     npx tsx scripts/console-screenshots.ts [OUT_DIR]
 */
import { execFile } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { launchChromium } from '../src/certificate/pdf.js';
import { loadConfig, type ServiceConfig } from '../src/config.js';
import { startService } from '../src/server.js';
import { buildConsole } from './build-console.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(ROOT, 'docs', 'console'));
mkdirSync(out, { recursive: true });
await buildConsole();
const dir = mkdtempSync(join(tmpdir(), 'guzheng-screens-'));
const admin = `gzk_${'S'.repeat(43)}`;
const config: ServiceConfig = {
  ...loadConfig({}),
  dataDir: join(dir, 'data'),
  port: 0,
  origin: 'hengshui.guzheng.example/log',
  adminKey: admin,
  hj212Port: 0,
  hj212Host: '127.0.0.1',
  hj212LegacyCrc: new Map(),
  checkpointIntervalMs: 50,
  receiptIntervalMs: 10,
};
const service = await startService(config, () => {});
const api = async (path: string, body?: unknown): Promise<unknown> => {
  const res = await fetch(`${service.url}${path}`, { method: body === undefined ? 'GET' : 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
};
const cases = ['衡环罚〔2026〕12号', '衡环罚〔2026〕15号', '衡环责改〔2026〕3号'];
const names = ['现场检查笔录.pdf', '现场照片-1.jpg', '现场照片-2.jpg', '采样记录.xlsx', '询问笔录.pdf', '责令改正决定书.pdf'];
for (const [i, name] of names.entries()) {
  const hex = createHash('sha256').update(randomBytes(1000)).digest('hex');
  await api('/v1/entries?wait=receipt', { type: 'digest', digest: { alg: 'sha256', hex }, meta: { name, size: 1000 + i * 4096, caseId: cases[i % cases.length] } });
}
await api('/v1/entries?wait=receipt', { type: 'record', record: { station: 'HS-001', cod: 12.5, nh3n: 0.82, time: '2026-12-06T08:00:00+08:00' }, meta: { caseId: cases[0], source: 'datalogger HS-001' } });
const port = String(service.hj212?.address.port ?? '');
if (port !== '') {
  // Asynchronously: the gateway answering the simulator runs in this process.
  await promisify(execFile)('npx', ['tsx', join(ROOT, 'scripts', 'hj212-simulator.ts'), '--port', port, '--connections', '4', '--packets', '30', '--mn-prefix', 'HS0013'], { cwd: ROOT });
}
const users: Record<string, string> = {};
for (const [name, role] of [['officer-li', 'submit'], ['admin-zhao', 'admin']] as const) users[name] = ((await api('/v1/users', { name, role })) as { password: string }).password;
await api('/v1/keys', { role: 'submit', label: '衡水监测站网关' });

const browser = await launchChromium();
const shoot = async (page: Page, name: string, path: string, ready: string, fullPage = true): Promise<void> => {
  await page.goto(`${service.url}/${path}`);
  await page.locator('html[data-ready=true]').waitFor();
  try {
    await page.locator(ready).first().waitFor({ timeout: 15_000 });
  } catch (err) {
    await page.screenshot({ path: join(out, `${name}-FAILED.png`), fullPage: true });
    throw err;
  }
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(out, `${name}.png`), fullPage });
  console.log(`console-screenshots: ${name}.png`);
};
const signIn = async (page: Page, name: string): Promise<void> => {
  await page.goto(`${service.url}/#/signin`);
  await page.locator('#username').waitFor();
  await page.fill('#username', name);
  await page.fill('#password', users[name] as string);
  await page.click('form button[type=submit]');
  await page.locator('#next').waitFor();
  await page.fill('#current', users[name] as string);
  await page.fill('#next', 'Hengshui-2026-evidence');
  await page.fill('#again', 'Hengshui-2026-evidence');
  await page.click('form button[type=submit]');
  await page.waitForURL(/#\/(anchor|cases)/);
};
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
  const page = await ctx.newPage();
  await shoot(page, 'explorer', '', '[data-testid=size]');
  await shoot(page, 'block', `#/blocks/${service.ledger.latest().block.height}`, 'pre.note');
  await shoot(page, 'stats', '#/stats', '.chart canvas');
  await shoot(page, 'check', '#/check', '#files');
  await signIn(page, 'officer-li');
  await shoot(page, 'cases', '#/cases', 'tbody tr');
  await shoot(page, 'case', `#/cases/${encodeURIComponent(cases[0] as string)}`, 'tbody tr');
  await page.goto(`${service.url}/#/anchor?case=${encodeURIComponent(cases[1] as string)}`);
  const f = join(dir, '执法录像-0412.mp4');
  writeFileSync(f, randomBytes(6 << 20));
  await page.setInputFiles('#anchor-files', [f]);
  await page.locator('.file-row[data-phase=done]').waitFor();
  await page.screenshot({ path: join(out, 'anchor.png'), fullPage: true });
  console.log('console-screenshots: anchor.png');
  const adminCtx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const a = await adminCtx.newPage();
  await signIn(a, 'admin-zhao');
  await shoot(a, 'admin-keys', '#/admin/keys', 'tbody tr');
  await shoot(a, 'admin-trail', '#/admin/trail', 'tbody tr');
  await a.click('button:has-text("English")');
  await shoot(a, 'explorer-en', '', '[data-testid=size]');
  const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, deviceScaleFactor: 2, isMobile: true });
  await shoot(await phone.newPage(), 'explorer-phone', '', '[data-testid=size]', false);
} finally {
  await browser.close();
  await service.close();
  rmSync(dir, { recursive: true, force: true });
}
