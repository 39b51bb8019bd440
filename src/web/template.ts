/**
 * The court verification page's HTML (docs/verify-page.md): one self-contained file with inline
 * CSS and the bundled script (src/web/page.ts, built by scripts/build-web.ts). It loads nothing
 * from anywhere: no fonts, no scripts, no images, no requests, so it works the same when served by
 * a log and when saved and opened from disk. Pure string functions: used by the build script and
 * by the HTTP route that serves the page.
 */
import { toBase64, utf8 } from '../core/bytes.js';
import { sha256 } from '../core/crypto.js';

/** The id of the JSON data block a log fills in when it serves the page. */
export const SERVED_CONFIG_ID = 'guzheng-served';

/**
 * What a log tells the page it serves: its own key, shown as "this log's key — pin your own copy",
 * and the TSA root certificates and witness policy it pins, shown the same way. The page uses none
 * of them when opened from disk.
 */
export interface ServedConfig {
  readonly origin: string;
  readonly verifierKey: string;
  /** The TSA roots the log pins (GUZHENG_TSA_CA), as PEM text; absent when it pins none. */
  readonly tsaRoots?: string;
  /** The witness policy the log runs with, as C2SP tlog-policy text; absent when it has none. */
  readonly policy?: string;
}

/** The empty data block of a page not (yet) served by a log. */
const SERVED_PLACEHOLDER = `<script type="application/json" id="${SERVED_CONFIG_ID}">null</script>`;

/**
 * jsonForScript serializes a value for a `<script type="application/json">` data block: `<`, `>`,
 * `&` and U+2028/U+2029 become \u escapes, so the text can never close the element or be read as
 * markup, and `JSON.parse` of the element's text gives back the value.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** escapeHtml escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** Fonts that exist on the reader's machine (no web fonts may be loaded). */
export const FONT_STACK = `"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", "Helvetica Neue", Arial, sans-serif`;

const CSS = `
:root { --ink: #1b1f24; --muted: #59636e; --line: #d0d7de; --ok: #1a7f37; --bad: #cf222e; --skip: #6e7781; --accent: #7a1f1f; }
* { box-sizing: border-box; }
html { font-family: ${FONT_STACK}; color: var(--ink); background: #f6f8fa; }
body { margin: 0; }
main { max-width: 58rem; margin: 0 auto; padding: 1.5rem 1rem 4rem; }
header { border-bottom: 3px double var(--accent); margin-bottom: 1.25rem; padding-bottom: .75rem; }
h1 { margin: 0; font-size: 1.6rem; color: var(--accent); }
h1 .en, h2 .en { display: block; font-size: .95rem; font-weight: 400; color: var(--muted); }
h2 { font-size: 1.1rem; margin: 0 0 .5rem; }
.lead { margin: .5rem 0 0; color: var(--muted); }
.lead .en, .hint .en, .why .en, #summary .en, #error .en, #status .en, dt .en { display: block; color: var(--muted); }
section.step { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1rem; margin: 0 0 1rem; }
.drop { display: block; border: 2px dashed var(--line); border-radius: 8px; padding: 1rem; text-align: center; cursor: pointer; }
.drop.over { border-color: var(--accent); background: #fff5f5; }
.drop input[type=file] { display: block; margin: .5rem auto 0; }
#tsa-info[data-ok=false], #policy-info[data-ok=false], #key-info[data-ok=false] { color: var(--bad); }
#tsa-info .en, #policy-info .en { display: block; }
#key-info { font-family: inherit; }
#key-info p { margin: 0; }
#key-info[data-suite~=gm] { color: var(--accent); }
#suite { margin: .25rem 0 0; font-size: .9rem; color: var(--muted); }
#suite[data-suite=gm] { color: var(--accent); font-weight: 600; }
.info { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .85rem; color: var(--muted); min-height: 1.2em; margin: .25rem 0 0; word-break: break-all; white-space: pre-line; }
textarea { width: 100%; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .85rem; padding: .5rem; border: 1px solid var(--line); border-radius: 6px; }
.hint { font-size: .85rem; color: var(--muted); margin: .5rem 0 0; }
.served { border-left: 4px solid #bf8700; background: #fff8c5; padding: .5rem .75rem; margin: 0 0 .5rem; font-size: .9rem; }
.served .en { display: block; }
button#verify { font: inherit; font-size: 1.1rem; padding: .6rem 2rem; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
button#verify:disabled { opacity: .6; cursor: wait; }
.actions { display: flex; align-items: center; gap: 1rem; flex-wrap: wrap; }
progress { width: 16rem; }
#error { border: 1px solid var(--bad); background: #ffebe9; border-radius: 6px; padding: .5rem .75rem; margin: 1rem 0; }
#error p { margin: .2rem 0; }
.detail { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .78rem; color: var(--muted); word-break: break-all; margin: .25rem 0 0; }
#result { background: #fff; border: 2px solid var(--line); border-radius: 8px; padding: 1rem; margin-top: 1.5rem; }
#result[data-valid=true] { border-color: var(--ok); }
#result[data-valid=false] { border-color: var(--bad); }
#verdict { font-size: 2rem; font-weight: 700; display: flex; gap: .75rem; align-items: baseline; }
#result[data-valid=true] #verdict { color: var(--ok); }
#result[data-valid=false] #verdict { color: var(--bad); }
#verdict .en { font-size: 1.2rem; }
#checks { list-style: none; padding: 0; margin: 1rem 0; }
#checks li { display: grid; grid-template-columns: 2rem 1fr; gap: 0 .5rem; padding: .5rem 0; border-top: 1px solid var(--line); }
#checks .mark { font-size: 1.3rem; font-weight: 700; text-align: center; }
#checks li[data-status=pass] .mark { color: var(--ok); }
#checks li[data-status=fail] .mark { color: var(--bad); }
#checks li[data-status=skip] .mark { color: var(--skip); }
#checks .title { font-weight: 600; }
#checks .title .en { margin-left: .5rem; font-weight: 400; color: var(--muted); }
#checks .why { grid-column: 2; }
#checks .why p { margin: .1rem 0; }
#checks li[data-status=fail] .why .zh { color: var(--bad); }
#items { list-style: none; padding: 0; margin: 0 0 1rem; }
#items > li { border-top: 1px solid var(--line); padding: .35rem 0; }
#items .item-head { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9rem; }
#items li[data-valid=true] > .item-head { color: var(--ok); }
#items li[data-valid=false] > .item-head { color: var(--bad); font-weight: 600; }
#items .item-checks { list-style: none; padding: 0 0 0 1.5rem; margin: 0; }
#items .item-checks li { display: grid; grid-template-columns: 2rem 1fr; gap: 0 .5rem; padding: .25rem 0; }
#items .item-checks .why { grid-column: 2; }
#items .item-checks li[data-status=fail] .mark { color: var(--bad); }
#items .item-checks li[data-status=skip] .mark { color: var(--skip); }
#facts dd { white-space: pre-line; }
#facts { display: grid; grid-template-columns: minmax(10rem, max-content) 1fr; gap: .35rem 1rem; margin: 1rem 0 0; font-size: .9rem; }
#facts dt { color: var(--ink); }
#facts dt .en { font-size: .8rem; }
#facts dd { margin: 0; font-family: ui-monospace, "DejaVu Sans Mono", monospace; word-break: break-all; }
#expected { border-left: 4px solid var(--accent); background: #fff; padding: .5rem .75rem; margin: 0 0 1rem; }
#expected-hex { font-family: ui-monospace, "DejaVu Sans Mono", monospace; word-break: break-all; }
#expected-match[data-match=false] { color: var(--bad); font-weight: 600; }
#expected-match[data-match=true] { color: var(--ok); font-weight: 600; }
h3 { font-size: 1rem; margin: 1rem 0 .5rem; }
h3 .en { font-weight: 400; color: var(--muted); }
table.times { border-collapse: collapse; width: 100%; margin: 1rem 0 0; font-size: .9rem; }
table.times caption { text-align: left; font-weight: 600; margin-bottom: .25rem; }
table.times caption .en { font-weight: 400; color: var(--muted); margin-left: .5rem; }
table.times th, table.times td { border-top: 1px solid var(--line); padding: .35rem .5rem .35rem 0; text-align: left; vertical-align: top; }
table.times thead th { font-weight: 400; color: var(--muted); font-size: .8rem; }
table.times .en { display: block; color: var(--muted); font-size: .8rem; }
table.times .when { font-family: ui-monospace, "DejaVu Sans Mono", monospace; white-space: nowrap; }
table.times .when .utc { display: block; color: var(--muted); }
table.times .badge { display: inline-block; border-radius: 4px; padding: 0 .4rem; font-size: .8rem; margin: .1rem 0; }
table.times tr[data-state=independent] .badge { background: #dafbe1; color: var(--ok); font-weight: 700; }
table.times tr[data-state=signed] .badge { background: #ddf4ff; color: #0969da; }
table.times tr[data-state=unsigned] .badge, table.times tr[data-state=unverified] .badge, table.times tr[data-state=none] .badge { background: #fff8c5; color: #7d4e00; }
table.times tr[data-state=invalid] .badge { background: #ffebe9; color: var(--bad); font-weight: 700; }
table.times tr[data-state=unsigned] .when, table.times tr[data-state=unverified] .when { color: var(--skip); }
table.times .details { margin: .2rem 0 0; font-size: .8rem; color: var(--muted); font-family: ui-monospace, "DejaVu Sans Mono", monospace; word-break: break-all; }
table.times .details .en { display: inline; font-size: inherit; }
table.witnesses tr[data-state=untimed] .badge { background: #ddf4ff; color: #0969da; }
table.witnesses tr[data-state=absent] .badge { background: #fff8c5; color: #7d4e00; }
table.witnesses tr[data-state=absent] .when, table.witnesses tr[data-state=absent] .statement { color: var(--skip); }
table.witnesses .statement .en { display: block; }
.witnesses .quorum { font-weight: 600; margin: .4rem 0 0; }
.witnesses .quorum .en, .witnesses .quorum-failed .en { display: block; font-weight: 400; }
.witnesses .quorum[data-met=true] { color: var(--ok); }
.witnesses .quorum[data-met=false] { color: var(--bad); }
.witnesses .quorum-failed { font-size: .85rem; color: var(--bad); margin: .2rem 0 0; }
#items table.times { margin: .25rem 0 .25rem 1.5rem; width: calc(100% - 1.5rem); font-size: .85rem; }
footer { margin-top: 2rem; font-size: .8rem; color: var(--muted); }
details summary { cursor: pointer; }
@media print { .step, .actions, #error { display: none; } html { background: #fff; } }
`;

/**
 * renderVerifyPage returns the whole page around the bundled `script` (an IIFE).
 * Requires: `script` contains no `</script` (esbuild escapes it in string literals; checked).
 */
export function renderVerifyPage(script: string): string {
  if (/<\/script/i.test(script) || /<!--/.test(script)) throw new Error('verify page: the bundle contains </script or <!--, which would break the inline script');
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>固证 · 电子数据核验 | Guzheng evidence verification</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<h1>固证 · 电子数据核验<span class="en" lang="en">Guzheng evidence verification</span></h1>
<p class="lead"><span class="zh">在本机核验文件与存证回执：文件只在您的电脑上计算摘要，绝不上传。本页面不发出任何网络请求，保存到本地后离线打开同样可用。</span><span class="en" lang="en">Check a file against its receipt on this computer: the file is hashed here and never uploaded. This page makes no network request, and works the same when saved and opened from disk.</span></p>
</header>
<div id="expected" hidden><span class="zh">证书上的文件摘要 / Digest on the certificate (<span id="expected-alg">SHA-256</span>)：</span><span id="expected-hex"></span></div>
<section class="step">
<h2>① 原始文件 <span class="en" lang="en">Original file</span></h2>
<label class="drop" id="file-drop"><span class="zh">拖入或选择需要核验的文件（可选：不提供则只核验回执；证据包可选多个文件）</span><br><span class="en" lang="en">Drop or pick the file to check (optional: without it only the receipt is checked; several files for a bundle)</span><input type="file" id="file" multiple></label>
<p class="info" id="file-info"></p>
</section>
<section class="step">
<h2>② 存证回执 <span class="en" lang="en">Receipt</span></h2>
<label class="drop" id="receipt-drop"><span class="zh">拖入或选择存证回执（.json）、存证证书（.html）、证据包（.bundle.json）或 tlog-proof</span><br><span class="en" lang="en">Drop or pick the receipt (.json), the evidence certificate (.html), an evidence bundle (.bundle.json) or a tlog-proof</span><input type="file" id="receipt" accept=".json,.html,.htm,.txt,.proof,application/json,text/html,text/plain"></label>
<p class="info" id="receipt-info"></p>
<details><summary><span class="zh">或粘贴回执文本</span> / <span class="en" lang="en">or paste the receipt text</span></summary><textarea id="receipt-text" rows="6" spellcheck="false" placeholder='{"format":"guzheng-receipt/v2", …}'></textarea></details>
<details id="entry-section"><summary><span class="zh">tlog-proof 的条目文件</span> / <span class="en" lang="en">Entry file for a tlog-proof</span></summary><p class="hint"><span class="zh">tlog-proof 不含条目本身，请同时提供条目的原始字节（entry.json）。</span><span class="en" lang="en">A tlog-proof does not carry the entry: give its exact bytes (entry.json) too.</span></p><input type="file" id="entry"></details>
</section>
<section class="step">
<h2>③ 固定的日志公钥 <span class="en" lang="en">Pinned log key</span></h2>
<p class="served" id="key-note" hidden><span class="zh">已预填本日志（<b id="key-origin"></b>）提供的公钥。请与您从官方渠道独立获得并保存的公钥副本核对：只有您自己固定的公钥才是信任的依据。</span><span class="en" lang="en">Prefilled with this log's key — pin your own copy: compare it with the key you obtained independently from an official source; only a key you pinned yourself is a basis for trust.</span></p>
<textarea id="key" rows="2" spellcheck="false" autocomplete="off" placeholder="origin+keyid+base64"></textarea>
<p class="info" id="key-info"></p>
<p class="hint"><span class="zh">格式：名称+密钥编号+base64，每行一个。公钥决定密码算法：Ed25519 公钥为 SHA-256 / Ed25519 日志，SM2 公钥为国密 SM3 / SM2 日志（文件以 SM3 计算摘要）。</span><span class="en" lang="en">Format: name+keyid+base64, one per line. The key decides the crypto suite: an Ed25519 key is a SHA-256 / Ed25519 log, an SM2 key a 国密 SM3 / SM2 log (files are hashed with SM3).</span></p>
<h3>固定的时间戳机构根证书（可选） <span class="en" lang="en">Pinned TSA root certificates (optional)</span></h3>
<p class="served" id="tsa-note" hidden><span class="zh">已预填本日志（<b id="tsa-origin"></b>）固定的时间戳机构（TSA）根证书。请与您从该机构官方渠道独立获得并保存的根证书副本核对：只有您自己固定的根证书才是信任可信时间的依据。</span><span class="en" lang="en">Prefilled with the TSA root certificates this log pins — pin your own copy: compare them with the roots you obtained independently from the time-stamping authority; only a root you pinned yourself is a basis for trusting the trusted time.</span></p>
<label class="drop" id="tsa-drop"><span class="zh">拖入或选择根证书文件（.pem / .crt / .cer），或在下方粘贴 PEM 文本</span><br><span class="en" lang="en">Drop or pick the root certificate file (.pem / .crt / .cer), or paste the PEM text below</span><input type="file" id="tsa-file" multiple accept=".pem,.crt,.cer,.der,application/x-pem-file,application/pkix-cert,application/x-x509-ca-cert"></label>
<p class="info" id="tsa-info"></p>
<textarea id="tsa-roots" rows="3" spellcheck="false" autocomplete="off" placeholder="-----BEGIN CERTIFICATE-----"></textarea>
<p class="hint"><span class="zh">PEM 格式，可含多个证书。不填则可信时间显示为“未核验”，回执本身照常核验。</span><span class="en" lang="en">PEM, one or more certificates. Without them the trusted time is shown as not verified; the receipt itself is verified all the same.</span></p>
<h3>固定的见证策略（可选） <span class="en" lang="en">Pinned witness policy (optional)</span></h3>
<p class="served" id="policy-note" hidden><span class="zh">已预填本日志（<b id="policy-origin"></b>）所用的见证策略。请与您从官方渠道独立获得并保存的策略副本核对：只有您自己固定的见证人公钥和法定数才是信任见证的依据。</span><span class="en" lang="en">Prefilled with the witness policy this log runs with — pin your own copy: compare it with the policy you obtained independently from an official source; only witness keys and a quorum you pinned yourself are a basis for trusting the witnesses.</span></p>
<label class="drop" id="policy-drop"><span class="zh">拖入或选择见证策略文件（C2SP tlog-policy 文本），或在下方粘贴</span><br><span class="en" lang="en">Drop or pick the witness policy file (C2SP tlog-policy text), or paste it below</span><input type="file" id="policy-file" accept=".txt,.policy,text/plain"></label>
<p class="info" id="policy-info"></p>
<textarea id="policy" rows="4" spellcheck="false" autocomplete="off" placeholder="log …&#10;witness NAME VKEY URL&#10;group NAME 2 A B C&#10;quorum NAME"></textarea>
<p class="hint"><span class="zh">每行一项：log、witness 名称 公钥 [URL]、group 名称 k|any|all 成员…、quorum 名称。填写后，检查点须有法定数量的见证人有效联署；每个见证人的联署时间是独立于日志的时间。不填则不要求联署。</span><span class="en" lang="en">One item a line: log, witness NAME VKEY [URL], group NAME k|any|all MEMBER…, quorum NAME. With a policy the checkpoint must carry valid cosignatures meeting its quorum; each witness's cosignature time is a time independent of the log. Without one, cosignatures are not required.</span></p>
</section>
<div class="actions"><button type="button" id="verify">核验 Verify</button><progress id="progress" max="1" value="0" hidden></progress><span id="status" role="status"></span></div>
<div id="error" role="alert" hidden></div>
<section id="result" hidden aria-live="polite">
<div id="verdict"></div>
<p id="suite"></p>
<div id="summary"></div>
<p id="expected-match"></p>
<ol id="checks"></ol>
<ol id="items"></ol>
<div id="times"></div>
<div id="witnesses"></div>
<dl id="facts"></dl>
</section>
<footer><span class="zh">核验算法见规范 contracts-free-ledger/SPEC.md（RFC 9162 Merkle 日志、C2SP 签名检查点；SHA-256 / Ed25519，或国密 SM3 / SM2：GB/T 32905、GB/T 32918）。</span> <span class="en" lang="en">The checks follow contracts-free-ledger/SPEC.md (RFC 9162 Merkle log, C2SP signed checkpoints; SHA-256 / Ed25519, or 国密 SM3 / SM2: GB/T 32905, GB/T 32918).</span></footer>
</main>
${SERVED_PLACEHOLDER}
<script>${script}</script>
</body>
</html>
`;
}

/**
 * injectServedConfig fills the page's data block with the serving log's origin and key (and the
 * TSA roots and witness policy it pins, if any), so the key, TSA-root and policy fields are
 * prefilled (and labelled) when the page is opened from that log. The page ignores the block when
 * opened from disk (`file:`), so a saved copy never pre-pins a key, a root or a policy.
 * Requires: `html` came from {@link renderVerifyPage}.
 */
export function injectServedConfig(html: string, config: ServedConfig): string {
  const at = html.indexOf(SERVED_PLACEHOLDER);
  if (at < 0) throw new Error('verify page: no served-config placeholder (not built by renderVerifyPage?)');
  const value: ServedConfig = {
    origin: config.origin,
    verifierKey: config.verifierKey,
    ...(config.tsaRoots ? { tsaRoots: config.tsaRoots } : {}),
    ...(config.policy ? { policy: config.policy } : {}),
  };
  const block = `<script type="application/json" id="${SERVED_CONFIG_ID}">${jsonForScript(value)}</script>`;
  return html.slice(0, at) + block + html.slice(at + SERVED_PLACEHOLDER.length);
}

function cspHash(text: string): string {
  return `'sha256-${toBase64(sha256(utf8(text)))}'`;
}

/**
 * contentSecurityPolicy returns the CSP of a page: only its own inline `<script>` and `<style>`
 * elements (by SHA-256 hash), `data:` images, and nothing else: no connections, no frames, no
 * forms, no base URL. Data blocks (`type="application/json"`) are not scripts and need no hash.
 */
export function contentSecurityPolicy(html: string): string {
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => cspHash(m[1] ?? ''));
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => cspHash(m[1] ?? ''));
  return [
    "default-src 'none'",
    `script-src ${scripts.length > 0 ? scripts.join(' ') : "'none'"}`,
    `style-src ${styles.length > 0 ? styles.join(' ') : "'none'"}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
