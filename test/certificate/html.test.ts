/**
 * The evidence certificate's HTML: every required field, escaping, the embedded receipt (which
 * verifies on its own), and the routes that serve it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiniLog, TEST_KEYS, content } from '../../scripts/vectors/mini-log.js';
import { beijingTime, certificateFacts, evidenceNumber, formatBytes, renderCertificateHtml } from '../../src/certificate/html.js';
import { newEntry, digestBytes, formatReceivedAt } from '../../src/core/entry/index.js';
import type { Receipt } from '../../src/core/receipt.js';
import { CHECK_IDS, verifyReceipt } from '../../src/verifier/index.js';
import { classifyProofDocument, extractEmbeddedReceipt } from '../../src/web/input.js';
import { escapeHtml } from '../../src/web/template.js';
import { auth, json, pinned, problem, sha256Hex, startServer, type TestServer } from '../http/helpers.js';

const VERIFY_URL = 'https://evidence.example.gov.cn/verify';
const ISSUED = new Date('2026-11-28T09:00:00.000Z');

function miniReceipt(name = '现场检查笔录.pdf'): { receipt: Receipt; file: Uint8Array } {
  const log = new MiniLog();
  log.publish();
  for (let i = 0; i < 4; i++) log.appendDocument(content(i));
  const file = content(99);
  log.appendEntry(
    newEntry({
      type: 'document',
      digest: digestBytes(file),
      meta: { name, mediaType: 'application/pdf', size: file.length, caseId: '衡环罚〔2026〕12号', note: 'site <visit> & "check"' },
      submitter: 'officer-01',
      receivedAt: formatReceivedAt(new Date('2026-11-28T02:03:04.567Z')),
    }),
  );
  log.publish();
  return { receipt: log.receipt(4n), file };
}

describe('renderCertificateHtml', () => {
  it('states every required field, in Chinese and English', async () => {
    const { receipt } = miniReceipt();
    const html = await renderCertificateHtml({ receipt, verifierKey: TEST_KEYS.verifierKey, verifyUrl: VERIFY_URL, issuedAt: ISSUED });
    const f = await certificateFacts({ receipt, verifierKey: TEST_KEYS.verifierKey, verifyUrl: VERIFY_URL });
    const entry = receipt.entry as { digest: { hex: string }; meta: { size: number } };
    const want: Array<[string, string]> = [
      ['title', '电子数据存证证书'],
      ['title en', 'Electronic Evidence Certificate'],
      ['evidence number', `GZ-4-${receipt.leafHash.slice(0, 12)}`],
      ['case', '衡环罚〔2026〕12号'],
      ['file name', '现场检查笔录.pdf'],
      ['file type', 'application/pdf'],
      ['file size', `${entry.meta.size} bytes`],
      ['digest algorithm', 'SHA-256'],
      ['digest value', entry.digest.hex],
      ['submitter', 'officer-01'],
      ['anchoring time (UTC)', '2026-11-28T02:03:04.567Z'],
      ['anchoring time (Beijing)', '2026-11-28 10:03:04.567（北京时间 UTC+8）'],
      ['log origin', 'guzheng.test/log'],
      ['index', '>4<'],
      ['tree size', `>${f.treeSize}<`],
      ['root', f.rootHash],
      ['block height', `>${f.blockHeight}<`],
      ['block hash', f.blockHash],
      ['verifier key id', `guzheng.test/log+${TEST_KEYS.verifierKey.split('+')[1]}`],
      ['verifier key', TEST_KEYS.verifierKey.replace(/\+/g, '+')],
      ['verify link', `${VERIFY_URL}#sha256=${entry.digest.hex}`],
      ['instructions zh', '粘贴您固定的日志公钥并点击“核验”'],
      ['instructions en', 'Obtain the log&#39;s public key independently'],
      ['issued', '2026-11-28T09:00:00.000Z'],
      ['labels', '接收时间'],
      ['labels en', 'Received at'],
      ['received vouched by the log', '日志时钟，经日志签名'],
      ['sealed at, signed', '封存时间'],
      ['trusted time row', '可信时间'],
      ['no stamp yet', '尚未取得可信时间戳'],
    ];
    const missing = want.filter(([, text]) => !html.includes(text)).map(([what]) => what);
    expect(missing).toEqual([]);
    expect(f.treeSize).toBe('5');
    // The QR code is an inline SVG (no image request), inside the #qr box.
    expect(html).toMatch(/<div class="qr" id="qr"><svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 \d+ \d+"/);
    expect(html).not.toMatch(/\s(src)\s*=|<script>|<script src/);
  });

  it('embeds the receipt so that the certificate alone verifies (with the file, against the pinned key)', async () => {
    const { receipt, file } = miniReceipt();
    const html = await renderCertificateHtml({ receipt, verifierKey: TEST_KEYS.verifierKey, verifyUrl: VERIFY_URL });
    const embedded = JSON.parse(extractEmbeddedReceipt(html) ?? 'null');
    expect(embedded).toEqual(receipt);
    const report = await verifyReceipt(embedded, { trustedKeys: [TEST_KEYS.verifierKey], content: { bytes: file } });
    expect(report.valid).toBe(true);
    // Every check passes but the time stamp: the mini log has no TSA.
    expect(report.checks.map((c) => c.status)).toEqual(CHECK_IDS.map((id) => (id === 'timestamp' || id === 'cosignatures' ? 'skip' : 'pass')));
    // The verification page recognizes the certificate as a proof document.
    expect(classifyProofDocument(html)).toEqual({ kind: 'certificate', receipt });
    // The download link carries the same receipt.
    const b64 = /href="data:application\/json;base64,([A-Za-z0-9+/=]+)"/.exec(html)?.[1] ?? '';
    expect(JSON.parse(Buffer.from(b64, 'base64').toString('utf8'))).toEqual(receipt);
  });

  it('escapes every value, in the markup and in the embedded receipt', async () => {
    const evil = `<img src=x onerror=alert(1)>"'&</script>.pdf`;
    const { receipt } = miniReceipt(evil);
    const html = await renderCertificateHtml({ receipt, verifierKey: TEST_KEYS.verifierKey, verifyUrl: `${VERIFY_URL}?"><b>` });
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>');
    expect(html).toContain(escapeHtml(evil));
    expect(html).toContain('site &lt;visit&gt; &amp; &quot;check&quot;');
    // Exactly one closing tag per script element: the name's </script> is escaped in the JSON.
    expect(html.match(/<\/script>/g)).toHaveLength(1);
    expect(JSON.parse(extractEmbeddedReceipt(html) ?? 'null')).toEqual(receipt);
  });

  it('refuses to certify a receipt that does not verify under the log key', async () => {
    const { receipt } = miniReceipt();
    const bad = { ...receipt, leafHash: '0'.repeat(64) };
    await expect(renderCertificateHtml({ receipt: bad, verifierKey: TEST_KEYS.verifierKey, verifyUrl: VERIFY_URL })).rejects.toThrow(/does not verify.*leaf-hash/);
  });

  it('describes records and HJ 212 packets by their own metadata', async () => {
    const log = new MiniLog();
    log.publish();
    const at = formatReceivedAt(new Date('2026-11-28T02:00:00.000Z'));
    log.appendEntry(newEntry({ type: 'record', digest: digestBytes(content(1)), meta: { source: 'https://monitor.example/api', schema: 'reading/v1', dataTime: '2026-11-28T09:00:00+08:00', caseId: 'C-1' }, submitter: 'officer-01', receivedAt: at }));
    log.appendEntry(
      newEntry({
        type: 'hj212',
        digest: digestBytes(content(2)),
        meta: { mn: '88888880000001', st: '32', cn: '2011', dataTime: '2026-11-28T09:00:00+08:00', pollutants: ['a21026'], crc: { ok: true, variant: 'hj212-2017' }, peer: '10.0.0.7:50211', parserVersion: 'guzheng-hj212/0.1.0' },
        submitter: 'gateway',
        receivedAt: at,
      }),
    );
    log.publish();
    const record = await renderCertificateHtml({ receipt: log.receipt(0n), verifierKey: TEST_KEYS.verifierKey, verifyUrl: VERIFY_URL });
    for (const text of ['数据记录 / record (JSON)', 'https://monitor.example/api', 'reading/v1', '2026-11-28T09:00:00+08:00', 'C-1']) expect(record, text).toContain(text);
    expect(record).not.toContain('文件名');
    const hj = await renderCertificateHtml({ receipt: log.receipt(1n), verifierKey: TEST_KEYS.verifierKey, verifyUrl: VERIFY_URL });
    for (const text of ['HJ 212 监测数据包', '88888880000001', '通过 / passed (hj212-2017)', '10.0.0.7:50211', '<td>—</td>']) expect(hj, text).toContain(text);
  });

  it('formats sizes, Beijing time and evidence numbers', async () => {
    expect(formatBytes(0)).toBe('0 bytes');
    expect(formatBytes(1023)).toBe('1,023 bytes');
    expect(formatBytes(300_000)).toBe('300,000 bytes (293.0 KiB)');
    expect(formatBytes(2 * 1024 ** 3)).toBe('2,147,483,648 bytes (2.0 GiB)');
    expect(beijingTime('2026-12-31T16:30:00.000Z')).toBe('2027-01-01 00:30:00.000');
    expect(evidenceNumber('18446744073709551615', 'ab'.repeat(32))).toBe('GZ-18446744073709551615-abababababab');
  });
});

describe('GET /v1/receipts/{index}/certificate', () => {
  let s: TestServer;
  let index: string;
  let file: Buffer;
  beforeAll(async () => {
    s = await startServer();
    file = randomBytes(50_000);
    const r = await json(
      await fetch(`${s.url}/v1/documents?name=${encodeURIComponent('处罚决定书.pdf')}&mediaType=application/pdf&caseId=${encodeURIComponent('衡环罚〔2026〕12号')}&wait=receipt`, {
        method: 'POST',
        headers: { ...auth(s.keys.submit), 'Content-Type': 'application/octet-stream' },
        body: file,
      }),
      201,
    );
    index = r.index;
  });
  afterAll(() => s.destroy());

  it('serves the certificate to the submit and audit roles, with a script-free CSP', async () => {
    for (const role of ['submit', 'audit', 'admin'] as const) {
      const res = await fetch(`${s.url}/v1/receipts/${index}/certificate`, { headers: auth(s.keys[role]) });
      expect(res.status, role).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-disposition')).toBe(`inline; filename="guzheng-certificate-${index}.html"`);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toMatch(/default-src 'none'; script-src 'none'; style-src 'sha256-/);
      const html = await res.text();
      expect(html).toContain(sha256Hex(file));
      expect(html).toContain(`${s.url}/verify#sha256=${sha256Hex(file)}`);
      expect(html).toContain('处罚决定书.pdf');
      const receipt = JSON.parse(extractEmbeddedReceipt(html) ?? 'null');
      expect((await verifyReceipt(receipt, { ...pinned, content: { bytes: new Uint8Array(file) } })).valid).toBe(true);
    }
  });

  it('needs a key with a role (401 without, 404 beyond the log, 400 for a bad index)', async () => {
    await problem(await fetch(`${s.url}/v1/receipts/${index}/certificate`), 401);
    await problem(await fetch(`${s.url}/v1/receipts/${index}/certificate.pdf`), 401);
    expect(await problem(await fetch(`${s.url}/v1/receipts/99/certificate`, { headers: auth(s.keys.audit) }), 404)).toMatchObject({ code: 'NOT_FOUND', field: 'index' });
    expect(await problem(await fetch(`${s.url}/v1/receipts/01/certificate`, { headers: auth(s.keys.audit) }), 400)).toMatchObject({ code: 'INPUT_INVALID', field: 'index' });
  });

  it('answers 503 with a clear message when Chromium is missing for the PDF', async () => {
    const saved = process.env.GUZHENG_CHROMIUM;
    process.env.GUZHENG_CHROMIUM = '/nonexistent/chromium';
    try {
      const p = await problem(await fetch(`${s.url}/v1/receipts/${index}/certificate.pdf`, { headers: auth(s.keys.audit) }), 503);
      expect(p.code).toBe('UNAVAILABLE');
      expect(p.detail).toMatch(/Chromium not found at \/nonexistent\/chromium.*apt-get install chromium.*GUZHENG_CHROMIUM.*\/certificate works without it/);
    } finally {
      if (saved === undefined) delete process.env.GUZHENG_CHROMIUM;
      else process.env.GUZHENG_CHROMIUM = saved;
    }
  });

  it('is listed in the OpenAPI document with its media types', async () => {
    const doc = await json(await fetch(`${s.url}/openapi.json`));
    expect(Object.keys(doc.paths['/v1/receipts/{index}/certificate'].get.responses['200'].content)).toEqual(['text/html; charset=utf-8']);
    expect(Object.keys(doc.paths['/v1/receipts/{index}/certificate.pdf'].get.responses['200'].content)).toEqual(['application/pdf']);
    expect(doc.paths['/v1/receipts/{index}/certificate'].get.security).toEqual([{ bearer: [] }, { session: [] }]);
    expect(doc.paths['/verify'].get.security).toEqual([]);
  });
});
