/**
 * What `guzheng monitor` reads a log through (docs/audit.md#guzheng-monitor): its latest signed
 * checkpoint, pages of its blocks, and consistency proofs between two sizes. Two readers: the
 * service's read API ({@link ApiLog}: `/checkpoint`, `/v1/blocks`, `/v1/proof/consistency`) and the
 * mirror's bucket (bucket-log.ts: `checkpoint`, `guzheng/blocks/…`, proofs built from the hash
 * tiles). The monitor trusts neither: every answer is checked against signatures by the pinned key.
 */
import { fromHex, toHex } from '../core/bytes.js';
import type { OpenedCheckpoint } from '../core/checkpoint.js';
import { HASH_SIZE } from '../core/merkle/hash.js';
import { suiteOfVerifier } from '../core/suite.js';
import { buildFraudProof, judgeConsistency, type FraudProof } from './fraud.js';
import type { MonitorProblem } from './monitor-problems.js';
import type { LogClient } from './remote.js';
import { AuditAbort } from './source.js';

/**
 * The log's answer to a consistency proof request: the proof (with the objects it was built from,
 * for a bucket), or a refusal (the service said it cannot prove it; a bucket lacks a tile).
 */
export type ProofAnswer =
  | { readonly proof: Uint8Array[]; readonly tiles?: readonly string[] }
  /** `behind`: a bucket whose checkpoint is older than the larger size cannot prove it yet (not a refusal). */
  | { readonly refused: string; readonly behind?: boolean };

/** One page of blocks as read: the JSON values, and what was asked for (for the evidence). */
export interface BlockPage {
  /** The request or object that gave the page (`/v1/blocks?from=5&limit=2`, a bundle's name). */
  readonly request: string;
  readonly blocks: unknown[];
}

/** A log as the monitor reads it. */
export interface LogReader {
  /** The URL (or bucket) for messages, the state file and fraud proofs. */
  readonly base: string;
  /**
   * `api`: the service, whose blocks carry their `hash` member; `bucket`: the mirror, whose
   * proofs are built from its tiles (one that fails shows damaged tiles, not a lying log).
   */
  readonly kind: 'api' | 'bucket';
  /** checkpoint reads the latest signed checkpoint note (unverified). Throws {@link AuditAbort}. */
  checkpoint(): Promise<string>;
  /**
   * blockPage reads at most `limit` blocks from height `from`, as served (the caller checks every
   * one); fewer or none past the tip. Throws {@link AuditAbort} when the log cannot be read.
   */
  blockPage(from: bigint, limit: number): Promise<BlockPage>;
  /**
   * consistencyProof asks for the RFC 9162 consistency proof between two sizes. A network failure,
   * an authorisation failure or a malformed proof throws {@link AuditAbort}: nothing was learnt.
   */
  consistencyProof(from: bigint, to: bigint): Promise<ProofAnswer>;
}

/** The service's read API, through a {@link LogClient}. */
export class ApiLog implements LogReader {
  readonly kind = 'api';
  readonly #client: LogClient;

  constructor(client: LogClient) {
    this.#client = client;
  }

  get base(): string {
    return this.#client.base;
  }

  /** The client, for the requests only the service answers. */
  get client(): LogClient {
    return this.#client;
  }

  checkpoint(): Promise<string> {
    return this.#client.getText('/checkpoint');
  }

  async blockPage(from: bigint, limit: number): Promise<BlockPage> {
    const request = `/v1/blocks?from=${from}&limit=${limit}`;
    const page = (await this.#client.getJson(request)) as { blocks?: unknown };
    if (typeof page !== 'object' || page === null || !Array.isArray(page.blocks)) throw new AuditAbort(`GET ${this.#client.base}${request}: no blocks array`, { exitCode: 1 });
    return { request, blocks: page.blocks as unknown[] };
  }

  /**
   * consistencyProof: `GET /v1/proof/consistency` (RFC 9162 §2.1.4). A refusal (4xx other than
   * 401/403/429) is an answer: the log says it cannot prove it.
   */
  async consistencyProof(from: bigint, to: bigint): Promise<ProofAnswer> {
    const request = `/v1/proof/consistency?from=${from}&to=${to}`;
    const r = await this.#client.get(request);
    const text = new TextDecoder('utf-8').decode(r.body);
    if (r.status >= 400 && r.status < 500 && r.status !== 401 && r.status !== 403 && r.status !== 429) {
      return { refused: `GET ${request}: status ${r.status}${text === '' ? '' : `: ${text.slice(0, 300)}`}` };
    }
    const malformed = (why: string) => new AuditAbort(`GET ${this.#client.base}${request}: ${why}`, { exitCode: 1 });
    if (r.status !== 200) throw malformed(`status ${r.status}`);
    let j: { from?: unknown; to?: unknown; path?: unknown };
    try {
      j = JSON.parse(text) as typeof j;
    } catch {
      throw malformed('not JSON');
    }
    if (typeof j !== 'object' || j === null || j.from !== from.toString() || j.to !== to.toString() || !Array.isArray(j.path) || j.path.length > 128) {
      throw malformed(`not a consistency proof from ${from} to ${to}`);
    }
    return {
      proof: (j.path as unknown[]).map((h, i) => {
        try {
          return fromHex(String(h), HASH_SIZE, `path[${i}]`);
        } catch {
          throw malformed(`malformed hash at path[${i}]`);
        }
      }),
    };
  }
}

/**
 * judgeFromLog judges the proof `answer` the log gave between two signed checkpoints (`trusted`
 * first, as {@link buildFraudProof}): undefined when it proves them consistent, else a fraud proof.
 * Except for a bucket: a proof built from its tiles that does not even reproduce the larger signed
 * root shows that the tiles are not the log's (an object altered or deleted), which convicts the
 * bucket, not the log: a `tile-invalid` problem naming the tiles.
 */
export function judgeFromLog(
  log: LogReader,
  trusted: OpenedCheckpoint,
  contradicting: OpenedCheckpoint,
  answer: { readonly proof: Uint8Array[]; readonly tiles?: readonly string[] },
  info: { verifierKey: string; source: string; detectedAt: string; detail?: string },
): FraudProof | MonitorProblem | undefined {
  const [small, large] = trusted.checkpoint.size <= contradicting.checkpoint.size ? [trusted, contradicting] : [contradicting, trusted];
  if (log.kind === 'bucket' && small.checkpoint.size !== large.checkpoint.size) {
    const judged = judgeConsistency(small.checkpoint.size, large.checkpoint.size, small.checkpoint.root, large.checkpoint.root, answer.proof, suiteOfVerifier(info.verifierKey).tree);
    if (judged === 'unproven') {
      const tiles = answer.tiles ?? [];
      return {
        kind: 'tile-invalid',
        message: `the bucket's hash tiles (${tiles.length === 0 ? 'none read' : tiles.join(', ')}) do not reproduce the signed root of size ${large.checkpoint.size}: one of them was altered, or is not this log's`,
        expected: `a consistency proof from ${small.checkpoint.size} to ${large.checkpoint.size} that gives the signed root`,
        found: 'one that does not',
        evidence: { smaller: small.note, larger: large.note, proof: answer.proof.map(toHex), tiles },
      };
    }
  }
  const fraud = buildFraudProof(trusted, contradicting, answer.proof, info);
  // The proof is the bucket's tiles', not the log's answer: say so (the evidence is as strong).
  if (fraud !== undefined && log.kind === 'bucket' && fraud.conclusive && fraud.kind !== 'same-size' && info.detail === undefined) {
    return { ...fraud, detail: `a consistency proof built from the hash tiles of the bucket ${log.base} reproduces its signed root of size ${large.checkpoint.size} and shows that tree does not extend the signed checkpoint of size ${small.checkpoint.size}` };
  }
  return fraud;
}
