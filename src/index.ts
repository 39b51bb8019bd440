/**
 * Guzheng as a library: the ledger over a store, the HTTP app, and the core formats.
 * The browser-safe verifier is the separate entry point `guzheng/verifier`.
 */
export { Ledger, MAX_PAGE, type EntryInput, type AppendResult, type StoredEntry, type LedgerOptions } from './log/ledger.js';
export { OverloadedError, LogClosedError, type SequencerOptions } from './log/sequencer.js';
export { WaitTimeoutError } from './log/publisher.js';
export { StartupError } from './log/recover.js';
export { LevelStore, MemoryStore, StoreLockedError, type LedgerStore, type AppendBatch, type ApiKeyRecord } from './storage/index.js';
export { createApp, type AppDeps } from './http/app.js';
export type { HttpConfig } from './http/config.js';
export { startService, type RunningService } from './server.js';
export { loadConfig, DEFAULTS, type ServiceConfig } from './config.js';
export { installNodeCrypto } from './platform/node-crypto.js';
export * as core from './core/index.js';
