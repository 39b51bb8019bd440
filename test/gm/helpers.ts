/**
 * Helpers for the gm (国密 SM3/SM2) service tests, independent of the code under test: SM3 from
 * node:crypto (OpenSSL), an RFC 6962 tree over it, the SM2 signature of a checkpoint as DER, and
 * OpenSSL's own `pkeyutl -verify` on it (SPEC.md#crypto-suites, #sm2-note-signatures).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSignerKey } from '../../src/core/note.js';

/** The fixed gm test log key (SM2), and an Ed25519 key of the same name for the wrong-suite checks. */
export const GM_ORIGIN = 'guzheng.test/gm-log';
export const GM_LOG = generateSignerKey(GM_ORIGIN, new Uint8Array(32).fill(7), 'sm2');
export const ED_LOG = generateSignerKey(GM_ORIGIN, new Uint8Array(32).fill(7));

/** sm3 of bytes or a UTF-8 string, by node:crypto (OpenSSL). */
export function sm3(data: Uint8Array | string): Buffer {
  return createHash('sm3').update(data).digest();
}

export function sm3Hex(data: Uint8Array | string): string {
  return sm3(data).toString('hex');
}

/** The RFC 6962 leaf hash with SM3: SM3(0x00 ‖ entry). */
export function sm3Leaf(entry: Uint8Array): Buffer {
  return createHash('sm3').update(Uint8Array.of(0)).update(entry).digest();
}

/** MTH over SM3 (RFC 6962 §2.1: split at the largest power of two below n). */
export function sm3Root(leaves: readonly Uint8Array[]): Buffer {
  if (leaves.length === 0) return sm3(new Uint8Array(0));
  if (leaves.length === 1) return Buffer.from(leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return createHash('sm3').update(Uint8Array.of(1)).update(sm3Root(leaves.slice(0, k))).update(sm3Root(leaves.slice(k))).digest();
}

/** splitSigned splits a signed note into its text (through the last line's \n) and its signature lines. */
export function splitSigned(note: string): { text: string; lines: string[] } {
  const at = note.lastIndexOf('\n\n');
  return { text: note.slice(0, at + 1), lines: note.slice(at + 2).split('\n').filter((l) => l !== '') };
}

function derInteger(b: Uint8Array): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  let v = Buffer.from(b.subarray(i));
  if ((v[0] ?? 0) & 0x80) v = Buffer.concat([Buffer.of(0), v]);
  return Buffer.concat([Buffer.of(0x02, v.length), v]);
}

/** sm2SignatureDer turns a note signature line's key id ‖ r ‖ s into DER SEQUENCE { r, s }. */
export function sm2SignatureDer(line: string): Buffer {
  const raw = Buffer.from(line.slice(line.lastIndexOf(' ') + 1), 'base64');
  if (raw.length !== 4 + 64) throw new Error(`want a 68-byte SM2 note signature, got ${raw.length}`);
  const body = Buffer.concat([derInteger(raw.subarray(4, 36)), derInteger(raw.subarray(36, 68))]);
  return Buffer.concat([Buffer.of(0x30, body.length), body]);
}

/**
 * opensslVerifies runs `openssl pkeyutl -verify -pubin -inkey log.pem -rawin -digest sm3 -pkeyopt
 * distid:1234567812345678` on the note's text and its first signature; true when OpenSSL accepts.
 */
export function opensslVerifies(pem: string, note: string, mangle?: (text: string) => string): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'guzheng-gm-openssl-'));
  try {
    const { text, lines } = splitSigned(note);
    writeFileSync(join(dir, 'log.pem'), pem);
    writeFileSync(join(dir, 'text'), mangle ? mangle(text) : text);
    writeFileSync(join(dir, 'sig.der'), sm2SignatureDer(lines[0]!));
    const r = spawnSync(
      'openssl',
      ['pkeyutl', '-verify', '-pubin', '-inkey', join(dir, 'log.pem'), '-rawin', '-digest', 'sm3', '-pkeyopt', 'distid:1234567812345678', '-in', join(dir, 'text'), '-sigfile', join(dir, 'sig.der')],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (r.error !== undefined) throw r.error;
    return r.status === 0 && /Signature Verified Successfully/.test(r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
