/**
 * Start-up recovery (DESIGN.md §3): re-derive the right edge of the tree from storage and check
 * it against the last signed checkpoint before anything new is signed. The log refuses to start
 * when storage and its own signature disagree: signing on top of a store that lost or changed
 * acknowledged entries would fork the log.
 *
 * The store's own last block cannot reveal a store that was deleted, replaced or rolled back as a
 * whole: it is then consistent with itself. So the service also keeps the latest checkpoint it
 * signed OUTSIDE the store (`<data>/checkpoint`, see src/server.ts) and passes it here as `known`:
 * storage must hold a tree that extends it.
 */
import { toHex } from '../core/bytes.js';
import { parseBlock, verifyBlock, type Block } from '../core/block.js';
import { openCheckpoint, type OpenedCheckpoint } from '../core/checkpoint.js';
import { equalBytes } from '../core/bytes.js';
import { isLedgerError } from '../core/errors.js';
import { CompactRange, rightEdge } from '../core/merkle/compact.js';
import type { TreeHasher } from '../core/merkle/hash.js';
import type { VerifierKey } from '../core/note.js';
import { suiteOfKey } from '../core/suite.js';
import type { LedgerStore } from '../storage/store.js';

/** Start-up refused: the message says what is wrong and what to do. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** The latest checkpoint the log is known to have signed, kept outside the store. */
export interface KnownCheckpoint {
  /** The signed note. */
  readonly note: string;
  /** Where it was kept, for messages (e.g. the file). */
  readonly source: string;
}

/** What recovery established. */
export interface Recovered {
  readonly range: CompactRange;
  readonly lastBlock?: Block;
  readonly lastCheckpoint?: OpenedCheckpoint;
}

/**
 * rootAt computes the root of the stored tree at `size` from its stored right-edge nodes, hashed
 * with `tree`, the log's suite's tree hashing (SPEC.md#crypto-suites). Required, not defaulted:
 * a gm log's root folded with SHA-256 would never match its checkpoints.
 */
export async function rootAt(store: LedgerStore, size: bigint, tree: TreeHasher): Promise<Uint8Array> {
  return CompactRange.fromRightEdge(size, await store.readNodes(rightEdge(size)), tree).root();
}

/**
 * recover rebuilds the compact range and checks it against the last block. Throws
 * {@link StartupError} if the last block is not signed by `verifier`, is for another origin, or
 * covers entries or a root the store does not have.
 */
export async function recover(store: LedgerStore, verifier: VerifierKey, known?: KnownCheckpoint): Promise<Recovered> {
  // The tree is hashed with the suite of the log's key (SPEC.md#crypto-suites); the range keeps
  // it, so the sequencer extends the tree with the same hash.
  const tree = suiteOfKey(verifier).tree;
  const size = await store.getSize();
  let range: CompactRange;
  try {
    range = CompactRange.fromRightEdge(size, await store.readNodes(rightEdge(size)), tree);
  } catch (err) {
    throw new StartupError(`storage is damaged: cannot read the tree's right edge at size ${size} (${(err as Error).message}); run "guzheng audit" on a copy`);
  }
  const count = await store.getBlockCount();
  let knownCp: OpenedCheckpoint | undefined;
  if (known !== undefined) {
    try {
      knownCp = openCheckpoint(known.note, verifier);
    } catch (err) {
      const why = isLedgerError(err) ? `${err.code}: ${err.message}` : String(err);
      throw new StartupError(`${known.source} does not verify with this log's key ${verifier.text} (${why}); is this the right data directory and key file?`);
    }
  }
  const refuse = (what: string) =>
    new StartupError(
      `this log already signed a checkpoint of ${knownCp?.checkpoint.size} entries (${known?.source}) but ${what}: the database was deleted, replaced or restored from an older backup. Refusing to start: signing now would fork the log. Restore the newest backup of the ledger`,
    );
  if (count === 0n) {
    if (knownCp !== undefined && knownCp.checkpoint.size > 0n) throw refuse('storage holds no signed checkpoint at all');
    if (knownCp !== undefined && size > 0n) throw refuse(`storage holds ${size} entries and no block`);
    return { range };
  }
  const json = await store.getBlock(count - 1n);
  if (json === undefined) throw new StartupError(`storage is damaged: block ${count - 1n} is missing`);
  const lastBlock = parseBlock(json);
  let opened: OpenedCheckpoint;
  try {
    opened = verifyBlock(lastBlock, verifier);
  } catch (err) {
    const why = isLedgerError(err) ? `${err.code}: ${err.message}` : String(err);
    throw new StartupError(`the last block (height ${lastBlock.height}) does not verify with this log's key ${verifier.text} (${why}); is this the right data directory and key file?`);
  }
  const cp = opened.checkpoint;
  if (cp.size > size) {
    throw new StartupError(`the last signed checkpoint covers ${cp.size} entries but storage holds only ${size}: acknowledged entries are missing; refusing to start (restore the data directory from a backup)`);
  }
  const root = cp.size === size ? range.root() : await rootAt(store, cp.size, tree);
  if (!equalBytes(root, cp.root)) {
    throw new StartupError(`the stored tree at size ${cp.size} has root ${toHex(root)} but the last signed checkpoint says ${toHex(cp.root)}: storage was altered; refusing to start`);
  }
  if (knownCp !== undefined) {
    const k = knownCp.checkpoint;
    if (k.size > cp.size) throw refuse(`the stored blocks end at a checkpoint of ${cp.size} entries`);
    if (!equalBytes(await rootAt(store, k.size, tree), k.root)) throw refuse(`the stored tree at size ${k.size} has another root`);
  }
  return { range, lastBlock, lastCheckpoint: opened };
}
