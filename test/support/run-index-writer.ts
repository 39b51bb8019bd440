/**
 * A LevelStore writer for test/storage/run-index-crash.test.ts, run in a child process
 * (`node --import tsx test/support/run-index-writer.ts <dir> <seed> <max entries>`) so that the
 * test can SIGKILL it while the run indexes merge in the background (src/storage/run-index.ts).
 *
 * It opens the store in `dir`, continues its log from the stored size, and appends many small
 * flushes (1 to 6 entries each) of the deterministic entries {@link writerEntry} until the log
 * holds `max` entries, then closes the store and prints `done`. The store keeps acknowledged
 * entries in memory and writes their index runs unsynced every 200 ms (lazy-index.ts); so that
 * runs and merges come often, every 2 to 8 flushes the writer asks for that write at once
 * (indexesIdle, not awaited: the flushes go on meanwhile). When level 0 of the leaf-hash index
 * holds 16 runs (twice the fan-in) it waits for the merger to catch up: merge writes queue behind
 * the fsynced flushes in LevelDB's one write queue, so a writer flushing back to back outruns the
 * merger, whose level 0 then grows and whose level-1 merges never come. On stdout, one line per event,
 * written synchronously (stdout is a pipe: synchronous on Linux), so a line the parent has read
 * happened before the kill:
 *
 * - `acked <size>` once appendBatch resolved (the flush is durable: acknowledged);
 * - `index-write <n>` as the n-th write of the run indexes is issued (an array batch whose keys
 *   all start with `i`: merges, and the clearing of a merge cut short at open), before it reaches
 *   LevelDB.
 */
import { pathToFileURL } from 'node:url';
import { Level } from 'level';
import { toHex, utf8 } from '../../src/core/bytes.js';
import { sha256 } from '../../src/core/crypto.js';
import { CompactRange, rightEdge } from '../../src/core/merkle/compact.js';
import { hashLeaf } from '../../src/core/merkle/hash.js';
import type { NodeHash } from '../../src/core/merkle/node.js';
import { installNodeCrypto } from '../../src/platform/node-crypto.js';
import { LevelStore } from '../../src/storage/level.js';
import { FAN_IN } from '../../src/storage/run-index.js';

/** writerEntry returns entry `index`'s bytes, its leaf hash and its content digest (SHA-256 of the bytes, hex). */
export function writerEntry(index: bigint): { data: Uint8Array; leafHash: Uint8Array; digestHex: string } {
  const data = utf8(`run-index-crash entry ${index}`);
  return { data, leafHash: hashLeaf(data), digestHex: toHex(sha256(data)) };
}

type AsyncFn = (this: unknown, ...args: unknown[]) => Promise<unknown>;

async function main(argv: readonly string[]): Promise<void> {
  const [dir, seedArg, maxArg] = argv;
  if (dir === undefined || seedArg === undefined || maxArg === undefined) throw new Error('usage: run-index-writer.ts <dir> <seed> <max entries>');
  installNodeCrypto();
  const say = (line: string): void => {
    process.stdout.write(line + '\n');
  };
  // Report the run-index writes as they are issued (the flush's own batch is a chained one, not seen here).
  const proto = Level.prototype as unknown as { _batch: AsyncFn };
  const batch = proto._batch;
  let indexWrites = 0;
  proto._batch = function (this: unknown, ...args: unknown[]): Promise<unknown> {
    const ops = Array.isArray(args[0]) ? (args[0] as ReadonlyArray<{ readonly type?: unknown; readonly key?: unknown }>) : [];
    if (ops.length > 0 && ops.every((op) => op.key instanceof Uint8Array && op.key[0] === 0x69)) {
      // A merge's swap deletes its marker (`i ‖ id ‖ w`): killed before it lands, the merge is cut short.
      const swap = ops.some((op) => op.type === 'del' && op.key instanceof Uint8Array && op.key.length === 3 && op.key[2] === 0x77);
      say(`index-write ${++indexWrites}${swap ? ' swap' : ''}`);
    }
    return batch.apply(this, args);
  };
  let seed = Number(seedArg) >>> 0 || 1;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const max = BigInt(maxArg);
  const store = await LevelStore.open(dir);
  const size = await store.getSize();
  const range = size === 0n ? CompactRange.empty() : CompactRange.fromRightEdge(size, await store.readNodes(rightEdge(size)));
  let nudge = 2 + rand(7);
  while (range.size < max) {
    const first = range.size;
    const count = BigInt(1 + rand(6));
    const entries: Uint8Array[] = [];
    const leafHashes: Uint8Array[] = [];
    const nodes: NodeHash[] = [];
    const digests: Array<{ alg: string; hex: string; index: bigint }> = [];
    for (let index = first; index < first + count && index < max; index++) {
      const e = writerEntry(index);
      entries.push(e.data);
      leafHashes.push(e.leafHash);
      range.appendTo(e.leafHash, nodes);
      digests.push({ alg: 'sha256', hex: e.digestHex, index });
    }
    await store.appendBatch({ first, entries, leafHashes, nodes, digests, attachments: [] });
    say(`acked ${range.size}`);
    if ((store.indexState.leafShape[0] ?? 0) >= 2 * FAN_IN) await store.indexesIdle();
    else if (--nudge === 0) {
      nudge = 2 + rand(7);
      void store.indexesIdle();
    }
  }
  await store.close();
  say('done');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2));
