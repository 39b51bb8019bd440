/**
 * The certificate as a person sees it: rendered in real Chromium (screenshot, checked by pixels
 * and saved for a human look) and printed to PDF through GET /v1/receipts/{index}/certificate.pdf.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, PdfRenderer, RendererBusyError } from '../../src/certificate/pdf.js';
import { auth, json, startServer, type TestServer } from '../http/helpers.js';
import { HAVE_CHROMIUM, NO_CHROMIUM, pixelStats } from '../web/chromium.js';

/** A4 at 96 dpi. */
const A4 = { width: 794, height: 1123 };

describe.skipIf(!HAVE_CHROMIUM)('certificate rendering in Chromium', () => {
  let s: TestServer;
  let browser: Browser;
  let html: string;
  let index: string;
  const dir = mkdtempSync(join(tmpdir(), 'guzheng-certificate-'));
  const timings: string[] = [];

  beforeAll(async () => {
    s = await startServer();
    const r = await json(
      await fetch(`${s.url}/v1/documents?name=${encodeURIComponent('现场检查笔录（2026-03-01）.pdf')}&mediaType=application/pdf&caseId=${encodeURIComponent('衡环罚〔2026〕12号')}&note=${encodeURIComponent('现场检查，拍照 12 张')}&wait=receipt`, {
        method: 'POST',
        headers: { ...auth(s.keys.submit), 'Content-Type': 'application/octet-stream' },
        body: randomBytes(1_234_567),
      }),
      201,
    );
    index = r.index;
    html = await (await fetch(`${s.url}/v1/receipts/${index}/certificate`, { headers: auth(s.keys.audit) })).text();
    writeFileSync(join(dir, 'certificate.html'), html);
    const t0 = performance.now();
    browser = await launchChromium();
    timings.push(`launch ${Math.round(performance.now() - t0)} ms`);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await s?.destroy();
    console.log(`certificate: screenshots and PDF in ${dir}; ${timings.join('; ')}`);
  });

  it('looks like a certificate: a dark title, a QR code, filled tables (screenshot)', async () => {
    const t0 = performance.now();
    const context = await browser.newContext({ viewport: A4, javaScriptEnabled: false });
    const page = await context.newPage();
    await page.setContent(html, { waitUntil: 'load' });
    await page.emulateMedia({ media: 'print' });
    const path = join(dir, 'certificate-page1.png');
    const png = await page.screenshot({ path, clip: { x: 0, y: 0, ...A4 } });
    timings.push(`screenshot ${Math.round(performance.now() - t0)} ms`);
    const whole = pixelStats(png);
    expect([whole.width, whole.height]).toEqual([A4.width, A4.height]);
    expect(whole.inked).toBeGreaterThan(0.05); // not blank
    expect(whole.colours).toBeGreaterThan(20); // text, rules and the red title, not a flat colour
    const box = async (selector: string) => {
      const b = await page.locator(selector).first().boundingBox();
      if (b === null) throw new Error(`${selector} is not rendered`);
      return { x: Math.round(b.x), y: Math.round(b.y), width: Math.round(b.width), height: Math.round(b.height) };
    };
    const title = await box('h1');
    expect(title.y).toBeLessThan(150); // the title is at the top of the page
    expect(pixelStats(png, title).dark).toBeGreaterThan(0.03); // and it is printed, in dark ink
    const qr = await box('#qr svg');
    expect(qr.width).toBeGreaterThan(100); // ~34 mm
    const q = pixelStats(png, qr).dark;
    expect(q).toBeGreaterThan(0.3); // a QR code is roughly half dark modules
    expect(q).toBeLessThan(0.7);
    for (const sel of ['table', '#evidence-number']) expect(pixelStats(png, await box(sel)).dark, sel).toBeGreaterThan(0.01);
    await context.close();
  });

  it('prints to a two-page A4 PDF through the route (certificate + receipt appendix)', async () => {
    const t0 = performance.now();
    const res = await fetch(`${s.url}/v1/receipts/${index}/certificate.pdf`, { headers: auth(s.keys.audit) });
    timings.push(`pdf route ${Math.round(performance.now() - t0)} ms`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('content-disposition')).toBe(`inline; filename="guzheng-certificate-${index}.pdf"`);
    const pdf = new Uint8Array(await res.arrayBuffer());
    writeFileSync(join(dir, 'certificate.pdf'), pdf);
    const text = Buffer.from(pdf).toString('latin1');
    expect(text.startsWith('%PDF-')).toBe(true);
    expect(text.trimEnd().endsWith('%%EOF')).toBe(true);
    expect(pdf.length).toBeGreaterThan(20_000);
    expect(text.match(/\/Type\s*\/Page\b/g)).toHaveLength(2); // the certificate fits one page
    // A4: 595 x 842 points.
    expect(text).toMatch(/\/MediaBox\s*\[\s*0 0 59[45]\.?\d* 84[12]\.?\d*\s*\]/);
  });

  it('refuses more renderings than its limit instead of queueing them', async () => {
    const renderer = new PdfRenderer({ maxConcurrent: 1 });
    const first = renderer.render('<!doctype html><p>one</p>');
    await expect(renderer.render('<!doctype html><p>two</p>')).rejects.toBeInstanceOf(RendererBusyError);
    const bytes = await first;
    expect(Buffer.from(bytes.subarray(0, 5)).toString()).toBe('%PDF-');
  });
});

if (!HAVE_CHROMIUM) it.skip(`certificate rendering in Chromium: ${NO_CHROMIUM}`, () => {});
