/**
 * The evidence certificate (存证证书): a printable, bilingual (中文/English) HTML page that states
 * what a receipt proves (docs/api.md#certificates). It shows the evidence, the anchoring and the
 * log facts, a QR code that opens the verification page for the content digest, and plain-language
 * verification instructions; it embeds the receipt itself (`<script type="application/json"
 * id="receipt">`), so the certificate file alone is enough to verify: the court verification page
 * accepts it in place of the receipt. Every value is HTML-escaped; the page runs no script.
 *
 * It names the log's crypto suite (SPEC.md#crypto-suites), as the verifier took it from the key:
 * for a `gm` log 国密 SM2/SM3 (digest algorithm SM3, signature algorithm SM2), which a 密评
 * assessor looks for, otherwise SHA-256 and Ed25519.
 */
import QRCode from 'qrcode';
import type { Receipt } from '../core/receipt.js';
import type { SuiteId } from '../core/suite.js';
import { toBase64, utf8 } from '../core/bytes.js';
import { verifyReceipt, type Entry, type ReportFacts, type TimestampFact } from '../verifier/index.js';
import { CERTIFICATE_RECEIPT_ID } from '../web/input.js';
import { FONT_STACK, escapeHtml, jsonForScript } from '../web/template.js';

/** What a certificate is made from. */
export interface CertificateInput {
  /** The receipt (as served by GET /v1/receipts/{index}). */
  readonly receipt: Receipt;
  /** The log's verifier key; the receipt must verify under it (it is the key shown). */
  readonly verifierKey: string;
  /** Absolute URL of the verification page, e.g. `https://evidence.example.gov.cn/verify`. */
  readonly verifyUrl: string;
  /** When the certificate is issued (shown; default now). */
  readonly issuedAt?: Date;
  /** The TSA root certificates (DER) the log pins (GUZHENG_TSA_CA): a time stamp is shown as verified only under them. */
  readonly tsaRoots?: readonly Uint8Array[];
}

/** The facts a certificate states, all strings, as computed from a verified receipt. */
export interface CertificateFacts {
  readonly evidenceNumber: string;
  readonly index: string;
  readonly entry: Entry;
  readonly leafHash: string;
  readonly origin: string;
  readonly treeSize: string;
  readonly rootHash: string;
  readonly blockHeight: string;
  readonly blockHash: string;
  /** The signed sealing time; absent for a format-1 block (its time is unsigned). */
  readonly blockTime?: string;
  /** A format-1 block's unsigned time. */
  readonly blockTimeUnsigned?: string;
  /** The trusted time stamp, when the receipt carries one (verified or not). */
  readonly timestamp?: TimestampFact;
  /** Whether the receipt carries a time stamp at all (false: none yet, or a v1 receipt). */
  readonly timestampState: 'verified' | 'unverified' | 'none';
  readonly verifierKey: string;
  /** `name+keyid` of the verifier key. */
  readonly keyId: string;
  /** The log's crypto suite, from its key: `gm` (SM3/SM2) or `c2sp` (SHA-256/Ed25519). */
  readonly suite: SuiteId;
  /** The QR code's target: the verification page for this digest. */
  readonly verifyLink: string;
}

/**
 * evidenceNumber is the certificate's evidence number: `GZ-<index>-<first 12 hex of the leaf hash>`.
 * Unique per log entry, and checkable against the receipt by anyone.
 */
export function evidenceNumber(index: string, leafHash: string): string {
  return `GZ-${index}-${leafHash.slice(0, 12)}`;
}

/**
 * certificateFacts verifies the receipt under the log's key and collects what the certificate
 * states. Throws a plain Error if the receipt does not verify: the log never certifies a receipt
 * it cannot itself verify.
 */
export async function certificateFacts(input: CertificateInput): Promise<CertificateFacts> {
  const report = await verifyReceipt(input.receipt, { trustedKeys: [input.verifierKey], ...(input.tsaRoots === undefined ? {} : { trustedTsaRoots: input.tsaRoots }) });
  if (!report.valid) {
    const failed = report.checks.filter((c) => c.status === 'fail').map((c) => `${c.id}: ${c.code} ${c.message}`);
    throw new Error(`certificate: receipt ${input.receipt.index} does not verify under the log key (${failed.join('; ')})`);
  }
  const f = report.facts as Required<ReportFacts>;
  const [name, keyId] = f.verifierKey.split('+');
  const base = input.verifyUrl.replace(/#.*$/, '');
  return {
    evidenceNumber: evidenceNumber(f.index, f.leafHash),
    index: f.index,
    entry: f.entry,
    leafHash: f.leafHash,
    origin: f.origin,
    treeSize: f.treeSize,
    rootHash: f.rootHash,
    blockHeight: f.blockHeight,
    blockHash: f.blockHash,
    ...(f.blockTime === undefined ? {} : { blockTime: f.blockTime }),
    ...(f.blockTimeUnsigned === undefined ? {} : { blockTimeUnsigned: f.blockTimeUnsigned }),
    ...(f.timestamp === undefined ? {} : { timestamp: f.timestamp }),
    timestampState: report.checks.some((c) => c.id === 'timestamp' && c.status === 'pass') ? 'verified' : f.timestamp === undefined ? 'none' : 'unverified',
    verifierKey: f.verifierKey,
    keyId: `${name}+${keyId}`,
    suite: f.suite ?? 'c2sp',
    verifyLink: `${base}#${f.entry.digest.alg}=${f.entry.digest.hex}`,
  };
}

/** formatBytes spells a size as `300,000 bytes (293.0 KiB)`. */
export function formatBytes(n: number): string {
  const exact = `${n.toLocaleString('en-US')} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u < 0 ? exact : `${exact} (${v.toFixed(1)} ${units[u]})`;
}

/** beijingTime spells a UTC millisecond time in China Standard Time: `2026-03-01 10:03:04.567`. */
export function beijingTime(utc: string): string {
  const ms = Date.parse(utc);
  if (Number.isNaN(ms)) return utc;
  return new Date(ms + 8 * 3600_000).toISOString().replace('T', ' ').replace('Z', '');
}

/** One row of a field table: Chinese label, English label, value (text, escaped later), mono? */
type Row = readonly [zh: string, en: string, value: string, mono?: boolean];

/** What each suite is called on a certificate, in both languages, and the standards it follows. */
const SUITE_TEXT: Readonly<Record<SuiteId, { readonly algorithms: string; readonly open: string }>> = {
  gm: {
    // One line, to keep the certificate on one A4 page (an SM2 key already takes two); the
    // standards are named in the footer.
    algorithms: '国密 SM2/SM3：摘要算法 SM3，签名算法 SM2 / digest algorithm SM3, signature SM2',
    open: 'RFC 9162, C2SP, 国密 SM3 (GB/T 32905), SM2 (GB/T 32918), RFC 3161',
  },
  c2sp: {
    algorithms: '摘要算法 SHA-256，签名算法 Ed25519 / digest algorithm SHA-256, signature Ed25519',
    open: 'RFC 9162, C2SP, Ed25519, RFC 3161',
  },
};

function bothZones(utc: string): string {
  return `${beijingTime(utc)}（北京时间 UTC+8） · ${utc} (UTC)`;
}

/** The sealing time, and who vouches for it (SPEC.md#blocks: a format-1 block's time is unsigned). */
function sealedRow(f: CertificateFacts): Row {
  if (f.blockTime !== undefined) return ['封存时间', 'Sealed at', `${bothZones(f.blockTime)} — 日志时钟，经日志签名 / log clock, signed by the log`];
  return ['封存时间', 'Sealed at', `${f.blockTimeUnsigned ?? '—'} — 未经签名（格式1区块），不作为已核验时间 / not signed (format-1 block), not a verified time`];
}

/** 可信时间: the TSA's time, marked as independent of the log, or why there is none. */
function trustedTimeRows(f: CertificateFacts): Row[] {
  const t = f.timestamp?.tokens[0];
  if (f.timestampState === 'none' || t === undefined) {
    return [['可信时间', 'Trusted time', '尚未取得可信时间戳（稍后重新获取回执） / no time stamp yet (fetch the receipt again later)']];
  }
  const verified = f.timestampState === 'verified';
  const who = `${t.tsa ?? '—'}${t.serial === undefined ? '' : ` · serial ${t.serial}`}${t.accuracy === undefined ? '' : ` · ±${t.accuracy} s`}`;
  const state = verified ? '独立时间来源，已核验 / independent source, verified' : '未核验：未固定该机构根证书 / not verified: TSA root not pinned';
  return [['可信时间', 'Trusted time', `${t.genTime === undefined ? '—' : bothZones(t.genTime)} · ${state} · 时间戳机构 TSA: ${who}`]];
}

function evidenceRows(entry: Entry): Row[] {
  const m = entry.meta as Record<string, unknown>;
  const s = (k: string): string | undefined => (typeof m[k] === 'string' ? (m[k] as string) : undefined);
  const rows: Row[] = [];
  const type: Record<Entry['type'], [string, string]> = {
    document: ['文件', 'document (file)'],
    record: ['数据记录', 'record (JSON)'],
    digest: ['摘要', 'digest'],
    hj212: ['HJ 212 监测数据包', 'HJ 212 monitoring packet'],
  };
  const [tzh, ten] = type[entry.type];
  rows.push(['案件编号', 'Case', s('caseId') ?? '—']);
  rows.push(['证据类型', 'Evidence type', `${tzh} / ${ten}`]);
  if (entry.type === 'document' || entry.type === 'digest') {
    rows.push(['文件名', 'File name', s('name') ?? '—']);
    rows.push(['文件类型', 'File type', s('mediaType') ?? '—']);
    rows.push(['文件大小', 'File size', typeof m.size === 'number' ? formatBytes(m.size) : '—']);
  }
  if (entry.type === 'record') {
    if (s('source')) rows.push(['数据来源', 'Source', s('source') as string]);
    if (s('schema')) rows.push(['数据格式', 'Schema', s('schema') as string]);
    if (s('dataTime')) rows.push(['数据时间', 'Data time', s('dataTime') as string]);
  }
  if (entry.type === 'hj212') {
    rows.push(['设备编号 (MN)', 'Device (MN)', s('mn') ?? '—']);
    if (s('dataTime')) rows.push(['数据时间', 'Data time', s('dataTime') as string]);
    const crc = m.crc as { ok?: boolean; variant?: string } | undefined;
    if (crc) rows.push(['CRC 校验', 'CRC check', `${crc.ok ? '通过 / passed' : '未通过 / failed'} (${crc.variant ?? ''})`]);
    if (s('peer')) rows.push(['来源地址', 'Peer', s('peer') as string]);
  }
  if (s('note')) rows.push(['备注', 'Note', s('note') as string]);
  rows.push(['摘要算法与值', 'Digest', `${entry.digest.alg === 'sha256' ? 'SHA-256' : 'SM3'}  ${entry.digest.hex}`, true]);
  rows.push(['提交者', 'Submitter', entry.submitter, true]);
  return rows;
}

function table(rows: readonly Row[]): string {
  return `<table>${rows
    .map(([zh, en, value, mono]) => `<tr><th><span class="zh">${escapeHtml(zh)}</span><span class="en" lang="en">${escapeHtml(en)}</span></th><td${mono ? ' class="mono"' : ''}>${escapeHtml(value)}</td></tr>`)
    .join('')}</table>`;
}

// The certificate must print on one A4 page (test/certificate/render.test.ts, gm.test.ts): rows
// and headings are spaced tightly enough to leave room for a gm log's longer SM2 key (two lines)
// and the algorithms row. (The key id is not a row of its own: it is the start of the key.)
const CSS = `
@page { size: A4; margin: 12mm 12mm 12mm; }
* { box-sizing: border-box; }
html { font-family: ${FONT_STACK}; color: #1b1f24; background: #eceff1; font-size: 9.5pt; line-height: 1.3; }
body { margin: 0; }
.sheet { background: #fff; max-width: 210mm; margin: 10mm auto; padding: 10mm 11mm; border: 1px solid #c9ced3; }
.frame { border: 3px double #7a1f1f; padding: 5mm 6mm 3mm; }
header { display: flex; justify-content: space-between; align-items: flex-start; gap: 6mm; border-bottom: 1px solid #7a1f1f; padding-bottom: 3mm; }
h1 { margin: 0; font-size: 20pt; line-height: 1.2; letter-spacing: .2em; color: #7a1f1f; }
h1 .en { display: block; font-size: 11pt; letter-spacing: .05em; font-weight: 400; color: #444; margin-top: 1mm; }
.number { margin: 2mm 0 0; font-size: 10.5pt; }
.number b { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 11pt; }
.qr { text-align: center; width: 32mm; flex: none; }
.qr svg { width: 30mm; height: 30mm; display: block; margin: 0 auto; }
.qr p { margin: .5mm 0 0; font-size: 7pt; color: #444; }
h2 { font-size: 11pt; margin: 2.5mm 0 1mm; color: #7a1f1f; border-left: 3pt solid #7a1f1f; padding-left: 2mm; line-height: 1.2; }
h2 .en { font-weight: 400; color: #555; font-size: 9pt; margin-left: 2mm; }
table { width: 100%; border-collapse: collapse; }
th, td { border: 0.5pt solid #b8bec4; padding: .25mm 2mm; vertical-align: top; text-align: left; }
th { width: 36mm; background: #f6f3f0; font-weight: 600; white-space: nowrap; }
th .en { font-weight: 400; font-size: 7.5pt; color: #555; margin-left: 1.5mm; }
td { word-break: break-all; }
td.mono, .mono { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 8pt; }
ol.steps { margin: 1mm 0 0; padding-left: 5mm; font-size: 9pt; }
ol.steps li { margin: .5mm 0; }
ol.steps .en { display: block; color: #444; font-size: 8pt; line-height: 1.3; }
.statement { margin: 2mm 0 0; font-size: 9pt; }
.statement .en { display: block; color: #444; font-size: 8pt; }
.link { margin: 1.5mm 0 0; font-size: 8pt; word-break: break-all; color: #333; }
footer { margin-top: 3mm; display: flex; flex-wrap: wrap; justify-content: space-between; gap: 0 4mm; font-size: 7pt; color: #555; border-top: 1px solid #c9ced3; padding-top: 1.5mm; }
.appendix { page-break-before: always; break-before: page; }
.appendix pre { white-space: pre-wrap; word-break: break-all; font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 6.5pt; line-height: 1.25; border: 0.5pt solid #b8bec4; padding: 2mm; margin: 0; }
.download { font-size: 9pt; }
footer span { white-space: nowrap; }
@media print { html { background: #fff; } .sheet { margin: 0; padding: 0; border: 0; max-width: none; } .download { display: none; } }
`;

/** The CSS of the certificate (its CSP allows exactly this inline style). */
export const CERTIFICATE_CSS = CSS;

/**
 * renderCertificateHtml returns the whole certificate page for a receipt.
 * Requires: the receipt verifies under `verifierKey` (else it throws, see {@link certificateFacts}).
 *
 * @example
 * const html = await renderCertificateHtml({ receipt, verifierKey: ledger.verifierKey, verifyUrl: 'https://log.example/verify' });
 */
export async function renderCertificateHtml(input: CertificateInput): Promise<string> {
  const f = await certificateFacts(input);
  const issued = (input.issuedAt ?? new Date()).toISOString();
  const qr = await QRCode.toString(f.verifyLink, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });
  const receiptJson = JSON.stringify(input.receipt, null, 1);
  const anchoring: Row[] = [
    ['接收时间', 'Received at', `${bothZones(f.entry.receivedAt)} — 日志时钟，经日志签名 / log clock, signed by the log`],
    ['日志', 'Log origin', f.origin, true],
    ['条目序号', 'Index', f.index, true],
    ['叶子哈希', 'Leaf hash', f.leafHash, true],
    ['树大小', 'Tree size', f.treeSize, true],
    ['根哈希', 'Root hash', f.rootHash, true],
    ['区块高度', 'Block height', f.blockHeight, true],
    ['区块哈希', 'Block hash', f.blockHash, true],
    sealedRow(f),
    ...trustedTimeRows(f),
    ['日志公钥', 'Verifier key', f.verifierKey, true],
    ['密码算法', 'Algorithms', SUITE_TEXT[f.suite].algorithms],
  ];
  const steps: ReadonlyArray<[string, string]> = [
    [
      '从日志运营方的官方渠道独立获取并保存日志公钥，与上表“日志公钥”核对。不要只信任本证书上印的公钥。',
      'Obtain the log\'s public key independently, from the operator\'s official channel, and compare it with the "Verifier key" above. Do not rely on the key printed on this certificate alone.',
    ],
    [
      '扫描二维码或打开核验页面（也可使用事先保存的页面副本，离线可用）。',
      'Scan the QR code or open the verification page (a saved copy works offline too).',
    ],
    [
      '拖入原始文件，以及本证书的 HTML 文件（内含存证回执）或存证回执 JSON 文件；文件只在本机计算摘要，不会上传。',
      'Drop in the original file and this certificate\'s HTML file (it contains the receipt) or the receipt JSON file; the file is hashed on your computer and never uploaded.',
    ],
    [
      '粘贴您固定的日志公钥并点击“核验”。结果为“有效”且“内容摘要”为 ✓，即证明该文件与存证时完全一致，并在所示时间已记入日志。',
      'Paste the log key you pinned and click "Verify". "VALID" with ✓ for "Content digest" proves the file is exactly the one anchored, recorded in the log at the time shown.',
    ],
  ];
  const e = escapeHtml;
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>存证证书 Evidence certificate ${e(f.evidenceNumber)}</title>
<style>${CSS}</style>
</head>
<body>
<div class="sheet">
<div class="frame">
<header>
<div>
<h1>电子数据存证证书<span class="en" lang="en">Electronic Evidence Certificate</span></h1>
<p class="number">存证编号 <span lang="en">Evidence No.</span> <b id="evidence-number">${e(f.evidenceNumber)}</b></p>
<p class="statement"><span class="zh">兹证明：下列电子数据的摘要已于所示时间记入防篡改存证日志，任何人均可凭本证书离线核验。</span><span class="en" lang="en">This certifies that the digest of the electronic data below was recorded in a tamper-evident evidence log at the time shown; anyone can verify it offline with this certificate.</span></p>
</div>
<div class="qr" id="qr">${qr}<p>扫码核验 / Scan to verify</p></div>
</header>
<h2>证据信息<span class="en" lang="en">Evidence</span></h2>
${table(evidenceRows(f.entry))}
<h2>存证信息<span class="en" lang="en">Anchoring</span></h2>
${table(anchoring)}
<h2>核验方法<span class="en" lang="en">How to verify</span></h2>
<ol class="steps">${steps.map(([zh, en]) => `<li><span class="zh">${e(zh)}</span><span class="en" lang="en">${e(en)}</span></li>`).join('')}</ol>
<p class="link mono" id="verify-link">${e(f.verifyLink)}</p>
<footer><span>出具时间 Issued ${e(issued)}</span><span id="algorithms">算法公开 Open algorithms: ${e(SUITE_TEXT[f.suite].open)}</span><span>固证 Guzheng · ${e(input.receipt.format)}</span></footer>
</div>
</div>
<div class="sheet appendix">
<h2>附：存证回执全文<span class="en" lang="en">Appendix: the full receipt</span></h2>
<p class="download"><a download="receipt-${e(f.index)}.json" href="data:application/json;base64,${toBase64(utf8(receiptJson))}">下载回执 receipt-${e(f.index)}.json / Download the receipt</a></p>
<pre>${e(receiptJson)}</pre>
</div>
<script type="application/json" id="${CERTIFICATE_RECEIPT_ID}">${jsonForScript(input.receipt)}</script>
</body>
</html>
`;
}
