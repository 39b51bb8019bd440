/**
 * The mirror's object store: an S3-compatible bucket (AWS S3, Ceph RGW, MinIO…) reached with
 * @aws-sdk/client-s3, reduced to the five operations the mirror needs. The rule it enforces is
 * write-once (docs/scaling.md#write-once): an immutable object is put with `If-None-Match: *`, so
 * the store refuses to replace an existing one (412); the mirror then reads what is there, and
 * either finds its own bytes (a retry after a crash or a lost answer: fine) or other bytes, which
 * is a split brain or corruption: {@link MirrorConflictError}, and the object is left as it was.
 * Only the checkpoint is mutable ({@link S3ObjectStore.putMutable}).
 *
 * Every body is sent with its Content-MD5, so the store rejects one damaged in transit. The SDK's
 * newer default of streaming CRC trailers is turned off (`WHEN_REQUIRED`): Ceph before Reef
 * refuses them.
 */
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';

/** Where the bucket is and how to sign in. */
export interface S3Config {
  readonly bucket: string;
  /** An S3-compatible endpoint (`http://127.0.0.1:7480`); absent for AWS itself. */
  readonly endpoint?: string;
  /** Default `AWS_REGION`, else `us-east-1` (RGW accepts any region its zonegroup names). */
  readonly region?: string;
  /** Absent: the SDK's default chain (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, profiles…). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Path-style URLs (`endpoint/bucket/key`); default true when an endpoint is given. */
  readonly forcePathStyle?: boolean;
  /** Per-request timeout in milliseconds (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Attempts per request, the SDK's own retries included (default 3). */
  readonly maxAttempts?: number;
}

/**
 * MirrorConflictError: an immutable object already holds other bytes than the mirror would write.
 * It is never overwritten. Carries the evidence: the key and the SHA-256 of both versions.
 */
export class MirrorConflictError extends Error {
  readonly code = 'MIRROR_CONFLICT' as const;
  readonly key: string;
  /** SHA-256 (hex) of the bytes in the bucket. */
  readonly existingSha256: string;
  /** SHA-256 (hex) of the bytes the mirror meant to write. */
  readonly wantedSha256: string;
  constructor(key: string, existingSha256: string, wantedSha256: string) {
    super(`mirror: object ${key} already holds other bytes (sha256 ${existingSha256}, want ${wantedSha256}): split brain or corruption; it is left as it is`);
    this.name = 'MirrorConflictError';
    this.key = key;
    this.existingSha256 = existingSha256;
    this.wantedSha256 = wantedSha256;
  }
}

/**
 * MirrorStoreError: the object store failed a request (unreachable, refused the credentials,
 * denied access, a server error). `s3Code` is the S3 error code when the store answered.
 */
export class MirrorStoreError extends Error {
  readonly code = 'MIRROR_STORE' as const;
  readonly s3Code: string | undefined;
  readonly httpStatus: number | undefined;
  constructor(message: string, s3Code: string | undefined, httpStatus: number | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MirrorStoreError';
    this.s3Code = s3Code;
    this.httpStatus = httpStatus;
  }
}

/** What {@link S3ObjectStore.putOnce} found: it wrote the object, or the same bytes were there. */
export type PutOnceResult = 'written' | 'present';

const CREDENTIAL_CODES = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'AuthorizationHeaderMalformed']);

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function md5Base64(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('base64');
}

function statusOf(err: unknown): number | undefined {
  return err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
}

function nameOf(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

function isPreconditionFailed(err: unknown): boolean {
  return statusOf(err) === 412 || nameOf(err) === 'PreconditionFailed';
}

function isNotFound(err: unknown): boolean {
  return statusOf(err) === 404 || nameOf(err) === 'NoSuchKey';
}

/** describe turns an SDK failure into one line an operator can act on. */
function describe(op: string, key: string, err: unknown): MirrorStoreError {
  if (err instanceof S3ServiceException) {
    const status = err.$metadata.httpStatusCode;
    const hint = CREDENTIAL_CODES.has(err.name)
      ? ': the store refused the credentials (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)'
      : err.name === 'AccessDenied'
        ? ': the credentials may not write this bucket'
        : err.name === 'NoSuchBucket'
          ? ': the bucket does not exist'
          : '';
    return new MirrorStoreError(`S3 ${op} ${key}: ${err.name} (HTTP ${status ?? '?'})${hint}`, err.name, status, { cause: err });
  }
  const e = err as NodeJS.ErrnoException;
  const detail = e?.code !== undefined ? `${e.code} ${e.message}` : String(e?.message ?? err);
  return new MirrorStoreError(`S3 ${op} ${key}: cannot reach the store: ${detail}`, undefined, undefined, { cause: err });
}

async function bodyBytes(body: unknown): Promise<Uint8Array> {
  const b = body as { transformToByteArray?: () => Promise<Uint8Array> } | undefined;
  if (b?.transformToByteArray === undefined) throw new Error('mirror: the S3 client returned no body');
  return b.transformToByteArray();
}

/** An S3 bucket seen as a write-once object store. */
export class S3ObjectStore {
  readonly bucket: string;
  /** Names the bucket and where it is: `s3://BUCKET` on AWS, `ENDPOINT/BUCKET` elsewhere. */
  readonly id: string;
  readonly #client: S3Client;

  /** Requires: a bucket name; the bucket itself must exist (the mirror never creates one). */
  constructor(config: S3Config) {
    if (typeof config.bucket !== 'string' || config.bucket === '') throw new Error('mirror: want a bucket name');
    this.bucket = config.bucket;
    this.id = config.endpoint === undefined ? `s3://${config.bucket}` : `${config.endpoint.replace(/\/+$/, '')}/${config.bucket}`;
    const options: S3ClientConfig = {
      region: config.region ?? process.env.AWS_REGION ?? 'us-east-1',
      forcePathStyle: config.forcePathStyle ?? config.endpoint !== undefined,
      maxAttempts: config.maxAttempts ?? 3,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { requestTimeout: config.requestTimeoutMs ?? 30_000, connectionTimeout: config.requestTimeoutMs ?? 30_000 },
      ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
      ...(config.credentials !== undefined ? { credentials: { ...config.credentials } } : {}),
    };
    this.#client = new S3Client(options);
  }

  /**
   * putOnce writes an immutable object: `If-None-Match: *`, so an existing object is never
   * replaced. If one exists (412), it is read back: the same bytes → `'present'`; other bytes →
   * {@link MirrorConflictError} (nothing is written). Other failures → {@link MirrorStoreError}.
   */
  async putOnce(key: string, bytes: Uint8Array, contentType: string): Promise<PutOnceResult> {
    try {
      await this.#client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentType: contentType, ContentMD5: md5Base64(bytes), IfNoneMatch: '*' }),
      );
      return 'written';
    } catch (err) {
      if (!isPreconditionFailed(err)) throw describe('PUT', key, err);
    }
    const existing = await this.get(key);
    // Gone between the 412 and the GET: only another writer deleting objects does that.
    if (existing === undefined) throw new MirrorStoreError(`S3 PUT ${key}: the store said it exists, then that it does not`, undefined, 412);
    if (existing.length === bytes.length && sha256Hex(existing) === sha256Hex(bytes)) return 'present';
    throw new MirrorConflictError(key, sha256Hex(existing), sha256Hex(bytes));
  }

  /** putMutable writes (or replaces) an object: used for the checkpoint only. */
  async putMutable(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    try {
      await this.#client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentType: contentType, ContentMD5: md5Base64(bytes) }));
    } catch (err) {
      throw describe('PUT', key, err);
    }
  }

  /** get reads an object's bytes, or undefined when there is none (404). */
  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const r = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await bodyBytes(r.Body);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw describe('GET', key, err);
    }
  }

  /** list returns every key under `prefix`, in the store's (UTF-8 byte) order. */
  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      } catch (err) {
        throw describe('LIST', prefix, err);
      }
      for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys;
  }

  /** close releases the client's sockets. */
  close(): void {
    this.#client.destroy();
  }
}
