/**
 * The console's words, Chinese first with English (like the court page), and the reader's
 * choices: language and large text, kept in localStorage. Every message exists in both
 * languages (test/console/i18n.test.ts checks it); `{0}`, `{1}` … are filled in by {@link t}.
 */
import { MESSAGES, type MessageKey } from './messages.js';

export type Lang = 'zh' | 'en';

let lang: Lang = 'zh';

/** currentLang is the language pages are rendered in. */
export function currentLang(): Lang {
  return lang;
}

/** setLang switches the language (the caller re-renders) and sets `<html lang>`. */
export function setLang(next: Lang): void {
  lang = next;
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
  try {
    localStorage.setItem('guzheng.lang', next);
  } catch {
    // Storage may be off (private mode): the choice lasts for this page only.
  }
}

/** initialLang is the saved choice, else Chinese. */
export function initialLang(): Lang {
  try {
    return localStorage.getItem('guzheng.lang') === 'en' ? 'en' : 'zh';
  } catch {
    return 'zh';
  }
}

/** t returns message `key` in the current language with `{n}` replaced by `args[n]`. */
export function t(key: MessageKey, ...args: ReadonlyArray<string | number | bigint>): string {
  const pair: readonly [string, string] | undefined = MESSAGES[key];
  // A key built from data (an entry type the console does not know) shows as itself.
  const text = pair === undefined ? key : lang === 'zh' ? pair[0] : pair[1];
  return args.length === 0 ? text : text.replace(/\{(\d+)\}/g, (m, i: string) => (args[Number(i)] === undefined ? m : String(args[Number(i)])));
}

/** formatNumber groups digits the reader's way (decimal strings of any size). */
export function formatNumber(n: string | number | bigint): string {
  const s = String(n);
  return /^\d+$/.test(s) ? s.replace(/\B(?=(\d{3})+(?!\d))/g, ',') : s;
}

/**
 * formatTime shows an ISO time in Beijing time (the bureau's), in the reader's locale; `short`
 * leaves out the zone's name (for table cells whose header names it).
 */
export function formatTime(iso: string | undefined, short = false): string {
  if (iso === undefined) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const text = d.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { timeZone: 'Asia/Shanghai', hour12: false });
  return short ? text : text + (lang === 'zh' ? '（北京时间）' : ' (UTC+8)');
}

/** setLargeText turns the large-text mode on or off (a class on `<html>`, remembered). */
export function setLargeText(on: boolean): void {
  document.documentElement.classList.toggle('large-text', on);
  try {
    localStorage.setItem('guzheng.large', on ? '1' : '0');
  } catch {
    // See setLang.
  }
}

/** initialLargeText is the saved choice. */
export function initialLargeText(): boolean {
  try {
    return localStorage.getItem('guzheng.large') === '1';
  } catch {
    return false;
  }
}
