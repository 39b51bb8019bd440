/**
 * `guzheng verify`: check a receipt, a case bundle or a tlog-proof OFFLINE against a pinned log
 * key, optionally with the original file(s) or record(s); or, with --url, ask a service
 * (POST /v1/verify, or GET /v1/verify/{alg}/{hex} when only a file is given). Files never leave
 * the machine: only their digest is sent, made with the log's hash (SPEC.md#crypto-suites:
 * SHA-256 for a `c2sp` log, SM3 for a `gm` log), which the pinned key says (else the service's
 * GET /v1/log). See docs/verify.md.
 *
 * Exit codes: 0 valid; 1 invalid (any check failed, or the service reports the log no longer
 * holds the entry or is inconsistent); 2 usage error, unreadable input, or the service could not
 * be asked.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { fromUtf8, toBase64 } from '../core/bytes.js';
import { digestBytes, digestRecord, type Digest, type DigestAlg } from '../core/entry/index.js';
import { isLedgerError } from '../core/errors.js';
import { parseVerifierKey } from '../core/note.js';
import { C2SP, GM, suiteOfVerifier, type CryptoSuite } from '../core/suite.js';
import { parsePolicy, type Policy } from '../core/policy.js';
import { parseCertificatesPem } from '../verifier/timestamp.js';
import {
  BUNDLE_CHECK_TITLES,
  CHECK_TITLES,
  readProofDocument,
  verifyDocument,
  verifyReceipt,
  type BundleCheckId,
  type Check,
  type CheckId,
  type CheckStatus,
  type Content,
  type DocumentReport,
  type LooseContent,
  type ProofDocument,
  type VerificationReport,
} from '../verifier/index.js';
import { CliError, request } from './client.js';

/** Options of `guzheng verify` as commander parses them. */
interface VerifyCliOptions {
  receipt?: string;
  file: string[];
  record: string[];
  digest: string[];
  entry?: string;
  key: string[];
  tsaCa: string[];
  policy?: string;
  witness: string[];
  quorum?: string;
  json?: boolean;
  url?: string;
}

/** What the service adds to a report (POST /v1/verify). */
interface Online {
  checkpoint: string;
  treeSize: string;
  logStillHolds?: boolean;
  notHeld?: string[];
  consistency?: { from: string; to: string; path: string[]; ok: boolean };
}

const SYMBOL: Record<CheckStatus, string> = { pass: '✓', fail: '✗', skip: '–' };

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function usage(message: string): never {
  throw new CliError(message, 2);
}

function readBytes(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path === '-' ? 0 : path));
  } catch (err) {
    return usage(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

function readText(path: string, what: string): string {
  try {
    return fromUtf8(readBytes(path, what), what);
  } catch (err) {
    if (err instanceof CliError) throw err;
    return usage(`${what} ${path} is not UTF-8 text`);
  }
}

/**
 * pinnedKeys reads each --key: a verifier key string, or a file holding one key per line (blank
 * lines and lines starting with # are ignored). A bad key is a usage error.
 */
export function pinnedKeys(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    const isFile = existsSync(v) && statSync(v).isFile();
    const keys = isFile
      ? readText(v, 'key file')
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l !== '' && !l.startsWith('#'))
      : [v.trim()];
    if (keys.length === 0) usage(`--key ${v}: the file holds no key`);
    for (const k of keys) {
      try {
        out.push(parseVerifierKey(k).text);
      } catch (err) {
        if (!isLedgerError(err)) throw err;
        usage(`--key ${isFile ? `${v} holds` : v.slice(0, 80)}${isFile ? ' ' + JSON.stringify(k.slice(0, 80)) : ''}: not a verifier key (want name+keyid+base64, as "guzheng serve" prints) nor a readable file: ${err.message}`);
      }
    }
  }
  return out;
}

/** tsaRoots reads each --tsa-ca PEM bundle into DER certificates; an unreadable or empty bundle is a usage error. */
export function tsaRoots(paths: readonly string[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of paths) {
    let certs: Uint8Array[];
    try {
      certs = parseCertificatesPem(readText(p, 'TSA root bundle'));
    } catch (err) {
      if (isLedgerError(err)) usage(`--tsa-ca ${p}: ${err.message}`);
      throw err;
    }
    if (certs.length === 0) usage(`--tsa-ca ${p}: no certificate in the file (want PEM "-----BEGIN CERTIFICATE-----" blocks)`);
    out.push(...certs);
  }
  return out;
}

/** The witness options shared by verify, audit and monitor. */
export interface PolicyFlags {
  policy?: string;
  witness?: string[];
  quorum?: string;
}

/**
 * loadPolicy builds the witness policy from `--policy FILE` (C2SP tlog-policy), or from
 * `--witness VKEY` (repeatable) with `--quorum K` (default: all of them). Undefined when none is
 * given. A bad policy or key is a usage error (exit 2).
 */
export function loadPolicy(o: PolicyFlags): Policy | undefined {
  const witnesses = o.witness ?? [];
  if (o.policy !== undefined && (witnesses.length > 0 || o.quorum !== undefined)) usage('give either --policy FILE or --witness VKEY … with --quorum K, not both');
  let text: string;
  if (o.policy !== undefined) text = readText(o.policy, 'witness policy');
  else if (witnesses.length > 0) {
    const k = o.quorum ?? String(witnesses.length);
    if (!/^[1-9][0-9]*$/.test(k) || Number(k) > witnesses.length) usage(`--quorum ${k}: want an integer from 1 to ${witnesses.length} (the number of --witness keys)`);
    text = witnesses.map((w, i) => `witness w${i + 1} ${w.trim()}\n`).join('') + `group given ${k} ${witnesses.map((_, i) => `w${i + 1}`).join(' ')}\nquorum given\n`;
  } else {
    if (o.quorum !== undefined) usage('--quorum needs --witness keys');
    return undefined;
  }
  try {
    return parsePolicy(text);
  } catch (err) {
    if (isLedgerError(err)) usage(`${o.policy !== undefined ? `--policy ${o.policy}` : '--witness'}: ${err.message}`);
    throw err;
  }
}

/**
 * The content the user gave: files (bytes), records (JSON) and digests, each with a label. A
 * `--digest` is `sha256:<hex>`, `sm3:<hex>` or bare hex, then of `alg`: the log's content digest
 * algorithm (SPEC.md#crypto-suites).
 */
function contents(o: VerifyCliOptions, alg: DigestAlg): LooseContent[] {
  const out: LooseContent[] = [];
  for (const f of o.file) out.push({ label: f, content: { bytes: readBytes(f, 'file') } });
  for (const r of o.record) {
    let record: unknown;
    try {
      record = JSON.parse(readText(r, 'record'));
    } catch (err) {
      if (err instanceof CliError) throw err;
      usage(`record ${r} is not valid JSON: ${(err as Error).message}`);
    }
    out.push({ label: r, content: { record } });
  }
  for (const d of o.digest) {
    const m = /^(?:(sha256|sm3):)?([0-9a-f]{64})$/.exec(d);
    if (m === null) usage(`--digest ${d}: want 64 lowercase hex digits (the content's ${alg === 'sm3' ? 'SM3' : 'SHA-256'}), optionally after sha256: or sm3:`);
    const given = (m[1] as DigestAlg | undefined) ?? alg;
    const hex = m[2] as string;
    out.push({ label: `${given}:${hex}`, content: { digest: { alg: given, hex } } });
  }
  return out;
}

/** digestOf hashes content as the log does: with its content digest algorithm `alg`. */
function digestOf(c: Content, alg: DigestAlg): Digest {
  if ('bytes' in c) return digestBytes(c.bytes, alg);
  if ('record' in c) {
    try {
      return digestRecord(c.record, alg);
    } catch (err) {
      if (isLedgerError(err)) usage(`the record has no canonical JSON form: ${err.message}`);
      throw err;
    }
  }
  return c.digest;
}

function title(id: CheckId): string {
  return CHECK_TITLES[id].en;
}

function checkLine(c: Check | { id: BundleCheckId; status: CheckStatus; code?: string; message: string }, name: string, indent: string): string {
  return `${indent}${SYMBOL[c.status]} ${name}: ${c.message}${c.status === 'fail' && c.code ? ` [${c.code}]` : ''}`;
}

function failedIds(r: { checks: ReadonlyArray<{ id: string; status: CheckStatus; code?: string }> }): string {
  return r.checks
    .filter((c) => c.status === 'fail')
    .map((c) => `${c.id}${c.code ? ` (${c.code})` : ''}`)
    .join(', ');
}

function describeEntry(r: VerificationReport): string {
  const e = r.facts.entry;
  if (e === undefined) return `entry ${r.facts.index ?? '?'}`;
  const name = (e.meta as { name?: string }).name;
  return `entry ${r.facts.index} (${e.type}${name !== undefined ? ` "${name}"` : ''}, ${e.digest.alg} ${e.digest.hex})`;
}

/** times says each time the report shows and who vouches for it (DESIGN.md §5: three kinds of time, never mixed up). */
function times(r: VerificationReport): string[] {
  const f = r.facts;
  const out = [`  received  ${f.entry?.receivedAt ?? '?'}  (log clock, signed by the log)`];
  if (f.blockTime !== undefined) out.push(`  sealed    ${f.blockTime}  (log clock, signed by the log; block ${f.blockHeight})`);
  else if (f.blockTimeUnsigned !== undefined) out.push(`  sealed    ${f.blockTimeUnsigned}  (NOT verified: format-1 block ${f.blockHeight}, sealed before blocks were signed)`);
  const ts = r.checks.find((c) => c.id === 'timestamp');
  const t = f.timestamp?.tokens[0];
  if (ts?.status === 'pass' && t !== undefined) {
    out.push(`  可信时间   ${t.genTime}  (independent: RFC 3161 TSA ${t.tsa}, serial ${t.serial}, policy ${t.policy}${t.accuracy === undefined ? '' : `, accuracy ±${t.accuracy} s`}): the entry existed no later than this`);
  } else if (t?.genTime !== undefined) {
    out.push(`  可信时间   ${t.genTime}  (NOT verified: ${ts?.status === 'fail' ? 'the token does not verify' : 'no TSA root pinned; give --tsa-ca'}; claimed by ${t.tsa ?? 'an unnamed TSA'})`);
  } else {
    out.push(`  可信时间   none  (${ts?.message ?? 'no time stamp'})`);
  }
  for (const w of f.cosignatures?.witnesses ?? []) {
    if (w.cosigned) out.push(`  witness   ${w.time ?? '(no time)'}  (independent: witness ${w.name} had seen this checkpoint by then)`);
  }
  return out;
}

function receiptVerdict(r: VerificationReport): string {
  if (!r.valid) return `INVALID: failed ${failedIds(r) || 'a required check did not run'}`;
  const f = r.facts;
  const block = f.blockHeight !== undefined ? `, sealed in block ${f.blockHeight}` : '';
  const content = r.checks.find((c) => c.id === 'content')?.status === 'pass' ? 'The content matches the anchored digest.' : 'The content itself was not compared (give --file, --record or --digest).';
  return [`VALID: ${describeEntry(r)} is in log ${f.origin} at tree size ${f.treeSize}${block}. ${content}`, 'Times:', ...times(r)].join('\n');
}

/** formatReport renders a report for people: every check with ✓ (pass), ✗ (fail) or – (skipped), then a one-line verdict. */
export function formatReport(report: DocumentReport): string {
  const lines: string[] = [];
  if (report.kind !== 'bundle') {
    const format = report.checks.find((c) => c.id === 'format');
    lines.push(`Guzheng verification of a ${report.kind === 'receipt' ? `receipt (${format?.status === 'pass' ? format.message : 'guzheng-receipt'})` : 'tlog-proof (c2sp.org/tlog-proof@v1)'}`);
    for (const c of report.checks) lines.push(checkLine(c, title(c.id), '  '));
    lines.push('', receiptVerdict(report));
    return lines.join('\n') + '\n';
  }
  const f = report.facts;
  lines.push(`Guzheng verification of an evidence bundle${f.caseId !== undefined ? ` for case ${f.caseId}` : ''}`);
  for (const c of report.checks) lines.push(checkLine(c, BUNDLE_CHECK_TITLES[c.id].en, '  '));
  if (report.items.length > 0) lines.push('', `Items (${f.validItems ?? '0'} of ${f.itemCount ?? report.items.length} valid):`);
  for (const item of report.items) {
    const m = item.manifest;
    const what = m !== undefined ? `${m.type}${m.name !== undefined ? ` "${m.name}"` : ''}, ${m.digest.alg} ${m.digest.hex}, received ${m.receivedAt}` : 'entry does not decode';
    lines.push(`  ${item.valid ? SYMBOL.pass : SYMBOL.fail} #${item.index} ${what}`);
    if (item.valid) lines.push(`      ${item.checks.map((c) => `${SYMBOL[c.status]} ${c.id}`).join('  ')}`);
    else for (const c of item.checks) lines.push(checkLine(c, title(c.id), '      '));
  }
  lines.push('');
  if (report.valid) {
    const files = report.checks.find((c) => c.id === 'files')?.status === 'pass' ? 'every given file is an anchored item' : 'the files themselves were not compared (give --file for each)';
    lines.push(`VALID: all ${f.itemCount} items of case ${f.caseId} are in log ${f.origin} at tree size ${f.treeSize}; ${files}.`);
  } else {
    const bad = report.items.filter((i) => !i.valid).map((i) => `#${i.index}${i.manifest?.name !== undefined ? ` "${i.manifest.name}"` : ''} failed ${failedIds(i) || 'a required check'}`);
    const checks = report.checks.filter((c) => c.status === 'fail').map((c) => c.id);
    lines.push(`INVALID: ${[...bad.slice(0, 10), ...(bad.length > 10 ? [`${bad.length - 10} more items failed`] : []), `failed bundle checks: ${checks.join(', ')}`].join('; ')}`);
  }
  return lines.join('\n') + '\n';
}

function formatOnline(url: string, o: Online): string {
  const lines = [`Service ${url} (pinned to its own key, see checkpoint facts):`];
  if (o.logStillHolds !== undefined) {
    lines.push(`  ${o.logStillHolds ? SYMBOL.pass : SYMBOL.fail} the log still holds ${o.logStillHolds ? 'exactly these entry bytes' : `other bytes (or nothing) at index ${o.notHeld?.join(', ')}`}`);
  }
  if (o.consistency !== undefined) {
    const c = o.consistency;
    lines.push(`  ${c.ok ? SYMBOL.pass : SYMBOL.fail} the document's checkpoint (size ${c.from}) ${c.ok ? 'is consistent with' : 'is NOT proven consistent with'} the log's latest (size ${c.to})`);
  } else {
    lines.push(`  – consistency with the latest checkpoint (size ${o.treeSize}) not checked: the document's checkpoint did not verify`);
  }
  return lines.join('\n') + '\n';
}

function reportValid(r: DocumentReport): boolean {
  return r.valid;
}

/**
 * suiteOf returns the crypto suite of the log the user means: that of the key they pinned (the
 * verifier decides with it too: SPEC.md#crypto-suites), else what the service says of itself in
 * GET /v1/log (`c2sp` if it does not say: a service from before the gm suite).
 */
async function suiteOf(keys: readonly string[], url: string | undefined): Promise<CryptoSuite> {
  const pinned = keys[0];
  if (pinned !== undefined) return suiteOfVerifier(pinned);
  if (url === undefined) return C2SP;
  const log = await ask<{ suite?: unknown }>(url, 'GET', '/v1/log');
  return log.suite === 'gm' ? GM : C2SP;
}

/** Local, offline verification. */
async function verifyLocally(doc: ProofDocument, o: VerifyCliOptions, keys: string[]): Promise<DocumentReport> {
  if (keys.length === 0) usage('give --key with the log verifier key you trust (a key string or a file): offline verification pins it');
  const entry = o.entry !== undefined ? readBytes(o.entry, 'entry') : undefined;
  const roots = tsaRoots(o.tsaCa);
  const policy = loadPolicy(o);
  try {
    return await verifyDocument(doc, { trustedKeys: keys, trustedTsaRoots: roots, ...(policy !== undefined ? { policy } : {}), files: contents(o, suiteOfVerifier(keys[0] as string).digestAlg), ...(entry !== undefined ? { entry } : {}) });
  } catch (err) {
    if (isLedgerError(err, 'INPUT_INVALID', 'KEY_MALFORMED')) usage(err.message.replace(/^entry: /, '--entry: ').replace(/^files: /, 'files: '));
    throw err;
  }
}

async function ask<T>(url: string, method: string, path: string, body?: unknown): Promise<T> {
  try {
    return (await request({ url }, method, path, body === undefined ? undefined : { json: body })) as T;
  } catch (err) {
    if (err instanceof CliError) throw new CliError(err.message, 2);
    throw err;
  }
}

/**
 * Online verification of a document through POST /v1/verify: only digests are sent.
 *
 * The service checks time stamps against the TSA roots it pins and cosignatures against its own
 * witness policy. When the user pins their own (--tsa-ca, --policy, --witness), those must decide,
 * not the service's: the document is then also verified on this machine against the user's log
 * key, roots and policy, and that local report is the one shown and judged; the service adds only
 * what the log alone can say (still held, consistent with its latest checkpoint). Local checks
 * need the log key the user trusts, so --key is then required (as for the lookup by digest).
 */
async function verifyOnline(url: string, docText: string, doc: ProofDocument, o: VerifyCliOptions, keys: string[]): Promise<void> {
  // Hashed here as the log hashes (SPEC.md#crypto-suites): the pinned key's suite, else the service's.
  // (The service is asked only when there is content to hash and no key pinned.)
  const alg = o.file.length + o.record.length + o.digest.length > 0 ? (await suiteOf(keys, url)).digestAlg : C2SP.digestAlg;
  const given = contents(o, alg);
  if (doc.kind !== 'bundle' && given.length > 1) usage(`a ${doc.kind} proves one entry: give at most one --file, --record or --digest`);
  const entry = o.entry !== undefined ? readBytes(o.entry, 'entry') : undefined;
  if (doc.kind === 'tlog-proof' && entry === undefined) usage('a tlog-proof needs --entry with the exact entry bytes');
  if (doc.kind !== 'tlog-proof' && entry !== undefined) usage(`--entry goes with a tlog-proof; a ${doc.kind} carries its entries`);
  const ownAnchors = o.tsaCa.length > 0 || o.policy !== undefined || o.witness.length > 0;
  if (ownAnchors && keys.length === 0) {
    usage('--tsa-ca, --policy or --witness with --url: the document is then checked on this machine against your TSA roots and witness policy, which needs the log key you trust: give --key (or leave out --url to verify offline)');
  }
  // Before asking the service: a bad root bundle or policy is a usage error, whatever it answers.
  const local = ownAnchors ? await verifyLocally(doc, o, keys) : undefined;
  const digests = given.map((g) => ({ name: basename(g.label).slice(0, 255) || 'file', digest: digestOf(g.content, alg) }));
  const body = {
    receipt: docText,
    ...(entry !== undefined ? { entry: toBase64(entry) } : {}),
    ...(doc.kind === 'bundle' ? (digests.length > 0 ? { files: digests } : {}) : digests[0] !== undefined ? { digest: digests[0].digest } : {}),
  };
  const answer = await ask<DocumentReport & { online: Online }>(url, 'POST', '/v1/verify', body);
  const { online, ...service } = answer;
  const report = local ?? (service as DocumentReport);
  const serviceKey = service.facts.verifierKey;
  const keyOk = keys.length === 0 || (serviceKey !== undefined && keys.includes(serviceKey));
  if (o.json) {
    // The local report in the usual shape, with what the service said beside it.
    process.stdout.write(JSON.stringify(local !== undefined ? { ...local, online, service } : answer, null, 2) + '\n');
  } else {
    process.stdout.write(formatReport(report));
    if (local !== undefined) {
      const anchors = [o.tsaCa.length > 0 ? 'the TSA roots you pinned (--tsa-ca)' : '', o.policy !== undefined || o.witness.length > 0 ? 'your witness policy' : ''].filter((x) => x !== '').join(' and ');
      const said = service.valid ? 'VALID' : `INVALID: failed ${failedIds(service as DocumentReport) || 'a required check'}`;
      process.stdout.write(`\nChecked on this machine against the pinned log key and ${anchors}; the service's own check (its key, TSA roots and policy) says ${said}.\n`);
    }
    process.stdout.write('\n' + formatOnline(url, online));
    if (!keyOk) process.stdout.write(`  ${SYMBOL.fail} the service verified with key ${serviceKey ?? '(none)'}, not the key you pinned\n`);
  }
  const ok = reportValid(report) && online.logStillHolds !== false && online.consistency?.ok !== false && keyOk;
  if (!ok) {
    const why = !reportValid(report) ? (local !== undefined ? `failed ${failedIds(report) || 'a required check'} (checked locally)` : `as reported by ${url}`) : `as reported by ${url}`;
    throw new CliError(`INVALID (${why})${keyOk ? '' : ': the service key is not the pinned key'}`, 1);
  }
}

interface DigestAnswer {
  digest: Digest;
  anchored: boolean;
  checkpoint: string;
  treeSize: string;
  verifierKey: string;
  anchorings: Array<{ index: string; type: string; receivedAt: string; leafHash: string; receipt: unknown }>;
  pending: string[];
  truncated?: boolean;
}

/** Online lookup by digest (GET /v1/verify/{alg}/{hex}); every receipt in the answer is verified offline. */
async function lookupOnline(url: string, o: VerifyCliOptions, keys: string[]): Promise<void> {
  // The lookup is by the digest the log keeps: made with the pinned key's suite (SPEC.md#crypto-suites).
  const alg = (await suiteOf(keys, undefined)).digestAlg;
  const given = contents(o, alg);
  if (given.length !== 1) usage('without --receipt, give exactly one --file, --record or --digest to look up');
  if (keys.length === 0) usage('give --key: the answer is checked offline against the log key you trust');
  const content = (given[0] as LooseContent).content;
  const digest = digestOf(content, alg);
  const answer = await ask<DigestAnswer>(url, 'GET', `/v1/verify/${digest.alg}/${digest.hex}`);
  const roots = tsaRoots(o.tsaCa);
  const policy = loadPolicy(o);
  const reports = await Promise.all(answer.anchorings.map(async (a) => {
    const r = await verifyReceipt(a.receipt, { trustedKeys: keys, trustedTsaRoots: roots, ...(policy !== undefined ? { policy } : {}), content });
    const sameCheckpoint = (a.receipt as { checkpoint?: unknown }).checkpoint === answer.checkpoint;
    const sameIndex = r.facts.index === a.index;
    return { index: a.index, valid: r.valid && sameCheckpoint && sameIndex, report: r };
  }));
  const valid = answer.anchored && reports.length > 0 && reports.every((r) => r.valid);
  if (o.json) {
    process.stdout.write(JSON.stringify({ kind: 'digest', digest, anchored: answer.anchored, valid, treeSize: answer.treeSize, anchorings: reports, pending: answer.pending }, null, 2) + '\n');
  } else {
    const lines = [`Guzheng lookup of ${digest.alg} ${digest.hex} at ${url}`];
    if (!answer.anchored) lines.push('  ✗ never anchored in this log');
    for (const r of reports) {
      lines.push(`  ${r.valid ? SYMBOL.pass : SYMBOL.fail} anchoring at index ${r.index}:`);
      for (const c of r.report.checks) lines.push(checkLine(c, title(c.id), '      '));
    }
    if (answer.pending.length > 0) lines.push(`  – anchored at ${answer.pending.join(', ')} but not yet covered by a checkpoint: ask again shortly`);
    lines.push('', valid ? `VALID: anchored ${reports.length} time(s); every answer verifies offline against the pinned key (checkpoint size ${answer.treeSize}).` : `INVALID: ${answer.anchored ? 'an anchoring does not verify against the pinned key' : 'this content was never anchored in this log'}`);
    process.stdout.write(lines.join('\n') + '\n');
  }
  if (!valid) throw new CliError(answer.anchored ? 'INVALID: an anchoring does not verify' : 'INVALID: never anchored in this log', 1);
}

/** registerVerify adds `guzheng verify` to the program. */
export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('verify a receipt, case bundle or tlog-proof offline against a pinned log key (exit 0 valid, 1 invalid, 2 usage/unreadable)')
    .option('-r, --receipt <path>', 'receipt (JSON), case bundle (JSON) or tlog-proof (text); - for stdin')
    .option('-f, --file <path>', 'the original file (repeat for the files of a bundle)', collect, [])
    .option('--record <path>', 'the original JSON record (repeatable for a bundle)', collect, [])
    .option('--digest <hex>', "the content's digest instead of the file: hex of the log's hash (SHA-256, or SM3 for a gm log), or sha256:<hex> / sm3:<hex> (repeatable for a bundle)", collect, [])
    .option('-e, --entry <path>', 'the exact entry bytes (with a tlog-proof)')
    .option('-k, --key <key-or-file>', 'the log verifier key you trust, or a file holding it (repeatable)', collect, [])
    .option('--tsa-ca <pem-file>', 'root certificates (PEM) of the time-stamping authorities you trust (repeatable); without it time stamps are shown as unverified', collect, [])
    .option('--policy <file>', 'witness policy (C2SP tlog-policy): the checkpoint must carry valid cosignatures meeting its quorum')
    .option('--witness <vkey>', 'a witness verifier key you trust (repeatable; with --quorum)', collect, [])
    .option('--quorum <k>', 'with --witness: how many of those witnesses must have cosigned (default all)')
    .option('--json', 'print the structured report')
    .option('-u, --url <url>', 'ask this service instead of checking locally (only digests are sent)')
    .action(async (o: VerifyCliOptions) => {
      const keys = pinnedKeys(o.key);
      if (o.receipt === undefined) {
        if (o.url !== undefined) return lookupOnline(o.url.replace(/\/+$/, ''), o, keys);
        usage('give --receipt (a receipt, bundle or tlog-proof), or --url with --file to look the file up');
      }
      const text = readText(o.receipt, 'receipt');
      let doc: ProofDocument;
      try {
        doc = readProofDocument(text);
      } catch (err) {
        if (isLedgerError(err, 'INPUT_INVALID')) usage(`${o.receipt}: ${err.message.replace(/^document: /, '')}`);
        throw err;
      }
      if (o.url !== undefined) return verifyOnline(o.url.replace(/\/+$/, ''), text, doc, o, keys);
      const report = await verifyLocally(doc, o, keys);
      process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
      if (!report.valid) throw new CliError(`INVALID: failed ${failedIds(report) || 'a required check'}${report.kind === 'bundle' ? ` (items: ${report.items.filter((i) => !i.valid).map((i) => `#${i.index}`).join(', ') || 'none'})` : ''}`, 1);
    });
}
