/**
 * Mounts the C2SP tlog-tiles read API (`GET /tile/<L>/<N>[.p/<W>]`, `GET /tile/entries/<N>[.p/<W>]`)
 * beside `/checkpoint`. Paths have a variable number of segments, so this sits outside the
 * route-spec table (docs/api.md documents it); the bytes come from src/tiles without rebuilding
 * anything. Hash tiles are public; entry bundles need the audit role (admin implies it).
 */
import type { Express, RequestHandler } from 'express';
import { handleTileRequest, isEntryBundlePath } from '../tiles/index.js';
import { requireRole } from './auth.js';
import type { AppContext } from './context.js';
import type { RateLimiter } from './rate-limit.js';

/** mountTiles adds the tile routes to `app`. */
export function mountTiles(app: Express, ctx: AppContext, limiter: RateLimiter | undefined): void {
  const auditOnly = requireRole(ctx.store, ['audit'], limiter);
  const serve: RequestHandler = async (req, res) => {
    res.locals.route = isEntryBundlePath(req.path) ? '/tile/entries/{N}' : '/tile/{L}/{N}';
    const r = await handleTileRequest(req.path, { store: ctx.store, checkpointSize: ctx.ledger.checkpointSize, authorized: true });
    res.status(r.status).set(r.headers).send(Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength));
  };
  app.get(/^\/tile\/entries\//, auditOnly, serve);
  app.get(/^\/tile\//, serve);
}
