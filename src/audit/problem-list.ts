/**
 * The problems of one replay as they are found (replay.ts, and the block and index parts it
 * drives: replay-blocks.ts, replay-index.ts). Every problem is counted by kind; the first KEEP are
 * kept with the replay position they sort at, so that the report lists them in log order however
 * the parallel work happened to finish. Apart from the engine so that its parts can share it
 * without importing the engine.
 */
import type { Problem, ProblemKind } from './report.js';

/** Problems kept before sorting (the report lists `maxProblems` of them). */
const KEEP = 10_000;

/** The problems of one replay: counted by kind, the first {@link KEEP} kept for the report. */
export class ProblemList {
  readonly #items: Array<{ p: Problem; pos: bigint; seq: number }> = [];
  count = 0;
  suppressed = 0;
  readonly counts: Partial<Record<ProblemKind, number>> = {};
  #seq = 0;

  /** add records a problem at replay position `pos` (default: its entry index or node start). */
  add(p: Problem, pos?: bigint): void {
    this.count++;
    this.counts[p.kind] = (this.counts[p.kind] ?? 0) + 1;
    if (this.#items.length >= KEEP) return;
    const at = pos ?? p.index ?? (p.node !== undefined && p.level !== undefined ? p.node << BigInt(p.level) : 1n << 64n);
    this.#items.push({ p, pos: at, seq: this.#seq++ });
  }

  /** addUnlisted counts problems found but not described. */
  addUnlisted(counts: Readonly<Partial<Record<ProblemKind, number>>>): void {
    for (const [kind, n] of Object.entries(counts) as Array<[ProblemKind, number]>) {
      this.count += n;
      this.counts[kind] = (this.counts[kind] ?? 0) + n;
    }
  }

  /** sorted returns the kept problems by replay position, in the order found where positions tie. */
  sorted(): Problem[] {
    return this.#items.sort((a, b) => (a.pos < b.pos ? -1 : a.pos > b.pos ? 1 : a.seq - b.seq)).map((x) => x.p);
  }
}
