/**
 * Operations: health, Prometheus metrics and the OpenAPI document. See docs/api.md#operations.
 */
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { defineRoute, sendJson, type Route } from '../route.js';
import { decimalString } from '../schemas.js';

/** Zod schema of GET /healthz. */
export const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']).describe('degraded: the last checkpoint publication failed (it is retried)'),
  size: decimalString.describe('entries durably in the log'),
  checkpointSize: decimalString.describe('tree size of the latest signed checkpoint'),
  queued: z.int().describe('entries waiting for the next flush'),
});

/** The operations routes of one app; `openapi` renders the document (built lazily, once). */
export function opsRoutes(ctx: AppContext, openapi: () => unknown): Route[] {
  const { ledger, metrics } = ctx;
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
        const degraded = ledger.publisher.lastError !== undefined;
        sendJson(
          res,
          degraded ? 503 : 200,
          { status: degraded ? 'degraded' : 'ok', size: ledger.sequencer.size.toString(), checkpointSize: ledger.checkpointSize.toString(), queued: ledger.sequencer.queued },
          { 'Cache-Control': 'no-store' },
        );
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
