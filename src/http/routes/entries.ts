/**
 * Entries: anchor JSON records and digests (one or a batch), and read entries back (audit).
 * See docs/api.md#entries.
 */
import { z } from 'zod';
import { toBase64, fromUtf8 } from '../../core/bytes.js';
import { digestMetaSchema, digestSchema, recordMetaSchema } from '../../core/entry/index.js';
import { fastDigest, fastMeta } from '../../core/entry/fast.js';
import { CanonicalJson } from '../../core/entry/jcs.js';
import { isLedgerError } from '../../core/errors.js';
import type { EntryInput, StoredEntry } from '../../log/ledger.js';
import { MAX_PAGE } from '../../log/ledger.js';
import type { AppContext } from '../context.js';
import { HttpProblem } from '../errors.js';
import { defineRoute, sendJson, type Route } from '../route.js';
import { appendResultSchema, decimalParam, decimalString, limitParam, storedEntrySchema, waitParam } from '../schemas.js';
import { anchor } from './anchor.js';

/**
 * Zod schema of a JSON record to anchor: any JSON object that RFC 8785 can represent exactly
 * (finite numbers, well-formed strings, ≤ 128 deep). Canonicalized as received (not copied), so a
 * key such as `__proto__` is hashed like any other; the output is its {@link CanonicalJson}.
 */
export const recordValueSchema = z
  .unknown()
  .transform((v, ctx): CanonicalJson => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      ctx.addIssue({ code: 'custom', message: 'want a JSON object' });
      return z.NEVER;
    }
    try {
      // Checked and canonicalized here, once: the log stores and hashes these very bytes.
      return CanonicalJson.of(v, 'record');
    } catch (err) {
      if (!isLedgerError(err)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
      return z.NEVER;
    }
  })
  .meta({ type: 'object', description: "the JSON record; its digest is the log's hash (SHA-256, or SM3 for a gm log: SPEC.md#crypto-suites) of its RFC 8785 canonical form, and it is stored" });

/** Zod schema of one entry to anchor through JSON: a record or a digest computed by the client. */
export const entryInputSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('record'), record: recordValueSchema, meta: recordMetaSchema.default({}) }),
  z.strictObject({ type: z.literal('digest'), digest: digestSchema, meta: digestMetaSchema.default({}) }),
]);

/** A parsed entry input. */
export type EntryInputJson = z.output<typeof entryInputSchema>;

/** batchSchema builds the batch body schema: `{entries: [1..max entries]}`. */
export function batchSchema(max: number) {
  return z.strictObject({ entries: z.array(entryInputSchema).min(1, 'want at least 1 entry').max(max, `want at most ${max} entries`) });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

/** ownData reads an own enumerable data property (no getter runs), else undefined. */
function ownData(o: object, key: string | number): unknown {
  const d = Object.getOwnPropertyDescriptor(o, key);
  return d !== undefined && 'value' in d && d.enumerable === true ? d.value : undefined;
}

/**
 * fastEntryInput is the accept-only fast path of {@link entryInputSchema} (route.ts JsonBody.fast):
 * zod's output when `v` certainly satisfies the schema, else undefined and zod decides and words
 * the 400. The metadata and digest rules are core's (src/core/entry/fast.ts); a record is checked
 * and canonicalized exactly as {@link recordValueSchema} does. Differential-tested against zod
 * (test/http/fast-body.test.ts). On a 1,000-entry batch, zod's parse was the largest share of
 * the request after the storage write (benchmark scenario 3).
 */
export function fastEntryInput(v: unknown): EntryInputJson | undefined {
  if (!isPlainObject(v)) return undefined;
  const type = ownData(v, 'type');
  const other = type === 'record' ? 'record' : type === 'digest' ? 'digest' : undefined;
  if (other === undefined) return undefined;
  // Strict: only type, the payload and meta (for…in also meets inherited keys, as zod does).
  for (const k in v) if (k !== 'type' && k !== other && k !== 'meta') return undefined;
  const hasMeta = Object.hasOwn(v, 'meta');
  if (type === 'record') {
    const record = ownData(v, 'record');
    if (typeof record !== 'object' || record === null || Array.isArray(record)) return undefined;
    let canonical: CanonicalJson;
    try {
      canonical = CanonicalJson.of(record, 'record');
    } catch {
      return undefined;
    }
    const meta = hasMeta ? fastMeta('record', ownData(v, 'meta')) : {};
    return meta === undefined ? undefined : { type: 'record', record: canonical, meta };
  }
  const digest = fastDigest(ownData(v, 'digest'));
  const meta = hasMeta ? fastMeta('digest', ownData(v, 'meta')) : {};
  return digest === undefined || meta === undefined ? undefined : { type: 'digest', digest, meta };
}

/** fastBatch is the accept-only fast path of {@link batchSchema}(max), see {@link fastEntryInput}. */
export function fastBatch(max: number): (v: unknown) => { entries: EntryInputJson[] } | undefined {
  return (v) => {
    if (!isPlainObject(v)) return undefined;
    for (const k in v) if (k !== 'entries') return undefined;
    const list = ownData(v, 'entries');
    if (!Array.isArray(list) || Object.getPrototypeOf(list) !== Array.prototype || list.length < 1 || list.length > max) return undefined;
    const entries: EntryInputJson[] = [];
    for (let i = 0; i < list.length; i++) {
      const e = fastEntryInput(ownData(list, i));
      if (e === undefined) return undefined;
      entries.push(e);
    }
    return { entries };
  };
}

const waitQuery = z.strictObject({ wait: waitParam });

function toInput(e: EntryInputJson): EntryInput {
  return e.type === 'record' ? { type: 'record', record: e.record, meta: e.meta } : { type: 'digest', digest: e.digest, meta: e.meta };
}

/** The entry's `submitter`: the caller's principal id (`key-…`, or `user:<name>` for a signed-in user). */
function submitterOf(principal: { id: string } | undefined): string {
  if (principal === undefined) throw new Error('http: keyed route without a principal');
  return principal.id;
}

/** storedJson renders a stored entry; `attachment` is the record (JSON) or raw packet kept with it. */
export function storedJson(e: StoredEntry, attachment: Uint8Array | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { index: e.index.toString(), leafHash: e.leafHash, data: toBase64(e.data), entry: e.entry };
  if (attachment !== undefined) {
    if (e.entry.type === 'record') out.record = JSON.parse(fromUtf8(attachment, 'record')) as unknown;
    else out.raw = toBase64(attachment);
  }
  return out;
}

/** The entry routes of one app. */
export function entryRoutes(ctx: AppContext): Route[] {
  const { ledger, config } = ctx;
  return [
    defineRoute({
      method: 'post',
      path: '/v1/entries',
      operationId: 'appendEntry',
      tag: 'entries',
      summary: 'Anchor one JSON record or client-computed digest',
      description: 'Answers once the entry is durable. With ?wait=receipt, also waits (up to receiptWaitMs) for a checkpoint covering it and includes its receipt.',
      access: ['submit'],
      query: waitQuery,
      body: { kind: 'json', schema: entryInputSchema, limitBytes: config.maxJsonBytes, fast: fastEntryInput },
      responses: { 201: { description: 'anchored', schema: appendResultSchema, headers: { Location: '/v1/entries/{index}' } } },
      errors: [400, 503],
      async handle({ query, body, principal, res }) {
        const [result] = await anchor(ctx, [toInput(body)], submitterOf(principal), query.wait === 'receipt');
        if (result === undefined) throw new Error('http: append returned no result');
        sendJson(res, 201, result, { Location: `/v1/entries/${result.index}` });
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/entries/batch',
      operationId: 'appendEntries',
      tag: 'entries',
      summary: `Anchor up to ${config.maxBatchEntries} entries, all or nothing`,
      description: 'Every entry is validated before any is written; one invalid entry rejects the whole batch (400 naming entries[i].field). The entries get consecutive indexes in request order.',
      access: ['submit'],
      query: waitQuery,
      body: { kind: 'json', schema: batchSchema(config.maxBatchEntries), limitBytes: config.maxBatchJsonBytes, fast: fastBatch(config.maxBatchEntries) },
      responses: { 201: { description: 'all anchored', schema: z.object({ results: z.array(appendResultSchema) }) } },
      errors: [400, 503],
      async handle({ query, body, principal, res }) {
        const results = await anchor(ctx, body.entries.map(toInput), submitterOf(principal), query.wait === 'receipt', true);
        sendJson(res, 201, { results });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/entries/{index}',
      operationId: 'getEntry',
      tag: 'entries',
      summary: 'Read one entry, its exact leaf bytes and its stored record',
      access: ['audit'],
      params: z.strictObject({ index: decimalParam('entry index') }),
      responses: { 200: { description: 'the entry', schema: storedEntrySchema } },
      errors: [400, 404],
      async handle({ params, res }) {
        const e = await ledger.getEntry(params.index);
        if (e === undefined) throw new HttpProblem(404, 'NOT_FOUND', `no entry ${params.index}: the log has ${ledger.sequencer.size} entries`, { field: 'index' });
        sendJson(res, 200, storedJson(e, e.attachment), { 'Cache-Control': 'private, max-age=31536000, immutable' });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/entries',
      operationId: 'listEntries',
      tag: 'entries',
      summary: 'List entries in index order',
      description: `Up to limit (default 100, at most ${MAX_PAGE}) entries from start (default 0). next is the start of the following page, absent at the end of the log.`,
      access: ['audit'],
      query: z.strictObject({ start: decimalParam('first index').optional(), limit: limitParam(MAX_PAGE, 'page size').optional() }),
      responses: { 200: { description: 'a page of entries', schema: z.object({ entries: z.array(storedEntrySchema), next: decimalString.optional() }) } },
      errors: [400],
      async handle({ query, res }) {
        const start = query.start ?? 0n;
        const page = await ledger.listEntries(start, query.limit ?? 100);
        // The attachments of the page are read concurrently, not one after another.
        const kept = await Promise.all(page.map((e) => (e.entry.type === 'record' || e.entry.type === 'hj212' ? ctx.store.getAttachment(e.index) : undefined)));
        const entries = page.map((e, i) => storedJson(e, kept[i]));
        const end = start + BigInt(page.length);
        sendJson(res, 200, { entries, ...(end < ledger.sequencer.size && page.length > 0 ? { next: end.toString() } : {}) });
      },
    }),
  ];
}
