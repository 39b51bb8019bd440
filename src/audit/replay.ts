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
 *    The blocks are read and linked in replay-blocks.ts; the roots are compared here.
 * 4. The digest and leaf-hash indexes must list every entry (and, locally, nothing else: the
 *    fingerprints of replay-index.ts), and nothing may be stored beyond the log's size.
 *
 * Every hash is the log's crypto suite's, taken once from the pinned key (SPEC.md#crypto-suites):
 * SHA-256 for a `c2sp` log, SM3 for a `gm` log (leaves, nodes, the empty root, block hashes,
 * attachment digests and time-stamp imprints); the stored data never chooses it.
 *
 * Memory is constant in the log size: a few chunks in flight, the right edge, the blocks of a
 * few chunks, and a bounded list of problems. See docs/audit.md.
 */
import { randomBytes } from 'node:crypto';
import { TimeAudit } from './timestamps.js';
import { WitnessAudit } from './witnessed.js';
import type { Policy } from '../core/policy.js';
import { equalBytes, toHex } from '../core/bytes.js';
import { openCheckpoint, type OpenedCheckpoint } from '../core/checkpoint.js';
import { formatReceivedAt } from '../core/entry/text.js';
import { CompactRange, foldRight } from '../core/merkle/compact.js';
import { parseVerifierKey, type VerifierKey } from '../core/note.js';
import { suiteOfKey, type CryptoSuite } from '../core/suite.js';
import { TILE_HEIGHT } from '../core/tiles.js';
import { installNodeCrypto } from '../platform/node-crypto.js';
import { CHUNK_LEVEL, CHUNK_SIZE, PRINT_SECRET_SIZE, compareLevel, type ChunkResult, type ChunkTask } from './chunk.js';
import { buildFraudProof, type FraudProof } from './fraud.js';
import { createExecutor, defaultWorkers, quiet, type Executor } from './pool.js';
import { ProblemList } from './problem-list.js';
import type { StoredNodes } from './reads.js';
import { BlockWalk, type RootCheck } from './replay-blocks.js';
import { IndexPrints } from './replay-index.js';
import type { AuditReport, Problem } from './report.js';
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

/** Below this many entries, worker threads cost more to start than they save. */
const INLINE_BELOW = 32_768n;
interface InFlight {
  readonly start: bigint;
  /** Undefined when no entry could be read (then `gap` says why). */
  readonly result?: Promise<ChunkResult>;
  readonly checks: RootCheck[];
  readonly gap?: Problem;
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
  const time = new TimeAudit(options.tsaRoots ?? [], verifier);
  const witnessAudit = options.policy === undefined ? undefined : new WitnessAudit(options.policy, verifier);
  const blocks = new BlockWalk({ source, size: N, suite, executor, problems, time, ...(witnessAudit ? { witnesses: witnessAudit } : {}), saved, insert });

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
  const indexes = new IndexPrints(source, suite, N, executor, problems);

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

  const dispatch = async (start: bigint): Promise<InFlight> => {
    const want = N - start < BigInt(CHUNK_SIZE) ? Number(N - start) : CHUNK_SIZE;
    let task: ChunkTask;
    let gap: Problem | undefined;
    if (source.local !== undefined) {
      const indexedTo = source.local.reader.indexedTo;
      task = { start, count: want, snapshots: [], ...(indexedTo !== undefined ? { indexedTo } : {}) };
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
    await blocks.read(start + BigInt(task.count));
    const checks: RootCheck[] = [];
    while (pending.length > 0 && (pending[0] as RootCheck).size <= start + BigInt(task.count)) {
      const rc = pending.shift() as RootCheck;
      if (rc.size === 0n) evaluate(rc, empty);
      else if (rc.size <= start) problems.suppressed++; // out of order: already reported as chain-broken
      else checks.push(rc);
    }
    const snapshots = [...new Set(checks.map((c) => Number(c.size - start)))].sort((a, b) => a - b);
    indexes.post();
    return { start, result: quiet(executor.runChunk({ ...task, snapshots })), checks, ...(gap ? { gap } : {}) };
  };

  const absorb = async (f: InFlight): Promise<void> => {
    if (f.result === undefined) {
      if (f.gap) problems.add(f.gap);
      stopped = true;
      return;
    }
    const r = await f.result;
    indexes.absorb(r);
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
    await blocks.drain(4);
    const elapsedMs = performance.now() - t0;
    options.onProgress?.({ done: replayed, total: N, elapsedMs, rate: elapsedMs > 0 ? Number(replayed) / (elapsedMs / 1000) : 0 });
  };

  let finalRoot: Uint8Array;
  try {
    const depth = Math.max(2, executor.workers * 3);
    const inflight: InFlight[] = [];
    let nextStart = 0n;
    await blocks.read(0n);
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
    await blocks.read(1n << 64n);
    blocks.flush();
    await blocks.drain(0);
    await indexes.settle(warn);
    if (source.local !== undefined && !stopped) {
      const differ = indexes.differing();
      if (differ.length > 0) indexLookups += await indexes.locate(differ, replayed);
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
    const cover = blocks.coverOf.get(rc);
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
  const latest = blocks.latest;
  if (blocks.seen === 0n) {
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
    checkpoints: blocks.seen,
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
