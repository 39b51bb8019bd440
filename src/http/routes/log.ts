/**
 * The log's public state: the latest signed checkpoint (C2SP tlog-tiles location), a JSON summary,
 * the block chain, and receipts. See docs/api.md#log.
 */
import { z } from 'zod';
import { blockHash, parseBlock, type BlockJson } from '../../core/block.js';
import { toBase64, toHex } from '../../core/bytes.js';
import type { CryptoSuite } from '../../core/suite.js';
import { publicKeyPem } from '../../platform/public-key.js';
import type { StoredToken } from '../../log/stamps.js';
import { cosignedNote } from '../../log/cosignatures.js';
import { MAX_PAGE } from '../../log/ledger.js';
import type { AppContext } from '../context.js';
import { HttpProblem } from '../errors.js';
import { receiptOf } from '../receipts.js';
import { defineRoute, sendJson, type Route } from '../route.js';
import { decimalParam, decimalString, hashHex, limitParam, receiptSchema, servedBlockSchema } from '../schemas.js';

/** Zod schema of GET /v1/log. */
export const logInfoSchema = z.object({
  origin: z.string(),
  verifierKey: z.string().describe('name+keyid+base64 verifier key (Ed25519 for a c2sp log, SM2 for a gm log); pin it out of band'),
  suite: z.enum(['c2sp', 'gm']).describe("the log's crypto suite, fixed by its key (SPEC.md#crypto-suites): c2sp = SHA-256 tree and digests, Ed25519 signatures; gm = SM3 tree and digests, SM2 signatures with SM3 and the default ID 1234567812345678"),
  digestAlg: z.enum(['sha256', 'sm3']).describe("the content digest algorithm this log's entries carry (sha256 for c2sp, sm3 for gm); a digest of the other is refused"),
  publicKeyPem: z.string().describe("the log's public key as PEM SubjectPublicKeyInfo (Ed25519, or SM2 with curve 1.2.156.10197.1.301), for OpenSSL and other tools; informative: pin the verifier key"),
  size: decimalString.describe('tree size of the latest checkpoint'),
  rootHash: hashHex.describe('root hash of the latest checkpoint'),
  height: decimalString.describe('height of the latest block (the block sealing that checkpoint)'),
  blockHash: hashHex,
  checkpointIntervalMs: z.int(),
  publicUrl: z.string().optional().describe("the service's public base URL (GUZHENG_PUBLIC_URL), when configured: certificates' QR codes and links use it"),
});

/**
 * served adds its hash, the witness cosignatures (appended to its checkpoint note: the hash does
 * not change) and the time-stamp tokens kept with it, to a block JSON.
 */
function served(json: BlockJson, token: StoredToken | undefined, cosignatures: readonly string[] | undefined, suite: CryptoSuite): BlockJson & { hash: string; timestamps?: Array<{ tsa: string; token: string }> } {
  // A format-1 block's hash covers its JSON, checkpoint included: it is served exactly as stored.
  const checkpoint = json.format === undefined ? json.checkpoint : cosignedNote(json.checkpoint, cosignatures ?? []);
  // The block hash is H of the log's suite (SPEC.md#block-hash, #crypto-suites): SM3 for a gm log.
  const out = { ...json, checkpoint, hash: toHex(blockHash(parseBlock(json), suite)) };
  return token === undefined ? out : { ...out, timestamps: [{ tsa: token.tsa, token: toBase64(token.token) }] };
}

/** The log routes of one app. */
export function logRoutes(ctx: AppContext): Route[] {
  const { ledger, config } = ctx;
  const suite = ledger.suite;
  // Derived once per app: the key never changes for the life of the log.
  const pem = publicKeyPem(ledger.verifier);
  return [
    defineRoute({
      method: 'get',
      path: '/checkpoint',
      operationId: 'checkpoint',
      tag: 'log',
      summary: 'The latest signed checkpoint (C2SP tlog-checkpoint in a signed note), with the witness cosignatures it has so far',
      access: 'public',
      responses: { 200: { description: 'the signed note text', contentType: 'text/plain; charset=utf-8', schema: z.string() } },
      async handle({ res }) {
        res.status(200).setHeader('Cache-Control', 'no-cache').type('text/plain; charset=utf-8').send((await ledger.latestProving()).note);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/log',
      operationId: 'logInfo',
      tag: 'log',
      summary: 'Origin, verifier key, crypto suite and public key, and the latest checkpoint size, root and block height',
      access: 'public',
      responses: { 200: { description: 'the log', schema: logInfoSchema } },
      handle({ res }) {
        const { block, checkpoint } = ledger.latest();
        sendJson(
          res,
          200,
          {
            origin: ledger.origin,
            verifierKey: ledger.verifierKey,
            suite: suite.id,
            digestAlg: suite.digestAlg,
            publicKeyPem: pem,
            size: checkpoint.checkpoint.size.toString(),
            rootHash: toHex(checkpoint.checkpoint.root),
            height: block.height.toString(),
            blockHash: toHex(blockHash(block, suite)),
            checkpointIntervalMs: ledger.checkpointIntervalMs,
            ...(ctx.publicUrl !== undefined ? { publicUrl: ctx.publicUrl } : {}),
          },
          { 'Cache-Control': 'no-cache' },
        );
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/blocks',
      operationId: 'listBlocks',
      tag: 'log',
      summary: 'List blocks in height order',
      description: `Up to limit (default 100, at most ${MAX_PAGE}) blocks from height from (default 0). next is the height of the following page, absent at the end of the chain.`,
      access: 'public',
      query: z.strictObject({ from: decimalParam('first height').optional(), limit: limitParam(MAX_PAGE, 'page size').optional() }),
      responses: { 200: { description: 'a page of blocks', schema: z.object({ blocks: z.array(servedBlockSchema), next: decimalString.optional() }) } },
      errors: [400],
      async handle({ query, res }) {
        const from = query.from ?? 0n;
        const limit = query.limit ?? 100;
        const [blocks, tokens, cosigs] = await Promise.all([ledger.blocks(from, limit), ledger.stamps.tokensIn(from, limit), ledger.cosignatures.linesIn(from, limit)]);
        const end = from + BigInt(blocks.length);
        const more = blocks.length > 0 && end < (await ctx.store.getBlockCount());
        sendJson(res, 200, { blocks: blocks.map((b, i) => served(b, tokens.get(from + BigInt(i)), cosigs.get(from + BigInt(i)), suite)), ...(more ? { next: end.toString() } : {}) });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/blocks/{height}',
      operationId: 'getBlock',
      tag: 'log',
      summary: 'One block (immutable)',
      access: 'public',
      params: z.strictObject({ height: decimalParam('block height') }),
      responses: { 200: { description: 'the block', schema: servedBlockSchema } },
      errors: [400, 404],
      async handle({ params, res }) {
        const [json, tokens, cosigs] = await Promise.all([ledger.block(params.height), ledger.stamps.tokensIn(params.height, 1), ledger.cosignatures.linesAt(params.height)]);
        if (json === undefined) throw new HttpProblem(404, 'NOT_FOUND', `no block ${params.height}: the latest is ${ledger.latest().block.height}`, { field: 'height' });
        const token = tokens.get(params.height);
        // A block never changes, but its time stamp may still arrive: with a TSA configured it is
        // cached for good only once stamped.
        const final = (token !== undefined || ctx.tsa.status().state === 'off') && ledger.witnesses === undefined;
        sendJson(res, 200, served(json, token, cosigs, suite), { 'Cache-Control': final ? 'public, max-age=31536000, immutable' : 'no-cache' });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/receipts/{index}',
      operationId: 'getReceipt',
      tag: 'log',
      summary: 'The receipt of an entry against the latest checkpoint, with its time stamp once the log has one',
      description: `404 if there is no such entry. An entry not yet covered by a checkpoint is waited for (up to ${config.receiptWaitMs} ms), then 503 RECEIPT_PENDING with Retry-After. timestamp is null until a TSA has stamped a checkpoint covering the entry; fetching the receipt again later gives it.`,
      access: ['submit', 'audit'],
      params: z.strictObject({ index: decimalParam('entry index') }),
      responses: { 200: { description: 'guzheng-receipt/v2', schema: receiptSchema } },
      errors: [400, 404, 503],
      async handle({ params, res }) {
        sendJson(res, 200, await receiptOf(ctx, params.index), { 'Cache-Control': 'no-cache' });
      },
    }),
  ];
}
