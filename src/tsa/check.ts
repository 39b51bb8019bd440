/**
 * The log's check of a TSA's reply (RFC 3161 §2.4.2, §4): nothing is kept unless the reply is
 * granted, its token verifies for the imprint and nonce the log sent (src/verifier/timestamp.ts:
 * signature, chain to the pinned roots at genTime, critical timeStamping usage, ESS signing
 * certificate), and its genTime is close to the log's own clock.
 *
 * Only `granted` (status 0) is kept, as SPEC.md#what-the-log-stamps requires. `grantedWithMods`
 * (1) is refused even though every field a TSA could modify (policy, nonce, certReq, extensions;
 * RFC 3161 §2.4.1) is checked on the token anyway: the log asks for nothing optional, so a TSA
 * that says it modified something answered another request than the one sent.
 */
import { LedgerError, badInput } from '../core/errors.js';
import { verifyTimestampToken, type TimestampInfo } from '../verifier/timestamp.js';
import { describeStatus, parseTimeStampResp } from './protocol.js';

/** Options of {@link checkTimestampReply}. */
export interface CheckReplyOptions {
  /** The digest the request stamped (of the signed checkpoint note's exact bytes). */
  readonly imprint: Uint8Array;
  /**
   * Its algorithm, as the request named it: `sha256` (default, `c2sp` logs) or `sm3` (`gm` logs);
   * the token must name the same one (SPEC.md#what-the-log-stamps, check 2).
   */
  readonly imprintAlg?: 'sha256' | 'sm3';
  /** The nonce the request carried. */
  readonly nonce: bigint;
  /** DER certificates of the pinned TSA roots. */
  readonly trustedRoots: readonly Uint8Array[];
  /** The log's clock when the reply arrived. */
  readonly now: Date;
  /** Most genTime may differ from `now`, either way, ms. */
  readonly maxSkewMs: number;
  /** The policy OID the request asked for, if any; the token must carry it. */
  readonly policy?: string;
}

/** A reply that passed every check. */
export interface CheckedReply {
  /** The token's DER exactly as the TSA sent it. */
  readonly token: Uint8Array;
  readonly info: TimestampInfo;
}

/** formatDuration renders a span for messages, in its largest whole unit to one decimal: `850 ms`, `1.5 s`, `5 min`, `2 h`, `3.5 d`. */
export function formatDuration(ms: number): string {
  const units: Array<[number, string]> = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'min'], [1000, 's']];
  for (const [size, name] of units) {
    if (ms >= size) return `${Number((ms / size).toFixed(1))} ${name}`;
  }
  return `${Math.round(ms)} ms`;
}

/**
 * checkTimestampReply checks a DER TimeStampResp for the log and returns its token: status
 * granted (not grantedWithMods, see the module note), then verifyTimestampToken with `imprint`,
 * `nonce` and `trustedRoots`, then the policy (if asked) and genTime within ±`maxSkewMs` of `now`.
 * Never returns a token that failed a check.
 * Requires: `now` a valid Date, `maxSkewMs` ≥ 0 (else INPUT_INVALID). Throws
 * `LedgerError('TIMESTAMP_UNTRUSTED')` when the token chains to no pinned root and
 * `LedgerError('TIMESTAMP_INVALID')` for everything else, e.g.
 * `TSA answered status rejection: "…" (failInfo unacceptedPolicy)` or
 * `time-stamp token: genTime 2026-… is 2 h ahead of the log's clock (…)`.
 */
export async function checkTimestampReply(replyDer: Uint8Array, options: CheckReplyOptions): Promise<CheckedReply> {
  if (!(options.now instanceof Date) || !Number.isFinite(options.now.getTime())) badInput('checkTimestampReply: now must be a valid Date');
  if (typeof options.maxSkewMs !== 'number' || !(options.maxSkewMs >= 0)) badInput('checkTimestampReply: maxSkewMs must be a non-negative number');
  if (typeof options.nonce !== 'bigint') badInput('checkTimestampReply: nonce must be the bigint the request carried');
  const resp = parseTimeStampResp(replyDer);
  if (resp.status !== 0 || resp.token === undefined) {
    const why = resp.status === 1 ? ': the log keeps only tokens granted exactly as asked' : '';
    throw new LedgerError('TIMESTAMP_INVALID', `TSA answered status ${describeStatus(resp)}${why}`);
  }
  const info = await verifyTimestampToken(resp.token, { imprint: options.imprint, imprintAlg: options.imprintAlg ?? 'sha256', nonce: options.nonce, trustedRoots: options.trustedRoots });
  if (options.policy !== undefined && info.policy !== options.policy) {
    throw new LedgerError('TIMESTAMP_INVALID', `time-stamp token: policy ${info.policy}, but the request asked for ${options.policy}`);
  }
  const skew = info.genTimeMs - options.now.getTime();
  if (Math.abs(skew) > options.maxSkewMs) {
    throw new LedgerError(
      'TIMESTAMP_INVALID',
      `time-stamp token: genTime ${info.genTime} is ${formatDuration(Math.abs(skew))} ${skew > 0 ? 'ahead of' : 'behind'} the log's clock (${options.now.toISOString()}; at most ${formatDuration(options.maxSkewMs)} allowed)`,
    );
  }
  return { token: resp.token, info };
}
