/** Reads every vector file under contracts-free-ledger/vectors, grouped by family (first folder; gm/<family> for the gm suite's). */
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
        const parts = path.split('/');
        // The gm suite's vectors (gm/<family>/…) are families of their own: gm/receipt is checked
        // as a receipt, under the gm key it names.
        const family = parts[0] === 'gm' ? `gm/${parts[1]!}` : parts[0]!;
        out.push({ path, family, value: JSON.parse(readFileSync(p, 'utf8')) });
      }
    }
  };
  walk(VECTORS_DIR);
  return out;
}
