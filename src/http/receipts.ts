/**
 * Receipts as the HTTP routes hand them out (GET /v1/receipts/{index}, certificates, case
 * bundles): 404 for an entry that does not exist, a bounded wait for a covering checkpoint, then
 * 503 RECEIPT_PENDING with Retry-After. One place, so every route answers alike.
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

/** receiptOf returns the receipt of `index` against the latest checkpoint, waiting up to `receiptWaitMs` for one. */
export async function receiptOf(ctx: AppContext, index: bigint): Promise<Receipt> {
  const { ledger, config } = ctx;
  if (index >= ledger.sequencer.size) throw new HttpProblem(404, 'NOT_FOUND', `no entry ${index}: the log has ${ledger.sequencer.size} entries`, { field: 'index' });
  try {
    await ledger.waitWitnessed(index + 1n, config.receiptWaitMs);
  } catch {
    throw receiptPending(ledger, `entry ${index}`);
  }
  const receipt = await ledger.receipt(index);
  if (receipt === undefined) throw new Error(`http: entry ${index} not covered after waiting`);
  return receipt;
}
