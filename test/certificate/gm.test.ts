/**
 * The evidence certificate of a 国密 (`gm`) log's receipt (src/certificate/html.ts): it names
 * 国密 SM2/SM3 — digest algorithm SM3, signature algorithm SM2 — in Chinese and English, spells the
 * digest as SM3, points its QR link at `#sm3=`, names the GB/T standards, says nothing of SHA-256
 * or Ed25519, and still fits one A4 page; a c2sp certificate names SHA-256 and Ed25519 and no 国密.
 */
import { describe, expect, it } from 'vitest';
import { GM_DOCUMENT, buildGmLog } from '../../scripts/vectors/gm.js';
import { MiniLog, TEST_KEYS, GM_KEYS, GM_ORIGIN, content } from '../../scripts/vectors/mini-log.js';
import { certificateFacts, renderCertificateHtml } from '../../src/certificate/html.js';
import { PdfRenderer } from '../../src/certificate/pdf.js';
import { toHex } from '../../src/core/bytes.js';
import { sm3 } from '../../src/core/crypto-gm.js';
import { digestBytes, newEntry } from '../../src/core/entry/index.js';
import { HAVE_CHROMIUM } from '../web/chromium.js';
import { verifyReceipt } from '../../src/verifier/index.js';
import { classifyProofDocument } from '../../src/web/input.js';

const VERIFY_URL = 'https://evidence.example.gov.cn/verify';
const ISSUED = new Date('2026-03-01T09:00:00.000Z');

/** The visible text of a certificate: tags and the embedded receipt removed, entities decoded, white space collapsed. */
function visibleText(html: string): string {
  return html
    .replace(/<script[\s\S]*?<\/script>/g, '')
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/<svg[\s\S]*?<\/svg>/g, '')
    .replace(/<pre>[\s\S]*?<\/pre>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

describe('the certificate of a gm log', () => {
  const log = buildGmLog();
  const receipt = log.receipt(1n);
  const hex = toHex(sm3(GM_DOCUMENT));

  it('says 国密 SM2/SM3, digest algorithm SM3 and signature SM2, in both languages, and no SHA-256 or Ed25519', async () => {
    const html = await renderCertificateHtml({ receipt, verifierKey: GM_KEYS.verifierKey, verifyUrl: VERIFY_URL, issuedAt: ISSUED });
    const text = visibleText(html);
    const want: Array<[string, string]> = [
      ['label', '密码算法 Algorithms'],
      ['suite, digest and signature algorithms, zh and en', '国密 SM2/SM3：摘要算法 SM3，签名算法 SM2 / digest algorithm SM3, signature SM2'],
      ['digest row', `摘要算法与值 Digest SM3 ${hex}`],
      ['open algorithms (standards)', 'Open algorithms: RFC 9162, C2SP, 国密 SM3 (GB/T 32905), SM2 (GB/T 32918), RFC 3161'],
      ['verify link', `${VERIFY_URL}#sm3=${hex}`],
    ];
    expect(want.filter(([, t]) => !text.includes(t)).map(([what]) => what)).toEqual([]);
    expect(text).not.toMatch(/SHA-256|sha256|Ed25519/);
    const f = await certificateFacts({ receipt, verifierKey: GM_KEYS.verifierKey, verifyUrl: VERIFY_URL });
    expect([f.suite, f.verifyLink, f.entry.digest.alg]).toEqual(['gm', `${VERIFY_URL}#sm3=${hex}`, 'sm3']);
  });

  it('embeds the receipt, which verifies with the SM2 key and the file on its own', async () => {
    const html = await renderCertificateHtml({ receipt, verifierKey: GM_KEYS.verifierKey, verifyUrl: VERIFY_URL, issuedAt: ISSUED });
    const doc = classifyProofDocument(html);
    expect(doc.kind).toBe('certificate');
    const report = await verifyReceipt(doc.kind === 'certificate' ? doc.receipt : undefined, { trustedKeys: [GM_KEYS.verifierKey], content: { bytes: GM_DOCUMENT } });
    expect([report.valid, report.facts.suite]).toEqual([true, 'gm']);
  });

  it('is refused for a gm receipt under a c2sp key (the log certifies only what verifies under its key)', async () => {
    await expect(renderCertificateHtml({ receipt, verifierKey: TEST_KEYS.verifierKey, verifyUrl: VERIFY_URL, issuedAt: ISSUED })).rejects.toThrow(/does not verify/);
  });
});

describe.skipIf(!HAVE_CHROMIUM)('the certificate of a gm log in Chromium', () => {
  it('still prints the certificate on one A4 page (two with the receipt appendix), with a long name and a note', async () => {
    const log = new MiniLog(GM_KEYS.signerKey, GM_KEYS.verifierKey, GM_ORIGIN);
    log.publish();
    const file = new Uint8Array(1_234_567).fill(7);
    log.appendEntry(
      newEntry({
        type: 'document',
        digest: digestBytes(file, 'sm3'),
        meta: { name: '现场检查笔录（2026-03-01，衡水市生态环境局执法支队第三大队）.pdf', mediaType: 'application/pdf', size: file.length, caseId: '衡环罚〔2026〕12号', note: '现场检查，拍照 12 张，笔录 3 页，当事人签字确认' },
        submitter: 'officer-01',
        receivedAt: log.now(),
      }),
    );
    for (let i = 0; i < 6; i++) log.appendDocument(content(i));
    log.publish();
    const html = await renderCertificateHtml({ receipt: log.receipt(0n), verifierKey: GM_KEYS.verifierKey, verifyUrl: VERIFY_URL, issuedAt: ISSUED });
    const pdf = await new PdfRenderer({ maxConcurrent: 1 }).render(html);
    expect(Buffer.from(pdf).toString('latin1').match(/\/Type\s*\/Page\b/g)).toHaveLength(2);
  }, 60_000);
});

describe('the certificate of a c2sp log', () => {
  it('says digest algorithm SHA-256 and signature Ed25519, and no 国密', async () => {
    const log = new MiniLog();
    log.publish();
    for (let i = 0; i < 3; i++) log.appendDocument(content(i));
    log.publish();
    const html = await renderCertificateHtml({ receipt: log.receipt(1n), verifierKey: TEST_KEYS.verifierKey, verifyUrl: VERIFY_URL, issuedAt: ISSUED });
    const text = visibleText(html);
    expect(text).toContain('摘要算法 SHA-256，签名算法 Ed25519 / digest algorithm SHA-256, signature Ed25519');
    expect(text).toContain('Open algorithms: RFC 9162, C2SP, Ed25519, RFC 3161');
    expect(text).not.toMatch(/国密|SM2|SM3/);
    expect((await certificateFacts({ receipt: log.receipt(1n), verifierKey: TEST_KEYS.verifierKey, verifyUrl: VERIFY_URL })).suite).toBe('c2sp');
  });
});
