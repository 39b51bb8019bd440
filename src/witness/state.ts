/**
 * The witness's durable state (c2sp.org/tlog-witness: "the witness is only required to keep track
 * of the latest checkpoint it observed and verified"): per origin, the latest cosigned size, root,
 * time and the cosigned note, in a LevelDB under `<data>/state`.
 *
 * - Durable before the answer: {@link WitnessState.commit} resolves only after LevelDB has written
 *   the record with `sync: true` (fsync of its write-ahead log), so a cosignature that left the
 *   witness is on disk, across kill -9 and power loss (tlog-witness: "The witness MUST persist
 *   the new checkpoint before responding").
 * - One writer: LevelDB's LOCK file is an fcntl lock held by the process and released by the
 *   kernel when it dies, so a second witness on the same directory fails at once
 *   ({@link WitnessLockedError}) and a kill -9 never leaves a stale lock.
 * - The `state/` directory is created with its parent directory fsynced, so it is as durable as
 *   what is committed inside it.
 * - Records are checked when loaded (schema, canonical numbers, and that the note's checkpoint is
 *   the recorded size and root): a damaged state stops the witness rather than let it cosign
 *   from a wrong baseline.
 */
import { resolve, join } from 'node:path';
import { Level } from 'level';
import { z } from 'zod';
import { fromBase64, parseDecimal, toBase64, equalBytes } from '../core/bytes.js';
import { parseCheckpoint } from '../core/checkpoint.js';
import { mkdirDurable } from './keyfile.js';

/** The latest checkpoint cosigned for one origin. */
export interface CosignedRecord {
  readonly origin: string;
  readonly size: bigint;
  readonly root: Uint8Array;
  /** Our cosignature's time, POSIX seconds. */
  readonly time: bigint;
  /** The checkpoint note with the log's verified signature(s) and our cosignature. */
  readonly note: string;
}

/** Evidence of possible log misbehaviour: a log-signed checkpoint the witness refused with 422. */
export interface RefusalEvidence {
  readonly origin: string;
  readonly reason: string;
  /** The add-checkpoint request body as received. */
  readonly request: string;
  /** The cosigned note it conflicts with, if any. */
  readonly latest?: string;
  /** When it was received, ms since the epoch. */
  readonly at: number;
}

/** How many refusal records are kept (oldest dropped first). */
export const MAX_EVIDENCE = 1000;

/** WitnessLockedError: another process holds the data directory (LevelDB LOCK). */
export class WitnessLockedError extends Error {
  readonly code = 'WITNESS_LOCKED' as const;
  readonly dir: string;
  constructor(dir: string, options?: { cause?: unknown }) {
    super(`witness data directory ${dir} is in use by another process (LevelDB lock held); stop the other "guzheng witness serve" first`, options);
    this.name = 'WitnessLockedError';
    this.dir = dir;
  }
}

const Stored = z.strictObject({
  v: z.literal(1),
  origin: z.string().min(1),
  size: z.string(),
  root: z.string(),
  time: z.string(),
  note: z.string(),
});

const LOG_PREFIX = 'log:';
const EVIDENCE_PREFIX = 'evidence:';

function isLockError(err: unknown): boolean {
  for (let e: unknown = err, d = 0; typeof e === 'object' && e !== null && d < 4; e = (e as { cause?: unknown }).cause, d++) {
    if ((e as { code?: unknown }).code === 'LEVEL_LOCKED') return true;
  }
  return false;
}

function decodeRecord(key: string, value: string): CosignedRecord {
  const fail = (why: string): never => {
    throw new Error(`witness state: record ${JSON.stringify(key)} is damaged (${why}); restore the data directory from a backup`);
  };
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    fail('not JSON');
  }
  const parsed = Stored.safeParse(json);
  if (!parsed.success) fail('unexpected fields');
  const r = parsed.data!;
  if (key !== LOG_PREFIX + r.origin) fail('origin does not match its key');
  let size: bigint;
  let time: bigint;
  let root: Uint8Array;
  try {
    size = parseDecimal(r.size, 'size');
    time = parseDecimal(r.time, 'time');
    root = fromBase64(r.root, 32, 'root');
    const cp = parseCheckpoint(r.note.slice(0, r.note.lastIndexOf('\n\n') + 1));
    if (cp.origin !== r.origin || cp.size !== size || !equalBytes(cp.root, root)) fail('note does not match size and root');
  } catch (err) {
    fail((err as Error).message);
  }
  return { origin: r.origin, size: size!, root: root!, time: time!, note: r.note };
}

/** The state store. One per data directory and process. */
export class WitnessState {
  readonly #db: Level<string, string>;
  readonly #latest = new Map<string, CosignedRecord>();
  readonly dir: string;
  #evidenceSeq = 0;

  private constructor(db: Level<string, string>, dir: string) {
    this.#db = db;
    this.dir = dir;
  }

  /**
   * WitnessState.open opens (creating if needed) `<dataDir>/state` and loads every record.
   * Requires: no other process has it open, else {@link WitnessLockedError} at once.
   */
  static async open(dataDir: string): Promise<WitnessState> {
    const dir = resolve(join(dataDir, 'state'));
    // Created here rather than by LevelDB, which never fsyncs the data directory: a commit fsynced
    // inside a `state/` whose own entry was not durable could vanish with it on power loss.
    mkdirDurable(dir, 0o700);
    const db = new Level<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    try {
      await db.open();
    } catch (err) {
      if (isLockError(err)) throw new WitnessLockedError(resolve(dataDir), { cause: err });
      throw err;
    }
    const state = new WitnessState(db, dir);
    try {
      for await (const [k, v] of db.iterator({ gte: LOG_PREFIX, lt: LOG_PREFIX + '\uffff' })) {
        const r = decodeRecord(k, v);
        state.#latest.set(r.origin, r);
      }
      for await (const k of db.keys({ gte: EVIDENCE_PREFIX, lt: EVIDENCE_PREFIX + '\uffff', reverse: true, limit: 1 })) {
        state.#evidenceSeq = Number(k.slice(EVIDENCE_PREFIX.length)) + 1;
      }
    } catch (err) {
      await db.close();
      throw err;
    }
    return state;
  }

  /** latest returns the latest cosigned checkpoint for `origin`, if any. */
  latest(origin: string): CosignedRecord | undefined {
    return this.#latest.get(origin);
  }

  /** all returns every origin's latest record. */
  all(): CosignedRecord[] {
    return [...this.#latest.values()];
  }

  /**
   * commit writes `r` as the latest for its origin and resolves once it is fsynced. Requires:
   * the caller serializes commits per origin and checked that `r` extends the previous record.
   */
  async commit(r: CosignedRecord): Promise<void> {
    const value = JSON.stringify({ v: 1, origin: r.origin, size: r.size.toString(), root: toBase64(r.root), time: r.time.toString(), note: r.note });
    await this.#db.put(LOG_PREFIX + r.origin, value, { sync: true });
    this.#latest.set(r.origin, r);
  }

  /** recordEvidence keeps a refused, log-signed request (best effort, not fsynced; capped). */
  async recordEvidence(e: RefusalEvidence): Promise<void> {
    const seq = this.#evidenceSeq++;
    const key = (n: number) => EVIDENCE_PREFIX + n.toString().padStart(12, '0');
    const ops: Array<{ type: 'put'; key: string; value: string } | { type: 'del'; key: string }> = [{ type: 'put', key: key(seq), value: JSON.stringify(e) }];
    if (seq >= MAX_EVIDENCE) ops.push({ type: 'del', key: key(seq - MAX_EVIDENCE) });
    await this.#db.batch(ops);
  }

  /** evidence lists the kept refusal records, oldest first. */
  async evidence(): Promise<RefusalEvidence[]> {
    const out: RefusalEvidence[] = [];
    for await (const v of this.#db.values({ gte: EVIDENCE_PREFIX, lt: EVIDENCE_PREFIX + '\uffff' })) out.push(JSON.parse(v) as RefusalEvidence);
    return out;
  }

  /** close releases the lock. */
  async close(): Promise<void> {
    await this.#db.close();
  }
}
