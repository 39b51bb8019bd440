/**
 * Enforces the layering of DESIGN.md §3 (tessera's TestForbiddenFunction, as a script):
 * src/core imports only src/core and a few pure packages; src/verifier imports only src/core,
 * src/verifier and the same packages; src/web (the verification page's browser code) imports only
 * src/core, src/verifier, src/web and the same packages. None may touch node:*, Buffer, process,
 * express, level, storage or http, a clock, or randomness. src/witness (a Node service) may use
 * node:*, express, zod, level and prom-client, but of src only core, platform and itself: never the
 * log, storage, http or audit. src/console (the console's browser code) imports only core, verifier,
 * web, itself, the pure packages, Preact and uPlot. src/mirror (the S3 mirror, run by the service)
 * may import core, storage, tiles, platform, itself and the log's types (`import type` only),
 * node:* and @aws-sdk/client-s3: never http, cli, console or audit. Nothing in src/ may use an explicit `any`. Run by `npm test`;
 * exits 1 listing every violation.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Packages that are pure, browser-safe and allowed in core and verifier. */
export const ALLOWED_PACKAGES = ['@noble/hashes', '@noble/curves', '@noble/post-quantum', '@scure/base', 'canonicalize', 'zod', 'pkijs', 'asn1js', 'sm-crypto-v2'];

/** Layers: which source folders each restricted folder may import from. */
const LAYERS: Record<string, string[]> = {
  core: ['core'],
  verifier: ['core', 'verifier'],
  // The court verification page's browser code (bundled into dist/web/verify.html).
  web: ['core', 'verifier', 'web'],
};

/**
 * Service layers: Node code that must stay independent of the log. The witness (DESIGN.md §5:
 * "uses core, never the log") may use node:* and the packages listed, but no src folder other
 * than core, platform (node:crypto for core) and itself: not log, storage, http or audit.
 */
const SERVICE_LAYERS: Record<string, { folders: string[]; packages: string[]; typeOnly?: string[] }> = {
  witness: { folders: ['core', 'platform', 'witness'], packages: ['node:', 'express', 'zod', 'level', 'prom-client'] },
  // The console (browser code, bundled by scripts/build-console.ts): it may fetch and keep time,
  // but reaches the service only over HTTP, never through its code: no node:*, log, storage, http.
  console: { folders: ['core', 'verifier', 'web', 'console'], packages: [...ALLOWED_PACKAGES, 'preact', 'uplot'] },
  // The mirror (issue 15) copies what the store holds to an object store, behind the log: it reads
  // storage and tiles, and knows the log only by its types; never the HTTP API, CLI, console or audit.
  mirror: { folders: ['core', 'storage', 'tiles', 'platform', 'mirror'], packages: ['node:', '@aws-sdk/client-s3'], typeOnly: ['log'] },
};

/** Source patterns banned in restricted layers, with the reason shown to the developer. */
const BANNED: Array<[RegExp, string]> = [
  [/\bBuffer\b/, 'Buffer (use Uint8Array)'],
  [/\bprocess\./, 'process (no environment access in pure code)'],
  [/\brequire\s*\(/, 'require (ESM only)'],
  [/\bfetch\s*\(/, 'fetch (no network in pure code)'],
  [/\bDate\.now\s*\(/, 'Date.now (a clock must be passed in)'],
  [/\bnew Date\(\s*\)/, 'new Date() (a clock must be passed in)'],
  [/\bperformance\.now\s*\(/, 'performance.now (a clock must be passed in)'],
  [/\bMath\.random\s*\(/, 'Math.random (randomness must be passed in)'],
  [/\bcrypto\.getRandomValues\b/, 'getRandomValues (randomness must be passed in)'],
];

export interface Violation {
  file: string;
  line: number;
  message: string;
}

const IMPORT_RE = /(?:\bimport\s+(?:type\s+)?(?:[^'"`;]*?\s+from\s+)?|\bexport\s+(?:type\s+)?[^'"`;]*?\s+from\s+|\bimport\s*\(\s*)['"]([^'"]+)['"]/g;

function listTs(dir: string): string[] {
  let out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(listTs(p));
    else if (/\.(ts|tsx|js|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

function stripComments(src: string): string {
  // Keep line numbers: replace comment characters with spaces, preserving newlines.
  return src
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' '))
    .replace(/(^|[^:'"`])\/\/.*$/gm, (m, pre: string) => pre + ' '.repeat(m.length - pre.length));
}

/** checkBoundaries scans `<srcRoot>/{core,verifier,web,witness}` and returns every violation found. */
export function checkBoundaries(srcRoot: string): Violation[] {
  const violations: Violation[] = [];
  for (const [layer, allowed] of Object.entries(LAYERS)) {
    const layerDir = join(srcRoot, layer);
    for (const file of listTs(layerDir)) {
      const src = stripComments(readFileSync(file, 'utf8'));
      const lineOf = (index: number) => src.slice(0, index).split('\n').length;
      const rel = relative(srcRoot, file);
      for (const m of src.matchAll(IMPORT_RE)) {
        const spec = m[1] as string;
        const at = lineOf(m.index ?? 0);
        if (spec.startsWith('.')) {
          const target = relative(srcRoot, resolve(dirname(file), spec));
          const top = target.split(sep)[0] ?? '';
          if (target.startsWith('..') || !allowed.includes(top)) {
            violations.push({ file: rel, line: at, message: `${layer} may not import ${spec} (resolves to src/${target})` });
          }
        } else if (!ALLOWED_PACKAGES.some((p) => spec === p || spec.startsWith(p + '/'))) {
          violations.push({ file: rel, line: at, message: `${layer} may not import package ${spec}` });
        }
      }
      for (const [re, why] of BANNED) {
        const g = new RegExp(re.source, 'g');
        for (const m of src.matchAll(g)) {
          violations.push({ file: rel, line: lineOf(m.index ?? 0), message: `${layer} may not use ${why}` });
        }
      }
    }
  }
  for (const [layer, { folders, packages, typeOnly = [] }] of Object.entries(SERVICE_LAYERS)) {
    for (const file of listTs(join(srcRoot, layer))) {
      const src = stripComments(readFileSync(file, 'utf8'));
      const rel = relative(srcRoot, file);
      for (const m of src.matchAll(IMPORT_RE)) {
        const spec = m[1] as string;
        const at = src.slice(0, m.index ?? 0).split('\n').length;
        if (spec.startsWith('.')) {
          const target = relative(srcRoot, resolve(dirname(file), spec));
          const top = target.split(sep)[0] ?? '';
          // `import type …` / `export type …` only: erased, it loads nothing of that folder.
          const isType = /^(?:import|export)\s+type\s/.test(m[0]);
          if (typeOnly.includes(top) && !target.startsWith('..')) {
            if (!isType) violations.push({ file: rel, line: at, message: `${layer} may import only types from src/${top} (import type): ${spec}` });
          } else if (target.startsWith('..') || !folders.includes(top)) {
            violations.push({ file: rel, line: at, message: `${layer} may not import ${spec} (resolves to src/${target})` });
          }
        } else if (!packages.some((p) => (p.endsWith(':') ? spec.startsWith(p) : spec === p || spec.startsWith(p + '/')))) {
          violations.push({ file: rel, line: at, message: `${layer} may not import package ${spec}` });
        }
      }
    }
  }
  return violations;
}

const ANY_RE = /(?::\s*any\b|\bas\s+any\b|<any>|\bany\[\])/g;

/** checkNoAny scans every TypeScript file under `srcRoot` for an explicit `any` (we write none). */
export function checkNoAny(srcRoot: string): Violation[] {
  const out: Violation[] = [];
  for (const file of listTs(srcRoot)) {
    const src = stripComments(readFileSync(file, 'utf8'));
    for (const m of src.matchAll(ANY_RE)) {
      out.push({ file: relative(srcRoot, file), line: src.slice(0, m.index ?? 0).split('\n').length, message: `explicit any (${m[0].trim()})` });
    }
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
  const found = [...checkBoundaries(root), ...checkNoAny(root)];
  for (const v of found) console.error(`src/${v.file}:${v.line}: ${v.message}`);
  if (found.length > 0) {
    console.error(`check-boundaries: ${found.length} violation(s)`);
    process.exit(1);
  }
  const files = Object.keys(LAYERS).reduce((n, layer) => n + listTs(join(root, layer)).length, 0);
  const service = Object.keys(SERVICE_LAYERS).reduce((n, layer) => n + listTs(join(root, layer)).length, 0);
  console.log(`check-boundaries: src/core, src/verifier and src/web are pure (${files} files); src/witness and src/console stay off the log, src/mirror off the HTTP API (${service} files)`);
}
