/**
 * The replay engine of `guzheng audit`: rebuild the whole log from genesis out of the exact entry
 * bytes and prove that everything stored or signed agrees with it, or locate the first thing that
 * does not.
 *
 * 1. Entries are replayed in aligned chunks of 4,096 (chunk.ts, on worker threads): strict
 *    decoding, leaf hashes and every tree node, with the RFC 9162 §2.1.2 stack algorithm (a
 *    CompactRange per chunk, and one over the chunk roots here).
 * 2. Every node the replay creates is compared with the stored node (local) or tile hash
 *    (remote). A mismatch whose children matched is reported; its ancestors, which must then
 *    differ too, are counted as consequences, not as new problems.
 * 3. Every block is checked on its own (signature with the pinned key, origin, size = first +
 *    count, genesis rules), linked to the previous one (height, prev hash, first, time), and its
 *    checkpoint root is compared with the replayed root at its size. So is every checkpoint the
 *    auditor saved earlier (`--checkpoint`): a contradiction there is a fork, with the evidence.
 * 4. The digest and leaf-hash indexes must list every entry (and, locally, nothing else), and
 *    nothing may be stored beyond the log's size.
 *
 * Every hash is the log's crypto suite's, taken once from the pinned key (SPEC.md#crypto-suites):
 * SHA-256 for a `c2sp` log, SM3 for a `gm` log (leaves, nodes, the empty root, block hashes,
 * attachment digests and time-stamp imprints); the stored data never chooses it.
 *
 * Memory is constant in the log size: a few chunks in flight, the right edge, the blocks of a
 * few chunks, and a bounded list of problems. See docs/audit.md.
 */
import { randomBytes } from 'node:crypto';
import { blockHash, parseBlock, type Block } from '../core/block.js';
import { TimeAudit } from './timestamps.js';
import { WitnessAudit } from './witnessed.js';
import { cosignedNote } from '../log/cosignatures.js';
import type { Policy } from '../core/policy.js';
import { equalBytes, toHex } from '../core/bytes.js';
import { openCheckpoint, parseCheckpoint, type OpenedCheckpoint, type ParsedCheckpoint } from '../core/checkpoint.js';
import { formatReceivedAt } from '../core/entry/text.js';
import { isLedgerError } from '../core/errors.js';
import { CompactRange, foldRight } from '../core/merkle/compact.js';
import { parseVerifierKey, type VerifierKey } from '../core/note.js';
import { suiteOfKey, type CryptoSuite } from '../core/suite.js';
import { TILE_HEIGHT } from '../core/tiles.js';
import { installNodeCrypto } from '../platform/node-crypto.js';
import { CHUNK_LEVEL, CHUNK_SIZE, PRINT_SECRET_SIZE, compareLevel, type BlockCheck, type ChunkResult, type ChunkTask } from './chunk.js';
import { buildFraudProof, type FraudProof } from './fraud.js';
import { createExecutor, defaultWorkers, type Executor } from './pool.js';
import type { AuditReport, Problem, ProblemKind } from './report.js';
import type { CountResult, IndexRange, StoredNodes } from './reads.js';
import { AuditAbort, type AuditSource } from './source.js';

/** A checkpoint the auditor saved earlier (e.g. from a monitor's state, a receipt, a block). */
export interface SavedCheckpoint {
  /** Where it came from, for messages (a file name). */
  readonly label: string;
  /** The signed note. */
  readonly note: string;
}

/** Progress of a replay, reported after each chunk. */
export interface AuditProgress {
  readonly done: bigint;
  readonly total: bigint;
  readonly elapsedMs: number;
  /** Entries per second so far. */
  readonly rate: number;
}

/** Options of {@link runAudit}. */
export interface AuditOptions {
  /** The log's verifier key, pinned out of band. */
  readonly verifierKey: string;
  readonly saved?: readonly SavedCheckpoint[];
  /** Worker threads; default: none below 32,768 entries, else one per CPU (at most 8). */
  readonly workers?: number;
  /** Problems listed in the report (default 20); all are counted. */
  readonly maxProblems?: number;
  readonly onProgress?: (p: AuditProgress) => void;
  /** Non-fatal notes (e.g. worker threads unavailable). */
  readonly onWarning?: (message: string) => void;
  /** Clock for the evidence timestamp (default: now). */
  readonly clock?: () => Date;
  /** Root certificates (DER) of the TSAs the auditor trusts: every kept time-stamp token is verified against them. */
  readonly tsaRoots?: readonly Uint8Array[];
  /** A witness policy: every block's cosignatures are checked against it, and some checkpoint must meet its quorum. */
  readonly policy?: Policy;
}

/** Problems kept before sorting (the report lists `maxProblems` of them). */
const KEEP = 10_000;
/** Below this many entries, worker threads cost more to start than they save. */
const INLINE_BELOW = 32_768n;
/** Entries known to be damaged, remembered to keep index findings about them out of the report. */
const MAX_BAD_ENTRIES = 100_000;

type IndexKind = 'digest-index' | 'leaf-index';

function xorInto(acc: Uint8Array, x: Uint8Array): void {
  for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] as number) ^ (x[i] as number);
}

/** A root to compare with the replay at some size. */
interface RootCheck {
  readonly size: bigint;
  readonly root: Uint8Array;
  readonly kind: 'block' | 'saved' | 'served';
  readonly note: string;
  readonly height?: bigint;
  readonly label?: string;
  readonly saved?: OpenedCheckpoint;
}

interface InFlight {
  readonly start: bigint;
  /** Undefined when no entry could be read (then `gap` says why). */
  readonly result?: Promise<ChunkResult>;
  readonly checks: RootCheck[];
  readonly gap?: Problem;
}

/** quiet marks a promise as handled (it is awaited later), so an early rejection is not fatal. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
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

class ProblemList {
  readonly #items: Array<{ p: Problem; pos: bigint; seq: number }> = [];
  count = 0;
  suppressed = 0;
  readonly counts: Partial<Record<ProblemKind, number>> = {};
  #seq = 0;

  /** add records a problem at replay position `pos` (default: its entry index or node start). */
  add(p: Problem, pos?: bigint): void {
    this.count++;
    this.counts[p.kind] = (this.counts[p.kind] ?? 0) + 1;
    if (this.#items.length >= KEEP) return;
    const at = pos ?? p.index ?? (p.node !== undefined && p.level !== undefined ? p.node << BigInt(p.level) : 1n << 64n);
    this.#items.push({ p, pos: at, seq: this.#seq++ });
  }

  /** addUnlisted counts problems found but not described. */
  addUnlisted(counts: Readonly<Partial<Record<ProblemKind, number>>>): void {
    for (const [kind, n] of Object.entries(counts) as Array<[ProblemKind, number]>) {
      this.count += n;
      this.counts[kind] = (this.counts[kind] ?? 0) + n;
    }
  }

  sorted(): Problem[] {
    return this.#items.sort((a, b) => (a.pos < b.pos ? -1 : a.pos > b.pos ? 1 : a.seq - b.seq)).map((x) => x.p);
  }
}

/**
 * runAudit replays `source` from genesis and returns the report. Requires: `verifierKey` is the
 * log's key (pinned out of band). Throws {@link AuditAbort} when the audit cannot be carried out
 * (source unreachable, a saved checkpoint that does not verify); every finding about the log is
 * a {@link Problem} in the report instead. The caller closes the source.
 */
export async function runAudit(source: AuditSource, options: AuditOptions): Promise<AuditReport> {
  const t0 = performance.now();
  installNodeCrypto();
  let verifier: VerifierKey;
  try {
    verifier = parseVerifierKey(options.verifierKey);
  } catch (err) {
    throw new AuditAbort(`the verifier key is malformed: ${(err as Error).message}`, { cause: err });
  }
  const suite: CryptoSuite = suiteOfKey(verifier);
  const tree = suite.tree;
  const empty = tree.emptyRoot();
  const clock = options.clock ?? (() => new Date());
  const problems = new ProblemList();
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    options.onWarning?.(m);
  };

  const info = await source.start();
  const N = info.size;
  for (const w of info.warnings ?? []) warn(w);

  // Root checks, sorted by size: saved checkpoints, the served checkpoint, then blocks as read.
  const pending: RootCheck[] = [];
  const insert = (rc: RootCheck) => {
    let i = pending.length;
    while (i > 0 && (pending[i - 1] as RootCheck).size > rc.size) i--;
    pending.splice(i, 0, rc);
  };
  const saved: RootCheck[] = [];
  for (const s of options.saved ?? []) {
    let opened: OpenedCheckpoint;
    try {
      opened = openCheckpoint(s.note, verifier);
    } catch (err) {
      throw new AuditAbort(`saved checkpoint ${s.label} does not verify with ${verifier.text}: ${(err as Error).message}`, { cause: err });
    }
    const rc: RootCheck = { size: opened.checkpoint.size, root: opened.checkpoint.root, kind: 'saved', note: opened.note, label: s.label, saved: opened };
    saved.push(rc);
    insert(rc);
  }
  if (info.checkpoint) insert({ size: N, root: info.checkpoint.checkpoint.root, kind: 'served', note: info.checkpoint.note });

  const workers = options.workers ?? (N < INLINE_BELOW ? 0 : defaultWorkers());
  // The index fingerprints are keyed with a secret drawn now, after the store was written.
  const secret = new Uint8Array(randomBytes(PRINT_SECRET_SIZE));
  const executor: Executor = await createExecutor({
    workers,
    verifierKey: verifier.text,
    ...(source.local ? { local: { ...source.local, size: N, secret } } : {}),
    warn,
  });

  // ---- blocks -------------------------------------------------------------------------------
  const blockIt = source.blocks()[Symbol.asyncIterator]();
  let blocksDone = false;
  let prevBlock: Block | undefined;
  /** The next height, or undefined right after a stream problem (then anything is accepted). */
  let expectHeight: bigint | undefined = 0n;
  let blocksSeen = 0n;
  let lastBlockSize = -1n;
  let latest: { height: bigint; size: bigint; root: Uint8Array; note: string } | undefined;
  let truncReported = false;
  /** For each saved checkpoint: the log's first checkpoint at or beyond its size. */
  const coverOf = new Map<RootCheck, { note: string; size: bigint }>();
  let verifyBatch: Array<{ json: unknown; height: bigint; first: bigint }> = [];
  const verifyQueue: Array<{ meta: Array<{ height: bigint; first: bigint }>; result: Promise<BlockCheck[]> }> = [];

  const flushVerify = () => {
    if (verifyBatch.length === 0) return;
    const batch = verifyBatch;
    verifyBatch = [];
    verifyQueue.push({ meta: batch.map(({ height, first }) => ({ height, first })), result: quiet(executor.runBlocks(batch.map((b) => b.json))) });
  };
  const drainVerify = async (keep: number) => {
    while (verifyQueue.length > keep) {
      const q = verifyQueue.shift() as (typeof verifyQueue)[number];
      const results = await q.result;
      results.forEach((r, i) => {
        const m = q.meta[i] as { height: bigint; first: bigint };
        if (!r.ok) problems.add({ kind: 'block-invalid', height: m.height, ...(r.code ? { code: r.code } : {}), message: `block ${m.height} does not verify: ${r.message}` }, m.first);
      });
    }
  };

  const time = new TimeAudit(options.tsaRoots ?? [], verifier);
  const witnessAudit = options.policy === undefined ? undefined : new WitnessAudit(options.policy, verifier);
  const processBlock = (height: bigint, json: unknown, tokens: readonly Uint8Array[], cosignatures: readonly string[]): void => {
    let block: Block;
    try {
      block = parseBlock(json);
    } catch (err) {
      const code = isLedgerError(err) ? { code: err.code } : {};
      problems.add({ kind: 'block-invalid', height, ...code, message: `block ${height} does not parse: ${(err as Error).message}` }, prevBlock ? prevBlock.first + prevBlock.count : 0n);
      prevBlock = undefined;
      expectHeight = height + 1n;
      return;
    }
    const body = checkpointBody(block.checkpoint);
    if (source.live && body !== undefined && body.size > N) {
      blocksDone = true; // newer than the served checkpoint: not part of this audit
      return;
    }
    blocksSeen++;
    time.block(block.height, block.format, block.checkpoint, tokens);
    witnessAudit?.block(block.height, block.first + block.count, cosignedNote(block.checkpoint, cosignatures));
    if (prevBlock !== undefined) {
      const prev = prevBlock;
      const broken = (what: string, expected: string, found: string) =>
        problems.add({ kind: 'chain-broken', height: block.height, message: `block ${block.height} does not follow block ${prev.height}: ${what}`, expected, found }, block.first);
      const prevHash = toHex(blockHash(prev, suite));
      if (block.height !== prev.height + 1n) broken('wrong height', `${prev.height + 1n}`, `${block.height}`);
      else if (toHex(block.prev) !== prevHash) broken('prev is not the hash of the previous block', prevHash, toHex(block.prev));
      else if (block.first !== prev.first + prev.count) broken('first is not where the previous block ended', `${prev.first + prev.count}`, `${block.first}`);
      else if (block.time < prev.time) broken('its time is earlier', `a time at or after ${prev.time}`, block.time);
      else if (block.format < prev.format) broken('a format-1 (unsigned) block follows a signed one', 'a signed guzheng-block/v2 block', 'a format-1 block');
    } else if (expectHeight !== undefined && block.height !== expectHeight) {
      problems.add({ kind: 'block-missing', height: expectHeight, message: `block ${expectHeight} is missing (the chain continues at ${block.height})`, expected: `block ${expectHeight}`, found: `block ${block.height}` }, block.first);
    }
    verifyBatch.push({ json, height: block.height, first: block.first });
    if (verifyBatch.length >= 64) flushVerify();
    if (body !== undefined) {
      for (const s of saved) if (!coverOf.has(s) && body.size >= s.size) coverOf.set(s, { note: block.checkpoint, size: body.size });
      if (body.size > N) {
        if (!truncReported) {
          truncReported = true;
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
      } else if (body.size > lastBlockSize) {
        insert({ size: body.size, root: body.root, kind: 'block', note: block.checkpoint, height: block.height });
      }
      if (body.size > lastBlockSize) lastBlockSize = body.size;
      latest = { height: block.height, size: body.size, root: body.root, note: block.checkpoint };
    }
    prevBlock = block;
    expectHeight = block.height + 1n;
  };

  /** Reads blocks until one beyond `limit` entries has been read (or none are left). */
  const readBlocks = async (limit: bigint) => {
    while (!blocksDone && lastBlockSize <= limit) {
      const next = await blockIt.next();
      if (next.done === true) {
        blocksDone = true;
        break;
      }
      const item = next.value;
      if (item.problem !== undefined) {
        problems.add(item.problem, prevBlock ? prevBlock.first + prevBlock.count : undefined);
        // The link to the previous block cannot be checked across a stream problem.
        prevBlock = undefined;
        expectHeight = undefined;
        if (item.json === undefined) continue;
      }
      processBlock(item.height, item.json, item.tokens ?? [], item.cosignatures ?? []);
    }
    if (blocksDone) await blockIt.return?.();
  };

  // ---- roots --------------------------------------------------------------------------------
  let lastGoodSize = 0n;
  let runBad = false;
  const forks: Array<{ rc: RootCheck; computed: Uint8Array }> = [];
  const evaluate = (rc: RootCheck, computed: Uint8Array) => {
    if (equalBytes(computed, rc.root)) {
      if (rc.kind !== 'saved') {
        lastGoodSize = rc.size;
        runBad = false;
      }
      return;
    }
    if (rc.kind === 'saved') {
      forks.push({ rc, computed });
      return;
    }
    if (runBad) {
      problems.suppressed++; // every later checkpoint differs too
      return;
    }
    runBad = true;
    const what = rc.kind === 'block' ? `block ${rc.height}'s signed checkpoint` : 'the served /checkpoint';
    problems.add(
      {
        kind: 'root-mismatch',
        index: lastGoodSize,
        ...(rc.height !== undefined ? { height: rc.height } : {}),
        message: `${what} (size ${rc.size}) signs a root the entries do not produce: some entry in [${lastGoodSize}, ${rc.size}) differs from what was signed`,
        expected: toHex(computed),
        found: toHex(rc.root),
      },
      // Sorted where it is detected, after anything located more precisely inside its range.
      rc.size - 1n,
    );
  };

  // ---- index fingerprints (local): expected from the chunks, actual from scans on the workers ---
  const expected = { 'digest-index': new Uint8Array(32), 'leaf-index': new Uint8Array(32) };
  const actual = { 'digest-index': new Uint8Array(32), 'leaf-index': new Uint8Array(32) };
  const counted = { 'digest-index': 0n, 'leaf-index': 0n };
  const beyondFound = { 'digest-index': false, 'leaf-index': false };
  const beyond: Partial<Record<IndexKind, Problem>> = {};
  const beyondCount = { 'digest-index': 0, 'leaf-index': 0 };
  const badEntries = new Set<bigint>();
  let badOverflow = false;
  const ranges: IndexRange[] = source.indexRanges?.(suite.digestAlg) ?? [];
  const counting: Array<Promise<{ range: IndexRange; r: CountResult }>> = [];
  const chunksTotal = Number((N + BigInt(CHUNK_SIZE) - 1n) / BigInt(CHUNK_SIZE));
  const countsPerChunk = Math.max(1, Math.ceil(ranges.length / Math.max(1, chunksTotal)));
  const postCounts = (n: number) => {
    for (const range of ranges.splice(0, n)) counting.push(quiet(executor.runCount(range, N).then((r) => ({ range, r }))));
  };

  // ---- replay -------------------------------------------------------------------------------
  const coarse = CompactRange.empty(tree);
  /** Tainted nodes above the chunks (their hash differs from storage, or sits above one that does). */
  const taint = new Map<number, Set<bigint>>();
  const taintAt = (level: number): Set<bigint> => {
    let t = taint.get(level);
    if (t === undefined) taint.set(level, (t = new Set()));
    return t;
  };
  let edge: Uint8Array[] = [];
  let replayed = 0n;
  let nodesCompared = 0;
  let indexLookups = 0;
  let stopped = false;
  let remoteIndex: Promise<void> = Promise.resolve();

  /**
   * The index fingerprints differ: find out where. First look up every expected record (a second
   * pass over the entries, `lookup` mode); then, if that finds no missing record, scan the index
   * for records that name the wrong entry. Records of entries already reported as damaged are
   * expected to differ and are not reported again.
   */
  const locateIndexProblems = async (kinds: readonly IndexKind[]) => {
    const reader = source.local?.reader;
    if (reader === undefined) return;
    const found = new Map<IndexKind, number>(kinds.map((k) => [k, 0]));
    const depth = Math.max(2, executor.workers * 3);
    const queue: Array<Promise<ChunkResult>> = [];
    const take = async () => {
      const r = await (queue.shift() as Promise<ChunkResult>);
      for (const p of r.problems) {
        const kind = p.kind as IndexKind;
        if (!found.has(kind)) continue;
        found.set(kind, (found.get(kind) ?? 0) + 1);
        problems.add(p);
      }
      problems.addUnlisted(Object.fromEntries(Object.entries(r.unlisted).filter(([k]) => found.has(k as IndexKind))));
      indexLookups += r.indexLookups;
    };
    for (let start = 0n; start < replayed; start += BigInt(CHUNK_SIZE)) {
      const count = replayed - start < BigInt(CHUNK_SIZE) ? Number(replayed - start) : CHUNK_SIZE;
      queue.push(quiet(executor.runChunk({ start, count, snapshots: [], indexMode: 'lookup' })));
      if (queue.length >= depth) await take();
    }
    while (queue.length > 0) await take();
    for (const kind of kinds) {
      if ((found.get(kind) ?? 0) > 0 || beyondFound[kind]) continue;
      const wrong = (await reader.locateWrongRecords(kind, tree)).filter((p) => p.index === undefined || !badEntries.has(p.index));
      for (const p of wrong) problems.add(p);
      // With no record missing or wrong, the difference is the records of entries already reported.
      if (wrong.length > 0 || badEntries.size > 0) continue;
      problems.add(
        {
          kind,
          message: `the ${kind === 'digest-index' ? 'digest' : 'leaf-hash'} index holds other records than the entries call for (${counted[kind]} records for ${N} entries)`,
          expected: `${N} records, one per entry`,
          found: `${counted[kind]} records`,
        },
        N,
      );
    }
  };

  const dispatch = async (start: bigint): Promise<InFlight> => {
    const want = N - start < BigInt(CHUNK_SIZE) ? Number(N - start) : CHUNK_SIZE;
    let task: ChunkTask;
    let gap: Problem | undefined;
    if (source.local !== undefined) {
      task = { start, count: want, snapshots: [] };
    } else {
      // Remote: fetch here (entry bundles and hash tiles at once), replay on a worker. Hash
      // tiles hold levels 0, 8, 16, …
      const levels = (n: number) => Array.from({ length: 32 - Math.clz32(n) }, (_, l) => l);
      const [read, tiles] = await Promise.all([
        source.readEntries(start, want),
        Promise.all(levels(want).map((l) => (l % TILE_HEIGHT === 0 ? source.readNodes(l, start >> BigInt(l), want >> l) : Promise.resolve(undefined)))),
      ]);
      const count = read.lengths.length;
      gap = read.gap;
      if (count === 0) return { start, checks: [], ...(gap ? { gap } : {}) };
      // Short of a gap, the stored hashes are for the entries actually read.
      const stored: Array<StoredNodes | undefined> =
        count === want ? tiles : await Promise.all(levels(count).map((l) => (l % TILE_HEIGHT === 0 ? source.readNodes(l, start >> BigInt(l), count >> l) : Promise.resolve(undefined))));
      task = { start, count, snapshots: [], read, stored };
    }
    await readBlocks(start + BigInt(task.count));
    const checks: RootCheck[] = [];
    while (pending.length > 0 && (pending[0] as RootCheck).size <= start + BigInt(task.count)) {
      const rc = pending.shift() as RootCheck;
      if (rc.size === 0n) evaluate(rc, empty);
      else if (rc.size <= start) problems.suppressed++; // out of order: already reported as chain-broken
      else checks.push(rc);
    }
    const snapshots = [...new Set(checks.map((c) => Number(c.size - start)))].sort((a, b) => a - b);
    postCounts(countsPerChunk);
    return { start, result: quiet(executor.runChunk({ ...task, snapshots })), checks, ...(gap ? { gap } : {}) };
  };

  const absorb = async (f: InFlight): Promise<void> => {
    if (f.result === undefined) {
      if (f.gap) problems.add(f.gap);
      stopped = true;
      return;
    }
    const r = await f.result;
    if (r.prints !== undefined) {
      xorInto(expected['digest-index'], r.prints.digest);
      xorInto(expected['leaf-index'], r.prints.leaf);
    }
    for (const b of r.badEntries) {
      if (badEntries.size < MAX_BAD_ENTRIES) badEntries.add(b);
      else badOverflow = true;
    }
    for (const p of r.problems) problems.add(p);
    problems.addUnlisted(r.unlisted);
    problems.suppressed += r.suppressed;
    nodesCompared += r.nodesCompared;
    indexLookups += r.indexLookups;
    // Roots at checkpoint sizes inside this chunk.
    const before = coarse.hashes();
    for (const rc of f.checks) {
      const snap = r.snapshots.find((s) => s.offset === Number(rc.size - f.start));
      if (snap === undefined) {
        insert(rc); // beyond a gap: reported as unreachable at the end
        continue;
      }
      evaluate(rc, foldRight([...before, ...snap.hashes], tree) as Uint8Array);
    }
    if (r.root !== undefined) {
      // Join the chunk root to the range over chunk roots; compare the nodes it completes.
      const created = coarse.append(r.root);
      for (const t of r.topTaint) taintAt(CHUNK_LEVEL).add(t);
      for (const n of created.slice(1)) {
        const level = n.level + CHUNK_LEVEL;
        const kids = taintAt(level - 1);
        const tainted = new Set<bigint>();
        for (const k of [n.index * 2n, n.index * 2n + 1n]) if (kids.delete(k)) tainted.add(k);
        const stored = await source.readNodes(level, n.index, 1);
        if (stored !== undefined) nodesCompared++;
        if (compareLevel(level, n.index, n.hash, stored, tainted, problems).size > 0) taintAt(level).add(n.index);
      }
      edge = [];
    } else {
      edge = r.edge;
    }
    replayed = f.start + BigInt(r.count);
    if (r.indexItems !== undefined && r.indexItems.length > 0) {
      const items = r.indexItems;
      await remoteIndex;
      remoteIndex = quiet(
        source.checkIndexes(items).then((res) => {
          indexLookups += res.lookups;
          for (const p of res.problems) problems.add(p);
        }),
      );
    }
    if (r.gap !== undefined || f.gap !== undefined) {
      problems.add((r.gap ?? f.gap) as Problem);
      stopped = true;
    }
    await drainVerify(4);
    const elapsedMs = performance.now() - t0;
    options.onProgress?.({ done: replayed, total: N, elapsedMs, rate: elapsedMs > 0 ? Number(replayed) / (elapsedMs / 1000) : 0 });
  };

  let finalRoot: Uint8Array;
  try {
    const depth = Math.max(2, executor.workers * 3);
    const inflight: InFlight[] = [];
    let nextStart = 0n;
    await readBlocks(0n);
    while (pending.length > 0 && (pending[0] as RootCheck).size === 0n) evaluate(pending.shift() as RootCheck, empty);
    for (;;) {
      while (!stopped && inflight.length < depth && nextStart < N) {
        const f = await dispatch(nextStart);
        inflight.push(f);
        nextStart = f.gap !== undefined ? N : nextStart + BigInt(CHUNK_SIZE);
      }
      const f = inflight.shift();
      if (f === undefined) break;
      await absorb(f);
      if (stopped) {
        // An entry is missing: nothing after it can be replayed. Let in-flight work finish, drop it.
        await Promise.allSettled(inflight.map((x) => x.result ?? Promise.resolve()));
        inflight.length = 0;
      }
    }
    await remoteIndex;
    finalRoot = foldRight([...coarse.hashes(), ...edge], tree) ?? empty;
    await readBlocks(1n << 64n);
    flushVerify();
    await drainVerify(0);
    postCounts(ranges.length);
    for (const { range, r } of await Promise.all(counting)) {
      counted[range.kind] += r.count;
      xorInto(actual[range.kind], r.print);
      for (const p of r.beyond) {
        beyondFound[range.kind] = true;
        const firstSoFar = beyond[range.kind];
        if (firstSoFar === undefined || (p.index ?? 0n) < (firstSoFar.index ?? 0n)) beyond[range.kind] = p;
        beyondCount[range.kind]++;
      }
    }
    // Records naming entries beyond the size: list the first of each index, count the rest.
    for (const kind of ['digest-index', 'leaf-index'] as const) {
      const p = beyond[kind];
      if (p === undefined) continue;
      const more = beyondCount[kind] - 1;
      problems.add(more > 0 ? { ...p, message: `${p.message} (and ${more} more such record${more === 1 ? '' : 's'})` } : p);
      if (more > 0) problems.addUnlisted({ [kind]: more });
    }
    if (badOverflow) warn(`more than ${MAX_BAD_ENTRIES} damaged entries: index findings about some of them may be listed too`);
    if (source.local !== undefined && !stopped) {
      const differ = (['digest-index', 'leaf-index'] as const).filter((k) => !equalBytes(expected[k], actual[k]));
      if (differ.length > 0) await locateIndexProblems(differ);
    }
  } finally {
    await executor.close();
  }

  // Root checks the replay never reached.
  let unreachable = 0;
  for (const rc of pending) {
    if (rc.kind === 'saved' && rc.size > N) {
      problems.add({
        kind: 'truncated',
        index: N,
        message: `saved checkpoint ${rc.label} covers ${rc.size} entries but the log now holds only ${N}`,
        expected: `at least ${rc.size} entries`,
        found: `${N} entries`,
      });
    } else if (rc.size > replayed) {
      unreachable++;
      problems.suppressed++;
    }
  }
  if (unreachable > 0) warn(`${unreachable} checkpoint root(s) beyond entry ${replayed} could not be checked: the replay stopped there`);

  // Forks: a saved checkpoint the replayed history contradicts. Gather the evidence.
  for (const { rc, computed } of forks) {
    const cover = coverOf.get(rc);
    let evidence: FraudProof | undefined;
    if (cover !== undefined && rc.saved !== undefined) {
      try {
        const contradicting = openCheckpoint(cover.note, verifier);
        let proof: Uint8Array[] = [];
        if (cover.size > rc.size) {
          try {
            proof = await source.consistencyProof(rc.size, cover.size, tree);
          } catch {
            proof = [];
          }
        }
        evidence = buildFraudProof(rc.saved, contradicting, proof, { verifierKey: verifier.text, source: source.description, detectedAt: formatReceivedAt(clock()) });
        if (evidence === undefined) {
          // The log's signed history agrees with the saved checkpoint: its entries were changed instead.
          problems.add(
            {
              kind: 'root-mismatch',
              message: `saved checkpoint ${rc.label} (size ${rc.size}) is consistent with the log's signed checkpoints, but the stored entries do not reproduce its root`,
              expected: toHex(rc.root),
              found: toHex(computed),
            },
            rc.size,
          );
          continue;
        }
      } catch {
        evidence = undefined;
      }
    }
    problems.add(
      {
        kind: 'fork',
        message: `saved checkpoint ${rc.label} (size ${rc.size}) contradicts the log: its history before entry ${rc.size} was rewritten${cover ? ` (the log's signed checkpoint of size ${cover.size} does not extend it)` : ''}`,
        expected: toHex(rc.root),
        found: toHex(computed),
        ...(evidence ? { evidence } : {}),
      },
      rc.size,
    );
  }

  // Blocks and size.
  if (blocksSeen === 0n) {
    problems.add({ kind: 'block-missing', height: 0n, message: 'no blocks: a log seals a genesis block when it is created' }, 0n);
  } else if (source.live && latest !== undefined && latest.size < N) {
    problems.add({ kind: 'block-missing', height: latest.height + 1n, message: `no block seals the served checkpoint of size ${N} (the last block covers ${latest.size})` }, N);
  }
  const unsealed = !source.live && latest !== undefined && latest.size < N ? N - latest.size : 0n;
  // Things stored beyond the size sort after the size itself.
  for (const p of await source.finish(N, replayed)) problems.add(p, p.kind === 'node-extra' ? N + 1n : undefined);
  const timeResult = await time.finish();
  for (const p of timeResult.problems) problems.add(p, undefined);
  const witnessResult = witnessAudit?.finish();
  for (const p of witnessResult?.problems ?? []) problems.add(p, undefined);

  const elapsedMs = performance.now() - t0;
  const list = problems.sorted();
  return {
    ok: problems.count === 0,
    source: source.description,
    origin: verifier.name,
    verifierKey: verifier.text,
    suite: suite.id,
    size: replayed,
    root: finalRoot,
    claimedSize: N,
    checkpoints: blocksSeen,
    ...(latest ? { latest: { height: latest.height, size: latest.size, root: latest.root } } : {}),
    savedCheckpoints: saved.length,
    unsealed,
    time: timeResult.report,
    ...(witnessResult ? { witnesses: witnessResult.report } : {}),
    problems: list.slice(0, options.maxProblems ?? 20),
    problemCount: problems.count,
    counts: problems.counts,
    suppressed: problems.suppressed,
    warnings,
    stats: {
      elapsedMs: Math.round(elapsedMs),
      entriesPerSecond: elapsedMs > 0 ? Math.round(Number(replayed) / (elapsedMs / 1000)) : 0,
      nodesCompared,
      indexLookups,
      workers: executor.workers,
    },
  };
}
