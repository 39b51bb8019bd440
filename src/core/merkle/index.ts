/** Merkle log math (RFC 9162 §2.1): hashing, compact ranges, proof planning and verification. */
export { HASH_SIZE, emptyRoot, hashLeaf, hashChildren, treeHasher, SHA256_TREE, type TreeHasher } from './hash.js';
export { type NodeId, type NodeHash, nodeId, nodeCoverage, rangeNodes } from './node.js';
export { CompactRange, rightEdge, foldRight } from './compact.js';
export { type ProofPlan, planInclusion, planConsistency, buildProof } from './plan.js';
export { rootFromInclusionProof, verifyInclusion, rootsFromConsistencyProof, verifyConsistency } from './verify.js';
