/**
 * The evidence the log keeps after sealing a block (RFC 3161 time stamps, witness cosignature
 * lines), turned into mirror objects. It arrives late and a block's cosignatures grow one line at
 * a time, so evidence is scanned again on every pass over a window of recent blocks
 * ({@link EVIDENCE_WINDOW}); what is unchanged since the last pass of this process is skipped
 * without a request. Each stamp and each line is its own write-once object (src/mirror/layout.ts).
 */
import { equalBytes, fromUtf8 } from '../core/bytes.js';
import type { COSIGNATURE_EVIDENCE as COSIGNATURES } from '../log/cosignatures.js';
import type { TSA_EVIDENCE as STAMPS } from '../log/stamps.js';
import type { LedgerStore } from '../storage/store.js';
import { COSIGNATURE_CONTENT_TYPE, cosignatureKey, STAMP_CONTENT_TYPE, stampKey } from './layout.js';

/**
 * Blocks below the newest whose evidence is still scanned on each pass. Evidence that reaches a
 * block older than that (a witness or TSA answering more than this many blocks late) is not
 * mirrored: docs/scaling.md says so.
 */
export const EVIDENCE_WINDOW = 1024n;

const PAGE = 512;

// The store's evidence kinds the log writes (src/log/stamps.ts, src/log/cosignatures.ts), named
// here because the mirror may import the log's types only: the types make a renamed kind a
// compile error.
const TSA_EVIDENCE: typeof STAMPS = 'tsa';
const COSIGNATURE_EVIDENCE: typeof COSIGNATURES = 'cosig';

/** One object to write once. */
export interface PlannedObject {
  readonly key: string;
  readonly bytes: Uint8Array;
  readonly contentType: string;
}

/** What a pass found: the objects, and a function that marks them done once they were written. */
export interface EvidencePlan {
  readonly objects: PlannedObject[];
  readonly commit: () => void;
}

/**
 * Remembers, per `kind/height`, the evidence bytes already mirrored by this process, and per
 * height the objects written (a block's second cosignature adds one object, not two).
 */
export class EvidenceScanner {
  readonly #store: LedgerStore;
  readonly #prefix: string;
  readonly #seen = new Map<string, Uint8Array>();
  readonly #written = new Map<bigint, Set<string>>();

  constructor(store: LedgerStore, prefix: string) {
    this.#store = store;
    this.#prefix = prefix;
  }

  /**
   * plan lists the stamp and cosignature objects of blocks at heights >= `from` whose stored
   * evidence changed since the last committed plan (all of it, the first time).
   */
  async plan(from: bigint): Promise<EvidencePlan> {
    const objects: Array<PlannedObject & { height: bigint }> = [];
    const fresh = new Map<string, Uint8Array>();
    for (const kind of [TSA_EVIDENCE, COSIGNATURE_EVIDENCE]) {
      let next = from;
      for (;;) {
        const rows = await this.#store.listEvidence(kind, next, PAGE);
        for (const { height, value } of rows) {
          const id = `${kind}/${height}`;
          const seen = this.#seen.get(id);
          if (seen !== undefined && equalBytes(seen, value)) continue;
          fresh.set(id, value);
          const done = this.#written.get(height);
          for (const o of this.#objects(kind, height, value)) if (done?.has(o.key) !== true) objects.push({ ...o, height });
        }
        if (rows.length < PAGE) break;
        next = (rows[rows.length - 1] as { height: bigint }).height + 1n;
      }
    }
    return {
      objects,
      commit: () => {
        for (const [id, value] of fresh) this.#seen.set(id, value);
        for (const o of objects) {
          let done = this.#written.get(o.height);
          if (done === undefined) this.#written.set(o.height, (done = new Set()));
          done.add(o.key);
        }
      },
    };
  }

  /** forget drops what is remembered of heights below `from` (they are no longer scanned). */
  forget(from: bigint): void {
    for (const id of this.#seen.keys()) if (BigInt(id.slice(id.indexOf('/') + 1)) < from) this.#seen.delete(id);
    for (const height of this.#written.keys()) if (height < from) this.#written.delete(height);
  }

  #objects(kind: string, height: bigint, value: Uint8Array): PlannedObject[] {
    if (kind === TSA_EVIDENCE) return [{ key: stampKey(this.#prefix, height), bytes: value, contentType: STAMP_CONTENT_TYPE }];
    const lines: unknown = JSON.parse(fromUtf8(value, `cosignatures of block ${height}`));
    if (!Array.isArray(lines) || !lines.every((l): l is string => typeof l === 'string')) throw new Error(`storage: cosignatures of block ${height} are corrupt`);
    const enc = new TextEncoder();
    return lines.map((line) => ({ key: cosignatureKey(this.#prefix, height, line), bytes: enc.encode(`${line}\n`), contentType: COSIGNATURE_CONTENT_TYPE }));
  }
}
