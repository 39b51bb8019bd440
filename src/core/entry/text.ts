/**
 * String and time rules shared by the entry schemas: bounded single-line text, RFC 3339 times
 * with a real calendar check, and the receive-time format `YYYY-MM-DDTHH:MM:SS.sssZ`.
 * Lengths are counted in Unicode code points, so a limit means the same in every language.
 * See contracts-free-ledger/SPEC.md#entries.
 */
import { z } from 'zod';
import { badInput } from '../errors.js';

/** C0 controls, DEL and C1 controls (U+0000–U+001F, U+007F–U+009F). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** The same, except TAB and LF, which a multi-line note may hold. */
const CONTROL_MULTILINE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
/** A UTF-16 surrogate not part of a pair: not a Unicode scalar value, not encodable as UTF-8. */
const LONE_SURROGATE = /\p{Cs}/u;

/** codePointLength counts the Unicode code points of `s` (a surrogate pair counts once). */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Rules for a free-text field. */
export interface TextRule {
  /** Fewest code points (default 1: optional fields are omitted, never empty). */
  readonly min?: number;
  /** Most code points. */
  readonly max: number;
  /** Allow TAB and LF (not CR, not other controls). */
  readonly multiline?: boolean;
}

function hexCode(c: string): string {
  return 'U+' + (c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
}

/**
 * textSchema builds a zod string schema for free text: well-formed Unicode, no control characters
 * (TAB/LF allowed if `multiline`), `min..max` code points.
 * Requires: 0 <= min <= max. See contracts-free-ledger/SPEC.md#entries.
 */
export function textSchema(rule: TextRule): z.ZodString {
  const min = rule.min ?? 1;
  const control = rule.multiline === true ? CONTROL_MULTILINE : CONTROL;
  return z.string().superRefine((s, ctx) => {
    if (LONE_SURROGATE.test(s)) {
      ctx.addIssue({ code: 'custom', message: 'contains a lone surrogate, want well-formed Unicode' });
    }
    const m = control.exec(s);
    if (m !== null) {
      ctx.addIssue({ code: 'custom', message: `contains control character ${hexCode(m[0])} at offset ${m.index}` });
    }
    const n = codePointLength(s);
    if (n < min) {
      ctx.addIssue({ code: 'custom', message: min === 1 ? 'empty, want at least 1 character' : `got ${n} characters, want at least ${min}` });
    } else if (n > rule.max) {
      ctx.addIssue({ code: 'custom', message: `got ${n} characters, want at most ${rule.max}` });
    }
  });
}

const RECEIVED_AT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{3}Z$/;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** validCalendar checks month, day (with leap years), hour, minute and second (no leap second). */
function validCalendar(m: RegExpExecArray): boolean {
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  if (y === undefined || mo === undefined || d === undefined || h === undefined || mi === undefined || s === undefined) {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return false;
  const days = mo === 2 && isLeapYear(y) ? 29 : (DAYS_IN_MONTH[mo - 1] ?? 0);
  return d <= days;
}

/**
 * isReceivedAt reports whether `s` is a server receive time: RFC 3339 in UTC with exactly
 * millisecond precision, `YYYY-MM-DDTHH:MM:SS.sssZ` (the `Date.prototype.toISOString` form for
 * years 0000–9999), on a real calendar day, without leap seconds. See contracts-free-ledger/SPEC.md#entries.
 */
export function isReceivedAt(s: string): boolean {
  const m = RECEIVED_AT.exec(s);
  return m !== null && validCalendar(m);
}

/**
 * isRfc3339 reports whether `s` is an RFC 3339 `date-time` with an explicit offset (`Z` or
 * `±HH:MM`), uppercase `T`/`Z`, 1–9 fraction digits if any, on a real calendar day, seconds 00–59.
 * See contracts-free-ledger/SPEC.md#entries.
 */
export function isRfc3339(s: string): boolean {
  const m = RFC3339.exec(s);
  if (m === null || !validCalendar(m)) return false;
  if (m[7] === undefined) return true; // Z
  return Number(m[7]) <= 23 && Number(m[8]) <= 59;
}

/**
 * formatReceivedAt formats a Date as a receive time (`YYYY-MM-DDTHH:MM:SS.sssZ`).
 * Requires: a valid Date in the years 0000–9999 (else `INPUT_INVALID`). See contracts-free-ledger/SPEC.md#entries.
 */
export function formatReceivedAt(time: Date): string {
  if (!(time instanceof Date) || Number.isNaN(time.getTime())) badInput('receivedAt: got an invalid Date, want a valid one');
  const s = time.toISOString();
  if (!isReceivedAt(s)) badInput(`receivedAt: got ${s}, want a time in the years 0000-9999`);
  return s;
}

/** Zod schema of a receive time, see {@link isReceivedAt}. */
export const receivedAtSchema = z.string().refine(isReceivedAt, {
  message: 'want RFC 3339 UTC with milliseconds, YYYY-MM-DDTHH:MM:SS.sssZ, on a real date',
});

/** Zod schema of a data time: RFC 3339 with an offset, see {@link isRfc3339}. */
export const dataTimeSchema = z.string().refine(isRfc3339, {
  message: 'want RFC 3339 date-time with offset, e.g. 2026-03-01T08:00:00+08:00, on a real date',
});
