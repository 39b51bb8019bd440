/**
 * Configuration of the HTTP API (docs/api.md#limits). Every field is optional; {@link resolveHttpConfig}
 * fills in the documented defaults. The service's config loader (src/config.ts) builds one of these;
 * the HTTP layer never reads the environment itself.
 */

/** Tunables of the HTTP API. */
export interface HttpConfig {
  /** Largest JSON body of `POST /v1/entries`, bytes. Default 1 MiB. */
  readonly maxJsonBytes?: number;
  /** Largest JSON body of `POST /v1/entries/batch`, bytes. Default 64 MiB. */
  readonly maxBatchJsonBytes?: number;
  /** Most entries in one batch (at most MAX_PAGE = 1,000). Default 1,000. */
  readonly maxBatchEntries?: number;
  /** Largest document streamed to `POST /v1/documents`, bytes. Default 2 GiB. */
  readonly maxDocumentBytes?: number;
  /** How long `?wait=receipt` and `GET /v1/receipts/{index}` wait for a covering checkpoint, ms. Default 10,000. */
  readonly receiptWaitMs?: number;
  /** Requests per second per API key (token bucket); 0 disables. Default 1,000. */
  readonly rateLimitPerKey?: number;
  /** Token bucket capacity per key. Default 2 × rateLimitPerKey (at least 1). */
  readonly rateLimitBurst?: number;
  /** `Retry-After` (seconds) sent with 503 overload answers. Default 1. */
  readonly overloadRetryAfterSeconds?: number;
  /** `Retry-After` (seconds) sent with 503 answers while storage refuses writes (disk full, I/O error). Default 5. */
  readonly storageRetryAfterSeconds?: number;
}

/** An {@link HttpConfig} with every default applied. */
export type ResolvedHttpConfig = { readonly [K in keyof HttpConfig]-?: Exclude<HttpConfig[K], undefined> };

/** The defaults of {@link HttpConfig} (`rateLimitBurst` 0 here means "2 × rateLimitPerKey"). */
export const HTTP_DEFAULTS: ResolvedHttpConfig = {
  maxJsonBytes: 1 << 20,
  maxBatchJsonBytes: 64 << 20,
  maxBatchEntries: 1000,
  maxDocumentBytes: 2 * 1024 ** 3,
  receiptWaitMs: 10_000,
  rateLimitPerKey: 1000,
  rateLimitBurst: 0,
  overloadRetryAfterSeconds: 1,
  storageRetryAfterSeconds: 5,
};

function positiveInt(value: number, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new Error(`http config: ${what} got ${value}, want an integer in [1, ${max}]`);
  return value;
}

/**
 * resolveHttpConfig applies the defaults of {@link HTTP_DEFAULTS} and checks every value.
 * Requires: sizes and counts are positive safe integers; `maxBatchEntries` <= `maxPage`;
 * `rateLimitPerKey` >= 0 (finite). Throws a plain Error naming the bad field otherwise.
 */
export function resolveHttpConfig(config: HttpConfig = {}, maxPage = 1000): ResolvedHttpConfig {
  const given = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
  const c = { ...HTTP_DEFAULTS, ...given } as ResolvedHttpConfig;
  positiveInt(c.maxJsonBytes, 'maxJsonBytes');
  positiveInt(c.maxBatchJsonBytes, 'maxBatchJsonBytes');
  positiveInt(c.maxBatchEntries, 'maxBatchEntries', maxPage);
  positiveInt(c.maxDocumentBytes, 'maxDocumentBytes');
  positiveInt(c.receiptWaitMs, 'receiptWaitMs');
  positiveInt(c.overloadRetryAfterSeconds, 'overloadRetryAfterSeconds');
  positiveInt(c.storageRetryAfterSeconds, 'storageRetryAfterSeconds');
  if (!(Number.isFinite(c.rateLimitPerKey) && c.rateLimitPerKey >= 0)) throw new Error(`http config: rateLimitPerKey got ${c.rateLimitPerKey}, want >= 0 (0 disables)`);
  const burst = c.rateLimitBurst === 0 ? Math.max(1, Math.ceil(2 * c.rateLimitPerKey)) : positiveInt(c.rateLimitBurst, 'rateLimitBurst');
  return { ...c, rateLimitBurst: burst };
}
