/**
 * Shared helpers of the browser tests: whether Debian's Chromium is installed (.ci/run installs
 * it; without it the browser tests skip with a message), and pixel statistics of PNG screenshots.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { chromiumAvailable, chromiumPath } from '../../src/certificate/pdf.js';

/** The Chromium the tests drive. */
export const CHROMIUM = chromiumPath();
/** True when the browser tests can run. */
export const HAVE_CHROMIUM = chromiumAvailable(CHROMIUM);
/** Said when they cannot. */
export const NO_CHROMIUM = `SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it)`;

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
