/**
 * Service configuration from the environment, overridable by CLI flags (issue 3 "Configuration
 * and first start"). Validated with zod: a bad value stops the start with a message naming the
 * variable, never a silent default.
 */
import { z } from 'zod';

/** Everything `guzheng serve` needs. */
export interface ServiceConfig {
  /** Data directory: LevelDB in `<dataDir>/ledger`, the log key in `<dataDir>/log-key`. */
  readonly dataDir: string;
  readonly port: number;
  readonly host: string;
  /** Log origin (= key name) for a NEW log; an existing log keeps the origin of its key. */
  readonly origin: string | undefined;
  readonly checkpointIntervalMs: number;
  /** If set at first start, registered as an admin API key. */
  readonly adminKey: string | undefined;
  /** Largest document upload in bytes. */
  readonly maxDocumentBytes: number;
  /** Requests per second allowed per API key (token bucket; burst = 2×). 0 disables. */
  readonly rateLimitPerKey: number;
  /** Group commit: most entries written in one fsynced batch. */
  readonly flushMaxEntries: number;
  /** Group commit: how long a flush may wait for more submissions (ms; 0 = none). */
  readonly flushWaitMs: number;
}

/** Defaults, as documented in README and docs/operations.md. */
export const DEFAULTS = {
  dataDir: './data',
  port: 8080,
  host: '127.0.0.1',
  checkpointIntervalMs: 200,
  maxDocumentBytes: 2 * 1024 ** 3,
  rateLimitPerKey: 1000,
  flushMaxEntries: 4096,
  flushWaitMs: 0,
} as const;

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const envSchema = z.object({
  GUZHENG_DATA: z.string().min(1).optional(),
  PORT: intIn(0, 65535).optional(),
  HOST: z.string().min(1).optional(),
  GUZHENG_ORIGIN: z.string().min(1).max(256).optional(),
  GUZHENG_CHECKPOINT_INTERVAL_MS: intIn(1, 3_600_000).optional(),
  GUZHENG_ADMIN_KEY: z.string().min(1).optional(),
  GUZHENG_MAX_DOCUMENT_BYTES: intIn(1, Number.MAX_SAFE_INTEGER).optional(),
  GUZHENG_RATE_LIMIT: intIn(0, 1_000_000).optional(),
  GUZHENG_FLUSH_MAX_ENTRIES: intIn(1, 1_000_000).optional(),
  GUZHENG_FLUSH_WAIT_MS: intIn(0, 1000).optional(),
});

/** Flags of `guzheng serve` (strings as commander gives them). */
export interface ServeFlags {
  data?: string;
  port?: string;
  host?: string;
  origin?: string;
  checkpointIntervalMs?: string;
  maxDocumentBytes?: string;
  rateLimit?: string;
}

/** ConfigError names the variable or flag at fault. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** loadConfig merges environment and flags (flags win) and validates them. */
export function loadConfig(env: NodeJS.ProcessEnv, flags: ServeFlags = {}): ServiceConfig {
  const merged = {
    GUZHENG_DATA: flags.data ?? env.GUZHENG_DATA,
    PORT: flags.port ?? env.PORT,
    HOST: flags.host ?? env.HOST,
    GUZHENG_ORIGIN: flags.origin ?? env.GUZHENG_ORIGIN,
    GUZHENG_CHECKPOINT_INTERVAL_MS: flags.checkpointIntervalMs ?? env.GUZHENG_CHECKPOINT_INTERVAL_MS,
    GUZHENG_ADMIN_KEY: env.GUZHENG_ADMIN_KEY,
    GUZHENG_MAX_DOCUMENT_BYTES: flags.maxDocumentBytes ?? env.GUZHENG_MAX_DOCUMENT_BYTES,
    GUZHENG_RATE_LIMIT: flags.rateLimit ?? env.GUZHENG_RATE_LIMIT,
    GUZHENG_FLUSH_MAX_ENTRIES: env.GUZHENG_FLUSH_MAX_ENTRIES,
    GUZHENG_FLUSH_WAIT_MS: env.GUZHENG_FLUSH_WAIT_MS,
  };
  const r = envSchema.safeParse(Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined && v !== '')));
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ConfigError(`configuration: ${i?.path.join('.') ?? '?'}: ${i?.message ?? 'invalid'}`);
  }
  const e = r.data;
  return {
    dataDir: e.GUZHENG_DATA ?? DEFAULTS.dataDir,
    port: e.PORT ?? DEFAULTS.port,
    host: e.HOST ?? DEFAULTS.host,
    origin: e.GUZHENG_ORIGIN,
    checkpointIntervalMs: e.GUZHENG_CHECKPOINT_INTERVAL_MS ?? DEFAULTS.checkpointIntervalMs,
    adminKey: e.GUZHENG_ADMIN_KEY,
    maxDocumentBytes: e.GUZHENG_MAX_DOCUMENT_BYTES ?? DEFAULTS.maxDocumentBytes,
    rateLimitPerKey: e.GUZHENG_RATE_LIMIT ?? DEFAULTS.rateLimitPerKey,
    flushMaxEntries: e.GUZHENG_FLUSH_MAX_ENTRIES ?? DEFAULTS.flushMaxEntries,
    flushWaitMs: e.GUZHENG_FLUSH_WAIT_MS ?? DEFAULTS.flushWaitMs,
  };
}
