/**
 * The monitor's state file (`format: guzheng-monitor/v1`, docs/audit.md#guzheng-monitor): the last
 * accepted signed checkpoint and the block that seals it (the saved head), re-verified with the
 * pinned key every time it is read, and written atomically.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { z } from 'zod';
import { toHex } from '../core/bytes.js';
import { blockJsonSchema, blockOfCheckpoint, formatBlock, parseBlock, verifyBlock, type Block, type BlockJson } from '../core/block.js';
import { findBlockHeader } from '../core/block-header.js';
import { openCheckpoint, type OpenedCheckpoint } from '../core/checkpoint.js';
import { formatReceivedAt } from '../core/entry/text.js';
import { splitNote, type VerifierKey } from '../core/note.js';
import { MonitorError } from './monitor-problems.js';

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
  /**
   * The block sealing `checkpoint`, as the log served it (SPEC.md#block-json). Needed for a
   * format-1 block, whose height, prev and time are not in its checkpoint; absent in state files
   * written before the monitor checked blocks.
   */
  readonly block?: BlockJson;
}

const stateSchema = z.strictObject({
  format: z.literal(MONITOR_STATE_FORMAT),
  url: z.string(),
  verifierKey: z.string(),
  checkpoint: z.string().min(1).max(1_000_000),
  size: z.string().regex(/^(0|[1-9][0-9]{0,19})$/),
  root: z.string().regex(/^[0-9a-f]{64}$/),
  verifiedAt: z.string(),
  block: blockJsonSchema.optional(),
});

/** A state file, re-verified. */
export interface SavedState {
  readonly state: MonitorState;
  readonly opened: OpenedCheckpoint;
  /**
   * The saved head: the block sealing the saved checkpoint (from `block`, or rebuilt from the
   * checkpoint's signed block header); undefined for a format-1 checkpoint saved without its block.
   */
  readonly head?: Block;
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
 * Throws {@link MonitorError} (exit 2) for a file that is not a state of this log under `key`,
 * or whose saved block does not verify or does not seal its checkpoint.
 */
export function readMonitorState(path: string, key: VerifierKey): SavedState | undefined {
  if (!existsSync(path)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new MonitorError(`state file ${path} is not JSON: ${(err as Error).message}`, 2, { cause: err });
  }
  const r = stateSchema.safeParse(json);
  if (!r.success) throw new MonitorError(`state file ${path} is not a ${MONITOR_STATE_FORMAT} state: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`, 2);
  const state: MonitorState = r.data;
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
  let head: Block | undefined;
  try {
    if (state.block !== undefined) {
      head = parseBlock(state.block);
      verifyBlock(head, key);
      if (splitNote(head.checkpoint).text !== opened.text) throw new Error('its block does not seal its checkpoint');
    } else if (findBlockHeader(opened.checkpoint.extensions) !== undefined) {
      head = blockOfCheckpoint(opened.note);
    }
  } catch (err) {
    throw new MonitorError(`state file ${path}: its block is not the one sealing its checkpoint: ${(err as Error).message}`, 2, { cause: err });
  }
  return head === undefined ? { state, opened } : { state, opened, head };
}

/** saveMonitorState writes the state for the accepted checkpoint `opened`, sealed in `head`. */
export function saveMonitorState(path: string, url: string, key: VerifierKey, opened: OpenedCheckpoint, head: Block, now: Date): void {
  const state: MonitorState = {
    format: MONITOR_STATE_FORMAT,
    url,
    verifierKey: key.text,
    checkpoint: opened.note,
    size: opened.checkpoint.size.toString(),
    root: toHex(opened.checkpoint.root),
    verifiedAt: formatReceivedAt(now),
    block: formatBlock(head),
  };
  writeFileAtomic(path, JSON.stringify(state, null, 2) + '\n');
}
