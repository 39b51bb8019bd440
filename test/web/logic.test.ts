/**
 * The verification page's logic without a browser: streaming hashing, input recognition, the
 * plain-words explanations, the template (escaping, CSP, served key) and the bundle build.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildVerifyPage } from '../../scripts/build-web.js';
import { MiniLog, OTHER_KEYS, TEST_KEYS, content } from '../../scripts/vectors/mini-log.js';
import type { ErrorCode } from '../../src/core/errors.js';
import { parseReceipt } from '../../src/core/receipt.js';
import { receiptToTlogProof } from '../../src/core/tlog-proof.js';
import { CHECK_IDS, verifyReceipt } from '../../src/verifier/index.js';
import { buildBundle } from '../../src/core/bundle.js';
import { decodeEntry, digestBytes } from '../../src/core/entry/index.js';
import { verifyBundle } from '../../src/verifier/index.js';
import { CODE_EXPLANATIONS, explainBundleReport, explainCheck, explainReport } from '../../src/web/explain.js';
import { sha256Blob } from '../../src/web/hash.js';
import { classifyProofDocument, digestFromFragment, extractEmbeddedReceipt, parsePinnedKeys } from '../../src/web/input.js';
import { contentSecurityPolicy, escapeHtml, injectServedConfig, jsonForScript, renderVerifyPage, SERVED_CONFIG_ID } from '../../src/web/template.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function setup() {
  const log = new MiniLog();
  log.publish();
  for (let i = 0; i < 5; i++) log.appendDocument(content(i));
  log.publish();
  return { log, receipt: log.receipt(3n) };
}

describe('sha256Blob (streaming SHA-256 of a File)', () => {
  it('equals node:crypto for every chunk size, including chunk boundaries inside the data', async () => {
    const data = new Uint8Array(randomBytes(100_003));
    const want = sha(data);
    for (const chunkBytes of [1 << 20, 65_536, 4096, 1000, 7, 100_003, 100_002]) {
      expect(await sha256Blob(new Blob([data]), { chunkBytes }), `chunk ${chunkBytes}`).toBe(want);
    }
  });

  it('hashes an empty file, reports progress to the total, and can be cancelled', async () => {
    expect(await sha256Blob(new Blob([]))).toBe(sha(new Uint8Array(0)));
    const seen: number[] = [];
    const data = new Uint8Array(10_000);
    await sha256Blob(new Blob([data]), { chunkBytes: 3000, onProgress: (d, t) => seen.push(d / t) });
    expect(seen).toEqual([0.3, 0.6, 0.9, 1]);
    await expect(sha256Blob(new Blob([data]), { chunkBytes: 3000, cancelled: () => true })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(sha256Blob(new Blob([data]), { chunkBytes: 0 })).rejects.toThrow(/chunkBytes/);
  });

  it('hashes a file larger than one default chunk without holding it whole', async () => {
    const part = new Uint8Array(randomBytes(1 << 20));
    const blob = new Blob(Array.from({ length: 9 }, () => part)); // 9 MiB: three 4 MiB chunks
    const h = createHash('sha256');
    for (let i = 0; i < 9; i++) h.update(part);
    expect(await sha256Blob(blob)).toBe(h.digest('hex'));
  });
});

describe('classifyProofDocument', () => {
  it('recognizes a receipt, a tlog-proof, a certificate and a bundle', () => {
    const { receipt } = setup();
    expect(classifyProofDocument(JSON.stringify(receipt, null, 2))).toEqual({ kind: 'receipt', receipt });
    expect(classifyProofDocument('\uFEFF' + JSON.stringify(receipt))).toEqual({ kind: 'receipt', receipt });
    const proof = receiptToTlogProof(parseReceipt(receipt));
    expect(classifyProofDocument(proof)).toEqual({ kind: 'tlog-proof', text: proof });
    const html = `<!doctype html><p>x</p><script type="application/json" id="receipt">${jsonForScript(receipt)}</script>`;
    expect(classifyProofDocument(html)).toEqual({ kind: 'certificate', receipt });
    expect(classifyProofDocument('{"format":"guzheng-bundle/v1","receipts":[]}')).toMatchObject({ kind: 'bundle' });
  });

  it('hands a broken receipt to the verifier (which says what is wrong) and refuses other text', () => {
    const broken = classifyProofDocument('{"format":"guzheng-receipt/v1",');
    expect(broken).toEqual({ kind: 'receipt', receipt: '{"format":"guzheng-receipt/v1",' });
    if (broken.kind !== 'receipt') throw new Error('unreachable');
    const r = verifyReceipt(broken.receipt, { trustedKeys: [TEST_KEYS.verifierKey] });
    expect(r.checks).toEqual([expect.objectContaining({ id: 'format', status: 'fail', code: 'RECEIPT_MALFORMED' })]);
    expect(classifyProofDocument('  ')).toMatchObject({ kind: 'unknown' });
    expect(classifyProofDocument('hello')).toMatchObject({ kind: 'unknown' });
    expect(classifyProofDocument('<html><body>no receipt</body></html>')).toMatchObject({ kind: 'unknown' });
  });

  it('extracts an embedded receipt whose strings contain </script>', () => {
    const value = { format: 'guzheng-receipt/v1', note: '</script><script>alert(1)</script> & \u2028' };
    const html = `<script type="application/json" id="receipt">${jsonForScript(value)}</script><script>1</script>`;
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    expect(JSON.parse(extractEmbeddedReceipt(html) ?? '')).toEqual(value);
  });
});

describe('small parsers', () => {
  it('reads #sha256=<hex> from the fragment, case-insensitively, and nothing else', () => {
    const hex = 'ab'.repeat(32);
    expect(digestFromFragment(`#sha256=${hex}`)).toBe(hex);
    expect(digestFromFragment(`#x=1&sha256=${hex.toUpperCase()}`)).toBe(hex);
    expect(digestFromFragment(`#sha256=${hex}0`)).toBeUndefined();
    expect(digestFromFragment('')).toBeUndefined();
  });

  it('splits pinned keys on lines and spaces', () => {
    expect(parsePinnedKeys(`  ${TEST_KEYS.verifierKey}\r\n\n${OTHER_KEYS.verifierKey} `)).toEqual([TEST_KEYS.verifierKey, OTHER_KEYS.verifierKey]);
    expect(parsePinnedKeys(' \n ')).toEqual([]);
  });
});

describe('explainReport', () => {
  it('has Chinese and English words for every error code', () => {
    const codes = Object.keys(CODE_EXPLANATIONS) as ErrorCode[];
    expect(codes).toHaveLength(14);
    for (const c of codes) {
      expect(CODE_EXPLANATIONS[c].zh, c).toMatch(/[\u4e00-\u9fff]/);
      expect(CODE_EXPLANATIONS[c].en, c).toMatch(/^[A-Z]/);
    }
  });

  it('explains every check of a valid report, and says when the content was not compared', () => {
    const { receipt } = setup();
    const withFile = explainReport(verifyReceipt(receipt, { trustedKeys: [TEST_KEYS.verifierKey], content: { bytes: content(3) } }));
    expect(withFile).toMatchObject({ valid: true, verdict: { zh: '有效', en: 'VALID' } });
    expect(withFile.checks.map((c) => c.id)).toEqual([...CHECK_IDS]);
    expect(withFile.checks.every((c) => c.mark === '✓')).toBe(true);
    expect(withFile.summary.en).toMatch(/exactly the anchored content/);
    const without = explainReport(verifyReceipt(receipt, { trustedKeys: [TEST_KEYS.verifierKey] }));
    expect(without.valid).toBe(true);
    expect(without.checks.find((c) => c.id === 'content')).toMatchObject({ mark: '–', explanation: { en: expect.stringMatching(/not compared/) } });
    expect(without.summary.en).toMatch(/not compared/);
  });

  it('names the failed checks in both languages, with the code-specific explanation', () => {
    const { receipt } = setup();
    const changed = content(3).slice();
    changed[0]! ^= 1;
    const x = explainReport(verifyReceipt(receipt, { trustedKeys: [TEST_KEYS.verifierKey], content: { bytes: changed } }));
    expect(x).toMatchObject({ valid: false, verdict: { zh: '无效', en: 'INVALID' }, summary: { zh: '未通过：内容摘要。', en: 'Failed: Content digest.' } });
    expect(x.checks.find((c) => c.id === 'content')).toMatchObject({ mark: '✗', code: 'DIGEST_MISMATCH', explanation: CODE_EXPLANATIONS.DIGEST_MISMATCH });
    const other = explainReport(verifyReceipt(receipt, { trustedKeys: [OTHER_KEYS.verifierKey] }));
    expect(other.checks.find((c) => c.id === 'checkpoint')).toMatchObject({ code: 'NOTE_UNVERIFIED', explanation: { en: expect.stringMatching(/another log/) } });
    const bad = { ...receipt, inclusionProof: receipt.inclusionProof.map((h, i) => (i === 0 ? (h[0] === '0' ? '1' : '0') + h.slice(1) : h)) };
    const incl = explainCheck(verifyReceipt(bad, { trustedKeys: [TEST_KEYS.verifierKey] }).checks.find((c) => c.id === 'inclusion')!);
    expect(incl).toMatchObject({ status: 'fail', code: 'PROOF_INVALID', title: { zh: '包含性证明', en: 'Inclusion proof' }, explanation: { zh: expect.stringMatching(/包含性证明不成立/) } });
  });
});

describe('explainBundleReport', () => {
  function bundle() {
    const { log } = setup();
    const items = [0n, 2n, 3n].map((i) => {
      const p = parseReceipt(log.receipt(i));
      return { index: p.index, entry: p.entry, inclusionProof: p.inclusionProof, checkpoint: p.checkpoint, block: p.block, blockConsistency: p.blockConsistency, decoded: decodeEntry(p.entryBytes) };
    });
    return buildBundle({ caseId: '衡环罚〔2026〕12号', createdAt: '2026-11-28T09:00:00.000Z', verifierKey: TEST_KEYS.verifierKey, checkpoint: items[0]!.checkpoint, items });
  }
  const digest = (i: number) => ({ digest: digestBytes(content(i)) });

  it('says a bundle is valid, with every item, and whether files were compared', () => {
    const b = bundle();
    const withFiles = explainBundleReport(verifyBundle(b, { trustedKeys: [TEST_KEYS.verifierKey], files: [{ label: 'doc.pdf', content: digest(2) }] }));
    expect(withFiles).toMatchObject({ valid: true, verdict: { en: 'VALID' }, summary: { en: expect.stringMatching(/valid \(3 items\), and every given file/) } });
    expect(withFiles.checks.map((c) => `${c.mark}${c.id}`)).toEqual(['✓format', '✓checkpoint', '✓manifest', '✓items', '✓files']);
    expect(withFiles.items.map((i) => [i.index, i.name, i.valid])).toEqual([['0', 'doc.pdf', true], ['2', 'doc.pdf', true], ['3', 'doc.pdf', true]]);
    const none = explainBundleReport(verifyBundle(b, { trustedKeys: [TEST_KEYS.verifierKey] }));
    expect(none.checks.find((c) => c.id === 'files')).toMatchObject({ mark: '–', explanation: { en: expect.stringMatching(/No files given/) } });
  });

  it('names a foreign file and a foreign key in both languages', () => {
    const b = bundle();
    const foreign = explainBundleReport(verifyBundle(b, { trustedKeys: [TEST_KEYS.verifierKey], files: [{ label: 'other.pdf', content: digest(1) }] }));
    expect(foreign).toMatchObject({ valid: false, summary: { zh: '未通过：所给文件均为已存证项。' } });
    expect(foreign.checks.find((c) => c.id === 'files')).toMatchObject({ mark: '✗', code: 'DIGEST_MISMATCH', explanation: { zh: expect.stringMatching(/不属于该证据包/) } });
    const otherKey = explainBundleReport(verifyBundle(b, { trustedKeys: [OTHER_KEYS.verifierKey] }));
    expect(otherKey.valid).toBe(false);
    expect(otherKey.checks.find((c) => c.id === 'checkpoint')).toMatchObject({ code: 'NOTE_UNVERIFIED', explanation: CODE_EXPLANATIONS.NOTE_UNVERIFIED });
    expect(otherKey.items.every((i) => !i.valid && i.checks.some((c) => c.id === 'checkpoint' && c.mark === '✗'))).toBe(true);
  });
});

describe('the page template', () => {
  it('escapes data blocks and text', () => {
    const v = { a: '</script><!-- & \u2028\u2029 >' };
    const s = jsonForScript(v);
    expect(s).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(s)).toEqual(v);
    expect(escapeHtml(`<a href="x" onclick='y'>&`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;');
  });

  it('refuses a script that would close its element', () => {
    expect(() => renderVerifyPage('var s="</script>"')).toThrow(/<\/script/);
    expect(() => renderVerifyPage('var s="<!--"')).toThrow(/<!--/);
  });

  it('injects the serving log key into the data block only, escaped', () => {
    const html = renderVerifyPage('1');
    const served = injectServedConfig(html, { origin: 'o</script>', verifierKey: TEST_KEYS.verifierKey });
    const block = served.match(new RegExp(`<script type="application/json" id="${SERVED_CONFIG_ID}">(.*?)</script>`))?.[1];
    expect(JSON.parse(block ?? '')).toEqual({ origin: 'o</script>', verifierKey: TEST_KEYS.verifierKey });
    expect(() => injectServedConfig(served, { origin: 'x', verifierKey: 'y' })).toThrow(/placeholder/);
  });

  it('has a CSP that allows exactly its inline script and style by hash, and nothing else', () => {
    const html = renderVerifyPage('console.log(1)');
    const csp = contentSecurityPolicy(html);
    const hashOf = (t: string) => `'sha256-${createHash('sha256').update(t).digest('base64')}'`;
    expect(csp).toContain(`script-src ${hashOf('console.log(1)')};`);
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/]{43}=';/);
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/unsafe|http|\*/);
  });
});

describe('buildVerifyPage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'guzheng-web-build-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one self-contained HTML file that references nothing outside itself', async () => {
    const t0 = performance.now();
    const built = await buildVerifyPage(join(dir, 'out', 'verify.html'));
    const ms = performance.now() - t0;
    const html = readFileSync(built.path, 'utf8');
    expect(html === built.html).toBe(true);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // No external resource of any kind: no src/href attributes, no url() or @import in the CSS,
    // no network API in the script. (Plain booleans: a failure must not print half a megabyte.)
    const markup = html.replace(/<script>[\s\S]*?<\/script>/, '<script></script>');
    expect(/\s(src|href|action|srcset)\s*=/i.test(html)).toBe(false);
    expect(/url\(|@import/.test(markup)).toBe(false);
    expect(/\bfetch\(|XMLHttpRequest|WebSocket|EventSource|sendBeacon|importScripts/.test(html)).toBe(false);
    expect(html.match(/<script>/g)).toHaveLength(1);
    expect(built.scriptBytes).toBeGreaterThan(50_000);
    expect(ms).toBeLessThan(30_000);
    // The verifier is in it: the check titles and an error code made it into the bundle.
    expect(html.includes('guzheng-receipt/v1') && html.includes('PROOF_INVALID')).toBe(true);
  });

  it('is reproducible (same input, same bytes)', async () => {
    const a = await buildVerifyPage(join(dir, 'a.html'));
    const b = await buildVerifyPage(join(dir, 'b.html'));
    expect(a.html === b.html).toBe(true);
  });
});
