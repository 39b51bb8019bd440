/**
 * The verification page's logic without a browser: streaming hashing, input recognition, the
 * plain-words explanations, the template (escaping, CSP, served key) and the bundle build.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildVerifyPage } from '../../scripts/build-web.js';
import { MiniLog, OTHER_KEYS, TEST_KEYS, content } from '../../scripts/vectors/mini-log.js';
import { fromBase64, toBase64 } from '../../src/core/bytes.js';
import type { ErrorCode } from '../../src/core/errors.js';
import { parseReceipt, type Receipt } from '../../src/core/receipt.js';
import { stampImprint } from '../../src/core/stamp.js';
import { TSA_OFF } from '../../src/http/app.js';
import { beijingTime, reportTimes, type TimeRow } from '../../src/web/times.js';
import { opensslToken } from '../support/tsa/server.js';
import { testPki, TEST_POLICY, type TestPki } from '../support/tsa/pki.js';
import { startServer } from '../http/helpers.js';
import { receiptToTlogProof } from '../../src/core/tlog-proof.js';
import { CHECK_IDS, verifyReceipt } from '../../src/verifier/index.js';
import { buildBundle } from '../../src/core/bundle.js';
import { decodeEntry, digestBytes } from '../../src/core/entry/index.js';
import { verifyBundle } from '../../src/verifier/index.js';
import { CODE_EXPLANATIONS, explainBundleReport, explainCheck, explainReport } from '../../src/web/explain.js';
import { sha256Blob } from '../../src/web/hash.js';
import { certificateFileText, classifyProofDocument, describeTsaRoots, digestFromFragment, extractEmbeddedReceipt, formatCertificatesPem, parsePinnedKeys, parsePinnedTsaRoots } from '../../src/web/input.js';
import { contentSecurityPolicy, escapeHtml, injectServedConfig, jsonForScript, renderVerifyPage, SERVED_CONFIG_ID } from '../../src/web/template.js';
import { describePolicy, formatPolicy, parsePinnedPolicy, policyFileText, POLICY_MALFORMED_ERROR, witnessesView } from '../../src/web/witnesses.js';
import { generateWitnessKey, signCosignature } from '../../src/core/cosignature.js';
import { parsePolicy, type Policy } from '../../src/core/policy.js';

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
  it('recognizes a receipt, a tlog-proof, a certificate and a bundle', async () => {
    const { receipt } = setup();
    expect(classifyProofDocument(JSON.stringify(receipt, null, 2))).toEqual({ kind: 'receipt', receipt });
    expect(classifyProofDocument('\uFEFF' + JSON.stringify(receipt))).toEqual({ kind: 'receipt', receipt });
    const proof = receiptToTlogProof(parseReceipt(receipt));
    expect(classifyProofDocument(proof)).toEqual({ kind: 'tlog-proof', text: proof });
    const html = `<!doctype html><p>x</p><script type="application/json" id="receipt">${jsonForScript(receipt)}</script>`;
    expect(classifyProofDocument(html)).toEqual({ kind: 'certificate', receipt });
    expect(classifyProofDocument('{"format":"guzheng-bundle/v1","receipts":[]}')).toMatchObject({ kind: 'bundle' });
  });

  it('hands a broken receipt to the verifier (which says what is wrong) and refuses other text', async () => {
    const broken = classifyProofDocument('{"format":"guzheng-receipt/v1",');
    expect(broken).toEqual({ kind: 'receipt', receipt: '{"format":"guzheng-receipt/v1",' });
    if (broken.kind !== 'receipt') throw new Error('unreachable');
    const r = await verifyReceipt(broken.receipt, { trustedKeys: [TEST_KEYS.verifierKey] });
    expect(r.checks).toEqual([expect.objectContaining({ id: 'format', status: 'fail', code: 'RECEIPT_MALFORMED' })]);
    expect(classifyProofDocument('  ')).toMatchObject({ kind: 'unknown' });
    expect(classifyProofDocument('hello')).toMatchObject({ kind: 'unknown' });
    expect(classifyProofDocument('<html><body>no receipt</body></html>')).toMatchObject({ kind: 'unknown' });
  });

  it('extracts an embedded receipt whose strings contain </script>', async () => {
    const value = { format: 'guzheng-receipt/v1', note: '</script><script>alert(1)</script> & \u2028' };
    const html = `<script type="application/json" id="receipt">${jsonForScript(value)}</script><script>1</script>`;
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    expect(JSON.parse(extractEmbeddedReceipt(html) ?? '')).toEqual(value);
  });
});

describe('small parsers', () => {
  it('reads #sha256=<hex> from the fragment, case-insensitively, and nothing else', async () => {
    const hex = 'ab'.repeat(32);
    expect(digestFromFragment(`#sha256=${hex}`)).toBe(hex);
    expect(digestFromFragment(`#x=1&sha256=${hex.toUpperCase()}`)).toBe(hex);
    expect(digestFromFragment(`#sha256=${hex}0`)).toBeUndefined();
    expect(digestFromFragment('')).toBeUndefined();
  });

  it('splits pinned keys on lines and spaces', async () => {
    expect(parsePinnedKeys(`  ${TEST_KEYS.verifierKey}\r\n\n${OTHER_KEYS.verifierKey} `)).toEqual([TEST_KEYS.verifierKey, OTHER_KEYS.verifierKey]);
    expect(parsePinnedKeys(' \n ')).toEqual([]);
  });
});

describe('explainReport', () => {
  it('has Chinese and English words for every error code', async () => {
    const codes = Object.keys(CODE_EXPLANATIONS) as ErrorCode[];
    expect(codes).toHaveLength(18);
    for (const c of codes) {
      expect(CODE_EXPLANATIONS[c].zh, c).toMatch(/[\u4e00-\u9fff]/);
      expect(CODE_EXPLANATIONS[c].en, c).toMatch(/^[A-Z]/);
    }
  });

  it('explains every check of a valid report, and says when the content was not compared', async () => {
    const { receipt } = setup();
    const withFile = explainReport(await verifyReceipt(receipt, { trustedKeys: [TEST_KEYS.verifierKey], content: { bytes: content(3) } }));
    expect(withFile).toMatchObject({ valid: true, verdict: { zh: '有效', en: 'VALID' } });
    expect(withFile.checks.map((c) => c.id)).toEqual([...CHECK_IDS]);
    expect(withFile.checks.filter((c) => c.mark !== '✓').map((c) => c.id)).toEqual(['timestamp', 'cosignatures']);
    expect(withFile.checks.find((c) => c.id === 'timestamp')).toMatchObject({ mark: '–', explanation: { zh: expect.stringMatching(/^尚无可信时间戳/) } });
    expect(withFile.summary.en).toMatch(/exactly the anchored content/);
    const without = explainReport(await verifyReceipt(receipt, { trustedKeys: [TEST_KEYS.verifierKey] }));
    expect(without.valid).toBe(true);
    expect(without.checks.find((c) => c.id === 'content')).toMatchObject({ mark: '–', explanation: { en: expect.stringMatching(/not compared/) } });
    expect(without.summary.en).toMatch(/not compared/);
  });

  it('names the failed checks in both languages, with the code-specific explanation', async () => {
    const { receipt } = setup();
    const changed = content(3).slice();
    changed[0]! ^= 1;
    const x = explainReport(await verifyReceipt(receipt, { trustedKeys: [TEST_KEYS.verifierKey], content: { bytes: changed } }));
    expect(x).toMatchObject({ valid: false, verdict: { zh: '无效', en: 'INVALID' }, summary: { zh: '未通过：内容摘要。', en: 'Failed: Content digest.' } });
    expect(x.checks.find((c) => c.id === 'content')).toMatchObject({ mark: '✗', code: 'DIGEST_MISMATCH', explanation: CODE_EXPLANATIONS.DIGEST_MISMATCH });
    const other = explainReport(await verifyReceipt(receipt, { trustedKeys: [OTHER_KEYS.verifierKey] }));
    expect(other.checks.find((c) => c.id === 'checkpoint')).toMatchObject({ code: 'NOTE_UNVERIFIED', explanation: { en: expect.stringMatching(/another log/) } });
    const bad = { ...receipt, inclusionProof: receipt.inclusionProof.map((h, i) => (i === 0 ? (h[0] === '0' ? '1' : '0') + h.slice(1) : h)) };
    const incl = explainCheck((await verifyReceipt(bad, { trustedKeys: [TEST_KEYS.verifierKey] })).checks.find((c) => c.id === 'inclusion')!);
    expect(incl).toMatchObject({ status: 'fail', code: 'PROOF_INVALID', title: { zh: '包含性证明', en: 'Inclusion proof' }, explanation: { zh: expect.stringMatching(/包含性证明不成立/) } });
  });
});

describe('explainBundleReport', () => {
  function bundle() {
    const { log } = setup();
    const items = [0n, 2n, 3n].map((i) => {
      const p = parseReceipt(log.receipt(i));
      return { index: p.index, entry: p.entry, inclusionProof: p.inclusionProof, checkpoint: p.checkpoint, block: p.block, blockConsistency: p.blockConsistency, timestamp: null, decoded: decodeEntry(p.entryBytes) };
    });
    return buildBundle({ caseId: '衡环罚〔2026〕12号', createdAt: '2026-11-28T09:00:00.000Z', verifierKey: TEST_KEYS.verifierKey, checkpoint: items[0]!.checkpoint, items });
  }
  const digest = (i: number) => ({ digest: digestBytes(content(i)) });

  it('says a bundle is valid, with every item, and whether files were compared', async () => {
    const b = bundle();
    const withFiles = explainBundleReport(await verifyBundle(b, { trustedKeys: [TEST_KEYS.verifierKey], files: [{ label: 'doc.pdf', content: digest(2) }] }));
    expect(withFiles).toMatchObject({ valid: true, verdict: { en: 'VALID' }, summary: { en: expect.stringMatching(/valid \(3 items\), and every given file/) } });
    expect(withFiles.checks.map((c) => `${c.mark}${c.id}`)).toEqual(['✓format', '✓checkpoint', '✓manifest', '✓items', '✓files']);
    expect(withFiles.items.map((i) => [i.index, i.name, i.valid])).toEqual([['0', 'doc.pdf', true], ['2', 'doc.pdf', true], ['3', 'doc.pdf', true]]);
    const none = explainBundleReport(await verifyBundle(b, { trustedKeys: [TEST_KEYS.verifierKey] }));
    expect(none.checks.find((c) => c.id === 'files')).toMatchObject({ mark: '–', explanation: { en: expect.stringMatching(/No files given/) } });
  });

  it('names a foreign file and a foreign key in both languages', async () => {
    const b = bundle();
    const foreign = explainBundleReport(await verifyBundle(b, { trustedKeys: [TEST_KEYS.verifierKey], files: [{ label: 'other.pdf', content: digest(1) }] }));
    expect(foreign).toMatchObject({ valid: false, summary: { zh: '未通过：所给文件均为已存证项。' } });
    expect(foreign.checks.find((c) => c.id === 'files')).toMatchObject({ mark: '✗', code: 'DIGEST_MISMATCH', explanation: { zh: expect.stringMatching(/不属于该证据包/) } });
    const otherKey = explainBundleReport(await verifyBundle(b, { trustedKeys: [OTHER_KEYS.verifierKey] }));
    expect(otherKey.valid).toBe(false);
    expect(otherKey.checks.find((c) => c.id === 'checkpoint')).toMatchObject({ code: 'NOTE_UNVERIFIED', explanation: CODE_EXPLANATIONS.NOTE_UNVERIFIED });
    expect(otherKey.items.every((i) => !i.valid && i.checks.some((c) => c.id === 'checkpoint' && c.mark === '✗'))).toBe(true);
  });
});

/** A time-stamped receipt: entry 3 of a mini log, stamped (a real openssl token) at its proving checkpoint. */
async function stampedReceipt(): Promise<Receipt> {
  const log = new MiniLog();
  log.publish();
  for (let i = 0; i < 5; i++) log.appendDocument(content(i));
  const block = log.publish();
  const token = await opensslToken(stampImprint(block.checkpoint));
  return { ...log.receipt(3n), timestamp: { checkpoint: block.checkpoint, consistency: [], tokens: [toBase64(token)] } };
}

const WAVE1_KEY = 'guzheng.test/wave1+96d1dd6f+AREuOeD+YLMsKf7IQew6fAB7Sx2kJB+ion/PlFKRNjOx';
const wave1Receipt = (): unknown => JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'wave1-log', 'receipt-1.json'), 'utf8'));
const byKind = (rows: readonly TimeRow[]) => rows.map((r) => `${r.kind}:${r.state}`);

describe('pinned TSA roots (the page field)', () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await testPki();
  }, 60_000);

  it('spells DER as PEM exactly as openssl does, and reads it back', () => {
    const pem = readFileSync(pki.rootPemPath, 'utf8');
    expect(formatCertificatesPem([pki.rootDer])).toBe(pem);
    expect(parsePinnedTsaRoots(pem)).toEqual([pki.rootDer]);
    const two = formatCertificatesPem([pki.rootDer, pki.untrustedRootDer]);
    expect(parsePinnedTsaRoots(two)).toEqual([pki.rootDer, pki.untrustedRootDer]);
    expect(describeTsaRoots([pki.rootDer, pki.untrustedRootDer])).toEqual([expect.stringMatching(/CN=Guzheng Test Root CA/), expect.stringMatching(/CN=Guzheng Untrusted Root CA/)]);
  });

  it('pins nothing for an empty field, and forgives indentation, CRLF and a BOM as pasted', () => {
    expect(parsePinnedTsaRoots('')).toEqual([]);
    expect(parsePinnedTsaRoots(' \n\t\r\n')).toEqual([]);
    const pem = formatCertificatesPem([pki.rootDer]);
    const pasted = '\uFEFF\n' + pem.split('\n').map((l) => `   ${l}  `).join('\r\n') + '\r\n\r\n';
    expect(parsePinnedTsaRoots(pasted)).toEqual([pki.rootDer]);
  });

  it('rejects a malformed bundle with INPUT_INVALID saying what is wrong (not a crash)', () => {
    const pem = formatCertificatesPem([pki.rootDer]);
    const lines = pem.split('\n');
    const cases: Array<[string, RegExp]> = [
      ['hello', /want -----BEGIN CERTIFICATE-----/],
      [pem.replace('-----END CERTIFICATE-----\n', ''), /PEM bundle/],
      [[lines[0], lines[1]?.slice(0, 63), ...lines.slice(2)].join('\n'), /64 characters/],
      [pem.replace(/^(-----BEGIN CERTIFICATE-----\n)(.)/, (_m, head: string, c: string) => head + (c === 'M' ? 'N' : 'M')), /PEM bundle: certificate 1/],
      ['-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', /want -----BEGIN CERTIFICATE-----/],
      [formatCertificatesPem([new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])]), /PEM bundle: certificate 1/],
    ];
    for (const [text, want] of cases) {
      let err: unknown;
      try {
        parsePinnedTsaRoots(text);
      } catch (e) {
        err = e;
      }
      expect(err, text.slice(0, 60)).toMatchObject({ code: 'INPUT_INVALID', message: expect.stringMatching(want) });
    }
  });

  it('reads a dropped .pem as text and a binary DER .crt/.cer as PEM', () => {
    const pem = readFileSync(pki.rootPemPath, 'utf8');
    expect(certificateFileText(new TextEncoder().encode(pem))).toBe(pem);
    expect(certificateFileText(pki.rootDer)).toBe(pem);
    expect(() => certificateFileText(new Uint8Array([0xff, 0xfe, 0x00, 0x80]))).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
  });
});

describe('reportTimes (the times table: who vouches for each time)', () => {
  let pki: TestPki;
  let receipt: Receipt;
  beforeAll(async () => {
    pki = await testPki();
    receipt = await stampedReceipt();
  }, 60_000);

  it('spells Beijing time (UTC+8), keeping the fraction as given', () => {
    expect(beijingTime('2026-03-01T02:03:04.567Z')).toBe('2026-03-01 10:03:04.567');
    expect(beijingTime('2026-12-31T16:00:00Z')).toBe('2027-01-01 00:00:00');
    expect(beijingTime('2026-12-04T16:35:45.487123Z')).toBe('2026-12-05 00:35:45.487123');
    expect(beijingTime('not a time')).toBe('not a time');
    expect(beijingTime('2026-13-01T00:00:00Z')).toBe('2026-13-01T00:00:00Z');
  });

  it('with the TSA root pinned: received and sealed signed by the log, the trusted time independent, with the TSA, serial, policy and accuracy', async () => {
    const report = await verifyReceipt(receipt, { trustedKeys: [TEST_KEYS.verifierKey], trustedTsaRoots: [pki.rootDer] });
    expect(report.valid).toBe(true);
    const rows = reportTimes(report);
    expect(byKind(rows)).toEqual(['received:signed', 'sealed:signed', 'trusted:independent']);
    const [received, sealed, trusted] = rows as [TimeRow, TimeRow, TimeRow];
    expect(received).toMatchObject({ utc: report.facts.entry?.receivedAt, beijing: beijingTime(report.facts.entry?.receivedAt ?? ''), source: { zh: '日志时钟', en: 'log clock' } });
    expect(sealed).toMatchObject({ utc: report.facts.blockTime, vouch: { en: expect.stringMatching(/signed by the log/) } });
    const token = report.facts.timestamp?.tokens[0];
    expect(token?.verified).toBe(true);
    expect(trusted).toMatchObject({ label: { zh: '可信时间', en: 'Trusted time' }, utc: token?.genTime, vouch: { zh: expect.stringMatching(/^独立时间来源/), en: expect.stringMatching(/^independent/) } });
    expect(trusted.source).toEqual({ zh: '时间戳机构（TSA）时钟', en: 'TSA clock' });
    const details = Object.fromEntries(trusted.details.map(([l, v]) => [l.en, v]));
    expect(details).toMatchObject({ TSA: token?.tsa, Serial: token?.serial, Policy: TEST_POLICY, Accuracy: '±1.5001 s', 'Pinned root': expect.stringMatching(/Guzheng Test Root CA/) });
    expect(details['Stamped checkpoint']).toMatch(/^block 1, size 5, 20/);
  });

  it('without pinned roots: the token’s claim, marked not verified; with no stamp: none yet; a failed check: invalid', async () => {
    const unpinned = await verifyReceipt(receipt, { trustedKeys: [TEST_KEYS.verifierKey] });
    expect(unpinned.valid).toBe(true);
    const trusted = reportTimes(unpinned)[2];
    expect(trusted).toMatchObject({ state: 'unverified', utc: expect.stringMatching(/^20\d\d-/), vouch: { en: expect.stringMatching(/^not verified: TSA root not pinned/) } });
    expect(trusted?.details.some(([l]) => l.en === 'Pinned root')).toBe(false);
    const none = reportTimes(await verifyReceipt({ ...receipt, timestamp: null }, { trustedKeys: [TEST_KEYS.verifierKey], trustedTsaRoots: [pki.rootDer] }));
    expect(none[2]).toMatchObject({ state: 'none', vouch: { en: 'no time stamp yet — fetch the receipt again later' } });
    expect(none[2]?.utc).toBeUndefined();
    const untrusted = await verifyReceipt(receipt, { trustedKeys: [TEST_KEYS.verifierKey], trustedTsaRoots: [pki.untrustedRootDer] });
    expect(untrusted.checks.find((c) => c.id === 'timestamp')?.code).toBe('TIMESTAMP_UNTRUSTED');
    expect(byKind(reportTimes(untrusted))).toEqual(['received:signed', 'sealed:signed', 'trusted:invalid']);
  });

  it('a format-1 block’s time is shown as NOT verified (未经签名), never as signed', async () => {
    const report = await verifyReceipt(wave1Receipt(), { trustedKeys: [WAVE1_KEY], trustedTsaRoots: [pki.rootDer] });
    expect(report.valid).toBe(true);
    const rows = reportTimes(report);
    expect(byKind(rows)).toEqual(['received:signed', 'sealed:unsigned', 'trusted:none']);
    expect(rows[1]).toMatchObject({ utc: '2026-12-04T15:11:52.534Z', beijing: '2026-12-04 23:11:52.534', vouch: { zh: expect.stringMatching(/^未经签名/), en: expect.stringMatching(/^NOT verified/) } });
    expect(rows[1]?.vouch.en).not.toMatch(/signed by the log/);
  });

  it('explains a skipped time-stamp check by its reason: root not pinned, or no stamp yet', async () => {
    const ts = (r: Awaited<ReturnType<typeof verifyReceipt>>) => explainReport(r).checks.find((c) => c.id === 'timestamp');
    expect(ts(await verifyReceipt(receipt, { trustedKeys: [TEST_KEYS.verifierKey] }))).toMatchObject({ status: 'skip', explanation: { en: expect.stringMatching(/no TSA root certificate is pinned/) } });
    expect(ts(await verifyReceipt({ ...receipt, timestamp: null }, { trustedKeys: [TEST_KEYS.verifierKey] }))).toMatchObject({ status: 'skip', explanation: { en: expect.stringMatching(/^No time stamp yet/) } });
    expect(ts(await verifyReceipt(wave1Receipt(), { trustedKeys: [WAVE1_KEY] }))).toMatchObject({ status: 'skip', explanation: { zh: expect.stringMatching(/^尚无可信时间戳/) } });
    expect(ts(await verifyReceipt(receipt, { trustedKeys: [TEST_KEYS.verifierKey], trustedTsaRoots: [pki.rootDer] }))).toMatchObject({ status: 'pass', explanation: { zh: expect.stringMatching(/独立的时间戳服务机构/) } });
    const der = fromBase64(receipt.timestamp?.tokens[0] ?? '');
    der[der.length - 10]! ^= 1;
    const altered = { ...receipt, timestamp: { ...receipt.timestamp!, tokens: [toBase64(der)] } };
    const x = explainReport(await verifyReceipt(altered, { trustedKeys: [TEST_KEYS.verifierKey], trustedTsaRoots: [pki.rootDer] }));
    expect(x).toMatchObject({ valid: false, summary: { zh: expect.stringMatching(/可信时间戳/), en: expect.stringMatching(/Trusted time stamp/) } });
    expect(x.checks.find((c) => c.id === 'timestamp')).toMatchObject({ code: 'TIMESTAMP_INVALID', explanation: CODE_EXPLANATIONS.TIMESTAMP_INVALID });
  });
});

/** Three witnesses and a two-of-three policy over the mini log's key. */
const WITNESSES = ['court', 'procuratorate', 'notary'].map((name, i) => ({ name, ...generateWitnessKey(`witness.test/${name}`, new Uint8Array(32).fill(40 + i)) }));
const POLICY_TEXT =
  `log ${TEST_KEYS.verifierKey}\n` +
  WITNESSES.map((w) => `witness ${w.name} ${w.verifierKey} https://${w.name}.example.cn/w\n`).join('') +
  `group two-of-three 2 court procuratorate notary\nquorum two-of-three\n`;

/** The receipt with cosignature lines by the named witnesses (at the given POSIX seconds) appended to its checkpoint. */
function cosigned(receipt: Receipt, by: ReadonlyArray<readonly [number, number]>): Receipt {
  const note = receipt.checkpoint;
  const text = note.slice(0, note.indexOf('\n\n') + 1);
  return { ...receipt, checkpoint: note + by.map(([i, t]) => `${signCosignature(text, WITNESSES[i]!.signerKey, t)}\n`).join('') };
}

describe('the witness policy field and the witness table', () => {
  const strip = (p: Policy) => JSON.parse(JSON.stringify(p, (k, v: unknown) => (k === 'line' || v instanceof Uint8Array ? undefined : v))) as unknown;

  it('reads the field: empty pins nothing; a paste with a BOM, CRLF and no final newline parses as the file would', () => {
    expect(parsePinnedPolicy('')).toBeUndefined();
    expect(parsePinnedPolicy(' \n\t\r\n')).toBeUndefined();
    const want = parsePolicy(POLICY_TEXT);
    const pasted = '\uFEFF' + POLICY_TEXT.replace(/\n/g, '\r\n').replace(/\r\n$/, '');
    expect(strip(parsePinnedPolicy(pasted)!)).toEqual(strip(want));
    expect(parsePinnedPolicy(POLICY_TEXT)?.quorum).toBe('two-of-three');
  });

  it('refuses a malformed policy with POLICY_MALFORMED naming the line, and says so in both languages', () => {
    for (const bad of ['witness court not-a-key\nquorum court\n', `witness court ${WITNESSES[0]!.verifierKey}\n`, 'quorum ghost\n', `${POLICY_TEXT}quorum court\n`, 'hello\n']) {
      expect(() => parsePinnedPolicy(bad), bad).toThrow(expect.objectContaining({ code: 'POLICY_MALFORMED' }));
    }
    expect(() => parsePinnedPolicy('witness court x\nquorum court\n')).toThrow(/policy line 1/);
    expect(POLICY_MALFORMED_ERROR.zh).toContain(CODE_EXPLANATIONS.POLICY_MALFORMED.zh);
    expect(POLICY_MALFORMED_ERROR.en).toContain(CODE_EXPLANATIONS.POLICY_MALFORMED.en);
    expect(POLICY_MALFORMED_ERROR.en).toMatch(/tlog-policy.*Nothing was verified/);
  });

  it('reads a policy file as UTF-8 text, and refuses other bytes with POLICY_MALFORMED', () => {
    expect(policyFileText(new TextEncoder().encode(POLICY_TEXT))).toBe(POLICY_TEXT);
    expect(() => policyFileText(new Uint8Array([0x6c, 0x6f, 0x67, 0xff, 0x0a]))).toThrow(expect.objectContaining({ code: 'POLICY_MALFORMED' }));
  });

  it('spells a parsed policy back as text that parses to the same policy (what a log serves)', () => {
    const nested =
      `log ${TEST_KEYS.verifierKey} https://log.example.cn\nlog ${OTHER_KEYS.verifierKey}\n` +
      WITNESSES.map((w, i) => `witness ${w.name} ${w.verifierKey}${i === 2 ? '' : ` https://${w.name}.example.cn`}\n`).join('') +
      `# a comment\n\ngroup courts any court procuratorate\ngroup everyone all courts notary\nquorum everyone\n`;
    for (const text of [POLICY_TEXT, nested, `witness court ${WITNESSES[0]!.verifierKey}\nquorum court\n`, 'quorum none\n']) {
      const p = parsePolicy(text);
      const spelled = formatPolicy(p);
      expect(spelled.endsWith('\n')).toBe(true);
      expect(strip(parsePinnedPolicy(spelled)!), text).toEqual(strip(p));
    }
    expect(formatPolicy(parsePolicy(nested)).split('\n').filter((l) => l.startsWith('group'))).toEqual(['group courts any court procuratorate', 'group everyone all courts notary']);
  });

  it('says under the field which witnesses and quorum are pinned', () => {
    expect(describePolicy(parsePolicy(POLICY_TEXT))).toEqual({
      zh: '已固定 3 个见证人：court、procuratorate、notary；法定数：two-of-three（3 取 2：court、procuratorate、notary）',
      en: '3 witness(es) pinned: court, procuratorate, notary; quorum: two-of-three (2 of 3: court, procuratorate, notary)',
    });
    expect(describePolicy(parsePolicy('quorum none\n')).en).toBe('0 witness(es) pinned; quorum: none (no cosignature required)');
    expect(describePolicy(parsePolicy(`witness court ${WITNESSES[0]!.verifierKey}\nquorum court\n`)).en).toMatch(/quorum: court \(this witness must cosign\)/);
  });

  it('quorum met: each cosigning witness "had seen this checkpoint by T", in Beijing time and UTC; the others not cosigned', async () => {
    const policy = parsePolicy(POLICY_TEXT);
    const t0 = Date.parse('2026-03-01T02:03:04Z') / 1000;
    const receipt = cosigned(setup().receipt, [[0, t0], [2, t0 + 61]]);
    const report = await verifyReceipt(receipt, { trustedKeys: [TEST_KEYS.verifierKey], policy });
    expect(report.valid).toBe(true);
    expect(report.checks.find((c) => c.id === 'cosignatures')?.status).toBe('pass');
    const view = witnessesView(policy, report.facts.cosignatures!);
    expect(view.met).toBe(true);
    expect(view.rows.map((r) => `${r.name}:${r.state}`)).toEqual(['court:independent', 'procuratorate:absent', 'notary:independent']);
    expect(view.rows[0]).toMatchObject({
      key: WITNESSES[0]!.verifierKey,
      utc: '2026-03-01T02:03:04Z',
      beijing: '2026-03-01 10:03:04',
      statement: { zh: '见证人 court 在 2026-03-01 10:03:04（北京时间）前已见到此检查点', en: 'witness court had seen this checkpoint by 2026-03-01T02:03:04Z' },
    });
    expect(view.rows[2]).toMatchObject({ utc: '2026-03-01T02:04:05Z', beijing: '2026-03-01 10:04:05' });
    expect(view.rows[1]).toMatchObject({ statement: { en: 'witness procuratorate did not cosign this checkpoint (no valid cosignature)' } });
    expect(view.rows[1]?.utc).toBeUndefined();
    expect(view.summary).toEqual({
      zh: '已满足见证策略法定数 two-of-three（3 取 2：court、procuratorate、notary）：2 个见证人有效联署。',
      en: 'Quorum two-of-three (2 of 3: court, procuratorate, notary) met: 2 witness(es) validly cosigned.',
    });
    expect(view.failedNote).toBeUndefined();
  });

  it('quorum not met: INVALID naming the witness cosignatures; a cosignature that does not verify is not counted, and said', async () => {
    const policy = parsePolicy(POLICY_TEXT);
    const one = cosigned(setup().receipt, [[1, 1_772_000_000]]);
    const report = await verifyReceipt(one, { trustedKeys: [TEST_KEYS.verifierKey], policy });
    expect(report.valid).toBe(false);
    const x = explainReport(report);
    expect(x.summary).toEqual({ zh: '未通过：见证人联署（见证策略法定数）。', en: 'Failed: Witness cosignatures (policy quorum).' });
    expect(x.checks.find((c) => c.id === 'cosignatures')).toMatchObject({ mark: '✗', code: 'QUORUM_NOT_MET', explanation: CODE_EXPLANATIONS.QUORUM_NOT_MET });
    const view = witnessesView(policy, report.facts.cosignatures!);
    expect(view.met).toBe(false);
    expect(view.rows.map((r) => r.state)).toEqual(['absent', 'independent', 'absent']);
    expect(view.summary.en).toBe('Quorum two-of-three (2 of 3: court, procuratorate, notary) NOT met: only 1 witness(es) validly cosigned.');
    expect(view.summary.zh).toMatch(/^未满足见证策略法定数/);
    // A line by a pinned witness whose signature was altered.
    const line = one.checkpoint.trimEnd().split('\n').at(-1)!;
    const forged = line.slice(0, -6) + (line.at(-6) === 'A' ? 'B' : 'A') + line.slice(-5);
    const altered = { ...one, checkpoint: one.checkpoint.replace(line, forged) };
    const bad = await verifyReceipt(cosigned(altered, [[0, 1_772_000_001]]), { trustedKeys: [TEST_KEYS.verifierKey], policy });
    const badView = witnessesView(policy, bad.facts.cosignatures!);
    expect(badView.rows.map((r) => r.state)).toEqual(['independent', 'absent', 'absent']);
    expect(badView.failedNote?.en).toBe('1 further cosignature line(s) by policy witnesses do not verify and were not counted.');
    // Without a policy the same receipt is valid: cosignatures are not required.
    expect((await verifyReceipt(one, { trustedKeys: [TEST_KEYS.verifierKey] })).valid).toBe(true);
    const skip = (r: Awaited<ReturnType<typeof verifyReceipt>>) => explainReport(r).checks.find((c) => c.id === 'cosignatures');
    expect(skip(await verifyReceipt(one, { trustedKeys: [TEST_KEYS.verifierKey] }))).toMatchObject({ status: 'skip', explanation: { en: expect.stringMatching(/^No witness policy given/) } });
    // With a policy but a checkpoint from another key, the skip is not put down to a missing policy.
    expect(skip(await verifyReceipt(one, { trustedKeys: [OTHER_KEYS.verifierKey], policy }))).toMatchObject({ status: 'skip', explanation: { zh: '检查点未通过，未核验见证人联署。', en: 'The checkpoint did not verify, so witness cosignatures were not checked.' } });
  });
});

describe('the page template', () => {
  it('escapes data blocks and text', async () => {
    const v = { a: '</script><!-- & \u2028\u2029 >' };
    const s = jsonForScript(v);
    expect(s).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(s)).toEqual(v);
    expect(escapeHtml(`<a href="x" onclick='y'>&`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;');
  });

  it('refuses a script that would close its element', async () => {
    expect(() => renderVerifyPage('var s="</script>"')).toThrow(/<\/script/);
    expect(() => renderVerifyPage('var s="<!--"')).toThrow(/<!--/);
  });

  it('injects the serving log key into the data block only, escaped', async () => {
    const html = renderVerifyPage('1');
    const served = injectServedConfig(html, { origin: 'o</script>', verifierKey: TEST_KEYS.verifierKey });
    const block = served.match(new RegExp(`<script type="application/json" id="${SERVED_CONFIG_ID}">(.*?)</script>`))?.[1];
    expect(JSON.parse(block ?? '')).toEqual({ origin: 'o</script>', verifierKey: TEST_KEYS.verifierKey });
    expect(() => injectServedConfig(served, { origin: 'x', verifierKey: 'y' })).toThrow(/placeholder/);
  });

  it('injects the log’s TSA roots (PEM) only when it pins some', async () => {
    const pki = await testPki();
    const html = renderVerifyPage('1');
    const blockOf = (page: string) => JSON.parse(page.match(new RegExp(`<script type="application/json" id="${SERVED_CONFIG_ID}">(.*?)</script>`))?.[1] ?? '') as unknown;
    const pem = formatCertificatesPem([pki.rootDer]);
    expect(blockOf(injectServedConfig(html, { origin: 'o', verifierKey: 'k', tsaRoots: pem }))).toEqual({ origin: 'o', verifierKey: 'k', tsaRoots: pem });
    expect(blockOf(injectServedConfig(html, { origin: 'o', verifierKey: 'k', tsaRoots: '' }))).toEqual({ origin: 'o', verifierKey: 'k' });
    expect(html).toContain('id="tsa-roots"');
    expect(html).toContain('id="tsa-file"');
  }, 60_000);

  it('injects the log’s witness policy (tlog-policy text) only when it has one', async () => {
    const html = renderVerifyPage('1');
    const blockOf = (page: string) => JSON.parse(page.match(new RegExp(`<script type="application/json" id="${SERVED_CONFIG_ID}">(.*?)</script>`))?.[1] ?? '') as unknown;
    expect(blockOf(injectServedConfig(html, { origin: 'o', verifierKey: 'k', policy: POLICY_TEXT }))).toEqual({ origin: 'o', verifierKey: 'k', policy: POLICY_TEXT });
    expect(blockOf(injectServedConfig(html, { origin: 'o', verifierKey: 'k', policy: '' }))).toEqual({ origin: 'o', verifierKey: 'k' });
    for (const id of ['policy', 'policy-file', 'policy-drop', 'policy-info', 'policy-note', 'witnesses']) expect(html).toContain(`id="${id}"`);
  });

  it('has a CSP that allows exactly its inline script and style by hash, and nothing else', async () => {
    const html = renderVerifyPage('console.log(1)');
    const csp = contentSecurityPolicy(html);
    const hashOf = (t: string) => `'sha256-${createHash('sha256').update(t).digest('base64')}'`;
    expect(csp).toContain(`script-src ${hashOf('console.log(1)')};`);
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/]{43}=';/);
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/unsafe|http|\*/);
  });
});

describe('GET /verify (the served config)', () => {
  it('puts this log’s key and, when it pins TSA roots, the roots as PEM in the data block', async () => {
    await buildVerifyPage();
    const pki = await testPki();
    const servers = await Promise.all([startServer({ deps: { tsa: { ...TSA_OFF, roots: [pki.rootDer, pki.untrustedRootDer] } } }), startServer()]);
    try {
      const block = async (url: string) => {
        const html = await (await fetch(`${url}/verify`)).text();
        return JSON.parse(html.match(new RegExp(`<script type="application/json" id="${SERVED_CONFIG_ID}">(.*?)</script>`))?.[1] ?? '') as { verifierKey: string; tsaRoots?: string };
      };
      const withRoots = await block(servers[0].url);
      expect(withRoots.verifierKey).toBe(servers[0].ledger.verifierKey);
      expect(withRoots.tsaRoots).toBe(readFileSync(pki.rootPemPath, 'utf8') + formatCertificatesPem([pki.untrustedRootDer]));
      expect(parsePinnedTsaRoots(withRoots.tsaRoots ?? '')).toEqual([pki.rootDer, pki.untrustedRootDer]);
      expect(await block(servers[1].url)).not.toHaveProperty('tsaRoots');
      expect(await block(servers[1].url)).not.toHaveProperty('policy');
    } finally {
      await Promise.all(servers.map((x) => x.destroy()));
    }
  }, 120_000);

  it('puts the witness policy the log runs with, as tlog-policy text, in the data block', async () => {
    await buildVerifyPage();
    const policy = parsePolicy(POLICY_TEXT);
    const server = await startServer({ deps: { policy } });
    try {
      const html = await (await fetch(`${server.url}/verify`)).text();
      const block = JSON.parse(html.match(new RegExp(`<script type="application/json" id="${SERVED_CONFIG_ID}">(.*?)</script>`))?.[1] ?? '') as { policy?: string };
      expect(block.policy).toBe(formatPolicy(policy));
      expect(block.policy).toBe(POLICY_TEXT);
    } finally {
      await server.destroy();
    }
  }, 120_000);
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
