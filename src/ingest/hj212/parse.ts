/**
 * HJ 212 data-segment parser. Pure: no `node:*`, no Buffer, no clock. It never throws on input:
 * whatever a data logger sends is described as well as it can be, with warnings for what deviates
 * from HJ 212-2017, because the packet is anchored either way and the raw bytes are the evidence.
 *
 * Segment: `QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;[PNUM=…;PNO=…;]CP=&&…&&`. Inside CP, `;` separates
 * items, `,` the sub-fields of an item, and each sub-field is `key=value`, where a measured key
 * is `code-suffix` (`a21026-Rtd=12.3,a21026-Flag=N`). Values are kept as the exact text; nothing
 * is converted to a number. Accepted quirks: missing QN or Flag, PNO before PNUM, duplicate keys
 * (all kept, the first one used), empty items and trailing `;`, unknown keys, tokens without `=`,
 * fields after CP, old 2–3 character pollutant codes (`011`, `B01`, `S01`).
 * See contracts-free-ledger/SPEC.md#hj-212-entries.
 */
import { isRfc3339 } from '../../core/entry/text.js';

/** One `key=value` of the header or CP; `value` is undefined for a token without `=`. */
export interface Hj212Field {
  readonly key: string;
  readonly value: string | undefined;
}

/** Decoded `Flag=` bits: `V5 V4 V3 V2 V1 V0 D A`, bit 7 down to bit 0. */
export interface Hj212Flag {
  /** The 6 version bits: 0 = HJ/T 212-2005, 1 = HJ 212-2017, 2 = the later (surface water / 2025) variant. */
  readonly version: number;
  /** D: the packet is one of several (PNUM/PNO present). */
  readonly split: boolean;
  /** A: the sender asks for an acknowledgement. */
  readonly ack: boolean;
}

/** A parsed data segment. */
export interface Hj212Segment {
  /** The segment decoded as UTF-8 (invalid sequences as U+FFFD, with warning `not-utf8`). */
  readonly text: string;
  /** Every header field in the order sent (CP excluded), duplicates and unknown keys included. */
  readonly header: readonly Hj212Field[];
  /** First value of each standard header field, as the exact text. */
  readonly qn: string | undefined;
  readonly st: string | undefined;
  readonly cn: string | undefined;
  readonly pw: string | undefined;
  readonly mn: string | undefined;
  readonly flagText: string | undefined;
  readonly pnum: string | undefined;
  readonly pno: string | undefined;
  /** `Flag=` as an integer 0–255, if it is one. */
  readonly flag: number | undefined;
  /** The text between `CP=&&` and the closing `&&`, or undefined without CP. */
  readonly cp: string | undefined;
  /** CP items (`;`-separated), each a list of its `,`-separated sub-fields. */
  readonly items: readonly (readonly Hj212Field[])[];
  /** `DataTime` of CP as sent (`YYYYMMDDhhmmss`), if any. */
  readonly dataTime: string | undefined;
  /** Pollutant / factor codes present in CP (the part of a key before `-`, and `PolId` values), in first-seen order. */
  readonly pollutants: readonly string[];
  /** Deviations from HJ 212-2017, as codes (see SPEC.md), in the order found, each once. */
  readonly warnings: readonly string[];
}

/** A pollutant / factor code as listed in entries: 1–32 of `[A-Za-z0-9_]`. */
export const POLLUTANT_CODE = /^[A-Za-z0-9_]{1,32}$/;

const HEADER_KEYS = ['QN', 'ST', 'CN', 'PW', 'MN', 'Flag', 'PNUM', 'PNO'] as const;
type HeaderKey = (typeof HEADER_KEYS)[number];

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossyUtf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/**
 * decodeFlag splits a `Flag=` value into its version, D and A bits.
 * Requires: 0 <= flag <= 255 (an integer). See contracts-free-ledger/SPEC.md#hj-212-entries.
 */
export function decodeFlag(flag: number): Hj212Flag {
  return { version: flag >>> 2, split: (flag & 2) !== 0, ack: (flag & 1) !== 0 };
}

/**
 * parseFlag reads a `Flag=` value: 1–3 ASCII digits, 0–255. Leading zeros are tolerated.
 * Requires: nothing; returns undefined for anything else.
 */
export function parseFlag(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]{1,3}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 255 ? n : undefined;
}

const DATA_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})?$/;

/**
 * dataTimeToRfc3339 converts an HJ 212 `DataTime` (`YYYYMMDDhhmmss`, or with 3 more millisecond
 * digits) in China Standard Time to RFC 3339 with the `+08:00` offset, e.g. `20260301080000` →
 * `2026-03-01T08:00:00+08:00`. Requires: nothing; returns undefined unless the text is such a
 * time on a real calendar day. See contracts-free-ledger/SPEC.md#hj-212-entries.
 */
export function dataTimeToRfc3339(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const m = DATA_TIME.exec(text);
  if (m === null) return undefined;
  const out = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] === undefined ? '' : `.${m[7]}`}+08:00`;
  return isRfc3339(out) ? out : undefined;
}

function splitField(token: string): Hj212Field {
  const eq = token.indexOf('=');
  return eq < 0 ? { key: token, value: undefined } : { key: token.slice(0, eq), value: token.slice(eq + 1) };
}

/** findCp locates `CP=&&` at a field boundary (start of the segment or after `;`). */
function findCp(text: string): number {
  let at = text.indexOf('CP=&&');
  while (at > 0 && text[at - 1] !== ';') at = text.indexOf('CP=&&', at + 1);
  return at;
}

/**
 * parseSegment parses an HJ 212 data segment. Requires: `segment` is the bytes between the 4
 * length digits and the 4 CRC digits. Never throws; see {@link Hj212Segment} for the result and
 * the module comment for the accepted quirks. See contracts-free-ledger/SPEC.md#hj-212-entries.
 *
 * @example
 * ```ts
 * parseSegment(utf8('QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&')).cn; // '1062'
 * ```
 */
export function parseSegment(segment: Uint8Array): Hj212Segment {
  const warnings = new Set<string>();
  let text: string;
  try {
    text = strictUtf8.decode(segment);
  } catch {
    text = lossyUtf8.decode(segment);
    warnings.add('not-utf8');
  }

  // Split off CP=&&…&& (closed by the LAST "&&"); header fields before it, stray fields after it.
  const cpAt = findCp(text);
  let headerText = text;
  let cp: string | undefined;
  let after = '';
  if (cpAt >= 0) {
    headerText = text.slice(0, cpAt);
    const body = cpAt + 5;
    const close = text.lastIndexOf('&&');
    if (close >= body) {
      cp = text.slice(body, close);
      after = text.slice(close + 2);
    } else {
      cp = text.slice(body);
      warnings.add('cp-unterminated');
    }
    if (after !== '' && after !== ';') warnings.add('fields-after-cp');
  } else {
    warnings.add('no-cp');
  }

  const header: Hj212Field[] = [];
  for (const token of [...headerText.split(';'), ...after.split(';')]) {
    if (token === '') continue;
    const f = splitField(token);
    if (f.value === undefined) warnings.add('stray-token');
    header.push(f);
  }
  const first: Partial<Record<HeaderKey, string>> = {};
  const seen = new Set<string>();
  for (const f of header) {
    if (f.value === undefined) continue;
    if ((HEADER_KEYS as readonly string[]).includes(f.key)) {
      const k = f.key as HeaderKey;
      if (first[k] === undefined) first[k] = f.value;
      else warnings.add('duplicate-key');
    } else {
      warnings.add('unknown-field');
    }
    if (seen.has(f.key)) warnings.add('duplicate-key');
    seen.add(f.key);
  }
  const pnumAt = header.findIndex((f) => f.key === 'PNUM');
  const pnoAt = header.findIndex((f) => f.key === 'PNO');
  if (pnumAt >= 0 && pnoAt >= 0 && pnoAt < pnumAt) warnings.add('pno-before-pnum');

  const flag = parseFlag(first.Flag);
  if (first.QN === undefined) warnings.add('no-qn');
  else if (!/^[0-9]{17}$/.test(first.QN)) warnings.add('qn-not-17-digits');
  if (first.ST === undefined) warnings.add('no-st');
  if (first.CN === undefined) warnings.add('no-cn');
  if (first.MN === undefined) warnings.add('no-mn');
  if (first.Flag === undefined) warnings.add('no-flag');
  else if (flag === undefined) warnings.add('flag-invalid');
  if (flag !== undefined) {
    const bits = decodeFlag(flag);
    if (bits.split && (first.PNUM === undefined || first.PNO === undefined)) warnings.add('split-without-pnum');
    if (!bits.split && (first.PNUM !== undefined || first.PNO !== undefined)) warnings.add('pnum-without-split');
  }

  // CP items and sub-fields.
  const items: Hj212Field[][] = [];
  const pollutants: string[] = [];
  const cpKeys = new Set<string>();
  let dataTime: string | undefined;
  const addPollutant = (code: string) => {
    if (!POLLUTANT_CODE.test(code)) {
      warnings.add('odd-pollutant-code');
      return;
    }
    if (!pollutants.includes(code)) pollutants.push(code);
  };
  for (const itemText of (cp ?? '').split(';')) {
    if (itemText === '') continue;
    const item: Hj212Field[] = [];
    for (const token of itemText.split(',')) {
      if (token === '') continue;
      const f = splitField(token);
      item.push(f);
      if (f.value === undefined) {
        warnings.add('stray-token');
        continue;
      }
      if (cpKeys.has(f.key)) warnings.add('duplicate-key');
      cpKeys.add(f.key);
      if (f.key === 'DataTime') {
        dataTime ??= f.value;
      } else if (f.key === 'PolId') {
        addPollutant(f.value);
      } else {
        const dash = f.key.indexOf('-');
        if (dash > 0 && dash < f.key.length - 1) addPollutant(f.key.slice(0, dash));
      }
    }
    if (item.length > 0) items.push(item);
  }
  if (dataTime !== undefined && dataTimeToRfc3339(dataTime) === undefined) warnings.add('datatime-invalid');

  return {
    text,
    header,
    qn: first.QN,
    st: first.ST,
    cn: first.CN,
    pw: first.PW,
    mn: first.MN,
    flagText: first.Flag,
    pnum: first.PNUM,
    pno: first.PNO,
    flag,
    cp,
    items,
    dataTime,
    pollutants,
    warnings: [...warnings],
  };
}
