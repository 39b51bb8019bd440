/**
 * Storage: the one narrow port of the ledger and its two implementations (DESIGN.md §3;
 * contracts-free-ledger/SPEC.md#storage). The key layout lives in keys.ts.
 */
export type { AppendBatch, ApiKeyRecord, LedgerStore, StoreHealth } from './store.js';
export { StoreUnavailableError } from './store.js';
export { LevelStore, StoreLayoutError, StoreLockedError } from './level.js';
export { MemoryStore } from './memory.js';
