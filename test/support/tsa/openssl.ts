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

/** derToPem writes DER certificates as a PEM bundle (what `--tsa-ca` and GUZHENG_TSA_CA read). */
export function derToPem(...certs: readonly Uint8Array[]): string {
  return certs.map((der) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`).join('');
}

/** What `openssl ts -reply -token_in -text` says a token holds, in Guzheng's spelling. */
export interface OpensslTokenFacts {
  /** RFC 3339 UTC, the fraction exactly as the token has it (e.g. `2026-12-04T18:54:35.908Z`). */
  readonly genTime: string;
  /** Lowercase hex, an even number of digits (e.g. `0a`). */
  readonly serial: string;
  readonly policy: string;
  /** The TSA name as an RFC 4514 string, most specific first (`CN=…, OU=…, O=…, C=CN`). */
  readonly tsa: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * opensslTokenFacts reads a token (a DER file) with `openssl ts -reply -text`: an oracle for what
 * Guzheng shows of a token (genTime, serial, policy, TSA name) that shares no code with src/.
 */
export async function opensslTokenFacts(tokenPath: string): Promise<OpensslTokenFacts> {
  const { stdout } = await opensslOk(['ts', '-reply', '-in', tokenPath, '-token_in', '-text']);
  const field = (name: string) => {
    const m = new RegExp(`^${name}: (.*)$`, 'm').exec(stdout);
    if (m === null) throw new Error(`openssl ts -text printed no "${name}":\n${stdout}`);
    return (m[1] as string).trim();
  };
  // "Dec  4 18:54:35.908 2026 GMT"
  const t = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d:\d\d:\d\d(?:\.\d+)?) (\d{4}) GMT$/.exec(field('Time stamp'));
  if (t === null) throw new Error(`openssl ts -text: unexpected time ${field('Time stamp')}`);
  const [, mon, day, clock, year] = t as unknown as [string, string, string, string, string];
  const genTime = `${year}-${String(MONTHS.indexOf(mon) + 1).padStart(2, '0')}-${day.padStart(2, '0')}T${clock}Z`;
  const hex = field('Serial number').replace(/^0x/i, '').toLowerCase();
  const serial = hex.length % 2 === 1 ? `0${hex}` : hex;
  const tsa = field('TSA').replace(/^DirName:\//, '').split('/').reverse().join(', ');
  return { genTime, serial, policy: field('Policy OID'), tsa };
}
