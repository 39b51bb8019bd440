/**
 * The OpenAPI 3.1 document of the API, generated from the route table: the same zod schemas
 * that validate requests (converted with zod 4's `z.toJSONSchema`, JSON Schema 2020-12, which is
 * OpenAPI 3.1's dialect). Request schemas are rendered as their input side (decimal strings as
 * strings), response schemas as their output side. See docs/api.md.
 */
import { z } from 'zod';
import { SESSION_COOKIE } from '../auth/sessions.js';
import type { Route } from './route.js';
import { problemSchema } from './schemas.js';

/** Document metadata. */
export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
  readonly description?: string;
}

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  delete out.$schema;
  return out;
}

/** The fields of an object schema, for listing parameters one by one. */
function fields(schema: z.ZodType | undefined): Array<[string, z.ZodType]> {
  if (schema === undefined) return [];
  if (!(schema instanceof z.ZodObject)) throw new Error('openapi: path and query schemas must be zod objects');
  return Object.entries(schema.shape as Record<string, z.ZodType>);
}

function parameters(route: Route): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, schema] of [['path', route.params], ['query', route.query]] as const) {
    for (const [name, field] of fields(schema)) {
      const s = jsonSchema(field, 'input');
      const description = typeof s.description === 'string' ? s.description : undefined;
      delete s.description;
      out.push({ name, in: where, required: where === 'path' || !field.safeParse(undefined).success, ...(description ? { description } : {}), schema: s });
    }
  }
  return out;
}

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };

const ERROR_TEXT: Record<number, string> = {
  400: 'invalid input (problem names the field)',
  401: 'no valid API key or session (missing, malformed, unknown, revoked or ended)',
  403: 'the caller lacks the role; or, for a session: CSRF check failed (CSRF_REJECTED) or password change pending (PASSWORD_CHANGE_REQUIRED)',
  409: 'conflict',
  404: 'not found',
  405: 'method not allowed',
  413: 'body too large',
  415: 'wrong Content-Type',
  422: 'content does not match',
  429: 'rate limited (Retry-After)',
  500: 'internal error',
  503: 'overloaded, shutting down or pending (Retry-After)',
};

function operation(route: Route): JsonSchema {
  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(route.responses)) {
    responses[status] = {
      description: r.description,
      ...(r.headers ? { headers: Object.fromEntries(Object.entries(r.headers).map(([k, d]) => [k, { description: d, schema: { type: 'string' } }])) } : {}),
      ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: jsonSchema(r.schema, 'output') } } } : {}),
    };
  }
  const errors = new Set<number>([...(route.errors ?? []), 500]);
  if (route.access !== 'public') [401, 403, 429].forEach((s) => errors.add(s));
  const security = route.access === 'public' ? [] : route.access === 'session' ? [{ session: [] }] : [{ bearer: [] }, { session: [] }];
  if (route.body !== undefined) [413, ...(route.body.kind === 'json' ? [400, 415] : [])].forEach((s) => errors.add(s));
  if (route.query !== undefined || route.params !== undefined) errors.add(400);
  for (const status of [...errors].sort((a, b) => a - b)) {
    responses[String(status)] ??= { description: ERROR_TEXT[status] ?? 'error', content: { 'application/problem+json': { schema: PROBLEM_REF } } };
  }
  const op: JsonSchema = {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    security,
    ...(route.access !== 'public' && route.access !== 'session' ? { 'x-roles': [...new Set([...route.access, 'admin'])] } : {}),
    parameters: parameters(route),
    responses,
  };
  if (route.body?.kind === 'json') {
    op.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(route.body.schema, 'input') } } };
  } else if (route.body?.kind === 'raw') {
    const types = route.body.mediaTypes;
    const content = types ? Object.fromEntries(Object.entries(types).map(([t, s]) => [t, { schema: jsonSchema(s, 'input') }])) : { '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } };
    op.requestBody = { required: true, description: `${route.body.description}, at most ${route.body.limitBytes} bytes`, content };
  }
  return op;
}

/**
 * buildOpenApi renders the OpenAPI 3.1 document of `routes`. Requires: path and query schemas are
 * zod objects; each (path, method) appears once.
 */
export function buildOpenApi(routes: readonly Route[], info: OpenApiInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const item = (paths[route.path] ??= {});
    if (item[route.method] !== undefined) throw new Error(`openapi: ${route.method.toUpperCase()} ${route.path} defined twice`);
    item[route.method] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, ...(info.description ? { description: info.description } : {}) },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas: { Problem: jsonSchema(problemSchema, 'output') },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'an API key (gzk_…) with the role the operation needs; admin implies every role' },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: SESSION_COOKIE,
          description:
            "a signed-in user's session (POST /v1/session), with the user's role. A request with this cookie and a method other than GET, HEAD or OPTIONS must also send X-CSRF-Token (the session's csrfToken) and no foreign Origin, else 403 CSRF_REJECTED; while the user must change the password, every operation but the /v1/session ones answers 403 PASSWORD_CHANGE_REQUIRED. A bearer key on the same request wins. See docs/console-api.md",
        },
      },
    },
  };
}
