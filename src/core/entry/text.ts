/**
 * String and time rules shared by the entry schemas: bounded single-line text, RFC 3339 times
 * with a real calendar check, and the receive-time format `YYYY-MM-DDTHH:MM:SS.sssZ`.
 * Lengths are counted in Unicode code points, so a limit means the same in every language.
 * See contracts-free-ledger/SPEC.md#entries.
 */
import { z } from 'zod';
import { badInput } from '../errors.js';

/** C0 controls, DEL and C1 controls (U+0000–U+001F, U+007F–U+009F). */
export const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** The same, except TAB and LF, which a multi-line note may hold. */
export const CONTROL_MULTILINE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
/** A UTF-16 surrogate not part of a pair: not a Unicode scalar value, not encodable as UTF-8. */
export const LONE_SURROGATE = /\p{Cs}/u;

/** `String.prototype.isWellFormed` (ES2024; Node 20, current browsers), if the platform has it. */
const isWellFormed = (String.prototype as { isWellFormed?: unknown }).isWellFormed;

/**
 * hasLoneSurrogate reports whether `s` holds a {@link LONE_SURROGATE}: `!s.isWellFormed()` where
 * the platform has it (several times faster on CJK text), else the regular expression.
 */
export const hasLoneSurrogate: (s: string) => boolean =
  typeof isWellFormed === 'function'
    ? (s) => !(isWellFormed as (this: string) => boolean).call(s)
    : (s) => LONE_SURROGATE.test(s);

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

/** controlPattern is the control characters a text field under `rule` may not hold. */
export function controlPattern(rule: TextRule): RegExp {
  return rule.multiline === true ? CONTROL_MULTILINE : CONTROL;
}

/**
 * isText reports whether `s` satisfies `rule`: the same rules as {@link textSchema} (no lone
 * surrogate, no control character, min..max code points), as one boolean for the entry fast path
 * (fast.ts). The length test skips the code point count when the UTF-16 length alone decides it:
 * a string of `n` UTF-16 units without lone surrogates has between ⌈n/2⌉ and `n` code points.
 * Requires: 0 <= min <= max. See contracts-free-ledger/SPEC.md#entries.
 */
export function isText(s: string, rule: TextRule): boolean {
  if (hasLoneSurrogate(s) || controlPattern(rule).test(s)) return false;
  const min = rule.min ?? 1;
  const n = s.length;
  if (n <= rule.max && n >= 2 * min - 1) return true;
  if (n < min || n > 2 * rule.max) return false;
  const cp = codePointLength(s);
  return cp >= min && cp <= rule.max;
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
  const control = controlPattern(rule);
  return z.string().superRefine((s, ctx) => {
    if (hasLoneSurrogate(s)) {
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

// These rules are also applied by the entry fast path (fast.ts), through isText, isReceivedAt and
// isRfc3339: change them here and both follow.

/** `YYYY-MM-DDTHH:MM:SS.sssZ`; validCalendar reads the fields by position. */
const RECEIVED_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`; validCalendar and isRfc3339 read the fields by position. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** twoDigits is the value of the ASCII digits at `s[i]`, `s[i + 1]`. Requires: both are 0-9. */
function twoDigits(s: string, i: number): number {
  return (s.charCodeAt(i) - 48) * 10 + (s.charCodeAt(i + 1) - 48);
}

/**
 * validCalendar checks month, day (with leap years), hour, minute and second (no leap second) of
 * `s`, which starts with `YYYY-MM-DDTHH:MM:SS` in ASCII digits (RECEIVED_AT or RFC3339 matched).
 * The fields are read by position: no capture groups, no allocation (this runs on every entry).
 */
function validCalendar(s: string): boolean {
  const y = twoDigits(s, 0) * 100 + twoDigits(s, 2);
  const mo = twoDigits(s, 5);
  const d = twoDigits(s, 8);
  if (mo < 1 || mo > 12 || d < 1 || twoDigits(s, 11) > 23 || twoDigits(s, 14) > 59 || twoDigits(s, 17) > 59) return false;
  const days = mo === 2 && isLeapYear(y) ? 29 : (DAYS_IN_MONTH[mo - 1] ?? 0);
  return d <= days;
}

/**
 * isReceivedAt reports whether `s` is a server receive time: RFC 3339 in UTC with exactly
 * millisecond precision, `YYYY-MM-DDTHH:MM:SS.sssZ` (the `Date.prototype.toISOString` form for
 * years 0000–9999), on a real calendar day, without leap seconds. See contracts-free-ledger/SPEC.md#entries.
 */
export function isReceivedAt(s: string): boolean {
  return RECEIVED_AT.test(s) && validCalendar(s);
}

/**
 * isRfc3339 reports whether `s` is an RFC 3339 `date-time` with an explicit offset (`Z` or
 * `±HH:MM`), uppercase `T`/`Z`, 1–9 fraction digits if any, on a real calendar day, seconds 00–59.
 * See contracts-free-ledger/SPEC.md#entries.
 */
export function isRfc3339(s: string): boolean {
  if (!RFC3339.test(s) || !validCalendar(s)) return false;
  const n = s.length;
  if (s.charCodeAt(n - 1) === 0x5a) return true; // Z
  // `±HH:MM` is the last six characters.
  return twoDigits(s, n - 5) <= 23 && twoDigits(s, n - 2) <= 59;
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
