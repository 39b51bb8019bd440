/**
 * Receipts as the HTTP routes hand them out (GET /v1/receipts/{index}, certificates, case
 * bundles): 404 for an entry that does not exist, a bounded wait for a covering checkpoint, then
 * 503 RECEIPT_PENDING with Retry-After. One place, so every route answers alike. In the mirror's
 * strict mode (GUZHENG_MIRROR_STRICT, docs/scaling.md#strict-mode) the wait also covers the
 * mirror: a receipt is handed out only once the bucket holds its entry.
 */
import type { Receipt } from '../core/receipt.js';
import type { Ledger } from '../log/ledger.js';
import type { AppContext } from './context.js';
import { HttpProblem } from './errors.js';

/** receiptPending is the 503 for an entry no checkpoint covers yet; `subject` names it in the detail. */
export function receiptPending(ledger: Ledger, subject: string): HttpProblem {
  const retry = String(Math.max(1, Math.ceil(ledger.checkpointIntervalMs / 1000)));
  return new HttpProblem(503, 'RECEIPT_PENDING', `${subject} is anchored but no checkpoint covers it yet; retry later`, { headers: { 'Retry-After': retry } });
}

/**
 * waitReceiptable waits until receipts for the first `size` entries may be handed out: a checkpoint
 * covers them (cosigned to quorum, with witnesses) and, in strict mode, the mirror holds them; all
 * within `timeoutMs`. Throws (a timeout, or the log closing) when they may not.
 */
export async function waitReceiptable(ctx: Pick<AppContext, 'ledger' | 'mirror'>, size: bigint, timeoutMs: number): Promise<void> {
  const start = performance.now();
  await ctx.ledger.waitWitnessed(size, timeoutMs);
  const mirror = ctx.mirror;
  if (mirror?.strict === true) await mirror.waitUploaded(size, Math.max(1, Math.round(timeoutMs - (performance.now() - start))));
}

/**
 * receiptableSize bounds the entries that may have a receipt against a checkpoint of `size`: all
 * of them, or in strict mode those the mirror holds.
 */
export function receiptableSize(ctx: Pick<AppContext, 'mirror'>, size: bigint): bigint {
  const mirror = ctx.mirror;
  if (mirror?.strict !== true) return size;
  const uploaded = mirror.uploadedSize();
  return uploaded < size ? uploaded : size;
}

/** receiptOf returns the receipt of `index` against the latest checkpoint, waiting up to `receiptWaitMs` for one (and in strict mode for the mirror). */
export async function receiptOf(ctx: AppContext, index: bigint): Promise<Receipt> {
  const { ledger, config } = ctx;
  if (index >= ledger.sequencer.size) throw new HttpProblem(404, 'NOT_FOUND', `no entry ${index}: the log has ${ledger.sequencer.size} entries`, { field: 'index' });
  try {
    await waitReceiptable(ctx, index + 1n, config.receiptWaitMs);
  } catch {
    throw receiptPending(ledger, `entry ${index}`);
  }
  const receipt = await ledger.receipt(index);
  if (receipt === undefined) throw new Error(`http: entry ${index} not covered after waiting`);
  return receipt;
}
