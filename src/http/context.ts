/**
 * What every route factory receives: the ledger, the store (for API keys and attachments), the
 * resolved configuration and the app's metrics. Built once per app by createApp; no module state.
 */
import type { Policy } from '../core/policy.js';
import type { Ledger } from '../log/ledger.js';
import type { LedgerStore } from '../storage/store.js';
import type { ResolvedHttpConfig } from './config.js';
import type { HttpMetrics } from './metrics.js';

/** What /healthz, /metrics and the verifiers need of the log's time stamping (src/tsa/stamper.ts). */
export interface TsaView {
  /** The TSA root certificates (DER) the log pins (GUZHENG_TSA_CA); empty when none. */
  readonly roots: readonly Uint8Array[];
  /** `off` when no TSA is configured; `degraded` after a failed attempt, until a stamp succeeds. */
  status(): {
    readonly state: 'ok' | 'degraded' | 'off';
    readonly consecutiveFailures?: number;
    readonly lastSuccessAt?: string;
    readonly lastError?: string;
    readonly lastStampedHeight?: string;
    readonly unstampedBlocks?: number;
  };
  /** Requests made, per TSA URL and outcome (`ok`, `unavailable`, `invalid`, `untrusted`, `error`). */
  requests(): ReadonlyArray<{ readonly tsa: string; readonly outcome: string; readonly count: number }>;
}

/** The dependencies routes close over. */
export interface AppContext {
  readonly ledger: Ledger;
  /** The log's time stamping (a view that is `off` when no TSA is configured). */
  readonly tsa: TsaView;
  /** The witness policy the log runs with, if any. */
  readonly policy?: Policy;
  readonly store: LedgerStore;
  readonly config: ResolvedHttpConfig;
  readonly metrics: HttpMetrics;
  /** Where internal errors are reported (never sent to clients). */
  readonly log: (message: string, err: unknown) => void;
}
