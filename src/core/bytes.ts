/**
 * Byte and text encodings used by every format in SPEC.md: lowercase hex, standard padded
 * base64 (RFC 4648 §4), UTF-8, and canonical unsigned decimals. All decoders are strict: a value
 * has exactly one accepted spelling, so re-encoding a decoded value gives back the input.
 * See contracts-free-ledger/SPEC.md#encodings.
 */
import { base64 } from '@scure/base';
import { LedgerError, badInput } from './errors.js';

/** The largest 64-bit unsigned value; sizes and indexes never exceed it. */
export const MAX_UINT64 = (1n << 64n) - 1n;

/** 2^53 − 1 as a bigint: indexes up to it convert to a number exactly (hot paths then skip bigint arithmetic). */
export const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);

const HEX_DIGITS = '0123456789abcdef';
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE[HEX_DIGITS.charCodeAt(i)] = i;

/** toHex encodes bytes as lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    out += HEX_DIGITS[b >> 4]! + HEX_DIGITS[b & 15]!;
  }
  return out;
}

/**
 * fromHex decodes lowercase hex. Requires: even length, only `0-9a-f`; `wantLength` (bytes), if
 * given, must match. Uppercase is rejected so that every hash has one spelling.
 */
export function fromHex(text: string, wantLength?: number, what = 'hex'): Uint8Array {
  if (typeof text !== 'string') badInput(`${what}: got ${typeof text}, want a lowercase hex string`);
  if (text.length % 2 !== 0) badInput(`${what}: odd length ${text.length}`);
  if (wantLength !== undefined && text.length !== wantLength * 2) {
    badInput(`${what}: got ${text.length / 2} bytes, want ${wantLength}`);
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = HEX_VALUE[text.charCodeAt(2 * i)] ?? -1;
    const lo = HEX_VALUE[text.charCodeAt(2 * i + 1)] ?? -1;
    if (hi < 0 || lo < 0) badInput(`${what}: not lowercase hex at offset ${2 * i}`);
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** toBase64 encodes bytes as standard padded base64 (RFC 4648 §4). */
export function toBase64(bytes: Uint8Array): string {
  return base64.encode(bytes);
}

/**
 * fromBase64 decodes standard padded base64 strictly: no whitespace, no URL alphabet, correct
 * padding and zero pad bits (so the encoding is canonical). `wantLength` (bytes) is checked if given.
 */
export function fromBase64(text: string, wantLength?: number, what = 'base64'): Uint8Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    badInput(`${what}: not standard padded base64`);
  }
  let out: Uint8Array;
  try {
    out = base64.decode(text);
  } catch (cause) {
    throw new LedgerError('INPUT_INVALID', `${what}: not standard padded base64`, { cause });
  }
  if (base64.encode(out) !== text) badInput(`${what}: non-canonical base64`);
  if (wantLength !== undefined && out.length !== wantLength) {
    badInput(`${what}: got ${out.length} bytes, want ${wantLength}`);
  }
  return out;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Short strings are encoded into slices of a shared pool, as Node's Buffer does for small
 * buffers: a new ArrayBuffer per string cost more than the encoding itself (a 290-byte entry:
 * ~0.6 µs with `encode`, ~0.27 µs pooled) and loaded the garbage collector on every append.
 * Slices never overlap, so the result is as private as a fresh array; only its `.buffer` is
 * shared (use byteOffset/byteLength with it, as everywhere in this code base).
 */
const POOL_SIZE = 8192;
/** Longest string (UTF-16 units) encoded into the pool: at most 3 bytes per unit. */
const POOLED_MAX = 1024;
let pool = new Uint8Array(POOL_SIZE);
let poolUsed = 0;

/** utf8 encodes a string as UTF-8 bytes. */
export function utf8(text: string): Uint8Array {
  if (text.length > POOLED_MAX) return encoder.encode(text);
  if (POOL_SIZE - poolUsed < 3 * text.length) {
    pool = new Uint8Array(POOL_SIZE);
    poolUsed = 0;
  }
  const { written } = encoder.encodeInto(text, pool.subarray(poolUsed));
  const out = pool.subarray(poolUsed, poolUsed + written);
  poolUsed = (poolUsed + written + 7) & ~7;
  return out;
}

/** fromUtf8 decodes UTF-8 strictly (invalid sequences are an `INPUT_INVALID` error, never U+FFFD). */
export function fromUtf8(bytes: Uint8Array, what = 'text'): string {
  try {
    return strictDecoder.decode(bytes);
  } catch (cause) {
    throw new LedgerError('INPUT_INVALID', `${what}: not valid UTF-8`, { cause });
  }
}

/** concatBytes joins byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** equalBytes compares two byte arrays. Not constant-time: only for public values such as hashes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * parseDecimal parses a canonical unsigned decimal: ASCII digits, no sign, no leading zero
 * (except `0` itself), at most `max` (default 2^64−1). This is the only accepted spelling of a tree
 * size or index in every text and JSON format (SPEC.md#encodings; Go tlog ParseTree).
 */
export function parseDecimal(text: string, what = 'number', max: bigint = MAX_UINT64): bigint {
  if (typeof text !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(text)) {
    badInput(`${what}: got ${JSON.stringify(String(text).slice(0, 40))}, want a canonical decimal`);
  }
  const n = BigInt(text);
  if (n > max) badInput(`${what}: ${text} exceeds ${max}`);
  return n;
}

/** formatDecimal is the inverse of {@link parseDecimal}. Requires: 0 <= n <= 2^64−1. */
export function formatDecimal(n: bigint): string {
  if (n < 0n || n > MAX_UINT64) throw new Error(`core: bad math: ${n} out of uint64 range`);
  return n.toString(10);
}

/** toUint64 accepts a bigint or a safe non-negative integer and returns it as bigint. */
export function toUint64(n: bigint | number, what = 'number'): bigint {
  if (typeof n === 'number') {
    if (!Number.isSafeInteger(n) || n < 0) badInput(`${what}: got ${n}, want a non-negative safe integer`);
    return BigInt(n);
  }
  if (typeof n !== 'bigint' || n < 0n || n > MAX_UINT64) badInput(`${what}: got ${String(n)}, want a uint64`);
  return n;
}
