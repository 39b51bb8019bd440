/**
 * createApp builds the HTTP API (docs/api.md) as an express 5 application WITHOUT listening:
 * main.ts owns `listen`, timeouts and SIGTERM (STYLE.md §14). Everything an app uses comes from
 * its deps (ledger, store, config, metrics registry); nothing is kept in module state, so several
 * apps can live in one process (tests).
 */
import type { Server } from 'node:http';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import type { Ledger } from '../log/ledger.js';
import { MAX_PAGE } from '../log/ledger.js';
import type { LedgerStore } from '../storage/store.js';
import { resolveHttpConfig, type HttpConfig } from './config.js';
import type { AppContext, Hj212View, MirrorView, ReplicaView, TsaView } from './context.js';
import type { Policy } from '../core/policy.js';
import { HttpProblem, errorHandler } from './errors.js';
import { createMetrics } from './metrics.js';
import { buildOpenApi } from './openapi.js';
import { RateLimiter } from './rate-limit.js';
import { expressPath, mountRoutes, type Route } from './route.js';
import { mountTiles } from './tiles.js';
import { caseRoutes } from './routes/cases.js';
import { consoleAuthRoutes } from './routes/console-auth.js';
import { documentRoutes } from './routes/documents.js';
import { entryRoutes } from './routes/entries.js';
import { explorerRoutes } from './routes/explorer.js';
import { BlockEvents } from './routes/explorer-events.js';
import { hj212Routes } from './routes/hj212.js';
import { logRoutes } from './routes/log.js';
import { opsRoutes } from './routes/ops.js';
import { proofRoutes } from './routes/proofs.js';
import { verifyRoutes } from './routes/verify.js';
import { webRoutes } from './routes/web.js';
import { consoleRoutes } from './routes/console.js';

/** What createApp needs. */
export interface AppDeps {
  /** The open ledger (its store must be `store`). */
  readonly ledger: Ledger;
  /** The store holding the API keys. */
  readonly store: LedgerStore;
  readonly config: HttpConfig;
  /** A prom-client registry for this app's metrics (default: a new one; never the global one). */
  readonly registry?: Registry;
  /** Where internal errors are reported (default: console.error). Never sent to clients. */
  readonly log?: (message: string, err: unknown) => void;
  /** Clock for the rate limiter, in milliseconds (default performance.now). */
  readonly now?: () => number;
  /** The log's time stamping, when a TSA is configured (default: off, no pinned roots). */
  readonly tsa?: TsaView;
  /** The witness policy the log runs with: POST /v1/verify checks documents against it. */
  readonly policy?: Policy;
  /** The public base URL (GUZHENG_PUBLIC_URL) certificates and links use; default: the request's. */
  readonly publicUrl?: string;
  /** The HJ 212 gateway of this process, for GET /v1/admin/health. */
  readonly hj212?: Hj212View;
  /** The S3 mirror, when configured: /healthz, metrics, and receipts in strict mode. */
  readonly mirror?: MirrorView;
  /** A read replica's follower: /healthz, and every write refused (409 READ_ONLY_REPLICA). */
  readonly replica?: ReplicaView;
}

/** The one request a read replica takes with a body: checking a document (it writes nothing). */
const REPLICA_ACCEPTS = new Set(['post /v1/verify']);

/**
 * refuseWrites answers every write route of a read replica with 409 READ_ONLY_REPLICA, before
 * authentication (the primary's keys and users are not on a replica), naming the primary.
 */
function refuseWrites(app: Express, routes: readonly Route[], replica: ReplicaView): void {
  for (const r of routes) {
    if (r.method === 'get' || REPLICA_ACCEPTS.has(`${r.method} ${r.path}`)) continue;
    app[r.method](expressPath(r.path), (_req, res) => {
      res.locals.route = r.path;
      const s = replica.status();
      const primary = s.primary !== undefined ? `send it to the primary, ${s.primary}` : 'send it to the primary (its URL is not configured here: GUZHENG_PRIMARY_URL)';
      throw new HttpProblem(409, 'READ_ONLY_REPLICA', `this service is a read replica of ${s.of}: it anchors, signs and changes nothing; ${primary}`);
    });
  }
}

/** The time stamping view of a log without a TSA. */
export const TSA_OFF: TsaView = { roots: [], status: () => ({ state: 'off' }), requests: () => [] };

/** An express app with the route table and metrics registry it was built from. */
export type GuzhengApp = Express & {
  readonly routes: readonly Route[];
  readonly registry: Registry;
  /** closeStreams ends the open event streams (GET /v1/events), so that closing the server does not wait for them. */
  closeStreams(): void;
};

/**
 * closeHttpServer stops `server` taking requests and resolves once those in flight are answered:
 * the app's event streams (which never end on their own) are ended first, idle keep-alive
 * connections closed at once, and any connection still open after 10 s closed.
 */
export function closeHttpServer(server: Server, app: Pick<GuzhengApp, 'closeStreams'>): Promise<void> {
  return new Promise<void>((resolve) => {
    app.closeStreams();
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 10_000).unref();
  });
}

/** The OpenAPI document's info block. */
const INFO = {
  title: 'Guzheng evidence-anchoring log API',
  version: '1.0.0',
  description:
    'Tamper-evident evidence anchoring over an RFC 9162 Merkle log with C2SP signed checkpoints. Indexes, sizes and heights are canonical decimal strings; hashes are 64 lowercase hex digits. Errors are RFC 9457 application/problem+json.',
};

/** buildRoutes returns the whole route table of an app (also what /openapi.json describes). */
export function buildRoutes(ctx: AppContext): Route[] {
  let doc: unknown;
  const routes: Route[] = [
    ...entryRoutes(ctx),
    ...documentRoutes(ctx),
    ...proofRoutes(ctx),
    ...logRoutes(ctx),
    ...caseRoutes(ctx),
    ...verifyRoutes(ctx),
    ...hj212Routes(ctx),
    ...explorerRoutes(ctx),
    ...webRoutes(ctx),
    ...consoleAuthRoutes(ctx),
    ...consoleRoutes(ctx),
    ...opsRoutes(ctx, () => (doc ??= buildOpenApi(routes, INFO))),
  ];
  return routes;
}

/**
 * createApp wires the routes, auth, limits, metrics and the one error mapper into a new express
 * app. Requires: `ledger` is open; `config` passes {@link resolveHttpConfig} (else it throws).
 * Does not listen.
 */
export function createApp(deps: AppDeps): GuzhengApp {
  const config = resolveHttpConfig(deps.config, MAX_PAGE);
  const log = deps.log ?? ((message: string, err: unknown) => console.error(message, err));
  const tsa = deps.tsa ?? TSA_OFF;
  const metrics = createMetrics(deps.ledger, tsa, deps.registry, deps.mirror);
  const events = new BlockEvents(deps.ledger);
  const ctx: AppContext = { ledger: deps.ledger, tsa, ...(deps.policy !== undefined ? { policy: deps.policy } : {}), store: deps.store, config, metrics, log, events, ...(deps.publicUrl !== undefined ? { publicUrl: deps.publicUrl } : {}), ...(deps.hj212 !== undefined ? { hj212: deps.hj212 } : {}), ...(deps.mirror !== undefined ? { mirror: deps.mirror } : {}), ...(deps.replica !== undefined ? { replica: deps.replica } : {}) };
  const limiter = config.rateLimitPerKey === 0 ? undefined : new RateLimiter({ ratePerSecond: config.rateLimitPerKey, burst: config.rateLimitBurst }, deps.now);
  const routes = buildRoutes(ctx);

  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    metrics.middleware(req, res, next);
  });
  if (deps.replica !== undefined) refuseWrites(app, routes, deps.replica);
  mountRoutes(app, routes, { store: deps.store, limiter });
  mountTiles(app, ctx, limiter);
  app.use((req) => {
    throw new HttpProblem(404, 'NOT_FOUND', `no route ${req.method} ${req.path}; see /openapi.json`);
  });
  const handle = errorHandler({ retryAfterSeconds: config.overloadRetryAfterSeconds, storageRetryAfterSeconds: config.storageRetryAfterSeconds }, log);
  app.use(((err, req, res, next) => {
    // A request body refused before it was read is not drained: close the connection instead.
    const cl = req.headers['content-length'];
    const hasBody = req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
    if (hasBody && !req.complete) res.setHeader('Connection', 'close');
    handle(err, req, res, next);
  }) as express.ErrorRequestHandler);
  return Object.assign(app, { routes, registry: metrics.registry, closeStreams: () => events.close() });
}
