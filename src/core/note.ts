/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, byte-compatible with Go's
 * golang.org/x/mod/sumdb/note. A signed note is
 *
 *     <text ending in "\n">
 *     <blank line>
 *     — <key name> base64(4-byte big-endian key id || 64-byte Ed25519 signature over text)
 *     …
 *
 * Key strings:
 *
 *     verifier key: <name>+<8 lowercase hex key id>+base64(0x01 || 32-byte public key)
 *     signer key:   PRIVATE+KEY+<name>+<8 lowercase hex key id>+base64(0x01 || 32-byte seed)
 *     key id:       SHA-256(name || 0x0A || 0x01 || public key)[:4], big-endian uint32
 *
 * and for the `gm` crypto suite (SPEC.md#sm2-note-signatures), an SM2 key under signed-note's
 * escape type 0xff followed by a longer identifier, T = 0xff || "guzheng/sm2-sm3":
 *
 *     verifier key: <name>+<key id>+base64(T || 65-byte public key 0x04 || X || Y)
 *     signer key:   PRIVATE+KEY+<name>+<key id>+base64(T || 32-byte private key d)
 *     key id:       SM3(name || 0x0A || T || public key)[:4], big-endian uint32
 *     signature:    SM2 with SM3 and ID 1234567812345678 over the text, r || s (64 bytes)
 *
 * Parsing is strict: every key and every note has exactly one accepted spelling (canonical
 * base64, lowercase hex, matching key id). Where this module is stricter than Go it says so.
 * See contracts-free-ledger/SPEC.md#signed-notes.
 *
 * Worked example (Go's `note` package documentation), reproduced byte for byte by the tests:
 *
 *     signer key:   PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz
 *     verifier key: PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW
 *
 *     If you think cryptography is the answer to your problem,
 *     then you don't know what your problem is.
 *
 *     — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=
 */
import { LedgerError, isLedgerError } from './errors.js';
import { concatBytes, equalBytes, fromBase64, fromUtf8, toBase64, utf8 } from './bytes.js';
import {
  ED25519_PUBLIC_KEY_SIZE,
  ED25519_SEED_SIZE,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  sha256,
} from './crypto.js';
import { SM2_PRIVATE_KEY_SIZE, SM2_PUBLIC_KEY_SIZE, isSm2PublicKey, sm2PublicKey, sm2Sign, sm2Verify, sm3 } from './crypto-gm.js';

/** The largest signed note accepted, in bytes (UTF-8), like Go tlog's `len(text) > 1e6`. */
export const MAX_NOTE_SIZE = 1_000_000;
/** The most signature lines a note may carry (Go note.Open: `numSig > 100`). */
export const MAX_NOTE_SIGNATURES = 100;

/** Signature type identifier byte for Ed25519 (c2sp.org/signed-note#signature-types). */
const ALG_ED25519 = 0x01;
/**
 * The signature type of SM2 keys: signed-note's 0xff ("signature types without an identifier
 * byte assigned by this specification"), followed by an identifier unlikely to collide.
 */
export const SM2_KEY_TYPE: Uint8Array = Uint8Array.from([0xff, ...new TextEncoder().encode('guzheng/sm2-sm3')]);

/** The signature algorithm of a note key: Ed25519 (`c2sp` logs) or SM2 (`gm` logs). */
export type NoteAlgorithm = 'ed25519' | 'sm2';

const TYPE_BYTES: Record<NoteAlgorithm, Uint8Array> = { ed25519: Uint8Array.of(ALG_ED25519), sm2: SM2_KEY_TYPE };
const PUBLIC_SIZE: Record<NoteAlgorithm, number> = { ed25519: ED25519_PUBLIC_KEY_SIZE, sm2: SM2_PUBLIC_KEY_SIZE };
const PRIVATE_SIZE: Record<NoteAlgorithm, number> = { ed25519: ED25519_SEED_SIZE, sm2: SM2_PRIVATE_KEY_SIZE };

function publicKeyOf(algorithm: NoteAlgorithm, seed: Uint8Array): Uint8Array {
  return algorithm === 'sm2' ? sm2PublicKey(seed) : ed25519PublicKey(seed);
}
/** Every signature line starts with an em dash (U+2014) and a space. */
const SIG_PREFIX = '\u2014 ';
const SIGNER_PREFIX = 'PRIVATE+KEY+';

// ASCII control characters other than newline. DEL (0x7f) is not one of them: C2SP and Go
// forbid only those below U+0020.
const CONTROL = /[\u0000-\u0009\u000b-\u001f]/;
// A lone UTF-16 surrogate: a JS string that has no UTF-8 encoding.
const LONE_SURROGATE = /[\ud800-\udfff]/u;
// Go's unicode.IsSpace is exactly the Unicode White_Space property (JS `\s` also matches U+FEFF).
const WHITE_SPACE = /\p{White_Space}/u;
const HEX_KEY_ID = /^[0-9a-f]{8}$/;

/** A parsed verifier (public) key. */
export interface VerifierKey {
  /** The key name, e.g. a log origin such as `example.com/log`. */
  readonly name: string;
  /** The 32-bit key id, SHA-256(name || 0x0A || 0x01 || publicKey)[:4] big-endian (SM2: see above). */
  readonly keyId: number;
  /** Ed25519 (absent: Ed25519, for keys built by hand) or SM2. */
  readonly algorithm?: NoteAlgorithm;
  /** The 32-byte Ed25519 public key, or the 65-byte SM2 point. */
  readonly publicKey: Uint8Array;
  /** The canonical verifier key string `<name>+<keyid>+<base64>`. */
  readonly text: string;
}

/** A parsed signer (private) key. Keep it secret: `seed` signs for `name`. */
export interface SignerKey {
  /** The key name. */
  readonly name: string;
  /** The 32-bit key id of the matching public key. */
  readonly keyId: number;
  /** Ed25519 (absent: Ed25519) or SM2. */
  readonly algorithm?: NoteAlgorithm;
  /** The 32-byte Ed25519 seed (RFC 8032 private key), or the SM2 private key d. */
  readonly seed: Uint8Array;
  /** The public key derived from `seed`. */
  readonly publicKey: Uint8Array;
}

/** A signer key string and its verifier key string, as made by {@link generateSignerKey}. */
export interface KeyPair {
  /** `PRIVATE+KEY+<name>+<keyid>+<base64>`: secret. */
  readonly signerKey: string;
  /** `<name>+<keyid>+<base64>`: give this to verifiers. */
  readonly verifierKey: string;
}

/** The identity of one signature line in a note. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
}

/** A note whose signatures were checked by {@link openNote}. */
export interface OpenedNote {
  /** The signed text, including its final newline but not the separating blank line. */
  readonly text: string;
  /** Signatures by known keys, all verified, in note order. */
  readonly verified: NoteSignature[];
  /** Signatures by unknown keys (ignored, not checked), in note order, identical lines once. */
  readonly unverified: NoteSignature[];
}

/**
 * UnverifiedNoteError is `NOTE_UNVERIFIED` carrying the parsed note (Go's
 * `UnverifiedNoteError{Note}`): it was well-formed, but no signature was by a known key.
 */
export class UnverifiedNoteError extends LedgerError {
  /** The note as parsed; `verified` is empty. Its text MUST NOT be trusted. */
  readonly note: OpenedNote;
  constructor(note: OpenedNote) {
    super('NOTE_UNVERIFIED', 'note: no signature by a known key');
    this.name = 'UnverifiedNoteError';
    this.note = note;
  }
}

function keyMalformed(message: string): never {
  throw new LedgerError('KEY_MALFORMED', message);
}

function noteMalformed(message: string): never {
  throw new LedgerError('NOTE_MALFORMED', message);
}

function hexKeyId(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

/**
 * isValidKeyName reports whether `name` may name a key (and so be a checkpoint origin): non-empty
 * well-formed Unicode with no Unicode White_Space and no `+`. Also rejects ASCII control
 * characters, which no note may contain anyway (Go would accept e.g. U+0001 in a key it can never
 * use). See contracts-free-ledger/SPEC.md#signed-notes.
 */
export function isValidKeyName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name !== '' &&
    !name.includes('+') &&
    !WHITE_SPACE.test(name) &&
    !CONTROL.test(name) &&
    !LONE_SURROGATE.test(name)
  );
}

function checkName(name: unknown, what: string): asserts name is string {
  if (!isValidKeyName(name)) {
    keyMalformed(`${what}: got key name ${JSON.stringify(String(name))}, want non-empty, no spaces, no "+"`);
  }
}

function checkKeyBytes(key: unknown, size: number, what: string): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== size) {
    const got = key instanceof Uint8Array ? `${key.length} bytes` : typeof key;
    keyMalformed(`${what}: got ${got}, want ${size} bytes`);
  }
}

/**
 * keyIdOf returns the key id of a public key under `name`: for Ed25519
 * SHA-256(name || 0x0A || 0x01 || publicKey)[:4] as a big-endian uint32 (c2sp.org/signed-note
 * #ed25519-signatures); for SM2 SM3(name || 0x0A || T || publicKey)[:4] (a `gm` log uses no
 * SHA-256 at all). Requires: a valid key name and a public key of the algorithm's size, else
 * `KEY_MALFORMED`. See contracts-free-ledger/SPEC.md#signed-notes.
 */
export function keyIdOf(name: string, publicKey: Uint8Array, algorithm: NoteAlgorithm = 'ed25519'): number {
  checkName(name, 'keyIdOf');
  checkKeyBytes(publicKey, PUBLIC_SIZE[algorithm], 'keyIdOf: public key');
  const input = concatBytes(utf8(name), Uint8Array.of(0x0a), TYPE_BYTES[algorithm], publicKey);
  const h = algorithm === 'sm2' ? sm3(input) : sha256(input);
  return (((h[0] as number) << 24) | ((h[1] as number) << 16) | ((h[2] as number) << 8) | (h[3] as number)) >>> 0;
}

/** startsWith tells whether `data` begins with `prefix`. */
function startsWith(data: Uint8Array, prefix: Uint8Array): boolean {
  return data.length >= prefix.length && equalBytes(data.subarray(0, prefix.length), prefix);
}

/**
 * Split `<name>+<hex>+<base64>` on the first two `+` (the base64 may contain `+`), and decode the
 * key data strictly: canonical base64 of 0x01 || 32 bytes, and a lowercase 8-digit key id.
 */
function splitKey(s: string, what: string, kind: 'public' | 'private'): { name: string; hex: string; keyId: number; key: Uint8Array; algorithm: NoteAlgorithm } {
  const i = s.indexOf('+');
  const j = i < 0 ? -1 : s.indexOf('+', i + 1);
  if (j < 0) keyMalformed(`${what}: want <name>+<key id>+<key data>`);
  const name = s.slice(0, i);
  const hex = s.slice(i + 1, j);
  const b64 = s.slice(j + 1);
  checkName(name, what);
  if (!HEX_KEY_ID.test(hex)) keyMalformed(`${what}: got key id of ${hex.length} chars, want 8 lowercase hex digits`);
  let data: Uint8Array;
  try {
    data = fromBase64(b64, undefined, `${what}: key data`);
  } catch (err) {
    if (isLedgerError(err, 'INPUT_INVALID')) throw new LedgerError('KEY_MALFORMED', err.message, { cause: err });
    throw err;
  }
  if (data.length === 0) keyMalformed(`${what}: empty key data`);
  let algorithm: NoteAlgorithm;
  if (data[0] === ALG_ED25519) algorithm = 'ed25519';
  else if (startsWith(data, SM2_KEY_TYPE)) algorithm = 'sm2';
  else keyMalformed(`${what}: got algorithm ${data[0]}, want ${ALG_ED25519} (Ed25519) or 0xff "guzheng/sm2-sm3" (SM2)`);
  const type = TYPE_BYTES[algorithm].length;
  const size = (kind === 'public' ? PUBLIC_SIZE : PRIVATE_SIZE)[algorithm];
  if (data.length !== type + size) keyMalformed(`${what}: got ${data.length - type}-byte key, want ${size}`);
  const key = data.slice(type);
  if (algorithm === 'sm2' && kind === 'public' && !isSm2PublicKey(key)) keyMalformed(`${what}: not a point on the SM2 curve`);
  return { name, hex, keyId: parseInt(hex, 16), key, algorithm };
}

/**
 * parseVerifierKey parses a verifier key `<name>+<keyid>+<base64(0x01 || public key)>` strictly
 * (Go note.NewVerifier, plus: lowercase hex and canonical base64 only).
 * Requires: the key id equals {@link keyIdOf}(name, public key); else `KEY_MALFORMED`, as for a
 * bad name, unknown algorithm byte or wrong key length.
 * See contracts-free-ledger/SPEC.md#signed-notes.
 */
export function parseVerifierKey(s: string): VerifierKey {
  if (typeof s !== 'string') keyMalformed(`verifier key: got ${typeof s}, want a string`);
  const { name, hex, keyId, key, algorithm } = splitKey(s, 'verifier key', 'public');
  const want = keyIdOf(name, key, algorithm);
  if (keyId !== want) keyMalformed(`verifier key: got key id ${hex}, want ${hexKeyId(want)} for this name and key`);
  return { name, keyId, algorithm, publicKey: key, text: s };
}

/**
 * formatVerifierKey returns the verifier key string `<name>+<keyid>+<base64(0x01 || publicKey)>`
 * (Go note.NewEd25519VerifierKey); the inverse of {@link parseVerifierKey}.
 * Requires: a valid key name and a 32-byte Ed25519 public key, else `KEY_MALFORMED`.
 * See contracts-free-ledger/SPEC.md#signed-notes.
 */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  // The two algorithms' public keys differ in size: 32 bytes is Ed25519, 65 is SM2.
  const algorithm: NoteAlgorithm = publicKey instanceof Uint8Array && publicKey.length === SM2_PUBLIC_KEY_SIZE ? 'sm2' : 'ed25519';
  if (algorithm === 'sm2' && !isSm2PublicKey(publicKey)) keyMalformed('formatVerifierKey: not a point on the SM2 curve');
  const keyId = keyIdOf(name, publicKey, algorithm);
  return `${name}+${hexKeyId(keyId)}+${toBase64(concatBytes(TYPE_BYTES[algorithm], publicKey))}`;
}

/**
 * parseSignerKey parses a signer key `PRIVATE+KEY+<name>+<keyid>+<base64(0x01 || seed)>` strictly
 * (Go note.NewSigner, plus: lowercase hex and canonical base64 only). Error messages never echo
 * the key data.
 * Requires: the key id equals {@link keyIdOf}(name, public key of seed); else `KEY_MALFORMED`, as
 * for a missing `PRIVATE+KEY+` prefix, bad name, unknown algorithm byte or wrong seed length.
 * See contracts-free-ledger/SPEC.md#signed-notes.
 */
export function parseSignerKey(s: string): SignerKey {
  if (typeof s !== 'string') keyMalformed(`signer key: got ${typeof s}, want a string`);
  if (!s.startsWith(SIGNER_PREFIX)) keyMalformed('signer key: want PRIVATE+KEY+<name>+<key id>+<key data>');
  const { name, hex, keyId, key: seed, algorithm } = splitKey(s.slice(SIGNER_PREFIX.length), 'signer key', 'private');
  let publicKey: Uint8Array;
  try {
    publicKey = publicKeyOf(algorithm, seed);
  } catch (err) {
    if (isLedgerError(err)) keyMalformed('signer key: the private key is out of range');
    throw err;
  }
  const want = keyIdOf(name, publicKey, algorithm);
  if (keyId !== want) keyMalformed(`signer key: got key id ${hex}, want ${hexKeyId(want)} for this name and key`);
  return { name, keyId, algorithm, seed, publicKey };
}

/**
 * formatSignerKey returns the signer key string `PRIVATE+KEY+<name>+<keyid>+<base64(0x01 ||
 * seed)>`; the inverse of {@link parseSignerKey}. The result is secret.
 * Requires: a valid key name and a 32-byte seed, else `KEY_MALFORMED`.
 * See contracts-free-ledger/SPEC.md#signed-notes.
 */
export function formatSignerKey(name: string, seed: Uint8Array, algorithm: NoteAlgorithm = 'ed25519'): string {
  checkName(name, 'formatSignerKey');
  checkKeyBytes(seed, PRIVATE_SIZE[algorithm], 'formatSignerKey: seed');
  const keyId = keyIdOf(name, publicKeyOf(algorithm, seed), algorithm);
  return `${SIGNER_PREFIX}${name}+${hexKeyId(keyId)}+${toBase64(concatBytes(TYPE_BYTES[algorithm], seed))}`;
}

/**
 * generateSignerKey returns the signer and verifier key strings for `name` and a caller-supplied
 * 32-byte seed (Go note.GenerateKey; core takes no randomness of its own, so the caller passes
 * `crypto.getRandomValues(new Uint8Array(32))` or a fixed seed in tests).
 * Requires: a valid key name and a 32-byte seed, else `KEY_MALFORMED`.
 * See contracts-free-ledger/SPEC.md#signed-notes.
 */
export function generateSignerKey(name: string, seed: Uint8Array, algorithm: NoteAlgorithm = 'ed25519'): KeyPair {
  const signerKey = formatSignerKey(name, seed, algorithm);
  return { signerKey, verifierKey: formatVerifierKey(name, publicKeyOf(algorithm, seed)) };
}

/** Accept a key string or a parsed key object; objects are re-checked for self-consistency. */
/**
 * Signer keys already checked, with a copy of what was checked: deriving the public key from the
 * seed costs as much as a signature, and a log signs with the same key object many times a
 * second. A key object changed since (its bytes, name or id) is checked again.
 */
const checkedSigners = new WeakMap<SignerKey, { name: string; algorithm: NoteAlgorithm; seed: Uint8Array; publicKey: Uint8Array; keyId: number }>();

function toSignerKey(k: SignerKey | string): SignerKey {
  if (typeof k === 'string') return parseSignerKey(k);
  if (typeof k !== 'object' || k === null) keyMalformed(`signer: got ${typeof k}, want a signer key`);
  const algorithm = k.algorithm ?? 'ed25519';
  const seen = checkedSigners.get(k);
  if (
    seen !== undefined &&
    seen.name === k.name &&
    seen.algorithm === algorithm &&
    seen.keyId === k.keyId &&
    k.seed instanceof Uint8Array &&
    k.publicKey instanceof Uint8Array &&
    equalBytes(seen.seed, k.seed) &&
    equalBytes(seen.publicKey, k.publicKey)
  ) {
    return k;
  }
  checkName(k.name, 'signer');
  checkKeyBytes(k.seed, PRIVATE_SIZE[algorithm], 'signer: seed');
  const publicKey = publicKeyOf(algorithm, k.seed);
  if (!(k.publicKey instanceof Uint8Array) || !equalBytes(publicKey, k.publicKey) || k.keyId !== keyIdOf(k.name, publicKey, algorithm)) {
    keyMalformed('signer: public key or key id does not match the seed');
  }
  checkedSigners.set(k, { name: k.name, algorithm, seed: k.seed.slice(), publicKey: publicKey.slice(), keyId: k.keyId });
  return k;
}

function toVerifierKey(k: VerifierKey | string): VerifierKey {
  if (typeof k === 'string') return parseVerifierKey(k);
  if (typeof k !== 'object' || k === null) keyMalformed(`verifier: got ${typeof k}, want a verifier key`);
  if (k.keyId !== keyIdOf(k.name, k.publicKey, k.algorithm ?? 'ed25519')) keyMalformed('verifier: key id does not match the key');
  return k;
}

/** Check note text as {@link signNote} requires; returns it unchanged. */
function checkText(text: unknown): string {
  if (typeof text !== 'string') noteMalformed(`note text: got ${typeof text}, want a string`);
  if (text === '' || !text.endsWith('\n')) noteMalformed('note text: want non-empty text ending in a newline');
  if (LONE_SURROGATE.test(text)) noteMalformed('note text: not valid Unicode (lone surrogate)');
  if (CONTROL.test(text)) noteMalformed('note text: contains a control character other than newline');
  return text;
}

/**
 * signNote signs `text` with each signer and returns the signed note: `text`, a blank line, then
 * one line `— <name> base64(keyid || Ed25519 signature)` per signer, in the order given (Go
 * note.Sign with no pre-existing signatures).
 * Requires: `text` non-empty, ending in `\n`, well-formed Unicode without control characters
 * other than `\n`, and the result at most 1,000,000 bytes (else `NOTE_MALFORMED`); 1 to 100
 * signers with distinct (name, key id) (else `INPUT_INVALID`); each signer a valid key string or
 * parsed key (else `KEY_MALFORMED`).
 * See contracts-free-ledger/SPEC.md#signed-notes.
 */
export function signNote(text: string, signers: ReadonlyArray<SignerKey | string>): string {
  checkText(text);
  if (!Array.isArray(signers) || signers.length === 0 || signers.length > MAX_NOTE_SIGNATURES) {
    throw new LedgerError('INPUT_INVALID', `signNote: got ${Array.isArray(signers) ? signers.length : typeof signers} signers, want 1 to ${MAX_NOTE_SIGNATURES}`);
  }
  const msg = utf8(text);
  const seen = new Set<string>();
  let out = text + '\n';
  for (const s of signers) {
    const key = toSignerKey(s);
    const id = `${key.name}+${hexKeyId(key.keyId)}`;
    if (seen.has(id)) throw new LedgerError('INPUT_INVALID', `signNote: key ${id} given twice`);
    seen.add(id);
    const sig = (key.algorithm ?? 'ed25519') === 'sm2' ? sm2Sign(key.seed, msg) : ed25519Sign(key.seed, msg);
    const idBytes = new Uint8Array([key.keyId >>> 24, (key.keyId >>> 16) & 0xff, (key.keyId >>> 8) & 0xff, key.keyId & 0xff]);
    out += `${SIG_PREFIX}${key.name} ${toBase64(concatBytes(idBytes, sig))}\n`;
  }
  const size = utf8(out).length;
  if (size > MAX_NOTE_SIZE) noteMalformed(`signNote: got ${size} bytes, want at most ${MAX_NOTE_SIZE}`);
  return out;
}

/** Decode a note given as bytes or string, enforcing the size cap and strict UTF-8. */
function decodeNote(note: string | Uint8Array): string {
  if (note instanceof Uint8Array) {
    if (note.length > MAX_NOTE_SIZE) noteMalformed(`note: got ${note.length} bytes, want at most ${MAX_NOTE_SIZE}`);
    try {
      return fromUtf8(note, 'note');
    } catch (err) {
      if (isLedgerError(err)) noteMalformed(err.message);
      throw err;
    }
  }
  if (typeof note !== 'string') noteMalformed(`note: got ${typeof note}, want a string or bytes`);
  // Each UTF-16 unit is at least one UTF-8 byte, so this bounds the work before encoding.
  if (note.length > MAX_NOTE_SIZE) noteMalformed(`note: got over ${MAX_NOTE_SIZE} bytes, want at most ${MAX_NOTE_SIZE}`);
  if (LONE_SURROGATE.test(note)) noteMalformed('note: not valid UTF-8 (lone surrogate)');
  const size = utf8(note).length;
  if (size > MAX_NOTE_SIZE) noteMalformed(`note: got ${size} bytes, want at most ${MAX_NOTE_SIZE}`);
  return note;
}

interface SigLine {
  readonly line: string;
  readonly name: string;
  readonly keyId: number;
  readonly sig: Uint8Array;
}

/**
 * openNote parses a signed note and checks its signatures against the known `verifiers` (Go
 * note.Open, C2SP signed-note). Signatures whose (name, key id) is unknown are ignored and listed
 * in `unverified`; every signature by a known key must verify.
 *
 * Requires: at most 1,000,000 bytes; strict UTF-8 without ASCII control characters other than
 * `\n`; text and signatures separated by the LAST blank line; 1 to 100 well-formed signature lines
 * (`— <name> <canonical base64 of >= 5 bytes>\n`) and at most one per known key. Violations are
 * `NOTE_MALFORMED` (Go instead silently drops a repeated signature by a known key).
 * Throws `SIGNATURE_INVALID` if a signature by a known key fails, {@link UnverifiedNoteError}
 * (`NOTE_UNVERIFIED`) if no known key signed, `KEY_MALFORMED` for a bad verifier, and
 * `INPUT_INVALID` if two different verifiers share a name and key id.
 * See contracts-free-ledger/SPEC.md#signed-notes.
 *
 * @example
 * ```ts
 * const note = openNote(signedText, ['PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW']);
 * note.text;                 // "If you think cryptography is the answer to your problem,\n…"
 * note.verified[0]?.keyId;   // 0xc74f20a3
 * ```
 */
export function openNote(note: string | Uint8Array, verifiers: ReadonlyArray<VerifierKey | string>): OpenedNote {
  if (!Array.isArray(verifiers)) throw new LedgerError('INPUT_INVALID', `openNote: got ${typeof verifiers} verifiers, want an array`);
  const known = new Map<string, VerifierKey>();
  for (const v of verifiers) {
    const key = toVerifierKey(v);
    const id = `${key.name}+${hexKeyId(key.keyId)}`;
    const prev = known.get(id);
    if (prev !== undefined && !equalBytes(prev.publicKey, key.publicKey)) {
      throw new LedgerError('INPUT_INVALID', `openNote: ambiguous verifier key ${id}`);
    }
    known.set(id, key);
  }

  const msg = decodeNote(note);
  if (CONTROL.test(msg)) noteMalformed('note: contains a control character other than newline');
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) noteMalformed('note: want a blank line before the signatures');
  const text = msg.slice(0, split + 1);
  const block = msg.slice(split + 2);
  if (text === '' || !text.endsWith('\n')) noteMalformed('note: want non-empty text ending in a newline');
  if (block === '' || !block.endsWith('\n')) noteMalformed('note: want signature lines ending in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) {
    noteMalformed(`note: got ${lines.length} signature lines, want at most ${MAX_NOTE_SIGNATURES}`);
  }

  const parsed: SigLine[] = [];
  for (const [n, line] of lines.entries()) {
    if (!line.startsWith(SIG_PREFIX)) noteMalformed(`note: signature line ${n + 1} does not start with "— "`);
    const rest = line.slice(SIG_PREFIX.length);
    const sp = rest.indexOf(' ');
    const name = sp < 0 ? rest : rest.slice(0, sp);
    const b64 = sp < 0 ? '' : rest.slice(sp + 1);
    if (!isValidKeyName(name)) noteMalformed(`note: signature line ${n + 1} has an invalid key name`);
    let raw: Uint8Array;
    try {
      raw = fromBase64(b64, undefined, `note: signature line ${n + 1}`);
    } catch (err) {
      if (isLedgerError(err)) noteMalformed(err.message);
      throw err;
    }
    if (raw.length < 5) noteMalformed(`note: signature line ${n + 1}: got ${raw.length} bytes, want at least 5`);
    const keyId = (((raw[0] as number) << 24) | ((raw[1] as number) << 16) | ((raw[2] as number) << 8) | (raw[3] as number)) >>> 0;
    parsed.push({ line, name, keyId, sig: raw.subarray(4) });
  }

  // All lines are well-formed; now look keys up, reject repeats by known keys, then verify.
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const toCheck: Array<{ key: VerifierKey; sig: Uint8Array }> = [];
  const seenKnown = new Set<string>();
  const seenUnknown = new Set<string>();
  for (const p of parsed) {
    const id = `${p.name}+${hexKeyId(p.keyId)}`;
    const key = known.get(id);
    if (key === undefined) {
      if (!seenUnknown.has(p.line)) unverified.push({ name: p.name, keyId: p.keyId });
      seenUnknown.add(p.line);
      continue;
    }
    if (seenKnown.has(id)) noteMalformed(`note: more than one signature by key ${id}`);
    seenKnown.add(id);
    toCheck.push({ key, sig: p.sig });
  }
  const body = utf8(text);
  for (const { key, sig } of toCheck) {
    const ok = (key.algorithm ?? 'ed25519') === 'sm2' ? sm2Verify(key.publicKey, body, sig) : ed25519Verify(key.publicKey, body, sig);
    if (!ok) {
      throw new LedgerError('SIGNATURE_INVALID', `note: invalid signature for key ${key.name}+${hexKeyId(key.keyId)}`);
    }
    verified.push({ name: key.name, keyId: key.keyId });
  }
  if (verified.length === 0) throw new UnverifiedNoteError({ text, verified, unverified });
  return { text, verified, unverified };
}

/**
 * splitNote splits a signed note into its text (up to and including the newline before the LAST
 * blank line, as {@link openNote} splits it) and its signature lines, WITHOUT checking any
 * signature: for hashing what was signed (a block hash, a time-stamp imprint) and for picking
 * one signer's line out of a cosigned note.
 * Requires: a string at most 1,000,000 bytes with a blank line followed by at least one line
 * ending in `\n`; else `NOTE_MALFORMED`. See contracts-free-ledger/SPEC.md#signed-notes.
 */
export function splitNote(note: string): { text: string; signatures: string[] } {
  const msg = decodeNote(note);
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) noteMalformed('note: want a blank line before the signatures');
  const text = msg.slice(0, split + 1);
  const block = msg.slice(split + 2);
  if (text === '' || block === '' || !block.endsWith('\n')) noteMalformed('note: want text, a blank line and signature lines ending in a newline');
  return { text, signatures: block.slice(0, -1).split('\n') };
}

/**
 * signatureLineKeyId returns the (name, key id) a signature line names, or undefined when the line
 * is not a well-formed `— <name> <base64 of at least 5 bytes>` line. Checks nothing else.
 */
export function signatureLineKeyId(line: string): { name: string; keyId: number } | undefined {
  if (!line.startsWith(SIG_PREFIX)) return undefined;
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
  return { name: rest.slice(0, sp), keyId: (((raw[0] as number) << 24) | ((raw[1] as number) << 16) | ((raw[2] as number) << 8) | (raw[3] as number)) >>> 0 };
}

/**
 * noteSignedBy returns `note` with only the signature lines by `key` (name and key id): the note
 * exactly as that signer signed it, without cosignatures added later (what a time stamp's imprint
 * covers, SPEC.md#time-stamps). Requires: a note that splits (else `NOTE_MALFORMED`).
 */
export function noteSignedBy(note: string, key: VerifierKey): string {
  const { text, signatures } = splitNote(note);
  const own = signatures.filter((line) => {
    const id = signatureLineKeyId(line);
    return id !== undefined && id.name === key.name && id.keyId === key.keyId;
  });
  return `${text}\n${own.map((l) => `${l}\n`).join('')}`;
}
