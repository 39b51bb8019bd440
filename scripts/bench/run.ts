/**
 * `npm run bench [-- --quick]`: every benchmark scenario of docs/benchmarks.md in one process tree
 * (the HTTP load generator is a child process), each figure beside its baseline measured in the
 * same run. Prints a table, writes bench/results.json, and rewrites the table of this mode in
 * docs/benchmarks.md (the full-run table, or the quick-run one: a quick run never replaces the
 * full-run figures).
 *
 *   --quick        smaller sizes, same scenarios (< 2 min on 2 cores)
 *   --only=1,5     run only these scenarios (1 also gives 7); for profiling
 *   --no-docs      do not touch docs/benchmarks.md
 *
 * GUZHENG_BENCH_SCALE_MINUTES sets scenario 14's fill budget (default 40, quick 0.5) and
 * GUZHENG_BENCH_SCALE_ENTRIES its target (default 100,000,000).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installNodeCrypto } from '../../src/platform/node-crypto.js';
import { benchAppend } from './append.js';
import { benchAudit } from './audit.js';
import { FULL, QUICK, cleanup, fmt, log, since, withEnv, type Row } from './common.js';
import { benchHttp } from './http.js';
import { benchPeer } from './peer.js';
import { benchProofs } from './proofs.js';
import { benchScale } from './scale.js';
import { benchTrust } from './trust.js';
import { benchGm } from './gm.js';
import { benchConsole } from './console.js';
import { benchMirror } from './mirror.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, ${process.platform} ${process.arch}, Node ${process.version}, libuv pool ${process.env.UV_THREADPOOL_SIZE ?? 4} threads`;
}

function cell(s: string): string {
  return s.replaceAll('|', '\\|');
}

/** table renders rows as a Markdown table. */
export function table(rows: readonly Row[]): string {
  const out = ['| scenario | measured | Guzheng | baseline (same run) | ratio | goal | met |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    const base = r.baseline ? `${fmt(r.baseline.value)} ${r.baseline.unit} (${r.baseline.name})` : '—';
    const ratio = r.ratio === undefined ? '—' : r.ratio >= 100 ? `${fmt(r.ratio)}×` : r.ratio.toFixed(2);
    const met = r.met === undefined ? '—' : r.met ? '**yes**' : 'no';
    const note = r.note ? `<br><sub>${r.note}</sub>` : '';
    out.push(`| ${cell(r.scenario)} | ${cell(r.metric)}${cell(note)} | ${fmt(r.value)} ${r.unit} | ${cell(base)} | ${ratio} | ${cell(r.goal ?? '—')} | ${met} |`);
  }
  return out.join('\n');
}

/** replaceBetween swaps the text between two marker lines of `doc` (markers kept). */
function replaceBetween(doc: string, start: string, end: string, body: string): string {
  const a = doc.indexOf(start);
  const b = doc.indexOf(end);
  if (a < 0 || b < a) throw new Error(`docs/benchmarks.md: markers ${start} … ${end} not found`);
  return `${doc.slice(0, a + start.length)}\n${body}\n${doc.slice(b)}`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const want = (g: string) => only === undefined || only.includes(g);
  const sizes = withEnv(quick ? QUICK : FULL, process.env);
  installNodeCrypto(); // as the service does (src/cli/main.ts)
  const t0 = performance.now();
  const started = new Date();
  log(`${quick ? 'quick' : 'full'} run on ${machine()}`);
  const rows: Row[] = [];
  try {
    // The HTTP scenarios first, in a process whose heap is still small: the service runs alone in
    // its own process, and after the 1M-entry ledger and the 10M-entry tree below, old-generation
    // garbage collections of this process put ~400 ms pauses into scenario 4's tail (p99 367 ms
    // after them, 80 ms in a fresh process).
    if (want('2') || want('3') || want('4')) rows.push(...(await benchHttp(sizes, want)));
    if (want('9') || want('10')) rows.push(...(await benchTrust(sizes, want)));
    if (want('13')) rows.push(...(await benchMirror(sizes)));
    const needLedger = want('1') || want('5') || want('6') || want('8');
    const appended = needLedger ? await benchAppend(sizes) : undefined;
    if (appended && want('1')) rows.push(...appended.rows);
    if (appended && want('8')) rows.push(...(await benchPeer(sizes, appended.built, (appended.rows[0] as Row).value)));
    if (appended && want('6')) rows.push(...(await benchAudit(sizes, appended.built)));
    if (appended && want('5')) rows.push(...(await benchProofs(sizes, appended.built)));
    if (want('11')) rows.push(...(await benchGm(sizes)));
    if (want('12')) rows.push(...(await benchConsole(sizes)));
    // Last: its fill takes its whole budget. Its memory rows include what the scenarios before it
    // left in this process: `--only=14` gives them alone.
    if (want('14')) rows.push(...(await benchScale(sizes)));
  } finally {
    cleanup();
  }
  const order = (r: Row) => Number.parseInt(r.scenario, 10);
  rows.sort((a, b) => order(a) - order(b));
  const seconds = since(t0);
  const md = table(rows);
  process.stdout.write(`\n${md}\n\n${quick ? 'quick' : 'full'} run: ${seconds.toFixed(0)} s\n`);

  const results = { mode: quick ? 'quick' : 'full', date: started.toISOString(), seconds, machine: machine(), sizes, rows };
  mkdirSync(join(ROOT, 'bench'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results.json'), JSON.stringify(results, null, 2) + '\n');
  log('wrote bench/results.json');
  if (!args.includes('--no-docs') && only === undefined) {
    const path = join(ROOT, 'docs', 'benchmarks.md');
    const mode = quick ? 'quick' : 'full';
    const body = `Run of ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine()}; \`npm run bench${quick ? ' -- --quick' : ''}\` took ${seconds.toFixed(0)} s.\n\n${md}`;
    writeFileSync(path, replaceBetween(readFileSync(path, 'utf8'), `<!-- bench:${mode}:start -->`, `<!-- bench:${mode}:end -->`, body));
    log(`rewrote the ${mode}-run table in docs/benchmarks.md`);
  }
}

// The service runs with a 16-thread libuv pool (src/cli/guzheng.cts sets UV_THREADPOOL_SIZE before
// the pool starts); the benchmark runs it in this process, so it needs the same. libuv reads the
// variable when the pool starts, which happened while this ESM file loaded: start again with it.
if (process.env.UV_THREADPOOL_SIZE === undefined) {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, UV_THREADPOOL_SIZE: '16' } });
  process.exitCode = r.status ?? 1;
} else {
  await main();
}
