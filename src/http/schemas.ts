/**
 * Zod schemas shared by several routes: path/query parameters (canonical decimals, lowercase hex)
 * and the JSON shapes of responses. Route-specific request schemas live beside their routes. The
 * same schemas validate requests and generate /openapi.json (src/http/openapi.ts).
 *
 * Convention (docs/api.md#numbers): every index, size, height and count of the log is a canonical
 * decimal STRING in JSON, query strings and paths (64-bit safe; the same spelling as receipts,
 * blocks and checkpoints). Hashes are 64 lowercase hex digits.
 */
import { z } from 'zod';
import { MAX_UINT64 } from '../core/bytes.js';
import { blockJsonSchema } from '../core/block.js';
import { digestSchema, entrySchema } from '../core/entry/index.js';
import type { CryptoSuite } from '../core/suite.js';

const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;
const HEX_32 = /^[0-9a-f]{64}$/;

/** Zod schema of a canonical decimal string (output side: JSON responses). */
export const decimalString = z.string().regex(DECIMAL, 'want a canonical decimal string').describe('unsigned 64-bit integer as a canonical decimal string');

/** Zod schema of a 32-byte hash as 64 lowercase hex digits. */
export const hashHex = z.string().regex(HEX_32, 'want 64 lowercase hex digits');

/**
 * decimalParam parses a canonical unsigned decimal (no sign, no leading zero, no exponent) into a
 * bigint, at most 2^64−1. Rejects `01`, `-1`, `1e3`, `0x10`, ` 1` and anything huge.
 */
export function decimalParam(description: string): z.ZodPipe<z.ZodString, z.ZodTransform<bigint, string>> {
  return z
    .string()
    .regex(DECIMAL, 'want a canonical decimal (digits only, no sign or leading zero)')
    .refine((s) => !DECIMAL.test(s) || BigInt(s) <= MAX_UINT64, 'want at most 2^64-1')
    .describe(description)
    .transform((s) => BigInt(s));
}

/** limitParam parses a page size: a canonical decimal in [1, max], as a number. */
export function limitParam(max: number, description: string): z.ZodPipe<z.ZodString, z.ZodTransform<number, string>> {
  return z
    .string()
    .regex(DECIMAL, 'want a canonical decimal (digits only, no sign or leading zero)')
    .refine((s) => !DECIMAL.test(s) || (s.length <= 7 && Number(s) >= 1 && Number(s) <= max), `want 1 to ${max}`)
    .describe(description)
    .transform((s) => Number(s));
}

/** Zod schema of a 32-byte hash parameter (64 lowercase hex digits). */
export const hashParam = hashHex.describe('64 lowercase hex digits');

/** Zod schema of a content digest algorithm in a response: `sha256` (c2sp logs) or `sm3` (gm logs). */
export const digestAlgSchema = z.enum(['sha256', 'sm3']).describe("the log's content digest algorithm: sha256 for a c2sp log, sm3 for a gm log (SPEC.md#crypto-suites)");

/**
 * digestAlgParam is the `{alg}` path parameter of the lookups by digest of one log: exactly its
 * suite's digest algorithm (SPEC.md#crypto-suites: a log holds digests of one algorithm only), so
 * the other one is a 400 that says which this log takes rather than an empty answer.
 */
export function digestAlgParam(suite: CryptoSuite): z.ZodLiteral<CryptoSuite['digestAlg']> {
  return z
    .literal(suite.digestAlg, { error: `want ${suite.digestAlg}: this log's crypto suite is ${suite.id}, its content digests are ${suite.digestAlg}` })
    .describe(`content digest algorithm: ${suite.digestAlg} (this log's crypto suite is ${suite.id}; a c2sp log takes sha256, a gm log sm3)`);
}

/** Zod schema of the `wait` query parameter: only `receipt`. */
export const waitParam = z.literal('receipt', { error: 'want "receipt"' }).describe('wait until a checkpoint covers the entry and return its receipt').optional();

/** Zod schema of a receipt (core receipt format, served as is). */
export { receiptSchema } from '../core/receipt.js';

/** Zod schema of the result of anchoring one entry. */
export const appendResultSchema = z.object({
  index: decimalString,
  leafHash: hashHex,
  digest: digestSchema,
  entry: entrySchema,
  receipt: z.record(z.string(), z.unknown()).optional().describe('guzheng-receipt/v1, with ?wait=receipt only'),
});

/** Zod schema of a stored entry as read back. */
export const storedEntrySchema = z.object({
  index: decimalString,
  leafHash: hashHex,
  data: z.string().describe('standard base64 of the exact leaf bytes (RFC 8785 JSON of the entry)'),
  entry: entrySchema,
  record: z.unknown().optional().describe('the stored JSON record, for record entries'),
  raw: z.string().optional().describe('standard base64 of the raw packet, for hj212 entries'),
});

/** Zod schema of a block as served: the stored block JSON plus its hash. */
export const servedBlockSchema = blockJsonSchema.extend({
  hash: hashHex.describe("the block hash (SPEC.md#block-hash): H of the signed checkpoint text for a guzheng-block/v2 block, of the RFC 8785 block JSON for a format-1 block; H is the log's suite's hash (SHA-256 for c2sp, SM3 for gm)"),
  timestamps: z
    .array(z.object({ tsa: z.string().describe('the TSA URL the token came from (informative)'), token: z.string().describe("base64 DER RFC 3161 TimeStampToken over H(checkpoint), H the log's suite's hash (SPEC.md#what-the-log-stamps)") }))
    .optional()
    .describe('time-stamp tokens of this block\'s checkpoint, kept after they passed every check (absent: none)'),
});

/** Zod schema of an RFC 9457 problem document. */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string(),
  code: z.string(),
  field: z.string().optional(),
  errors: z.array(z.object({ field: z.string(), detail: z.string() })).optional(),
});
