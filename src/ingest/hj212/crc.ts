/**
 * HJ 212 packet CRCs. Pure: no `node:*`, no Buffer, no clock.
 *
 * The standard's check (HJ 212-2017 Appendix A) is a CRC-16 over the data segment only, but it is
 * NOT CRC-16/MODBUS: each byte is XORed into the register's HIGH byte shifted down
 * (`crc = (crc >> 8) ^ byte`), not into the whole register. Older data loggers send
 * CRC-16/MODBUS instead, printed high byte first or byte-swapped (the order Modbus puts on the
 * wire); those are accepted only for devices (MN) configured for them, and the variant that
 * matched is recorded in the entry. See contracts-free-ledger/SPEC.md#hj-212-entries.
 */

/** A CRC variant name as recorded in `meta.crc.variant`. */
export type CrcVariant = 'hj212' | 'modbus' | 'modbus-swapped';

/** Every variant, the standard's first. */
export const CRC_VARIANTS: readonly CrcVariant[] = ['hj212', 'modbus', 'modbus-swapped'];

/** The legacy variants a device may be configured for. */
export const LEGACY_CRC_VARIANTS: readonly CrcVariant[] = ['modbus', 'modbus-swapped'];

/**
 * crcHj212 computes the HJ 212-2017 Appendix A CRC of `bytes`: register 0xFFFF; per byte
 * `crc = (crc >> 8) ^ byte`, then 8 times: shift right, XOR 0xA001 if the bit shifted out was 1.
 * Requires: `bytes` is the data segment (between the 4 length digits and the 4 CRC digits).
 *
 * @example
 * ```ts
 * crcHj212(utf8('QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&')); // 0x1C80
 * ```
 */
export function crcHj212(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc = (crc >>> 8) ^ b;
    for (let i = 0; i < 8; i++) {
      const out = crc & 1;
      crc >>>= 1;
      if (out !== 0) crc ^= 0xa001;
    }
  }
  return crc;
}

/**
 * crcModbus computes CRC-16/MODBUS of `bytes` (poly 0xA001 reflected, init 0xFFFF, each byte
 * XORed into the whole register). Requires: `bytes` is the data segment.
 */
export function crcModbus(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) {
      const out = crc & 1;
      crc >>>= 1;
      if (out !== 0) crc ^= 0xa001;
    }
  }
  return crc;
}

/** formatCrc prints a 16-bit CRC as 4 uppercase hex digits, high byte first. Requires: 0 <= crc <= 0xFFFF. */
export function formatCrc(crc: number): string {
  return crc.toString(16).toUpperCase().padStart(4, '0');
}

/** swapBytes exchanges the two bytes of a 16-bit value. */
function swapBytes(crc: number): number {
  return ((crc & 0xff) << 8) | (crc >>> 8);
}

/** crcText is the 4 hex digits a packet carries for `segment` under `variant` (uppercase). */
export function crcText(segment: Uint8Array, variant: CrcVariant): string {
  switch (variant) {
    case 'hj212':
      return formatCrc(crcHj212(segment));
    case 'modbus':
      return formatCrc(crcModbus(segment));
    case 'modbus-swapped':
      return formatCrc(swapBytes(crcModbus(segment)));
  }
}

/** The verdict on a packet's CRC. */
export interface CrcVerdict {
  /** The CRC matched one of the variants tried. */
  readonly ok: boolean;
  /** The variant that matched, or (when none did) the last one tried. */
  readonly variant: CrcVariant;
  /** Variants NOT allowed for this device that would have matched (a hint for the operator). */
  readonly wouldMatch: readonly CrcVariant[];
}

/**
 * checkCrc compares the packet's CRC digits (case-insensitively) with the standard CRC of the
 * segment, then with each of `legacy` in order, and reports the first that matches. When none
 * matches it also reports which legacy variants outside `legacy` would have.
 * Requires: `sent` is the 4 characters after the segment; `legacy` lists only legacy variants.
 */
export function checkCrc(segment: Uint8Array, sent: string, legacy: readonly CrcVariant[] = []): CrcVerdict {
  const want = sent.toUpperCase();
  const tried: CrcVariant[] = ['hj212', ...legacy.filter((v) => v !== 'hj212')];
  for (const variant of tried) {
    if (crcText(segment, variant) === want) return { ok: true, variant, wouldMatch: [] };
  }
  const wouldMatch = LEGACY_CRC_VARIANTS.filter((v) => !tried.includes(v) && crcText(segment, v) === want);
  return { ok: false, variant: tried[tried.length - 1] ?? 'hj212', wouldMatch };
}

/**
 * parseLegacyCrc parses a per-device legacy CRC list `MN=variant,MN=variant` (a device listed
 * twice may use either variant; whitespace around items is ignored; empty means none).
 * Requires: nothing; throws a plain Error naming the bad item (`want MN=modbus or MN=modbus-swapped`).
 */
export function parseLegacyCrc(text: string): Map<string, CrcVariant[]> {
  const out = new Map<string, CrcVariant[]>();
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const mn = item.slice(0, eq).trim();
    const variant = item.slice(eq + 1).trim();
    if (eq <= 0 || !/^(?:(?![;=&,])[\x21-\x7e]){1,64}$/.test(mn) || !(LEGACY_CRC_VARIANTS as readonly string[]).includes(variant)) {
      throw new Error(`got ${JSON.stringify(item)}, want MN=modbus or MN=modbus-swapped`);
    }
    const list = out.get(mn) ?? [];
    if (!list.includes(variant as CrcVariant)) list.push(variant as CrcVariant);
    out.set(mn, list);
  }
  return out;
}
