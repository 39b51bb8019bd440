/**
 * The real `guzheng serve` as a child process (the TypeScript CLI through tsx, the code `npm run
 * build` compiles), for the crash campaign (scripts/crash-campaign.ts) and the tests that need the
 * process itself rather than the in-process startServer: its banner, its exit code, SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'src', 'cli', 'bin.ts');

/** How a server process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running `guzheng serve`. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** The verifier key from the banner. */
  readonly verifierKey: string;
  readonly exited: Promise<Exit>;
  /** The last 20,000 characters of stdout and stderr, interleaved. */
  output(): string;
}

export interface SpawnServerOptions {
  /** Data directory (`--data`). */
  readonly data: string;
  /** More `serve` flags (`--port 0` comes first, so a `--port` here wins). */
  readonly args?: readonly string[];
  /** Added to the parent's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Modules loaded with `--import` after tsx (fault injection). */
  readonly preload?: readonly string[];
  /** How long to wait for the banner (default 60 s: tsx compiles on a loaded machine). */
  readonly timeoutMs?: number;
}

/** What {@link spawnServer} found: a listening server, or the process's exit (or a timeout) and its output. */
export type Spawned = { readonly ok: true; readonly server: ServerProcess } | { readonly ok: false; readonly exit: Exit | undefined; readonly output: string };

/**
 * spawnServer starts `guzheng serve --port 0 --data <data> <args>` and waits until its banner is
 * complete (it listens and printed the verifier key). A process that exits first, or prints no
 * banner in time (then it is SIGKILLed), is `ok: false` with its output.
 */
export async function spawnServer(o: SpawnServerOptions): Promise<Spawned> {
  const imports = ['tsx', ...(o.preload ?? [])].flatMap((m) => ['--import', m]);
  const child = spawn(process.execPath, [...imports, BIN, 'serve', '--port', '0', '--data', o.data, ...(o.args ?? [])], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...o.env },
  });
  let out = '';
  // Only the tail is kept: a server that runs for minutes must not grow the campaign's memory.
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), o.timeoutMs ?? 60_000);
    // The banner's last line names openapi.json: once it is there, the key line is too.
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1] !== undefined && out.includes('openapi.json')) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stderr?.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  const key = ready === undefined ? undefined : /verifier key:\s+(\S+)/.exec(out)?.[1];
  if (ready === undefined || key === undefined) {
    // Either it exited (the race with 100 ms lets the exit be seen) or it hangs: then kill it.
    const exit = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
    if (exit === undefined) child.kill('SIGKILL');
    return { ok: false, exit, output: out };
  }
  return { ok: true, server: { child, url: ready, verifierKey: key, exited, output: () => out } };
}
