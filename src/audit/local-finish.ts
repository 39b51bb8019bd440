/**
 * What a local audit checks once the replay is done (local.ts `finish`): nothing is stored beyond
 * the log's size in layout 2 (contracts-free-ledger/SPEC.md#layout-2, docs/storage-v2.md): no
 * whole entry bundle or digest bundle but the complete ones, no piece of either but of the partial
 * bundle below the size, no attachment past the size, no tile, tile piece or tile slot past the
 * tree (local-tiles.ts), and runs that cover a prefix of the entries exactly (local-runs-finish.ts).
 */
import { MAX_UINT64 } from '../core/bytes.js';
import { PREFIX, indexOfKey, indexRange, prefixRange } from '../storage/keys.js';
import { BUNDLE, PREFIX2 } from '../storage/layout2.js';
import type { Db } from './local-db.js';
import { finishRuns } from './local-runs-finish.js';
import type { IndexKind, RunInfo } from './local-runs.js';
import { finishTiles } from './local-tiles.js';
import type { Problem } from './report.js';

/** The first key of the family `family ‖ u64be(n)` with n ≥ from, as n. */
async function after(db: Db, family: Uint8Array, from: bigint): Promise<bigint | undefined> {
  const [k] = await db.keys({ ...indexRange(family, from, MAX_UINT64 + 1n), limit: 1 }).all();
  return k === undefined || k.length !== family.length + 8 ? undefined : indexOfKey(k);
}

/** finishLocal runs the checks above for a store of `size` entries whose index runs are `runs`. */
export async function finishLocal(db: Db, size: bigint, runs: Readonly<Record<IndexKind, readonly RunInfo[]>>): Promise<Problem[]> {
  const problems: Problem[] = [];
  const B = BigInt(BUNDLE);
  const bundles = size / B; // complete bundles; the partial one is stored as pieces
  const extraBundle = await after(db, Uint8Array.of(PREFIX2.bundle), bundles);
  if (extraBundle !== undefined) {
    const index = extraBundle * B;
    problems.push({ kind: 'entry-extra', index, message: `entry bundle ${extraBundle} (entries from ${index}) is stored whole, but a log of ${size} entries has ${bundles} complete bundles (was the size rewritten to hide entries?)`, expected: `no entry bundle at or after ${bundles}`, found: `entry bundle ${extraBundle}` });
  }
  const extraDigests = await after(db, Uint8Array.of(PREFIX2.digests), bundles);
  if (extraDigests !== undefined) {
    const index = extraDigests * B;
    problems.push({ kind: 'digest-index', index, message: `digest bundle ${extraDigests} (entries from ${index}) is stored whole, but a log of ${size} entries has ${bundles} complete bundles`, expected: `no digest bundle at or after ${bundles}`, found: `digest bundle ${extraDigests}` });
  }
  // Pieces belong to the partial bundle only: [bundles·256, size). Those inside its 256 entries
  // are judged as it is read (local-entries.ts); here those below it and past it.
  const past = size % B === 0n ? size : (bundles + 1n) * B;
  for (const [family, kind, what] of [[PREFIX2.bundlePiece, 'entry-extra', 'entries'], [PREFIX2.digestPiece, 'digest-index', 'digests']] as const) {
    const prefix = Uint8Array.of(family);
    const below = await db.keys({ ...indexRange(prefix, 0n, bundles * B), limit: 1 }).all();
    const beyond = await after(db, prefix, past);
    for (const start of [below[0] === undefined || below[0].length !== 9 ? undefined : indexOfKey(below[0]), beyond]) {
      if (start === undefined) continue;
      problems.push({ kind, index: start, message: `a piece of ${what} from entry ${start} is stored, but only the partial bundle [${bundles * B}, ${size}) is stored as pieces`, expected: `pieces from entries in [${bundles * B}, ${size})`, found: `a piece from entry ${start}` });
    }
  }
  const extraAttachment = await after(db, PREFIX.attachment, size);
  if (extraAttachment !== undefined) {
    problems.push({ kind: 'attachment', index: extraAttachment, message: `an attachment is stored for entry ${extraAttachment}, beyond the stored size ${size}` });
  }
  problems.push(...(await finishTiles(db, size)));
  for (const kind of ['digest-index', 'leaf-index'] as const) problems.push(...(await finishRuns(db, kind, runs[kind], size)));
  return problems;
}

/**
 * layoutOneLeftovers returns a note for each layout-1 key family still holding keys in a layout-2
 * store (`e`, `n`, `l`, `d`): layout 2 neither writes nor reads them, so the audit ignores them.
 */
export async function layoutOneLeftovers(db: Db): Promise<string[]> {
  const out: string[] = [];
  for (const [name, family] of [['entries (e)', PREFIX.entry], ['tree nodes (n)', PREFIX.node], ['leaf-hash index (l)', PREFIX.leafHash], ['digest index (d)', PREFIX.digest]] as const) {
    const [k] = await db.keys({ ...prefixRange(family), limit: 1 }).all();
    if (k !== undefined) out.push(`layout-1 keys remain in this layout-2 store: ${name}; the audit does not read them`);
  }
  return out;
}
