/**
 * The structured verification report shared by the CLI, the HTTP API and the court page
 * (SPEC.md#verification). Check ids are a closed union, listed in the order they run.
 */
import type { ErrorCode } from '../core/errors.js';
import type { Entry } from '../core/entry/index.js';

/** Every check a verification can run, in order. */
export const CHECK_IDS = ['format', 'checkpoint', 'entry', 'leaf-hash', 'content', 'inclusion', 'block', 'block-consistency', 'timestamp', 'cosignatures'] as const;

/** One check's identity. */
export type CheckId = (typeof CHECK_IDS)[number];

/** pass and fail are verdicts; skip means the check could not or need not run (said why). */
export type CheckStatus = 'pass' | 'fail' | 'skip';

/** One line of the report. */
export interface Check {
  readonly id: CheckId;
  readonly status: CheckStatus;
  /** Set when status is fail. */
  readonly code?: ErrorCode;
  /** Plain English: what was checked and what was found. */
  readonly message: string;
}

/** The facts a passing verification establishes (present as far as checks got). */
export interface ReportFacts {
  index?: string;
  leafHash?: string;
  entry?: Entry;
  origin?: string;
  treeSize?: string;
  rootHash?: string;
  /** The pinned key that verified the checkpoint. */
  verifierKey?: string;
  /** The log's crypto suite when it is not the default `c2sp` (SPEC.md#crypto-suites): `gm`. */
  suite?: 'gm';
  blockHeight?: string;
  blockHash?: string;
  /** '2': the block's members are signed; '1': a block sealed before blocks were signed. */
  blockFormat?: '1' | '2';
  /** When the sealing block was signed, by the log's clock: present only when signed (format 2). */
  blockTime?: string;
  /** The time a format-1 block states, which no signature covers: never show it as verified. */
  blockTimeUnsigned?: string;
  /** The RFC 3161 time stamp, as far as it was checked. */
  timestamp?: TimestampFact;
  /** The witness cosignatures of the proving checkpoint, checked against the given policy. */
  cosignatures?: CosignaturesFact;
}

/** What the witnesses of a policy vouch for: each had seen the checkpoint by its own time. */
export interface CosignaturesFact {
  /** The policy's quorum (a witness or group name, or `none`) and whether it is met. */
  readonly quorum: string;
  readonly met: boolean;
  readonly witnesses: ReadonlyArray<{
    /** The policy-local witness name. */
    readonly name: string;
    /** The witness's verifier key. */
    readonly key: string;
    readonly cosigned: boolean;
    /** RFC 3339 UTC: "witness <name> had seen this checkpoint by <time>" (absent for an ML-DSA-44 time of 0). */
    readonly time?: string;
  }>;
  /** Lines by a pinned witness that did not verify (never counted). */
  readonly failed: number;
}

/** What the time stamp of a document shows. */
export interface TimestampFact {
  /** Height and size of the stamped checkpoint's block, and its signed log time. */
  readonly height: string;
  readonly size: string;
  readonly logTime: string;
  /** One per token; `verified` only when it chained to a pinned TSA root and all checks passed. */
  readonly tokens: TimestampTokenFact[];
}

/** One TSA token: who vouches for which time. Without `verified`, the fields are the token's unverified claims (or absent). */
export interface TimestampTokenFact {
  readonly verified: boolean;
  readonly tsa?: string;
  readonly genTime?: string;
  readonly serial?: string;
  readonly policy?: string;
  /** Accuracy as a decimal number of seconds, e.g. "1", "0.5". */
  readonly accuracy?: string;
  /** The pinned root certificate it chained to (subject). */
  readonly root?: string;
}

/** The result of verifying a receipt or tlog-proof. `valid` iff no check failed and the core checks passed. */
export interface VerificationReport {
  readonly valid: boolean;
  readonly checks: Check[];
  readonly facts: ReportFacts;
}

/** Human titles of the checks, English and Chinese, for CLI and page output. */
export const CHECK_TITLES: Record<CheckId, { en: string; zh: string }> = {
  format: { en: 'Receipt format', zh: '回执格式' },
  checkpoint: { en: 'Checkpoint signature (pinned log key)', zh: '检查点签名（已固定的日志公钥）' },
  entry: { en: 'Entry encoding', zh: '条目编码' },
  'leaf-hash': { en: 'Leaf hash', zh: '叶子哈希' },
  content: { en: 'Content digest', zh: '内容摘要' },
  inclusion: { en: 'Inclusion proof', zh: '包含性证明' },
  block: { en: 'Sealing block', zh: '封存区块' },
  'block-consistency': { en: 'Block consistency', zh: '区块一致性' },
  timestamp: { en: 'Trusted time stamp (RFC 3161, pinned TSA roots)', zh: '可信时间戳（RFC 3161，已固定的时间戳机构根证书）' },
  cosignatures: { en: 'Witness cosignatures (policy quorum)', zh: '见证人联署（见证策略法定数）' },
};
