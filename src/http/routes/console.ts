/**
 * The console (docs/console.md): `GET /` serves its page, `GET /console/{file}` its script, the
 * chunks it loads on demand, and its styles, all built by scripts/build-console.ts into
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

/** The console's files, as the build names them. */
const ASSET_RE = /^(app\.js|app\.css|chunk-[A-Z0-9]{8,16}\.js)$/;

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
  // One cached reader per file name asked for (the names are checked by ASSET_RE first; chunks
  // of one build are a handful).
  const readers = new Map<string, () => string | undefined>();
  const asset = (file: string): (() => string | undefined) => {
    let r = readers.get(file);
    if (r === undefined) {
      if (readers.size >= 256) readers.clear();
      readers.set(file, (r = cachedFile(join(dir, file))));
    }
    return r;
  };
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
      path: '/console/{file}',
      operationId: 'consoleAsset',
      tag: 'web',
      summary: "The console's script (app.js), its chunks loaded on demand (chunk-<hash>.js) and its styles (app.css)",
      description: 'Chunks are named by their content: they are cached for good. app.js and app.css are revalidated (the page names them with ?v=<hash of the content>).',
      access: 'public',
      params: z.strictObject({ file: z.string().regex(ASSET_RE, 'want app.js, app.css or chunk-<hash>.js') }),
      query: z.strictObject({ v: z.string().regex(/^[0-9a-f]{1,64}$/).optional() }),
      responses: { 200: { description: 'the file', contentType: 'text/javascript or text/css; charset=utf-8', schema: z.string() }, ...unbuilt },
      errors: [400, 404],
      handle({ params, res }) {
        const file = params.file;
        const read = asset(file);
        const text = read();
        if (text === undefined && file.startsWith('chunk-')) throw new HttpProblem(404, 'NOT_FOUND', `no console chunk ${file}: the page that asked for it is older than the build; reload it`);
        const immutable = file.startsWith('chunk-');
        send(res, text, file.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8', immutable ? 'public, max-age=31536000, immutable' : 'no-cache', file);
      },
    }),
  ];
}
