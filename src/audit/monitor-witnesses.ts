/**
 * The monitor's witness checks (SPEC.md#witnesses, docs/witness.md), run on every poll when a
 * policy is given: the quorum of the checkpoint the log serves the monitor, and the views of the
 * witnesses that publish their latest cosigned checkpoint (the C2SP monitoring path).
 */
import { toHex, utf8 } from '../core/bytes.js';
import { openCheckpoint, type OpenedCheckpoint } from '../core/checkpoint.js';
import { openCosigned, type CosignedCheckpoint } from '../core/cosignature.js';
import { sha256 } from '../core/crypto.js';
import { formatReceivedAt } from '../core/entry/text.js';
import type { VerifierKey } from '../core/note.js';
import { evaluateQuorum, type Policy } from '../core/policy.js';
import { buildFraudProof, type FraudProof } from './fraud.js';
import { MonitorError, type MonitorProblem } from './monitor-problems.js';
import { judgeFromLog, type LogReader } from './monitor-log.js';

/** What the witnesses' views showed: a fraud proof (conclusive evidence) and/or problems. */
export interface WitnessViews {
  readonly fraud?: FraudProof;
  readonly problems: MonitorProblem[];
}

/**
 * compareWitnessViews reads each policy witness's latest cosigned checkpoint of this log
 * (`GET <witness>/<hex SHA-256(origin)>/checkpoint`, c2sp.org/tlog-witness) and checks it against
 * the checkpoint the log served this monitor, with the log's own consistency proof between the
 * two (RFC 9162 §2.1.4). A split view is a fraud proof when the evidence convicts on its own
 * (SPEC.md#fraud-proof): the same size with another root, or a proof the log served that fails
 * against the two signed checkpoints. When the log refuses to prove it (a 4xx), that is a
 * `split-view-suspected` problem carrying both signed checkpoints. A witness that cannot be read
 * shows nothing and is skipped; a log that cannot be read throws (AuditAbort): no evidence.
 */
export async function compareWitnessViews(
  policy: Policy,
  fetcher: typeof fetch,
  client: LogReader,
  key: VerifierKey,
  latest: OpenedCheckpoint,
  now: Date,
): Promise<WitnessViews> {
  // The witness's monitoring path names the log by SHA-256 of its origin whatever the log's suite:
  // a name the witness's own interface defines (docs/witness.md), not a hash the log's evidence
  // rests on (SPEC.md#crypto-suites), so a gm log is found at the same kind of path.
  const originHex = toHex(sha256(utf8(latest.checkpoint.origin)));
  const problems: MonitorProblem[] = [];
  for (const w of policy.witnesses) {
    if (w.url === undefined) continue;
    let seen: OpenedCheckpoint;
    try {
      const res = await fetcher(`${w.url.replace(/\/+$/, '')}/${originHex}/checkpoint`, { signal: AbortSignal.timeout(10_000) });
      if (res.status !== 200) continue;
      seen = openCheckpoint(await res.text(), key);
    } catch {
      continue;
    }
    if (seen.text === latest.text) continue;
    const [small, large] = seen.checkpoint.size <= latest.checkpoint.size ? [seen, latest] : [latest, seen];
    const info = {
      verifierKey: key.text,
      source: `${client.base} (this monitor's view) and witness ${w.name} (${w.url})`,
      detectedAt: formatReceivedAt(now),
      detail: `split view: witness ${w.name} was shown a checkpoint of size ${seen.checkpoint.size} that is not consistent with the one the log showed this monitor (size ${latest.checkpoint.size})`,
    };
    const evidence = { monitorView: latest.note, witness: w.name, witnessView: seen.note };
    if (small.checkpoint.size === large.checkpoint.size) {
      const fraud = buildFraudProof(small, large, [], info);
      if (fraud !== undefined) return { fraud, problems };
      // The same tree under two signed texts: two blocks for one tree (SPEC.md#chain-rules).
      problems.push({ kind: 'checkpoint-resigned', message: `witness ${w.name} was shown another signed checkpoint of the same tree (size ${seen.checkpoint.size}) than this monitor: two blocks seal one tree`, evidence });
      continue;
    }
    // An empty tree needs no proof (SPEC.md#fraud-proof: s1 = 0 convicts unless r1 = MTH({})).
    const answer = small.checkpoint.size === 0n ? { proof: [] } : await client.consistencyProof(small.checkpoint.size, large.checkpoint.size);
    // A bucket behind the witness cannot prove anything yet (the mirror lags by design): compared later.
    if ('refused' in answer && answer.behind === true) continue;
    if ('refused' in answer) {
      problems.push({
        kind: 'split-view-suspected',
        message: `witness ${w.name} holds a checkpoint of size ${seen.checkpoint.size}, and the log does not prove it consistent with the one it shows this monitor (size ${latest.checkpoint.size}): ${answer.refused}`,
        evidence: { ...evidence, refused: answer.refused },
      });
      continue;
    }
    const judged = judgeFromLog(client, small, large, answer, info);
    if (judged !== undefined && 'format' in judged) return { fraud: judged, problems };
    if (judged !== undefined) problems.push(judged);
  }
  return { problems };
}

/**
 * checkQuorum checks the cosignatures the served checkpoint carries against the policy
 * (SPEC.md#witnesses, c2sp.org/tlog-policy): a quorum not met is a warning, not misbehaviour (the
 * log may still be collecting them), reported with who cosigned and any cosignature by a policy
 * witness that failed to verify. Throws {@link MonitorError} (exit 2) for an unusable policy.
 */
export function checkQuorum(policy: Policy, key: VerifierKey, latest: OpenedCheckpoint): MonitorProblem | undefined {
  let cosigned: CosignedCheckpoint;
  try {
    cosigned = openCosigned(latest.note, key, policy.witnesses.map((w) => w.key));
  } catch (err) {
    throw new MonitorError(`the witness policy cannot be used: ${(err as Error).message}`, 2, { cause: err });
  }
  const q = evaluateQuorum(policy, cosigned.cosignatures);
  if (q.met) return undefined;
  const who = q.perWitness.filter((w) => w.cosigned).map((w) => w.name);
  const bad = cosigned.failed.map((f) => `${f.name} (${f.code})`);
  return {
    kind: 'quorum-not-met',
    code: 'QUORUM_NOT_MET',
    message: `the checkpoint of size ${latest.checkpoint.size} is not cosigned to the policy's quorum ${q.quorum} (valid cosignatures by: ${who.length === 0 ? 'none' : who.join(', ')}${bad.length === 0 ? '' : `; failed: ${bad.join(', ')}`})`,
    expected: `quorum ${q.quorum}`,
    found: who.length === 0 ? 'no valid cosignature' : who.join(', '),
    evidence: { checkpoint: latest.note },
  };
}
