/**
 * Pages for people: the court verification page (`GET /verify`, docs/verify-page.md) and the
 * evidence certificate of a receipt as HTML and PDF (docs/api.md#certificates). The page is
 * built by scripts/build-web.ts into dist/web/verify.html and served with a Content-Security-Policy
 * that allows only its own inline script and style: it can make no request at all.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Request } from 'express';
import { z } from 'zod';
import { renderCertificateHtml } from '../../certificate/html.js';
import { ChromiumUnavailableError, PdfRenderer, RendererBusyError } from '../../certificate/pdf.js';
import { formatCertificatesPem } from '../../web/input.js';
import { formatPolicy } from '../../web/witnesses.js';
import { contentSecurityPolicy, injectServedConfig, type ServedConfig } from '../../web/template.js';
import type { AppContext } from '../context.js';
import { HttpProblem } from '../errors.js';
import { receiptOf } from '../receipts.js';
import { defineRoute, type Route } from '../route.js';
import { decimalParam } from '../schemas.js';

/** packageRoot finds the directory of this package's package.json, from src/ or dist/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('web: package.json not found above ' + dirname(fileURLToPath(import.meta.url)));
    dir = up;
  }
}

/** Where `npm run build` puts the verification page. */
export function defaultVerifyPagePath(): string {
  return join(packageRoot(), 'dist', 'web', 'verify.html');
}

/** Options of {@link webRoutes} (tests; the service uses the defaults). */
export interface WebRouteOptions {
  /** The built page (default {@link defaultVerifyPagePath}). */
  readonly pagePath?: string;
  /** The PDF renderer (default: Chromium at GUZHENG_CHROMIUM or /usr/bin/chromium, 2 at a time). */
  readonly pdf?: PdfRenderer;
}

/** A file read once and re-read when its modification time changes. */
export function cachedFile(path: string): () => string | undefined {
  let cache: { mtimeMs: number; text: string } | undefined;
  return () => {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(path).mtimeMs;
    } catch {
      return undefined;
    }
    if (cache?.mtimeMs !== mtimeMs) cache = { mtimeMs, text: readFileSync(path, 'utf8') };
    return cache.text;
  };
}

/** The absolute URL of this service's /verify page: under the public URL when set (GUZHENG_PUBLIC_URL), else as the client reached it. */
function verifyUrlOf(req: Request, publicUrl: string | undefined): string {
  return publicUrl !== undefined ? `${publicUrl}/verify` : `${req.protocol}://${req.get('host') ?? '127.0.0.1'}/verify`;
}

const HTML_HEADERS = {
  'Cache-Control': 'no-cache',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/** The web routes of one app. */
export function webRoutes(ctx: AppContext, options: WebRouteOptions = {}): Route[] {
  const { ledger, config } = ctx;
  const page = cachedFile(options.pagePath ?? defaultVerifyPagePath());
  const pdf = options.pdf ?? new PdfRenderer();
  const indexParams = z.strictObject({ index: decimalParam('entry index') });
  // What the page is prefilled with: this log's key and, when it has them, its TSA roots (PEM)
  // and its witness policy (spelled back as tlog-policy text: the context holds it parsed).
  const servedConfig: ServedConfig = {
    origin: ledger.origin,
    verifierKey: ledger.verifierKey,
    ...(ctx.tsa.roots.length > 0 ? { tsaRoots: formatCertificatesPem(ctx.tsa.roots) } : {}),
    ...(ctx.policy !== undefined ? { policy: formatPolicy(ctx.policy) } : {}),
  };

  const certificate = async (index: bigint, req: Request): Promise<string> =>
    renderCertificateHtml({ receipt: await receiptOf(ctx, index), verifierKey: ledger.verifierKey, tsaRoots: ctx.tsa.roots, verifyUrl: verifyUrlOf(req, ctx.publicUrl) });

  return [
    defineRoute({
      method: 'get',
      path: '/verify',
      operationId: 'verifyPage',
      tag: 'web',
      summary: 'The court verification page: check a file against its receipt in the browser',
      description:
        'One self-contained HTML page (inline script and style, no requests; also works saved and opened from disk). The file is hashed locally and never uploaded. When served by a log, the key field is prefilled with this log\'s key, the TSA-roots field with the TSA root certificates it pins (if any), and the witness-policy field with its witness policy (if any), all labelled “pin your own copy”. See docs/verify-page.md.',
      access: 'public',
      responses: {
        200: {
          description: 'the page',
          contentType: 'text/html; charset=utf-8',
          schema: z.string(),
          headers: { 'Content-Security-Policy': 'only the page\'s own inline script and style (by hash); no connections' },
        },
        503: { description: 'the page was not built (npm run build)' },
      },
      handle({ res }) {
        const html = page();
        if (html === undefined) throw new HttpProblem(503, 'UNAVAILABLE', 'the verification page is not built: run npm run build (it writes dist/web/verify.html)');
        const served = injectServedConfig(html, servedConfig);
        for (const [k, v] of Object.entries(HTML_HEADERS)) res.setHeader(k, v);
        res.setHeader('Content-Security-Policy', contentSecurityPolicy(served));
        res.status(200).type('text/html; charset=utf-8').send(served);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/receipts/{index}/certificate',
      operationId: 'getCertificate',
      tag: 'log',
      summary: 'The evidence certificate (存证证书) of an entry: printable bilingual HTML with the receipt embedded',
      description: `Evidence, anchoring and log facts, a QR code opening /verify for the content digest, and verification instructions. The receipt (against the latest checkpoint) is embedded, so the file alone verifies on the /verify page. Waits for a covering checkpoint like GET /v1/receipts/{index} (503 RECEIPT_PENDING after ${config.receiptWaitMs} ms).`,
      access: ['submit', 'audit'],
      params: indexParams,
      responses: { 200: { description: 'the certificate', contentType: 'text/html; charset=utf-8', schema: z.string() } },
      errors: [400, 404, 503],
      async handle({ params, req, res }) {
        const html = await certificate(params.index, req);
        for (const [k, v] of Object.entries(HTML_HEADERS)) res.setHeader(k, v);
        res.setHeader('Content-Security-Policy', contentSecurityPolicy(html));
        res.setHeader('Content-Disposition', `inline; filename="guzheng-certificate-${params.index}.html"`);
        res.status(200).type('text/html; charset=utf-8').send(html);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/receipts/{index}/certificate.pdf',
      operationId: 'getCertificatePdf',
      tag: 'log',
      summary: 'The evidence certificate as an A4 PDF (rendered by headless Chromium)',
      description:
        'The HTML certificate printed to PDF, with the full receipt as an appendix page. Needs Chromium on the server (GUZHENG_CHROMIUM, default /usr/bin/chromium): without it, 503 UNAVAILABLE (the HTML certificate still works). At most two renderings at a time; more get 503 OVERLOADED with Retry-After.',
      access: ['submit', 'audit'],
      params: indexParams,
      responses: { 200: { description: 'the certificate', contentType: 'application/pdf', schema: z.string().describe('PDF document') } },
      errors: [400, 404, 503],
      async handle({ params, req, res }) {
        const html = await certificate(params.index, req);
        let bytes: Uint8Array;
        try {
          bytes = await pdf.render(html);
        } catch (err) {
          if (err instanceof ChromiumUnavailableError) throw new HttpProblem(503, 'UNAVAILABLE', `PDF certificates are unavailable: ${err.message}; the HTML certificate at /v1/receipts/${params.index}/certificate works without it`);
          if (err instanceof RendererBusyError) throw new HttpProblem(503, 'OVERLOADED', err.message, { headers: { 'Retry-After': '2' } });
          throw err;
        }
        res.setHeader('Cache-Control', 'no-cache');
        res.setHeader('Content-Disposition', `inline; filename="guzheng-certificate-${params.index}.pdf"`);
        res.status(200).type('application/pdf').send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      },
    }),
  ];
}
