/**
 * Plain words for a verification report, in Chinese and English, for the court verification page
 * (docs/verify-page.md). The report itself comes from src/verifier unchanged; this module only
 * turns its check ids, statuses and error codes into sentences a judge can read
 * (SPEC.md#verification: a user interface MUST show skipped checks).
 */
import type { ErrorCode } from '../core/errors.js';
import { BUNDLE_CHECK_TITLES, CHECK_TITLES, type BundleCheckId, type BundleReport, type Check, type CheckId, type CheckStatus, type ReportFacts, type VerificationReport } from '../verifier/index.js';

/** A sentence in both languages. */
export interface Bilingual {
  readonly zh: string;
  readonly en: string;
}

/** What each error code means for the person verifying, whatever check raised it. */
export const CODE_EXPLANATIONS: Record<ErrorCode, Bilingual> = {
  INPUT_INVALID: { zh: '输入有误：所给的文件、摘要或参数格式不正确。', en: 'An input is malformed: the given file, digest or parameter has the wrong form.' },
  PROOF_INVALID: { zh: '证明不成立：回执中的证明数据被改动或损坏。', en: 'The proof does not hold: the proof data in the receipt was altered or damaged.' },
  NOTE_MALFORMED: { zh: '检查点文本格式错误，回执可能被改动过。', en: 'The checkpoint text is malformed; the receipt may have been altered.' },
  NOTE_UNVERIFIED: {
    zh: '检查点没有您所固定公钥的签名：回执来自另一个日志，或您固定的公钥不是该日志的公钥。',
    en: 'The checkpoint carries no signature by the key you pinned: the receipt comes from another log, or the pinned key is not this log\'s key.',
  },
  SIGNATURE_INVALID: { zh: '签名不成立：检查点在签名之后被改动过。', en: 'The signature does not verify: the checkpoint was changed after it was signed.' },
  KEY_MALFORMED: { zh: '公钥格式错误，应为“名称+密钥编号+base64”。', en: 'The key is malformed; want name+keyid+base64.' },
  CHECKPOINT_MALFORMED: { zh: '检查点内容格式错误（来源、大小或根哈希）。', en: 'The checkpoint body is malformed (origin, size or root hash).' },
  ORIGIN_MISMATCH: { zh: '检查点来自另一个日志（来源名称不符）。', en: 'The checkpoint is from another log (its origin does not match).' },
  ENTRY_INVALID: { zh: '回执中的条目不是有效的规范编码，可能被改动过。', en: 'The entry in the receipt is not validly encoded; it may have been altered.' },
  DIGEST_MISMATCH: {
    zh: '文件与存证时的内容不一致：哪怕只改动一个字节，摘要也会完全不同。',
    en: 'The file is not the one that was anchored: changing even one byte changes its digest completely.',
  },
  BLOCK_INVALID: { zh: '封存区块无效，或并未封存该条目。', en: 'The sealing block is invalid, or does not seal this entry.' },
  CHAIN_BROKEN: { zh: '区块链接断裂。', en: 'The blocks do not link.' },
  RECEIPT_MALFORMED: { zh: '回执格式错误或被改动过（不是完整的 guzheng-receipt 文件）。', en: 'The receipt is malformed or was altered (not a complete guzheng-receipt file).' },
  INCONSISTENT: {
    zh: '日志对同一大小签署了两个不同的根：这是日志分叉（作假）的证据，请保留此回执。',
    en: 'The log signed two different roots for the same size: evidence that the log forked. Keep this receipt.',
  },
  TIMESTAMP_INVALID: {
    zh: '可信时间戳无效：时间戳令牌被改动、签名不成立，或并非针对该检查点签发。',
    en: 'The trusted timestamp is invalid: the token was altered, its signature does not verify, or it was not issued for this checkpoint.',
  },
  TIMESTAMP_UNTRUSTED: {
    zh: '时间戳令牌的签名成立，但其证书不属于您所固定的任何时间戳服务机构根证书。',
    en: 'The timestamp token verifies, but its certificate does not chain to any time-stamping authority root you pinned.',
  },
  POLICY_MALFORMED: { zh: '见证策略格式错误。', en: 'The witness policy is malformed.' },
  QUORUM_NOT_MET: {
    zh: '见证人联署不足：检查点没有达到见证策略要求数量的有效联署。',
    en: 'Not enough witness cosignatures: the checkpoint lacks the valid cosignatures the witness policy requires.',
  },
};

/** Finer explanations where a code means something specific for one check. */
const CHECK_CODE_EXPLANATIONS: Partial<Record<CheckId, Partial<Record<ErrorCode, Bilingual>>>> = {
  inclusion: {
    PROOF_INVALID: {
      zh: '包含性证明不成立：回执中的证明或条目被篡改，不能证明该条目在日志中。',
      en: 'The inclusion proof does not hold: the proof or the entry in the receipt was tampered with, so it does not show the entry is in the log.',
    },
  },
  'block-consistency': {
    PROOF_INVALID: {
      zh: '区块一致性证明不成立：不能证明封存区块与检查点属于同一条历史。',
      en: 'The block-consistency proof does not hold: it does not show the sealing block and the checkpoint share one history.',
    },
  },
  'leaf-hash': {
    RECEIPT_MALFORMED: { zh: '回执中写明的叶子哈希与条目不符，回执被改动过。', en: 'The leaf hash stated in the receipt does not match the entry: the receipt was altered.' },
  },
  content: {
    INPUT_INVALID: { zh: '所给的内容无法计算摘要。', en: 'No digest can be computed for the given content.' },
  },
  block: {
    BLOCK_INVALID: {
      zh: '封存区块无效：其高度、前一区块哈希、时间或范围与日志签名的区块头不符（被改动过），或并未封存该条目。',
      en: 'The sealing block is invalid: its height, previous-block hash, time or range differs from the block header the log signed (it was altered), or it does not seal this entry.',
    },
  },
};

/** What a passing check establishes. */
const PASS_EXPLANATIONS: Record<CheckId, Bilingual> = {
  format: { zh: '回执格式完整。', en: 'The receipt is well-formed.' },
  checkpoint: { zh: '检查点由您固定的日志公钥签名，其树大小与根哈希可信。', en: 'The checkpoint is signed by the log key you pinned; its tree size and root hash can be trusted.' },
  entry: { zh: '条目编码规范有效。', en: 'The entry is validly encoded.' },
  'leaf-hash': { zh: '回执写明的叶子哈希与条目一致。', en: 'The leaf hash stated in the receipt matches the entry.' },
  content: { zh: '文件摘要与存证时记录的摘要完全一致：文件未被改动。', en: 'The file\'s digest equals the anchored digest: the file is unaltered.' },
  inclusion: { zh: '该条目确实在日志中，位于所示位置。', en: 'The entry is in the log, at the position shown.' },
  block: { zh: '该条目被所示区块封存。', en: 'The entry was sealed in the block shown.' },
  'block-consistency': { zh: '封存区块与检查点属于同一条不可改写的历史。', en: 'The sealing block and the checkpoint belong to one append-only history.' },
  timestamp: {
    zh: '独立的时间戳服务机构（TSA）证明：该条目最迟在所示可信时间已经存在。',
    en: 'An independent time-stamping authority (TSA) vouches that the entry existed no later than the trusted time shown.',
  },
  cosignatures: {
    zh: '见证策略要求的见证人（如法院、检察院、公证处）已联署该检查点：日志无法向不同的人展示不同的历史而不被发现。',
    en: 'The witnesses the policy requires (courts, procuratorates, notaries) cosigned this checkpoint: the log cannot show different histories to different people unnoticed.',
  },
};

/** Why a check may be skipped, in plain words (keyed by check; the technical reason is shown too). */
const SKIP_EXPLANATIONS: Record<CheckId, Bilingual> = {
  format: { zh: '未检查。', en: 'Not checked.' },
  checkpoint: { zh: '未检查。', en: 'Not checked.' },
  entry: { zh: '未检查。', en: 'Not checked.' },
  'leaf-hash': { zh: '未写明叶子哈希，已由条目直接计算。', en: 'No leaf hash stated; it was computed from the entry.' },
  content: { zh: '未提供文件：没有比对内容本身，只核验了回执。', en: 'No file given: the content itself was not compared, only the receipt was checked.' },
  inclusion: { zh: '检查点未通过，无法核验包含性证明。', en: 'The checkpoint did not verify, so the inclusion proof could not be checked.' },
  block: { zh: '没有可核验的封存区块。', en: 'No sealing block could be checked.' },
  'block-consistency': { zh: '封存区块未核验，跳过一致性检查。', en: 'The sealing block was not verified, so its consistency was not checked.' },
  timestamp: {
    zh: '可信时间未核验：回执尚无时间戳（稍后重新获取回执），或未固定时间戳服务机构的根证书。',
    en: 'The trusted time was not verified: the receipt has no time stamp yet (fetch it again later), or no TSA root certificate is pinned.',
  },
  cosignatures: { zh: '未提供见证策略：未要求见证人联署。', en: 'No witness policy given: witness cosignatures were not required.' },
};

/** Why the `timestamp` check skipped, told apart by what the report established. */
const TIMESTAMP_SKIPS = {
  unpinned: {
    zh: '可信时间未核验：未固定时间戳服务机构（TSA）的根证书。回执带有时间戳，下方所示为其自称的时间；固定该机构的根证书后再核验即可确认。',
    en: 'The trusted time was not verified: no TSA root certificate is pinned. The receipt carries a time stamp, and the time shown below is what it claims; pin the TSA\'s root and verify again to confirm it.',
  },
  none: {
    zh: '尚无可信时间戳：回执生成时还没有覆盖该条目的时间戳（旧格式回执不含时间戳）。请稍后向日志重新获取回执。',
    en: 'No time stamp yet: none covered this entry when the receipt was made (older receipt formats carry none). Fetch the receipt again later.',
  },
} satisfies Record<string, Bilingual>;

/** Why the `cosignatures` check skipped when the checkpoint did not verify (with or without a policy). */
const COSIGNATURES_NO_CHECKPOINT: Bilingual = { zh: '检查点未通过，未核验见证人联署。', en: 'The checkpoint did not verify, so witness cosignatures were not checked.' };

/** The mark shown for a status. */
export const STATUS_MARKS: Record<CheckStatus, string> = { pass: '✓', fail: '✗', skip: '–' };

/** One check line as shown on the page. */
export interface ExplainedCheck {
  readonly id: CheckId;
  readonly status: CheckStatus;
  readonly mark: string;
  readonly title: Bilingual;
  readonly explanation: Bilingual;
  readonly code?: ErrorCode;
  /** The verifier's own technical message (English). */
  readonly detail: string;
}

/** A whole report in plain words. */
export interface ExplainedReport {
  readonly valid: boolean;
  readonly verdict: Bilingual;
  readonly summary: Bilingual;
  readonly checks: ExplainedCheck[];
}

/**
 * explainCheck puts one check into plain words. With the report's `facts`, a skipped `timestamp`
 * check says which reason applies: a stamp is there but no TSA root is pinned, or there is no
 * stamp yet (its checkpoint verified, so that is the only other reason); and a skipped
 * `cosignatures` check says when it is the checkpoint that failed rather than no policy given.
 */
export function explainCheck(c: Check, facts?: ReportFacts): ExplainedCheck {
  let explanation: Bilingual;
  if (c.status === 'pass') explanation = PASS_EXPLANATIONS[c.id];
  else if (c.status === 'skip' && c.id === 'timestamp' && facts !== undefined) {
    explanation = facts.timestamp !== undefined ? TIMESTAMP_SKIPS.unpinned : facts.verifierKey !== undefined ? TIMESTAMP_SKIPS.none : SKIP_EXPLANATIONS.timestamp;
  } else if (c.status === 'skip' && c.id === 'cosignatures' && facts !== undefined && facts.verifierKey === undefined) {
    // Without a verified checkpoint there is nothing to cosign, policy or not: "no policy given" could be false.
    explanation = COSIGNATURES_NO_CHECKPOINT;
  } else if (c.status === 'skip') explanation = SKIP_EXPLANATIONS[c.id];
  else explanation = (c.code && CHECK_CODE_EXPLANATIONS[c.id]?.[c.code]) || (c.code ? CODE_EXPLANATIONS[c.code] : { zh: '检查未通过。', en: 'The check failed.' });
  return { id: c.id, status: c.status, mark: STATUS_MARKS[c.status], title: CHECK_TITLES[c.id], explanation, ...(c.code ? { code: c.code } : {}), detail: c.message };
}

/**
 * explainReport turns a verification report into the page's verdict, a one-line summary and the
 * check list. A valid report without the content check says so: the receipt is genuine, but no
 * file was compared with it.
 */
export function explainReport(report: VerificationReport): ExplainedReport {
  const checks = report.checks.map((c) => explainCheck(c, report.facts));
  const failed = checks.filter((c) => c.status === 'fail');
  const contentPassed = checks.some((c) => c.id === 'content' && c.status === 'pass');
  let summary: Bilingual;
  if (!report.valid) {
    const names = failed.map((c) => c.title);
    summary =
      names.length === 0
        ? { zh: '必要的检查未能完成。', en: 'A required check could not run.' }
        : { zh: `未通过：${names.map((n) => n.zh).join('、')}。`, en: `Failed: ${names.map((n) => n.en).join(', ')}.` };
  } else if (contentPassed) {
    summary = { zh: '文件与存证记录完全一致，且该记录确在日志中。', en: 'The file is exactly the anchored content, and the record is in the log.' };
  } else {
    summary = { zh: '回执有效；但未比对文件内容本身。', en: 'The receipt is valid; the file content itself was not compared.' };
  }
  const verdict = report.valid ? { zh: '有效', en: 'VALID' } : { zh: '无效', en: 'INVALID' };
  return { valid: report.valid, verdict, summary, checks };
}

/** What each bundle-level check means, by status (a failure also gets its code's words). */
const BUNDLE_EXPLANATIONS: Record<BundleCheckId, { pass: Bilingual; fail?: Bilingual; skip: Bilingual }> = {
  format: { pass: { zh: '证据包格式完整。', en: 'The bundle is well-formed.' }, skip: { zh: '未检查。', en: 'Not checked.' } },
  checkpoint: {
    pass: { zh: '共同检查点由您固定的日志公钥签名，其树大小与根哈希可信。', en: 'The common checkpoint is signed by the log key you pinned; its tree size and root hash can be trusted.' },
    skip: { zh: '未检查。', en: 'Not checked.' },
  },
  manifest: {
    pass: { zh: '清单与每个条目一致，且均属于该案件。', en: 'The manifest matches every entry, and every entry belongs to the case.' },
    fail: { zh: '清单与条目不符：证据包被改动过。', en: 'The manifest does not match the entries: the bundle was altered.' },
    skip: { zh: '未检查。', en: 'Not checked.' },
  },
  items: {
    pass: { zh: '每一项都在日志中，均通过核验。', en: 'Every item is in the log and verifies.' },
    fail: { zh: '有条目未通过核验，见下方各项。', en: 'Some items fail: see each item below.' },
    skip: { zh: '未检查。', en: 'Not checked.' },
  },
  files: {
    pass: { zh: '所给文件均与证据包中的存证内容完全一致。', en: 'Every given file is exactly anchored content of this bundle.' },
    fail: { zh: '有文件与证据包中的存证内容不一致，或不属于该证据包。', en: 'A given file is not anchored content of this bundle: it was altered, or is not part of it.' },
    skip: { zh: '未提供文件：没有比对内容本身，只核验了证据包。', en: 'No files given: the content itself was not compared, only the bundle was checked.' },
  },
};

/** One bundle-level check as shown on the page. */
export interface ExplainedBundleCheck {
  readonly id: BundleCheckId;
  readonly status: CheckStatus;
  readonly mark: string;
  readonly title: Bilingual;
  readonly explanation: Bilingual;
  readonly code?: ErrorCode;
  readonly detail: string;
}

/** One item of a bundle as shown on the page. */
export interface ExplainedBundleItem {
  readonly index: string;
  /** The file name the entry declares, if any. */
  readonly name?: string;
  readonly valid: boolean;
  readonly checks: ExplainedCheck[];
}

/** A bundle report in plain words. */
export interface ExplainedBundleReport {
  readonly valid: boolean;
  readonly verdict: Bilingual;
  readonly summary: Bilingual;
  readonly checks: ExplainedBundleCheck[];
  readonly items: ExplainedBundleItem[];
}

/** explainBundleReport turns an evidence bundle report into the page's verdict, checks and items. */
export function explainBundleReport(report: BundleReport): ExplainedBundleReport {
  const checks = report.checks.map((c): ExplainedBundleCheck => {
    const words = BUNDLE_EXPLANATIONS[c.id];
    const explanation = c.status === 'pass' ? words.pass : c.status === 'skip' ? words.skip : (words.fail ?? (c.code ? CODE_EXPLANATIONS[c.code] : { zh: '检查未通过。', en: 'The check failed.' }));
    return { id: c.id, status: c.status, mark: STATUS_MARKS[c.status], title: BUNDLE_CHECK_TITLES[c.id], explanation, ...(c.code ? { code: c.code } : {}), detail: c.message };
  });
  const items = report.items.map((it): ExplainedBundleItem => {
    const name = (it.facts.entry?.meta as { name?: unknown } | undefined)?.name;
    return { index: it.index, ...(typeof name === 'string' ? { name } : {}), valid: it.valid, checks: it.checks.map((c) => explainCheck(c, it.facts)) };
  });
  const failed = checks.filter((c) => c.status === 'fail');
  const filesPassed = checks.some((c) => c.id === 'files' && c.status === 'pass');
  const summary: Bilingual = !report.valid
    ? failed.length === 0
      ? { zh: '必要的检查未能完成。', en: 'A required check could not run.' }
      : { zh: `未通过：${failed.map((c) => c.title.zh).join('、')}。`, en: `Failed: ${failed.map((c) => c.title.en).join(', ')}.` }
    : filesPassed
      ? { zh: `证据包有效（${items.length} 项），所给文件均为其中的存证内容。`, en: `The bundle is valid (${items.length} items), and every given file is anchored content of it.` }
      : { zh: `证据包有效（${items.length} 项）；但未比对文件内容本身。`, en: `The bundle is valid (${items.length} items); the file content itself was not compared.` };
  return { valid: report.valid, verdict: report.valid ? { zh: '有效', en: 'VALID' } : { zh: '无效', en: 'INVALID' }, summary, checks, items };
}
