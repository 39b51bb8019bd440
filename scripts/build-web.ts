/**
 * Builds the court verification page (docs/verify-page.md): esbuild bundles src/web/page.ts (and
 * with it src/verifier, src/core, zod, canonicalize and @noble/*) into one browser IIFE, and
 * src/web/template.ts wraps it into one self-contained HTML file, `dist/web/verify.html`.
 * Run by `npm run build`; tests call {@link buildVerifyPage} directly.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { renderVerifyPage } from '../src/web/template.js';
import { buildConsole } from './build-console.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where `npm run build` writes the page (and where the /verify route reads it). */
export const VERIFY_PAGE_PATH = join(ROOT, 'dist', 'web', 'verify.html');

/** The browsers the bundle targets (BigInt and async/await are required). */
export const BROWSER_TARGETS = ['es2020', 'chrome90', 'firefox90', 'safari15', 'edge90'];

/** What a build produced. */
export interface BuiltPage {
  readonly path: string;
  readonly html: string;
  /** Size of the inline script, bytes. */
  readonly scriptBytes: number;
}

/**
 * bundleVerifyScript bundles src/web/page.ts for the browser and returns the IIFE's text.
 * Fails if anything in the bundle needs a Node built-in (the page must run without Node).
 */
export async function bundleVerifyScript(): Promise<string> {
  const out = await build({
    entryPoints: [join(ROOT, 'src', 'web', 'page.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: BROWSER_TARGETS,
    minify: true,
    write: false,
    charset: 'ascii',
    legalComments: 'none',
    logLevel: 'silent',
    metafile: true,
  });
  const inputs = Object.keys(out.metafile.inputs);
  const nodeOnly = inputs.filter((p) => p.startsWith('node:') || /(^|\/)src\/(storage|log|http|cli|platform)\//.test(p));
  if (nodeOnly.length > 0) throw new Error(`build-web: the browser bundle pulls in ${nodeOnly.join(', ')}`);
  const file = out.outputFiles[0];
  if (file === undefined) throw new Error('build-web: esbuild produced no output');
  return file.text;
}

/**
 * buildVerifyPage bundles the script, renders the page and writes it to `outFile` (default
 * {@link VERIFY_PAGE_PATH}) atomically (temp file + rename), so concurrent builds and a running
 * server never see half a page.
 */
export async function buildVerifyPage(outFile: string = VERIFY_PAGE_PATH): Promise<BuiltPage> {
  const script = await bundleVerifyScript();
  const html = renderVerifyPage(script);
  const path = resolve(outFile);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, html);
  renameSync(tmp, path);
  return { path, html, scriptBytes: Buffer.byteLength(script) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const built = await buildVerifyPage(process.argv[2]);
  console.log(`build-web: wrote ${built.path} (${built.html.length} characters, script ${built.scriptBytes} bytes)`);
  const console_ = await buildConsole();
  console.log(`build-web: wrote the console to ${console_.dir} (script ${console_.scriptBytes} bytes, chunks loaded on demand ${console_.chunkBytes} bytes, styles ${console_.styleBytes} bytes)`);
}
