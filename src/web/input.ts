/**
 * What the court verification page accepts as its proof document, recognized from the text
 * alone (docs/verify-page.md#inputs): a receipt (JSON), a C2SP tlog-proof (text; needs the entry
 * bytes beside it), an evidence certificate (HTML with the receipt embedded), or an evidence
 * bundle (JSON). Pure string work: runs in the browser and in Node tests.
 */
import { RECEIPT_FORMAT } from '../core/receipt.js';

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

/** digestFromFragment reads `#sha256=<64 lowercase hex>` (what a certificate's QR code opens). */
export function digestFromFragment(fragment: string): string | undefined {
  const m = /(?:^#|[#&])sha256=([0-9a-fA-F]{64})(?:&|$)/.exec(fragment);
  return m?.[1]?.toLowerCase();
}
