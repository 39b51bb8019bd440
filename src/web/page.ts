/**
 * The court verification page's script (docs/verify-page.md), bundled by scripts/build-web.ts
 * into one inline IIFE. It reads the file, the proof document, the pinned key, the pinned TSA
 * roots and the pinned witness policy from the page, hashes the file locally in chunks
 * (src/web/hash.ts) with the pinned key's hash (SHA-256 for a `c2sp` log, SM3 for a `gm` log:
 * src/web/suite.ts), runs src/verifier exactly as the CLI does, and writes the verdict, every
 * check, the times (with who vouches for each) and the witnesses' cosignatures in Chinese and
 * English (elements built by src/web/view.ts). It makes no network request: the file never leaves
 * the machine.
 */
import type { DigestAlg } from '../core/entry/schema.js';
import type { Policy } from '../core/policy.js';
import type { CryptoSuite } from '../core/suite.js';
import { LedgerError, verifyBundle, verifyReceipt, verifyTlogProof, type BundleReport, type ReportFacts, type VerificationReport } from '../verifier/index.js';
import { explainBundleReport, explainReport, type Bilingual } from './explain.js';
import { digestBlob } from './hash.js';
import { certificateFileText, classifyProofDocument, describeTsaRoots, expectedDigestFromFragment, parsePinnedKeys, parsePinnedTsaRoots, type ProofDocument } from './input.js';
import { algName, contentDigestAlg, digestAlgsToCompute, entryDigestAlg, pinnedSuites, SUITE_WORDS } from './suite.js';
import { browser, type DomDetails, type DomElement, type DomFile, type DomInput, type DomProgress } from './dom.js';
import { SERVED_CONFIG_ID, type ServedConfig } from './template.js';
import { reportTimes } from './times.js';
import { bilingual, checkItem, inline, timesTable, witnessesTable, type CheckLine } from './view.js';
import { describePolicy, parsePinnedPolicy, policyFileText, POLICY_MALFORMED_ERROR, witnessesView } from './witnesses.js';

const globals = browser();
const { document, location, Event } = globals;

function el<T extends DomElement = DomElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`verify page: no #${id}`);
  return e as T;
}

const fileInput = el<DomInput>('file');
const receiptInput = el<DomInput>('receipt');
const receiptText = el<DomInput>('receipt-text');
const entryInput = el<DomInput>('entry');
const keyText = el<DomInput>('key');
const tsaFileInput = el<DomInput>('tsa-file');
const tsaText = el<DomInput>('tsa-roots');
const policyFileInput = el<DomInput>('policy-file');
const policyText = el<DomInput>('policy');
const verifyButton = el<DomInput>('verify');
const statusLine = el('status');
const progress = el<DomProgress>('progress');
const errorBox = el('error');
const result = el('result');

function setStatus(b: Bilingual | undefined): void {
  statusLine.replaceChildren();
  if (b) bilingual(statusLine, b);
}

function showError(b: Bilingual | undefined, detail?: string): void {
  errorBox.replaceChildren();
  errorBox.hidden = b === undefined;
  if (b === undefined) return;
  bilingual(errorBox, b, 'p');
  if (detail) {
    const d = document.createElement('p');
    d.className = 'detail';
    d.textContent = detail;
    errorBox.append(d);
  }
}

// --- the pinned key and TSA roots: prefilled only when a log served this page (never from a saved copy) ---

function servedConfig(): ServedConfig | undefined {
  const node = document.getElementById(SERVED_CONFIG_ID);
  if (node === null || !/^https?:$/.test(location.protocol)) return undefined;
  try {
    const v = JSON.parse(node.textContent ?? 'null') as ServedConfig | null;
    return v && typeof v.verifierKey === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

const served = servedConfig();
if (served) {
  keyText.value = served.verifierKey;
  const note = el('key-note');
  note.hidden = false;
  el('key-origin').textContent = served.origin;
  if (typeof served.tsaRoots === 'string' && served.tsaRoots !== '') {
    tsaText.value = served.tsaRoots;
    el('tsa-note').hidden = false;
    el('tsa-origin').textContent = served.origin;
  }
  if (typeof served.policy === 'string' && served.policy !== '') {
    policyText.value = served.policy;
    el('policy-note').hidden = false;
    el('policy-origin').textContent = served.origin;
  }
}

// --- the pinned key's crypto suite, said under the key field (SPEC.md#crypto-suites) ---

/** Say under the key field which suite the pinned key(s) stand for, or that a key does not parse. */
function describeKeyField(): void {
  const info = el('key-info');
  info.replaceChildren();
  delete info.dataset.suite;
  const keys = parsePinnedKeys(keyText.value);
  if (keys.length === 0) {
    delete info.dataset.ok;
    return;
  }
  let suites: CryptoSuite[];
  try {
    suites = pinnedSuites(keys);
  } catch (err) {
    bilingual(info, { zh: '公钥格式错误：', en: 'Malformed key: ' });
    const detail = document.createElement('span');
    detail.textContent = err instanceof Error ? err.message : String(err);
    info.append(detail);
    info.dataset.ok = 'false';
    return;
  }
  info.dataset.ok = 'true';
  info.dataset.suite = suites.map((x) => x.id).join(' ');
  for (const x of suites) bilingual(info, SUITE_WORDS[x.id].meaning, 'p');
}
// On input, for the same reason as the TSA field below.
keyText.addEventListener('input', () => describeKeyField());
if (keyText.value !== '') describeKeyField();

// --- the digest a certificate's QR code points at (#sha256=… or, for a gm log, #sm3=…) ---

const expected = expectedDigestFromFragment(location.hash);
if (expected) {
  el('expected').hidden = false;
  el('expected-alg').textContent = algName(expected.alg);
  el('expected-hex').textContent = expected.hex;
}

// --- drag and drop onto the two drop zones ---

for (const [zoneId, input] of [
  ['file-drop', fileInput],
  ['receipt-drop', receiptInput],
  ['tsa-drop', tsaFileInput],
  ['policy-drop', policyFileInput],
] as const) {
  const zone = el(zoneId);
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const files = e.dataTransfer?.files;
    if (files && files.length > 0) {
      input.files = files;
      input.dispatchEvent(new Event('change'));
    }
  });
}

function describeFiles(input: DomInput, infoId: string): void {
  const files = input.files;
  const parts: string[] = [];
  for (let i = 0; files && i < files.length; i++) {
    const f = files[i];
    if (f) parts.push(`${f.name} · ${f.size.toLocaleString('en-US')} bytes`);
  }
  el(infoId).textContent = parts.join('\n');
}
fileInput.addEventListener('change', () => describeFiles(fileInput, 'file-info'));
receiptInput.addEventListener('change', async () => {
  describeFiles(receiptInput, 'receipt-info');
  const f = receiptInput.files?.[0];
  if (f) {
    const doc = classifyProofDocument(await f.text());
    el<DomDetails>('entry-section').open = doc.kind === 'tlog-proof';
  }
});

// --- the pinned TSA roots: a picked or dropped file fills the PEM field; the field says what it pins ---

/** Say under the TSA-roots field which roots it pins, or that it does not parse. */
function describeTsaField(): void {
  const info = el('tsa-info');
  info.replaceChildren();
  let names: string[];
  try {
    names = describeTsaRoots(parsePinnedTsaRoots(tsaText.value));
  } catch (err) {
    bilingual(info, { zh: '不是有效的 PEM 证书：', en: 'Not valid PEM certificates: ' });
    const detail = document.createElement('span');
    detail.textContent = err instanceof Error ? err.message : String(err);
    info.append(detail);
    info.dataset.ok = 'false';
    return;
  }
  info.dataset.ok = 'true';
  if (names.length > 0) bilingual(info, { zh: `已固定 ${names.length} 个根证书：${names.join('；')}`, en: `${names.length} root(s) pinned: ${names.join('; ')}` });
}

tsaFileInput.addEventListener('change', async () => {
  const files = tsaFileInput.files;
  const texts: string[] = [];
  try {
    for (let i = 0; files && i < files.length; i++) {
      const f = files[i];
      if (f) texts.push(certificateFileText(new Uint8Array(await f.arrayBuffer())));
    }
  } catch (err) {
    showError({ zh: '无法读取根证书文件：应为 PEM 或 DER 格式的证书。', en: 'The root certificate file cannot be read: want a PEM or DER certificate.' }, err instanceof Error ? err.message : String(err));
    return;
  }
  if (texts.length === 0) return;
  tsaText.value = texts.map((t) => (t.endsWith('\n') ? t : `${t}\n`)).join('');
  describeTsaField();
});
// On input, not on change: a change fires on blur, and the info line changing height then would
// move the Verify button under the pointer between mousedown and mouseup.
tsaText.addEventListener('input', () => describeTsaField());
if (tsaText.value !== '') describeTsaField();

// --- the pinned witness policy: a picked or dropped file fills the field; the field says what it requires ---

/** Say under the policy field which witnesses and quorum it pins, or why it does not parse. */
function describePolicyField(): void {
  const info = el('policy-info');
  info.replaceChildren();
  let policy: Policy | undefined;
  try {
    policy = parsePinnedPolicy(policyText.value);
  } catch (err) {
    bilingual(info, { zh: '见证策略格式错误：', en: 'Malformed witness policy: ' });
    const detail = document.createElement('span');
    detail.textContent = err instanceof LedgerError ? `${err.code}: ${err.message}` : String(err);
    info.append(detail);
    info.dataset.ok = 'false';
    return;
  }
  info.dataset.ok = 'true';
  if (policy !== undefined) bilingual(info, describePolicy(policy));
}

policyFileInput.addEventListener('change', async () => {
  const f = policyFileInput.files?.[0];
  if (!f) return;
  try {
    policyText.value = policyFileText(new Uint8Array(await f.arrayBuffer()));
  } catch (err) {
    showError(POLICY_MALFORMED_ERROR, err instanceof LedgerError ? `${err.code}: ${err.message}` : String(err));
    return;
  }
  describePolicyField();
});
// On input, for the same reason as the TSA field.
policyText.addEventListener('input', () => describePolicyField());
if (policyText.value !== '') describePolicyField();

// --- rendering a report ---

/** A file the user gave, hashed here with each algorithm the page needed. */
interface HashedFile {
  readonly name: string;
  readonly digests: Partial<Record<DigestAlg, string>>;
}

/** The `{alg, hex}` of a hashed file under `alg` (computed: the page hashes with every pinned suite's). */
function digestOf(f: HashedFile, alg: DigestAlg): { alg: DigestAlg; hex: string } {
  const hex = f.digests[alg];
  if (hex === undefined) throw new Error(`verify page: ${f.name} was not hashed with ${alg}`);
  return { alg, hex };
}

/** `sm3 <hex> (name)` lines: every digest computed for a file. */
function digestLines(files: readonly HashedFile[]): string {
  return files.flatMap((f) => Object.entries(f.digests).map(([alg, hex]) => `${alg} ${hex} (${f.name})`)).join('\n');
}

/** Show the suite the verification used: the pinned key's, as the verifier took it (report.facts.suite). */
function renderSuite(suite: CryptoSuite['id']): void {
  const p = el('suite');
  p.replaceChildren();
  p.dataset.suite = suite;
  inline(p, { zh: `密码算法：${SUITE_WORDS[suite].name.zh}`, en: `Crypto suite: ${SUITE_WORDS[suite].name.en}` }, 'suite-name');
  result.dataset.suite = suite;
}

function renderFacts(rows: Array<[Bilingual, string | undefined]>): void {
  const dl = el('facts');
  dl.replaceChildren();
  for (const [label, value] of rows) {
    if (value === undefined) continue;
    const dt = document.createElement('dt');
    bilingual(dt, label);
    const dd = document.createElement('dd');
    dd.textContent = value;
    dl.append(dt, dd);
  }
}

/** Show the verdict, summary and check list; the caller fills facts and items. */
function renderVerdict(x: { valid: boolean; verdict: Bilingual; summary: Bilingual; checks: readonly CheckLine[] }, kind: 'receipt' | 'bundle'): void {
  result.hidden = false;
  result.dataset.kind = kind;
  const verdict = el('verdict');
  verdict.replaceChildren();
  const mark = document.createElement('span');
  mark.className = 'mark';
  mark.textContent = x.valid ? '✓' : '✗';
  verdict.append(mark);
  bilingual(verdict, x.verdict);
  const summary = el('summary');
  summary.replaceChildren();
  bilingual(summary, x.summary, 'p');
  el('checks').replaceChildren(...x.checks.map(checkItem));
  el('items').replaceChildren();
  el('times').replaceChildren();
  el('witnesses').replaceChildren();
  const exp = el('expected-match');
  exp.replaceChildren();
  delete exp.dataset.match;
}

function renderExpected(files: readonly HashedFile[]): void {
  if (!expected || files.length === 0) return;
  const match = files.some((f) => f.digests[expected.alg] === expected.hex);
  const exp = el('expected-match');
  bilingual(
    exp,
    match
      ? { zh: '文件摘要与证书上的摘要一致。', en: 'The file digest equals the digest on the certificate.' }
      : { zh: '文件摘要与证书上的摘要不一致。', en: 'The file digest differs from the digest on the certificate.' },
  );
  exp.dataset.match = String(match);
}

/**
 * Show who of the pinned policy cosigned the checkpoint and when, and whether the quorum was met.
 * Shown whenever the check ran, also for an invalid report: each cosignature shown was verified
 * over the checkpoint, and a quorum not met is best explained by who did and did not cosign.
 */
function renderWitnesses(policy: Policy | undefined, facts: ReportFacts | undefined): void {
  if (policy === undefined || facts?.cosignatures === undefined) return;
  el('witnesses').replaceChildren(witnessesTable(witnessesView(policy, facts.cosignatures)));
}

function renderReceiptReport(report: VerificationReport, file: HashedFile | undefined, policy: Policy | undefined): void {
  const x = explainReport(report);
  renderVerdict(x, 'receipt');
  renderSuite(report.facts.suite ?? 'c2sp');
  renderExpected(file ? [file] : []);
  // Only a valid receipt establishes its times; an invalid one shows none of them.
  if (report.valid) el('times').replaceChildren(timesTable(reportTimes(report)));
  renderWitnesses(policy, report.facts);
  const f = report.facts;
  const meta = (f.entry?.meta ?? {}) as Record<string, unknown>;
  renderFacts([
    [{ zh: '条目序号', en: 'Index' }, f.index],
    [{ zh: '条目类型', en: 'Entry type' }, f.entry?.type],
    [{ zh: '案件编号', en: 'Case' }, typeof meta.caseId === 'string' ? meta.caseId : undefined],
    [{ zh: '文件名（提交时声明）', en: 'File name (as declared)' }, typeof meta.name === 'string' ? meta.name : undefined],
    [{ zh: '存证摘要', en: 'Anchored digest' }, f.entry ? `${f.entry.digest.alg} ${f.entry.digest.hex}` : undefined],
    [{ zh: '本机计算的文件摘要', en: 'File digest computed here' }, file ? digestLines([file]) : undefined],
    [{ zh: '提交者', en: 'Submitter' }, f.entry?.submitter],
    [{ zh: '日志', en: 'Log origin' }, f.origin],
    [{ zh: '树大小', en: 'Tree size' }, f.treeSize],
    [{ zh: '根哈希', en: 'Root hash' }, f.rootHash],
    [{ zh: '区块高度', en: 'Block height' }, f.blockHeight],
    [{ zh: '区块哈希', en: 'Block hash' }, f.blockHash],
    [{ zh: '区块格式', en: 'Block format' }, f.blockFormat === undefined ? undefined : f.blockFormat === '2' ? '2（区块各项均经签名 / every member signed）' : '1（仅检查点经签名 / only the checkpoint signed）'],
    [{ zh: '核验所用公钥', en: 'Verified with key' }, f.verifierKey],
    [{ zh: '密码算法', en: 'Crypto suite' }, suiteText(f.suite ?? 'c2sp')],
  ]);
  result.scrollIntoView({ block: 'start' });
}

/** The facts row of the suite: what it means, in both languages. */
function suiteText(suite: CryptoSuite['id']): string {
  return `${SUITE_WORDS[suite].meaning.zh}\n${SUITE_WORDS[suite].meaning.en}`;
}

function renderBundleReport(report: BundleReport, files: readonly HashedFile[], policy: Policy | undefined, suite: CryptoSuite['id']): void {
  const x = explainBundleReport(report);
  renderVerdict(x, 'bundle');
  renderSuite(suite);
  renderExpected(files);
  // Every item is proved against the bundle's one checkpoint: its cosignatures are shown once.
  renderWitnesses(policy, report.items.find((it) => it.facts.cosignatures !== undefined)?.facts);
  const list = el('items');
  for (const [i, it] of x.items.entries()) {
    const li = document.createElement('li');
    li.dataset.index = it.index;
    li.dataset.valid = String(it.valid);
    const head = document.createElement('div');
    head.className = 'item-head';
    head.textContent = `${it.valid ? '✓' : '✗'} #${it.index}${it.name ? ` · ${it.name}` : ''}`;
    const checks = document.createElement('ol');
    checks.className = 'item-checks';
    // A valid item lists nothing more; a failed one lists its failed and skipped checks.
    checks.append(...it.checks.filter((c) => !it.valid && c.status !== 'pass').map(checkItem));
    li.append(head, checks);
    // A valid item shows its times (received, sealed, trusted), as a receipt does.
    const item = report.items[i];
    if (it.valid && item) li.append(timesTable(reportTimes(item)));
    list.append(li);
  }
  const f = report.facts;
  renderFacts([
    [{ zh: '案件编号', en: 'Case' }, f.caseId],
    [{ zh: '证据包生成时间（UTC）', en: 'Bundle created (UTC)' }, f.createdAt],
    [{ zh: '条目数（通过/总数）', en: 'Items (valid/total)' }, f.itemCount === undefined ? undefined : `${f.validItems ?? '0'} / ${f.itemCount}`],
    [{ zh: '本机计算的文件摘要', en: 'File digests computed here' }, files.length > 0 ? digestLines(files) : undefined],
    [{ zh: '日志', en: 'Log origin' }, f.origin],
    [{ zh: '树大小', en: 'Tree size' }, f.treeSize],
    [{ zh: '根哈希', en: 'Root hash' }, f.rootHash],
    [{ zh: '核验所用公钥', en: 'Verified with key' }, f.verifierKey],
    [{ zh: '密码算法', en: 'Crypto suite' }, suiteText(suite)],
  ]);
  result.scrollIntoView({ block: 'start' });
}

// --- verification ---

async function readProofDocument(): Promise<ProofDocument> {
  const f = receiptInput.files?.[0];
  const text = f ? await f.text() : receiptText.value;
  return classifyProofDocument(text);
}

/**
 * Hash every picked file, one chunk at a time, with one progress bar over all their bytes, with
 * every algorithm in `algs` in one pass (SHA-256 for a c2sp key, SM3 for a gm key).
 */
async function hashFiles(algs: readonly DigestAlg[]): Promise<HashedFile[]> {
  const list = fileInput.files;
  const files: DomFile[] = [];
  for (let i = 0; list && i < list.length; i++) {
    const f = list[i];
    if (f) files.push(f);
  }
  if (files.length === 0) return [];
  const total = files.reduce((n, f) => n + f.size, 0);
  let before = 0;
  progress.hidden = false;
  progress.value = 0;
  const out: HashedFile[] = [];
  for (const f of files) {
    const names = algs.map(algName).join(' + ');
    setStatus({ zh: `正在本机计算 ${names} 摘要：${f.name}`, en: `Hashing locally (${names}): ${f.name}` });
    const digests = await digestBlob(f, algs, {
      onProgress: (done) => {
        progress.value = total === 0 ? 1 : (before + done) / total;
      },
    });
    before += f.size;
    out.push({ name: f.name, digests });
  }
  progress.hidden = true;
  return out;
}

/** The JSON value of an entry file, or undefined when it is not JSON (the verifier then says why). */
function parseJsonLoose(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

let running = false;

async function run(): Promise<void> {
  if (running) return;
  running = true;
  verifyButton.disabled = true;
  result.hidden = true;
  delete result.dataset.valid;
  showError(undefined);
  try {
    const keys = parsePinnedKeys(keyText.value);
    if (keys.length === 0) {
      showError({ zh: '请填写您固定的日志公钥（name+keyid+base64）。', en: 'Enter the log key you pinned (name+keyid+base64).' });
      return;
    }
    const doc = await readProofDocument();
    if (doc.kind === 'unknown') {
      showError({ zh: '请选择或粘贴存证回执、tlog-proof、存证证书（HTML）或证据包。', en: 'Pick or paste a receipt, a tlog-proof, an evidence certificate (HTML) or a bundle.' }, doc.why);
      return;
    }
    const picked = fileInput.files?.length ?? 0;
    if (doc.kind !== 'bundle' && picked > 1) {
      showError({ zh: '一份回执只对应一个文件；多个文件请使用证据包。', en: 'A receipt is for one file; use a bundle for several files.' });
      return;
    }
    let tsaRoots: Uint8Array[];
    try {
      tsaRoots = parsePinnedTsaRoots(tsaText.value);
    } catch (err) {
      if (!(err instanceof LedgerError)) throw err;
      showError(
        { zh: '时间戳机构根证书格式错误：应为 PEM 格式的证书（-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----），可含多个。', en: 'The pinned TSA root certificates are malformed: want PEM certificates (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----), one or more.' },
        err.message,
      );
      return;
    }
    if (tsaRoots.length > 0 && globals.crypto?.subtle === undefined) {
      showError({
        zh: '此浏览器在当前页面不提供 WebCrypto，无法核验时间戳（页面不在安全上下文中）。请通过 https 打开本页，或保存到本地后打开；也可清空根证书，仅核验回执本身。',
        en: 'This browser offers no WebCrypto on this page (not a secure context), so time stamps cannot be verified. Open the page over https or saved to disk; or clear the TSA roots to verify the receipt alone.',
      });
      return;
    }
    let policy: Policy | undefined;
    try {
      policy = parsePinnedPolicy(policyText.value);
    } catch (err) {
      if (!(err instanceof LedgerError) || err.code !== 'POLICY_MALFORMED') throw err;
      showError(POLICY_MALFORMED_ERROR, `${err.code}: ${err.message}`);
      return;
    }
    const trust = { ...(tsaRoots.length > 0 ? { trustedTsaRoots: tsaRoots } : {}), ...(policy !== undefined ? { policy } : {}) };
    const entryFile = entryInput.files?.[0];
    if (doc.kind === 'tlog-proof' && !entryFile) {
      el<DomDetails>('entry-section').open = true;
      showError({ zh: 'tlog-proof 需要同时提供条目文件（条目的原始字节）。', en: 'A tlog-proof needs the entry file (the entry\'s exact bytes) as well.' });
      return;
    }
    // The suite is the pinned key's (SPEC.md#crypto-suites): it decides how files are hashed.
    const suites = pinnedSuites(keys);
    const hashed = await hashFiles(digestAlgsToCompute(suites, expected?.alg));
    setStatus({ zh: '正在核验……', en: 'Verifying…' });
    if (doc.kind === 'bundle') {
      // A bundle's files are matched with the first pinned key's suite, as verifyBundle hashes them.
      const alg = contentDigestAlg(suites, undefined);
      const report = await verifyBundle(doc.bundle, { trustedKeys: keys, ...trust, files: hashed.map((h) => ({ label: h.name, content: { digest: digestOf(h, alg) } })) });
      setStatus(undefined);
      renderBundleReport(report, hashed, policy, suites[0]?.id ?? 'c2sp');
      result.dataset.valid = String(report.valid);
      return;
    }
    const file = hashed[0];
    const entryBytes = doc.kind === 'tlog-proof' && entryFile ? new Uint8Array(await entryFile.arrayBuffer()) : undefined;
    const alg = contentDigestAlg(suites, entryDigestAlg(entryBytes ? parseJsonLoose(entryBytes) : doc.kind === 'tlog-proof' ? undefined : doc.receipt));
    const options = { trustedKeys: keys, ...trust, ...(file ? { content: { digest: digestOf(file, alg) } } : {}) };
    const report =
      doc.kind === 'tlog-proof' && entryBytes ? await verifyTlogProof(doc.text, entryBytes, options) : await verifyReceipt(doc.kind === 'tlog-proof' ? doc.text : doc.receipt, options);
    setStatus(undefined);
    renderReceiptReport(report, file, policy);
    result.dataset.valid = String(report.valid);
  } catch (err) {
    setStatus(undefined);
    progress.hidden = true;
    if (err instanceof LedgerError && err.code === 'KEY_MALFORMED') {
      showError({ zh: '公钥格式错误：应为“名称+密钥编号+base64”，每行一个。', en: 'The pinned key is malformed: want name+keyid+base64, one per line.' }, err.message);
    } else {
      showError({ zh: '无法完成核验。', en: 'Verification could not run.' }, err instanceof Error ? err.message : String(err));
    }
  } finally {
    running = false;
    verifyButton.disabled = false;
  }
}

verifyButton.addEventListener('click', () => void run());
document.documentElement.dataset.ready = 'true';
