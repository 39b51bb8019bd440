/**
 * Cases: every entry anchored with a `meta.caseId`, listed with its receipt, and the whole case as
 * one evidence bundle (guzheng-bundle/v1, SPEC.md#bundles) proved against ONE signed checkpoint.
 * Both need the submit or audit role: entries carry case metadata. See docs/api.md#cases.
 *
 * Proofs are built against a snapshot of the latest published checkpoint taken once per request,
 * so every receipt of one answer shares its checkpoint. Each sealing block and its consistency
 * proof are read once per request; each entry costs O(log n) node reads.
 */
import { z } from 'zod';
import type { Block } from '../../core/block.js';
import { buildBundle, bundleSchema, MAX_BUNDLE_ITEMS, type BundleItemParts } from '../../core/bundle.js';
import { fromHex } from '../../core/bytes.js';
import { caseIdSchema, entrySchema, formatReceivedAt } from '../../core/entry/index.js';
import { buildReceipt } from '../../core/receipt.js';
import type { Stamp } from '../../core/stamp.js';
import { MAX_PAGE, SECONDARY, type Ledger, type Proving } from '../../log/ledger.js';
import type { AppContext } from '../context.js';
import { HttpProblem } from '../errors.js';
import { receiptableSize, receiptPending, waitReceiptable } from '../receipts.js';
import { defineRoute, sendJson, type Route } from '../route.js';
import { decimalParam, decimalString, hashHex, limitParam, receiptSchema } from '../schemas.js';

/** Zod schema of one entry of a case listing. */
export const caseEntrySchema = z.object({
  index: decimalString,
  leafHash: hashHex,
  entry: entrySchema,
  receipt: receiptSchema.optional().describe('guzheng-receipt/v1 against the checkpoint shared by this page; absent while no checkpoint covers the entry yet'),
});

/** Zod schema of GET /v1/cases/{caseId}. */
export const caseListingSchema = z.object({
  caseId: z.string(),
  entries: z.array(caseEntrySchema),
  next: decimalString.optional().describe('start of the following page, absent on the last'),
});

const caseParams = z.strictObject({ caseId: caseIdSchema.describe('case number, e.g. 衡环罚〔2026〕12号 (percent-encoded in the path)') });

/** How many entries proveEntries reads concurrently. */
const PARALLEL = 64;

/**
 * proveEntries builds, for each index, the parts of its receipt against the published checkpoint
 * `at`: the entry, its inclusion proof, its sealing block and that block's consistency proof, and
 * its time stamp (or null).
 * Requires: every index < the size of `at` (covered). Blocks are looked up once per distinct block.
 */
export async function proveEntries(ledger: Ledger, indexes: readonly bigint[], at: Proving): Promise<BundleItemParts[]> {
  const size = at.size;
  const sealed: Array<{ block: Block; consistency: Uint8Array[] }> = [];
  let last: { block: Block; consistency: Uint8Array[] } | undefined;
  const holds = (b: Block, index: bigint) => index >= b.first && index < b.first + b.count;
  // Sealing blocks first (each distinct block read and proved once), then the entries and their
  // inclusion proofs, PARALLEL reads at a time.
  const sealings: Array<{ block: Block; consistency: Uint8Array[] }> = [];
  for (const index of indexes) {
    if (index >= size) throw new Error(`http: entry ${index} is not covered by checkpoint ${size}`);
    let sealing = last !== undefined && holds(last.block, index) ? last : sealed.find((s) => holds(s.block, index));
    if (sealing === undefined) {
      const block = await ledger.sealingBlock(index);
      if (block === undefined) throw new Error(`storage: no block seals entry ${index}`);
      const c = await ledger.consistencyProof(block.first + block.count, size);
      sealing = { block, consistency: c.path.map((h) => fromHex(h, 32)) };
      sealed.push(sealing);
    }
    last = sealing;
    sealings.push(sealing);
  }
  // One stamp lookup per distinct sealing block (items sealed together share their stamp).
  const stamps = new Map<bigint, Promise<Stamp | null>>();
  const stampOf = (height: bigint): Promise<Stamp | null> => {
    let p = stamps.get(height);
    if (p === undefined) stamps.set(height, (p = ledger.stampFor(height, size)));
    return p;
  };
  const out: BundleItemParts[] = [];
  for (let i = 0; i < indexes.length; i += PARALLEL) {
    const chunk = indexes.slice(i, i + PARALLEL);
    const proved = await Promise.all(
      chunk.map((index, j) => {
        const sealing = sealings[i + j] as { block: Block };
        return Promise.all([ledger.listEntries(index, 1), ledger.inclusionProof(index, size), stampOf(sealing.block.height)]);
      }),
    );
    proved.forEach(([[stored], proof, timestamp], j) => {
      const index = chunk[j] as bigint;
      const sealing = sealings[i + j] as { block: Block; consistency: Uint8Array[] };
      if (stored === undefined) throw new Error(`storage: entry ${index} missing`);
      out.push({
        index,
        entry: stored.entry as unknown as Record<string, unknown>,
        decoded: stored.entry,
        inclusionProof: proof.path.map((h) => fromHex(h, 32)),
        checkpoint: at.note,
        block: sealing.block,
        blockConsistency: sealing.consistency,
        timestamp,
      });
    });
  }
  return out;
}

/**
 * waitCovered waits (up to `ms`) for a checkpoint covering `index` (cosigned to quorum, with
 * witnesses; and in strict mode for the mirror to hold it), then returns the checkpoint to prove
 * against and `covered`, the entries below which may have receipts now (the checkpoint's size,
 * or in strict mode at most the mirror's); never throws for a timeout.
 */
export async function waitCovered(ctx: Pick<AppContext, 'ledger' | 'mirror'>, index: bigint | undefined, ms: number): Promise<{ at: Proving; covered: bigint }> {
  if (index !== undefined) {
    try {
      await waitReceiptable(ctx, index + 1n, ms);
    } catch {
      // Still pending: the caller decides (list without receipt, or 503).
    }
  }
  const at = await ctx.ledger.proving(index ?? 0n);
  return { at, covered: receiptableSize(ctx, at.size) };
}

function pending(ledger: Ledger, index: bigint): HttpProblem {
  return receiptPending(ledger, `entry ${index} of the case`);
}

/** contentDisposition names the downloaded bundle after the case (RFC 6266 / RFC 8187 filename*). */
function contentDisposition(caseId: string): string {
  return `attachment; filename="case.bundle.json"; filename*=UTF-8''${encodeURIComponent(`${caseId}.bundle.json`)}`;
}

/** The case routes of one app. */
export function caseRoutes(ctx: AppContext): Route[] {
  const { ledger, config } = ctx;
  return [
    defineRoute({
      method: 'get',
      path: '/v1/cases/{caseId}',
      operationId: 'getCase',
      tag: 'cases',
      summary: 'Every entry of a case, each with its receipt',
      description: `Entries whose meta.caseId is caseId, in index order: up to limit (default 100, at most ${MAX_PAGE}) from index start (default 0). Every receipt of one page is proved against the same checkpoint. 404 if no entry carries this case id.`,
      access: ['submit', 'audit'],
      params: caseParams,
      query: z.strictObject({ start: decimalParam('first entry index to consider').optional(), limit: limitParam(MAX_PAGE, 'page size').optional() }),
      responses: { 200: { description: 'a page of the case', schema: caseListingSchema } },
      errors: [400, 404],
      async handle({ params, query, res }) {
        const limit = query.limit ?? 100;
        const indexes = await ledger.lookupSecondary(SECONDARY.case, params.caseId, query.start ?? 0n, limit);
        if (indexes.length === 0 && (query.start === undefined || (await ledger.lookupSecondary(SECONDARY.case, params.caseId, 0n, 1)).length === 0)) {
          throw new HttpProblem(404, 'NOT_FOUND', `no entry carries case id ${JSON.stringify(params.caseId)}`, { field: 'caseId' });
        }
        const { at, covered } = await waitCovered(ctx, indexes.at(-1), config.receiptWaitMs);
        const proved = new Map((await proveEntries(ledger, indexes.filter((i) => i < covered), at)).map((p) => [p.index, p]));
        const entries = [];
        for (const index of indexes) {
          const p = proved.get(index);
          if (p !== undefined) {
            const receipt = buildReceipt({ ...p, verifierKey: ledger.verifierKey });
            entries.push({ index: index.toString(), leafHash: receipt.leafHash, entry: p.decoded, receipt });
          } else {
            const [stored] = await ledger.listEntries(index, 1);
            if (stored === undefined) throw new Error(`storage: entry ${index} missing`);
            entries.push({ index: index.toString(), leafHash: stored.leafHash, entry: stored.entry });
          }
        }
        const lastIndex = indexes.at(-1);
        const more = indexes.length === limit && lastIndex !== undefined && (await ledger.lookupSecondary(SECONDARY.case, params.caseId, lastIndex + 1n, 1)).length > 0;
        sendJson(res, 200, { caseId: params.caseId, entries, ...(more && lastIndex !== undefined ? { next: (lastIndex + 1n).toString() } : {}) }, { 'Cache-Control': 'private, no-cache' });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/cases/{caseId}/bundle',
      operationId: 'getCaseBundle',
      tag: 'cases',
      summary: 'The whole case as one evidence bundle (guzheng-bundle/v1) that verifies offline',
      description: `Every entry of the case (at most ${MAX_BUNDLE_ITEMS}) proved against ONE signed checkpoint, with a manifest; see SPEC.md#bundles. Entries not yet covered by a checkpoint are waited for (up to ${config.receiptWaitMs} ms), then 503 RECEIPT_PENDING with Retry-After. 404 if no entry carries this case id.`,
      access: ['submit', 'audit'],
      params: caseParams,
      responses: {
        200: { description: 'the bundle (Content-Disposition: attachment)', schema: bundleSchema, headers: { 'Content-Disposition': 'attachment; filename*=UTF-8\'\'<caseId>.bundle.json' } },
      },
      errors: [400, 404, 503],
      async handle({ params, res }) {
        const indexes: bigint[] = [];
        for (let start = 0n; ; ) {
          const page = await ledger.lookupSecondary(SECONDARY.case, params.caseId, start, MAX_PAGE);
          indexes.push(...page);
          const last = page.at(-1);
          if (page.length < MAX_PAGE || last === undefined || indexes.length > MAX_BUNDLE_ITEMS) break;
          start = last + 1n;
        }
        if (indexes.length === 0) throw new HttpProblem(404, 'NOT_FOUND', `no entry carries case id ${JSON.stringify(params.caseId)}`, { field: 'caseId' });
        if (indexes.length > MAX_BUNDLE_ITEMS) {
          throw new HttpProblem(400, 'INPUT_INVALID', `caseId: the case has more than ${MAX_BUNDLE_ITEMS} entries, the most one bundle holds; list it with GET /v1/cases/{caseId}`, { field: 'caseId' });
        }
        const { at, covered } = await waitCovered(ctx, indexes.at(-1), config.receiptWaitMs);
        const uncovered = indexes.find((i) => i >= covered);
        if (uncovered !== undefined) throw pending(ledger, uncovered);
        const bundle = buildBundle({
          caseId: params.caseId,
          createdAt: formatReceivedAt(new Date()),
          verifierKey: ledger.verifierKey,
          checkpoint: at.note,
          items: await proveEntries(ledger, indexes, at),
        });
        sendJson(res, 200, bundle, { 'Cache-Control': 'private, no-cache', 'Content-Disposition': contentDisposition(params.caseId) });
      },
    }),
  ];
}
