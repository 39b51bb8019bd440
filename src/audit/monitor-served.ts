/**
 * What the monitor reads from the log besides `/checkpoint` (docs/audit.md#guzheng-monitor): the
 * blocks at `/v1/blocks`, checked on every poll against the signed checkpoint and the saved head,
 * and the log's consistency proofs, told apart from a log that could not be reached.
 *
 * Nothing here trusts the server: every page must start at the height asked for and go up by one,
 * paging always moves forward and stops at the height the signed checkpoint names (so a hostile
 * server can neither send it back nor keep it reading), and every block is checked against
 * signatures by the pinned key or against the block the monitor saved.
 */
import { equalBytes, toHex } from '../core/bytes.js';
import { blockHash, formatBlock, parseBlock, verifyBlockChain, type Block } from '../core/block.js';
import { findBlockHeader } from '../core/block-header.js';
import type { OpenedCheckpoint } from '../core/checkpoint.js';
import { isLedgerError, type LedgerError } from '../core/errors.js';
import { splitNote, type VerifierKey } from '../core/note.js';
import { suiteOfKey, type CryptoSuite } from '../core/suite.js';
import type { MonitorProblem } from './monitor-problems.js';
import type { LogReader } from './monitor-log.js';

/** Most blocks one poll checks; a monitor that fell further behind checks the newest ones (and says so). */
export const MAX_BLOCKS_PER_POLL = 10_000;
/** The page size asked of /v1/blocks (the API's maximum, docs/api.md#blocks). */
const PAGE = 1000;

/** A block as served: decoded, and the JSON exactly as received (the evidence). */
interface Served {
  readonly block: Block;
  readonly raw: unknown;
  /** The request (service) or object (bucket) it came from. */
  readonly request: string;
}

/** What {@link checkServedBlocks} established. */
export interface ServedHead {
  readonly ok: true;
  /** The block sealing the served checkpoint, verified. */
  readonly head: Block;
  /** The heights whose served blocks were checked this poll. */
  readonly checked: { readonly from: bigint; readonly to: bigint };
  readonly warnings: MonitorProblem[];
}

/** A problem found while checking (thrown internally, returned to the caller). */
class Found extends Error {
  readonly problem: MonitorProblem;
  constructor(problem: MonitorProblem) {
    super(problem.message);
    this.problem = problem;
  }
}

const signedText = (b: Block): string => splitNote(b.checkpoint).text;

/**
 * checkServedBlocks checks the blocks the log serves from the saved head (`saved`, the block
 * sealing the last accepted checkpoint; undefined on the first poll) to the block sealing `latest`
 * (SPEC.md#blocks), on every poll, whether the checkpoint moved or not:
 *
 * - each block verifies on its own (SPEC.md#block-validity: its checkpoint is signed by the pinned
 *   key and, for format 2, every member equals its signed block header) and its served `hash`
 *   member is its hash;
 * - they link (SPEC.md#chain-rules), with no height skipped or repeated;
 * - the block served at the saved head's height hashes to the saved head (SPEC.md#block-hash: this
 *   also covers the unsigned height, prev and time of a format-1 block the monitor saw before);
 * - the newest one seals exactly the checkpoint served at /checkpoint.
 *
 * Without a saved head it checks the newest two blocks. A format-1 checkpoint names no height
 * (SPEC.md#logs-created-before-signed-blocks): its block is found by a binary search, then checked
 * like any other. Returns the problems found (misbehaviour, with evidence); throws
 * {@link AuditAbort} when the log could not be read.
 * Requires: `latest` opened with `key`, and not smaller than `saved`'s checkpoint.
 */
export async function checkServedBlocks(client: LogReader, key: VerifierKey, saved: Block | undefined, latest: OpenedCheckpoint): Promise<ServedHead | { readonly ok: false; readonly problems: MonitorProblem[] }> {
  // Block hashes are the log's suite's (SPEC.md#block-hash, SPEC.md#crypto-suites), from the pinned key.
  const suite = suiteOfKey(key);
  try {
    const to = await headHeight(client, saved, latest, suite);
    if (saved !== undefined && to < saved.height) {
      throw new Found({
        kind: 'chain-broken',
        code: 'CHAIN_BROKEN',
        height: to.toString(),
        message: `the served checkpoint of size ${latest.checkpoint.size} is sealed in block ${to}, below the saved head, block ${saved.height} (size ${saved.first + saved.count})`,
        evidence: { checkpoint: latest.note, savedBlock: formatBlock(saved) },
      });
    }
    let from = saved?.height ?? (to > 0n ? to - 1n : 0n);
    const warnings: MonitorProblem[] = [];
    if (to - from >= BigInt(MAX_BLOCKS_PER_POLL)) {
      const skipped = to - BigInt(MAX_BLOCKS_PER_POLL);
      warnings.push({
        kind: 'blocks-unchecked',
        height: from.toString(),
        message: `blocks ${from} to ${skipped} were not checked this poll (more than ${MAX_BLOCKS_PER_POLL} behind): the newest ${MAX_BLOCKS_PER_POLL} were; run guzheng audit for the whole chain`,
      });
      from = skipped + 1n;
    }
    const blocks = await fetchBlocks(client, from, to, latest, suite);
    const first = blocks[0] as Served;
    // SPEC.md#block-hash: the hash commits to every member of the block, so the block served at
    // the saved head's height must hash as the one saved, format 1 included.
    if (saved !== undefined && first.block.height === saved.height && !equalBytes(blockHash(first.block, suite), blockHash(saved, suite))) {
      throw new Found({
        kind: 'block-changed',
        height: saved.height.toString(),
        message: `block ${saved.height} is served with hash ${toHex(blockHash(first.block, suite))}, but the block saved at that height hashes to ${toHex(blockHash(saved, suite))}${client.kind === 'bucket' ? ` (in ${first.request})` : ''}`,
        expected: toHex(blockHash(saved, suite)),
        found: toHex(blockHash(first.block, suite)),
        evidence: { savedBlock: formatBlock(saved), servedBlock: first.raw },
      });
    }
    verifyServedChain(blocks, key);
    const head = blocks.at(-1) as Served;
    if (signedText(head.block) !== latest.text) {
      throw new Found({
        kind: 'block-invalid',
        code: 'BLOCK_INVALID',
        height: head.block.height.toString(),
        message: `block ${head.block.height} served at /v1/blocks does not seal the checkpoint served at /checkpoint (size ${latest.checkpoint.size})`,
        evidence: { checkpoint: latest.note, servedBlock: head.raw },
      });
    }
    return { ok: true, head: head.block, checked: { from, to }, warnings };
  } catch (err) {
    if (err instanceof Found) return { ok: false, problems: [err.problem] };
    throw err;
  }
}

/**
 * headHeight is the height of the block sealing `latest`: signed in its block header (format 2),
 * the saved head's when it is the same checkpoint, else found by binary search over the served
 * blocks. The search is bounded by the chain rules (SPEC.md#chain-rules: every block after genesis
 * seals at least one leaf, so the block sealing size S is at most S − end blocks past one ending
 * at `end`) and takes at most 65 requests; its answer is verified by the caller like any block.
 */
async function headHeight(client: LogReader, saved: Block | undefined, latest: OpenedCheckpoint, suite: CryptoSuite): Promise<bigint> {
  const header = findBlockHeader(latest.checkpoint.extensions);
  if (header !== undefined) return header.height;
  if (saved !== undefined && signedText(saved) === latest.text) return saved.height;
  const size = latest.checkpoint.size;
  const end = saved === undefined ? 0n : saved.first + saved.count;
  let lo = saved === undefined ? 0n : saved.height + 1n;
  let hi = saved === undefined ? size : saved.height + (size > end ? size - end : 1n);
  while (lo < hi) {
    const mid = lo + (hi - lo) / 2n;
    const [b] = (await fetchPage(client, mid, 1, suite)).blocks;
    // An empty page is past the served tip.
    if (b === undefined || b.block.first + b.block.count >= size) hi = mid;
    else lo = mid + 1n;
  }
  return lo;
}

/**
 * fetchBlocks reads blocks [from, to] page by page. Each request asks for the next height not yet
 * read and at most the heights still missing, so paging strictly advances and ends after at most
 * `to − from + 1` requests, whatever the server answers; a page that does not continue exactly
 * is reported (gap, out of order), never skipped over.
 */
async function fetchBlocks(client: LogReader, from: bigint, to: bigint, latest: OpenedCheckpoint, suite: CryptoSuite): Promise<Served[]> {
  const out: Served[] = [];
  let next = from;
  while (next <= to) {
    const limit = Number(to - next + 1n < BigInt(PAGE) ? to - next + 1n : BigInt(PAGE));
    const page = await fetchPage(client, next, limit, suite);
    if (page.blocks.length === 0) {
      throw new Found({
        kind: 'blocks-gap',
        height: next.toString(),
        message: `${client.kind === 'api' ? `GET /v1/blocks?from=${next}` : `the bucket ${client.base}`} served no block ${next}, but the signed checkpoint of size ${latest.checkpoint.size} is sealed in block ${to}${client.kind === 'bucket' ? ` (${page.request})` : ''}`,
        evidence: { request: page.request, checkpoint: latest.note },
      });
    }
    out.push(...page.blocks);
    next += BigInt(page.blocks.length);
  }
  return out;
}

/**
 * fetchPage reads at most `limit` blocks from height `from`: the i-th must be block `from + i`
 * (else `blocks-gap` when heights were skipped, `blocks-out-of-order` when they go back), decode
 * (SPEC.md#block-json) and carry its own hash (`suite`'s, the log's). Items past `limit` are ignored.
 */
async function fetchPage(client: LogReader, from: bigint, limit: number, suite: CryptoSuite): Promise<{ request: string; blocks: Served[] }> {
  const page = await client.blockPage(from, limit);
  const request = page.request;
  const out: Served[] = [];
  for (const [i, raw] of page.blocks.slice(0, limit).entries()) {
    const want = from + BigInt(i);
    const { hash, timestamps: _timestamps, ...json } = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    let block: Block;
    try {
      block = parseBlock(json);
    } catch (err) {
      if (!isLedgerError(err)) throw err;
      throw new Found({ kind: 'block-invalid', code: err.code, height: want.toString(), message: `GET ${request} served a malformed block where block ${want} belongs: ${err.message}`, evidence: { request, servedBlock: raw } });
    }
    if (block.height !== want) {
      const gap = block.height > want;
      throw new Found({
        kind: gap ? 'blocks-gap' : 'blocks-out-of-order',
        height: want.toString(),
        message: gap
          ? `GET ${request} skipped block ${want}: it served block ${block.height} in its place`
          : `GET ${request} served block ${block.height} where block ${want} belongs (heights must start at ${from} and go up by one)`,
        expected: want.toString(),
        found: block.height.toString(),
        evidence: { request, servedHeights: page.blocks.slice(0, limit).map((b) => (b as { height?: unknown } | null)?.height ?? null) },
      });
    }
    const computed = toHex(blockHash(block, suite));
    // The service serves each block with its hash; a bucket holds the blocks alone.
    if (client.kind === 'api' && hash !== computed) {
      throw new Found({
        kind: 'block-invalid',
        code: 'BLOCK_INVALID',
        height: want.toString(),
        message: `block ${want} is served with hash ${String(hash)}, but it hashes to ${computed}`,
        expected: computed,
        found: String(hash),
        evidence: { request, servedBlock: raw },
      });
    }
    out.push({ block, raw, request });
  }
  return { request, blocks: out };
}

/**
 * verifyServedChain verifies the blocks and their links with {@link verifyBlockChain} (SPEC.md#block-validity,
 * SPEC.md#chain-rules). Only when that fails does it walk them pair by pair, to report the first
 * bad block with the served JSON of it (and of the block before it, for a broken link).
 */
function verifyServedChain(blocks: readonly Served[], key: VerifierKey): void {
  try {
    verifyBlockChain(blocks.map((b) => b.block), key);
    return;
  } catch (err) {
    if (!isLedgerError(err)) throw err;
  }
  for (const [i, b] of blocks.entries()) {
    const previous = blocks[i - 1];
    try {
      verifyBlockChain([b.block], key, previous === undefined ? {} : { previous: previous.block });
    } catch (err) {
      if (!isLedgerError(err)) throw err;
      throw new Found(chainProblem(err, b, previous));
    }
  }
  throw new Error('audit: bad math: verifyBlockChain failed on the segment but on no pair of it');
}

function chainProblem(err: LedgerError, b: Served, previous: Served | undefined): MonitorProblem {
  const broken = err.code === 'CHAIN_BROKEN';
  return {
    kind: broken ? 'chain-broken' : 'block-invalid',
    code: err.code,
    height: b.block.height.toString(),
    message: b.request.startsWith('/') ? err.message : `${err.message} (in ${b.request})`,
    evidence: {
      ...(broken && previous !== undefined ? { previousBlock: previous.raw, servedBlock: b.raw } : { servedBlock: b.raw }),
      // A bucket's block is named by its object (a service's by its height alone, as before).
      ...(b.request.startsWith('/') ? {} : { object: b.request }),
    },
  };
}
