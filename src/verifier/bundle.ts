/**
 * Offline verification of evidence bundles (SPEC.md#bundles), and one entry point for any proof
 * document: a receipt, a bundle or a tlog-proof, told apart by their content. Browser-safe: depends
 * on src/core only. Every item of a bundle runs the receipt check pipeline of ./verify.ts against
 * the bundle's one checkpoint, which is opened once; each sealing block is verified once.
 */
import { BUNDLE_FORMAT, BUNDLE_FORMAT_V1, MAX_BUNDLE_SIZE, manifestLine, parseBundle, sameManifestLine, type ManifestLine, type ParsedBundle } from '../core/bundle.js';
import { formatDecimal } from '../core/bytes.js';
import { decodeEntry, type Digest, type Entry } from '../core/entry/index.js';
import { LedgerError, isLedgerError, type ErrorCode } from '../core/errors.js';
import { TLOG_PROOF_HEADER } from '../core/tlog-proof.js';
import type { VerifierKey } from '../core/note.js';
import type { Policy } from '../core/policy.js';
import { suiteOfKey } from '../core/suite.js';
import type { CheckStatus, VerificationReport } from './report.js';
import { VerifyCache, contentDigest, pinnedKeys, verifyProofInput, verifyReceipt, verifyTlogProof, type Content } from './verify.js';

/** Every bundle-level check, in the order they run. */
export const BUNDLE_CHECK_IDS = ['format', 'checkpoint', 'manifest', 'items', 'files'] as const;

/** One bundle-level check's identity. */
export type BundleCheckId = (typeof BUNDLE_CHECK_IDS)[number];

/** One bundle-level line of the report. */
export interface BundleCheck {
  readonly id: BundleCheckId;
  readonly status: CheckStatus;
  /** Set when status is fail. */
  readonly code?: ErrorCode;
  readonly message: string;
}

/** Human titles of the bundle-level checks, English and Chinese. */
export const BUNDLE_CHECK_TITLES: Record<BundleCheckId, { en: string; zh: string }> = {
  format: { en: 'Bundle format', zh: '证据包格式' },
  checkpoint: { en: 'Common checkpoint signature (pinned log key)', zh: '共同检查点签名（已固定的日志公钥）' },
  manifest: { en: 'Manifest and case id match the entries', zh: '清单及案件编号与条目一致' },
  items: { en: 'Every item verifies', zh: '每一项均通过验证' },
  files: { en: 'Given files are anchored items', zh: '所给文件均为已存证项' },
};

/** The facts a bundle verification establishes (present as far as checks got). */
export interface BundleFacts {
  caseId?: string;
  createdAt?: string;
  origin?: string;
  treeSize?: string;
  rootHash?: string;
  /** The pinned key that verified the common checkpoint. */
  verifierKey?: string;
  /** Number of items, and of items whose report is valid (decimal strings). */
  itemCount?: string;
  validItems?: string;
}

/** The report of one item: a receipt report plus which item it is. */
export interface BundleItemReport extends VerificationReport {
  readonly index: string;
  /** The item's manifest line as derived from its entry (absent if the entry does not decode). */
  readonly manifest?: ManifestLine;
}

/** The result of verifying a bundle. `valid` iff no check failed and format, checkpoint, manifest and items passed. */
export interface BundleReport {
  readonly valid: boolean;
  readonly checks: BundleCheck[];
  readonly facts: BundleFacts;
  readonly items: BundleItemReport[];
}

/** Content without a known item: located in the bundle by digest, else by file name. */
export interface LooseContent {
  /** A file name or path (its last segment is compared with the entries' `meta.name`), or any label. */
  readonly label: string;
  readonly content: Content;
}

/** Options for {@link verifyBundle}. */
export interface BundleVerifyOptions {
  /** The log verifier keys the caller pins; at least one. */
  readonly trustedKeys: ReadonlyArray<string | VerifierKey>;
  /** Content for given items, by entry index. */
  readonly contents?: ReadonlyMap<bigint, Content>;
  /**
   * Content whose item the caller does not know (the files of a case folder). Each is given to
   * every item with its digest; if none has it, to the first item without content whose
   * `meta.name` equals the label's last path segment (its content check then fails, naming the
   * item); else the `files` check fails: this content is not in the bundle.
   */
  readonly files?: readonly LooseContent[];
  /** Pinned TSA root certificates (DER), as in VerifyOptions. */
  readonly trustedTsaRoots?: readonly Uint8Array[];
  /** The witness policy the common checkpoint must meet, as in VerifyOptions. */
  readonly policy?: Policy;
}

const REQUIRED: BundleCheckId[] = ['format', 'checkpoint', 'manifest', 'items'];

function baseName(label: string): string {
  return label.split(/[\\/]/).pop() ?? label;
}

function summary(indexes: readonly string[]): string {
  return indexes.length <= 10 ? indexes.join(', ') : `${indexes.slice(0, 10).join(', ')} and ${indexes.length - 10} more`;
}

/**
 * verifyBundle checks an evidence bundle (JSON value or text) offline against pinned log keys
 * and, optionally, the content of its items. Never throws for a bad bundle: the report says what
 * failed, per bundle and per item. Throws `INPUT_INVALID`/`KEY_MALFORMED` only for bad options.
 * Requires: at least one pinned key. See contracts-free-ledger/SPEC.md#bundles.
 *
 * @example
 * const report = await verifyBundle(JSON.parse(bundleText), { trustedKeys: [logKey], files: [{ label: 'decision.pdf', content: { bytes: pdf } }] });
 * for (const item of report.items) if (!item.valid) console.log(item.index, item.checks.filter((c) => c.status === 'fail'));
 */
export async function verifyBundle(bundle: unknown, options: BundleVerifyOptions): Promise<BundleReport> {
  const keys = pinnedKeys(options);
  const checks: BundleCheck[] = [];
  const facts: BundleFacts = {};
  const push = (id: BundleCheckId, status: CheckStatus, message: string, code?: ErrorCode) => checks.push(code === undefined ? { id, status, message } : { id, status, code, message });
  const done = (items: BundleItemReport[]): BundleReport => {
    const failed = checks.some((c) => c.status === 'fail');
    const passed = (id: BundleCheckId) => checks.some((c) => c.id === id && c.status === 'pass');
    return { valid: !failed && REQUIRED.every(passed), checks, facts, items };
  };

  let parsed: ParsedBundle;
  try {
    parsed = parseBundle(bundle);
  } catch (err) {
    if (!isLedgerError(err)) throw err;
    push('format', 'fail', err.message, err.code);
    return done([]);
  }
  const stamps = parsed.format === 2 ? `, ${parsed.timestamps.length} time stamps` : '';
  push('format', 'pass', `${parsed.format === 2 ? BUNDLE_FORMAT : BUNDLE_FORMAT_V1}: case ${parsed.caseId}, ${parsed.items.length} items, ${parsed.blocks.length} sealing blocks${stamps}`);
  Object.assign(facts, { caseId: parsed.caseId, createdAt: parsed.createdAt, itemCount: String(parsed.items.length) });

  // Which content goes with which item.
  const decoded: Array<Entry | undefined> = parsed.items.map((it) => {
    try {
      return decodeEntry(it.entryBytes);
    } catch (err) {
      if (isLedgerError(err)) return undefined;
      throw err;
    }
  });
  const assigned = new Map<number, Content>();
  const fileProblems: string[] = [];
  const fileNotes: string[] = [];
  for (const [index, content] of options.contents ?? []) {
    const i = parsed.items.findIndex((it) => it.index === index);
    if (i < 0) fileProblems.push(`content given for index ${index}, which is not in the bundle`);
    else assigned.set(i, content);
  }
  for (const file of options.files ?? []) {
    let digest: Digest;
    try {
      // Files are hashed with the pinned log's suite (SPEC.md#crypto-suites): SM3 for a gm log.
      digest = contentDigest(file.content, suiteOfKey(keys[0] ?? {}).digestAlg);
    } catch (err) {
      if (!isLedgerError(err)) throw err;
      fileProblems.push(`${file.label}: ${err.message}`);
      continue;
    }
    const byDigest = decoded.flatMap((e, i) => (e !== undefined && e.digest.alg === digest.alg && e.digest.hex === digest.hex ? [i] : []));
    if (byDigest.length > 0) {
      for (const i of byDigest) if (!assigned.has(i)) assigned.set(i, file.content);
      fileNotes.push(`${file.label} is item ${byDigest.map((i) => formatDecimal(parsed.items[i]?.index ?? 0n)).join(', ')}`);
      continue;
    }
    const name = baseName(file.label);
    const byName = decoded.findIndex((e, i) => e !== undefined && !assigned.has(i) && (e.meta as { name?: string }).name === name);
    if (byName >= 0) {
      assigned.set(byName, file.content);
      fileProblems.push(`${file.label} (${digest.alg} ${digest.hex}) is not the anchored content of item ${parsed.items[byName]?.index} "${name}"`);
    } else {
      fileProblems.push(`${file.label} (${digest.alg} ${digest.hex}) is not anchored in this bundle`);
    }
  }

  // The items, against the one checkpoint (opened once through the cache).
  const cache = new VerifyCache();
  const format = parsed.format === 2 ? BUNDLE_FORMAT : BUNDLE_FORMAT_V1;
  const tsa = { ...(options.trustedTsaRoots === undefined ? {} : { trustedTsaRoots: options.trustedTsaRoots }), ...(options.policy === undefined ? {} : { policy: options.policy }) };
  const items: BundleItemReport[] = await Promise.all(parsed.items.map(async (it, i) => {
    const content = assigned.get(i);
    const report = await verifyProofInput(
      `item ${i} of ${format}`,
      {
        index: it.index,
        entryBytes: it.entryBytes,
        statedLeafHash: it.leafHash,
        inclusionProof: it.inclusionProof,
        checkpoint: parsed.checkpoint,
        block: it.sealing.block,
        blockConsistency: it.sealing.consistency,
        namedKey: parsed.verifierKey,
        ...(it.stamped === undefined ? { noTimestampBecause: `a ${BUNDLE_FORMAT_V1} carries no time stamps` } : { timestamp: it.stamped?.stamp ?? null }),
      },
      keys,
      { ...tsa, ...(content === undefined ? {} : { content }) },
      cache,
    );
    const e = decoded[i];
    return { index: formatDecimal(it.index), ...(e !== undefined ? { manifest: manifestLine(it.index, e) } : {}), ...report };
  }));

  // The common checkpoint: its verdict is the items' (all share it).
  const cp = items[0]?.checks.find((c) => c.id === 'checkpoint');
  if (cp?.status === 'pass') {
    const f = items[0]?.facts ?? {};
    Object.assign(facts, { origin: f.origin, treeSize: f.treeSize, rootHash: f.rootHash, verifierKey: f.verifierKey });
    push('checkpoint', 'pass', cp.message);
  } else {
    push('checkpoint', 'fail', cp?.message ?? 'checkpoint not checked', cp?.code ?? 'NOTE_UNVERIFIED');
  }

  // The manifest: line by line what the entries say.
  const wrong: string[] = [];
  if (parsed.manifest.length !== parsed.items.length) wrong.push(`${parsed.manifest.length} lines for ${parsed.items.length} items`);
  parsed.items.forEach((it, i) => {
    const want = items[i]?.manifest;
    const got = parsed.manifest[i];
    const caseId = (decoded[i]?.meta as { caseId?: string } | undefined)?.caseId;
    if (want === undefined) wrong.push(`item ${it.index}: entry does not decode`);
    else if (caseId !== parsed.caseId) wrong.push(`item ${it.index}: the entry's case id is ${caseId === undefined ? 'absent' : JSON.stringify(caseId)}, not the bundle's`);
    else if (got !== undefined && !sameManifestLine(got, want)) wrong.push(`line ${i} (index ${got.index}) differs from item ${it.index}'s entry`);
  });
  if (wrong.length === 0) push('manifest', 'pass', `${parsed.manifest.length} lines, each exactly what its entry says; every entry is of case ${parsed.caseId}`);
  else push('manifest', 'fail', `manifest does not match the entries: ${wrong.slice(0, 5).join('; ')}${wrong.length > 5 ? `; and ${wrong.length - 5} more` : ''}`, 'RECEIPT_MALFORMED');

  // Items.
  const bad = items.filter((r) => !r.valid);
  facts.validItems = String(items.length - bad.length);
  if (bad.length === 0) push('items', 'pass', `all ${items.length} items verify against the common checkpoint`);
  else {
    const first = bad[0]?.checks.find((c) => c.status === 'fail');
    const what = bad.map((r) => `${r.index} (${r.checks.filter((c) => c.status === 'fail').map((c) => c.id).join(', ') || 'incomplete'})`);
    push('items', 'fail', `${bad.length} of ${items.length} items fail: ${summary(what)}`, first?.code ?? 'PROOF_INVALID');
  }

  // Given content.
  const given = (options.contents?.size ?? 0) + (options.files?.length ?? 0);
  if (given === 0) push('files', 'skip', 'no files given: the content itself was not compared');
  else if (fileProblems.length > 0) push('files', 'fail', `${fileProblems.length} of ${given} given: ${summary(fileProblems)}`, 'DIGEST_MISMATCH');
  else push('files', 'pass', `${given} given, each anchored in the bundle${fileNotes.length > 0 ? `: ${summary(fileNotes)}` : ''}`);

  return done(items);
}

/** A proof document told apart by {@link readProofDocument}. */
export type ProofDocument =
  | { readonly kind: 'receipt'; readonly json: unknown }
  | { readonly kind: 'bundle'; readonly json: unknown }
  | { readonly kind: 'tlog-proof'; readonly text: string };

/**
 * readProofDocument tells a receipt, a bundle and a tlog-proof apart: text starting with the
 * line `c2sp.org/tlog-proof@v1` is a tlog-proof; otherwise JSON text (a leading BOM is ignored) or
 * a JSON value, which is a bundle if its `format` is `guzheng-bundle/v2` or `/v1`, and a receipt otherwise
 * (then checked as one). Throws `INPUT_INVALID` for anything else: unreadable input, not a verdict.
 * Requires: nothing. See contracts-free-ledger/SPEC.md#bundles.
 */
export function readProofDocument(input: unknown): ProofDocument {
  let json = input;
  if (typeof input === 'string') {
    if (input.length > MAX_BUNDLE_SIZE) throw new LedgerError('INPUT_INVALID', `document: ${input.length} characters, want at most ${MAX_BUNDLE_SIZE}`);
    if (input.startsWith(TLOG_PROOF_HEADER + '\n')) return { kind: 'tlog-proof', text: input };
    try {
      json = JSON.parse(input.replace(/^\uFEFF/, ''));
    } catch {
      throw new LedgerError('INPUT_INVALID', `document: neither JSON (a receipt or a bundle) nor a tlog-proof (first line ${TLOG_PROOF_HEADER})`);
    }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new LedgerError('INPUT_INVALID', 'document: want a JSON object (a receipt or a bundle)');
  const format = (json as { format?: unknown }).format;
  return format === BUNDLE_FORMAT || format === BUNDLE_FORMAT_V1 ? { kind: 'bundle', json } : { kind: 'receipt', json };
}

/** The report of any proof document, tagged with its kind: what the CLI prints with --json and the API answers. */
export type DocumentReport = ({ readonly kind: 'receipt' | 'tlog-proof' } & VerificationReport) | ({ readonly kind: 'bundle' } & BundleReport);

/** Options for {@link verifyDocument}. */
export interface DocumentVerifyOptions {
  readonly trustedKeys: ReadonlyArray<string | VerifierKey>;
  /** The exact entry (leaf) bytes: required with a tlog-proof, refused otherwise. */
  readonly entry?: Uint8Array;
  /** Content to compare: at most one for a receipt or tlog-proof; any number for a bundle. */
  readonly files?: readonly LooseContent[];
  /** Pinned TSA root certificates (DER), as in {@link VerifyOptions}. */
  readonly trustedTsaRoots?: readonly Uint8Array[];
  /** The witness policy, as in {@link VerifyOptions}. */
  readonly policy?: Policy;
}

/**
 * verifyDocument verifies a receipt, bundle or tlog-proof read by {@link readProofDocument}, with
 * the pipeline of SPEC.md#verification (and SPEC.md#bundles for a bundle).
 * Requires: at least one pinned key. Throws `INPUT_INVALID` for a caller error (a tlog-proof
 * without entry bytes, entry bytes with another kind, several files for one receipt) and
 * `KEY_MALFORMED` for a bad pinned key; a bad document is a report with `valid: false`.
 * See contracts-free-ledger/SPEC.md#bundles.
 *
 * @example
 * const report = await verifyDocument(readProofDocument(text), { trustedKeys: [logKey], files: [{ label: 'decision.pdf', content: { bytes: pdf } }] });
 * console.log(report.kind, report.valid);
 */
export async function verifyDocument(doc: ProofDocument, options: DocumentVerifyOptions): Promise<DocumentReport> {
  const files = options.files ?? [];
  const tsa = { ...(options.trustedTsaRoots === undefined ? {} : { trustedTsaRoots: options.trustedTsaRoots }), ...(options.policy === undefined ? {} : { policy: options.policy }) };
  if (doc.kind === 'bundle') {
    if (options.entry !== undefined) throw new LedgerError('INPUT_INVALID', 'entry: entry bytes go with a tlog-proof, not a bundle');
    return { kind: 'bundle', ...(await verifyBundle(doc.json, { trustedKeys: options.trustedKeys, files, ...tsa })) };
  }
  if (files.length > 1) throw new LedgerError('INPUT_INVALID', `files: ${files.length} given, a ${doc.kind} proves one entry: give at most one`);
  const content = files[0]?.content;
  const o = { trustedKeys: options.trustedKeys, ...tsa, ...(content !== undefined ? { content } : {}) };
  if (doc.kind === 'receipt') {
    if (options.entry !== undefined) throw new LedgerError('INPUT_INVALID', 'entry: entry bytes go with a tlog-proof; a receipt carries its entry');
    return { kind: 'receipt', ...(await verifyReceipt(doc.json, o)) };
  }
  if (options.entry === undefined) throw new LedgerError('INPUT_INVALID', 'entry: a tlog-proof needs the exact entry bytes');
  return { kind: 'tlog-proof', ...(await verifyTlogProof(doc.text, options.entry, o)) };
}
