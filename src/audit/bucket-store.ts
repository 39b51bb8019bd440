/**
 * Reading the mirror's bucket (docs/scaling.md#layout) for `guzheng audit` and `guzheng monitor`:
 * one object at a time, by its path under the prefix (`checkpoint`, `tile/0/001`,
 * `guzheng/blocks/000.p/7`), and, where the store allows it, the list of every object.
 *
 * Two ways in:
 *
 * - `s3://BUCKET/PREFIX` with credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY): signed S3
 *   requests through @aws-sdk/client-s3, at an S3-compatible endpoint (GUZHENG_MIRROR_ENDPOINT,
 *   `--endpoint`) or AWS itself. Lists the bucket too (ListObjectsV2).
 * - anonymous: plain `GET` of `BASE/<path>`, where BASE is an http(s) URL of the prefix (a public
 *   bucket, or a CDN in front of it), or what `s3://BUCKET/PREFIX` names without credentials
 *   (`ENDPOINT/BUCKET/PREFIX`, path style; `https://BUCKET.s3.REGION.amazonaws.com/PREFIX` on AWS).
 *   No listing.
 *
 * Nothing read here is trusted: the audit and the monitor check every byte against signatures by
 * the pinned key or against hashes they recomputed. A store that says 401 or 403 is `denied`
 * (private; S3 also answers 403 for a missing object when the reader may not list the bucket), 404
 * is `missing`; network failures and 5xx are retried, then {@link AuditAbort}.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mirrorUrlSchema } from '../config.js';
import { LogClient } from './remote.js';
import { AuditAbort } from './source.js';

/** What reading one object found. */
export type ObjectRead =
  | { readonly status: 'ok'; readonly bytes: Uint8Array }
  | { readonly status: 'missing' }
  /** The store refused: `detail` says how (HTTP 403, AccessDenied…). */
  | { readonly status: 'denied'; readonly detail: string };

/** Read access to one mirror prefix. */
export interface BucketReader {
  /** For reports: `s3://BUCKET/PREFIX at ENDPOINT` or the base URL. */
  readonly description: string;
  /** True when no credentials are used (what is private reads as `denied`). */
  readonly anonymous: boolean;
  /** name gives an object's full name for messages: its key in the bucket, or its URL. */
  name(path: string): string;
  /** read fetches the object at `path` under the prefix. Throws {@link AuditAbort} when the store cannot be reached. */
  read(path: string): Promise<ObjectRead>;
  /**
   * list returns the paths (under the prefix) of every object whose path starts with `under`, in
   * the store's order; absent when the store cannot be listed (plain HTTP).
   */
  list?(under: string): Promise<string[]>;
  close(): void;
}

/** Options of {@link openBucket}. */
export interface BucketOptions {
  /** An S3-compatible endpoint for `s3://` URLs (`http://127.0.0.1:7480`); absent: AWS S3. */
  readonly endpoint?: string;
  /** Default `us-east-1`. */
  readonly region?: string;
  /** Signed requests with these; absent: anonymous plain GETs. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Attempts per request for transient failures (default 4). */
  readonly attempts?: number;
  /** Per-request timeout in ms (default 30,000). */
  readonly timeoutMs?: number;
  /** The fetch for anonymous reads (default global fetch). */
  readonly fetch?: typeof fetch;
}

/** isBucketUrl: an `s3://` URL always names a bucket (http(s) URLs need `--bucket`). */
export function isBucketUrl(url: string): boolean {
  return url.startsWith('s3://');
}

/**
 * openBucket opens `url`: `s3://BUCKET/PREFIX` (signed with `credentials` when given, else
 * anonymous GETs at the endpoint), or an http(s) URL of the prefix (anonymous GETs). Throws
 * {@link AuditAbort} (exit 2) for a malformed URL.
 */
export function openBucket(url: string, o: BucketOptions = {}): BucketReader {
  if (isBucketUrl(url)) {
    const parsed = mirrorUrlSchema.safeParse(url);
    if (!parsed.success) throw new AuditAbort(`--url ${url}: ${parsed.error.issues[0]?.message ?? 'not s3://BUCKET/PREFIX'}`);
    const { bucket, prefix } = parsed.data;
    const region = o.region ?? 'us-east-1';
    const endpoint = o.endpoint?.replace(/\/+$/, '');
    if (o.credentials !== undefined) return new S3Reader(bucket, prefix, region, endpoint, o);
    const host = endpoint !== undefined ? `${endpoint}/${bucket}` : `https://${bucket}.s3.${region}.amazonaws.com`;
    return new HttpReader(prefix === '' ? host : `${host}/${prefix}`, `${parsed.data.url}${endpoint !== undefined ? ` at ${endpoint}` : ''} (anonymous)`, o);
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AuditAbort(`--url ${url}: want s3://BUCKET/PREFIX or an http(s) URL of the mirror's prefix`);
  }
  if (!/^https?:$/.test(u.protocol) || u.search !== '' || u.hash !== '') throw new AuditAbort(`--url ${url}: want s3://BUCKET/PREFIX or an http(s) URL without query or fragment`);
  const base = url.replace(/\/+$/, '');
  return new HttpReader(base, `${base} (anonymous)`, o);
}

/** Anonymous reads: plain GETs under a base URL, retried on network errors, 5xx and 429. */
class HttpReader implements BucketReader {
  readonly description: string;
  readonly anonymous = true;
  readonly #client: LogClient;

  constructor(base: string, description: string, o: BucketOptions) {
    this.#client = new LogClient(base, { ...(o.fetch ? { fetch: o.fetch } : {}), attempts: o.attempts ?? 4, timeoutMs: o.timeoutMs ?? 30_000 });
    this.description = description;
  }

  name(path: string): string {
    return `${this.#client.base}/${path}`;
  }

  async read(path: string): Promise<ObjectRead> {
    const r = await this.#client.get(`/${path}`);
    if (r.status === 200) return { status: 'ok', bytes: r.body };
    if (r.status === 404) return { status: 'missing' };
    if (r.status === 401 || r.status === 403) return { status: 'denied', detail: `HTTP ${r.status}` };
    throw new AuditAbort(`GET ${this.name(path)}: status ${r.status}`);
  }

  close(): void {}
}

const CREDENTIAL_CODES = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'AuthorizationHeaderMalformed']);

/** Signed S3 reads (and listing) with @aws-sdk/client-s3. */
class S3Reader implements BucketReader {
  readonly description: string;
  readonly anonymous = false;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #client: S3Client;

  constructor(bucket: string, prefix: string, region: string, endpoint: string | undefined, o: BucketOptions) {
    this.#bucket = bucket;
    this.#prefix = prefix;
    this.description = `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}${endpoint !== undefined ? ` at ${endpoint}` : ''}`;
    const credentials = o.credentials as NonNullable<BucketOptions['credentials']>;
    this.#client = new S3Client({
      region,
      forcePathStyle: endpoint !== undefined,
      maxAttempts: o.attempts ?? 4,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { requestTimeout: o.timeoutMs ?? 30_000, connectionTimeout: o.timeoutMs ?? 30_000 },
      credentials: { ...credentials },
      ...(endpoint !== undefined ? { endpoint } : {}),
    });
  }

  #key(path: string): string {
    return this.#prefix === '' ? path : `${this.#prefix}/${path}`;
  }

  name(path: string): string {
    return this.#key(path);
  }

  #fail(op: string, key: string, err: unknown): AuditAbort {
    if (err instanceof S3ServiceException) {
      const hint = CREDENTIAL_CODES.has(err.name) ? ': the store refused the credentials (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)' : err.name === 'NoSuchBucket' ? ': the bucket does not exist' : '';
      return new AuditAbort(`S3 ${op} ${this.#bucket}/${key}: ${err.name} (HTTP ${err.$metadata.httpStatusCode ?? '?'})${hint}`, { cause: err });
    }
    const e = err as NodeJS.ErrnoException;
    return new AuditAbort(`S3 ${op} ${this.#bucket}/${key}: cannot reach the store: ${e?.code !== undefined ? `${e.code} ` : ''}${String(e?.message ?? err)}`, { cause: err });
  }

  async read(path: string): Promise<ObjectRead> {
    const key = this.#key(path);
    try {
      const r = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      const body = r.Body as { transformToByteArray?: () => Promise<Uint8Array> } | undefined;
      if (body?.transformToByteArray === undefined) throw new AuditAbort(`S3 GET ${this.#bucket}/${key}: no body`);
      return { status: 'ok', bytes: await body.transformToByteArray() };
    } catch (err) {
      if (err instanceof AuditAbort) throw err;
      const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
      const name = err instanceof Error ? err.name : '';
      if (status === 404 || name === 'NoSuchKey') return { status: 'missing' };
      if ((status === 403 || name === 'AccessDenied') && !CREDENTIAL_CODES.has(name)) return { status: 'denied', detail: `${name} (HTTP ${status ?? 403})` };
      throw this.#fail('GET', key, err);
    }
  }

  async list(under: string): Promise<string[]> {
    const from = this.#key(under);
    const cut = this.#prefix === '' ? 0 : this.#prefix.length + 1;
    const out: string[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: from, ContinuationToken: token }));
      } catch (err) {
        throw this.#fail('LIST', from, err);
      }
      for (const o of page.Contents ?? []) if (o.Key !== undefined) out.push(o.Key.slice(cut));
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out;
  }

  close(): void {
    this.#client.destroy();
  }
}
