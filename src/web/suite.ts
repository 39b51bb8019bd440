/**
 * The crypto suite on the court verification page (SPEC.md#crypto-suites, docs/verify-page.md):
 * which hash the page computes a dropped file with, and how it names the suite, in Chinese and
 * English. The suite is the pinned key's — an SM2 key is a `gm` log (SM3 digests and tree, SM2
 * signatures), an Ed25519 key a `c2sp` log — never a receipt's: a document cannot make the page
 * hash with an algorithm no pinned key stands for. Pure: runs in the browser and in Node tests.
 */
import { suiteOfVerifier, type CryptoSuite, type SuiteId } from '../core/suite.js';
import type { DigestAlg } from '../core/entry/schema.js';
import type { Bilingual } from './explain.js';

/**
 * pinnedSuites returns the distinct suites of the pinned keys, in the order of the keys (usually
 * one). Throws `KEY_MALFORMED` for a malformed key, as the verifier would.
 */
export function pinnedSuites(keys: readonly string[]): CryptoSuite[] {
  const out: CryptoSuite[] = [];
  for (const k of keys) {
    const s = suiteOfVerifier(k);
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

/** How the page names each suite: short (badges) and what it means for the file and the log. */
export const SUITE_WORDS: Readonly<Record<SuiteId, { readonly name: Bilingual; readonly meaning: Bilingual }>> = {
  gm: {
    name: { zh: '国密 SM3 / SM2', en: 'Chinese commercial cryptography (国密) SM3 / SM2' },
    meaning: {
      zh: '国密日志：文件摘要与默克尔树用 SM3（GB/T 32905），检查点签名用 SM2（GB/T 32918，ID 1234567812345678）。',
      en: 'A 国密 (gm) log: file digests and the Merkle tree use SM3 (GB/T 32905), checkpoint signatures SM2 (GB/T 32918, ID 1234567812345678).',
    },
  },
  c2sp: {
    name: { zh: 'SHA-256 / Ed25519', en: 'SHA-256 / Ed25519 (C2SP)' },
    meaning: {
      zh: '文件摘要与默克尔树用 SHA-256，检查点签名用 Ed25519（C2SP 签名检查点）。',
      en: 'File digests and the Merkle tree use SHA-256, checkpoint signatures Ed25519 (C2SP signed checkpoints).',
    },
  },
};

/** The name of a digest algorithm as the page prints it. */
export function algName(alg: DigestAlg): string {
  return alg === 'sm3' ? 'SM3' : 'SHA-256';
}

/**
 * digestAlgsToCompute lists the algorithms to hash the files with: each pinned suite's (in key
 * order), and the certificate digest's when the page was opened from a certificate's QR code (to
 * compare with it; the verdict never rests on that).
 */
export function digestAlgsToCompute(suites: readonly CryptoSuite[], expected?: DigestAlg): DigestAlg[] {
  const algs: DigestAlg[] = suites.map((s) => s.digestAlg);
  if (expected !== undefined && !algs.includes(expected)) algs.push(expected);
  return algs.length > 0 ? algs : ['sha256'];
}

/**
 * entryDigestAlg reads `entry.digest.alg` of a receipt (or of an entry, for a tlog-proof) without
 * validating anything else; undefined when there is none. Only used to pick, among the digests
 * computed for the pinned suites, the one to compare: the verifier itself refuses an entry whose
 * algorithm is not its log's suite's.
 */
export function entryDigestAlg(doc: unknown): DigestAlg | undefined {
  const entry = typeof doc === 'object' && doc !== null && 'entry' in doc ? (doc as { entry: unknown }).entry : doc;
  const digest = typeof entry === 'object' && entry !== null ? (entry as { digest?: unknown }).digest : undefined;
  const alg = typeof digest === 'object' && digest !== null ? (digest as { alg?: unknown }).alg : undefined;
  return alg === 'sha256' || alg === 'sm3' ? alg : undefined;
}

/**
 * contentDigestAlg picks the digest to give the verifier for one file: the entry's algorithm when
 * the page computed it (a pinned suite's), else the first pinned suite's.
 */
export function contentDigestAlg(suites: readonly CryptoSuite[], entryAlg: DigestAlg | undefined): DigestAlg {
  if (entryAlg !== undefined && suites.some((s) => s.digestAlg === entryAlg)) return entryAlg;
  return suites[0]?.digestAlg ?? 'sha256';
}
