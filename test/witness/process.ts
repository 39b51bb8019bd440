/**
 * Real `guzheng witness` processes for the witness tests: the TypeScript CLI through tsx (the code
 * `npm run build` compiles), on 127.0.0.1 with an ephemeral port.
 *
 * GUZHENG_WITNESS_BIN may name another entry file that runs the same CLI (e.g. while src/cli/main.ts
 * does not load during someone else's change); by default it is src/cli/bin.ts.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
const BIN = process.env.GUZHENG_WITNESS_BIN ?? join(ROOT, 'src', 'cli', 'bin.ts');

/** cli runs `guzheng <args>` to completion. */
export function cli(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', 'tsx', BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
}

/**
 * cliAsync runs `guzheng <args>` without blocking this process's event loop: for commands that
 * talk to a server running in the test process itself (spawnSync would deadlock them).
 */
export function cliAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A running `guzheng witness serve`. */
export interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  readonly vkey: string;
  stderr(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
}

/** serve starts `guzheng witness serve --data <data> --port 0 <args>` and waits for its banner. */
export async function serve(data: string, args: string[]): Promise<Served> {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'witness', 'serve', '--data', data, '--port', '0', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.resume();
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const { url, vkey } = await new Promise<{ url: string; vkey: string }>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`witness did not start:\n${err}`)), 30_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(err);
      const k = /witness vkey:\s+(\S+)/.exec(err);
      if (m && k) {
        clearTimeout(t);
        resolve({ url: m[1]!, vkey: k[1]! });
      }
    };
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(t);
      reject(new Error(`witness exited with ${code}:\n${err}`));
    });
  });
  return { child, url, vkey, stderr: () => err, exited };
}

/** stop sends SIGTERM and resolves with the exit code. */
export function stop(s: Served): Promise<number | string> {
  s.child.kill('SIGTERM');
  return s.exited;
}

/** kill9 sends SIGKILL and resolves once the process is gone. */
export async function kill9(s: Served): Promise<void> {
  s.child.kill('SIGKILL');
  await s.exited;
}

/** post sends an add-checkpoint body and returns status, content type and text. */
export async function post(url: string, body: string | Uint8Array): Promise<{ status: number; type: string; body: string; headers: Headers }> {
  const res = await fetch(`${url}/add-checkpoint`, { method: 'POST', body });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text(), headers: res.headers };
}
