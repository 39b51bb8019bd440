/**
 * Support for the gm (国密) audit, monitor, witness and time-stamp tests: a gm log (SM2 key) whose
 * entries are those of test/audit/helpers.ts `entryInput` with SM3 content digests, so a gm ledger
 * and a c2sp ledger built with the same batches hold the same kinds of entry at the same indexes
 * and seal the same blocks (what "located exactly as in c2sp" compares); and an independent SM3
 * RFC 6962 tree from node:crypto (OpenSSL), which shares no code with src/.
 */
import { createHash } from 'node:crypto';
import { utf8 } from '../../src/core/bytes.js';
import { digestBytes } from '../../src/core/entry/index.js';
import { generateSignerKey } from '../../src/core/note.js';
import type { EntryInput, Ledger } from '../../src/log/ledger.js';
import { entryInput } from '../audit/helpers.js';

/** The gm audit log: an SM2 key (a `gm` log, SPEC.md#crypto-suites). */
export const GM_ORIGIN = 'guzheng.test/gm-audit';
export const GM_KEYS = generateSignerKey(GM_ORIGIN, new Uint8Array(32).fill(21), 'sm2');
/** Same name, another SM2 key: signs checkpoints the pinned key must reject. */
export const GM_IMPOSTOR = generateSignerKey(GM_ORIGIN, new Uint8Array(32).fill(22), 'sm2');
/** Same name, an Ed25519 key: a `c2sp` key the gm log's verifiers must not take for its own. */
export const GM_NAME_ED25519 = generateSignerKey(GM_ORIGIN, new Uint8Array(32).fill(21));

/**
 * gmEntryInput is test/audit/helpers.ts `entryInput(i, variant)` for a gm log: documents and
 * digests carry the SM3 digest of the same content (records are digested by the log itself).
 */
export function gmEntryInput(i: number, variant = ''): EntryInput {
  const e = entryInput(i, variant);
  if (e.type === 'record' || e.type === 'hj212') return e;
  return { ...e, digest: digestBytes(utf8(`content ${variant}${i}`), 'sm3') };
}

/** A minimal HJ 212 packet (as a data logger sends it) and its entry input, hashed with `alg`. */
export function hj212Input(i: number, alg: 'sha256' | 'sm3'): EntryInput {
  const raw = utf8(`##0101QN=20260301000000${String(i).padStart(3, '0')};ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&DataTime=20260301000000;a34004-Rtd=${i}.5,a34004-Flag=N&&1C80\r\n`);
  return {
    type: 'hj212',
    raw,
    digest: digestBytes(raw, alg),
    meta: { mn: '010000A8900016F000169DC0', pollutants: ['a34004'], crc: { ok: true, variant: 'hj212' }, flag: 4, parserVersion: 'guzheng-hj212/0.1.0' },
  };
}

/**
 * appendGm appends entries [size, to) made by `input` (default {@link gmEntryInput}) in batches of
 * `batch`, publishing a block after each batch, and returns the checkpoint notes published. The
 * same batches as test/audit/helpers.ts `appendEntries`, so the blocks seal the same sizes.
 */
export async function appendGm(ledger: Ledger, to: number, o: { batch?: number; input?: (i: number) => EntryInput } = {}): Promise<string[]> {
  const batch = o.batch ?? 100;
  const make = o.input ?? ((i: number) => gmEntryInput(i));
  const notes: string[] = [];
  for (let i = Number(ledger.sequencer.size); i < to; i += batch) {
    const inputs: EntryInput[] = [];
    for (let j = i; j < Math.min(to, i + batch); j++) inputs.push(make(j));
    await ledger.append(inputs, 'officer-01');
    const p = await ledger.publisher.publishNow();
    if (p) notes.push(p.checkpoint.note);
  }
  return notes;
}

/** SM3 by node:crypto (OpenSSL), independent of src/core. */
export function sm3(...parts: Uint8Array[]): Buffer {
  const h = createHash('sm3');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The RFC 6962 leaf hash over SM3: SM3(0x00 ‖ entry). */
export function sm3Leaf(entry: Uint8Array): Buffer {
  return sm3(Uint8Array.of(0), entry);
}

/** MTH over SM3 of leaf hashes (RFC 9162 §2.1.1: split at the largest power of two below n). */
export function sm3RootOfLeaves(leaves: readonly Uint8Array[]): Buffer {
  if (leaves.length === 0) return sm3();
  if (leaves.length === 1) return Buffer.from(leaves[0] as Uint8Array);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sm3(Uint8Array.of(1), sm3RootOfLeaves(leaves.slice(0, k)), sm3RootOfLeaves(leaves.slice(k)));
}

/** The RFC 6962 consistency proof over SM3 leaf hashes (RFC 9162 §2.1.4.1, SUBPROOF), for forks and witnesses. */
export function sm3Consistency(m: number, leaves: readonly Uint8Array[]): Buffer[] {
  const sub = (m: number, d: readonly Uint8Array[], b: boolean): Buffer[] => {
    const n = d.length;
    if (m === n) return b ? [] : [sm3RootOfLeaves(d)];
    let k = 1;
    while (k * 2 < n) k *= 2;
    if (m <= k) return [...sub(m, d.slice(0, k), b), sm3RootOfLeaves(d.slice(k))];
    return [...sub(m - k, d.slice(k), false), sm3RootOfLeaves(d.slice(0, k))];
  };
  return m === 0 || m === leaves.length ? [] : sub(m, leaves, true);
}
