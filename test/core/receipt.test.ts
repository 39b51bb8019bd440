import { describe, it, expect } from 'vitest';
import { codeOf } from '../support/codes.js';
import { isLedgerError } from '../../src/core/errors.js';
import { canonicalJson } from '../../src/core/entry/jcs.js';
import { parseReceipt, RECEIPT_FORMAT } from '../../src/core/receipt.js';
import { formatTlogProof, parseTlogProof, receiptToTlogProof, tlogProofToReceipt, TLOG_PROOF_HEADER } from '../../src/core/tlog-proof.js';
import { MiniLog, content, threeBlockLog } from '../../scripts/vectors/mini-log.js';


const logWithReceipt = threeBlockLog;

describe('receipts', () => {
  it('has the documented JSON shape', () => {
    const { receipt } = logWithReceipt();
    expect(Object.keys(receipt).sort()).toEqual(['block', 'blockConsistency', 'checkpoint', 'entry', 'format', 'inclusionProof', 'index', 'leafHash', 'timestamp', 'verifierKey']);
    expect(receipt.format).toBe('guzheng-receipt/v2');
    expect(receipt.timestamp).toBeNull();
    expect(receipt.format).toBe(RECEIPT_FORMAT);
    expect(receipt.index).toBe('3');
    expect(receipt.block.height).toBe('1');
    expect(receipt.blockConsistency.length).toBeGreaterThan(0);
  });

  it('parses its own text and JSON, and rejects malformed ones naming the field', () => {
    const { receipt } = logWithReceipt();
    const p = parseReceipt(JSON.stringify(receipt));
    expect(p.index).toBe(3n);
    expect(p.entryBytes).toEqual(canonicalJson(receipt.entry));
    expect(codeOf(() => parseReceipt('{'))).toBe('RECEIPT_MALFORMED');
    expect(codeOf(() => parseReceipt({ ...receipt, format: 'guzheng-receipt/v3' }))).toBe('RECEIPT_MALFORMED');
    // v1 has no timestamp member; v2 must have it (null while there is no stamp yet).
    expect(codeOf(() => parseReceipt({ ...receipt, format: 'guzheng-receipt/v1' }))).toBe('RECEIPT_MALFORMED');
    const { timestamp: _t, ...v1 } = receipt;
    expect(parseReceipt({ ...v1, format: 'guzheng-receipt/v1' }).format).toBe(1);
    expect(codeOf(() => parseReceipt(v1))).toBe('RECEIPT_MALFORMED');
    expect(codeOf(() => parseReceipt({ ...receipt, timestamp: { checkpoint: 'x', consistency: [], tokens: [] } }))).toBe('RECEIPT_MALFORMED');
    expect(codeOf(() => parseReceipt({ ...receipt, timestamp: { checkpoint: 'x', consistency: [], tokens: ['not base64!'] } }))).toBe('RECEIPT_MALFORMED');
    expect(codeOf(() => parseReceipt({ ...receipt, index: 3 }))).toBe('RECEIPT_MALFORMED');
    expect(codeOf(() => parseReceipt({ ...receipt, index: '03' }))).toBe('RECEIPT_MALFORMED');
    expect(codeOf(() => parseReceipt({ ...receipt, index: '99999999999999999999' }))).toBe('RECEIPT_MALFORMED');
    expect(codeOf(() => parseReceipt({ ...receipt, inclusionProof: ['AB'] }))).toBe('RECEIPT_MALFORMED');
    expect(codeOf(() => parseReceipt({ ...receipt, block: { ...receipt.block, count: '01' } }))).toBe('RECEIPT_MALFORMED');
    expect(codeOf(() => parseReceipt({ ...receipt, extra: true }))).toBe('RECEIPT_MALFORMED');
    try {
      parseReceipt({ ...receipt, leafHash: 'x' });
    } catch (err) {
      expect((err as Error).message).toMatch(/^receipt\.leafHash: /);
    }
  });
});

describe('tlog-proof (c2sp.org/tlog-proof@v1)', () => {
  it('formats the layout of the C2SP spec and parses it back', () => {
    const { log } = logWithReceipt();
    const proof = log.inclusion(3n, 12n);
    const text = formatTlogProof({ index: 3n, inclusionProof: proof, checkpoint: log.blocks.at(-1)!.checkpoint });
    const lines = text.split('\n');
    expect(lines[0]).toBe(TLOG_PROOF_HEADER);
    expect(lines[1]).toBe('index 3');
    expect(lines.slice(2, 2 + proof.length).every((l) => /^[A-Za-z0-9+/]{43}=$/.test(l))).toBe(true);
    expect(lines[2 + proof.length]).toBe('');
    expect(text.endsWith(log.blocks.at(-1)!.checkpoint)).toBe(true);
    const back = parseTlogProof(text);
    expect(back).toEqual({ index: 3n, inclusionProof: proof, checkpoint: log.blocks.at(-1)!.checkpoint });
  });

  it('exports a receipt with its block in extra and imports it back unchanged', () => {
    const { receipt } = logWithReceipt();
    const text = receiptToTlogProof(parseReceipt(receipt));
    expect(text.split('\n')[1]).toMatch(/^extra [A-Za-z0-9+/]+=*$/);
    const again = tlogProofToReceipt(text, canonicalJson(receipt.entry), receipt.verifierKey);
    expect(again).toEqual(receipt);
  });

  it('rejects malformed proofs', () => {
    const { receipt } = logWithReceipt();
    const good = receiptToTlogProof(parseReceipt(receipt));
    const bad = [
      good.replace(TLOG_PROOF_HEADER, 'c2sp.org/tlog-proof@v2'),
      good.replace(/\nindex 3\n/, '\nindex 03\n'),
      good.replace(/\nindex 3\n/, '\nindex -3\n'),
      good.replace(/\nindex 3\n/, '\n'),
      good.replace(/\n\n/, '\n'),
      good.replace(/\nextra /, '\nextra !'),
      good.replace(/\nindex 3\n([^\n]+)\n/, (_m, h: string) => `\nindex 3\n${h.slice(0, -2)}=\n`),
      good.slice(0, good.indexOf('\n\n') + 2),
    ];
    for (const t of bad) expect(codeOf(() => parseTlogProof(t)), JSON.stringify(t.slice(0, 120))).toBe('RECEIPT_MALFORMED');
    expect(codeOf(() => tlogProofToReceipt(good, new TextEncoder().encode('{"b":1, "a":2}'), receipt.verifierKey))).toBe('RECEIPT_MALFORMED');
  });
});
