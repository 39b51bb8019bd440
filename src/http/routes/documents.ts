/**
 * POST /v1/documents: the raw request body is hashed with the log's hash (SHA-256 for a `c2sp`
 * log, SM3 for a `gm` log: SPEC.md#crypto-suites; both native in node:crypto through OpenSSL)
 * chunk by chunk as it arrives and then discarded; only its digest, size and the metadata from the query string are anchored
 * (entry type `document`). Over the size limit the upload is refused with 413 without reading
 * further (immediately when Content-Length says so) and nothing is anchored. See docs/api.md#documents.
 */
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { z } from 'zod';
import { caseIdSchema, fileNameSchema, mediaTypeSchema, noteSchema, type DigestAlg } from '../../core/entry/index.js';
import type { AppContext } from '../context.js';
import { HttpProblem } from '../errors.js';
import { defineRoute, sendJson, type Route } from '../route.js';
import { appendResultSchema, waitParam } from '../schemas.js';
import { anchor } from './anchor.js';

/** Zod schema of the query string of POST /v1/documents (the document's metadata). */
export const documentQuerySchema = z.strictObject({
  name: fileNameSchema.describe('file name, 1-255 characters'),
  mediaType: mediaTypeSchema.optional().describe('type/subtype; default: the request Content-Type without parameters'),
  caseId: caseIdSchema.optional().describe('case number'),
  note: noteSchema.optional().describe('free note, 1-1024 characters'),
  wait: waitParam,
});

function tooLarge(limit: number): HttpProblem {
  return new HttpProblem(413, 'BODY_TOO_LARGE', `document is larger than the limit of ${limit} bytes; nothing was anchored`, { field: 'body', headers: { Connection: 'close' } });
}

/**
 * hashBody reads `req` to its end, hashing each chunk with `alg` (the log's content digest
 * algorithm), and resolves with the hex digest and byte count. Past
 * `limit` bytes it pauses the request (reads no more) and rejects with 413; an upload cut short
 * rejects with 400.
 */
export function hashBody(req: Request, limit: number, onBytes: (n: number) => void, alg: DigestAlg): Promise<{ hex: string; size: number }> {
  return new Promise((resolve, reject) => {
    // node:crypto names both digest algorithms as entries spell them: 'sha256', 'sm3'.
    const hash = createHash(alg);
    let size = 0;
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      f();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      onBytes(chunk.length);
      if (size > limit) {
        req.pause();
        finish(() => reject(tooLarge(limit)));
        return;
      }
      hash.update(chunk);
    };
    const onEnd = () => finish(() => resolve({ hex: hash.digest('hex'), size }));
    const cut = () => new HttpProblem(400, 'INPUT_INVALID', 'upload was cut short; nothing was anchored', { field: 'body' });
    const onError = () => finish(() => reject(cut()));
    const onClose = () => finish(() => reject(cut()));
    req.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
  });
}

/** mediaTypeOf picks the media type: the query parameter, else the request's Content-Type essence. */
function mediaTypeOf(query: string | undefined, req: Request): string {
  if (query !== undefined) return query;
  const essence = (req.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (essence === '') throw new HttpProblem(400, 'INPUT_INVALID', 'mediaType: missing; pass ?mediaType= or a Content-Type header', { field: 'mediaType' });
  const r = mediaTypeSchema.safeParse(essence);
  if (!r.success) throw new HttpProblem(400, 'INPUT_INVALID', `mediaType: Content-Type ${JSON.stringify(essence)} is not type/subtype; pass ?mediaType=`, { field: 'mediaType' });
  return r.data;
}

/** The document route of one app. */
export function documentRoutes(ctx: AppContext): Route[] {
  const limit = ctx.config.maxDocumentBytes;
  // The log's content digest algorithm, fixed by its key (SPEC.md#crypto-suites): taken once.
  const alg = ctx.ledger.suite.digestAlg;
  const hashName = alg === 'sm3' ? 'SM3' : 'SHA-256';
  return [
    defineRoute({
      method: 'post',
      path: '/v1/documents',
      operationId: 'anchorDocument',
      tag: 'entries',
      summary: 'Anchor a file by streaming it: hashed on the fly, never stored',
      description: `The body is the file itself (any Content-Type, at most ${limit} bytes). The entry records the ${hashName} digest of its bytes (${alg}: the hash of this log's crypto suite, ${ctx.ledger.suite.id}), its size and the metadata from the query string.`,
      access: ['submit'],
      query: documentQuerySchema,
      body: { kind: 'raw', description: 'the document bytes', limitBytes: limit },
      responses: { 201: { description: 'anchored', schema: appendResultSchema, headers: { Location: '/v1/entries/{index}' } } },
      errors: [400, 413, 503],
      async handle({ query, principal, req, res }) {
        if (principal === undefined) throw new Error('http: keyed route without a principal');
        const mediaType = mediaTypeOf(query.mediaType, req);
        const declared = req.get('content-length');
        if (declared !== undefined && /^[0-9]+$/.test(declared) && Number(declared) > limit) throw tooLarge(limit);
        const { hex, size } = await hashBody(req, limit, (n) => ctx.metrics.documentBytes(n), alg);
        const meta = {
          name: query.name,
          mediaType,
          size,
          ...(query.caseId !== undefined ? { caseId: query.caseId } : {}),
          ...(query.note !== undefined ? { note: query.note } : {}),
        };
        const [result] = await anchor(ctx, [{ type: 'document', digest: { alg, hex }, meta }], principal.id, query.wait === 'receipt');
        if (result === undefined) throw new Error('http: append returned no result');
        sendJson(res, 201, result, { Location: `/v1/entries/${result.index}` });
      },
    }),
  ];
}
