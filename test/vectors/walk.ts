/** Reads every vector file under contracts-free-ledger/vectors, grouped by family (first folder). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export const VECTORS_DIR = join(import.meta.dirname, '..', '..', 'contracts-free-ledger', 'vectors');

export interface VectorFile {
  path: string;
  family: string;
  value: Record<string, unknown> & { desc: string; wantErr: boolean; expectCode?: string };
}

export function readVectors(): VectorFile[] {
  const out: VectorFile[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.json')) {
        const path = relative(VECTORS_DIR, p);
        out.push({ path, family: path.split('/')[0]!, value: JSON.parse(readFileSync(p, 'utf8')) });
      }
    }
  };
  walk(VECTORS_DIR);
  return out;
}
