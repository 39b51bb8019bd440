/**
 * Runs the real `openssl` CLI (Debian OpenSSL 3.0) for the test TSA: certificate generation,
 * `ts -reply` and `ts -verify`. Test support only; shares no code with src/.
 */
import { execFile } from 'node:child_process';

/** The OpenSSL binary the tests drive. */
export const OPENSSL = process.env.GUZHENG_OPENSSL ?? '/usr/bin/openssl';

/** What one openssl run printed and how it exited. */
export interface OpensslResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** openssl runs `openssl ...args` in `cwd` and resolves with its exit code and output (never rejects on a non-zero exit). */
export function openssl(args: readonly string[], cwd?: string): Promise<OpensslResult> {
  return new Promise((resolve, reject) => {
    execFile(OPENSSL, [...args], { cwd, timeout: 30_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') return reject(err);
      resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
    });
  });
}

/** opensslOk runs openssl and throws with its stderr when it exits non-zero. */
export async function opensslOk(args: readonly string[], cwd?: string): Promise<OpensslResult> {
  const r = await openssl(args, cwd);
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}

/** pemToDer decodes the first PEM block of `text`. */
export function pemToDer(text: string): Uint8Array {
  const m = /-----BEGIN ([A-Z ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (m === null) throw new Error('no PEM block');
  return new Uint8Array(Buffer.from((m[2] as string).replace(/\s+/g, ''), 'base64'));
}
