/**
 * Fault injection for the crash campaign (scripts/crash-campaign.ts), loaded into a `guzheng serve`
 * child process with `node --import tsx --import <this file>`. Nothing in src/ knows about it.
 *
 * `GUZHENG_FAILPOINT=<write>:<when>:<n>` makes the process SIGKILL itself on the n-th (1-based)
 * LevelDB write of one kind since start (`index:<when>:<n>:<step>`: of one step of that kind):
 *
 * - `<write>`: `flush`, a group-commit flush of the sequencer (LevelStore.appendBatch, the only
 *   chained batch), `block`, sealing a signed checkpoint in a block (LevelStore.appendBlock: the
 *   array batch that puts the block count; other array batches, such as the record tables the
 *   mirror keeps its progress in, are not counted): the checkpoint has just been signed and is not
 *   yet durable; or `index`, a write of the lazy index path (src/storage/lazy-index.ts,
 *   run-index.ts): an array batch whose keys all start with `i` (0x69), all unsynced (the flush's
 *   chained batch holds no index record). They are the `run-write` that puts a run per index for
 *   the acknowledged entries waiting in memory (every 200 ms, or 8,192 entries, after a flush), and
 *   the background merges of 8 runs of a level, about 19 writes per index: the in-flight marker
 *   (`merge-start`, with the first 512 pages), the rest of its pages (`merge-pages`, 512 per batch),
 *   the `swap` (new manifest in, inputs and their pages out, marker off; for inputs of more than
 *   65,536 pages, inputs marked instead), then per marked input its pages deleted (`clear-pages`) and its
 *   garbage mark off (`clear-mark`); at open, the clearing of a merge cut short (`clear-pages`,
 *   then `recovery`: its marker off). Unsynced, so `after` means written to LevelDB's log, not
 *   fsynced. The line the process prints as it fires names the step and how many merges it
 *   swapped in while counting. A fourth field counts only the writes of one step:
 *   `index:lost:3:run-write` loses the third run write (its entries were acknowledged, and are
 *   then in no run);
 * - `<when>`: `before` the write reaches LevelDB, `during` it (the native write and its fsync are
 *   in flight on the thread pool; the kill comes at once, on the next turn of the event loop, or
 *   up to 3 ms later, at random), `after` it is durable but before the caller learns so (no
 *   acknowledgement, no published checkpoint), or `lost`: the write never reaches LevelDB nor
 *   resolves, and the process dies 20–150 ms later, as if the power failed with the write still in
 *   a volatile cache. Anything the server claims durable in that time is a lie that the
 *   campaign's checks catch.
 *
 * With `GUZHENG_FAILPOINT_ARM=signal` the writes are counted only from the first SIGUSR2 the
 * process gets: the campaign sends it once it has checked the restarted server, since index
 * writes (the runs of the entries a crash left out of them, merges of the levels already full)
 * come without any submission and would otherwise kill the server in the middle of that check.
 *
 * A SIGKILL of the process by itself is the same as one from outside: no handler runs, nothing is
 * flushed, and the kernel keeps only what was written.
 */
import { Level } from 'level';

/** The stored block count's key (src/storage/keys.ts BLOCK_COUNT_KEY), which every block write puts. */
const BLOCK_COUNT = new TextEncoder().encode('s:blocks');

function isBlockCountKey(key: unknown): boolean {
  if (typeof key === 'string') return key === 's:blocks';
  if (!(key instanceof Uint8Array) || key.length !== BLOCK_COUNT.length) return false;
  return key.every((b, i) => b === BLOCK_COUNT[i]);
}

/** One op of an array batch, as LevelDB's `_batch` receives it (keys already encoded). */
interface BatchOp {
  readonly type?: unknown;
  readonly key?: unknown;
}

/** Run-index keys (src/storage/run-index.ts): `i` ‖ index id ‖ kind, kind one of these. */
const RUN_FAMILY = 0x69;
const RUN_KIND = { manifest: 0x6d, page: 0x70, merging: 0x77, garbage: 0x67 } as const;

function batchOps(args: unknown[]): BatchOp[] | undefined {
  return Array.isArray(args[0]) ? (args[0] as BatchOp[]) : undefined;
}

/** isIndexWrite tells an array batch of the run-index path: every key starts with `i`. */
function isIndexWrite(args: unknown[]): boolean {
  const ops = batchOps(args);
  return ops !== undefined && ops.length > 0 && ops.every((op) => op.key instanceof Uint8Array && op.key.length >= 3 && op.key[0] === RUN_FAMILY);
}

/**
 * indexStep names the step of a run-index write: `run-write` (new level-0 runs of entries that
 * waited in memory), `merge-start` (the in-flight marker, with the merged run's first 512 pages),
 * `merge-pages` (a later batch of the merged run's pages), `swap` (the merged run in, its inputs out), `clear-pages` (a replaced or orphaned
 * run's pages deleted), `clear-mark` (a garbage mark off) or `recovery` (the marker of a merge cut
 * short taken off at open).
 */
function indexStep(ops: readonly BatchOp[]): string {
  const kinds = (type: string): Set<number> => new Set(ops.filter((op) => op.type === type).map((op) => (op.key as Uint8Array)[2] as number));
  const puts = kinds('put');
  const dels = kinds('del');
  if (puts.has(RUN_KIND.manifest)) return dels.size > 0 ? 'swap' : 'run-write';
  if (puts.has(RUN_KIND.merging)) return 'merge-start';
  if (puts.has(RUN_KIND.page)) return 'merge-pages';
  if (dels.has(RUN_KIND.page)) return 'clear-pages';
  if (dels.has(RUN_KIND.garbage)) return 'clear-mark';
  if (dels.has(RUN_KIND.merging)) return 'recovery';
  return 'other';
}

type AsyncFn = (this: unknown, ...args: unknown[]) => Promise<unknown>;
type Write = 'flush' | 'block' | 'index';

const spec = process.env.GUZHENG_FAILPOINT;
if (spec !== undefined && spec !== '') {
  const m = /^(?:(flush|block):(before|during|after|lost):([1-9][0-9]*)|(index):(before|during|after|lost):([1-9][0-9]*)(?::(run-write|merge-start|merge-pages|swap|clear-pages|clear-mark|recovery))?)$/.exec(spec);
  if (m === null) throw new Error(`GUZHENG_FAILPOINT=${spec}: want flush|block:before|during|after|lost:<n>, or index:before|during|after|lost:<n>[:<step>]`);
  const write = (m[1] ?? m[4]) as Write;
  const when = (m[2] ?? m[5]) as 'before' | 'during' | 'after' | 'lost';
  const n = Number(m[3] ?? m[6]);
  const only = m[7];
  let calls = 0;
  /** Merges this process swapped in (index writes only), reported when the failpoint fires. */
  let swaps = 0;
  const arm = process.env.GUZHENG_FAILPOINT_ARM ?? '';
  if (arm !== '' && arm !== 'signal') throw new Error(`GUZHENG_FAILPOINT_ARM=${arm}: want signal, or nothing`);
  let armed = arm === '';
  if (!armed) process.once('SIGUSR2', () => (armed = true));
  const die = (): void => {
    process.kill(process.pid, 'SIGKILL');
  };
  const wrap = (original: AsyncFn, counts: (args: unknown[]) => boolean = () => true, describe: (args: unknown[]) => string = () => ''): AsyncFn =>
    async function (this: unknown, ...args: unknown[]): Promise<unknown> {
      if (!armed || !counts(args)) return original.apply(this, args);
      calls++;
      if (calls !== n) return original.apply(this, args);
      // The campaign looks for this line (`failpoint <spec>: SIGKILL`) to count the failpoints that fired.
      process.stderr.write(`failpoint ${spec}: SIGKILL${describe(args)}\n`);
      if (when === 'before') {
        die();
        return new Promise<never>(() => {});
      }
      if (when === 'lost') {
        setTimeout(die, 20 + Math.random() * 130);
        return new Promise<never>(() => {});
      }
      if (when === 'during') {
        const pending = original.apply(this, args);
        const pick = Math.floor(Math.random() * 3);
        if (pick === 0) die();
        else if (pick === 1) setImmediate(die);
        else setTimeout(die, Math.random() * 3);
        return pending;
      }
      await original.apply(this, args);
      die();
      return new Promise<never>(() => {});
    };
  const proto = Level.prototype as unknown as { _chainedBatch(): { _write: AsyncFn }; _batch: AsyncFn };
  if (write === 'flush') {
    const chained = proto._chainedBatch;
    proto._chainedBatch = function (this: unknown) {
      const batch = chained.call(this);
      batch._write = wrap(batch._write);
      return batch;
    };
  } else if (write === 'block') {
    // Only the block writes: other array batches (the record tables, e.g. the mirror's progress
    // after each pass) are not what `block` names.
    proto._batch = wrap(proto._batch, (args) => (batchOps(args) ?? []).some((op) => isBlockCountKey(op.key)));
  } else {
    const counts = (args: unknown[]): boolean => {
      if (!isIndexWrite(args)) return false;
      const step = indexStep(batchOps(args) ?? []);
      const counted = only === undefined || step === only;
      // Counted as the write is issued: a swap that is the failpoint's own write is not one before it.
      if (step === 'swap' && !(counted && calls + 1 === n)) swaps++;
      return counted;
    };
    proto._batch = wrap(proto._batch, counts, (args) => ` at ${indexStep(batchOps(args) ?? [])} (index write ${n}${only === undefined ? '' : ` of that step`}; ${swaps} merge${swaps === 1 ? '' : 's'} swapped in before)`);
  }
}
