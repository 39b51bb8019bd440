/** The pure ledger core (no I/O): formats, hashing, Merkle proofs, notes, checkpoints, blocks, receipts. */
export * from './bytes.js';
export * from './errors.js';
export { sha256, useSha256, ed25519PublicKey, ed25519Sign, ed25519Verify, useEd25519, type Ed25519Functions, type Sha256Function } from './crypto.js';
export * from './merkle/index.js';
export * from './note.js';
export * from './checkpoint.js';
export * from './entry/index.js';
export * from './block.js';
export * from './receipt.js';
export * from './tlog-proof.js';
export * from './tiles.js';
