/**
 * Service configuration from the environment, overridable by CLI flags (issue 3 "Configuration
 * and first start"). Validated with zod: a bad value stops the start with a message naming the
 * variable, never a silent default.
 */
import { z } from 'zod';
import type { SuiteId } from './core/suite.js';
import { parseLegacyCrc, type CrcVariant } from './ingest/hj212/crc.js';
import { readFileSync } from 'node:fs';
import { parseVerifierKey } from './core/note.js';
import { checkPrefix } from './mirror/layout.js';

/** A bucket and prefix in the C2SP tlog-tiles layout, and how to reach it: the mirror writes one, a replica follows one. */
export interface BucketLocation {
  /** `s3://BUCKET/PREFIX` as given (normalized: no trailing slash). */
  readonly url: string;
  readonly bucket: string;
  /** Object name prefix: `/`-separated segments, no leading or trailing slash; '' for the bucket's root. */
  readonly prefix: string;
  /** GUZHENG_MIRROR_ENDPOINT: an S3-compatible endpoint (`http://rgw.example:7480`); undefined for AWS S3. */
  readonly endpoint: string | undefined;
  /** AWS_REGION (default us-east-1). */
  readonly region: string;
  /** AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN: from the environment only, never flags. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
}

/**
 * Where the mirror writes (GUZHENG_MIRROR and the variables beside it, docs/scaling.md): an
 * S3-compatible bucket and a prefix, in the C2SP tlog-tiles layout.
 */
export interface MirrorConfig extends BucketLocation {
  /** GUZHENG_MIRROR_STRICT: receipts are handed out only once the mirror holds their entry. */
  readonly strict: boolean;
}

/**
 * A read replica (GUZHENG_REPLICA_OF and the variables beside it, docs/scaling.md#read-replicas):
 * the mirror it follows, with the mirror's endpoint and credential settings, and the log's key.
 */
export interface ReplicaConfig extends BucketLocation {
  /** GUZHENG_REPLICA_KEY: the primary's verifier key (the replica has no signing key). */
  readonly verifierKey: string;
  /** GUZHENG_REPLICA_POLL_MS: how often the bucket's checkpoint is read. */
  readonly pollMs: number;
  /** GUZHENG_PRIMARY_URL: where refused writes are sent, when known. */
  readonly primaryUrl: string | undefined;
}

/** Everything `guzheng serve` needs. */
export interface ServiceConfig {
  /** Data directory: LevelDB in `<dataDir>/ledger`, the log key in `<dataDir>/log-key`. */
  readonly dataDir: string;
  readonly port: number;
  readonly host: string;
  /** Log origin (= key name) for a NEW log; an existing log keeps the origin of its key. */
  readonly origin: string | undefined;
  /**
   * The crypto suite asked for (GUZHENG_PROFILE, --profile): the suite of a NEW log's key; an
   * existing log keeps its key's, and a different one given here stops the start
   * (SPEC.md#crypto-suites: a log's suite is fixed by its key for its life). Undefined: not given
   * (a new log is `c2sp`).
   */
  readonly profile: SuiteId | undefined;
  readonly checkpointIntervalMs: number;
  /** Minimum ms between checkpoints while a client waits for a receipt (capped by checkpointIntervalMs). */
  readonly receiptIntervalMs: number;
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
  /** HJ 212 gateway TCP port; undefined = no gateway (0 picks a free port). */
  readonly hj212Port: number | undefined;
  /** HJ 212 gateway listen address (default: the HTTP host). */
  readonly hj212Host: string;
  /** Close an HJ 212 connection after this long without a byte (ms). */
  readonly hj212IdleTimeoutMs: number;
  /** Most simultaneous HJ 212 device connections. */
  readonly hj212MaxConnections: number;
  /** CRC-failed HJ 212 packets anchored per connection per minute (0 = none). */
  readonly hj212BadCrcPerMinute: number;
  /** Legacy CRC variants allowed per device MN (`MN=modbus,MN=modbus-swapped`). */
  readonly hj212LegacyCrc: ReadonlyMap<string, readonly CrcVariant[]>;
  /** A client must send a request's headers within this many ms (slow-header clients are cut off). */
  readonly headersTimeoutMs: number;
  /** A connection on which nothing moves for this many ms is closed (e.g. a stalled upload body). */
  readonly idleTimeoutMs: number;
  /** RFC 3161 TSAs that stamp the log's checkpoints, tried in order; empty = no time stamping. */
  readonly tsaUrls: readonly string[];
  /** PEM bundle of the TSA root certificates tokens must chain to; required with tsaUrls. */
  readonly tsaCaFile: string | undefined;
  /** Least ms between two time stamps while the log grows. */
  readonly tsaIntervalMs: number;
  /** Deadline of one TSA request, ms. */
  readonly tsaTimeoutMs: number;
  /** C2SP tlog-policy file naming the witnesses the log submits to, and their quorum; undefined = none. */
  readonly witnessPolicyFile: string | undefined;
  /** Deadline of one witness request, ms. */
  readonly witnessTimeoutMs: number;
  /**
   * The service's public base URL (GUZHENG_PUBLIC_URL, --public-url): what certificates' QR codes
   * and links and the console use, normalized without a trailing slash. Undefined: the URL each
   * request came in on.
   */
  readonly publicUrl: string | undefined;
  /** The S3 mirror (GUZHENG_MIRROR, --mirror); undefined: none. */
  readonly mirror: MirrorConfig | undefined;
  /** Run as a read replica of a mirror (GUZHENG_REPLICA_OF, --replica-of); undefined: a primary. */
  readonly replica: ReplicaConfig | undefined;
}

/** Defaults, as documented in README and docs/operations.md. */
export const DEFAULTS = {
  dataDir: './data',
  port: 8080,
  host: '127.0.0.1',
  checkpointIntervalMs: 200,
  receiptIntervalMs: 50,
  maxDocumentBytes: 2 * 1024 ** 3,
  rateLimitPerKey: 1000,
  flushMaxEntries: 4096,
  flushWaitMs: 0,
  hj212IdleTimeoutMs: 600_000,
  hj212MaxConnections: 10_000,
  hj212BadCrcPerMinute: 60,
  headersTimeoutMs: 20_000,
  idleTimeoutMs: 60_000,
  tsaIntervalMs: 10_000,
  tsaTimeoutMs: 10_000,
  witnessTimeoutMs: 3_000,
} as const;

/** Default of GUZHENG_REPLICA_POLL_MS: a read replica reads the mirror's checkpoint every second. */
export const REPLICA_POLL_MS = 1_000;

/** A comma-separated list of http(s) URLs (GUZHENG_TSA_URL). */
const urlList = z.string().transform((text, ctx) => {
  const urls = text
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  for (const u of urls) {
    let ok = false;
    try {
      ok = /^https?:$/.test(new URL(u).protocol);
    } catch {
      ok = false;
    }
    if (!ok) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(u)} is not an http(s) URL` });
  }
  return urls;
});

/**
 * A public base URL (GUZHENG_PUBLIC_URL): absolute http(s), no credentials, query or fragment;
 * returned without a trailing slash (`https://evidence.example.gov.cn/guzheng`).
 */
export const publicUrlSchema = z.string().transform((text, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  const bad = (why: string) => {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)}: ${why}` });
    return z.NEVER;
  };
  if (url === undefined || !/^https?:$/.test(url.protocol)) return bad('want an absolute http or https URL, e.g. https://evidence.example.gov.cn');
  if (url.username !== '' || url.password !== '') return bad('want no user name or password in it');
  if (text.includes('?') || text.includes('#')) return bad('want no query (?) or fragment (#): a base URL the service adds paths to');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
});

/** An S3 bucket name (AWS's rules, which Ceph RGW applies by default): 3–63 of a-z 0-9 . -, not an IP address. */
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** GUZHENG_MIRROR: `s3://BUCKET/PREFIX` (the prefix may be empty: the bucket's root). */
export const mirrorUrlSchema = z.string().transform((text, ctx) => {
  const bad = (why: string) => {
    ctx.addIssue({ code: 'custom', message: `got ${JSON.stringify(text)}, want s3://BUCKET/PREFIX: ${why}` });
    return z.NEVER;
  };
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(text);
  if (m === null) return bad('not an s3:// URL');
  const bucket = m[1] ?? '';
  const prefix = (m[2] ?? '').replace(/\/+$/, '');
  if (bucket === '') return bad('no bucket name');
  if (/[?#@:]/.test(text.slice(5))) return bad('no user, port, query (?) or fragment (#): the endpoint is GUZHENG_MIRROR_ENDPOINT, credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  if (!BUCKET_RE.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    return bad(`bucket name ${JSON.stringify(bucket)}: want 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit`);
  }
  try {
    checkPrefix(prefix);
  } catch {
    return bad(`prefix ${JSON.stringify(prefix)}: want segments of A-Z a-z 0-9 . _ - separated by /, none of them . or ..`);
  }
  return { url: prefix === '' ? `s3://${bucket}` : `s3://${bucket}/${prefix}`, bucket, prefix };
});

/** GUZHENG_MIRROR_ENDPOINT: an absolute http(s) URL, no credentials, query or fragment. */
const endpointSchema = z.string().transform((text, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url === undefined || !/^https?:$/.test(url.protocol) || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    ctx.addIssue({ code: 'custom', message: `got ${JSON.stringify(text)}, want the store's http(s) URL, e.g. http://rgw.example:7480 (credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)` });
    return z.NEVER;
  }
  return text.replace(/\/+$/, '');
});

/** A yes/no setting: 1, true, 0 or false. */
const flag = z.enum(['1', 'true', '0', 'false'], { error: 'want 1 (on) or 0 (off)' }).transform((v) => v === '1' || v === 'true');

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const envSchema = z.object({
  GUZHENG_DATA: z.string().min(1).optional(),
  PORT: intIn(0, 65535).optional(),
  HOST: z.string().min(1).optional(),
  GUZHENG_ORIGIN: z.string().min(1).max(256).optional(),
  GUZHENG_PROFILE: z.enum(['c2sp', 'gm'] satisfies readonly SuiteId[], { error: 'want c2sp (SHA-256, Ed25519) or gm (国密 SM3, SM2)' }).optional(),
  GUZHENG_CHECKPOINT_INTERVAL_MS: intIn(1, 3_600_000).optional(),
  GUZHENG_RECEIPT_INTERVAL_MS: intIn(1, 3_600_000).optional(),
  GUZHENG_ADMIN_KEY: z.string().min(1).optional(),
  GUZHENG_MAX_DOCUMENT_BYTES: intIn(1, Number.MAX_SAFE_INTEGER).optional(),
  GUZHENG_RATE_LIMIT: intIn(0, 1_000_000).optional(),
  GUZHENG_FLUSH_MAX_ENTRIES: intIn(1, 1_000_000).optional(),
  GUZHENG_FLUSH_WAIT_MS: intIn(0, 1000).optional(),
  GUZHENG_HJ212_PORT: intIn(0, 65535).optional(),
  GUZHENG_HJ212_HOST: z.string().min(1).optional(),
  GUZHENG_HJ212_IDLE_TIMEOUT_MS: intIn(1000, 86_400_000).optional(),
  GUZHENG_HJ212_MAX_CONNECTIONS: intIn(1, 1_000_000).optional(),
  GUZHENG_HJ212_BAD_CRC_PER_MINUTE: intIn(0, 1_000_000).optional(),
  GUZHENG_HEADERS_TIMEOUT_MS: intIn(100, 600_000).optional(),
  GUZHENG_IDLE_TIMEOUT_MS: intIn(100, 3_600_000).optional(),
  GUZHENG_TSA_URL: urlList.optional(),
  GUZHENG_TSA_CA: z.string().min(1).optional(),
  GUZHENG_TSA_INTERVAL_MS: intIn(100, 86_400_000).optional(),
  GUZHENG_TSA_TIMEOUT_MS: intIn(100, 600_000).optional(),
  GUZHENG_WITNESS_POLICY: z.string().min(1).optional(),
  GUZHENG_WITNESS_TIMEOUT_MS: intIn(50, 600_000).optional(),
  GUZHENG_PUBLIC_URL: publicUrlSchema.optional(),
  GUZHENG_MIRROR: mirrorUrlSchema.optional(),
  GUZHENG_MIRROR_ENDPOINT: endpointSchema.optional(),
  GUZHENG_MIRROR_STRICT: flag.optional(),
  GUZHENG_REPLICA_OF: mirrorUrlSchema.optional(),
  GUZHENG_REPLICA_KEY: z.string().min(1).max(4096).optional(),
  GUZHENG_REPLICA_POLL_MS: intIn(50, 3_600_000).optional(),
  GUZHENG_PRIMARY_URL: publicUrlSchema.optional(),
  AWS_REGION: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'want a region name such as us-east-1 (RGW: its zonegroup\'s api_name)').optional(),
  GUZHENG_HJ212_LEGACY_CRC: z
    .string()
    .transform((text, ctx) => {
      try {
        return parseLegacyCrc(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
        return z.NEVER;
      }
    })
    .optional(),
});

/** Flags of `guzheng serve` (strings as commander gives them). */
export interface ServeFlags {
  data?: string;
  port?: string;
  host?: string;
  origin?: string;
  profile?: string;
  checkpointIntervalMs?: string;
  receiptIntervalMs?: string;
  maxDocumentBytes?: string;
  rateLimit?: string;
  hj212Port?: string;
  tsaUrl?: string;
  tsaCa?: string;
  tsaIntervalMs?: string;
  tsaTimeoutMs?: string;
  witnessPolicy?: string;
  witnessTimeoutMs?: string;
  publicUrl?: string;
  mirror?: string;
  mirrorEndpoint?: string;
  /** --mirror-strict (a switch). */
  mirrorStrict?: boolean;
  replicaOf?: string;
  replicaKey?: string;
  replicaPollMs?: string;
  primaryUrl?: string;
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
    GUZHENG_PROFILE: flags.profile ?? env.GUZHENG_PROFILE,
    GUZHENG_CHECKPOINT_INTERVAL_MS: flags.checkpointIntervalMs ?? env.GUZHENG_CHECKPOINT_INTERVAL_MS,
    GUZHENG_RECEIPT_INTERVAL_MS: flags.receiptIntervalMs ?? env.GUZHENG_RECEIPT_INTERVAL_MS,
    GUZHENG_ADMIN_KEY: env.GUZHENG_ADMIN_KEY,
    GUZHENG_MAX_DOCUMENT_BYTES: flags.maxDocumentBytes ?? env.GUZHENG_MAX_DOCUMENT_BYTES,
    GUZHENG_RATE_LIMIT: flags.rateLimit ?? env.GUZHENG_RATE_LIMIT,
    GUZHENG_FLUSH_MAX_ENTRIES: env.GUZHENG_FLUSH_MAX_ENTRIES,
    GUZHENG_FLUSH_WAIT_MS: env.GUZHENG_FLUSH_WAIT_MS,
    GUZHENG_HJ212_PORT: flags.hj212Port ?? env.GUZHENG_HJ212_PORT,
    GUZHENG_HJ212_HOST: env.GUZHENG_HJ212_HOST,
    GUZHENG_HJ212_IDLE_TIMEOUT_MS: env.GUZHENG_HJ212_IDLE_TIMEOUT_MS,
    GUZHENG_HJ212_MAX_CONNECTIONS: env.GUZHENG_HJ212_MAX_CONNECTIONS,
    GUZHENG_HJ212_BAD_CRC_PER_MINUTE: env.GUZHENG_HJ212_BAD_CRC_PER_MINUTE,
    GUZHENG_HJ212_LEGACY_CRC: env.GUZHENG_HJ212_LEGACY_CRC,
    GUZHENG_HEADERS_TIMEOUT_MS: env.GUZHENG_HEADERS_TIMEOUT_MS,
    GUZHENG_IDLE_TIMEOUT_MS: env.GUZHENG_IDLE_TIMEOUT_MS,
    GUZHENG_TSA_URL: flags.tsaUrl ?? env.GUZHENG_TSA_URL,
    GUZHENG_TSA_CA: flags.tsaCa ?? env.GUZHENG_TSA_CA,
    GUZHENG_TSA_INTERVAL_MS: flags.tsaIntervalMs ?? env.GUZHENG_TSA_INTERVAL_MS,
    GUZHENG_TSA_TIMEOUT_MS: flags.tsaTimeoutMs ?? env.GUZHENG_TSA_TIMEOUT_MS,
    GUZHENG_WITNESS_POLICY: flags.witnessPolicy ?? env.GUZHENG_WITNESS_POLICY,
    GUZHENG_WITNESS_TIMEOUT_MS: flags.witnessTimeoutMs ?? env.GUZHENG_WITNESS_TIMEOUT_MS,
    GUZHENG_PUBLIC_URL: flags.publicUrl ?? env.GUZHENG_PUBLIC_URL,
    GUZHENG_MIRROR: flags.mirror ?? env.GUZHENG_MIRROR,
    GUZHENG_MIRROR_ENDPOINT: flags.mirrorEndpoint ?? env.GUZHENG_MIRROR_ENDPOINT,
    GUZHENG_MIRROR_STRICT: flags.mirrorStrict === true ? '1' : env.GUZHENG_MIRROR_STRICT,
    GUZHENG_REPLICA_OF: flags.replicaOf ?? env.GUZHENG_REPLICA_OF,
    GUZHENG_REPLICA_KEY: flags.replicaKey ?? env.GUZHENG_REPLICA_KEY,
    GUZHENG_REPLICA_POLL_MS: flags.replicaPollMs ?? env.GUZHENG_REPLICA_POLL_MS,
    GUZHENG_PRIMARY_URL: flags.primaryUrl ?? env.GUZHENG_PRIMARY_URL,
    // Read (and checked) only for the mirror or a replica: other tools' settings must not stop a service without one.
    AWS_REGION: (flags.mirror ?? env.GUZHENG_MIRROR ?? flags.replicaOf ?? env.GUZHENG_REPLICA_OF) !== undefined ? env.AWS_REGION : undefined,
  };
  const r = envSchema.safeParse(Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined && v !== '')));
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ConfigError(`configuration: ${i?.path.join('.') ?? '?'}: ${i?.message ?? 'invalid'}`);
  }
  const e = r.data;
  const host = e.HOST ?? DEFAULTS.host;
  const tsaUrls = e.GUZHENG_TSA_URL ?? [];
  if (tsaUrls.length > 0 && e.GUZHENG_TSA_CA === undefined) {
    throw new ConfigError('configuration: GUZHENG_TSA_CA (--tsa-ca) is required with GUZHENG_TSA_URL: the log keeps only time-stamp tokens that chain to TSA roots you chose (a PEM bundle)');
  }
  const replica = replicaConfig(e, env);
  const mirror = mirrorConfig(e, env, replica !== undefined);
  if (replica !== undefined) {
    // A replica takes no writes and signs nothing: what would write or sign is refused here.
    const conflicting = [
      [mirror !== undefined, 'GUZHENG_MIRROR (--mirror): a replica reads the mirror, it writes none'],
      [tsaUrls.length > 0, 'GUZHENG_TSA_URL (--tsa-url): a replica stamps nothing; it serves the primary\'s time stamps'],
      [e.GUZHENG_HJ212_PORT !== undefined, 'GUZHENG_HJ212_PORT (--hj212-port): a replica takes no HJ 212 packets; point the data loggers at the primary'],
      [e.GUZHENG_WITNESS_POLICY !== undefined, 'GUZHENG_WITNESS_POLICY (--witness-policy): a replica submits nothing to witnesses; it serves the cosignatures the primary collected'],
      [e.GUZHENG_ORIGIN !== undefined || e.GUZHENG_PROFILE !== undefined, 'GUZHENG_ORIGIN / GUZHENG_PROFILE: a replica has no key of its own; the log is GUZHENG_REPLICA_KEY\'s'],
    ] as const;
    for (const [bad, why] of conflicting) if (bad) throw new ConfigError(`configuration: GUZHENG_REPLICA_OF (--replica-of) is set, so ${why}`);
  } else {
    if (e.GUZHENG_REPLICA_KEY !== undefined || e.GUZHENG_REPLICA_POLL_MS !== undefined || e.GUZHENG_PRIMARY_URL !== undefined) {
      throw new ConfigError('configuration: GUZHENG_REPLICA_KEY, GUZHENG_REPLICA_POLL_MS and GUZHENG_PRIMARY_URL are for a read replica: set GUZHENG_REPLICA_OF (--replica-of) to s3://BUCKET/PREFIX');
    }
  }
  return {
    dataDir: e.GUZHENG_DATA ?? DEFAULTS.dataDir,
    port: e.PORT ?? DEFAULTS.port,
    host,
    origin: e.GUZHENG_ORIGIN,
    profile: e.GUZHENG_PROFILE,
    checkpointIntervalMs: e.GUZHENG_CHECKPOINT_INTERVAL_MS ?? DEFAULTS.checkpointIntervalMs,
    receiptIntervalMs: e.GUZHENG_RECEIPT_INTERVAL_MS ?? DEFAULTS.receiptIntervalMs,
    adminKey: e.GUZHENG_ADMIN_KEY,
    maxDocumentBytes: e.GUZHENG_MAX_DOCUMENT_BYTES ?? DEFAULTS.maxDocumentBytes,
    rateLimitPerKey: e.GUZHENG_RATE_LIMIT ?? DEFAULTS.rateLimitPerKey,
    flushMaxEntries: e.GUZHENG_FLUSH_MAX_ENTRIES ?? DEFAULTS.flushMaxEntries,
    flushWaitMs: e.GUZHENG_FLUSH_WAIT_MS ?? DEFAULTS.flushWaitMs,
    hj212Port: e.GUZHENG_HJ212_PORT,
    hj212Host: e.GUZHENG_HJ212_HOST ?? host,
    hj212IdleTimeoutMs: e.GUZHENG_HJ212_IDLE_TIMEOUT_MS ?? DEFAULTS.hj212IdleTimeoutMs,
    hj212MaxConnections: e.GUZHENG_HJ212_MAX_CONNECTIONS ?? DEFAULTS.hj212MaxConnections,
    hj212BadCrcPerMinute: e.GUZHENG_HJ212_BAD_CRC_PER_MINUTE ?? DEFAULTS.hj212BadCrcPerMinute,
    hj212LegacyCrc: e.GUZHENG_HJ212_LEGACY_CRC ?? new Map<string, CrcVariant[]>(),
    headersTimeoutMs: e.GUZHENG_HEADERS_TIMEOUT_MS ?? DEFAULTS.headersTimeoutMs,
    idleTimeoutMs: e.GUZHENG_IDLE_TIMEOUT_MS ?? DEFAULTS.idleTimeoutMs,
    tsaUrls,
    tsaCaFile: e.GUZHENG_TSA_CA,
    tsaIntervalMs: e.GUZHENG_TSA_INTERVAL_MS ?? DEFAULTS.tsaIntervalMs,
    tsaTimeoutMs: e.GUZHENG_TSA_TIMEOUT_MS ?? DEFAULTS.tsaTimeoutMs,
    witnessPolicyFile: e.GUZHENG_WITNESS_POLICY,
    witnessTimeoutMs: e.GUZHENG_WITNESS_TIMEOUT_MS ?? DEFAULTS.witnessTimeoutMs,
    publicUrl: e.GUZHENG_PUBLIC_URL,
    mirror,
    replica,
  };
}

/** s3Credentials reads the bucket's credentials from the environment (never flags), or names what is missing. */
function s3Credentials(env: NodeJS.ProcessEnv, what: string): MirrorConfig['credentials'] {
  const accessKeyId = env.AWS_ACCESS_KEY_ID ?? '';
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY ?? '';
  const missing = [accessKeyId === '' ? 'AWS_ACCESS_KEY_ID' : undefined, secretAccessKey === '' ? 'AWS_SECRET_ACCESS_KEY' : undefined].filter((v) => v !== undefined);
  if (missing.length > 0) {
    throw new ConfigError(`configuration: ${what} needs ${missing.join(' and ')} in the environment (the credentials of the bucket; never given as flags)`);
  }
  const sessionToken = env.AWS_SESSION_TOKEN;
  return { accessKeyId, secretAccessKey, ...(sessionToken !== undefined && sessionToken !== '' ? { sessionToken } : {}) };
}

/**
 * replicaConfig completes GUZHENG_REPLICA_OF: the mirror's endpoint and region, the credentials,
 * and the primary's verifier key (required: a key string, or a file holding one).
 */
function replicaConfig(e: z.infer<typeof envSchema>, env: NodeJS.ProcessEnv): ReplicaConfig | undefined {
  const where = e.GUZHENG_REPLICA_OF;
  if (where === undefined) return undefined;
  const key = e.GUZHENG_REPLICA_KEY;
  if (key === undefined) throw new ConfigError(`configuration: GUZHENG_REPLICA_OF ${where.url} needs GUZHENG_REPLICA_KEY (--replica-key): the primary's verifier key (as "guzheng serve" prints it), or a file holding it`);
  let verifierKey: string;
  try {
    verifierKey = parseVerifierKey(key).text;
  } catch {
    let text: string;
    try {
      text = readFileSync(key, 'utf8').trim();
    } catch {
      throw new ConfigError('configuration: GUZHENG_REPLICA_KEY (--replica-key): not a verifier key (name+keyid+base64), nor a readable file holding one');
    }
    try {
      verifierKey = parseVerifierKey(text).text;
    } catch (err) {
      throw new ConfigError(`configuration: GUZHENG_REPLICA_KEY ${key}: not a verifier key: ${(err as Error).message}`);
    }
  }
  return {
    ...where,
    endpoint: e.GUZHENG_MIRROR_ENDPOINT,
    region: e.AWS_REGION ?? 'us-east-1',
    credentials: s3Credentials(env, `GUZHENG_REPLICA_OF ${where.url}`),
    verifierKey,
    pollMs: e.GUZHENG_REPLICA_POLL_MS ?? REPLICA_POLL_MS,
    primaryUrl: e.GUZHENG_PRIMARY_URL,
  };
}

/**
 * mirrorConfig completes GUZHENG_MIRROR with its endpoint, region and credentials. The endpoint
 * and strict mode need a mirror; a mirror needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
 * (configuration errors: the store itself is not asked here; an unreachable store or refused
 * credentials are the mirror's failures, reported in /healthz, never a reason not to start).
 */
function mirrorConfig(e: z.infer<typeof envSchema>, env: NodeJS.ProcessEnv, replica = false): MirrorConfig | undefined {
  const where = e.GUZHENG_MIRROR;
  if (where === undefined) {
    // A replica reads its mirror at GUZHENG_MIRROR_ENDPOINT.
    if (e.GUZHENG_MIRROR_ENDPOINT !== undefined && !replica) throw new ConfigError('configuration: GUZHENG_MIRROR_ENDPOINT (--mirror-endpoint) is set but GUZHENG_MIRROR (--mirror) is not: want s3://BUCKET/PREFIX');
    if (e.GUZHENG_MIRROR_STRICT === true) throw new ConfigError('configuration: GUZHENG_MIRROR_STRICT (--mirror-strict) needs a mirror: set GUZHENG_MIRROR (--mirror) to s3://BUCKET/PREFIX');
    return undefined;
  }
  const accessKeyId = env.AWS_ACCESS_KEY_ID ?? '';
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY ?? '';
  const missing = [accessKeyId === '' ? 'AWS_ACCESS_KEY_ID' : undefined, secretAccessKey === '' ? 'AWS_SECRET_ACCESS_KEY' : undefined].filter((v) => v !== undefined);
  if (missing.length > 0) {
    throw new ConfigError(`configuration: GUZHENG_MIRROR ${where.url} needs ${missing.join(' and ')} in the environment (the credentials of the bucket; never given as flags)`);
  }
  const sessionToken = env.AWS_SESSION_TOKEN;
  return {
    ...where,
    endpoint: e.GUZHENG_MIRROR_ENDPOINT,
    region: e.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken !== undefined && sessionToken !== '' ? { sessionToken } : {}) },
    strict: e.GUZHENG_MIRROR_STRICT ?? false,
  };
}
