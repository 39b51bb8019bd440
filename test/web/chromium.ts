/**
 * Shared helpers of the browser tests: Debian's Chromium (`npm test` installs it; a missing one
 * fails the browser tests unless GUZHENG_SKIP_BROWSER_TESTS=1 asks to skip them), opening pages,
 * and pixel statistics of PNG screenshots.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { chromiumAvailable, chromiumPath } from '../../src/certificate/pdf.js';

/** The Chromium the tests drive. */
export const CHROMIUM = chromiumPath();
/**
 * Browser tests are skipped only when asked for, with GUZHENG_SKIP_BROWSER_TESTS=1 (README.md);
 * otherwise a missing Chromium fails every browser test file at once (`npm test` installs it
 * first: scripts/test-deps.sh).
 */
export const SKIP_BROWSER_TESTS = process.env['GUZHENG_SKIP_BROWSER_TESTS'] === '1';
if (!SKIP_BROWSER_TESTS && !chromiumAvailable(CHROMIUM)) {
  throw new Error(`no Chromium at ${CHROMIUM}: run "npm test" (it installs Debian's chromium and fonts-noto-cjk) or apt-get install chromium fonts-noto-cjk; to skip the browser tests on purpose, set GUZHENG_SKIP_BROWSER_TESTS=1`);
}
/** True when the browser tests run. */
export const HAVE_CHROMIUM = !SKIP_BROWSER_TESTS;
/** Said when they are skipped. */
export const NO_CHROMIUM = 'SKIPPED on request: GUZHENG_SKIP_BROWSER_TESTS=1';

if (!HAVE_CHROMIUM) console.warn(`browser tests ${NO_CHROMIUM}`);

/** A rectangle of a screenshot, in pixels. */
export interface Region {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Pixel statistics of a PNG (or of one region of it). */
export interface PixelStats {
  readonly width: number;
  readonly height: number;
  /** Fraction of pixels that are not (near) white. */
  readonly inked: number;
  /** Fraction of pixels darker than luminance 96/255 (text, QR modules). */
  readonly dark: number;
  /** Number of distinct colours, capped at 1000. */
  readonly colours: number;
}

/** pixelStats decodes a PNG and measures `region` (default: the whole image). */
export function pixelStats(png: Uint8Array, region?: Region): PixelStats {
  const img = PNG.sync.read(Buffer.from(png));
  const r = region ?? { x: 0, y: 0, width: img.width, height: img.height };
  let inked = 0;
  let dark = 0;
  const colours = new Set<number>();
  const x1 = Math.min(img.width, r.x + r.width);
  const y1 = Math.min(img.height, r.y + r.height);
  let n = 0;
  for (let y = r.y; y < y1; y++) {
    for (let x = r.x; x < x1; x++) {
      const i = (y * img.width + x) * 4;
      const [red, green, blue] = [img.data[i] ?? 0, img.data[i + 1] ?? 0, img.data[i + 2] ?? 0];
      const lum = 0.2126 * red + 0.7152 * green + 0.0722 * blue;
      if (lum < 235) inked++;
      if (lum < 96) dark++;
      if (colours.size < 1000) colours.add((red << 16) | (green << 8) | blue);
      n++;
    }
  }
  return { width: img.width, height: img.height, inked: inked / Math.max(1, n), dark: dark / Math.max(1, n), colours: colours.size };
}

/** A page opened by {@link openPage}, with every request it made and every console error or warning. */
export interface OpenedPage {
  readonly page: Page;
  readonly requests: string[];
  readonly errors: string[];
}

/**
 * openPage opens `url` in `context`, records the page's requests (to show a file never leaves it)
 * and its console errors and warnings, and waits until the page says it is ready.
 */
export async function openPage(context: BrowserContext, url: string): Promise<OpenedPage> {
  const page = await context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.locator('html[data-ready=true]').waitFor();
  return { page, requests, errors };
}
