/**
 * The console (docs/console.md): `GET /` serves its page, `GET /console/app.js` and
 * `/console/app.css` its script and styles, all built by scripts/build-console.ts into
 * dist/web/console/. They are served from this origin only, under a CSP that allows scripts,
 * styles and connections to this origin and nothing else: the console needs no third-party
 * network, and an injected inline script cannot run.
 */
import { join } from 'node:path';
import type { Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { HttpProblem } from '../errors.js';
import { defineRoute, type Route } from '../route.js';
import { cachedFile, packageRoot } from './web.js';

/** The console's Content-Security-Policy: own origin only; no inline script, no frames, no plugins. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Where `npm run build` puts the console. */
export function defaultConsoleDir(): string {
  return join(packageRoot(), 'dist', 'web', 'console');
}

/** Options of {@link consoleRoutes} (tests; the service uses the default). */
export interface ConsoleRouteOptions {
  readonly dir?: string;
}

const HEADERS = {
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy': CONSOLE_CSP,
};

function send(res: Response, text: string | undefined, type: string, cache: string, what: string): void {
  if (text === undefined) throw new HttpProblem(503, 'UNAVAILABLE', `the console is not built: run npm run build (it writes dist/web/console/${what})`);
  for (const [k, v] of Object.entries(HEADERS)) res.setHeader(k, v);
  res.setHeader('Cache-Control', cache);
  res.status(200).type(type).send(text);
}

/** The console routes of one app. */
export function consoleRoutes(_ctx: AppContext, options: ConsoleRouteOptions = {}): Route[] {
  const dir = options.dir ?? defaultConsoleDir();
  const page = cachedFile(join(dir, 'index.html'));
  const script = cachedFile(join(dir, 'app.js'));
  const style = cachedFile(join(dir, 'app.css'));
  const unbuilt = { 503: { description: 'the console was not built (npm run build)' } };
  return [
    defineRoute({
      method: 'get',
      path: '/',
      operationId: 'consolePage',
      tag: 'web',
      summary: 'The console: the public explorer, and officers\' and admins\' pages after sign-in',
      description: 'An HTML shell that loads /console/app.js and /console/app.css; everything else it fetches from this API. See docs/console.md.',
      access: 'public',
      responses: { 200: { description: 'the page', contentType: 'text/html; charset=utf-8', schema: z.string(), headers: { 'Content-Security-Policy': CONSOLE_CSP } }, ...unbuilt },
      handle({ res }) {
        send(res, page(), 'text/html; charset=utf-8', 'no-cache', 'index.html');
      },
    }),
    defineRoute({
      method: 'get',
      path: '/console/app.js',
      operationId: 'consoleScript',
      tag: 'web',
      summary: "The console's script",
      access: 'public',
      query: z.strictObject({ v: z.string().regex(/^[0-9a-f]{1,64}$/).optional() }),
      responses: { 200: { description: 'the script', contentType: 'text/javascript; charset=utf-8', schema: z.string() }, ...unbuilt },
      handle({ res }) {
        send(res, script(), 'text/javascript; charset=utf-8', 'no-cache', 'app.js');
      },
    }),
    defineRoute({
      method: 'get',
      path: '/console/app.css',
      operationId: 'consoleStyle',
      tag: 'web',
      summary: "The console's styles",
      access: 'public',
      query: z.strictObject({ v: z.string().regex(/^[0-9a-f]{1,64}$/).optional() }),
      responses: { 200: { description: 'the styles', contentType: 'text/css; charset=utf-8', schema: z.string() }, ...unbuilt },
      handle({ res }) {
        send(res, style(), 'text/css; charset=utf-8', 'no-cache', 'app.css');
      },
    }),
  ];
}
