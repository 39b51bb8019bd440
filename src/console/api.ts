/**
 * The console's one way to the service (docs/console-api.md): same-origin fetches of JSON, with
 * the session cookie sent by the browser and the session's CSRF token added to every request that
 * changes state. A refusal becomes an {@link ApiError} carrying the problem's `code`, so pages
 * word it in the reader's language (src/console/problems.ts).
 */

/** A refusal or failure of one request (RFC 9457 problem, or a network failure: status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  /** Seconds, from Retry-After, when the service said when to retry. */
  readonly retryAfter: number | undefined;
  constructor(status: number, code: string, detail: string, field?: string, retryAfter?: number) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }
}

let csrfToken: string | undefined;

/** setCsrfToken remembers the signed-in session's token (undefined when signed out). */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** request sends one request and returns the raw Response when it is a success, else throws ApiError. */
export async function request(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (!SAFE.has(method) && csrfToken !== undefined) headers['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', err instanceof Error ? err.message : String(err));
  }
  if (res.ok) return res;
  let code = `HTTP_${res.status}`;
  let detail = res.statusText;
  let field: string | undefined;
  try {
    const p = (await res.json()) as { code?: unknown; detail?: unknown; field?: unknown };
    if (typeof p.code === 'string') code = p.code;
    if (typeof p.detail === 'string') detail = p.detail;
    if (typeof p.field === 'string') field = p.field;
  } catch {
    // Not a problem document (a proxy's page): keep the status.
  }
  const ra = Number(res.headers.get('Retry-After'));
  throw new ApiError(res.status, code, detail, field, Number.isFinite(ra) && ra > 0 ? ra : undefined);
}

/** getJson fetches and parses a JSON document. */
export async function getJson<T>(path: string): Promise<T> {
  return (await (await request('GET', path)).json()) as T;
}

/** sendJson sends `body` with `method` and parses the JSON answer (undefined for 204). */
export async function sendJson<T>(method: 'POST' | 'DELETE' | 'PUT', path: string, body?: unknown): Promise<T | undefined> {
  const res = await request(method, path, body);
  if (res.status === 204) return undefined;
  const text = await res.text();
  return text === '' ? undefined : (JSON.parse(text) as T);
}

/** q builds a query string from the defined values. */
export function q(params: Record<string, string | number | undefined>): string {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') s.set(k, String(v));
  const text = s.toString();
  return text === '' ? '' : `?${text}`;
}

/** saveFile offers `text` as a download named `name` (a Blob URL: nothing leaves the page). */
export function saveFile(name: string, text: string, type = 'application/json'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
