/**
 * Where the work of a replay runs: inline on the main thread (`workers: 0`), or on worker
 * threads. Strict entry decoding, hashing and (for a local audit) reading LevelDB dominate the
 * cost, and all three scale with threads: each worker opens the same database and replays whole
 * chunks, while the main thread only joins results, follows blocks and compares roots.
 *
 * From compiled JavaScript the worker is `worker.js` beside this file. From TypeScript sources
 * (tests, `tsx`), it is worker.ts bundled once by esbuild (see {@link bundleWorker}), or failing
 * that worker.ts imported after registering tsx's loader.
 */
import { hash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parseVerifierKey } from '../core/note.js';
import { suiteOfKey } from '../core/suite.js';
import { replayChunk, verifyBlocks, type BlockCheck, type ChunkResult, type ChunkTask } from './chunk.js';
import type { CountResult, IndexRange, LocalReads } from './reads.js';
import type { WorkerJob, WorkerSetup } from './worker.js';

/** Runs chunk replays, block checks and index counts. */
export interface Executor {
  /** Worker threads in use (0 = inline). */
  readonly workers: number;
  runChunk(task: ChunkTask): Promise<ChunkResult>;
  runBlocks(blocks: readonly unknown[]): Promise<BlockCheck[]>;
  runCount(range: IndexRange, size: bigint): Promise<CountResult>;
  close(): Promise<void>;
}

/** quiet marks a promise as handled (it is awaited later), so an early rejection is not fatal. */
export function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/** What {@link createExecutor} needs. */
export interface ExecutorOptions {
  readonly workers: number;
  readonly verifierKey: string;
  /** For a local audit: the reader of the main thread (inline) and what workers open. */
  readonly local?: { readonly reader: LocalReads; readonly path: string; readonly size: bigint; readonly secret: Uint8Array };
  readonly warn?: (message: string) => void;
}

/** defaultWorkers is one worker per available CPU, at most 8. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

function inlineExecutor(verifierKey: string, reader: LocalReads | undefined, secret: Uint8Array | undefined): Executor {
  const verifier = parseVerifierKey(verifierKey);
  // The log's suite is its pinned key's (SPEC.md#crypto-suites), taken once here.
  const suite = suiteOfKey(verifier);
  // Yield to the event loop first, so reads of other chunks proceed in between.
  const tick = () => new Promise<void>((r) => setImmediate(r));
  return {
    workers: 0,
    async runChunk(task) {
      await tick();
      return replayChunk(task, task.read === undefined ? reader : undefined, secret, suite);
    },
    async runBlocks(blocks) {
      await tick();
      return verifyBlocks(blocks, verifier);
    },
    async runCount(range, size) {
      if (reader === undefined || secret === undefined) throw new Error('audit: count needs a local database');
      return reader.countRange(range, size, secret);
    },
    async close() {},
  };
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

interface Slot {
  readonly worker: Worker;
  busy: number;
}

/**
 * From TypeScript sources only: worker.ts and everything it imports bundled into one ES module
 * with esbuild (a dev dependency, as tsx is; `level` stays external, imported by absolute URL)
 * and written to the temp directory under a name derived from its content. A worker then starts
 * several times faster than through tsx's loader, which transforms every module on a hooks
 * thread of its own per worker. A manifest beside it lists the bundle's inputs with their sizes
 * and modification times: while none changed, later runs reuse the bundle without esbuild.
 * Undefined when bundling fails (then tsx is used).
 */
let bundled: Promise<string | undefined> | undefined;

interface BundleManifest {
  readonly file: string;
  readonly inputs: readonly string[];
  readonly key: string;
}

/** A digest of the paths, sizes and modification times of `files`. */
/** Bump when the esbuild options of {@link bundleWorker} change. */
const BUNDLE_OPTIONS_VERSION = 2;

function inputsKey(files: readonly string[]): string {
  const parts = files.map((f) => {
    const st = statSync(f);
    return `${f}\0${st.size}\0${st.mtimeMs}`;
  });
  // The bundler's options are an input too: a change of them must not reuse an old bundle.
  return hash('sha256', `${BUNDLE_OPTIONS_VERSION}\n${parts.join('\n')}`, 'hex');
}

async function bundleWorker(): Promise<string | undefined> {
  const entry = fileURLToPath(new URL('./worker.ts', import.meta.url));
  const manifestFile = join(tmpdir(), `guzheng-audit-worker-${hash('sha256', entry, 'hex').slice(0, 16)}.json`);
  try {
    const m = JSON.parse(await readFile(manifestFile, 'utf8')) as BundleManifest;
    if (existsSync(m.file) && inputsKey(m.inputs) === m.key) return m.file;
  } catch {
    // No usable manifest: bundle.
  }
  try {
    const esbuild = await import('esbuild');
    const levelUrl = pathToFileURL(createRequire(import.meta.url).resolve('level')).href;
    const cwd = dirname(entry);
    const r = await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: cwd,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      write: false,
      metafile: true,
      logLevel: 'silent',
      // CommonJS dependencies bundled into this ESM file may require() Node built-ins (sm-crypto-v2's
      // @noble/hashes does, for node:crypto): give them a real require.
      banner: { js: "import { createRequire as __guzhengRequire } from 'node:module'; const require = __guzhengRequire(import.meta.url);" },
      plugins: [{ name: 'level-external', setup: (b) => void b.onResolve({ filter: /^level$/ }, () => ({ path: levelUrl, external: true })) }],
    });
    const code = r.outputFiles[0]?.contents;
    if (code === undefined) return undefined;
    const file = join(tmpdir(), `guzheng-audit-worker-${hash('sha256', code, 'hex').slice(0, 24)}.mjs`);
    const inputs = Object.keys(r.metafile.inputs).map((p) => resolve(cwd, p));
    const manifest: BundleManifest = { file, inputs, key: inputsKey(inputs) };
    const part = (f: string) => `${f}.${process.pid}.${Date.now()}.part`;
    if (!existsSync(file)) {
      const tmp = part(file);
      await writeFile(tmp, code);
      await rename(tmp, file);
    }
    const tmp = part(manifestFile);
    await writeFile(tmp, JSON.stringify(manifest));
    await rename(tmp, manifestFile);
    return file;
  } catch {
    return undefined;
  }
}

/** The parent's Node options minus the loader hooks of tsx (a worker would inherit them). */
function withoutTsx(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const flag = /^(--require|-r|--import|--loader|--experimental-loader)(=.*)?$/.exec(a);
    if (flag !== null) {
      const value = flag[2] !== undefined ? flag[2].slice(1) : (args[i + 1] ?? '');
      if (/[\\/]tsx[\\/]|^tsx(\/|$)/.test(value)) {
        if (flag[2] === undefined) i++;
        continue;
      }
    }
    out.push(a);
  }
  return out;
}

async function spawn(setup: WorkerSetup): Promise<Worker> {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const file = await (bundled ??= bundleWorker());
    if (file !== undefined) return new Worker(file, { workerData: setup, execArgv: withoutTsx(process.execArgv) });
    const url = new URL('./worker.ts', here).href;
    const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url)}); });`;
    return new Worker(boot, { eval: true, workerData: setup });
  }
  return new Worker(new URL('./worker.js', here), { workerData: setup });
}

/** Buffers a task can hand over instead of copying (those that own their whole buffer). */
function transferables(task: ChunkTask): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  const data = task.read?.data;
  if (data !== undefined && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) out.push(data.buffer as ArrayBuffer);
  return out;
}

async function workerExecutor(n: number, setup: WorkerSetup): Promise<Executor> {
  const slots: Slot[] = [];
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let failed: Error | undefined;
  const fail = (err: Error) => {
    failed ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  const closed = new Map<Worker, () => void>();
  try {
    await Promise.all(
      Array.from({ length: n }, async () => {
        const worker = await spawn(setup);
        const slot: Slot = { worker, busy: 0 };
        slots.push(slot);
        return new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('audit worker did not start within 60 s')), 60_000);
          timer.unref();
          worker.on('message', (msg: { ready?: boolean; closed?: boolean; id?: number; result?: unknown; error?: string }) => {
            if (msg.ready) {
              clearTimeout(timer);
              resolve();
              return;
            }
            if (msg.closed) {
              closed.get(worker)?.();
              return;
            }
            const p = msg.id === undefined ? undefined : pending.get(msg.id);
            if (p === undefined) return;
            pending.delete(msg.id as number);
            slot.busy--;
            if (msg.error !== undefined) p.reject(new Error(`audit worker: ${msg.error}`));
            else p.resolve(msg.result);
          });
          worker.on('error', (err) => {
            clearTimeout(timer);
            reject(err);
            fail(err);
          });
          worker.on('exit', (code) => {
            if (code !== 0) fail(new Error(`audit worker exited with code ${code}`));
          });
        });
      }),
    );
  } catch (err) {
    await Promise.all(slots.map((s) => s.worker.terminate()));
    throw err;
  }
  const post = <T>(job: WorkerJob, transfer: ArrayBuffer[]): Promise<T> => {
    if (failed) return Promise.reject(failed);
    const slot = slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = nextId++;
    slot.busy++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      slot.worker.postMessage({ ...job, id }, transfer);
    });
  };
  return {
    workers: n,
    runChunk: (task) => post<ChunkResult>({ type: 'chunk', task }, transferables(task)),
    runBlocks: (blocks) => post<BlockCheck[]>({ type: 'blocks', blocks }, []),
    runCount: (range, size) => post<CountResult>({ type: 'count', range, size }, []),
    async close() {
      // Each worker closes its database handle first: the directory stays locked until all have.
      await Promise.all(
        slots.map(async (s) => {
          if (failed === undefined) {
            const done = new Promise<void>((r) => closed.set(s.worker, r));
            s.worker.postMessage('close');
            let timer: ReturnType<typeof setTimeout> | undefined;
            await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 5000)))]);
            clearTimeout(timer);
          }
          await s.worker.terminate();
        }),
      );
    },
  };
}

/**
 * createExecutor returns an inline executor for `workers` = 0, else a pool of that many worker
 * threads. If the workers cannot start, it falls back to inline and reports why via `warn`.
 */
export async function createExecutor(o: ExecutorOptions): Promise<Executor> {
  const inline = () => inlineExecutor(o.verifierKey, o.local?.reader, o.local?.secret);
  if (o.workers <= 0) return inline();
  try {
    const local = o.local ? { path: o.local.path, size: o.local.size, secret: o.local.secret } : undefined;
    return await workerExecutor(o.workers, { verifierKey: o.verifierKey, ...(local ? { local } : {}) });
  } catch (err) {
    o.warn?.(`worker threads unavailable (${(err as Error).message}); replaying on the main thread`);
    return inline();
  }
}
