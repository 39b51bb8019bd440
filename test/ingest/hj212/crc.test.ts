import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CRC_VARIANTS, checkCrc, crcHj212, crcModbus, crcText, formatCrc, parseLegacyCrc } from '../../../src/ingest/hj212/crc.js';
import { enc, STANDARD_EXAMPLE_SEGMENT } from './helpers.js';

/** CRC-16/MODBUS the table-free textbook way, as an independent oracle. */
function modbusOracle(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >> 1) ^ 0xa001 : crc >> 1;
  }
  return crc;
}

/** HJ 212-2017 Appendix A, transcribed literally from the standard's C listing, as an oracle. */
function appendixAOracle(bytes: Uint8Array): number {
  let crcReg = 0xffff;
  for (let i = 0; i < bytes.length; i++) {
    crcReg = (crcReg >> 8) ^ bytes[i]!;
    for (let j = 0; j < 8; j++) {
      const check = crcReg & 0x0001;
      crcReg >>= 1;
      if (check === 0x0001) crcReg ^= 0xa001;
    }
  }
  return crcReg;
}

describe('HJ 212 CRC', () => {
  it("gives the standard's own example: length 0101, CRC 1C80", () => {
    const seg = enc(STANDARD_EXAMPLE_SEGMENT);
    expect(seg.length).toBe(101);
    expect(crcHj212(seg)).toBe(0x1c80);
    expect(crcText(seg, 'hj212')).toBe('1C80');
  });

  it('is not CRC-16/MODBUS', () => {
    const seg = enc(STANDARD_EXAMPLE_SEGMENT);
    expect(crcModbus(seg)).toBe(0x0759);
    expect(crcText(seg, 'modbus')).toBe('0759');
    expect(crcText(seg, 'modbus-swapped')).toBe('5907');
    // CRC-16/MODBUS check value (catalogue of CRC algorithms): "123456789" → 0x4B37.
    expect(crcModbus(enc('123456789'))).toBe(0x4b37);
    expect(crcHj212(enc('123456789'))).not.toBe(0x4b37);
  });

  it('matches the oracles on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(crcHj212(b)).toBe(appendixAOracle(b));
        expect(crcModbus(b)).toBe(modbusOracle(b));
        const m = modbusOracle(b);
        expect(crcText(b, 'modbus-swapped')).toBe(formatCrc(((m & 0xff) << 8) | (m >> 8)));
        for (const v of CRC_VARIANTS) expect(crcText(b, v)).toMatch(/^[0-9A-F]{4}$/);
      }),
    );
  });

  it('of the empty segment is FFFF under every variant', () => {
    for (const v of CRC_VARIANTS) expect(crcText(new Uint8Array(0), v)).toBe('FFFF');
  });

  it('formats 4 uppercase hex digits, high byte first', () => {
    expect(formatCrc(0)).toBe('0000');
    expect(formatCrc(0xab)).toBe('00AB');
    expect(formatCrc(0x1c80)).toBe('1C80');
  });
});

describe('checkCrc', () => {
  const seg = enc(STANDARD_EXAMPLE_SEGMENT);

  it('accepts the standard CRC in either case', () => {
    expect(checkCrc(seg, '1C80')).toEqual({ ok: true, variant: 'hj212', wouldMatch: [] });
    expect(checkCrc(seg, '1c80')).toEqual({ ok: true, variant: 'hj212', wouldMatch: [] });
  });

  it('accepts a legacy variant only when the device is configured for it, and says which matched', () => {
    expect(checkCrc(seg, '0759')).toEqual({ ok: false, variant: 'hj212', wouldMatch: ['modbus'] });
    expect(checkCrc(seg, '5907')).toEqual({ ok: false, variant: 'hj212', wouldMatch: ['modbus-swapped'] });
    expect(checkCrc(seg, '0759', ['modbus'])).toEqual({ ok: true, variant: 'modbus', wouldMatch: [] });
    expect(checkCrc(seg, '5907', ['modbus-swapped'])).toEqual({ ok: true, variant: 'modbus-swapped', wouldMatch: [] });
    expect(checkCrc(seg, '5907', ['modbus', 'modbus-swapped'])).toEqual({ ok: true, variant: 'modbus-swapped', wouldMatch: [] });
    // The standard CRC is always accepted, also from a legacy device.
    expect(checkCrc(seg, '1C80', ['modbus'])).toEqual({ ok: true, variant: 'hj212', wouldMatch: [] });
  });

  it('reports a failure with the last variant tried', () => {
    expect(checkCrc(seg, '1C81')).toEqual({ ok: false, variant: 'hj212', wouldMatch: [] });
    expect(checkCrc(seg, '1C81', ['modbus'])).toEqual({ ok: false, variant: 'modbus', wouldMatch: [] });
    expect(checkCrc(seg, '5907', ['modbus'])).toEqual({ ok: false, variant: 'modbus', wouldMatch: ['modbus-swapped'] });
  });
});

describe('parseLegacyCrc', () => {
  it('parses MN=variant lists', () => {
    expect(parseLegacyCrc('')).toEqual(new Map());
    expect(parseLegacyCrc(' A=modbus , B=modbus-swapped,A=modbus-swapped,A=modbus,')).toEqual(
      new Map([
        ['A', ['modbus', 'modbus-swapped']],
        ['B', ['modbus-swapped']],
      ]),
    );
  });

  it('names the bad item', () => {
    expect(() => parseLegacyCrc('A=hj212')).toThrow('got "A=hj212", want MN=modbus or MN=modbus-swapped');
    expect(() => parseLegacyCrc('=modbus')).toThrow('got "=modbus"');
    expect(() => parseLegacyCrc('A B=modbus')).toThrow('got "A B=modbus"');
    expect(() => parseLegacyCrc('modbus')).toThrow('got "modbus"');
  });
});
