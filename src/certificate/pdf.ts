/**
 * PDF rendering of the evidence certificate through headless Chromium (Debian's `chromium`,
 * driven by playwright-core: no browser download, docs/api.md#certificates). Each rendering
 * launches a fresh browser with a new empty profile, JavaScript off and every network request
 * refused, prints the HTML to A4, and closes the browser. Renderings run at most
 * `maxConcurrent` at a time; a missing Chromium is a {@link ChromiumUnavailableError}.
 */
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Debian installs Chromium. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags for a headless Chromium on a closed network: without the background-networking flags it
 * stalls on connections it cannot make. Playwright adds `--headless` and a new temporary
 * `--user-data-dir` itself.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/** chromiumPath is `GUZHENG_CHROMIUM` if set, else {@link DEFAULT_CHROMIUM_PATH}. */
export function chromiumPath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const p = env.GUZHENG_CHROMIUM;
  return p !== undefined && p !== '' ? p : DEFAULT_CHROMIUM_PATH;
}

/** chromiumAvailable tells whether an executable exists at `path`. */
export function chromiumAvailable(path: string = chromiumPath()): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Chromium is not installed (or did not start): PDF rendering is unavailable, HTML still works. */
export class ChromiumUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChromiumUnavailableError';
  }
}

/** All renderers are busy: retry later. */
export class RendererBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RendererBusyError';
  }
}

/**
 * launchChromium starts headless Chromium at `path` with {@link CHROMIUM_ARGS}. Throws
 * {@link ChromiumUnavailableError} if there is no executable there or it does not start.
 */
export async function launchChromium(path: string = chromiumPath(), timeoutMs = 30_000): Promise<Browser> {
  if (!chromiumAvailable(path)) {
    throw new ChromiumUnavailableError(`Chromium not found at ${path}: install Debian's chromium package (apt-get install chromium) or set GUZHENG_CHROMIUM`);
  }
  try {
    return await chromium.launch({ executablePath: path, args: [...CHROMIUM_ARGS], headless: true, timeout: timeoutMs });
  } catch (cause) {
    throw new ChromiumUnavailableError(`Chromium at ${path} did not start: ${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)}`, { cause });
  }
}

/** Options of a {@link PdfRenderer}. */
export interface PdfRendererOptions {
  /** Chromium executable (default {@link chromiumPath}, read when rendering). */
  readonly chromiumPath?: string;
  /** Renderings at once (default 2); more are refused with {@link RendererBusyError}. */
  readonly maxConcurrent?: number;
  /** Deadline of one rendering, ms (default 30,000). */
  readonly timeoutMs?: number;
}

/** Renders HTML documents to PDF, a bounded number at a time. No state is shared between renderings. */
export class PdfRenderer {
  readonly #options: PdfRendererOptions;
  #running = 0;

  constructor(options: PdfRendererOptions = {}) {
    this.#options = options;
  }

  /** The Chromium executable this renderer uses. */
  get chromiumPath(): string {
    return this.#options.chromiumPath ?? chromiumPath();
  }

  /**
   * render prints `html` to an A4 PDF (CSS `@page` rules honoured, backgrounds printed).
   * Requires: `html` is a complete document that needs no network and no script.
   * Throws {@link ChromiumUnavailableError} or {@link RendererBusyError}.
   */
  async render(html: string): Promise<Uint8Array> {
    const max = this.#options.maxConcurrent ?? 2;
    if (this.#running >= max) throw new RendererBusyError(`${this.#running} PDF renderings are running (the limit is ${max}); retry shortly`);
    this.#running++;
    try {
      return await renderPdf(html, this.chromiumPath, this.#options.timeoutMs ?? 30_000);
    } finally {
      this.#running--;
    }
  }
}

/** renderPdf launches Chromium, prints one document and closes the browser. */
export async function renderPdf(html: string, path: string = chromiumPath(), timeoutMs = 30_000): Promise<Uint8Array> {
  const browser = await launchChromium(path, timeoutMs);
  try {
    const context = await browser.newContext({ javaScriptEnabled: false, offline: true });
    context.setDefaultTimeout(timeoutMs);
    await context.route('**/*', (route) => route.abort());
    const page = await context.newPage();
    await page.setContent(html, { waitUntil: 'load', timeout: timeoutMs });
    await page.emulateMedia({ media: 'print' });
    const pdf = await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
    return new Uint8Array(pdf.buffer, pdf.byteOffset, pdf.byteLength);
  } finally {
    await browser.close();
  }
}
