/**
 * Builds the console (docs/console.md): esbuild bundles src/console/main.tsx (Preact, uPlot and,
 * through them, src/web, src/verifier and src/core) into one browser script and
 * src/console/style.css into one stylesheet, and writes the page that loads both, into
 * `dist/web/console/` (`index.html`, `app.js`, its `chunk-<hash>.js` loaded on demand, `app.css`).
 * The page loads nothing else: the service serves these files under a CSP that allows only its own origin.
 * Run by `npm run build` (through scripts/build-web.ts); tests call {@link buildConsole}.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
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
  /** The entry script, loaded by every page. */
  readonly scriptBytes: number;
  /** The chunks loaded on demand. */
  readonly chunkBytes: number;
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
<link rel="icon" href="data:,">
<title>固证 · Guzheng</title>
<link rel="stylesheet" href="/console/app.css?v=${styleHash}">
<script type="module" src="/console/app.js?v=${scriptHash}"></script>
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
    // ES modules, split: what only "check a file" needs (the offline verifier) is a chunk of its
    // own, loaded on that page, so the explorer's first paint parses a fifth of the bytes.
    format: 'esm',
    splitting: true,
    chunkNames: 'chunk-[hash]',
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
  const script = out.outputFiles.find((f) => basename(f.path) === 'app.js');
  const style = out.outputFiles.find((f) => basename(f.path) === 'style.css');
  const chunks = out.outputFiles.filter((f) => /^chunk-[A-Z0-9]+\.js$/.test(basename(f.path)));
  if (script === undefined || style === undefined) throw new Error('build-console: esbuild produced no script or no stylesheet');
  const unexpected = out.outputFiles.filter((f) => f !== script && f !== style && !chunks.includes(f));
  if (unexpected.length > 0) throw new Error(`build-console: unexpected outputs ${unexpected.map((f) => basename(f.path)).join(', ')}`);
  mkdirSync(dir, { recursive: true });
  // Chunks first (content-named: new ones never replace old ones), then the entry, the styles
  // and the page: a server never serves a page whose script is missing.
  for (const c of chunks) writeAtomic(join(dir, basename(c.path)), c.contents);
  writeAtomic(join(dir, 'app.js'), script.contents);
  writeAtomic(join(dir, 'app.css'), style.contents);
  writeAtomic(join(dir, 'index.html'), renderShell(short(script.contents), short(style.contents)));
  // Chunks of earlier builds are no longer referenced: remove them.
  const keep = new Set(chunks.map((c) => basename(c.path)));
  for (const name of readdirSync(dir)) if (/^chunk-[A-Z0-9]+\.js$/.test(name) && !keep.has(name)) rmSync(join(dir, name), { force: true });
  return { dir, scriptBytes: script.contents.length, chunkBytes: chunks.reduce((n, c) => n + c.contents.length, 0), styleBytes: style.contents.length };
}
