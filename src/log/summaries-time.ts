/**
 * Time buckets of the explorer's summaries (src/log/summaries.ts). Hours are UTC hours, keyed
 * `YYYY-MM-DDTHH` (the first 13 characters of an RFC 3339 UTC time, as blocks and entries spell
 * theirs). Days are Asia/Shanghai calendar days, `YYYY-MM-DD`: the bureau works in China Standard
 * Time, UTC+8 all year (no daylight saving since 1991), so a day is the 24 UTC hours from 16:00
 * UTC of the day before. A day bucket is the sum of its 24 hour buckets.
 */

/** One hour, ms. */
export const HOUR_MS = 3_600_000;
/** One day, ms. */
export const DAY_MS = 24 * HOUR_MS;
/** Asia/Shanghai's offset from UTC, ms (fixed: China keeps no daylight saving time). */
export const SHANGHAI_OFFSET_MS = 8 * HOUR_MS;

/** hourKeyOf returns the UTC hour key `YYYY-MM-DDTHH` of an RFC 3339 UTC time `YYYY-MM-DDTHH:MM:SS.sssZ`. */
export function hourKeyOf(time: string): string {
  return time.slice(0, 13);
}

/** hourKeyAt returns the UTC hour key of a time value (ms since the epoch). Requires: years 0000–9999. */
export function hourKeyAt(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13);
}

/** hourStart returns the time value (ms) at which the hour of key `YYYY-MM-DDTHH` starts. */
export function hourStart(key: string): number {
  return Date.parse(`${key}:00:00.000Z`);
}

/** shanghaiDayAt returns the Asia/Shanghai day `YYYY-MM-DD` holding a time value (ms). */
export function shanghaiDayAt(ms: number): string {
  return new Date(ms + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10);
}

/** shanghaiDayOf returns the Asia/Shanghai day `YYYY-MM-DD` of an RFC 3339 time. */
export function shanghaiDayOf(time: string): string {
  return shanghaiDayAt(Date.parse(time));
}

/** shanghaiDayStart returns the time value (ms) at which Asia/Shanghai day `YYYY-MM-DD` starts (16:00 UTC the day before). */
export function shanghaiDayStart(day: string): number {
  return Date.parse(`${day}T00:00:00.000Z`) - SHANGHAI_OFFSET_MS;
}

/** floorHour rounds a time value down to the start of its UTC hour. */
export function floorHour(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/** floorShanghaiDay rounds a time value down to the start of its Asia/Shanghai day. */
export function floorShanghaiDay(ms: number): number {
  return Math.floor((ms + SHANGHAI_OFFSET_MS) / DAY_MS) * DAY_MS - SHANGHAI_OFFSET_MS;
}

const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const INSTANT = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,3}))?)?(Z|[+-][0-9]{2}:[0-9]{2})$/;

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  // Day 0 of the next month is the last day of month m (years below 100 never get here).
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/**
 * parseInstant reads a bound of a statistics range: a date `YYYY-MM-DD` (00:00 Asia/Shanghai that
 * day) or an RFC 3339 time with `Z` or an offset (`2026-12-06T02:00Z`, `2026-12-06T10:00:00+08:00`).
 * Returns the time value (ms), or undefined for anything else (an impossible date, a time without
 * an offset, a year outside 1970–9999).
 */
export function parseInstant(text: string): number | undefined {
  const date = DATE.exec(text);
  if (date !== null) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
    if (y < 1970 || !validDate(y, m, d)) return undefined;
    return shanghaiDayStart(text);
  }
  const t = INSTANT.exec(text);
  if (t === null) return undefined;
  const [y, m, d, hh, mm, ss] = [Number(t[1]), Number(t[2]), Number(t[3]), Number(t[4]), Number(t[5]), Number(t[6] ?? '0')];
  if (y < 1970 || !validDate(y, m, d) || hh > 23 || mm > 59 || ss > 59) return undefined;
  const zone = t[8] as string;
  if (zone !== 'Z') {
    const [oh, om] = [Number(zone.slice(1, 3)), Number(zone.slice(4, 6))];
    if (oh > 23 || om > 59) return undefined;
  }
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}
