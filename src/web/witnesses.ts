/**
 * The witness policy on the court verification page (docs/verify-page.md#witnesses): reading the
 * pinned policy field (C2SP tlog-policy text, pasted or from a file), spelling a log's policy for
 * the served data block, and turning a report's `cosignatures` fact into what the page shows —
 * which witness cosigned and when ("witness W had seen this checkpoint by T", a time independent
 * of the log's clock, SPEC.md#witnesses) and whether the quorum was met. Pure: src/web/view.ts
 * draws it, src/web/page.ts wires it.
 */
import { fromUtf8 } from '../core/bytes.js';
import { LedgerError, isLedgerError } from '../core/errors.js';
import { parsePolicy, type Policy } from '../core/policy.js';
import type { ReportFacts } from '../verifier/index.js';
import { CODE_EXPLANATIONS, type Bilingual } from './explain.js';
import { beijingTime } from './times.js';

/** The `cosignatures` fact of a report (present when a policy was given and the checkpoint verified). */
export type CosignaturesFact = NonNullable<ReportFacts['cosignatures']>;

/**
 * parsePinnedPolicy reads the policy field. An empty (whitespace-only) field pins no policy, so
 * cosignatures are not required. Otherwise the text is parsed strictly by parsePolicy
 * (src/core/policy.ts), forgiving only what a paste or a Windows editor adds: a byte-order mark,
 * CRLF or CR line ends (CR is a control character tlog-policy forbids) and a missing final newline
 * (a textarea loses it; tlog-policy wants every line terminated).
 * Throws `LedgerError('POLICY_MALFORMED')` naming the line, as parsePolicy does.
 */
export function parsePinnedPolicy(text: string): Policy | undefined {
  const t = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (t.trim() === '') return undefined;
  return parsePolicy(t.endsWith('\n') ? t : `${t}\n`);
}

/**
 * policyFileText turns a picked or dropped policy file into text for the field. Throws
 * `POLICY_MALFORMED` for bytes that are not UTF-8 (a policy is UTF-8 text, tlog-policy §Character set).
 */
export function policyFileText(bytes: Uint8Array): string {
  try {
    return fromUtf8(bytes, 'policy file');
  } catch (err) {
    if (isLedgerError(err)) throw new LedgerError('POLICY_MALFORMED', 'policy file: not UTF-8 text');
    throw err;
  }
}

/**
 * formatPolicy spells a parsed policy as tlog-policy text that {@link parsePinnedPolicy} reads
 * back to the same logs, witnesses, groups and quorum: logs, then witnesses, then groups in their
 * order, then the quorum, so every name is defined before it is used. Used by the route that
 * serves the page, which holds the log's policy parsed (src/http/context.ts), not its file.
 * Requires: `policy` from parsePolicy.
 */
export function formatPolicy(policy: Policy): string {
  const lines: string[] = [];
  for (const l of policy.logs) lines.push(`log ${l.key.text}${l.url === undefined ? '' : ` ${l.url}`}`);
  for (const w of policy.witnesses) lines.push(`witness ${w.name} ${w.key.text}${w.url === undefined ? '' : ` ${w.url}`}`);
  for (const g of policy.groups) lines.push(`group ${g.name} ${g.rule} ${g.members.join(' ')}`);
  lines.push(`quorum ${policy.quorum}`);
  return lines.map((l) => `${l}\n`).join('');
}

/** What the quorum requires, in words: `none`, one witness, or k of a group's members. */
function quorumRule(policy: Policy): Bilingual {
  if (policy.quorum === 'none') return { zh: 'none（不要求联署）', en: 'none (no cosignature required)' };
  const g = policy.groups.find((x) => x.name === policy.quorum);
  if (g === undefined) return { zh: `${policy.quorum}（须该见证人联署）`, en: `${policy.quorum} (this witness must cosign)` };
  return { zh: `${g.name}（${g.members.length} 取 ${g.threshold}：${g.members.join('、')}）`, en: `${g.name} (${g.threshold} of ${g.members.length}: ${g.members.join(', ')})` };
}

/** describePolicy says under the field what a pinned policy requires. */
export function describePolicy(policy: Policy): Bilingual {
  const names = policy.witnesses.map((w) => w.name);
  const rule = quorumRule(policy);
  return {
    zh: `已固定 ${names.length} 个见证人${names.length > 0 ? `：${names.join('、')}` : ''}；法定数：${rule.zh}`,
    en: `${names.length} witness(es) pinned${names.length > 0 ? `: ${names.join(', ')}` : ''}; quorum: ${rule.en}`,
  };
}

/** The input error shown for a malformed policy: no verdict, nothing verified. */
export const POLICY_MALFORMED_ERROR: Bilingual = {
  zh: `${CODE_EXPLANATIONS.POLICY_MALFORMED.zh}应为 C2SP tlog-policy 文本（log、witness、group、quorum 行，每行以换行结束）。未进行核验。`,
  en: `${CODE_EXPLANATIONS.POLICY_MALFORMED.en} Want C2SP tlog-policy text (log, witness, group and quorum lines, each ending in a newline). Nothing was verified.`,
};

/**
 * How a witness stands:
 * - `independent`: it cosigned, at a time by its own clock (independent of the log's);
 * - `untimed`: it cosigned, with time 0 (an ML-DSA-44 cosignature may carry none);
 * - `absent`: no valid cosignature by it (none, or one that does not verify).
 */
export type WitnessState = 'independent' | 'untimed' | 'absent';

/** One witness of the policy, as the page shows it. */
export interface WitnessRow {
  readonly name: string;
  /** Its verifier key, as pinned in the policy. */
  readonly key: string;
  readonly state: WitnessState;
  /** Its cosignature time (UTC, RFC 3339, whole seconds). */
  readonly utc?: string;
  /** The same instant in Beijing time (UTC+8). */
  readonly beijing?: string;
  /** "见证人 W 在 T 前已见到此检查点 / witness W had seen this checkpoint by T", or why not. */
  readonly statement: Bilingual;
}

/** The witness cosignatures of a verified checkpoint, as the page shows them. */
export interface WitnessesView {
  readonly met: boolean;
  /** The quorum and whether it is met, with the rule and how many witnesses cosigned. */
  readonly summary: Bilingual;
  readonly rows: WitnessRow[];
  /** Cosignature lines by policy witnesses that do not verify (never counted), said when any. */
  readonly failedNote?: Bilingual;
}

/** A witness time is whole seconds (tlog-cosignature): the verifier's `.000` adds nothing. */
function wholeSeconds(utc: string): string {
  return utc.replace(/\.000Z$/, 'Z');
}

/**
 * witnessesView turns a report's `cosignatures` fact (SPEC.md#verification, facts) into rows, one
 * per witness of the policy in its order, and the quorum verdict in words. Requires: `fact` from a
 * report verified with `policy`.
 */
export function witnessesView(policy: Policy, fact: CosignaturesFact): WitnessesView {
  const rows = fact.witnesses.map((w): WitnessRow => {
    if (!w.cosigned) {
      return { name: w.name, key: w.key, state: 'absent', statement: { zh: `见证人 ${w.name} 未联署此检查点（无有效联署）`, en: `witness ${w.name} did not cosign this checkpoint (no valid cosignature)` } };
    }
    if (w.time === undefined) {
      return { name: w.name, key: w.key, state: 'untimed', statement: { zh: `见证人 ${w.name} 已联署此检查点（未给出时间）`, en: `witness ${w.name} cosigned this checkpoint (no time given)` } };
    }
    const utc = wholeSeconds(w.time);
    const beijing = beijingTime(utc);
    return {
      name: w.name,
      key: w.key,
      state: 'independent',
      utc,
      beijing,
      statement: { zh: `见证人 ${w.name} 在 ${beijing}（北京时间）前已见到此检查点`, en: `witness ${w.name} had seen this checkpoint by ${utc}` },
    };
  });
  const cosigned = rows.filter((r) => r.state !== 'absent').length;
  const rule = quorumRule(policy);
  const summary: Bilingual = fact.met
    ? { zh: `已满足见证策略法定数 ${rule.zh}：${cosigned} 个见证人有效联署。`, en: `Quorum ${rule.en} met: ${cosigned} witness(es) validly cosigned.` }
    : { zh: `未满足见证策略法定数 ${rule.zh}：仅 ${cosigned} 个见证人有效联署。`, en: `Quorum ${rule.en} NOT met: only ${cosigned} witness(es) validly cosigned.` };
  return {
    met: fact.met,
    summary,
    rows,
    ...(fact.failed > 0
      ? { failedNote: { zh: `另有 ${fact.failed} 行见证人联署未通过签名核验，未计入。`, en: `${fact.failed} further cosignature line(s) by policy witnesses do not verify and were not counted.` } }
      : {}),
  };
}
