import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dataTimeToRfc3339, decodeFlag, parseFlag, parseSegment } from '../../../src/ingest/hj212/parse.js';
import { enc, MN, STANDARD_EXAMPLE_SEGMENT } from './helpers.js';

const parse = (s: string) => parseSegment(enc(s));
const H = `QN=20260301080000123;ST=31;CN=2011;PW=123456;MN=${MN};Flag=5`;
const head = (cn: string, flag = '5', st = '31') => `QN=20260301080000123;ST=${st};CN=${cn};PW=123456;MN=${MN};Flag=${flag}`;

describe('parseSegment: the standard example', () => {
  it('reads every header field and CP', () => {
    const p = parse(STANDARD_EXAMPLE_SEGMENT);
    expect(p).toMatchObject({ qn: '20160801085857223', st: '32', cn: '1062', pw: '100000', mn: MN, flagText: '5', flag: 5, cp: 'RtdInterval=30', warnings: [] });
    expect(p.header.map((f) => f.key)).toEqual(['QN', 'ST', 'CN', 'PW', 'MN', 'Flag']);
    expect(p.items).toEqual([[{ key: 'RtdInterval', value: '30' }]]);
    expect(p.pollutants).toEqual([]);
    expect(p.dataTime).toBeUndefined();
  });
});

describe('parseSegment: each CN family', () => {
  it('2011 real-time data: pollutant codes, sub-fields, exact value text', () => {
    const p = parse(`${head('2011')};CP=&&DataTime=20260301080000;a21026-Rtd=12.30,a21026-ZsRtd=15.1,a21026-Flag=N;a21002-Rtd=045.0,a21002-Flag=N;a34013-Rtd=3.2,a34013-Flag=N;a00000-Rtd=1234.5,a00000-Flag=N&&`);
    expect(p.cn).toBe('2011');
    expect(p.dataTime).toBe('20260301080000');
    expect(p.pollutants).toEqual(['a21026', 'a21002', 'a34013', 'a00000']);
    expect(p.items[1]).toEqual([
      { key: 'a21026-Rtd', value: '12.30' },
      { key: 'a21026-ZsRtd', value: '15.1' },
      { key: 'a21026-Flag', value: 'N' },
    ]);
    expect(p.items[2]?.[0]?.value).toBe('045.0');
    expect(p.warnings).toEqual([]);
  });

  it('2051 / 2061 / 2031 minute, hourly and daily data (Cou, Min, Avg, Max)', () => {
    for (const cn of ['2051', '2061', '2031']) {
      const p = parse(`${head(cn, '5', '32')};CP=&&DataTime=20260301080000;w01018-Cou=1.2,w01018-Min=20.1,w01018-Avg=21.0,w01018-Max=22.3,w01018-Flag=N;w00000-Cou=100.0,w00000-Flag=N;w21003-Avg=0.52,w21003-Flag=N&&`);
      expect(p.cn).toBe(cn);
      expect(p.pollutants).toEqual(['w01018', 'w00000', 'w21003']);
      expect(p.items[1]).toHaveLength(5);
      expect(p.warnings).toEqual([]);
    }
  });

  it('2021 equipment state and 2041 run time: SBxxx codes', () => {
    expect(parse(`${head('2021')};CP=&&DataTime=20260301080000;SB1-RS=1;SB2-RS=4&&`).pollutants).toEqual(['SB1', 'SB2']);
    expect(parse(`${head('2041')};CP=&&DataTime=20260301000000;SB1-RT=23.5;SB2-RT=24.0&&`).items).toHaveLength(3);
  });

  it('2081 boot time, 1011 field time, 1061 interval uploads', () => {
    expect(parse(`${head('2081')};CP=&&DataTime=20260301080000;RestartTime=20260301075900&&`)).toMatchObject({ dataTime: '20260301080000', pollutants: [] });
    expect(parse(`${head('1011')};CP=&&PolId=w01018;SystemTime=20260301080000&&`)).toMatchObject({ pollutants: ['w01018'], dataTime: undefined });
    expect(parse(`${head('1061')};CP=&&RtdInterval=30&&`).items).toEqual([[{ key: 'RtdInterval', value: '30' }]]);
  });

  it('1013 notification and 9011 / 9012 / 9014 answers', () => {
    expect(parse(`${head('1013', '4')};CP=&&PolId=w01018&&`)).toMatchObject({ cn: '1013', flag: 4 });
    expect(parse(`QN=20260301080000123;ST=91;CN=9011;PW=123456;MN=${MN};Flag=4;CP=&&QnRtn=1&&`).items).toEqual([[{ key: 'QnRtn', value: '1' }]]);
    expect(parse(`QN=20260301080000123;ST=91;CN=9012;PW=123456;MN=${MN};Flag=4;CP=&&ExeRtn=1&&`).items).toEqual([[{ key: 'ExeRtn', value: '1' }]]);
    const ack = parse(`QN=20260301080000123;ST=91;CN=9014;PW=123456;MN=${MN};Flag=4;CP=&&&&`);
    expect(ack).toMatchObject({ cn: '9014', cp: '', items: [], warnings: [] });
  });

  it('3019 / 3020 site information: PolId values, Chinese text, noise LA', () => {
    const p = parse(`${head('3020')};CP=&&DataTime=20260301080000;PolId=w01018;i13004-Info=衡水市桃城区;LA-Rtd=55.2,LA-Flag=N&&`);
    expect(p.pollutants).toEqual(['w01018', 'i13004', 'LA']);
    expect(p.items[2]).toEqual([{ key: 'i13004-Info', value: '衡水市桃城区' }]);
  });

  it('split packets: Flag D bit with PNUM / PNO, in either order', () => {
    const a = parse(`QN=20260301080000534;ST=32;CN=2061;PW=123456;MN=${MN};Flag=7;PNUM=2;PNO=1;CP=&&DataTime=20260301070000;w01018-Avg=21.0&&`);
    expect(a).toMatchObject({ flag: 7, pnum: '2', pno: '1', warnings: [] });
    expect(decodeFlag(a.flag!)).toEqual({ version: 1, split: true, ack: true });
    const b = parse(`QN=20260301080000535;ST=32;CN=2061;PW=123456;MN=${MN};Flag=6;PNO=2;PNUM=2;CP=&&DataTime=20260301070000;w00000-Avg=1.0&&`);
    expect(b).toMatchObject({ flag: 6, pnum: '2', pno: '2', warnings: ['pno-before-pnum'] });
    expect(parse(`${head('2061', '6')};CP=&&&&`).warnings).toEqual(['split-without-pnum']);
    expect(parse(`${head('2061', '4')};PNUM=2;PNO=1;CP=&&&&`).warnings).toEqual(['pnum-without-split']);
  });
});

describe('parseSegment: real-world quirks', () => {
  it('HJ/T 212-2005: no QN, no Flag, 2–3 character pollutant codes', () => {
    const p = parse('ST=32;CN=2011;PW=123456;MN=88888880000001;CP=&&DataTime=20160801120000;011-Rtd=25.3,011-Flag=N;B01-Rtd=100.2,B01-Flag=N;060-Rtd=1.2;S01-Rtd=20.1;01-ZsRtd=3.0&&');
    expect(p).toMatchObject({ qn: undefined, flag: undefined, mn: '88888880000001', cn: '2011' });
    expect(p.pollutants).toEqual(['011', 'B01', '060', 'S01', '01']);
    expect(p.warnings).toEqual(['no-qn', 'no-flag']);
  });

  it('duplicate keys: all kept, the first one used', () => {
    const p = parse(`${H};CN=9999;CP=&&DataTime=20260301080000;DataTime=20260301090000;a21026-Rtd=1,a21026-Rtd=2&&`);
    expect(p.cn).toBe('2011');
    expect(p.header.filter((f) => f.key === 'CN').map((f) => f.value)).toEqual(['2011', '9999']);
    expect(p.dataTime).toBe('20260301080000');
    expect(p.items[2]).toEqual([
      { key: 'a21026-Rtd', value: '1' },
      { key: 'a21026-Rtd', value: '2' },
    ]);
    expect(p.warnings).toEqual(['duplicate-key']);
  });

  it('trailing and doubled separators, empty items', () => {
    const p = parse(`${H};;CP=&&DataTime=20260301080000;;a21026-Rtd=1,,a21026-Flag=N;&&;`);
    expect(p.items).toEqual([[{ key: 'DataTime', value: '20260301080000' }], [{ key: 'a21026-Rtd', value: '1' }, { key: 'a21026-Flag', value: 'N' }]]);
    expect(p.warnings).toEqual([]);
  });

  it('unknown keys and stray tokens are kept', () => {
    const p = parse(`${H};Ver=3;Junk;CP=&&DataTime=20260301080000;Flag=N;a21026-Rtd=1,N;VendorX=abc&&`);
    expect(p.header.slice(-2)).toEqual([
      { key: 'Ver', value: '3' },
      { key: 'Junk', value: undefined },
    ]);
    expect(p.items).toContainEqual([{ key: 'a21026-Rtd', value: '1' }, { key: 'N', value: undefined }]);
    expect(p.items).toContainEqual([{ key: 'VendorX', value: 'abc' }]);
    expect(p.items).toContainEqual([{ key: 'Flag', value: 'N' }]);
    expect(p.warnings).toEqual(['stray-token', 'unknown-field']);
  });

  it('values keep their exact text, including = and spaces', () => {
    const p = parse(`${H};CP=&&DataTime=20260301080000;i13004-Info=a=b c&&`);
    expect(p.items[1]).toEqual([{ key: 'i13004-Info', value: 'a=b c' }]);
  });

  it('fields after CP, a missing CP, an unterminated CP', () => {
    expect(parse(`QN=1;CP=&&a=1&&;MN=X;Flag=4`)).toMatchObject({ mn: 'X', flag: 4, cp: 'a=1' });
    expect(parse(`QN=1;CP=&&a=1&&;MN=X;Flag=4`).warnings).toContain('fields-after-cp');
    expect(parse(H)).toMatchObject({ cp: undefined, items: [] });
    expect(parse(H).warnings).toEqual(['no-cp']);
    expect(parse(`${H};CP=&&a21026-Rtd=1`)).toMatchObject({ cp: 'a21026-Rtd=1', pollutants: ['a21026'] });
    expect(parse(`${H};CP=&&a21026-Rtd=1`).warnings).toEqual(['cp-unterminated']);
    // "CP=&&" inside a value is not the CP.
    expect(parse(`QN=1;PW=xCP=&&;MN=X;Flag=4;CP=&&&&`)).toMatchObject({ pw: 'xCP=&&', mn: 'X' });
  });

  it('flags bad Flag, QN, DataTime and odd pollutant codes', () => {
    expect(parse(`QN=2026;ST=31;CN=2011;PW=1;MN=X;Flag=256;CP=&&DataTime=20260230080000;a-b-c-Rtd=1;-Rtd=2;x!y-Rtd=3&&`).warnings).toEqual(['qn-not-17-digits', 'flag-invalid', 'odd-pollutant-code', 'datatime-invalid']);
  });

  it('decodes invalid UTF-8 lossily with a warning', () => {
    const bytes = new Uint8Array([...enc(`${H};CP=&&i13004-Info=`), 0xba, 0xe2, ...enc('&&')]);
    const p = parseSegment(bytes);
    expect(p.warnings).toEqual(['not-utf8']);
    expect(p.pollutants).toEqual(['i13004']);
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.stringMatching(/^[A-Za-z0-9=;,&\-CPQNMF]{0,120}$/).map(enc)), (b) => {
        const p = parseSegment(b);
        expect(Array.isArray(p.warnings)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('Flag and DataTime', () => {
  it('decodes the version, D and A bits', () => {
    expect(decodeFlag(4)).toEqual({ version: 1, split: false, ack: false });
    expect(decodeFlag(5)).toEqual({ version: 1, split: false, ack: true });
    expect(decodeFlag(6)).toEqual({ version: 1, split: true, ack: false });
    expect(decodeFlag(7)).toEqual({ version: 1, split: true, ack: true });
    expect(decodeFlag(0)).toEqual({ version: 0, split: false, ack: false });
    expect(decodeFlag(9)).toEqual({ version: 2, split: false, ack: true });
    expect(decodeFlag(255)).toEqual({ version: 63, split: true, ack: true });
  });

  it('parses Flag as 1–3 digits up to 255', () => {
    expect([parseFlag('5'), parseFlag('05'), parseFlag('255'), parseFlag('256'), parseFlag(''), parseFlag('x'), parseFlag('0005'), parseFlag(undefined)]).toEqual([5, 5, 255, undefined, undefined, undefined, undefined, undefined]);
  });

  it('converts DataTime (China time) to RFC 3339 with +08:00', () => {
    expect(dataTimeToRfc3339('20260301080000')).toBe('2026-03-01T08:00:00+08:00');
    expect(dataTimeToRfc3339('20260301080000123')).toBe('2026-03-01T08:00:00.123+08:00');
    expect(dataTimeToRfc3339('20240229235959')).toBe('2024-02-29T23:59:59+08:00');
    for (const bad of ['20250229000000', '20260301240000', '2026030108000', '2026-03-01 08:00:00', '', undefined]) expect(dataTimeToRfc3339(bad)).toBeUndefined();
  });
});
