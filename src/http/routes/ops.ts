/**
 * Operations: health, Prometheus metrics and the OpenAPI document. See docs/api.md#operations.
 */
import { z } from 'zod';
import type { AppContext, MirrorView, ReplicaView } from '../context.js';
import { defineRoute, sendJson, type Route } from '../route.js';
import { decimalString } from '../schemas.js';

/** Zod schema of GET /healthz. */
export const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']).describe('degraded: storage refuses writes, or the last checkpoint publication failed (it is retried)'),
  size: decimalString.describe('entries durably in the log'),
  checkpointSize: decimalString.describe('tree size of the latest signed checkpoint'),
  queued: z.int().describe('entries waiting for the next flush'),
  storage: z
    .enum(['ok', 'full', 'failed', 'down'])
    .describe('ok; full: the disk is full, submissions get 503 STORAGE_FULL, reads work; failed: a write failed, submissions get 503 until the store reopens, reads work; down: the store could not reopen, reads fail too'),
  since: z.string().optional().describe('when storage left ok (ISO 8601)'),
  detail: z.string().optional().describe('what is degraded, for operators'),
  tsa: z
    .enum(['ok', 'degraded', 'off'])
    .describe('RFC 3161 time stamping: off (no TSA configured), ok, degraded (the last attempt failed; retried with backoff). Anchoring never waits for it, so it does not change status'),
  tsaDetail: z
    .object({
      consecutiveFailures: z.int().optional(),
      lastSuccessAt: z.string().optional(),
      lastError: z.string().optional(),
      lastStampedHeight: decimalString.optional(),
      unstampedBlocks: z.int().optional(),
    })
    .optional()
    .describe('present when a TSA is configured'),
  witnesses: z
    .string()
    .regex(/^[0-9]+\/[0-9]+$/)
    .optional()
    .describe('k/n: of the n witnesses of the policy, k answered the last checkpoint submitted to them with a valid cosignature. Present when a witness policy is configured; like tsa, never changes status'),
  witnessedSize: decimalString.optional().describe('size of the newest checkpoint cosigned to the policy quorum (what receipts are proved against)'),
  witnessDetail: z
    .array(
      z.object({
        name: z.string(),
        url: z.string(),
        cosignedSize: decimalString.optional(),
        lastCosignedAt: z.string().optional(),
        consecutiveFailures: z.int(),
        lastError: z.string().optional(),
        anomalies: z.int().describe('answers the log could not explain (a rolled-back or corrupt witness state); each is logged and kept as evidence'),
        requests: z.record(z.string(), z.int()),
      }),
    )
    .optional(),
  mirror: z
    .enum(['ok', 'lagging', 'failing'])
    .optional()
    .describe(
      'The S3 mirror (GUZHENG_MIRROR): ok; lagging: the oldest checkpoint not yet mirrored was signed more than 60 s ago; failing: the last pass failed (retried with backoff; nothing is lost). Present when a mirror is configured. Anchoring never waits for it (strict mode holds back receipts, not entries), so like tsa it never changes status',
    ),
  mirrorDetail: z
    .object({
      lagEntries: decimalString.describe('entries signed into a checkpoint but not yet in the bucket'),
      lagSeconds: z.number().describe('seconds since the oldest checkpoint not yet mirrored was signed (0 when caught up)'),
      uploadedSize: decimalString.describe('size of the checkpoint object in the bucket'),
      failures: z.int().describe('passes failed in a row'),
      lastError: z.string().optional().describe('why the last pass failed (absent when it succeeded)'),
      strict: z.boolean().describe('GUZHENG_MIRROR_STRICT: receipts wait until the mirror holds their entry'),
    })
    .optional()
    .describe('present when a mirror is configured'),
  replica: z
    .object({
      of: z.string().describe('the mirror followed, s3://BUCKET/PREFIX'),
      primary: z.string().optional().describe('the primary, when configured (GUZHENG_PRIMARY_URL): where writes go'),
      state: z
        .enum(['catching-up', 'following', 'failing', 'halted'])
        .describe('following: at the bucket\'s checkpoint as of the last poll; catching-up: applying a backlog; failing: polls fail (retried with backoff); halted: the bucket rolled back, forked or holds an altered object: no longer followed (status degraded, 503), what was verified is still served'),
      verifiedSize: decimalString.describe('size of the checkpoint verified and served'),
      bucketSize: decimalString.describe("size of the bucket's checkpoint, as last read"),
      lagEntries: decimalString.describe("entries in the bucket's checkpoint not yet served"),
      lagSeconds: z.number().describe("seconds since the replica last held the bucket's newest checkpoint (0 while it does)"),
      failures: z.int().describe('polls failed in a row'),
      lastError: z.string().optional(),
      halt: z
        .object({
          at: z.string(),
          reason: z.string(),
          code: z.string(),
          key: z.string().optional().describe('the object at fault'),
          smaller: z.string().optional().describe('rollback or fork: the smaller (or equal) signed checkpoint'),
          larger: z.string().optional().describe('rollback or fork: the larger signed checkpoint'),
          proof: z.array(z.string()).optional(),
        })
        .optional()
        .describe('why the replica halted: the evidence'),
    })
    .optional()
    .describe('present on a read replica (GUZHENG_REPLICA_OF, docs/scaling.md#read-replicas)'),
});

const STORAGE_DETAIL = {
  full: 'the disk is full: submissions are refused (503 STORAGE_FULL) until space is freed; reads and proofs work',
  failed: 'a storage write failed: submissions are refused (503) until the store has been reopened (retried automatically); reads and proofs work',
  down: 'the store could not be reopened after a failed write: reads and writes are refused (503) until it can (retried automatically)',
} as const;

/** mirrorHealth is the mirror's part of /healthz: its state, and the lag in entries and seconds. */
function mirrorHealth(view: MirrorView): Pick<z.infer<typeof healthSchema>, 'mirror' | 'mirrorDetail'> {
  const m = view.status();
  return {
    mirror: m.state,
    mirrorDetail: {
      lagEntries: m.lagEntries.toString(),
      lagSeconds: Math.round(m.lagSeconds * 1000) / 1000,
      uploadedSize: m.uploadedSize.toString(),
      failures: m.failures,
      ...(m.lastError !== undefined ? { lastError: m.lastError } : {}),
      strict: view.strict,
    },
  };
}

/** replicaHealth is a read replica's part of /healthz. */
function replicaHealth(view: ReplicaView): Pick<z.infer<typeof healthSchema>, 'replica'> {
  const r = view.status();
  return {
    replica: {
      of: r.of,
      ...(r.primary !== undefined ? { primary: r.primary } : {}),
      state: r.state,
      verifiedSize: r.verifiedSize.toString(),
      bucketSize: r.bucketSize.toString(),
      lagEntries: r.lagEntries.toString(),
      lagSeconds: Math.round(r.lagSeconds * 1000) / 1000,
      failures: r.failures,
      ...(r.lastError !== undefined ? { lastError: r.lastError } : {}),
      ...(r.halt !== undefined ? { halt: { ...r.halt, proof: r.halt.proof === undefined ? undefined : [...r.halt.proof] } } : {}),
    },
  };
}

/**
 * healthReport is what GET /healthz answers (also the base of GET /v1/admin/health): the body,
 * and whether the service is degraded (storage refuses writes, or the last publication failed).
 */
export function healthReport(ctx: AppContext): { degraded: boolean; body: z.infer<typeof healthSchema> } {
  const { ledger } = ctx;
  const storage = ctx.store.health();
  const publishing = ledger.publisher.lastError !== undefined;
  const halted = ctx.replica?.status().state === 'halted';
  const degraded = publishing || storage.state !== 'ok' || halted;
  const detail =
    storage.state !== 'ok'
      ? STORAGE_DETAIL[storage.state]
      : publishing
        ? 'the last checkpoint publication failed; it is retried'
        : halted
          ? 'this read replica halted: the mirror it follows rolled back, forked or holds an altered object (replica.halt); it serves what it verified before'
          : undefined;
  const { state: tsaState, ...tsaDetail } = ctx.tsa.status();
  const w = ledger.witnesses;
  const witnessDetail = w?.status() ?? [];
  const healthyWitnesses = witnessDetail.filter((x) => x.consecutiveFailures === 0 && x.cosignedSize !== undefined).length;
  return {
    degraded,
    body: {
      status: degraded ? 'degraded' : 'ok',
      size: ledger.sequencer.size.toString(),
      checkpointSize: ledger.checkpointSize.toString(),
      queued: ledger.sequencer.queued,
      storage: storage.state,
      ...(storage.since !== undefined ? { since: storage.since } : {}),
      ...(detail !== undefined ? { detail } : {}),
      tsa: tsaState,
      ...(tsaState === 'off' ? {} : { tsaDetail }),
      ...(w === undefined ? {} : { witnesses: `${healthyWitnesses}/${w.count}`, ...(w.witnessed ? { witnessedSize: w.witnessed.size.toString() } : {}), witnessDetail }),
      ...(ctx.mirror === undefined ? {} : mirrorHealth(ctx.mirror)),
      ...(ctx.replica === undefined ? {} : replicaHealth(ctx.replica)),
    },
  };
}

/** The operations routes of one app; `openapi` renders the document (built lazily, once). */
export function opsRoutes(ctx: AppContext, openapi: () => unknown): Route[] {
  const { metrics } = ctx;
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      operationId: 'health',
      tag: 'operations',
      summary: 'Liveness and log progress',
      access: 'public',
      responses: { 200: { description: 'healthy', schema: healthSchema }, 503: { description: 'degraded', schema: healthSchema } },
      handle({ res }) {
        const { degraded, body } = healthReport(ctx);
        sendJson(res, degraded ? 503 : 200, body, { 'Cache-Control': 'no-store' });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      tag: 'operations',
      summary: 'Prometheus metrics (text exposition format)',
      access: 'public',
      responses: { 200: { description: 'metrics', contentType: 'text/plain; version=0.0.4; charset=utf-8', schema: z.string() } },
      async handle({ res }) {
        const text = await metrics.registry.metrics();
        res.status(200).setHeader('Cache-Control', 'no-store').type(metrics.registry.contentType).send(text);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/openapi.json',
      operationId: 'openapi',
      tag: 'operations',
      summary: 'This API as an OpenAPI 3.1 document',
      access: 'public',
      responses: { 200: { description: 'OpenAPI 3.1', schema: z.record(z.string(), z.unknown()) } },
      handle({ res }) {
        sendJson(res, 200, openapi());
      },
    }),
  ];
}
