/**
 * What the court verification page accepts as its proof document, recognized from the text
 * alone (docs/verify-page.md#inputs): a receipt (JSON), a C2SP tlog-proof (text; needs the entry
 * bytes beside it), an evidence certificate (HTML with the receipt embedded), or an evidence
 * bundle (JSON). Pure string work: runs in the browser and in Node tests.
 */
import { fromUtf8, toBase64 } from '../core/bytes.js';
import type { DigestAlg } from '../core/entry/schema.js';
import { RECEIPT_FORMAT } from '../core/receipt.js';
import { parseCertificatesPem } from '../verifier/timestamp.js';
import { formatName, parseCertificate } from '../verifier/x509.js';

/** The proof document as recognized. */
export type ProofDocument =
  | { readonly kind: 'receipt'; readonly receipt: unknown }
  | { readonly kind: 'certificate'; readonly receipt: unknown }
  | { readonly kind: 'tlog-proof'; readonly text: string }
  | { readonly kind: 'bundle'; readonly bundle: unknown }
  | { readonly kind: 'unknown'; readonly why: string };

/** The first line of a C2SP tlog-proof. */
export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

/** The id of the element of a certificate that embeds its receipt. */
export const CERTIFICATE_RECEIPT_ID = 'receipt';

const EMBEDDED = /<script\b[^>]*\bid\s*=\s*["']?receipt["']?[^>]*>([\s\S]*?)<\/script\s*>/i;

/**
 * extractEmbeddedReceipt returns the JSON text of the receipt a certificate embeds in
 * `<script type="application/json" id="receipt">`, or undefined if there is none.
 */
export function extractEmbeddedReceipt(html: string): string | undefined {
  const m = EMBEDDED.exec(html);
  return m?.[1]?.trim();
}

/**
 * classifyProofDocument recognizes what the user dropped in the receipt field. It does not
 * validate: a receipt that merely looks like JSON is handed to the verifier, whose `format` check
 * says precisely what is wrong with it.
 */
export function classifyProofDocument(text: string): ProofDocument {
  const t = text.replace(/^\uFEFF/, '');
  const trimmed = t.trim();
  if (trimmed === '') return { kind: 'unknown', why: 'empty' };
  if (t.startsWith(TLOG_PROOF_HEADER + '\n')) return { kind: 'tlog-proof', text: t };
  if (trimmed.startsWith('<')) {
    const embedded = extractEmbeddedReceipt(t);
    if (embedded === undefined) return { kind: 'unknown', why: 'an HTML file without an embedded receipt' };
    return { kind: 'certificate', receipt: parseJsonOr(embedded) };
  }
  if (trimmed.startsWith('{')) {
    const value = parseJsonOr(trimmed);
    const format = typeof value === 'object' && value !== null ? (value as { format?: unknown }).format : undefined;
    if (typeof format === 'string' && format.startsWith('guzheng-bundle/')) return { kind: 'bundle', bundle: value };
    // Anything else (including a JSON text that fails to parse) goes to verifyReceipt, which reports it.
    return { kind: 'receipt', receipt: value };
  }
  return { kind: 'unknown', why: `neither a ${RECEIPT_FORMAT} receipt, a tlog-proof, a certificate nor a bundle` };
}

function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Keep the text: the verifier's format check reports "not JSON".
    return text;
  }
}

/** parsePinnedKeys splits the key field into verifier keys: one per line (or whitespace-separated). */
export function parsePinnedKeys(text: string): string[] {
  return text
    .split(/\s+/)
    .map((k) => k.trim())
    .filter((k) => k !== '');
}

/**
 * expectedDigestFromFragment reads `#sha256=<64 hex>` or `#sm3=<64 hex>` (what a certificate's
 * QR code opens: its entry's digest, SM3 for a `gm` log), lowercased.
 */
export function expectedDigestFromFragment(fragment: string): { alg: DigestAlg; hex: string } | undefined {
  const m = /(?:^#|[#&])(sha256|sm3)=([0-9a-fA-F]{64})(?:&|$)/.exec(fragment);
  if (m === null) return undefined;
  return { alg: m[1] as DigestAlg, hex: (m[2] as string).toLowerCase() };
}

/** digestFromFragment reads `#sha256=<64 lowercase hex>` (what a certificate's QR code opens). */
export function digestFromFragment(fragment: string): string | undefined {
  const m = /(?:^#|[#&])sha256=([0-9a-fA-F]{64})(?:&|$)/.exec(fragment);
  return m?.[1]?.toLowerCase();
}

/**
 * formatCertificatesPem spells DER certificates as one PEM bundle (RFC 7468 §3 strict form: 64
 * base64 characters a line, LF), the form {@link parsePinnedTsaRoots} reads back exactly. Used by
 * the route that serves the page to prefill the log's pinned TSA roots.
 * Requires: each element is one certificate's DER bytes (not checked here).
 */
export function formatCertificatesPem(ders: readonly Uint8Array[]): string {
  return ders
    .map((der) => {
      const b64 = toBase64(der);
      const lines: string[] = [];
      for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
      return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
    })
    .join('');
}

/**
 * parsePinnedTsaRoots reads the TSA-roots field of the page: PEM `CERTIFICATE` blocks, as pasted
 * or read from a file. Surrounding whitespace of each line and a byte-order mark are ignored (a
 * paste often indents or adds CR); otherwise the text must be what `parseCertificatesPem`
 * (src/verifier/x509.ts) accepts, and every certificate parses. An empty field pins nothing.
 * Throws `LedgerError('INPUT_INVALID')` saying what is wrong (SPEC.md#verifying-a-time-stamp-token).
 */
export function parsePinnedTsaRoots(text: string): Uint8Array[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n|\r/).map((l) => l.trim());
  if (lines.every((l) => l === '')) return [];
  return parseCertificatesPem(lines.join('\n'));
}

/**
 * certificateFileText turns a dropped or picked certificate file into PEM text for the TSA-roots
 * field: a PEM file (`.pem`, most `.crt`) is taken as it is; a binary DER file (`.cer`, `.der`,
 * some `.crt`: it starts with a SEQUENCE tag, 0x30) is spelled as PEM. Anything else is returned as
 * text, for {@link parsePinnedTsaRoots} to report. Throws `INPUT_INVALID` for a file that is
 * neither DER nor UTF-8 text.
 */
export function certificateFileText(bytes: Uint8Array): string {
  if (bytes[0] === 0x30) return formatCertificatesPem([bytes]);
  return fromUtf8(bytes, 'certificate file');
}

/**
 * describeTsaRoots names pinned roots by subject (`CN=…, O=…`), to show what was pinned.
 * Requires: certificates {@link parsePinnedTsaRoots} returned; throws `INPUT_INVALID` otherwise.
 */
export function describeTsaRoots(ders: readonly Uint8Array[]): string[] {
  return ders.map((der, i) => {
    const c = parseCertificate(der, `TSA root ${i + 1}`, 'INPUT_INVALID');
    return formatName(c.subject);
  });
}
