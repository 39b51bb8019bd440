/**
 * Builds the console (docs/console.md): esbuild bundles src/console/main.tsx (Preact, uPlot and,
 * through them, src/web, src/verifier and src/core) into one browser script and
 * src/console/style.css into one stylesheet, and writes the page that loads both, into
 * `dist/web/console/` (`index.html`, `app.js`, `app.css`). The page loads nothing else: the
 * service serves these three files under a CSP that allows only its own origin.
 * Run by `npm run build` (through scripts/build-web.ts); tests call {@link buildConsole}.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where `npm run build` writes the console (and where the `/` route reads it). */
export const CONSOLE_DIR = join(ROOT, 'dist', 'web', 'console');

/** The browsers the bundle targets (BigInt, async/await and EventSource are required). */
const TARGETS = ['es2020', 'chrome90', 'firefox90', 'safari15', 'edge90'];

/** What a build produced. */
export interface BuiltConsole {
  readonly dir: string;
  readonly scriptBytes: number;
  readonly styleBytes: number;
}

/** The page: a shell the script renders into, with the assets' hashes as cache keys. */
function renderShell(scriptHash: string, styleHash: string): string {
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>固证 · Guzheng</title>
<link rel="stylesheet" href="/console/app.css?v=${styleHash}">
<script src="/console/app.js?v=${scriptHash}" defer></script>
</head>
<body>
<div id="app"><noscript>固证控制台需要启用 JavaScript。The Guzheng console needs JavaScript; the API is at /openapi.json.</noscript></div>
</body>
</html>
`;
}

function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

const short = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex').slice(0, 16);

/**
 * buildConsole bundles the script and the styles and writes the three files into `outDir`
 * (default {@link CONSOLE_DIR}) atomically, the page last, so a running server never serves a
 * page whose assets are missing. Fails if the bundle needs a Node built-in or server code.
 */
export async function buildConsole(outDir: string = CONSOLE_DIR): Promise<BuiltConsole> {
  const dir = resolve(outDir);
  const out = await build({
    entryPoints: { app: join(ROOT, 'src', 'console', 'main.tsx'), style: join(ROOT, 'src', 'console', 'style.css') },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: TARGETS,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    write: false,
    outdir: dir,
    charset: 'utf8',
    legalComments: 'eof',
    logLevel: 'silent',
    metafile: true,
  });
  const inputs = Object.keys(out.metafile.inputs);
  const nodeOnly = inputs.filter((p) => p.startsWith('node:') || /(^|\/)src\/(storage|log|http|cli|platform|audit|tsa|witness)\//.test(p));
  if (nodeOnly.length > 0) throw new Error(`build-console: the browser bundle pulls in ${nodeOnly.join(', ')}`);
  const script = out.outputFiles.find((f) => f.path.endsWith('app.js'));
  const style = out.outputFiles.find((f) => f.path.endsWith('style.css'));
  if (script === undefined || style === undefined) throw new Error('build-console: esbuild produced no script or no stylesheet');
  mkdirSync(dir, { recursive: true });
  writeAtomic(join(dir, 'app.js'), script.contents);
  writeAtomic(join(dir, 'app.css'), style.contents);
  writeAtomic(join(dir, 'index.html'), renderShell(short(script.contents), short(style.contents)));
  return { dir, scriptBytes: script.contents.length, styleBytes: style.contents.length };
}
