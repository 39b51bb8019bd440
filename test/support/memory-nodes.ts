/**
 * An in-memory node store fed by CompactRange's emitted writes. Like tlog_test's
 * testHashStorage it asserts access patterns: reading a node that was never written (an
 * imperfect subtree, or beyond the tree) throws, so a plan that asks for it fails loudly.
 */
import { CompactRange } from '../../src/core/merkle/compact.js';
import { hashLeaf } from '../../src/core/merkle/hash.js';
import type { NodeId } from '../../src/core/merkle/node.js';

export class MemoryNodes {
  readonly nodes = new Map<string, Uint8Array>();
  readonly range = CompactRange.empty();
  readonly leaves: Uint8Array[] = [];
  reads = 0;

  appendData(data: Uint8Array): void {
    this.appendLeafHash(hashLeaf(data));
  }

  appendLeafHash(leafHash: Uint8Array): void {
    this.leaves.push(leafHash);
    for (const n of this.range.append(leafHash)) {
      const key = `${n.level}/${n.index}`;
      if (this.nodes.has(key)) throw new Error(`node ${key} written twice`);
      this.nodes.set(key, n.hash);
    }
  }

  read(ids: readonly NodeId[]): Uint8Array[] {
    return ids.map((id) => {
      const h = this.nodes.get(`${id.level}/${id.index}`);
      if (h === undefined) throw new Error(`read of unwritten node ${id.level}/${id.index}`);
      this.reads++;
      return h;
    });
  }
}

/** Deterministic test leaves: leaf data i = "leaf-<i>". */
export function testLeafData(i: number): Uint8Array {
  return new TextEncoder().encode(`leaf-${i}`);
}
