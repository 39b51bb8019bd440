/**
 * Prometheus metrics of a witness (docs/witness.md#metrics), on a per-app prom-client
 * {@link Registry}, never the global one. Per-log series are labelled by origin; origins come only
 * from the configuration, so label cardinality is bounded by it.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WitnessedLogs } from './config.js';
import type { WitnessState } from './state.js';

/** The metrics of one witness app. */
export interface WitnessMetrics {
  readonly registry: Registry;
  /** Count one add-checkpoint answer and its duration. `origin` only for configured origins. */
  addCheckpoint(status: number, seconds: number, origin?: string): void;
  /** Count one request refused by the per-IP rate limit. */
  rateLimited(): void;
  /** Count one refused, log-signed request kept as evidence. */
  evidence(origin: string): void;
}

/**
 * createWitnessMetrics registers the witness metrics on `registry` (a new one by default),
 * reading the latest cosigned sizes and times from `state` when scraped.
 */
export function createWitnessMetrics(state: WitnessState, logs: WitnessedLogs, registry: Registry = new Registry()): WitnessMetrics {
  collectDefaultMetrics({ register: registry, prefix: 'guzheng_witness_' });
  const requests = new Counter({
    name: 'guzheng_witness_add_checkpoint_total',
    help: 'add-checkpoint answers by HTTP status (200 cosigned; 400/403/404/409/413/422/429 refused)',
    labelNames: ['status'],
    registers: [registry],
  });
  const perLog = new Counter({
    name: 'guzheng_witness_log_add_checkpoint_total',
    help: 'add-checkpoint answers per witnessed log origin and HTTP status',
    labelNames: ['origin', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'guzheng_witness_add_checkpoint_seconds',
    help: 'time to answer add-checkpoint, including the fsync of the new state',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const limited = new Counter({ name: 'guzheng_witness_rate_limited_total', help: 'requests refused with 429 by the per-IP rate limit', registers: [registry] });
  const evidence = new Counter({
    name: 'guzheng_witness_evidence_total',
    help: 'log-signed checkpoints refused as inconsistent (422) and kept as possible evidence of misbehaviour',
    labelNames: ['origin'],
    registers: [registry],
  });
  new Gauge({
    name: 'guzheng_witness_logs',
    help: 'number of logs this witness is configured to cosign for',
    registers: [registry],
    collect() {
      this.set(logs.size);
    },
  });
  new Gauge({
    name: 'guzheng_witness_cosigned_size',
    help: 'tree size of the latest checkpoint cosigned, per log origin',
    labelNames: ['origin'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of state.all()) if (logs.has(r.origin)) this.set({ origin: r.origin }, Number(r.size));
    },
  });
  new Gauge({
    name: 'guzheng_witness_cosigned_timestamp_seconds',
    help: 'time (POSIX seconds) of the latest cosignature, per log origin',
    labelNames: ['origin'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of state.all()) if (logs.has(r.origin)) this.set({ origin: r.origin }, Number(r.time));
    },
  });
  return {
    registry,
    addCheckpoint(status, seconds, origin) {
      requests.inc({ status: String(status) });
      if (origin !== undefined && logs.has(origin)) perLog.inc({ origin, status: String(status) });
      duration.observe(seconds);
    },
    rateLimited() {
      limited.inc();
    },
    evidence(origin) {
      if (logs.has(origin)) evidence.inc({ origin });
    },
  };
}
