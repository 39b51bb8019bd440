/**
 * A small HTTP client for the CLI: base URL and API key from flags or the environment
 * (GUZHENG_URL, GUZHENG_API_KEY), problem+json errors turned into readable messages.
 */
export interface ClientOptions {
  url?: string;
  apiKey?: string;
}

/** CliError carries an exit code: 1 for a failed operation, 2 for usage or unreadable input. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function baseUrl(o: ClientOptions): string {
  return (o.url ?? process.env.GUZHENG_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
}

function headers(o: ClientOptions, extra: Record<string, string> = {}): Record<string, string> {
  const key = o.apiKey ?? process.env.GUZHENG_API_KEY;
  return key ? { authorization: `Bearer ${key}`, ...extra } : extra;
}

/** requestBytes performs a GET and returns the raw body (for PDFs and HTML); throws CliError on non-2xx. */
export async function requestBytes(o: ClientOptions, path: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(baseUrl(o) + path, { headers: headers(o) });
  } catch (err) {
    throw new CliError(`cannot reach ${baseUrl(o)}: ${(err as Error).message} (is "guzheng serve" running? set --url or GUZHENG_URL)`);
  }
  const body = new Uint8Array(await res.arrayBuffer());
  if (!res.ok) {
    let detail = new TextDecoder().decode(body);
    try {
      const p = JSON.parse(detail) as { title?: string; detail?: string };
      detail = `${p.title ?? res.statusText}${p.detail ? `: ${p.detail}` : ''}`;
    } catch {
      // not problem+json: keep the text
    }
    throw new CliError(`GET ${path} failed with ${res.status}: ${detail}`);
  }
  return body;
}

/** request performs one HTTP call and returns the parsed JSON (or text) body; throws CliError on non-2xx. */
export async function request(o: ClientOptions, method: string, path: string, body?: { json?: unknown; bytes?: Uint8Array; contentType?: string }): Promise<unknown> {
  const url = baseUrl(o) + path;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: headers(o, body?.json !== undefined ? { 'content-type': 'application/json' } : body?.bytes ? { 'content-type': body.contentType ?? 'application/octet-stream' } : {}),
      ...(body?.json !== undefined ? { body: JSON.stringify(body.json) } : body?.bytes ? { body: body.bytes } : {}),
    });
  } catch (err) {
    throw new CliError(`cannot reach ${baseUrl(o)}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message} (is "guzheng serve" running? set --url or GUZHENG_URL)`);
  }
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  const parsed: unknown = type.includes('json') && text.length > 0 ? JSON.parse(text) : text;
  if (!res.ok) {
    const p = parsed as { title?: string; detail?: string; field?: string };
    const detail = typeof parsed === 'object' && parsed !== null ? `${p.title ?? res.statusText}${p.detail ? `: ${p.detail}` : ''}${p.field ? ` (field ${p.field})` : ''}` : text;
    throw new CliError(`${method} ${path} failed with ${res.status}: ${detail}`);
  }
  return parsed;
}
