/**
 * C2SP witness cosignatures (https://c2sp.org/tlog-cosignature): a note signature line a witness
 * adds to a log's checkpoint, saying "as of <time>, this is the largest consistent tree I have
 * seen for this log". Two types:
 *
 *     Ed25519 (signature type 0x04), message "cosignature/v1\ntime <T>\n" || checkpoint text
 *     ML-DSA-44 (type 0x06), message the binary `cosigned_message` with label "subtree/v1\n\0"
 *
 * Signature line:  — <witness name> base64(key id[4] || timestamp u64 big-endian || signature)
 * Key id:          SHA-256(name || 0x0A || type || public key)[:4], big-endian uint32
 * Verifier key:    <name>+<8 lowercase hex key id>+base64(type || public key)   (32 or 1312 bytes)
 * Signer key:      PRIVATE+KEY+<name>+<key id>+base64(type || 32-byte seed)
 *
 * The signer-key form is ours (C2SP defines only verifier keys): it mirrors Go note's
 * `PRIVATE+KEY+` form with the cosignature type byte, and for ML-DSA-44 it holds the FIPS 204
 * key-generation seed ξ, from which the expanded key is derived.
 *
 * Pure: no clock (times are passed in, POSIX seconds), no randomness (hedged ML-DSA signing takes
 * the 32 random bytes as an argument). Parsing is strict, as in note.ts: one spelling per key.
 * See docs/witness.md#keys.
 *
 * Worked example (tlog-cosignature §Ed25519 signed message), reproduced byte for byte by
 * test/core/cosignature.test.ts: the message for time 1679315147 over the C2SP example checkpoint is
 *
 *     cosignature/v1
 *     time 1679315147
 *     example.com/behind-the-sofa
 *     20852163
 *     CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
 */
import { LedgerError, isLedgerError, type ErrorCode } from './errors.js';
import { concatBytes, equalBytes, fromBase64, toBase64, utf8 } from './bytes.js';
import {
  ED25519_PUBLIC_KEY_SIZE,
  ED25519_SEED_SIZE,
  ED25519_SIGNATURE_SIZE,
  ML_DSA_44_PUBLIC_KEY_SIZE,
  ML_DSA_44_SEED_SIZE,
  ML_DSA_44_SIGNATURE_SIZE,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  mlDsa44KeyPair,
  mlDsa44Sign,
  mlDsa44Verify,
  sha256,
} from './crypto.js';
import { isValidKeyName, type VerifierKey } from './note.js';
import { openCheckpoint, parseCheckpoint, type OpenedCheckpoint, type ParsedCheckpoint } from './checkpoint.js';

/** The two cosignature types of c2sp.org/tlog-cosignature. */
export type CosignatureAlgorithm = 'ed25519' | 'ml-dsa-44';

/** Signature type byte of timestamped Ed25519 cosignatures (c2sp.org/signed-note#signature-types). */
export const COSIGNATURE_TYPE_ED25519 = 0x04;
/** Signature type byte of ML-DSA-44 subtree cosignatures (c2sp.org/tlog-cosignature#format). */
export const COSIGNATURE_TYPE_ML_DSA_44 = 0x06;
/** First line of the Ed25519 signed message (tlog-cosignature §Ed25519 signed message). */
export const COSIGNATURE_V1_HEADER = 'cosignature/v1';
/** The 12-byte label opening the ML-DSA-44 `cosigned_message`: "subtree/v1\n\0". */
export const SUBTREE_V1_LABEL: Uint8Array = utf8('subtree/v1\n\u0000').slice();
/** The largest timestamp a cosignature may carry, 2^63 − 1 (tlog-cosignature §Format). */
export const MAX_COSIGNATURE_TIME = (1n << 63n) - 1n;

const SIG_PREFIX = '\u2014 ';
const SIGNER_PREFIX = 'PRIVATE+KEY+';
const HEX_KEY_ID = /^[0-9a-f]{8}$/;
const MAX_UINT64 = (1n << 64n) - 1n;

interface AlgorithmInfo {
  readonly type: number;
  readonly publicKeySize: number;
  readonly signatureSize: number;
}

const ALGORITHMS: Record<CosignatureAlgorithm, AlgorithmInfo> = {
  ed25519: { type: COSIGNATURE_TYPE_ED25519, publicKeySize: ED25519_PUBLIC_KEY_SIZE, signatureSize: ED25519_SIGNATURE_SIZE },
  'ml-dsa-44': { type: COSIGNATURE_TYPE_ML_DSA_44, publicKeySize: ML_DSA_44_PUBLIC_KEY_SIZE, signatureSize: ML_DSA_44_SIGNATURE_SIZE },
};

function algorithmOfType(type: number | undefined): CosignatureAlgorithm | undefined {
  if (type === COSIGNATURE_TYPE_ED25519) return 'ed25519';
  if (type === COSIGNATURE_TYPE_ML_DSA_44) return 'ml-dsa-44';
  return undefined;
}

/** A parsed witness verifier key. */
export interface WitnessVerifierKey {
  /** The witness name, e.g. `witness.example.org/w1`. */
  readonly name: string;
  /** SHA-256(name || 0x0A || type || publicKey)[:4], big-endian. */
  readonly keyId: number;
  readonly algorithm: CosignatureAlgorithm;
  /** 32 bytes (Ed25519) or 1312 bytes (ML-DSA-44). */
  readonly publicKey: Uint8Array;
  /** The canonical verifier key string. */
  readonly text: string;
}

/** A parsed witness signer key. Secret. */
export interface WitnessSignerKey {
  readonly name: string;
  readonly keyId: number;
  readonly algorithm: CosignatureAlgorithm;
  /** The 32-byte seed: the Ed25519 private key, or the ML-DSA-44 key-generation seed ξ. */
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  /** The key that signs: the seed (Ed25519) or the expanded 2560-byte ML-DSA-44 secret key. */
  readonly secretKey: Uint8Array;
}

/** A witness signer key string and its verifier key string. */
export interface WitnessKeyPair {
  readonly signerKey: string;
  readonly verifierKey: string;
}

/** What a valid cosignature says. */
export interface CosignatureInfo {
  readonly name: string;
  readonly keyId: number;
  readonly algorithm: CosignatureAlgorithm;
  /**
   * The witness's own time, POSIX seconds: "witness <name> had seen this checkpoint by <time>".
   * An ML-DSA-44 cosignature with time 0 makes no statement about time (tlog-cosignature
   * §ML-DSA-44 signed message).
   */
  readonly time: bigint;
}

function keyMalformed(message: string): never {
  throw new LedgerError('KEY_MALFORMED', message);
}

function hexKeyId(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

function u32(keyId: number): Uint8Array {
  return new Uint8Array([keyId >>> 24, (keyId >>> 16) & 0xff, (keyId >>> 8) & 0xff, keyId & 0xff]);
}

function u64(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  let v = n;
  for (let i = 7; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function readU64(b: Uint8Array, at: number): bigint {
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(b[at + i] as number);
  return v;
}

function readU32(b: Uint8Array): number {
  return (((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number)) >>> 0;
}

function checkTime(t: bigint | number, what: string): bigint {
  if (typeof t === 'number' && !Number.isSafeInteger(t)) throw new LedgerError('INPUT_INVALID', `${what}: got ${t}, want integer seconds`);
  if (typeof t !== 'number' && typeof t !== 'bigint') throw new LedgerError('INPUT_INVALID', `${what}: got ${typeof t}, want integer seconds`);
  const n = BigInt(t);
  if (n < 0n || n > MAX_COSIGNATURE_TIME) throw new LedgerError('INPUT_INVALID', `${what}: got ${n}, want 0 to 2^63-1 seconds`);
  return n;
}

function checkAlgorithm(algorithm: unknown): AlgorithmInfo {
  if (algorithm !== 'ed25519' && algorithm !== 'ml-dsa-44') keyMalformed(`witness key: got algorithm ${String(algorithm)}, want ed25519 or ml-dsa-44`);
  return ALGORITHMS[algorithm];
}

// The ML-DSA-44 message encodes the name with a one-byte length (opaque cosigner_name<1..2^8-1>).
function checkName(name: unknown, algorithm: CosignatureAlgorithm, what: string): asserts name is string {
  if (!isValidKeyName(name)) keyMalformed(`${what}: got key name ${JSON.stringify(String(name)).slice(0, 80)}, want non-empty, no spaces, no "+"`);
  if (algorithm === 'ml-dsa-44' && utf8(name).length > 255) keyMalformed(`${what}: ML-DSA-44 witness name is over 255 bytes`);
}

/**
 * witnessKeyId returns SHA-256(name || 0x0A || type || publicKey)[:4] as a big-endian uint32, type
 * 0x04 for Ed25519 and 0x06 for ML-DSA-44 (tlog-cosignature §Format).
 * Requires: a valid key name and a public key of the algorithm's size, else `KEY_MALFORMED`.
 * See docs/witness.md#keys.
 */
export function witnessKeyId(name: string, algorithm: CosignatureAlgorithm, publicKey: Uint8Array): number {
  const info = checkAlgorithm(algorithm);
  checkName(name, algorithm, 'witnessKeyId');
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== info.publicKeySize) keyMalformed(`witnessKeyId: want a ${info.publicKeySize}-byte ${algorithm} public key`);
  return readU32(sha256(concatBytes(utf8(name), new Uint8Array([0x0a, info.type]), publicKey)));
}

/** Split `<name>+<hex>+<base64>` and decode strictly; returns the type byte and key bytes. */
function splitKey(s: string, what: string): { name: string; hex: string; keyId: number; algorithm: CosignatureAlgorithm; key: Uint8Array } {
  const i = s.indexOf('+');
  const j = i < 0 ? -1 : s.indexOf('+', i + 1);
  if (j < 0) keyMalformed(`${what}: want <name>+<key id>+<key data>`);
  const name = s.slice(0, i);
  const hex = s.slice(i + 1, j);
  if (!isValidKeyName(name)) keyMalformed(`${what}: invalid key name`);
  if (!HEX_KEY_ID.test(hex)) keyMalformed(`${what}: got key id of ${hex.length} chars, want 8 lowercase hex digits`);
  let data: Uint8Array;
  try {
    data = fromBase64(s.slice(j + 1), undefined, `${what}: key data`);
  } catch (err) {
    if (isLedgerError(err, 'INPUT_INVALID')) throw new LedgerError('KEY_MALFORMED', err.message, { cause: err });
    throw err;
  }
  const algorithm = algorithmOfType(data[0]);
  if (algorithm === undefined) {
    const hint = data[0] === 0x01 ? ' (0x01 is a log key, not a witness key)' : '';
    keyMalformed(`${what}: got signature type ${data.length === 0 ? 'none' : `0x${(data[0] as number).toString(16).padStart(2, '0')}`}${hint}, want 0x04 (Ed25519) or 0x06 (ML-DSA-44)`);
  }
  checkName(name, algorithm, what);
  return { name, hex, keyId: parseInt(hex, 16), algorithm, key: data.slice(1) };
}

/**
 * parseWitnessVerifierKey parses `<name>+<keyid>+base64(type || public key)` strictly: type 0x04
 * with a 32-byte Ed25519 key or 0x06 with a 1312-byte ML-DSA-44 key, lowercase hex, canonical
 * base64, and the key id equal to {@link witnessKeyId}. Else `KEY_MALFORMED`.
 * See docs/witness.md#keys.
 *
 * @example
 * ```ts
 * const w = parseWitnessVerifierKey(vkey);
 * w.algorithm; // 'ed25519'
 * ```
 */
export function parseWitnessVerifierKey(s: string): WitnessVerifierKey {
  if (typeof s !== 'string') keyMalformed(`witness verifier key: got ${typeof s}, want a string`);
  const { name, hex, keyId, algorithm, key } = splitKey(s, 'witness verifier key');
  const info = ALGORITHMS[algorithm];
  if (key.length !== info.publicKeySize) keyMalformed(`witness verifier key: got ${key.length}-byte ${algorithm} key, want ${info.publicKeySize}`);
  const want = witnessKeyId(name, algorithm, key);
  if (keyId !== want) keyMalformed(`witness verifier key: got key id ${hex}, want ${hexKeyId(want)} for this name and key`);
  return { name, keyId, algorithm, publicKey: key, text: s };
}

/**
 * formatWitnessVerifierKey returns `<name>+<keyid>+base64(type || publicKey)`, the inverse of
 * {@link parseWitnessVerifierKey}. Requires: a valid name and a public key of the algorithm's
 * size, else `KEY_MALFORMED`. See docs/witness.md#keys.
 */
export function formatWitnessVerifierKey(name: string, algorithm: CosignatureAlgorithm, publicKey: Uint8Array): string {
  const keyId = witnessKeyId(name, algorithm, publicKey);
  return `${name}+${hexKeyId(keyId)}+${toBase64(concatBytes(new Uint8Array([ALGORITHMS[algorithm].type]), publicKey))}`;
}

function publicKeyOf(algorithm: CosignatureAlgorithm, seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  if (algorithm === 'ed25519') return { publicKey: ed25519PublicKey(seed), secretKey: seed };
  return mlDsa44KeyPair(seed);
}

/**
 * parseWitnessSignerKey parses `PRIVATE+KEY+<name>+<keyid>+base64(type || 32-byte seed)` strictly
 * and derives the public (and, for ML-DSA-44, expanded secret) key. Error messages never echo key
 * data. Requires: the key id matches the derived public key, else `KEY_MALFORMED`.
 * See docs/witness.md#keys.
 */
export function parseWitnessSignerKey(s: string): WitnessSignerKey {
  if (typeof s !== 'string') keyMalformed(`witness signer key: got ${typeof s}, want a string`);
  if (!s.startsWith(SIGNER_PREFIX)) keyMalformed('witness signer key: want PRIVATE+KEY+<name>+<key id>+<key data>');
  const { name, hex, keyId, algorithm, key: seed } = splitKey(s.slice(SIGNER_PREFIX.length), 'witness signer key');
  if (seed.length !== ED25519_SEED_SIZE) keyMalformed(`witness signer key: got ${seed.length}-byte seed, want 32`);
  const { publicKey, secretKey } = publicKeyOf(algorithm, seed);
  const want = witnessKeyId(name, algorithm, publicKey);
  if (keyId !== want) keyMalformed(`witness signer key: got key id ${hex}, want ${hexKeyId(want)} for this name and key`);
  return { name, keyId, algorithm, seed, publicKey, secretKey };
}

/**
 * formatWitnessSignerKey returns the signer key string for `name` and a 32-byte seed; the inverse
 * of {@link parseWitnessSignerKey}. The result is secret. Requires: a valid name and a 32-byte
 * seed, else `KEY_MALFORMED`. See docs/witness.md#keys.
 */
export function formatWitnessSignerKey(name: string, algorithm: CosignatureAlgorithm, seed: Uint8Array): string {
  const info = checkAlgorithm(algorithm);
  checkName(name, algorithm, 'formatWitnessSignerKey');
  if (!(seed instanceof Uint8Array) || seed.length !== (algorithm === 'ed25519' ? ED25519_SEED_SIZE : ML_DSA_44_SEED_SIZE)) keyMalformed('formatWitnessSignerKey: want a 32-byte seed');
  const keyId = witnessKeyId(name, algorithm, publicKeyOf(algorithm, seed).publicKey);
  return `${SIGNER_PREFIX}${name}+${hexKeyId(keyId)}+${toBase64(concatBytes(new Uint8Array([info.type]), seed))}`;
}

/**
 * generateWitnessKey returns the signer and verifier key strings for `name` from a caller-supplied
 * 32-byte seed (core draws no randomness: pass `crypto.getRandomValues(new Uint8Array(32))`).
 * Requires: as {@link formatWitnessSignerKey}. See docs/witness.md#keys.
 */
export function generateWitnessKey(name: string, seed: Uint8Array, algorithm: CosignatureAlgorithm = 'ed25519'): WitnessKeyPair {
  const signerKey = formatWitnessSignerKey(name, algorithm, seed);
  return { signerKey, verifierKey: formatWitnessVerifierKey(name, algorithm, publicKeyOf(algorithm, seed).publicKey) };
}

/**
 * formatCosignatureMessage returns the Ed25519 cosignature/v1 signed message:
 * `cosignature/v1\ntime <seconds>\n` followed by the whole checkpoint text, extension lines
 * included (tlog-cosignature §Ed25519 signed message).
 * Requires: `checkpointText` a well-formed checkpoint (else `CHECKPOINT_MALFORMED`), time in
 * [0, 2^63−1] (else `INPUT_INVALID`). See docs/witness.md#cosignatures.
 */
export function formatCosignatureMessage(checkpointText: string, timeSeconds: bigint | number): string {
  const t = checkTime(timeSeconds, 'formatCosignatureMessage: time');
  parseCheckpoint(checkpointText);
  return `${COSIGNATURE_V1_HEADER}\ntime ${t}\n${checkpointText}`;
}

/** The fields of an ML-DSA-44 `cosigned_message` (tlog-cosignature §ML-DSA-44 signed message). */
export interface SubtreeMessage {
  readonly cosignerName: string;
  /** POSIX seconds, or 0 for no statement about time; MUST be 0 when `start` is not. */
  readonly time: bigint | number;
  readonly origin: string;
  /** First leaf index of the subtree; 0 for a checkpoint. */
  readonly start: bigint;
  /** One past the last leaf index; the tree size for a checkpoint. */
  readonly end: bigint;
  /** The subtree's root hash, 32 bytes. */
  readonly hash: Uint8Array;
}

/**
 * formatSubtreeMessage returns the ML-DSA-44 signed message, the RFC 8446-serialized
 * `cosigned_message`: "subtree/v1\n\0" || u8 len || cosigner_name || u64 timestamp || u8 len ||
 * log_origin || u64 start || u64 end || hash[32], integers big-endian.
 * Requires: name and origin 1–255 bytes, 0 <= start <= end <= 2^64−1, time 0 when start is not
 * 0, a 32-byte hash; else `INPUT_INVALID`. The subtree's alignment is not checked (checkpoints
 * have start 0). See docs/witness.md#cosignatures.
 */
export function formatSubtreeMessage(m: SubtreeMessage): Uint8Array {
  const t = checkTime(m.time, 'formatSubtreeMessage: time');
  const name = utf8(m.cosignerName).slice();
  const origin = utf8(m.origin).slice();
  if (name.length < 1 || name.length > 255) throw new LedgerError('INPUT_INVALID', `formatSubtreeMessage: got ${name.length}-byte cosigner name, want 1 to 255`);
  if (origin.length < 1 || origin.length > 255) throw new LedgerError('INPUT_INVALID', `formatSubtreeMessage: got ${origin.length}-byte origin, want 1 to 255`);
  if (typeof m.start !== 'bigint' || typeof m.end !== 'bigint' || m.start < 0n || m.start > m.end || m.end > MAX_UINT64) {
    throw new LedgerError('INPUT_INVALID', `formatSubtreeMessage: got [${String(m.start)}, ${String(m.end)}), want 0 <= start <= end <= 2^64-1`);
  }
  if (m.start !== 0n && t !== 0n) throw new LedgerError('INPUT_INVALID', 'formatSubtreeMessage: a subtree with start > 0 must have time 0');
  if (!(m.hash instanceof Uint8Array) || m.hash.length !== 32) throw new LedgerError('INPUT_INVALID', 'formatSubtreeMessage: want a 32-byte hash');
  return concatBytes(SUBTREE_V1_LABEL, new Uint8Array([name.length]), name, u64(t), new Uint8Array([origin.length]), origin, u64(m.start), u64(m.end), m.hash);
}

function signedMessage(algorithm: CosignatureAlgorithm, name: string, checkpointText: string, cp: ParsedCheckpoint, t: bigint): Uint8Array {
  if (algorithm === 'ed25519') return utf8(`${COSIGNATURE_V1_HEADER}\ntime ${t}\n${checkpointText}`);
  return formatSubtreeMessage({ cosignerName: name, time: t, origin: cp.origin, start: 0n, end: cp.size, hash: cp.root });
}

/** Options of {@link signCosignature}. */
export interface SignCosignatureOptions {
  /** 32 random bytes for hedged ML-DSA-44 signing (FIPS 204 rnd); omitted: deterministic. Ignored for Ed25519. */
  readonly randomness?: Uint8Array;
}

/**
 * signCosignature returns the witness's note signature line over `checkpointText` at
 * `timeSeconds`: `— <name> base64(keyid || u64 time || signature)`, WITHOUT a final newline
 * (add one to append it to a note or an add-checkpoint response).
 * Requires: `checkpointText` the checkpoint note text, ending in `\n`, well-formed (else
 * `CHECKPOINT_MALFORMED`; an ML-DSA-44 cosignature also needs an origin of at most 255 bytes,
 * else `INPUT_INVALID`); time in [0, 2^63−1] (else `INPUT_INVALID`); a valid signer key (else
 * `KEY_MALFORMED`). See docs/witness.md#cosignatures.
 */
export function signCosignature(
  checkpointText: string,
  signer: WitnessSignerKey | string,
  timeSeconds: bigint | number,
  options: SignCosignatureOptions = {},
): string {
  const key = typeof signer === 'string' ? parseWitnessSignerKey(signer) : signer;
  if (typeof key !== 'object' || key === null) keyMalformed(`signCosignature: got ${typeof key}, want a witness signer key`);
  checkAlgorithm(key.algorithm);
  const t = checkTime(timeSeconds, 'signCosignature: time');
  const cp = parseCheckpoint(checkpointText);
  const msg = signedMessage(key.algorithm, key.name, checkpointText, cp, t);
  const sig = key.algorithm === 'ed25519' ? ed25519Sign(key.seed, msg) : mlDsa44Sign(key.secretKey, msg, options.randomness);
  return `${SIG_PREFIX}${key.name} ${toBase64(concatBytes(u32(key.keyId), u64(t), sig))}`;
}

/** A signature line split into name, key id and the rest of its bytes; undefined if malformed. */
function parseLine(line: string): { name: string; keyId: number; blob: Uint8Array } | undefined {
  if (typeof line !== 'string' || !line.startsWith(SIG_PREFIX)) return undefined;
  const rest = line.slice(SIG_PREFIX.length);
  const sp = rest.indexOf(' ');
  if (sp < 0 || !isValidKeyName(rest.slice(0, sp))) return undefined;
  let raw: Uint8Array;
  try {
    raw = fromBase64(rest.slice(sp + 1));
  } catch {
    return undefined;
  }
  if (raw.length < 5) return undefined;
  return { name: rest.slice(0, sp), keyId: readU32(raw), blob: raw.subarray(4) };
}

function toWitnessKey(k: WitnessVerifierKey | string): WitnessVerifierKey {
  if (typeof k === 'string') return parseWitnessVerifierKey(k);
  if (typeof k !== 'object' || k === null) keyMalformed(`witness key: got ${typeof k}, want a witness verifier key`);
  if (k.keyId !== witnessKeyId(k.name, k.algorithm, k.publicKey)) keyMalformed('witness key: key id does not match the key');
  return k;
}

function sigInvalid(key: WitnessVerifierKey): never {
  throw new LedgerError('SIGNATURE_INVALID', `cosignature: invalid signature for witness ${key.name}+${hexKeyId(key.keyId)}`);
}

function verifyParsed(checkpointText: string, cp: ParsedCheckpoint, p: { blob: Uint8Array }, key: WitnessVerifierKey): CosignatureInfo {
  const info = ALGORITHMS[key.algorithm];
  // A line by a known key that fails in any way is one opaque failure (STYLE.md §4).
  if (p.blob.length !== 8 + info.signatureSize) sigInvalid(key);
  const t = readU64(p.blob, 0);
  if (t > MAX_COSIGNATURE_TIME) sigInvalid(key);
  if (key.algorithm === 'ml-dsa-44' && utf8(cp.origin).length > 255) sigInvalid(key);
  const msg = signedMessage(key.algorithm, key.name, checkpointText, cp, t);
  const sig = p.blob.subarray(8);
  const ok = key.algorithm === 'ed25519' ? ed25519Verify(key.publicKey, msg, sig) : mlDsa44Verify(key.publicKey, msg, sig);
  if (!ok) sigInvalid(key);
  return { name: key.name, keyId: key.keyId, algorithm: key.algorithm, time: t };
}

/**
 * verifyCosignature checks one cosignature line (without its newline) over `checkpointText` (the
 * note text, ending in `\n`, without signatures) against one witness key, and returns who signed
 * and when.
 * Requires: a well-formed checkpoint (else `CHECKPOINT_MALFORMED`) and line (`— <name> <base64>`,
 * else `NOTE_MALFORMED`); a valid key (else `KEY_MALFORMED`). A line whose name or key id is not
 * the key's is `NOTE_UNVERIFIED` (it is someone else's); a line by the key that does not verify —
 * wrong length, time over 2^63−1, other time or text — is `SIGNATURE_INVALID`.
 * See docs/witness.md#cosignatures.
 *
 * @example
 * ```ts
 * const { time } = verifyCosignature(checkpointText, line, 'witness.example/w1+1a2b3c4d+BB…');
 * // "witness.example/w1 had seen this checkpoint by <time>" (POSIX seconds)
 * ```
 */
export function verifyCosignature(checkpointText: string, line: string, witnessKey: WitnessVerifierKey | string): CosignatureInfo {
  const key = toWitnessKey(witnessKey);
  const cp = parseCheckpoint(checkpointText);
  const p = parseLine(line);
  if (p === undefined) throw new LedgerError('NOTE_MALFORMED', 'cosignature: want a line "— <name> <base64 of at least 5 bytes>"');
  if (p.name !== key.name || p.keyId !== key.keyId) {
    throw new LedgerError('NOTE_UNVERIFIED', `cosignature: line is by ${p.name}+${hexKeyId(p.keyId)}, not by witness ${key.name}+${hexKeyId(key.keyId)}`);
  }
  return verifyParsed(checkpointText, cp, p, key);
}

/** A valid cosignature by a pinned witness key, found by {@link openCosigned}. */
export interface ValidCosignature extends CosignatureInfo {
  /** The witness's verifier key string. */
  readonly key: string;
  /** The signature line, without newline. */
  readonly line: string;
}

/** A line by a pinned witness key that did not verify: reported and kept as evidence, never counted. */
export interface FailedCosignature {
  readonly name: string;
  readonly keyId: number;
  readonly key: string;
  readonly line: string;
  readonly code: ErrorCode;
  readonly message: string;
}

/** A signature line by a key that is neither the log's nor a pinned witness's (ignored, as C2SP requires). */
export interface IgnoredSignature {
  readonly name: string;
  readonly keyId: number;
  readonly line: string;
}

/** A checkpoint opened with the log key, with its cosignatures sorted out by {@link openCosigned}. */
export interface CosignedCheckpoint {
  readonly checkpoint: OpenedCheckpoint;
  /** At most one per witness key (the earliest valid time), in the order of `witnessKeys`. */
  readonly cosignatures: ValidCosignature[];
  readonly failed: FailedCosignature[];
  readonly ignored: IgnoredSignature[];
}

/**
 * openCosigned opens a checkpoint note with the log's key (as {@link openCheckpoint}, which throws
 * on a bad log signature or checkpoint) and sorts every other signature line: a valid cosignature
 * by one of `witnessKeys` over this exact checkpoint text; a failed one by such a key (kept with
 * its code, not counted); or a line by an unknown key, ignored (c2sp.org/signed-note: verifiers
 * MUST ignore signatures from unknown keys, even if they share a name or key id with a known key).
 * A witness that signed twice counts once, with its earliest valid time.
 * Requires: `witnessKeys` valid (else `KEY_MALFORMED`) with no two different keys under one
 * (name, key id) (else `INPUT_INVALID`). See docs/witness.md#cosignatures.
 *
 * @example
 * ```ts
 * const c = openCosigned(note, logVkey, [witnessVkey1, witnessVkey2]);
 * c.checkpoint.checkpoint.size;           // verified by the log key
 * c.cosignatures.map((w) => [w.name, w.time]); // independent times, one per witness
 * ```
 */
export function openCosigned(
  note: string,
  logKey: VerifierKey | string,
  witnessKeys: ReadonlyArray<WitnessVerifierKey | string>,
): CosignedCheckpoint {
  if (!Array.isArray(witnessKeys)) throw new LedgerError('INPUT_INVALID', `openCosigned: got ${typeof witnessKeys} witness keys, want an array`);
  const keys = witnessKeys.map(toWitnessKey);
  const byId = new Map<string, WitnessVerifierKey>();
  for (const k of keys) {
    const id = `${k.name}+${hexKeyId(k.keyId)}`;
    const prev = byId.get(id);
    if (prev !== undefined && (prev.algorithm !== k.algorithm || !equalBytes(prev.publicKey, k.publicKey))) {
      throw new LedgerError('INPUT_INVALID', `openCosigned: ambiguous witness key ${id}`);
    }
    byId.set(id, k);
  }
  const opened = openCheckpoint(note, logKey);
  const cp = opened.checkpoint;
  const logId = opened.verified.map((v) => `${v.name}+${hexKeyId(v.keyId)}`);
  // openCheckpoint split the note at its last blank line: the rest is the signature block.
  const lines = opened.note.slice(opened.text.length + 1).slice(0, -1).split('\n');
  const best = new Map<string, ValidCosignature>();
  const failed: FailedCosignature[] = [];
  const ignored: IgnoredSignature[] = [];
  for (const line of lines) {
    const p = parseLine(line);
    if (p === undefined) throw new Error('core: bad math: openCheckpoint accepted a malformed signature line');
    const id = `${p.name}+${hexKeyId(p.keyId)}`;
    if (logId.includes(id)) continue;
    const key = byId.get(id);
    if (key === undefined) {
      ignored.push({ name: p.name, keyId: p.keyId, line });
      continue;
    }
    try {
      const info = verifyParsed(opened.text, cp, p, key);
      const prev = best.get(id);
      if (prev === undefined || info.time < prev.time) best.set(id, { ...info, key: key.text, line });
    } catch (err) {
      if (!isLedgerError(err)) throw err;
      failed.push({ name: p.name, keyId: p.keyId, key: key.text, line, code: err.code, message: err.message });
    }
  }
  const cosignatures: ValidCosignature[] = [];
  const seen = new Set<string>();
  for (const k of keys) {
    const id = `${k.name}+${hexKeyId(k.keyId)}`;
    const c = best.get(id);
    if (c !== undefined && !seen.has(id)) cosignatures.push(c);
    seen.add(id);
  }
  return { checkpoint: opened, cosignatures, failed, ignored };
}
