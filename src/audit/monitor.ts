/**
 * The monitor (`guzheng monitor`): follows a live log's `/checkpoint`, and accepts each new
 * checkpoint only if its signature verifies with the pinned key and the log proves it extends the
 * last one accepted (`GET /v1/proof/consistency?from=&to=`, RFC 9162 §2.1.4). The accepted
 * checkpoint is persisted (atomically) only after that. A checkpoint that shrinks, changes root
 * at the same size, or fails its consistency proof is misbehaviour: the monitor stops and writes
 * a fraud proof holding both signed checkpoints and the failing proof.
 *
 * The state file is small JSON (`format: guzheng-monitor/v1`) holding the last accepted signed
 * checkpoint; a restart continues from it. An empty log (size 0) is a valid first checkpoint.
 * See docs/audit.md#monitor.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { z } from 'zod';
import { toHex, utf8 } from '../core/bytes.js';
import { sha256 } from '../core/crypto.js';
import type { Policy } from '../core/policy.js';
import { blockOfCheckpoint, parseBlock, verifyBlockChain, type Block } from '../core/block.js';
import { findBlockHeader } from '../core/block-header.js';
import { openCheckpoint, type OpenedCheckpoint } from '../core/checkpoint.js';
import { LedgerError, isLedgerError } from '../core/errors.js';
import { formatReceivedAt } from '../core/entry/text.js';
import { parseVerifierKey, splitNote, type VerifierKey } from '../core/note.js';
import { buildFraudProof, type FraudProof } from './fraud.js';
import { LogClient } from './remote.js';
import { AuditAbort } from './source.js';

/** The first field of every monitor state file. */
export const MONITOR_STATE_FORMAT = 'guzheng-monitor/v1';

/** The persisted state: the last checkpoint the monitor verified. */
export interface MonitorState {
  readonly format: typeof MONITOR_STATE_FORMAT;
  readonly url: string;
  readonly verifierKey: string;
  /** The signed note of the last verified checkpoint. */
  readonly checkpoint: string;
  readonly size: string;
  readonly root: string;
  readonly verifiedAt: string;
}

const stateSchema = z.strictObject({
  format: z.literal(MONITOR_STATE_FORMAT),
  url: z.string(),
  verifierKey: z.string(),
  checkpoint: z.string().min(1).max(1_000_000),
  size: z.string().regex(/^(0|[1-9][0-9]{0,19})$/),
  root: z.string().regex(/^[0-9a-f]{64}$/),
  verifiedAt: z.string(),
});

/** Options of {@link monitorOnce} and {@link runMonitor}. */
export interface MonitorOptions {
  /** The log's base URL. */
  readonly url: string;
  /** The log's verifier key, pinned out of band. */
  readonly verifierKey: string;
  /** Where the last verified checkpoint is kept. */
  readonly stateFile: string;
  /** Where a fraud proof is written (default `<stateFile>.fraud-proof.json`). */
  readonly fraudProofFile?: string;
  readonly apiKey?: string;
  readonly fetch?: typeof fetch;
  readonly clock?: () => Date;
  /** Attempts per request for transient failures (default 3). */
  readonly attempts?: number;
  /**
   * A witness policy: each poll also reads every witness's latest cosigned checkpoint of this log
   * (the C2SP monitoring path) and checks it is consistent with what the log shows this monitor.
   * A witness that was shown another history is a split view: a fraud proof is written.
   */
  readonly policy?: Policy;
}

/** What one poll found. */
export type MonitorOutcome =
  | { readonly status: 'initialized'; readonly size: bigint; readonly root: string }
  | { readonly status: 'unchanged'; readonly size: bigint }
  | { readonly status: 'advanced'; readonly from: bigint; readonly to: bigint; readonly root: string }
  | { readonly status: 'fraud'; readonly proof: FraudProof; readonly file: string };

/**
 * A poll that could not decide: exit code 2 for a local problem (bad key, unreadable or foreign
 * state file), 1 for one with the log (unreachable, an unverifiable checkpoint or proof).
 */
export class MonitorError extends Error {
  readonly exitCode: 1 | 2;
  constructor(message: string, exitCode: 1 | 2, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MonitorError';
    this.exitCode = exitCode;
  }
}

/** writeFileAtomic writes `text` to a temporary file, fsyncs it, and renames it over `path`. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * readMonitorState loads and re-verifies a state file, or returns undefined if there is none.
 * Throws {@link MonitorError} (exit 2) for a file that is not a state of this log under `key`.
 */
export function readMonitorState(path: string, key: VerifierKey): { state: MonitorState; opened: OpenedCheckpoint } | undefined {
  if (!existsSync(path)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new MonitorError(`state file ${path} is not JSON: ${(err as Error).message}`, 2, { cause: err });
  }
  const r = stateSchema.safeParse(json);
  if (!r.success) throw new MonitorError(`state file ${path} is not a ${MONITOR_STATE_FORMAT} state: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`, 2);
  const state = r.data;
  if (state.verifierKey !== key.text) throw new MonitorError(`state file ${path} is for the log key ${state.verifierKey}, not ${key.text}`, 2);
  let opened: OpenedCheckpoint;
  try {
    opened = openCheckpoint(state.checkpoint, key);
  } catch (err) {
    throw new MonitorError(`state file ${path}: its checkpoint does not verify with ${key.text}: ${(err as Error).message}`, 2, { cause: err });
  }
  if (opened.checkpoint.size.toString() !== state.size || toHex(opened.checkpoint.root) !== state.root) {
    throw new MonitorError(`state file ${path}: size or root disagree with its signed checkpoint`, 2);
  }
  return { state, opened };
}

function saveState(o: MonitorOptions, key: VerifierKey, opened: OpenedCheckpoint, now: Date): void {
  const state: MonitorState = {
    format: MONITOR_STATE_FORMAT,
    url: o.url,
    verifierKey: key.text,
    checkpoint: opened.note,
    size: opened.checkpoint.size.toString(),
    root: toHex(opened.checkpoint.root),
    verifiedAt: formatReceivedAt(now),
  };
  writeFileAtomic(o.stateFile, JSON.stringify(state, null, 2) + '\n');
}

/**
 * monitorOnce polls the log once: fetches `/checkpoint`, verifies it, checks it against the
 * saved state (and the log's consistency proof), then saves it or writes a fraud proof.
 * Throws {@link MonitorError} when it cannot decide (nothing is saved then).
 */
export async function monitorOnce(o: MonitorOptions): Promise<MonitorOutcome> {
  let key: VerifierKey;
  try {
    key = parseVerifierKey(o.verifierKey);
  } catch (err) {
    throw new MonitorError(`the verifier key is malformed: ${(err as Error).message}`, 2, { cause: err });
  }
  const now = (o.clock ?? (() => new Date()))();
  const saved = readMonitorState(o.stateFile, key);
  const client = new LogClient(o.url, { attempts: o.attempts ?? 3, ...(o.apiKey ? { apiKey: o.apiKey } : {}), ...(o.fetch ? { fetch: o.fetch } : {}) });
  const ask = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      if (err instanceof AuditAbort) throw new MonitorError(err.message, 1, { cause: err });
      throw err;
    }
  };
  const note = await ask(() => client.getText('/checkpoint'));
  let latest: OpenedCheckpoint;
  try {
    latest = openCheckpoint(note, key);
  } catch (err) {
    throw new MonitorError(`the log's /checkpoint does not verify with ${key.text}: ${(err as Error).message}`, 1, { cause: err });
  }
  if (saved === undefined) {
    const split = o.policy === undefined ? undefined : await compareWitnessViews(o, client, key, latest, now);
    if (split !== undefined) return split;
    saveState(o, key, latest, now);
    return { status: 'initialized', size: latest.checkpoint.size, root: toHex(latest.checkpoint.root) };
  }
  const old = saved.opened;
  const from = old.checkpoint.size;
  const to = latest.checkpoint.size;
  if (from === to && toHex(old.checkpoint.root) === toHex(latest.checkpoint.root)) return { status: 'unchanged', size: to };
  const proof = to > from ? await ask(() => client.consistencyProof(from, to)) : [];
  const fraud = buildFraudProof(old, latest, proof, { verifierKey: key.text, source: client.base, detectedAt: formatReceivedAt(now) });
  if (fraud === undefined) {
    await ask(() => checkServedBlocks(client, key, old, latest));
    const split = o.policy === undefined ? undefined : await compareWitnessViews(o, client, key, latest, now);
    if (split !== undefined) return split;
    saveState(o, key, latest, now);
    return { status: 'advanced', from, to, root: toHex(latest.checkpoint.root) };
  }
  const file = o.fraudProofFile ?? `${o.stateFile}.fraud-proof.json`;
  writeFileAtomic(file, JSON.stringify(fraud, null, 2) + '\n');
  return { status: 'fraud', proof: fraud, file };
}

/** Most blocks one poll checks; a monitor that fell further behind checks the newest ones. */
const MAX_BLOCKS_PER_POLL = 10_000;

/**
 * checkServedBlocks checks the blocks the log serves between the last accepted checkpoint and the
 * new one (SPEC.md#blocks): each verifies on its own (so every member equals its signed block
 * header), they link to each other and to the saved checkpoint's block, and the last one seals
 * exactly the checkpoint served at /checkpoint. A log (or a proxy) that serves a block whose time,
 * prev, height or range was altered, even re-hashed, is caught here. Checkpoints without a signed
 * block header (format-1 logs) have nothing to compare. Throws {@link MonitorError} (exit 1).
 */
async function checkServedBlocks(client: LogClient, key: VerifierKey, old: OpenedCheckpoint, latest: OpenedCheckpoint): Promise<void> {
  if (findBlockHeader(latest.checkpoint.extensions) === undefined) return;
  const tip = blockOfCheckpoint(latest.note);
  const savedBlock = findBlockHeader(old.checkpoint.extensions) === undefined ? undefined : blockOfCheckpoint(old.note);
  let from = savedBlock === undefined ? tip.height : savedBlock.height + 1n;
  if (tip.height - from >= BigInt(MAX_BLOCKS_PER_POLL)) from = tip.height - BigInt(MAX_BLOCKS_PER_POLL) + 1n;
  const blocks: Block[] = [];
  try {
    while (from <= tip.height) {
      const page = (await client.getJson(`/v1/blocks?from=${from}&limit=1000`)) as { blocks?: unknown };
      if (!Array.isArray(page.blocks) || page.blocks.length === 0) throw new LedgerError('BLOCK_INVALID', `GET /v1/blocks?from=${from} served no blocks, but the checkpoint is sealed in block ${tip.height}`);
      for (const raw of page.blocks as unknown[]) {
        const { hash: _hash, timestamps: _timestamps, ...json } = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
        const block = parseBlock(json);
        if (block.height > tip.height) break;
        blocks.push(block);
      }
      from = (blocks.at(-1)?.height ?? from) + 1n;
    }
    const previous = savedBlock !== undefined && blocks[0]?.height === savedBlock.height + 1n ? { previous: savedBlock } : {};
    verifyBlockChain(blocks, key, previous);
    const last = blocks.at(-1) as Block;
    if (splitNote(last.checkpoint).text !== latest.text) {
      throw new LedgerError('BLOCK_INVALID', `block ${last.height} served at /v1/blocks does not seal the checkpoint served at /checkpoint`);
    }
  } catch (err) {
    if (err instanceof AuditAbort || !isLedgerError(err)) throw err;
    throw new MonitorError(`the log serves blocks that do not match its signed checkpoints: ${err.code}: ${err.message}`, 1, { cause: err });
  }
}

/**
 * compareWitnessViews reads each policy witness's latest cosigned checkpoint of this log
 * (`GET <witness>/<hex SHA-256(origin)>/checkpoint`, c2sp.org/tlog-witness) and checks it against
 * the checkpoint the log served this monitor: same size with another root, or no valid
 * consistency proof from the log between them, is a split view, and the two signed checkpoints
 * are the fraud proof (written like any other). A witness that cannot be read is skipped: it
 * shows nothing.
 */
async function compareWitnessViews(o: MonitorOptions, client: LogClient, key: VerifierKey, latest: OpenedCheckpoint, now: Date): Promise<MonitorOutcome | undefined> {
  const originHex = toHex(sha256(utf8(latest.checkpoint.origin)));
  for (const w of o.policy?.witnesses ?? []) {
    if (w.url === undefined) continue;
    let seen: OpenedCheckpoint;
    try {
      const res = await (o.fetch ?? fetch)(`${w.url.replace(/\/+$/, '')}/${originHex}/checkpoint`, { signal: AbortSignal.timeout(10_000) });
      if (res.status !== 200) continue;
      seen = openCheckpoint(await res.text(), key);
    } catch {
      continue;
    }
    const [small, large] = seen.checkpoint.size <= latest.checkpoint.size ? [seen, latest] : [latest, seen];
    let proof: Uint8Array[] = [];
    if (small.checkpoint.size < large.checkpoint.size && small.checkpoint.size > 0n) {
      try {
        proof = await client.consistencyProof(small.checkpoint.size, large.checkpoint.size);
      } catch {
        proof = []; // the log cannot prove it: judged on what there is
      }
    }
    const fraud = buildFraudProof(small, large, proof, {
      verifierKey: key.text,
      source: `${client.base} (this monitor's view) and witness ${w.name} (${w.url})`,
      detectedAt: formatReceivedAt(now),
      detail: `split view: witness ${w.name} was shown a checkpoint of size ${seen.checkpoint.size} that is not consistent with the one the log showed this monitor (size ${latest.checkpoint.size})`,
    });
    if (fraud === undefined) continue;
    const file = o.fraudProofFile ?? `${o.stateFile}.fraud-proof.json`;
    writeFileAtomic(file, JSON.stringify(fraud, null, 2) + '\n');
    return { status: 'fraud', proof: fraud, file };
  }
  return undefined;
}

/** Options of {@link runMonitor}. */
export interface RunMonitorOptions extends MonitorOptions {
  /** Milliseconds between polls. */
  readonly intervalMs: number;
  /** Stops the loop (SIGINT/SIGTERM). */
  readonly signal?: AbortSignal;
  readonly onOutcome?: (o: MonitorOutcome) => void;
  /** A poll that could not decide (the loop goes on). */
  readonly onError?: (err: MonitorError) => void;
}

/**
 * runMonitor polls every `intervalMs` until `signal` aborts (resolves undefined) or fraud is found
 * (resolves the fraud outcome). Polls that cannot decide are reported through `onError` and
 * retried; a local problem (exit code 2: key, state file) ends the loop with that error.
 */
export async function runMonitor(o: RunMonitorOptions): Promise<MonitorOutcome | undefined> {
  while (o.signal?.aborted !== true) {
    try {
      const outcome = await monitorOnce(o);
      o.onOutcome?.(outcome);
      if (outcome.status === 'fraud') return outcome;
    } catch (err) {
      if (!(err instanceof MonitorError) || err.exitCode === 2) throw err;
      o.onError?.(err);
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, o.intervalMs);
      o.signal?.addEventListener('abort', done, { once: true });
    });
  }
  return undefined;
}
