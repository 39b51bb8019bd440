/**
 * The ONE error mapper of the HTTP API (STYLE.md §4, docs/api.md#errors). Every error leaves as
 * `application/problem+json` (RFC 9457):
 *
 *     { type, title, status, detail, code?, field?, errors? }
 *
 * `code` is a stable machine-readable code (the core's closed {@link ErrorCode} union plus the
 * HTTP-level codes below); `field` names the offending input (`meta.caseId`, `entries[3].digest.hex`,
 * `index`), `errors` lists every invalid field when there are several. Internal errors (plain
 * `Error`s: bugs, storage failures) are logged and answered with an opaque 500.
 */
import type { ErrorRequestHandler, Response } from 'express';
import type { ZodError } from 'zod';
import { LedgerError, type ErrorCode } from '../core/errors.js';
import { LogClosedError, OverloadedError } from '../log/sequencer.js';
import { StoreUnavailableError } from '../storage/store.js';

/** Codes the HTTP layer adds to the core's {@link ErrorCode}. */
export type HttpOnlyCode =
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'MALFORMED_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'BODY_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'CONFLICT'
  | 'LOGIN_FAILED'
  | 'LOGIN_THROTTLED'
  | 'CSRF_REJECTED'
  | 'PASSWORD_CHANGE_REQUIRED'
  | 'PASSWORD_WEAK'
  | 'OVERLOADED'
  | 'STORAGE_FULL'
  | 'RECEIPT_PENDING'
  | 'READ_ONLY_REPLICA'
  | 'UNAVAILABLE'
  | 'INTERNAL';

/** Every `code` a problem document can carry: a closed union. */
export type ProblemCode = ErrorCode | HttpOnlyCode;

/** The body of a problem document (RFC 9457 plus the `code`, `field` and `errors` extensions). */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ProblemCode;
  readonly field?: string;
  readonly errors?: ReadonlyArray<{ readonly field: string; readonly detail: string }>;
}

const TITLES: Record<HttpOnlyCode | 'INPUT_INVALID' | 'ENTRY_INVALID' | 'DIGEST_MISMATCH', string> = {
  INPUT_INVALID: 'Invalid input',
  ENTRY_INVALID: 'Invalid entry',
  DIGEST_MISMATCH: 'Digest mismatch',
  UNAUTHORIZED: 'Unauthorized',
  FORBIDDEN: 'Forbidden',
  NOT_FOUND: 'Not found',
  METHOD_NOT_ALLOWED: 'Method not allowed',
  MALFORMED_JSON: 'Malformed JSON',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  BODY_TOO_LARGE: 'Content too large',
  RATE_LIMITED: 'Too many requests',
  CONFLICT: 'Conflict',
  LOGIN_FAILED: 'Sign-in failed',
  LOGIN_THROTTLED: 'Too many failed sign-ins',
  CSRF_REJECTED: 'Cross-site request refused',
  PASSWORD_CHANGE_REQUIRED: 'Password change required',
  PASSWORD_WEAK: 'Password too weak',
  OVERLOADED: 'Log overloaded',
  STORAGE_FULL: 'Storage full',
  RECEIPT_PENDING: 'Receipt pending',
  READ_ONLY_REPLICA: 'Read-only replica',
  UNAVAILABLE: 'Service unavailable',
  INTERNAL: 'Internal server error',
};

/** The problem `type` URI of a code: a relative reference, documented in docs/api.md#problem-types. */
export function problemType(code: ProblemCode): string {
  return `/problems/${code.toLowerCase().replace(/_/g, '-')}`;
}

/** An error the HTTP layer raises on purpose: it carries its status, code, field and headers. */
export class HttpProblem extends Error {
  readonly status: number;
  readonly code: ProblemCode;
  readonly field: string | undefined;
  readonly errors: ReadonlyArray<{ field: string; detail: string }> | undefined;
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    status: number,
    code: ProblemCode,
    detail: string,
    options: { field?: string; errors?: ReadonlyArray<{ field: string; detail: string }>; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
    this.status = status;
    this.code = code;
    this.field = options.field;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

/** Where a validated value came from; body fields are named by their JSON path, the others by name. */
export type InputLocation = 'path' | 'query' | 'body';

/** formatPath renders a zod issue path as `meta.caseId` / `entries[3].digest.hex`. */
export function formatPath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** Most issues listed in `errors`. */
const MAX_LISTED = 20;

/**
 * zodProblem turns a failed validation into a 400 `INPUT_INVALID` naming the first bad field.
 * Unknown keys are named individually (`meta.colour`), so the field is always a real path.
 */
export function zodProblem(error: ZodError, location: InputLocation): HttpProblem {
  const listed: Array<{ field: string; detail: string }> = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) listed.push({ field: formatPath([...issue.path, key]), detail: `unknown ${location === 'body' ? 'field' : `${location} parameter`}` });
    } else {
      const field = formatPath(issue.path);
      listed.push({ field: field === '' ? (location === 'body' ? 'body' : location) : field, detail: issue.message });
    }
  }
  const first = listed[0] ?? { field: location, detail: 'invalid' };
  return new HttpProblem(400, 'INPUT_INVALID', `${first.field}: ${first.detail}`, {
    field: first.field,
    ...(listed.length > 1 ? { errors: listed.slice(0, MAX_LISTED) } : {}),
  });
}

interface BodyParserError {
  readonly type: string;
  readonly status: number;
  readonly limit?: number;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return typeof err === 'object' && err !== null && typeof (err as { type?: unknown }).type === 'string' && typeof (err as { status?: unknown }).status === 'number';
}

/** Options of the mapper. */
export interface MapperOptions {
  /** `Retry-After` seconds for 503 overload. */
  readonly retryAfterSeconds: number;
  /** `Retry-After` seconds for 503 while storage refuses writes (default: `retryAfterSeconds`). */
  readonly storageRetryAfterSeconds?: number;
}

/**
 * toProblem maps any thrown value to its problem status, headers and body. The only place where
 * statuses are chosen for errors:
 *
 * - {@link HttpProblem}: as raised;
 * - LedgerError `INPUT_INVALID`/`ENTRY_INVALID` → 400, `DIGEST_MISMATCH` → 422; any other core
 *   code here means the log could not prove its own state → 500;
 * - {@link OverloadedError} → 503 + `Retry-After`; a closed log (shutting down) → 503;
 * - {@link StoreUnavailableError} (disk full, failed write, store down) → 503 + `Retry-After`,
 *   `STORAGE_FULL` for a full disk, else `UNAVAILABLE`; nothing was written;
 * - body-parser errors: too large → 413, unparsable → 400 `MALFORMED_JSON`, unsupported charset or
 *   encoding → 415, aborted → 400; other express client errors (bad percent-encoding) → 400;
 * - anything else → 500 `INTERNAL` (the caller logs it; the detail is never leaked).
 */
export function toProblem(err: unknown, options: MapperOptions): { problem: Problem; headers: Record<string, string>; internal: boolean } {
  const make = (status: number, code: ProblemCode, detail: string, extra: Partial<Problem> = {}, headers: Record<string, string> = {}, internal = false) => ({
    problem: { type: problemType(code), title: titleOf(code), status, detail, code, ...extra },
    headers,
    internal,
  });
  if (err instanceof HttpProblem) {
    return make(err.status, err.code, err.message, { ...(err.field !== undefined ? { field: err.field } : {}), ...(err.errors ? { errors: err.errors } : {}) }, { ...err.headers });
  }
  if (err instanceof OverloadedError) {
    return make(503, 'OVERLOADED', 'the log is overloaded; retry later', {}, { 'Retry-After': String(options.retryAfterSeconds) });
  }
  if (err instanceof StoreUnavailableError) {
    const retry = { 'Retry-After': String(options.storageRetryAfterSeconds ?? options.retryAfterSeconds) };
    return err.full
      ? make(503, 'STORAGE_FULL', 'the log cannot write: its disk is full; nothing was anchored, retry later (reads and proofs still work)', {}, retry)
      : make(503, 'UNAVAILABLE', 'the log cannot write right now (a storage write failed); the submission was not acknowledged: retry later (look it up by digest first if a duplicate matters)', {}, retry);
  }
  if (err instanceof LedgerError) {
    switch (err.code) {
      case 'INPUT_INVALID':
      case 'ENTRY_INVALID':
        return make(400, err.code, err.message, fieldOf(err.message));
      case 'DIGEST_MISMATCH':
        return make(422, err.code, err.message);
      default:
        return make(500, 'INTERNAL', 'internal error', {}, {}, true);
    }
  }
  if (isBodyParserError(err)) {
    switch (err.type) {
      case 'entity.too.large':
        return make(413, 'BODY_TOO_LARGE', `request body is larger than the limit of ${err.limit ?? '?'} bytes`, { field: 'body' });
      case 'entity.parse.failed':
        return make(400, 'MALFORMED_JSON', 'request body is not valid JSON (or not a JSON object)', { field: 'body' });
      case 'charset.unsupported':
      case 'encoding.unsupported':
        return make(415, 'UNSUPPORTED_MEDIA_TYPE', 'unsupported charset or content encoding; send UTF-8 JSON, optionally gzip or deflate encoded');
      case 'request.aborted':
      case 'request.size.invalid':
        return make(400, 'INPUT_INVALID', 'request body was cut short', { field: 'body' });
    }
  }
  if (err instanceof URIError || (typeof err === 'object' && err !== null && (err as { status?: unknown }).status === 400)) {
    // Express/router's own client errors, e.g. a path parameter with broken percent-encoding.
    return make(400, 'INPUT_INVALID', 'malformed request (e.g. invalid percent-encoding in the path)');
  }
  if (err instanceof LogClosedError) {
    return make(503, 'UNAVAILABLE', 'the log is shutting down', {}, { 'Retry-After': String(options.retryAfterSeconds) });
  }
  return make(500, 'INTERNAL', 'internal error', {}, {}, true);
}

function titleOf(code: ProblemCode): string {
  return (TITLES as Record<string, string>)[code] ?? 'Internal server error';
}

/** A core message `path: …` names its field (`record.readings[2]: got NaN, …`). */
function fieldOf(message: string): { field?: string } {
  const m = /^([A-Za-z_][\w.[\]]*): /.exec(message);
  return m?.[1] !== undefined ? { field: m[1] } : {};
}

/** sendProblem writes a problem document. */
export function sendProblem(res: Response, problem: Problem, headers: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
}

/**
 * errorHandler is the app's final middleware: it maps the error with {@link toProblem}, reports
 * internal ones to `log`, and answers. If headers were already sent, it drops the connection.
 */
export function errorHandler(options: MapperOptions, log: (message: string, err: unknown) => void): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const { problem, headers, internal } = toProblem(err, options);
    if (internal) log(`http: ${req.method} ${req.path} failed`, err);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendProblem(res, problem, headers);
  };
}
