/**
 * What every route factory receives: the ledger, the store (for API keys and attachments), the
 * resolved configuration and the app's metrics. Built once per app by createApp; no module state.
 */
import type { Ledger } from '../log/ledger.js';
import type { LedgerStore } from '../storage/store.js';
import type { ResolvedHttpConfig } from './config.js';
import type { HttpMetrics } from './metrics.js';

/** The dependencies routes close over. */
export interface AppContext {
  readonly ledger: Ledger;
  readonly store: LedgerStore;
  readonly config: ResolvedHttpConfig;
  readonly metrics: HttpMetrics;
  /** Where internal errors are reported (never sent to clients). */
  readonly log: (message: string, err: unknown) => void;
}
