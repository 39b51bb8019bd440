/**
 * Crypto suites (SPEC.md#crypto-suites): the hash and signature algorithms of one log, fixed when
 * the log is created, handed to the code that needs them as ONE value (as tlog hands a
 * `HashReader` around), never a process-wide switch: a verifier checks logs of both suites.
 *
 *     c2sp   SHA-256 tree, sha256 content digests, Ed25519 checkpoint signatures (C2SP, RFC 6962)
 *     gm     SM3 tree (RFC 6962 domain separation), sm3 content digests, SM2 signatures with SM3
 *            and the default ID 1234567812345678 (GB/T 32905, GB/T 32918, GB/T 35276)
 *
 * A log's suite is the suite of its key: an Ed25519 key is a `c2sp` log, an SM2 key a `gm` log
 * (SPEC.md#sm2-note-signatures), so a verifier that pins the key knows the suite without being
 * told, and a document cannot claim another one.
 */
import { sha256 } from './crypto.js';
import { sm3 } from './crypto-gm.js';
import { treeHasher, SHA256_TREE, type TreeHasher } from './merkle/hash.js';
import { parseSignerKey, parseVerifierKey, type NoteAlgorithm, type SignerKey, type VerifierKey } from './note.js';
import { badInput } from './errors.js';

/** The name of a crypto suite. */
export type SuiteId = 'c2sp' | 'gm';

/** Every suite's name, in a stable order. */
export const SUITE_IDS: readonly SuiteId[] = ['c2sp', 'gm'];

/** One log's algorithms. */
export interface CryptoSuite {
  readonly id: SuiteId;
  /** The hash function: tree hashes, content digests, block hashes, time-stamp imprints. */
  readonly hash: (data: Uint8Array) => Uint8Array;
  /** Its name as a content digest spells it (`{alg, hex}`). */
  readonly digestAlg: 'sha256' | 'sm3';
  /** RFC 9162 tree hashing with this suite's hash. */
  readonly tree: TreeHasher;
  /** The signature algorithm of the log's checkpoint key. */
  readonly keyAlgorithm: NoteAlgorithm;
  /** How people should see it named (certificates, the court page). */
  readonly label: { readonly zh: string; readonly en: string };
}

/** The default suite: SHA-256 and Ed25519, as C2SP and RFC 6962 specify. */
export const C2SP: CryptoSuite = {
  id: 'c2sp',
  hash: sha256,
  digestAlg: 'sha256',
  tree: SHA256_TREE,
  keyAlgorithm: 'ed25519',
  label: { zh: 'SHA-256 / Ed25519（C2SP）', en: 'SHA-256 / Ed25519 (C2SP)' },
};

/** The 国密 suite: SM3 and SM2. */
export const GM: CryptoSuite = {
  id: 'gm',
  hash: sm3,
  digestAlg: 'sm3',
  tree: treeHasher('sm3', sm3),
  keyAlgorithm: 'sm2',
  label: { zh: '国密 SM3 / SM2', en: 'Chinese commercial cryptography (国密) SM3 / SM2' },
};

/** suiteById returns the suite named `id`. Requires: `c2sp` or `gm`, else `INPUT_INVALID`. */
export function suiteById(id: string): CryptoSuite {
  if (id === 'c2sp') return C2SP;
  if (id === 'gm') return GM;
  return badInput(`crypto suite: got ${JSON.stringify(String(id).slice(0, 20))}, want c2sp or gm`);
}

/** suiteOfKey returns the suite of a log from its key's algorithm (absent: Ed25519, `c2sp`). */
export function suiteOfKey(key: { readonly algorithm?: NoteAlgorithm }): CryptoSuite {
  return key.algorithm === 'sm2' ? GM : C2SP;
}

/** suiteOfDigestAlg returns the suite whose content digests are `alg`, if any. */
export function suiteOfDigestAlg(alg: string): CryptoSuite | undefined {
  return alg === 'sha256' ? C2SP : alg === 'sm3' ? GM : undefined;
}

/** Suites of recently seen key strings: parsing an SM2 key checks a curve point, worth keeping. */
const byKeyText = new Map<string, CryptoSuite>();

/**
 * suiteOfVerifier returns the suite of the log whose verifier key (string or parsed) is `key`.
 * Throws `KEY_MALFORMED` for a malformed key string.
 */
export function suiteOfVerifier(key: string | VerifierKey): CryptoSuite {
  if (typeof key !== 'string') return suiteOfKey(key);
  let suite = byKeyText.get(key);
  if (suite === undefined) {
    suite = suiteOfKey(parseVerifierKey(key));
    if (byKeyText.size >= 64) byKeyText.clear();
    byKeyText.set(key, suite);
  }
  return suite;
}

/** suiteOfSigner returns the suite of the log whose signer key (string or parsed) is `key`. */
export function suiteOfSigner(key: string | SignerKey): CryptoSuite {
  return suiteOfKey(typeof key === 'string' ? parseSignerKey(key) : key);
}
