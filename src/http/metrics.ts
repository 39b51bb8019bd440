/**
 * Prometheus metrics (docs/api.md#metrics) on a per-app prom-client {@link Registry}, never the
 * global one, so several apps (tests, a second log) never share counters. Log metrics are read
 * from the ledger when scraped; request metrics are observed when each response finishes, labelled
 * by the route template (`/v1/entries/{index}`, or `unmatched`) so label cardinality stays bounded.
 */
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Ledger } from '../log/ledger.js';
import type { MirrorView, TsaView } from './context.js';

/** The metrics of one app. */
export interface HttpMetrics {
  readonly registry: Registry;
  /** Middleware observing every request's count and duration by method, route and status. */
  readonly middleware: RequestHandler;
  /** Count `bytes` of a streamed document (hashed, whether anchored or not). */
  documentBytes(bytes: number): void;
}

/**
 * createMetrics registers the Guzheng metrics on `registry` (a new one by default).
 * Requires: `registry` holds no metric of the same names (one app per registry).
 */
export function createMetrics(ledger: Ledger, tsa: TsaView, registry: Registry = new Registry(), mirror?: MirrorView): HttpMetrics {
  const stats = ledger.sequencer.stats;
  const counterFrom = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const gaugeFrom = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  counterFrom('guzheng_entries_appended_total', 'Entries durably appended since start.', () => stats.entries);
  counterFrom('guzheng_flushes_total', 'Group-commit flushes (one fsynced storage batch each) since start.', () => stats.flushes);
  counterFrom('guzheng_flush_failures_total', 'Flushes whose storage write failed since start.', () => stats.failedFlushes);
  counterFrom('guzheng_checkpoints_published_total', 'Checkpoints signed and sealed in blocks since start.', () => ledger.publisher.published);
  gaugeFrom('guzheng_queue_depth', 'Entries queued for the next flush.', () => ledger.sequencer.queued);
  gaugeFrom('guzheng_last_flush_entries', 'Entries written by the last flush.', () => stats.lastFlushEntries);
  gaugeFrom('guzheng_log_size', 'Entries integrated (durable) in the log.', () => Number(ledger.sequencer.size));
  gaugeFrom('guzheng_checkpoint_size', 'Tree size of the latest signed checkpoint.', () => Number(ledger.publisher.latest?.checkpoint.checkpoint.size ?? 0n));
  gaugeFrom('guzheng_block_height', 'Height of the latest block.', () => Number(ledger.publisher.latest?.block.height ?? 0n));
  gaugeFrom('guzheng_storage_writable', 'Whether storage accepts writes (0 while the disk is full or after a failed write, until the store reopens).', () => (ledger.store.health().state === 'ok' ? 1 : 0));
  gaugeFrom('guzheng_tsa_up', 'Time stamping: 1 ok, 0 degraded (the last attempt failed), -1 off (no TSA configured).', () => ({ ok: 1, degraded: 0, off: -1 })[tsa.status().state]);
  gaugeFrom('guzheng_tsa_unstamped_blocks', 'Published blocks after the last time-stamped one.', () => tsa.status().unstampedBlocks ?? 0);
  gaugeFrom('guzheng_tsa_last_success_timestamp_seconds', 'When the last time-stamp token was kept (Unix seconds; 0 before the first).', () => {
    const at = tsa.status().lastSuccessAt;
    return at === undefined ? 0 : Date.parse(at) / 1000;
  });
  new Counter({
    name: 'guzheng_tsa_requests_total',
    help: 'RFC 3161 requests by TSA and outcome (ok; unavailable: no answer, timeout or HTTP error; invalid: a reply that failed a check; untrusted: a token not chaining to the pinned roots; error: a good token the log could not store).',
    labelNames: ['tsa', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const r of tsa.requests()) this.inc({ tsa: r.tsa, outcome: r.outcome }, r.count);
    },
  });
  new Counter({
    name: 'guzheng_witness_requests_total',
    help: 'add-checkpoint requests to each witness by outcome (cosigned; conflict: a 409 retried from the size named; refused: 422 or a 409 loop; unavailable: no answer in time; error).',
    labelNames: ['witness', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const w of ledger.witnesses?.status() ?? []) for (const [outcome, n] of Object.entries(w.requests)) this.inc({ witness: w.name, outcome }, n);
    },
  });
  new Gauge({
    name: 'guzheng_witness_cosigned_size',
    help: 'The size each witness last cosigned (as far as the log knows).',
    labelNames: ['witness'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const w of ledger.witnesses?.status() ?? []) if (w.cosignedSize !== undefined) this.set({ witness: w.name }, Number(w.cosignedSize));
    },
  });
  new Counter({
    name: 'guzheng_witness_anomalies_total',
    help: 'Witness answers the log could not explain (rolled-back or corrupt state), by witness.',
    labelNames: ['witness'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const w of ledger.witnesses?.status() ?? []) this.inc({ witness: w.name }, w.anomalies);
    },
  });
  gaugeFrom('guzheng_witnessed_size', 'Size of the newest checkpoint cosigned to the witness quorum (0 before the first, or without witnesses).', () => Number(ledger.witnesses?.witnessed?.size ?? 0n));
  // The S3 mirror (docs/scaling.md): present whether or not one is configured, like the TSA's.
  gaugeFrom('guzheng_mirror_up', 'S3 mirror: 1 ok or lagging (the last pass succeeded), 0 failing (the last pass failed; retried with backoff), -1 off (no mirror configured).', () =>
    mirror === undefined ? -1 : mirror.status().state === 'failing' ? 0 : 1,
  );
  gaugeFrom('guzheng_mirror_lag_entries', 'Entries signed into a checkpoint but not yet mirrored.', () => Number(mirror?.status().lagEntries ?? 0n));
  gaugeFrom('guzheng_mirror_lag_seconds', 'Seconds since the oldest checkpoint not yet mirrored was signed (0 when caught up).', () => mirror?.status().lagSeconds ?? 0);
  gaugeFrom('guzheng_mirror_uploaded_size', 'Size of the checkpoint object in the bucket (as far as this process knows).', () => Number(mirror?.status().uploadedSize ?? 0n));
  counterFrom('guzheng_mirror_uploads_total', 'Objects the mirror wrote to the store since start (write-once objects and checkpoint replacements).', () => mirror?.counters().uploads ?? 0);
  counterFrom('guzheng_mirror_upload_failures_total', 'Mirror passes that failed since start (store unreachable, credentials refused, a conflict); each is retried with backoff.', () => mirror?.counters().failedPasses ?? 0);
  const docBytes = new Counter({ name: 'guzheng_document_bytes_total', help: 'Document bytes streamed and hashed.', registers: [registry] });
  const requests = new Counter({
    name: 'guzheng_http_requests_total',
    help: 'HTTP requests by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'guzheng_http_request_duration_seconds',
    help: 'HTTP request durations by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  // The labelled children, one per (method, route, status): prom-client hashes a label object on
  // every call, which cost ~8% of a single-entry submit (benchmark scenario 2). Route labels are
  // templates and methods/statuses few, so this map stays small.
  const children = new Map<string, { count: () => void; observe: (seconds: number) => void }>();
  const childFor = (method: string, route: string, status: number) => {
    const key = `${method} ${status} ${route}`;
    let c = children.get(key);
    if (c === undefined) {
      const labels = { method, route, status: String(status) };
      const counter = requests.labels(labels);
      const histogram = durations.labels(labels);
      c = { count: () => counter.inc(), observe: (s) => histogram.observe(s) };
      children.set(key, c);
    }
    return c;
  };
  const middleware: RequestHandler = (req, res, next) => {
    const start = performance.now();
    res.once('finish', () => {
      const c = childFor(req.method, typeof res.locals.route === 'string' ? res.locals.route : 'unmatched', res.statusCode);
      c.count();
      c.observe((performance.now() - start) / 1000);
    });
    next();
  };
  return { registry, middleware, documentBytes: (n) => docBytes.inc(n) };
}
