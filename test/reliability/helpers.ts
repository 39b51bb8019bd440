/**
 * Helpers for the reliability tests: the real `guzheng serve` as a child process (through tsx, as
 * test/cli/cli.test.ts does), an audit of a stopped data directory with the audit module, and a
 * generated admin key.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { LocalSource, formatReport, runAudit, type AuditReport } from '../../src/audit/index.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'src', 'cli', 'bin.ts');

/** A fresh well-formed API key secret. */
export function newSecret(): string {
  return `gzk_${randomBytes(32).toString('base64url')}`;
}

/** A `guzheng serve` child process. */
export interface ChildServer {
  readonly child: ChildProcess;
  readonly url: string;
  readonly verifierKey: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it printed on stdout and stderr so far. */
  output(): string;
  /** SIGTERM and wait: resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

/**
 * spawnServer starts `guzheng serve --port 0 --data <data>` with `env` added to this process's
 * environment and waits until it listens (rejects with its output if it exits first).
 */
export async function spawnServer(data: string, env: Record<string, string> = {}, args: string[] = []): Promise<ChildServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'serve', '--port', '0', '--data', data, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GUZHENG_RATE_LIMIT: '0', ...env },
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${out}`)), 60_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1] !== undefined && out.includes('openapi.json')) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stderr?.on('data', check);
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${how.code ?? how.signal}) before listening:\n${out}`));
    });
  });
  const verifierKey = /verifier key:\s+(\S+)/.exec(out)?.[1];
  if (verifierKey === undefined) throw new Error(`no verifier key in the banner:\n${out}`);
  return {
    child,
    url,
    verifierKey,
    exited,
    output: () => out,
    async stop() {
      child.kill('SIGTERM');
      return (await exited).code;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** audit replays a stopped data directory from genesis (src/audit) and returns the report. */
export async function audit(data: string, verifierKey: string): Promise<AuditReport> {
  const source = await LocalSource.open(data);
  try {
    return await runAudit(source, { verifierKey, workers: 0 });
  } finally {
    await source.close();
  }
}

/** assertClean throws with the formatted report unless the audit found nothing. */
export function assertClean(report: AuditReport): void {
  if (!report.ok) throw new Error(`the ledger does not audit clean:\n${formatReport(report)}`);
}

/** Authorization header for a secret. */
export function bearer(secret: string): Record<string, string> {
  return { authorization: `Bearer ${secret}` };
}
