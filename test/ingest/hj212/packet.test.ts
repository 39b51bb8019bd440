import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { digestBytes, encodeEntry, hj212MetaSchema, newEntry } from '../../../src/core/entry/index.js';
import { Hj212Framer, type Frame } from '../../../src/ingest/hj212/frame.js';
import { buildMeta, encodePacket, inspectFrame, PARSER_VERSION, replySegment } from '../../../src/ingest/hj212/packet.js';
import { checkCrc, type CrcVariant } from '../../../src/ingest/hj212/crc.js';
import { parseSegment } from '../../../src/ingest/hj212/parse.js';
import { dec, enc, frameText, MN, segment, STANDARD_EXAMPLE_PACKET, STANDARD_EXAMPLE_SEGMENT, upload } from './helpers.js';

function frameOf(text: string | Uint8Array): Frame {
  const f = new Hj212Framer();
  const events = [...f.push(typeof text === 'string' ? enc(text) : text), ...f.flush()];
  const frames = events.filter((e): e is Frame => e.kind === 'frame');
  expect(frames).toHaveLength(1);
  return frames[0]!;
}

/** The packet and metadata of the hj212 golden in test/core/entry.test.ts. */
const GOLDEN_PACKET =
  '##0170QN=20260301080000123;ST=22;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=4;' +
  'CP=&&DataTime=20260301080000;a34004-Rtd=35.2,a34004-Flag=N;a34002-Rtd=61.0,a34002-Flag=N&&35C0\r\n';

describe('encodePacket', () => {
  it("reproduces the standard's example byte for byte", () => {
    expect(dec(encodePacket(STANDARD_EXAMPLE_SEGMENT))).toBe(STANDARD_EXAMPLE_PACKET);
  });

  it('frames under each variant, with the byte length', () => {
    const seg = upload(1, { cp: 'i13004-Info=衡水' });
    for (const v of ['hj212', 'modbus', 'modbus-swapped'] as const) expect(dec(encodePacket(seg, v))).toBe(frameText(seg, v));
    expect(() => encodePacket('x'.repeat(10_000))).toThrow(/at most 9999/);
  });
});

describe('inspectFrame', () => {
  it('derives exactly the metadata of the entry golden', () => {
    const i = inspectFrame(frameOf(GOLDEN_PACKET), { peer: '192.0.2.10:50212' });
    expect(i.meta).toEqual({
      mn: '010000A8900016F000169DC0',
      st: '22',
      cn: '2011',
      qn: '20260301080000123',
      dataTime: '2026-03-01T08:00:00+08:00',
      pollutants: ['a34004', 'a34002'],
      crc: { ok: true, variant: 'hj212' },
      flag: 4,
      version: 1,
      peer: '192.0.2.10:50212',
      parserVersion: PARSER_VERSION,
    });
    expect(PARSER_VERSION).toBe('guzheng-hj212/0.1.0');
    expect(i.reply).toBeUndefined(); // Flag=4: no acknowledgement asked
  });

  it("answers the standard's example (Flag=5) with 9014 echoing QN, PW and MN", () => {
    const i = inspectFrame(frameOf(STANDARD_EXAMPLE_PACKET));
    expect(i.crc.ok).toBe(true);
    expect(i.reply?.cn).toBe('9014');
    expect(dec(i.reply!.bytes)).toBe(frameText('QN=20160801085857223;ST=91;CN=9014;PW=100000;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&'));
  });

  it('answers a 1013 notification with 9013, acknowledgement bit or not', () => {
    for (const flag of ['4', '5']) {
      const i = inspectFrame(frameOf(frameText(upload(1, { cn: '1013', flag, cp: 'PolId=w01018' }))));
      expect(i.reply?.cn).toBe('9013');
      expect(parseSegment(frameOf(i.reply!.bytes).segment)).toMatchObject({ qn: '20260301080000001', st: '91', cn: '9013', mn: MN, flag: 4, cp: '' });
    }
  });

  it('gives no reply without A, to answers, or on a CRC failure', () => {
    expect(inspectFrame(frameOf(frameText(upload(1, { flag: '4' })))).reply).toBeUndefined();
    expect(inspectFrame(frameOf(frameText(upload(1, { flag: '6' })))).reply).toBeUndefined();
    expect(inspectFrame(frameOf(frameText(upload(1, { flag: '7' })))).reply?.cn).toBe('9014');
    for (const cn of ['9011', '9012', '9013', '9014']) expect(inspectFrame(frameOf(frameText(upload(1, { cn, flag: '5' })))).reply).toBeUndefined();
    const bad = inspectFrame(frameOf(frameText(upload(1), 'hj212', { crc: '0000' })));
    expect(bad.crc.ok).toBe(false);
    expect(bad.meta.crc).toEqual({ ok: false, variant: 'hj212' });
    expect(bad.reply).toBeUndefined();
    const badNotify = inspectFrame(frameOf(frameText(upload(1, { cn: '1013' }), 'hj212', { crc: '0000' })));
    expect(badNotify.reply).toBeUndefined();
  });

  it('replies without QN when the packet has none', () => {
    const seg = parseSegment(enc(`ST=32;CN=2011;PW=1;MN=${MN};Flag=5;CP=&&&&`));
    expect(replySegment(seg, true)).toEqual({ cn: '9014', text: `ST=91;CN=9014;PW=1;MN=${MN};Flag=4;CP=&&&&` });
    expect(replySegment(seg, false)).toBeUndefined();
  });

  it('accepts every CRC variant only for its configured device, and replies in that variant', () => {
    const legacyCrc = new Map<string, CrcVariant[]>([
      ['OLD0001', ['modbus']],
      ['OLD0002', ['modbus-swapped']],
    ]);
    for (const [mn, variant] of [
      ['OLD0001', 'modbus'],
      ['OLD0002', 'modbus-swapped'],
    ] as const) {
      const text = frameText(upload(3, { mn }), variant);
      const i = inspectFrame(frameOf(text), { legacyCrc });
      expect(i.meta.crc).toEqual({ ok: true, variant });
      expect(i.meta.warnings).toBeUndefined();
      const reply = frameOf(i.reply!.bytes);
      expect(checkCrc(reply.segment, reply.crc, [variant])).toMatchObject({ ok: true, variant });
      expect(checkCrc(reply.segment, reply.crc).ok).toBe(false); // a legacy device gets its own CRC, not the standard's
      // The same packet from an unconfigured device fails, with a hint.
      const other = inspectFrame(frameOf(frameText(upload(3, { mn: 'NEW0001' }), variant)), { legacyCrc });
      expect(other.meta.crc).toEqual({ ok: false, variant: 'hj212' });
      expect(other.meta.warnings).toEqual([`crc-would-match-${variant}`]);
      expect(other.reply).toBeUndefined();
    }
    // Lowercase CRC digits are accepted.
    expect(inspectFrame(frameOf(frameText(upload(4), 'hj212', { lowercase: true }))).crc.ok).toBe(true);
  });

  it('records framing warnings: no CR LF, segment over 1,024 bytes', () => {
    const cp = Array.from({ length: 60 }, (_, i) => `a${String(21000 + i)}-Rtd=${i}.0,a${String(21000 + i)}-Flag=N`).join(';');
    const long = inspectFrame(frameOf(frameText(upload(1, { cp }), 'hj212', { crlf: false })));
    expect(long.crc.ok).toBe(true);
    expect(long.meta.warnings).toEqual(['no-crlf', 'segment-over-1024']);
    expect(long.meta.pollutants).toHaveLength(60);
  });

  it('leaves out fields the schema does not admit, with a warning, and keeps the rest', () => {
    const text = frameText(segment({ QN: '2026-03-01', ST: '3 1', CN: '20x1', PW: 'p', MN: 'A B', Flag: '5', PNUM: 'two', PNO: '1' }, 'DataTime=2026;a21026-Rtd=1'));
    const i = inspectFrame(frameOf(text), { peer: 'not a peer' });
    expect(i.meta).toEqual({
      pollutants: ['a21026'],
      crc: { ok: true, variant: 'hj212' },
      flag: 5,
      version: 1,
      pno: '1',
      parserVersion: PARSER_VERSION,
      warnings: ['qn-not-17-digits', 'pnum-without-split', 'datatime-invalid', 'mn-unlisted', 'st-unlisted', 'cn-unlisted', 'qn-unlisted', 'pnum-unlisted'],
    });
    // Still acknowledged: the packet verified and is anchored.
    expect(i.reply?.cn).toBe('9014');
  });

  it('caps the pollutant list and the warnings', () => {
    const cp = Array.from({ length: 300 }, (_, i) => `p${i}-Rtd=1`).join(';');
    const i = inspectFrame(frameOf(frameText(upload(1, { cp }))));
    expect(i.meta.pollutants).toHaveLength(256);
    expect(i.meta.warnings).toEqual(['segment-over-1024', 'pollutants-truncated']);
    const seg = parseSegment(enc(upload(1)));
    const many = buildMeta({ ...seg, warnings: Array.from({ length: 40 }, (_, k) => `w${k}`) }, { ok: true, variant: 'hj212', wouldMatch: [] });
    expect(many.warnings).toHaveLength(32);
    expect(many.warnings?.at(-1)).toBe('more-warnings');
  });

  it('always yields metadata that makes a valid entry, whatever the frame', () => {
    const seg = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.stringMatching(/^(?:(?:QN|ST|CN|PW|MN|Flag|PNUM|PNO|CP|DataTime|PolId|a21026-Rtd|x)=?[^\r\n]{0,12}[;,&]{0,2}){0,12}$/).map(enc),
    );
    fc.assert(
      fc.property(seg, fc.boolean(), fc.constantFrom('hj212', 'modbus', 'modbus-swapped'), fc.string({ maxLength: 70 }), (bytes, crlf, variant, peer) => {
        // A segment holding CR LF is never a frame: the framer refuses it by design
        // (src/ingest/hj212/frame.ts, tested there); this property is about what one frame yields.
        fc.pre(!dec(bytes).includes('\r\n'));
        const raw = encodePacket(bytes, variant as CrcVariant);
        const frame = frameOf(crlf ? raw : raw.subarray(0, raw.length - 2));
        const i = inspectFrame(frame, { peer, legacyCrc: new Map([[parseSegment(bytes).mn ?? '', ['modbus' as const]]]) });
        expect(hj212MetaSchema.safeParse(i.meta).success).toBe(true);
        const entry = newEntry({ type: 'hj212', digest: digestBytes(frame.raw), meta: i.meta, submitter: 'gateway-hj212', receivedAt: '2026-03-01T00:00:00.000Z' });
        expect(encodeEntry(entry).length).toBeLessThan(65_536);
      }),
      { numRuns: 400 },
    );
  });
});

describe('purity', () => {
  it('the parser, framer and CRC import nothing platform-specific', () => {
    const dir = join(import.meta.dirname, '..', '..', '..', 'src', 'ingest', 'hj212');
    const pure = ['crc.ts', 'frame.ts', 'parse.ts', 'packet.ts'];
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(pure));
    for (const name of pure) {
      const src = readFileSync(join(dir, name), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      expect(src, name).not.toMatch(/from\s+['"]node:|\bBuffer\b|\bprocess\.|\bDate\.now\(|new Date\(\)|performance\.now|Math\.random|prom-client|\.\.\/\.\.\/log\/|\.\.\/\.\.\/storage\//);
      for (const m of src.matchAll(/from\s+['"]([^'"]+)['"]/g)) expect(m[1], name).toMatch(/^\.\/|^\.\.\/\.\.\/core\//);
    }
  });
});
