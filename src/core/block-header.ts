/**
 * The signed block header (SPEC.md#signed-block-header): the one checkpoint extension line by
 * which a format-2 block's members are under the log's signature,
 *
 *     guzheng-block/v2 <height> <first> <time> <prev>
 *
 * `height` and `first` canonical decimals, `time` the log's clock as `YYYY-MM-DDTHH:MM:SS.sssZ`,
 * `prev` the previous block's hash as 64 lowercase hex digits. `count` is not written: it is the
 * checkpoint size minus `first`. C2SP tlog-checkpoint allows extension lines after the root line;
 * Go's x/mod sumdb/note verifies the note as it is, and a C2SP witness cosigns the whole body,
 * header included (c2sp.org/tlog-cosignature).
 */
import { formatDecimal, fromHex, parseDecimal, toHex } from './bytes.js';
import { isReceivedAt } from './entry/text.js';
import { LedgerError, isLedgerError } from './errors.js';

/** The first word of the header line; a breaking change gets a new one. */
export const BLOCK_HEADER_TAG = 'guzheng-block/v2';

/** What the header line states. */
export interface BlockHeader {
  readonly height: bigint;
  readonly first: bigint;
  readonly time: string;
  readonly prev: Uint8Array;
}

function invalid(message: string): never {
  throw new LedgerError('BLOCK_INVALID', message);
}

/**
 * formatBlockHeader returns the header line, without its newline.
 * Requires: height and first in [0, 2^64−1], `time` as `YYYY-MM-DDTHH:MM:SS.sssZ`, `prev` 32
 * bytes; else `BLOCK_INVALID`.
 */
export function formatBlockHeader(h: BlockHeader): string {
  if (!isReceivedAt(h.time)) invalid(`block header: time ${JSON.stringify(h.time)}, want YYYY-MM-DDTHH:MM:SS.sssZ`);
  if (!(h.prev instanceof Uint8Array) || h.prev.length !== 32) invalid('block header: prev must be 32 bytes');
  return `${BLOCK_HEADER_TAG} ${formatDecimal(h.height)} ${formatDecimal(h.first)} ${h.time} ${toHex(h.prev)}`;
}

/** isBlockHeaderLine tells whether an extension line claims to be a block header (starts with the tag and a space). */
export function isBlockHeaderLine(line: string): boolean {
  return line.startsWith(`${BLOCK_HEADER_TAG} `);
}

/**
 * parseBlockHeader parses a header line strictly: the tag, then exactly four fields separated by
 * single spaces, each in its one canonical spelling. The exact inverse of
 * {@link formatBlockHeader}. Throws `BLOCK_INVALID` naming the field.
 */
export function parseBlockHeader(line: string): BlockHeader {
  const fields = line.split(' ');
  if (fields.length !== 5 || fields[0] !== BLOCK_HEADER_TAG) {
    invalid(`block header: got ${fields.length - 1} fields after ${JSON.stringify(fields[0] ?? '')}, want "${BLOCK_HEADER_TAG} <height> <first> <time> <prev>"`);
  }
  const [, heightText, firstText, time, prevText] = fields as [string, string, string, string, string];
  try {
    const height = parseDecimal(heightText, 'block header height');
    const first = parseDecimal(firstText, 'block header first');
    if (!isReceivedAt(time)) invalid(`block header: time ${JSON.stringify(time)}, want YYYY-MM-DDTHH:MM:SS.sssZ`);
    if (!/^[0-9a-f]{64}$/.test(prevText)) invalid('block header: prev, want 64 lowercase hex digits');
    return { height, first, time, prev: fromHex(prevText, 32, 'block header prev') };
  } catch (err) {
    if (isLedgerError(err, 'INPUT_INVALID')) invalid(err.message);
    throw err;
  }
}

/**
 * findBlockHeader returns the one header line among a checkpoint's extension lines, or undefined
 * when there is none. Two header lines are `BLOCK_INVALID` (a header must be unambiguous).
 */
export function findBlockHeader(extensions: readonly string[]): BlockHeader | undefined {
  const lines = extensions.filter(isBlockHeaderLine);
  if (lines.length > 1) invalid(`checkpoint: ${lines.length} block header lines, want at most one`);
  return lines[0] === undefined ? undefined : parseBlockHeader(lines[0]);
}
