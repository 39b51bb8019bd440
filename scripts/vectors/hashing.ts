/**
 * Hashing known answers: the RFC 6962 / certificate-transparency 8-leaf reference tree (leaf
 * inputs, leaf hashes, roots for sizes 0..8) and its published audit paths, so an independent
 * verifier can check its primitives before it checks anything else (cf. Go tlog ct_test.go).
 */
import { fromHex, toHex } from '../../src/core/bytes.js';
import { CompactRange, buildProof, hashLeaf, planConsistency, planInclusion, type NodeId } from '../../src/core/merkle/index.js';
import type { VectorSet } from './write.js';

const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];

/** generateHashingVectors adds hashing/rfc6962-*.json. */
export function generateHashingVectors(set: VectorSet): void {
  const nodes = new Map<string, Uint8Array>();
  const range = CompactRange.empty();
  const roots = [toHex(range.root())];
  const leafHashes: string[] = [];
  for (const l of CT_LEAVES) {
    const h = hashLeaf(fromHex(l));
    leafHashes.push(toHex(h));
    for (const n of range.append(h)) nodes.set(`${n.level}/${n.index}`, n.hash);
    roots.push(toHex(range.root()));
  }
  const read = (ids: readonly NodeId[]) => ids.map((id) => nodes.get(`${id.level}/${id.index}`)!);
  set.add('hashing/rfc6962-roots', {
    desc: 'RFC 6962 reference leaves: leafHash[i] = SHA-256(0x00 || leaf[i]); roots[n] = MTH of the first n leaves (roots[0] = SHA-256 of the empty string)',
    leaves: CT_LEAVES,
    leafHashes,
    roots,
    wantErr: false,
  });
  const paths: Record<string, string[]> = {};
  for (let n = 1n; n <= 8n; n++) {
    for (let m = 0n; m < n; m++) {
      const p = planInclusion(m, n);
      paths[`${m}/${n}`] = buildProof(p, read(p.ids)).map(toHex);
    }
  }
  set.add('hashing/rfc6962-inclusion', {
    desc: 'audit paths PATH(m, D[n]) in the RFC 6962 reference tree, keyed "m/n"; CT-compatible (e.g. 5/8 and 0/8 match the certificate-transparency reference data)',
    paths,
    wantErr: false,
  });
  const proofs: Record<string, string[]> = {};
  for (let n = 1n; n <= 8n; n++) {
    for (let m = 1n; m < n; m++) {
      const p = planConsistency(m, n);
      proofs[`${m}/${n}`] = buildProof(p, read(p.ids)).map(toHex);
    }
  }
  set.add('hashing/rfc6962-consistency', {
    desc: 'consistency proofs PROOF(m, D[n]) in the RFC 6962 reference tree, keyed "m/n"',
    proofs,
    wantErr: false,
  });
}
