/**
 * What every route factory receives: the ledger, the store (for API keys and attachments), the
 * resolved configuration and the app's metrics. Built once per app by createApp; no module state.
 */
import type { Policy } from '../core/policy.js';
import type { Ledger } from '../log/ledger.js';
import type { MirrorCounters, MirrorStatus } from '../mirror/mirror.js';
import type { ReplicaStatus } from '../mirror/replica.js';
import type { LedgerStore } from '../storage/store.js';
import type { ResolvedHttpConfig } from './config.js';
import type { HttpMetrics } from './metrics.js';
import type { BlockEvents } from './routes/explorer-events.js';

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

/** What GET /v1/admin/health shows of the HJ 212 gateway running in the same process. */
export interface Hj212View {
  /** Undefined while the gateway is not running (not configured, not started yet, closed). */
  status(): { readonly address: string; readonly connections: number; readonly maxConnections: number } | undefined;
}

/** What /healthz, /metrics and the receipt routes need of the S3 mirror (src/mirror, docs/scaling.md). */
export interface MirrorView {
  /** Strict mode (GUZHENG_MIRROR_STRICT): a receipt is handed out only once the mirror holds its entry. */
  readonly strict: boolean;
  /** How far behind the mirror is, and why. */
  status(): MirrorStatus;
  /** What it did since start (monotonic). */
  counters(): MirrorCounters;
  /** The size of the newest checkpoint mirrored: entries below it are in the bucket. */
  uploadedSize(): bigint;
  /** Resolves once the first `size` entries are mirrored; rejects after `timeoutMs`. */
  waitUploaded(size: bigint, timeoutMs: number): Promise<void>;
}

/**
 * What the HTTP layer sees of a read replica (src/mirror/replica.ts, docs/scaling.md#read-replicas):
 * its state for /healthz. With one, every write route answers 409 READ_ONLY_REPLICA.
 */
export interface ReplicaView {
  status(): ReplicaStatus;
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
  /**
   * The service's public base URL (GUZHENG_PUBLIC_URL, `https://host[/path]`, no trailing slash):
   * what certificates' QR codes and links use. Undefined: the URL each request came in on.
   */
  readonly publicUrl?: string;
  /** The HJ 212 gateway of this process, if any (GET /v1/admin/health). */
  readonly hj212?: Hj212View;
  /** The S3 mirror, when one is configured (GUZHENG_MIRROR). */
  readonly mirror?: MirrorView;
  /** This service is a read replica of a mirror (GUZHENG_REPLICA_OF). */
  readonly replica?: ReplicaView;
  /** The app's block event feed (GET /v1/events); the explorer routes make one when absent. */
  readonly events?: BlockEvents;
}
