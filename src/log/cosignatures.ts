/**
 * The log's book of witness cosignatures (SPEC.md#witnesses): the valid cosignature/v1 lines each
 * witness returned for a block's checkpoint, kept as block evidence of kind `cosig`, and the
 * refusals (422, unexplained 409) kept as evidence of kind `witness-refusal`. A cosigned
 * checkpoint is the block's note (as the log signed it) with these lines appended; the block's
 * hash and its time stamp's imprint never include them. Lines reach the book only after the
 * witness client verified them against the witness's key.
 */
import { z } from 'zod';
import { fromUtf8, utf8 } from '../core/bytes.js';
import type { LedgerStore } from '../storage/store.js';

export const COSIGNATURE_EVIDENCE = 'cosig';
export const REFUSAL_EVIDENCE = 'witness-refusal';

/** Most refusals kept per block (a misbehaving witness must not fill the disk). */
const MAX_REFUSALS_PER_BLOCK = 32;
/** Recent heights whose lines are kept in memory (receipts of fresh entries ask for them). */
const CACHE = 1024;

const linesSchema = z.array(z.string().min(1).max(8192)).max(256);

/** A refusal kept as evidence: what the log sent and what the witness answered. */
export interface Refusal {
  readonly witness: string;
  readonly status: number;
  readonly reason: string;
  readonly request: string;
  readonly response: string;
  readonly at: string;
}

const refusalSchema = z.array(
  z.strictObject({ witness: z.string(), status: z.int(), reason: z.string(), request: z.string(), response: z.string().max(65_536), at: z.string() }),
);

/** cosignedNote appends cosignature lines to a note as the log signed it (each line once). */
export function cosignedNote(note: string, lines: readonly string[]): string {
  const fresh = [...new Set(lines)].filter((l) => !note.includes(`\n${l}\n`));
  return fresh.length === 0 ? note : note + fresh.map((l) => `${l}\n`).join('');
}

export class CosignatureBook {
  readonly #store: LedgerStore;
  readonly #recent = new Map<bigint, string[]>();
  /**
   * Writes are read-modify-write of one record per block, and witnesses answer concurrently: they
   * run one at a time, or two cosignatures of one block could each overwrite the other.
   */
  #writes: Promise<unknown> = Promise.resolve();

  readonly #onError: ((message: string) => void) | undefined;

  constructor(store: LedgerStore, onError?: (message: string) => void) {
    this.#store = store;
    this.#onError = onError;
  }

  /**
   * prime records that block `height` has no cosignatures yet. Requires: the block was published
   * by this process just now (evidence is kept only for stored blocks, so none can exist). Its
   * cosignatures are then merged in memory at once, and written in the background.
   */
  prime(height: bigint): void {
    if (!this.#recent.has(height)) this.#remember(height, []);
  }

  #remember(height: bigint, lines: string[]): void {
    this.#recent.set(height, lines);
    if (this.#recent.size > CACHE) this.#recent.delete(this.#recent.keys().next().value as bigint);
  }

  /** linesAt returns the cosignature lines kept for block `height` (none: empty). */
  async linesAt(height: bigint): Promise<string[]> {
    const hit = this.#recent.get(height);
    if (hit !== undefined) return hit;
    const [row] = await this.#store.listEvidence(COSIGNATURE_EVIDENCE, height, 1);
    return row === undefined || row.height !== height ? [] : decodeLines(row.value, height);
  }

  /** linesIn returns the lines of blocks [from, from + limit), by height (for served block pages). */
  async linesIn(from: bigint, limit: number): Promise<Map<bigint, string[]>> {
    const out = new Map<bigint, string[]>();
    for (const row of await this.#store.listEvidence(COSIGNATURE_EVIDENCE, from, limit)) {
      if (row.height >= from + BigInt(limit)) break;
      out.set(row.height, decodeLines(row.value, row.height));
    }
    return out;
  }

  /** lastHeight returns the greatest block height with kept lines, if any (where reading back starts). */
  async lastHeight(): Promise<bigint | undefined> {
    return (await this.#store.lastEvidence(COSIGNATURE_EVIDENCE))?.height;
  }

  /** add durably keeps verified lines for block `height` (merged with those already kept). */
  add(height: bigint, lines: readonly string[]): Promise<string[]> {
    const cached = this.#recent.get(height);
    if (cached === undefined) return this.#serial(() => this.#add(height, lines));
    // A recent block: merged in memory at once, so a quorum reached now is usable now (receipts
    // wait for it), and written in the background, in order (each write of a height carries a
    // superset of the one before). Losing such a write in a crash loses only that line from
    // later fetches: receipts already handed out carry it themselves.
    const merged = [...cached, ...lines.filter((l) => !cached.includes(l))];
    if (merged.length === cached.length) return Promise.resolve(cached);
    this.#remember(height, merged);
    const value = utf8(JSON.stringify(merged));
    this.#serial(() => this.#store.putEvidence(COSIGNATURE_EVIDENCE, height, value)).catch((err: unknown) =>
      this.#onError?.(`could not keep the cosignatures of block ${height}: ${(err as Error).message}`),
    );
    return Promise.resolve(merged);
  }

  async #add(height: bigint, lines: readonly string[]): Promise<string[]> {
    const have = await this.linesAt(height);
    const merged = [...have, ...lines.filter((l) => !have.includes(l))];
    if (merged.length === have.length) return have;
    await this.#store.putEvidence(COSIGNATURE_EVIDENCE, height, utf8(JSON.stringify(merged)));
    this.#remember(height, merged);
    return merged;
  }

  /** refuse durably keeps a witness's refusal of block `height`'s checkpoint as evidence. */
  refuse(height: bigint, refusal: Refusal): Promise<void> {
    return this.#serial(() => this.#refuse(height, refusal));
  }

  /** #serial runs one write after the one before it has settled. */
  #serial<T>(write: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(write, write);
    this.#writes = run.catch(() => undefined);
    return run;
  }

  async #refuse(height: bigint, refusal: Refusal): Promise<void> {
    const [row] = await this.#store.listEvidence(REFUSAL_EVIDENCE, height, 1);
    const kept = row !== undefined && row.height === height ? refusalSchema.parse(JSON.parse(fromUtf8(row.value))) : [];
    if (kept.length >= MAX_REFUSALS_PER_BLOCK) return;
    kept.push({ ...refusal, response: refusal.response.slice(0, 65_536) });
    await this.#store.putEvidence(REFUSAL_EVIDENCE, height, utf8(JSON.stringify(kept)));
  }

  /** refusalsFrom lists kept refusals of blocks at heights >= `from` (for /healthz and operators). */
  async refusalsFrom(from: bigint, limit: number): Promise<Array<{ height: bigint; refusals: Refusal[] }>> {
    return (await this.#store.listEvidence(REFUSAL_EVIDENCE, from, limit)).map((r) => ({ height: r.height, refusals: refusalSchema.parse(JSON.parse(fromUtf8(r.value))) }));
  }
}

function decodeLines(value: Uint8Array, height: bigint): string[] {
  const r = linesSchema.safeParse(JSON.parse(fromUtf8(value, `cosignatures of block ${height}`)));
  if (!r.success) throw new Error(`storage: cosignatures of block ${height} are corrupt`);
  return r.data;
}
