/**
 * The tlog-tiles request handler, independent of any HTTP framework: a path in, `{status,
 * headers, body}` out. The HTTP layer mounts it under `/tile/` next to `/checkpoint`; the same
 * bytes are what `guzheng export-tiles` writes as static files.
 *
 * - Full tiles are immutable: `Cache-Control: public, max-age=31536000, immutable`.
 * - Partial tiles never change either, but are superseded once the full tile exists, so they get
 *   a short lifetime (`public, max-age=60`).
 * - Anything beyond the latest published checkpoint is 404 (a client then uses a smaller partial
 *   tile, exactly as c2sp.org/tlog-tiles prescribes).
 * - Entry bundles carry entry metadata: they are served only when `entriesPublic` or
 *   `authorized` (the HTTP layer checks the API key role), and never to shared caches
 *   (`private`) unless public.
 * - A malformed or non-canonical path is 400 (problem+json): a tile has exactly one path.
 *
 * See contracts-free-ledger/SPEC.md#tiles.
 */
import { isLedgerError } from '../core/errors.js';
import { parseTilePath, TILE_WIDTH, type Tile } from '../core/tiles.js';
import type { LedgerStore } from '../storage/store.js';
import { readTileBytes } from './read.js';

/** What {@link handleTileRequest} needs. */
export interface TileContext {
  readonly store: LedgerStore;
  /** The size of the latest published (signed) checkpoint: nothing beyond it is served. */
  readonly checkpointSize: bigint;
  /** Serve entry bundles without authorization (default false). */
  readonly entriesPublic?: boolean;
  /** The request carries an API key allowed to read entries (audit or admin role). */
  readonly authorized?: boolean;
}

/** A framework-neutral response. */
export interface TileResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** Cache-Control of a full tile: it never changes. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Cache-Control of a partial tile. */
export const PARTIAL = 'public, max-age=60';

/** isEntryBundlePath says whether a request path names an entry bundle (so it needs a role). */
export function isEntryBundlePath(path: string): boolean {
  return /^\/?tile\/entries\//.test(path);
}

function problem(status: number, code: string, title: string, detail: string, extra: Record<string, string> = {}): TileResponse {
  const body = { type: `/problems/${code.toLowerCase().replace(/_/g, '-')}`, title, status, detail, code, field: 'path' };
  return {
    status,
    headers: { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store', ...extra },
    body: new TextEncoder().encode(JSON.stringify(body)),
  };
}

function cacheControl(tile: Tile, isPublic: boolean): string {
  const full = tile.width === TILE_WIDTH;
  if (isPublic) return full ? IMMUTABLE : PARTIAL;
  return full ? 'private, max-age=31536000, immutable' : 'private, max-age=60';
}

/**
 * handleTileRequest answers one GET of `path` (e.g. `/tile/0/x001/234.p/7` or
 * `tile/entries/000`): 200 with the tile bytes (`application/octet-stream`), 400 for a path
 * that is not exactly a tlog-tiles path, 401 for an entry bundle without authorization, 404 for
 * a tile not available at `checkpointSize`. Storage errors propagate (the caller answers 500).
 *
 * @example
 * const r = await handleTileRequest(req.path, { store, checkpointSize: ledger.checkpointSize, authorized });
 * res.status(r.status).set(r.headers).send(Buffer.from(r.body));
 */
export async function handleTileRequest(path: string, ctx: TileContext): Promise<TileResponse> {
  let tile: Tile;
  try {
    tile = parseTilePath(path);
  } catch (err) {
    if (!isLedgerError(err)) throw err;
    return problem(400, 'INPUT_INVALID', 'Invalid input', err.message);
  }
  const isPublic = tile.kind === 'hash' || ctx.entriesPublic === true;
  if (!isPublic && ctx.authorized !== true) {
    return problem(401, 'UNAUTHORIZED', 'Unauthorized', 'entry bundles need an API key with the audit role: send Authorization: Bearer <key>', {
      'WWW-Authenticate': 'Bearer realm="guzheng"',
    });
  }
  const body = await readTileBytes(ctx.store, tile, ctx.checkpointSize);
  if (body === undefined) {
    return problem(404, 'NOT_FOUND', 'Not found', `tile ${path.replace(/^\//, '')} is not available at the latest checkpoint size ${ctx.checkpointSize}`);
  }
  return {
    status: 200,
    headers: { 'Content-Type': 'application/octet-stream', 'Cache-Control': cacheControl(tile, isPublic), 'Content-Length': String(body.length) },
    body,
  };
}
