/**
 * The block half of a replay (replay.ts, step 3): the log's blocks, read in height order in step
 * with the entries. Each block is linked to the one before it (height, prev hash, first, time,
 * format) here, and checked on its own (signature with the pinned key, origin, size, genesis
 * rules) in batches on the executor (chunk.ts verifyBlocks). Its signed checkpoint becomes a root
 * check the engine compares with the replayed root at that size; its time-stamp tokens and
 * cosignatures go to the time and witness audits. Apart from the engine because it shares with it
 * only the problem list and the queue of root checks.
 */
import { blockHash, parseBlock, type Block } from '../core/block.js';
import { toHex } from '../core/bytes.js';
import { parseCheckpoint, type OpenedCheckpoint, type ParsedCheckpoint } from '../core/checkpoint.js';
import { isLedgerError } from '../core/errors.js';
import type { CryptoSuite } from '../core/suite.js';
import { cosignedNote } from '../log/cosignatures.js';
import type { BlockCheck } from './chunk.js';
import { quiet, type Executor } from './pool.js';
import type { ProblemList } from './problem-list.js';
import type { AuditSource, BlockItem } from './source.js';
import type { TimeAudit } from './timestamps.js';
import type { WitnessAudit } from './witnessed.js';

/** A root to compare with the replay at some size. */
export interface RootCheck {
  readonly size: bigint;
  readonly root: Uint8Array;
  readonly kind: 'block' | 'saved' | 'served';
  readonly note: string;
  readonly height?: bigint;
  readonly label?: string;
  readonly saved?: OpenedCheckpoint;
}

/** The checkpoint body of a signed note, unverified (the signature is checked separately). */
function checkpointBody(note: string): ParsedCheckpoint | undefined {
  const end = note.indexOf('\n\n');
  if (end < 0) return undefined;
  try {
    return parseCheckpoint(note.slice(0, end + 1));
  } catch {
    return undefined;
  }
}

/** Blocks sent to the executor to be verified, with where each sits (for the problems they yield). */
interface VerifyBatch {
  readonly meta: Array<{ height: bigint; first: bigint }>;
  readonly result: Promise<BlockCheck[]>;
}

/** What a {@link BlockWalk} works with: the replay's source, size, suite, executor and findings. */
export interface BlockWalkOptions {
  readonly source: AuditSource;
  /** The size the replay covers: a live log's blocks beyond it are newer and not read. */
  readonly size: bigint;
  readonly suite: CryptoSuite;
  readonly executor: Executor;
  readonly problems: ProblemList;
  readonly time: TimeAudit;
  readonly witnesses?: WitnessAudit;
  /** The saved checkpoints' root checks, each to be covered by the log's first checkpoint at or beyond its size. */
  readonly saved: readonly RootCheck[];
  /** Queues a block's checkpoint as a root check (the engine keeps them sorted by size). */
  readonly insert: (rc: RootCheck) => void;
}

/** The log's block stream, read and checked as far as the replay needs it. */
export class BlockWalk {
  readonly #o: BlockWalkOptions;
  readonly #it: AsyncIterator<BlockItem>;
  #done = false;
  #prev: Block | undefined;
  /** The next height, or undefined right after a stream problem (then anything is accepted). */
  #expectHeight: bigint | undefined = 0n;
  #seen = 0n;
  #lastSize = -1n;
  #latest: { height: bigint; size: bigint; root: Uint8Array; note: string } | undefined;
  #truncReported = false;
  #batch: Array<{ json: unknown; height: bigint; first: bigint }> = [];
  readonly #queue: VerifyBatch[] = [];
  /** For each saved checkpoint: the log's first checkpoint at or beyond its size. */
  readonly coverOf = new Map<RootCheck, { note: string; size: bigint }>();

  constructor(options: BlockWalkOptions) {
    this.#o = options;
    this.#it = options.source.blocks()[Symbol.asyncIterator]();
  }

  /** Blocks read within the replay's size. */
  get seen(): bigint {
    return this.#seen;
  }

  /** The last block read and the checkpoint it signs. */
  get latest(): { readonly height: bigint; readonly size: bigint; readonly root: Uint8Array; readonly note: string } | undefined {
    return this.#latest;
  }

  /** flush sends the blocks batched so far to the executor to be verified. */
  flush(): void {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#queue.push({ meta: batch.map(({ height, first }) => ({ height, first })), result: quiet(this.#o.executor.runBlocks(batch.map((b) => b.json))) });
  }

  /** drain waits for verified batches until at most `keep` are in flight, reporting the blocks that failed. */
  async drain(keep: number): Promise<void> {
    while (this.#queue.length > keep) {
      const q = this.#queue.shift() as VerifyBatch;
      const results = await q.result;
      results.forEach((r, i) => {
        const m = q.meta[i] as { height: bigint; first: bigint };
        if (!r.ok) this.#o.problems.add({ kind: 'block-invalid', height: m.height, ...(r.code ? { code: r.code } : {}), message: `block ${m.height} does not verify: ${r.message}` }, m.first);
      });
    }
  }

  /** read reads blocks until one beyond `limit` entries has been read (or none are left). */
  async read(limit: bigint): Promise<void> {
    const problems = this.#o.problems;
    while (!this.#done && this.#lastSize <= limit) {
      const next = await this.#it.next();
      if (next.done === true) {
        this.#done = true;
        break;
      }
      const item = next.value;
      if (item.problem !== undefined) {
        problems.add(item.problem, this.#prev ? this.#prev.first + this.#prev.count : undefined);
        // The link to the previous block cannot be checked across a stream problem.
        this.#prev = undefined;
        this.#expectHeight = undefined;
        if (item.json === undefined) continue;
      }
      this.#process(item.height, item.json, item.tokens ?? [], item.cosignatures ?? []);
    }
    if (this.#done) await this.#it.return?.();
  }

  #process(height: bigint, json: unknown, tokens: readonly Uint8Array[], cosignatures: readonly string[]): void {
    const { source, size: N, suite, problems } = this.#o;
    let block: Block;
    try {
      block = parseBlock(json);
    } catch (err) {
      const code = isLedgerError(err) ? { code: err.code } : {};
      problems.add({ kind: 'block-invalid', height, ...code, message: `block ${height} does not parse: ${(err as Error).message}` }, this.#prev ? this.#prev.first + this.#prev.count : 0n);
      this.#prev = undefined;
      this.#expectHeight = height + 1n;
      return;
    }
    const body = checkpointBody(block.checkpoint);
    if (source.live && body !== undefined && body.size > N) {
      this.#done = true; // newer than the served checkpoint: not part of this audit
      return;
    }
    this.#seen++;
    this.#o.time.block(block.height, block.format, block.checkpoint, tokens);
    this.#o.witnesses?.block(block.height, block.first + block.count, cosignedNote(block.checkpoint, cosignatures));
    if (this.#prev !== undefined) {
      const prev = this.#prev;
      const broken = (what: string, expected: string, found: string) =>
        problems.add({ kind: 'chain-broken', height: block.height, message: `block ${block.height} does not follow block ${prev.height}: ${what}`, expected, found }, block.first);
      const prevHash = toHex(blockHash(prev, suite));
      if (block.height !== prev.height + 1n) broken('wrong height', `${prev.height + 1n}`, `${block.height}`);
      else if (toHex(block.prev) !== prevHash) broken('prev is not the hash of the previous block', prevHash, toHex(block.prev));
      else if (block.first !== prev.first + prev.count) broken('first is not where the previous block ended', `${prev.first + prev.count}`, `${block.first}`);
      else if (block.time < prev.time) broken('its time is earlier', `a time at or after ${prev.time}`, block.time);
      else if (block.format < prev.format) broken('a format-1 (unsigned) block follows a signed one', 'a signed guzheng-block/v2 block', 'a format-1 block');
    } else if (this.#expectHeight !== undefined && block.height !== this.#expectHeight) {
      const want = this.#expectHeight;
      problems.add({ kind: 'block-missing', height: want, message: `block ${want} is missing (the chain continues at ${block.height})`, expected: `block ${want}`, found: `block ${block.height}` }, block.first);
    }
    this.#batch.push({ json, height: block.height, first: block.first });
    if (this.#batch.length >= 64) this.flush();
    if (body !== undefined) {
      for (const s of this.#o.saved) if (!this.coverOf.has(s) && body.size >= s.size) this.coverOf.set(s, { note: block.checkpoint, size: body.size });
      if (body.size > N) {
        if (!this.#truncReported) {
          this.#truncReported = true;
          problems.add(
            {
              kind: 'truncated',
              index: N,
              height: block.height,
              message: `block ${block.height}'s signed checkpoint covers ${body.size} entries but the log holds only ${N}: entries from ${N} on are gone`,
              expected: `at least ${body.size} entries`,
              found: `${N} entries`,
            },
            N,
          );
        } else problems.suppressed++;
      } else if (body.size > this.#lastSize) {
        this.#o.insert({ size: body.size, root: body.root, kind: 'block', note: block.checkpoint, height: block.height });
      }
      if (body.size > this.#lastSize) this.#lastSize = body.size;
      this.#latest = { height: block.height, size: body.size, root: body.root, note: block.checkpoint };
    }
    this.#prev = block;
    this.#expectHeight = block.height + 1n;
  }
}
