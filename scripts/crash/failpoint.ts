/**
 * Fault injection for the crash campaign (scripts/crash-campaign.ts), loaded into a `guzheng serve`
 * child process with `node --import tsx --import <this file>`. Nothing in src/ knows about it.
 *
 * `GUZHENG_FAILPOINT=<write>:<when>:<n>` makes the process SIGKILL itself on the n-th (1-based)
 * LevelDB write of one kind since start:
 *
 * - `<write>`: `flush`, a group-commit flush of the sequencer (LevelStore.appendBatch, the only
 *   chained batch), or `block`, sealing a signed checkpoint in a block (LevelStore.appendBlock: the
 *   array batch that puts the block count; other array batches, such as the record tables the
 *   mirror keeps its progress in, are not counted): the checkpoint has just been signed and is not
 *   yet durable;
 * - `<when>`: `before` the write reaches LevelDB, `during` it (the native write and its fsync are
 *   in flight on the thread pool; the kill comes at once, on the next turn of the event loop, or
 *   up to 3 ms later, at random), `after` it is durable but before the caller learns so (no
 *   acknowledgement, no published checkpoint), or `lost`: the write never reaches LevelDB nor
 *   resolves, and the process dies 20–150 ms later, as if the power failed with the write still in
 *   a volatile cache. Anything the server claims durable in that time is a lie that the
 *   campaign's checks catch.
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

type AsyncFn = (this: unknown, ...args: unknown[]) => Promise<unknown>;

const spec = process.env.GUZHENG_FAILPOINT;
if (spec !== undefined && spec !== '') {
  const m = /^(flush|block):(before|during|after|lost):([1-9][0-9]*)$/.exec(spec);
  if (m === null) throw new Error(`GUZHENG_FAILPOINT=${spec}: want flush|block:before|during|after|lost:<n>`);
  const [, write, when, nth] = m as unknown as [string, 'flush' | 'block', 'before' | 'during' | 'after' | 'lost', string];
  const n = Number(nth);
  let calls = 0;
  const die = (): void => {
    process.kill(process.pid, 'SIGKILL');
  };
  const wrap = (original: AsyncFn, counts: (args: unknown[]) => boolean = () => true): AsyncFn =>
    async function (this: unknown, ...args: unknown[]): Promise<unknown> {
      if (!counts(args)) return original.apply(this, args);
      calls++;
      if (calls !== n) return original.apply(this, args);
      process.stderr.write(`failpoint ${spec}: SIGKILL\n`);
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
  } else {
    // Only the block writes: other array batches (the record tables, e.g. the mirror's progress
    // after each pass) are not what `block` names.
    proto._batch = wrap(proto._batch, (args) => Array.isArray(args[0]) && (args[0] as Array<{ key?: unknown }>).some((op) => isBlockCountKey(op.key)));
  }
}
