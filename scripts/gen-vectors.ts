/**
 * Generates the normative test vectors into contracts-free-ledger/vectors (merkle `proofgen`).
 * Deterministic: fixed leaves and fixed keys (Ed25519 signatures are deterministic, SM2 ones
 * derive their nonces from the key and the message), so the
 * output is byte-identical on every run. `--check` compares instead of writing and exits 1 on
 * any difference (a test runs it).
 *
 *   npm run gen:vectors            # rewrite the vectors
 *   npm run gen:vectors -- --check # verify the committed vectors are what the code generates
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateHashingVectors } from './vectors/hashing.js';
import { generateMerkleVectors } from './vectors/merkle.js';
import { generate as generateNoteVectors } from './vectors/notes.js';
import { generate as generateReceiptVectors } from './vectors/receipts.js';
import { generate as generateBlockVectors } from './vectors/blocks.js';
import { cosignatureVectors } from './vectors/cosignature.js';
import { generateGmVectors } from './vectors/gm.js';
import { VectorSet, vectorText } from './vectors/write.js';

export const VECTORS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'contracts-free-ledger', 'vectors');

/** The vector families, each a directory under vectors/. */
const FAMILIES: Array<[string, (set: VectorSet) => void | Promise<void>]> = [
  ['hashing', generateHashingVectors],
  ['inclusion+consistency', generateMerkleVectors],
  ['checkpoint+verifier-key', generateNoteVectors],
  ['receipt+tlog-proof+example', generateReceiptVectors],
  ['block+block-chain', generateBlockVectors],
  ['cosignature', (set) => {
    for (const v of cosignatureVectors()) set.add(`cosignature/${v.name}`, v.value);
  }],
  // The 国密 suite's vectors, under gm/ (SPEC.md#crypto-suites).
  ['gm', generateGmVectors],
];

/** generateAll builds the complete vector set in memory. */
export async function generateAll(): Promise<VectorSet> {
  const set = new VectorSet();
  for (const [, gen] of FAMILIES) await gen(set);
  return set;
}

function listJson(dir: string): string[] {
  let out: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out = out.concat(listJson(p));
    else if (n.endsWith('.json')) out.push(p);
  }
  return out;
}

/** compareWithDisk returns human-readable differences between `set` and the committed files. */
export function compareWithDisk(set: VectorSet, dir = VECTORS_DIR): string[] {
  const diffs: string[] = [];
  const onDisk = new Set(listJson(dir).map((f) => relative(dir, f).replace(/\.json$/, '')));
  for (const [path, value] of set.files) {
    if (!onDisk.has(path)) {
      diffs.push(`missing: ${path}.json`);
      continue;
    }
    onDisk.delete(path);
    if (readFileSync(join(dir, `${path}.json`), 'utf8') !== vectorText(value)) diffs.push(`differs: ${path}.json`);
  }
  for (const extra of onDisk) diffs.push(`not generated: ${extra}.json`);
  return diffs;
}

function writeAll(set: VectorSet, dir = VECTORS_DIR): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, value] of set.files) {
    const file = join(dir, `${path}.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, vectorText(value));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const set = await generateAll();
  if (process.argv.includes('--check')) {
    const diffs = compareWithDisk(set);
    for (const d of diffs.slice(0, 50)) console.error(d);
    if (diffs.length > 0) {
      console.error(`gen-vectors --check: ${diffs.length} difference(s); run npm run gen:vectors`);
      process.exit(1);
    }
    console.log(`gen-vectors --check: ${set.files.size} vectors match`);
  } else {
    writeAll(set);
    const counts = new Map<string, number>();
    for (const p of set.files.keys()) counts.set(p.split('/')[0]!, (counts.get(p.split('/')[0]!) ?? 0) + 1);
    console.log(`wrote ${set.files.size} vectors to ${relative(process.cwd(), VECTORS_DIR)}: ${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
}
