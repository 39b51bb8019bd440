/**
 * The mirror's object store (src/mirror/s3.ts) against a real Ceph RADOS Gateway
 * (scripts/ceph-rgw.sh): RGW honours `If-None-Match: *` on PUT, so an immutable object is written
 * once, a retry with the same bytes is fine, other bytes are a MirrorConflictError and the object
 * stays as it was; failures name their cause.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MirrorConflictError, MirrorStoreError, S3ObjectStore } from '../../src/mirror/s3.js';
import { RGW_START_TIMEOUT_MS, startRgw, type Rgw } from '../support/rgw.js';

let rgw: Rgw;
let store: S3ObjectStore;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

beforeAll(async () => {
  rgw = await startRgw();
  console.log(`ceph-rgw cold start: ${rgw.startSeconds.toFixed(1)} s`);
  await rgw.bucket('write-once');
  store = new S3ObjectStore({ bucket: 'write-once', endpoint: rgw.endpoint, region: rgw.region, credentials: rgw });
}, RGW_START_TIMEOUT_MS);

afterAll(async () => {
  store?.close();
  await rgw?.stop();
});

describe('S3ObjectStore on Ceph RGW', () => {
  it('RGW itself refuses a second PUT with If-None-Match: * (412)', async () => {
    const client = new S3Client({ endpoint: rgw.endpoint, region: rgw.region, forcePathStyle: true, credentials: rgw, requestChecksumCalculation: 'WHEN_REQUIRED' });
    const put = (body: string) => client.send(new PutObjectCommand({ Bucket: 'write-once', Key: 'raw/once', Body: enc(body), IfNoneMatch: '*' }));
    await put('first');
    const err = await put('second').then(
      () => undefined,
      (e: unknown) => e as { $metadata?: { httpStatusCode?: number }; name?: string },
    );
    expect(err?.$metadata?.httpStatusCode).toBe(412);
    expect(dec(await store.get('raw/once'))).toBe('first');
    client.destroy();
  });

  it('putOnce writes, accepts the same bytes again, and refuses other bytes without overwriting', async () => {
    expect(await store.putOnce('p/tile/0/000', enc('tile bytes'), 'application/octet-stream')).toBe('written');
    expect(await store.putOnce('p/tile/0/000', enc('tile bytes'), 'application/octet-stream')).toBe('present');
    const err = await store.putOnce('p/tile/0/000', enc('other bytes'), 'application/octet-stream').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MirrorConflictError);
    const c = err as MirrorConflictError;
    expect(c.code).toBe('MIRROR_CONFLICT');
    expect(c.key).toBe('p/tile/0/000');
    expect(c.existingSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(c.wantedSha256).not.toBe(c.existingSha256);
    expect(c.message).toMatch(/split brain or corruption/);
    // Same length, one byte different: still a conflict.
    await expect(store.putOnce('p/tile/0/000', enc('tile bytez'), 'application/octet-stream')).rejects.toBeInstanceOf(MirrorConflictError);
    expect(dec(await store.get('p/tile/0/000'))).toBe('tile bytes');
  });

  it('putMutable replaces; get is undefined for a missing key; list pages past 1000 keys', async () => {
    await store.putMutable('p/checkpoint', enc('one'), 'text/plain');
    await store.putMutable('p/checkpoint', enc('two'), 'text/plain');
    expect(dec(await store.get('p/checkpoint'))).toBe('two');
    expect(await store.get('p/nothing-here')).toBeUndefined();
    const keys = Array.from({ length: 1010 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.putOnce(k, enc(k), 'text/plain')));
    expect(await store.list('many/')).toEqual(keys);
    expect(await store.list('none/')).toEqual([]);
  }, 60_000);

  it('names the cause of a failure: refused credentials, a missing bucket, an unreachable store', async () => {
    const wrong = new S3ObjectStore({ bucket: 'write-once', endpoint: rgw.endpoint, credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: 'not-the-secret' } });
    const e1 = await wrong.putOnce('x', enc('x'), 'text/plain').catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(MirrorStoreError);
    expect((e1 as MirrorStoreError).s3Code).toBe('SignatureDoesNotMatch');
    expect((e1 as Error).message).toMatch(/^S3 PUT x: SignatureDoesNotMatch \(HTTP 403\): the store refused the credentials/);
    wrong.close();
    const unknown = new S3ObjectStore({ bucket: 'write-once', endpoint: rgw.endpoint, credentials: { accessKeyId: 'NOSUCHKEY', secretAccessKey: 'x' } });
    await expect(unknown.get('x')).rejects.toThrow(/InvalidAccessKeyId \(HTTP 403\): the store refused the credentials/);
    unknown.close();
    const nobucket = new S3ObjectStore({ bucket: 'no-such-bucket', endpoint: rgw.endpoint, credentials: rgw });
    await expect(nobucket.putOnce('x', enc('x'), 'text/plain')).rejects.toThrow(/NoSuchBucket \(HTTP 404\): the bucket does not exist/);
    nobucket.close();
    const down = new S3ObjectStore({ bucket: 'b', endpoint: 'http://127.0.0.1:9', credentials: rgw, maxAttempts: 1 });
    await expect(down.get('x')).rejects.toThrow(/^S3 GET x: cannot reach the store: ECONNREFUSED/);
    down.close();
  });
});
