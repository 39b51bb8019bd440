/**
 * Route specifications: one object per operation holds its method, path, access rule, the zod
 * schemas of its path/query/body and responses, and its handler. {@link mountRoutes} turns them
 * into express routes (auth → rate limit → validation → handler); src/http/openapi.ts turns the
 * very same objects into /openapi.json, so the documented contract is the enforced one.
 * Handlers only ever see the parsed zod output.
 */
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { Role } from '../auth/api-keys.js';
import type { LedgerStore } from '../storage/store.js';
import { principalOf, requireRole, requireSession, type AuthOptions, type Principal } from './auth.js';
import { HttpProblem, zodProblem, type InputLocation } from './errors.js';
import type { RateLimiter } from './rate-limit.js';

/**
 * Who may call a route: anyone; a signed-in user only, of any role (`session`: the session
 * routes, open while a password change is pending); or an API key or signed-in user with one of
 * these roles (admin implies all).
 */
export type Access = 'public' | 'session' | readonly Role[];

/** One documented response. */
export interface ResponseSpec {
  readonly description: string;
  /** JSON schema source of the body (omit for non-JSON or empty bodies). */
  readonly schema?: z.ZodType;
  /** Default `application/json` when `schema` is given. */
  readonly contentType?: string;
  /** Response headers worth documenting: name → description. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A JSON request body, validated by `schema`, at most `limitBytes`. */
export interface JsonBody<B extends z.ZodType> {
  readonly kind: 'json';
  readonly schema: B;
  readonly limitBytes: number;
  /**
   * An accept-only fast path for the hot routes: the parsed output when the body certainly
   * satisfies `schema` (equal to what zod would return), else undefined and zod decides (and
   * words the 400). Must never accept what `schema` rejects; tests compare it with zod.
   */
  readonly fast?: (body: unknown) => z.output<B> | undefined;
}

/** A raw request body the handler streams itself (documents). */
export interface RawBody {
  readonly kind: 'raw';
  readonly description: string;
  readonly limitBytes: number;
  /** The media types the handler accepts, each with its body schema (for OpenAPI only); default any. */
  readonly mediaTypes?: Readonly<Record<string, z.ZodType>>;
}

/** What a handler gets: parsed inputs, the authenticated caller (if any), and the raw req/res. */
export interface RouteContext<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** The API key or signed-in user; undefined on public routes. Its `id` is the entries' `submitter`. */
  readonly principal: Principal | undefined;
  readonly req: Request;
  readonly res: Response;
}

type EmptyObject = z.ZodObject<{}, z.core.$strict>;

/** One API operation. Paths use OpenAPI templates (`/v1/entries/{index}`). */
export interface RouteSpec<P extends z.ZodType = EmptyObject, Q extends z.ZodType = EmptyObject, B extends z.ZodType = z.ZodUndefined> {
  readonly method: 'get' | 'post' | 'delete';
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly access: Access;
  readonly params?: P;
  /** Query parameters; unknown ones are rejected (400). No schema means no parameters at all. */
  readonly query?: Q;
  readonly body?: JsonBody<B> | RawBody;
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  /** Error statuses this route can answer besides the automatic ones (401/403/429 for keyed routes, 415/413 for bodies, 500). */
  readonly errors?: readonly number[];
  handle(ctx: RouteContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<void> | void;
}

/** A route spec with its types erased, as kept in route tables. */
export type Route = RouteSpec<z.ZodType, z.ZodType, z.ZodType>;

/** defineRoute checks a route spec's types and erases them for the route table. */
export function defineRoute<P extends z.ZodType = EmptyObject, Q extends z.ZodType = EmptyObject, B extends z.ZodType = z.ZodUndefined>(spec: RouteSpec<P, Q, B>): Route {
  return spec as unknown as Route;
}

const NO_PARAMS = z.strictObject({});

function parse<S extends z.ZodType>(schema: S, value: unknown, location: InputLocation): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw zodProblem(r.error, location);
  return r.data;
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/** expressPath turns `/v1/entries/{index}` into `/v1/entries/:index`. */
export function expressPath(path: string): string {
  return path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ':$1');
}

/** sendJson answers `status` with `value` as JSON (no bigint may be left in it). */
export function sendJson(res: Response, status: number, value: unknown, headers: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(status).type('application/json').send(JSON.stringify(value));
}

/** What mounting needs from the app. */
export interface MountOptions {
  readonly store: LedgerStore;
  readonly limiter: RateLimiter | undefined;
  /** Session clock and timeouts (default: wall clock, 8 h idle, 24 h absolute). */
  readonly auth?: AuthOptions;
}

function tooLarge(limitBytes: number): HttpProblem {
  return new HttpProblem(413, 'BODY_TOO_LARGE', `request body is larger than the limit of ${limitBytes} bytes`, { field: 'body', headers: { Connection: 'close' } });
}

/**
 * limitedJson parses a JSON body (express.json: UTF-8, gzip/deflate, strict) of at most
 * `limitBytes`, and refuses a larger one AT ONCE: when Content-Length declares more, before
 * reading a byte; when more arrives (chunked, or a body that lies about its length), as soon as
 * it has. body-parser on its own reads a refused body to its very end before answering (so a
 * 64 MiB+1 upload was read whole to be told 413, and an endless chunked body was read forever).
 * The answer carries `Connection: close`; the rest of the body is never read.
 */
export function limitedJson(limitBytes: number): RequestHandler {
  const parser = express.json({ limit: limitBytes, strict: true, type: () => true });
  return (req, res, next) => {
    const declared = req.get('content-length');
    if (declared !== undefined && /^[0-9]+$/.test(declared) && Number(declared) > limitBytes) {
      next(tooLarge(limitBytes));
      return;
    }
    let done = false;
    let seen = 0;
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen <= limitBytes || done) return;
      done = true;
      req.off('data', onData);
      next(tooLarge(limitBytes));
    };
    parser(req, res, (err?: unknown) => {
      req.off('data', onData);
      if (done) return;
      done = true;
      next(err);
    });
    // After the parser: it attaches its own listener first, so no byte is missed.
    if (!done) req.on('data', onData);
  };
}

function jsonBody(limitBytes: number): RequestHandler[] {
  const parser = limitedJson(limitBytes);
  const checkType: RequestHandler = (req, _res, next) => {
    // req.is() is null when there is no body at all; an empty body counts as none.
    const is = req.is('application/json');
    if (is === null || req.get('content-length') === '0') {
      throw new HttpProblem(400, 'INPUT_INVALID', 'body: missing, want a JSON object (Content-Type: application/json)', { field: 'body' });
    }
    if (is === false) {
      throw new HttpProblem(415, 'UNSUPPORTED_MEDIA_TYPE', `got Content-Type ${JSON.stringify(req.get('content-type') ?? '')}, want application/json`, { field: 'Content-Type' });
    }
    next();
  };
  return [checkType, parser];
}

/**
 * mountRoutes registers every route on `app` in order, then a 405 answer (with `Allow`) for the
 * other methods of each known path. Per route: metrics label → auth + rate limit (keyed routes) →
 * path and query validation → body (415 for a wrong Content-Type, 413 over the limit, then
 * validation) → handler. Nothing reaches a handler unvalidated.
 */
export function mountRoutes(app: Express, routes: readonly Route[], o: MountOptions): void {
  const methods = new Map<string, Set<string>>();
  for (const r of routes) {
    const params = r.params ?? NO_PARAMS;
    const query = r.query ?? NO_PARAMS;
    const inputs = (req: Request, res: Response) => {
      res.locals.params = r.params === undefined && isEmpty(req.params) ? {} : parse(params, { ...req.params }, 'path');
      res.locals.query = parse(query, { ...(req.query as object) }, 'query');
    };
    // As few middleware layers as the steps allow: express dispatches each layer separately, and
    // on a single-entry submit that dispatch was a measurable share of the request (scenario 2).
    const auth = r.access === 'public' ? undefined : r.access === 'session' ? requireSession(o.store, o.limiter, o.auth) : requireRole(o.store, r.access, o.limiter, o.auth);
    const chain: RequestHandler[] = [
      (req, res, next) => {
        res.locals.route = r.path;
        const validated = (err?: unknown) => {
          if (err !== undefined) return next(err);
          inputs(req, res);
          next();
        };
        return auth === undefined ? validated() : auth(req, res, validated);
      },
    ];
    const body = r.body?.kind === 'json' ? r.body : undefined;
    if (body !== undefined) chain.push(...jsonBody(body.limitBytes));
    chain.push(async (req, res) => {
      if (body !== undefined) res.locals.body = body.fast?.(req.body) ?? parse(body.schema, req.body, 'body');
      await r.handle({ params: res.locals.params, query: res.locals.query, body: res.locals.body, principal: principalOf(res), req, res });
    });
    app[r.method](expressPath(r.path), ...chain);
    const set = methods.get(r.path) ?? new Set<string>();
    set.add(r.method.toUpperCase());
    if (r.method === 'get') set.add('HEAD');
    methods.set(r.path, set);
  }
  for (const [path, set] of methods) {
    const allow = [...set].join(', ');
    app.all(expressPath(path), (req, res) => {
      res.locals.route = path;
      throw new HttpProblem(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}; allowed: ${allow}`, { headers: { Allow: allow } });
    });
  }
}
