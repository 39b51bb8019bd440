/**
 * The times a verified receipt shows, each with who vouches for it (SPEC.md#time-stamps): the
 * received time and the sealing time come from the log's own clock and are vouched for by its
 * signature (a format-1 block's time by nothing); the trusted time (可信时间) comes from an RFC 3161
 * time-stamping authority, independent of the log, and is verified only against TSA roots the
 * reader pinned. Pure: turns a report into rows; src/web/page.ts draws them.
 */
import type { ReportFacts, TimestampTokenFact, VerificationReport } from '../verifier/index.js';
import type { Bilingual } from './explain.js';

/**
 * How a time is vouched for:
 * - `signed`: by the log's clock, under the log's signature;
 * - `unsigned`: a format-1 block's time, which no signature covers (never a verified time);
 * - `independent`: an RFC 3161 TSA's genTime, verified and chained to a pinned TSA root;
 * - `unverified`: what a time-stamp token claims, not verified (no TSA root pinned);
 * - `invalid`: the time-stamp check failed;
 * - `none`: there is no such time (no time stamp yet, no sealing block given).
 */
export type TimeState = 'signed' | 'unsigned' | 'independent' | 'unverified' | 'invalid' | 'none';

/** One row of the times table. */
export interface TimeRow {
  readonly kind: 'received' | 'sealed' | 'trusted';
  /** 接收时间 Received, 封存时间 Sealed, 可信时间 Trusted time. */
  readonly label: Bilingual;
  /** The time as the document states it (UTC, RFC 3339). */
  readonly utc?: string;
  /** The same instant in Beijing time (UTC+8), `YYYY-MM-DD HH:MM:SS[.fff]`. */
  readonly beijing?: string;
  readonly state: TimeState;
  /** Whose clock: the log's, or a TSA's (named in `details`). */
  readonly source: Bilingual;
  /** Who vouches for it, and whether it is verified. */
  readonly vouch: Bilingual;
  /** For a trusted time: the TSA, serial, policy, accuracy, root and stamped checkpoint. */
  readonly details: ReadonlyArray<readonly [Bilingual, string]>;
}

const UTC_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?Z$/;

/**
 * beijingTime spells a UTC time (`YYYY-MM-DDTHH:MM:SS[.f…]Z`) in China Standard Time (UTC+8,
 * no daylight saving): `2026-03-01T02:03:04.567Z` → `2026-03-01 10:03:04.567`. The fraction is
 * kept exactly as given (a token's genTime may have none, or more than milliseconds). As
 * src/certificate/html.ts `beijingTime`. Returns the input unchanged if it is not such a time.
 */
export function beijingTime(utc: string): string {
  const m = UTC_TIME.exec(utc);
  if (m === null) return utc;
  const ms = Date.parse(`${m[1]}T${m[2]}Z`);
  if (Number.isNaN(ms)) return utc;
  const shifted = new Date(ms + 8 * 3600_000).toISOString();
  return `${shifted.slice(0, 10)} ${shifted.slice(11, 19)}${m[3] ?? ''}`;
}

const LOG_CLOCK: Bilingual = { zh: '日志时钟', en: 'log clock' };
const TSA_CLOCK: Bilingual = { zh: '时间戳机构（TSA）时钟', en: 'TSA clock' };

function at(utc: string | undefined): { utc?: string; beijing?: string } {
  return utc === undefined ? {} : { utc, beijing: beijingTime(utc) };
}

function receivedRow(f: ReportFacts): TimeRow {
  return {
    kind: 'received',
    label: { zh: '接收时间', en: 'Received' },
    ...at(f.entry?.receivedAt),
    state: f.entry === undefined ? 'none' : 'signed',
    source: LOG_CLOCK,
    vouch: { zh: '日志签名担保（条目在已签名的树中）', en: 'signed by the log (the entry is in a signed tree)' },
    details: [],
  };
}

function sealedRow(f: ReportFacts): TimeRow {
  const label = { zh: '封存时间', en: 'Sealed' };
  if (f.blockTime !== undefined) {
    return { kind: 'sealed', label, ...at(f.blockTime), state: 'signed', source: LOG_CLOCK, vouch: { zh: '日志签名担保（区块头经签名）', en: 'signed by the log (signed block header)' }, details: [] };
  }
  if (f.blockTimeUnsigned !== undefined) {
    return {
      kind: 'sealed',
      label,
      ...at(f.blockTimeUnsigned),
      state: 'unsigned',
      source: LOG_CLOCK,
      vouch: { zh: '未经签名（格式1区块）：不是已核验的时间', en: 'NOT verified: not signed (a format-1 block); the log merely states it' },
      details: [],
    };
  }
  return { kind: 'sealed', label, state: 'none', source: LOG_CLOCK, vouch: { zh: '无封存区块可核验', en: 'no sealing block was checked' }, details: [] };
}

function tokenDetails(t: TimestampTokenFact, stamped: { height: string; size: string; logTime: string }): Array<readonly [Bilingual, string]> {
  const rows: Array<readonly [Bilingual, string]> = [];
  if (t.tsa !== undefined) rows.push([{ zh: '时间戳机构', en: 'TSA' }, t.tsa]);
  if (t.serial !== undefined) rows.push([{ zh: '序列号', en: 'Serial' }, t.serial]);
  if (t.policy !== undefined) rows.push([{ zh: '策略', en: 'Policy' }, t.policy]);
  if (t.accuracy !== undefined) rows.push([{ zh: '精度', en: 'Accuracy' }, `±${t.accuracy} s`]);
  if (t.root !== undefined) rows.push([{ zh: '根证书（已固定）', en: 'Pinned root' }, t.root]);
  rows.push([{ zh: '所盖检查点', en: 'Stamped checkpoint' }, `block ${stamped.height}, size ${stamped.size}, ${stamped.logTime}`]);
  return rows;
}

function trustedRows(report: VerificationReport): TimeRow[] {
  const label = { zh: '可信时间', en: 'Trusted time' };
  const check = report.checks.find((c) => c.id === 'timestamp');
  const stamp = report.facts.timestamp;
  const tsaSource = (t: TimestampTokenFact): Bilingual => (t.tsa === undefined ? { zh: '时间戳机构时钟（未具名）', en: 'TSA clock (unnamed)' } : TSA_CLOCK);
  if (check?.status === 'fail') {
    return [{ kind: 'trusted', label, state: 'invalid', source: TSA_CLOCK, vouch: { zh: '时间戳未通过核验', en: 'the time stamp failed verification' }, details: [] }];
  }
  if (check?.status === 'pass' && stamp !== undefined && stamp.tokens.length > 0) {
    return stamp.tokens.map((t) => ({
      kind: 'trusted',
      label,
      ...at(t.genTime),
      state: t.verified ? 'independent' : 'unverified',
      source: tsaSource(t),
      vouch: t.verified
        ? { zh: '独立时间来源：时间戳机构签名，已核验（链至您固定的根证书）', en: 'independent: signed by the TSA, verified (chains to a root you pinned)' }
        : { zh: '未核验', en: 'not verified' },
      details: tokenDetails(t, stamp),
    }));
  }
  if (stamp !== undefined && stamp.tokens.length > 0) {
    return stamp.tokens.map((t) => ({
      kind: 'trusted',
      label,
      ...at(t.genTime),
      state: 'unverified',
      source: tsaSource(t),
      vouch: { zh: '未核验：未固定该时间戳机构的根证书（以下为时间戳令牌自称的内容）', en: 'not verified: TSA root not pinned (what the token claims)' },
      details: tokenDetails(t, stamp),
    }));
  }
  return [{ kind: 'trusted', label, state: 'none', source: TSA_CLOCK, vouch: { zh: '尚无可信时间戳——请稍后重新获取回执', en: 'no time stamp yet — fetch the receipt again later' }, details: [] }];
}

/**
 * reportTimes lists the times of a report, in this order: received (entry.receivedAt), sealed
 * (block time: signed for a format-2 block, unsigned for a format-1 one, SPEC.md#logs-created-before-signed-blocks),
 * and one trusted time per TSA token (SPEC.md#verifying-a-time-stamp), `independent` only when
 * the `timestamp` check passed. Requires: a report from src/verifier; the page draws it only for a
 * valid report (an invalid receipt establishes none of these times).
 */
export function reportTimes(report: VerificationReport): TimeRow[] {
  return [receivedRow(report.facts), sealedRow(report.facts), ...trustedRows(report)];
}
