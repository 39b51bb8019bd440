/**
 * The vector file set: relative path → JSON value. Generators add to it; gen-vectors.ts writes
 * it to contracts-free-ledger/vectors (or compares it with what is committed, with --check).
 */
import { LedgerError } from '../../src/core/errors.js';

export type VectorValue = Record<string, unknown>;

export class VectorSet {
  readonly files = new Map<string, VectorValue>();

  /** add one vector; `path` is relative to vectors/, without `.json`. Every vector needs desc and wantErr. */
  add(path: string, value: VectorValue): void {
    if (typeof value.desc !== 'string' || typeof value.wantErr !== 'boolean') {
      throw new Error(`vector ${path}: needs desc and wantErr`);
    }
    if (this.files.has(path)) throw new Error(`vector ${path}: duplicate`);
    this.files.set(path, value);
  }
}

/**
 * outcomeOf runs a verification and records what it gives, as vector fields: `wantErr` and,
 * for a LedgerError, its `expectCode`. Any other exception is a generator bug and propagates.
 */
export function outcomeOf(f: () => void): { wantErr: boolean; expectCode?: string } {
  try {
    f();
    return { wantErr: false };
  } catch (err) {
    if (err instanceof LedgerError) return { wantErr: true, expectCode: err.code };
    throw err;
  }
}

/** The exact bytes written for a vector: 2-space JSON with a final newline. */
export function vectorText(value: VectorValue): string {
  return JSON.stringify(value, null, 2) + '\n';
}
