/**
 * The log's book of RFC 3161 time stamps (SPEC.md#time-stamps): which blocks' checkpoints a TSA
 * stamped, kept as block evidence of kind `tsa` in the store, and the stamp a receipt carries:
 * that of the first stamped checkpoint at or after the entry's sealing block, with the
 * consistency proof from it to the receipt's proving checkpoint. Tokens reach the book only after
 * src/tsa/check.ts accepted them; the book never checks them again, and never writes anything in
 * the append path.
 */
import { z } from 'zod';
import { parseBlock } from '../core/block.js';
import { fromBase64, fromUtf8, toBase64, utf8 } from '../core/bytes.js';
import type { Stamp } from '../core/stamp.js';
import type { LedgerStore } from '../storage/store.js';

/** The evidence kind under which tokens are stored. */
export const TSA_EVIDENCE = 'tsa';

/** One stored token: the TSA it came from (informative) and the DER TimeStampToken. */
export interface StoredToken {
  readonly tsa: string;
  readonly token: Uint8Array;
}

const storedSchema = z.strictObject({ tsa: z.string().max(2048), token: z.string().min(4).max(350_000) });

/** encodeStoredToken returns the stored JSON of a token. */
export function encodeStoredToken(t: StoredToken): Uint8Array {
  return utf8(JSON.stringify({ tsa: t.tsa, token: toBase64(t.token) }));
}

/** decodeStoredToken parses a stored token; anything malformed is corruption (plain Error). */
export function decodeStoredToken(value: Uint8Array, height: bigint): StoredToken {
  const r = storedSchema.safeParse(JSON.parse(fromUtf8(value, `tsa evidence ${height}`)));
  if (!r.success) throw new Error(`storage: time-stamp token of block ${height} is corrupt`);
  return { tsa: r.data.tsa, token: fromBase64(r.data.token) };
}

/** Proves that the tree of `from` is a prefix of the tree of `to` (the ledger's consistency proof). */
export type ConsistencyProver = (from: bigint, to: bigint) => Promise<Uint8Array[]>;

export class StampBook {
  readonly #store: LedgerStore;
  /** Greatest stamped height, once loaded; stamps are only ever added at greater heights. */
  #last: bigint | undefined;
  #loaded = false;

  constructor(store: LedgerStore) {
    this.#store = store;
  }

  /** load reads the greatest stamped height (one reverse seek); call once at open. */
  async load(): Promise<void> {
    this.#last = (await this.#store.lastEvidence(TSA_EVIDENCE))?.height;
    this.#loaded = true;
  }

  /** The greatest stamped block height, if any. */
  get lastStamped(): bigint | undefined {
    return this.#last;
  }

  /** record durably keeps an accepted token for block `height` (fsynced on its own). */
  async record(height: bigint, token: StoredToken): Promise<void> {
    await this.#store.putEvidence(TSA_EVIDENCE, height, encodeStoredToken(token));
    if (this.#last === undefined || height > this.#last) this.#last = height;
  }

  /** tokensIn lists the stored tokens of blocks [from, from + limit), ascending (for served blocks and audits). */
  async tokensIn(from: bigint, limit: number): Promise<Map<bigint, StoredToken>> {
    const out = new Map<bigint, StoredToken>();
    if (this.#loaded && (this.#last === undefined || this.#last < from)) return out;
    for (const row of await this.#store.listEvidence(TSA_EVIDENCE, from, limit)) {
      if (row.height >= from + BigInt(limit)) break;
      out.set(row.height, decodeStoredToken(row.value, row.height));
    }
    return out;
  }

  /**
   * stampFor returns the stamp of an entry sealed in block `sealingHeight`, proved against the
   * checkpoint of `provingSize`: the first stamped block at or after the sealing block (whose
   * checkpoint covers the entry), if its size is at most `provingSize`; else null. No I/O when
   * nothing at or after the sealing block is stamped (a fresh entry's receipt).
   */
  async stampFor(sealingHeight: bigint, provingSize: bigint, prove: ConsistencyProver): Promise<Stamp | null> {
    if (this.#loaded && (this.#last === undefined || this.#last < sealingHeight)) return null;
    const [row] = await this.#store.listEvidence(TSA_EVIDENCE, sealingHeight, 1);
    if (row === undefined) return null;
    const json = await this.#store.getBlock(row.height);
    if (json === undefined) throw new Error(`storage: block ${row.height} has a time stamp but is missing`);
    const block = parseBlock(json);
    const size = block.first + block.count;
    if (size > provingSize) return null;
    const { token } = decodeStoredToken(row.value, row.height);
    return { checkpoint: block.checkpoint, consistency: await prove(size, provingSize), tokens: [token] };
  }
}
