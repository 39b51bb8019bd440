/**
 * The audit report: what was replayed, what it verified, and every problem located precisely
 * (the first bad entry index or block height, what was expected and what was found). Plain data
 * with a JSON form (64-bit numbers as decimal strings, hashes as lowercase hex) and a human form.
 * See docs/audit.md#report.
 */
import { toHex } from '../core/bytes.js';
import type { SuiteId } from '../core/suite.js';
import type { FraudProof } from './fraud.js';
import { describeTime, type TimeReport } from './timestamps.js';
import { describeWitnesses, type WitnessReport } from './witnessed.js';

/** Every kind of problem an audit can report (a closed union, stable in `--json`). */
export type ProblemKind =
  /** An entry the log's size says exists is not stored (deleted, or a gap). Stops the replay. */
  | 'entry-missing'
  /** An entry is stored beyond the log's size. */
  | 'entry-extra'
  /** An entry's bytes do not decode strictly (SPEC.md#entries), or are too large. */
  | 'entry-invalid'
  /** A stored tree node (or tile hash) differs from the hash recomputed from the entries. */
  | 'node-mismatch'
  /** A tree node that must be stored is not. */
  | 'node-missing'
  /** A tree node is stored beyond the tree's size. */
  | 'node-extra'
  /** The content-digest index does not match the entries. */
  | 'digest-index'
  /** The leaf-hash index does not match the entries. */
  | 'leaf-index'
  /** A stored attachment (record JSON, raw HJ 212 packet) does not match its entry's digest. */
  | 'attachment'
  /** A block is absent from the chain (a height gap, or the stored block count disagrees). */
  | 'block-missing'
  /** A block does not parse or does not verify on its own: signature, key, origin, first + count. */
  | 'block-invalid'
  /** Two consecutive blocks do not link: height, prev hash, first, time. */
  | 'chain-broken'
  /** A signed checkpoint's root differs from the root recomputed from the entries. */
  | 'root-mismatch'
  /** A signed checkpoint covers more entries than the log holds. */
  | 'truncated'
  /** A checkpoint saved by the auditor contradicts the log's history (evidence attached). */
  | 'fork'
  /** A tile or entry bundle could not be fetched or is malformed (remote audits). */
  | 'tile-invalid'
  /** A stored counter disagrees with what is stored. */
  | 'size-mismatch'
  /** A time-stamp token kept with a block does not verify against its checkpoint and the pinned TSA roots. */
  | 'timestamp-invalid'
  /** A cosignature kept with a block, by a witness of the policy, does not verify over its checkpoint. */
  | 'cosignature-invalid'
  /** No checkpoint of the log is cosigned to the policy's quorum. */
  | 'quorum-not-met';

/** One located problem. */
export interface Problem {
  readonly kind: ProblemKind;
  /** One sentence for humans, naming the index or height. */
  readonly message: string;
  /** The first bad entry index, when the problem is about entries or the tree. */
  readonly index?: bigint;
  /** The block height, when the problem is about a block. */
  readonly height?: bigint;
  /** Tree level and node index of a node problem. */
  readonly level?: number;
  readonly node?: bigint;
  /** The core error code when a core check failed (e.g. `SIGNATURE_INVALID`, `ENTRY_INVALID`). */
  readonly code?: string;
  /** What the auditor derived (from the entries, or from a trusted saved checkpoint). */
  readonly expected?: string;
  /** What the log stores or signed. */
  readonly found?: string;
  /** For a fork or truncation against a saved checkpoint: the evidence. */
  readonly evidence?: FraudProof;
}

/** The result of an audit. */
export interface AuditReport {
  /** True when no problem was found. */
  readonly ok: boolean;
  /** What was audited: a data directory or a URL. */
  readonly source: string;
  readonly origin: string;
  readonly verifierKey: string;
  /** The log's crypto suite, its pinned key's (SPEC.md#crypto-suites): what every hash was computed with. */
  readonly suite: SuiteId;
  /** Entries replayed (from genesis). */
  readonly size: bigint;
  /** The root recomputed from those entries. */
  readonly root: Uint8Array;
  /** The size the source claims (stored size, or the served checkpoint's size). */
  readonly claimedSize: bigint;
  /** Blocks (signed checkpoints) read and checked. */
  readonly checkpoints: bigint;
  /** The last block: its height and its checkpoint's size and root. */
  readonly latest?: { readonly height: bigint; readonly size: bigint; readonly root: Uint8Array };
  /** Saved checkpoints (`--checkpoint`) compared with the log. */
  readonly savedCheckpoints: number;
  /** Entries stored after the last signed checkpoint (not covered by a signature yet). */
  readonly unsealed: bigint;
  /** Block formats and time stamps. */
  readonly time: TimeReport;
  /** Witness cosignatures, when the audit was given a policy. */
  readonly witnesses?: WitnessReport;
  /** The problems, first (lowest index, then height) first; at most `maxProblems`. */
  readonly problems: readonly Problem[];
  /** All problems found, including those not listed. */
  readonly problemCount: number;
  readonly counts: Readonly<Partial<Record<ProblemKind, number>>>;
  /** Consequences of a listed problem that were not counted as problems (e.g. every ancestor of a changed leaf). */
  readonly suppressed: number;
  readonly warnings: readonly string[];
  readonly stats: {
    readonly elapsedMs: number;
    readonly entriesPerSecond: number;
    readonly nodesCompared: number;
    readonly indexLookups: number;
    readonly workers: number;
  };
}

/** problemJson returns the JSON form of a problem (bigints as decimal strings). */
export function problemJson(p: Problem): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: p.kind, message: p.message };
  if (p.index !== undefined) out['index'] = p.index.toString();
  if (p.height !== undefined) out['height'] = p.height.toString();
  if (p.level !== undefined) out['level'] = p.level;
  if (p.node !== undefined) out['node'] = p.node.toString();
  if (p.code !== undefined) out['code'] = p.code;
  if (p.expected !== undefined) out['expected'] = p.expected;
  if (p.found !== undefined) out['found'] = p.found;
  if (p.evidence !== undefined) out['evidence'] = p.evidence;
  return out;
}

/** reportJson returns the `--json` form of a report (`format: guzheng-audit/v1`). */
export function reportJson(r: AuditReport): Record<string, unknown> {
  return {
    format: 'guzheng-audit/v1',
    ok: r.ok,
    source: r.source,
    origin: r.origin,
    verifierKey: r.verifierKey,
    suite: r.suite,
    size: r.size.toString(),
    root: toHex(r.root),
    claimedSize: r.claimedSize.toString(),
    checkpoints: r.checkpoints.toString(),
    ...(r.latest ? { latest: { height: r.latest.height.toString(), size: r.latest.size.toString(), root: toHex(r.latest.root) } } : {}),
    savedCheckpoints: r.savedCheckpoints,
    unsealed: r.unsealed.toString(),
    time: {
      signedBlocks: r.time.signedBlocks.toString(),
      unsignedBlocks: r.time.unsignedBlocks.toString(),
      ...(r.time.upgradedAt !== undefined ? { upgradedAt: r.time.upgradedAt.toString() } : {}),
      tokens: r.time.tokens,
      verifiedTokens: r.time.verifiedTokens,
      tsaRootsPinned: r.time.tsaRootsPinned,
    },
    ...(r.witnesses
      ? { witnesses: { quorum: r.witnesses.quorum, blocksMeetingQuorum: r.witnesses.blocksMeetingQuorum.toString(), ...(r.witnesses.newest ? { newest: { height: r.witnesses.newest.height.toString(), size: r.witnesses.newest.size.toString() } } : {}) } }
      : {}),
    ...(r.problems[0] ? { firstProblem: problemJson(r.problems[0]) } : {}),
    problemCount: r.problemCount,
    counts: r.counts,
    suppressed: r.suppressed,
    problems: r.problems.map(problemJson),
    warnings: r.warnings,
    stats: r.stats,
  };
}

const fmt = (n: bigint | number): string => (typeof n === 'bigint' ? n : BigInt(Math.round(n))).toLocaleString('en-US');

/** whereOf names a problem's location: `entry 17`, `block 3`, `node 8/2 (entries 512..767)`. */
export function whereOf(p: Problem): string {
  if (p.level !== undefined && p.node !== undefined) {
    const first = p.node << BigInt(p.level);
    const last = first + (1n << BigInt(p.level)) - 1n;
    return p.level === 0 ? `entry ${p.node}` : `node ${p.level}/${p.node} (entries ${first}..${last})`;
  }
  if (p.index !== undefined && p.height !== undefined) return `entry ${p.index}, block ${p.height}`;
  if (p.index !== undefined) return `entry ${p.index}`;
  if (p.height !== undefined) return `block ${p.height}`;
  return 'log';
}

/** formatReport renders a report for a terminal: a summary, then each listed problem. */
export function formatReport(r: AuditReport): string {
  const lines: string[] = [];
  lines.push(`audit of ${r.source}`);
  lines.push(`  log        ${r.origin}  (key ${r.verifierKey})`);
  // Only a gm log says so: a c2sp report reads as it always has.
  if (r.suite === 'gm') lines.push(`  suite      gm: SM3 tree and digests, SM2 signatures (国密)`);
  const secs = r.stats.elapsedMs / 1000;
  lines.push(`  replayed   ${fmt(r.size)} entries in ${secs.toFixed(1)} s (${fmt(r.stats.entriesPerSecond)} entries/s, ${r.stats.workers} worker${r.stats.workers === 1 ? '' : 's'})`);
  lines.push(`  root       ${toHex(r.root)} at size ${r.size}`);
  const latest = r.latest ? `, last at height ${r.latest.height} (size ${r.latest.size})` : '';
  lines.push(`  checkpoints ${fmt(r.checkpoints)} blocks checked${latest}${r.savedCheckpoints > 0 ? `; ${r.savedCheckpoints} saved checkpoint(s) compared` : ''}`);
  if (r.unsealed > 0n) lines.push(`  unsealed   ${fmt(r.unsealed)} entries after the last checkpoint (no signature covers them yet)`);
  lines.push(...describeTime(r.time));
  if (r.witnesses) lines.push(describeWitnesses(r.witnesses));
  for (const w of r.warnings) lines.push(`  warning    ${w}`);
  if (r.ok) {
    lines.push(`OK: ${fmt(r.size)} entries, ${fmt(r.checkpoints)} checkpoints: everything is consistent.`);
    return lines.join('\n') + '\n';
  }
  const more = r.problemCount > r.problems.length ? ` (first ${r.problems.length} listed)` : '';
  const counts = Object.entries(r.counts)
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
  lines.push(`FAILED: ${r.problemCount} problem${r.problemCount === 1 ? '' : 's'}${more}: ${counts}${r.suppressed > 0 ? `; ${r.suppressed} consequences not listed` : ''}`);
  r.problems.forEach((p, i) => {
    lines.push(`  ${i + 1}. [${p.kind}] ${whereOf(p)}: ${p.message}${p.code ? ` (${p.code})` : ''}`);
    if (p.expected !== undefined) lines.push(`       expected ${p.expected}`);
    if (p.found !== undefined) lines.push(`       found    ${p.found}`);
    if (p.evidence) lines.push(`       evidence: ${p.evidence.kind}: ${p.evidence.detail} (write it with --fraud-proof FILE)`);
  });
  return lines.join('\n') + '\n';
}
