/**
 * Public proofs: lookup by content digest, inclusion proofs (by index or leaf hash) and
 * consistency proofs, all against signed checkpoints (a size defaults to the latest checkpoint's
 * and may not exceed it). See docs/api.md#proofs.
 */
import { z } from 'zod';
import { fromHex } from '../../core/bytes.js';
import type { AppContext } from '../context.js';
import { HttpProblem } from '../errors.js';
import { defineRoute, sendJson, type Route } from '../route.js';
import { decimalParam, decimalString, digestAlgParam, digestAlgSchema, hashHex, hashParam } from '../schemas.js';

/** Zod schema of the inclusion proof query: exactly one of index or leafHash, and an optional size. */
export const inclusionQuerySchema = z
  .strictObject({
    index: decimalParam('entry index').optional(),
    leafHash: hashParam.optional().describe('RFC 9162 leaf hash, 64 lowercase hex digits'),
    size: decimalParam('tree size; default the latest checkpoint size').optional(),
  })
  .superRefine((q, c) => {
    if ((q.index === undefined) === (q.leafHash === undefined)) c.addIssue({ code: 'custom', path: ['index'], message: 'want exactly one of index or leafHash' });
  });

/** Zod schema of an inclusion proof response. */
export const inclusionProofSchema = z.object({ index: decimalString, size: decimalString, leafHash: hashHex, path: z.array(hashHex) });
/** Zod schema of a consistency proof response. */
export const consistencyProofSchema = z.object({ from: decimalString, to: decimalString, path: z.array(hashHex) });
/** Zod schema of a lookup response. */
export const lookupSchema = z.object({
  digest: z.object({ alg: digestAlgSchema, hex: hashHex }),
  anchorings: z.array(z.object({ index: decimalString, leafHash: hashHex, receivedAt: z.string(), type: z.string() })),
});

/** The proof routes of one app. */
export function proofRoutes(ctx: AppContext): Route[] {
  const { ledger } = ctx;
  /** A size from the query (checked against the latest checkpoint) or the latest checkpoint size. */
  const sizeOf = (size: bigint | undefined, field: string): bigint => {
    const latest = ledger.checkpointSize;
    if (size === undefined) return latest;
    if (size > latest) throw new HttpProblem(400, 'INPUT_INVALID', `${field}: ${size} is beyond the latest checkpoint size ${latest}`, { field });
    return size;
  };
  return [
    defineRoute({
      method: 'get',
      path: '/v1/lookup/{alg}/{hex}',
      operationId: 'lookupDigest',
      tag: 'proofs',
      summary: 'Every anchoring of a content digest',
      description: `Answers 200 with an empty list when the digest was never anchored. Includes entries not yet covered by a checkpoint. alg is this log's content digest algorithm, ${ledger.suite.digestAlg} (crypto suite ${ledger.suite.id}); the other one is 400.`,
      access: 'public',
      params: z.strictObject({ alg: digestAlgParam(ledger.suite), hex: hashParam }),
      responses: { 200: { description: 'the anchorings, in index order', schema: lookupSchema } },
      errors: [400],
      async handle({ params, res }) {
        const found = await ledger.lookupDigest(params.alg, params.hex);
        sendJson(res, 200, { digest: { alg: params.alg, hex: params.hex }, anchorings: found.map((a) => ({ ...a, index: a.index.toString() })) });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/proof/inclusion',
      operationId: 'inclusionProof',
      tag: 'proofs',
      summary: 'RFC 9162 inclusion proof of an entry, by index or by leaf hash',
      access: 'public',
      query: inclusionQuerySchema,
      responses: { 200: { description: 'the proof', schema: inclusionProofSchema } },
      errors: [400, 404],
      async handle({ query, res }) {
        const size = sizeOf(query.size, 'size');
        let proof;
        if (query.index !== undefined) {
          if (query.index >= size) throw new HttpProblem(400, 'INPUT_INVALID', `index: ${query.index} is not below the tree size ${size}`, { field: 'index' });
          proof = await ledger.inclusionProof(query.index, size);
        } else {
          proof = await ledger.inclusionProofByLeafHash(fromHex(query.leafHash ?? '', 32, 'leafHash'), size);
          if (proof === undefined) throw new HttpProblem(404, 'NOT_FOUND', `no entry with leaf hash ${query.leafHash} in the tree of size ${size}`, { field: 'leafHash' });
        }
        sendJson(res, 200, { index: proof.index.toString(), size: proof.size.toString(), leafHash: proof.leafHash, path: proof.path });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/proof/consistency',
      operationId: 'consistencyProof',
      tag: 'proofs',
      summary: 'RFC 9162 consistency proof between two tree sizes',
      description: 'to defaults to the latest checkpoint size; 0 <= from <= to. The path is empty when from is 0 or equals to.',
      access: 'public',
      query: z.strictObject({ from: decimalParam('older tree size'), to: decimalParam('newer tree size; default the latest checkpoint size').optional() }),
      responses: { 200: { description: 'the proof', schema: consistencyProofSchema } },
      errors: [400],
      async handle({ query, res }) {
        const to = sizeOf(query.to, 'to');
        if (query.from > to) throw new HttpProblem(400, 'INPUT_INVALID', `from: ${query.from} is beyond to ${to}`, { field: 'from' });
        const proof = await ledger.consistencyProof(query.from, to);
        sendJson(res, 200, { from: proof.from.toString(), to: proof.to.toString(), path: proof.path });
      },
    }),
  ];
}
