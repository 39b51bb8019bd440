/**
 * Anchoring shared by POST /v1/entries, /v1/entries/batch and /v1/documents: append through the
 * ledger (one all-or-nothing submission), optionally wait for a covering checkpoint, and shape the
 * result. Once `append` resolves the entries ARE anchored (fsynced), so a receipt that does not
 * arrive within the wait is simply left out: the answer is still 201 and never an error, or a
 * client would retry and anchor twice.
 */
import type { AppendResult, EntryInput } from '../../log/ledger.js';
import type { Receipt } from '../../core/receipt.js';
import type { AppContext } from '../context.js';
import { HttpProblem } from '../errors.js';
import { waitReceiptable } from '../receipts.js';

/** The JSON of one anchored entry (see appendResultSchema). */
export interface AppendResultJson {
  readonly index: string;
  readonly leafHash: string;
  readonly digest: AppendResult['digest'];
  readonly entry: AppendResult['entry'];
  readonly receipt?: Receipt;
}

/**
 * anchor appends `inputs` as one unit for `submitter` and, with `waitForReceipt`, attaches each
 * entry's receipt once one checkpoint covers them all (and in strict mode the mirror holds them),
 * within config.receiptWaitMs.
 * Requires: inputs already validated by the route schemas.
 */
export async function anchor(ctx: AppContext, inputs: readonly EntryInput[], submitter: string, waitForReceipt: boolean, batch = false): Promise<AppendResultJson[]> {
  // A digest must be of the log's own suite (SPEC.md#crypto-suites): sha256 for c2sp, sm3 for gm.
  const suite = ctx.ledger.suite;
  inputs.forEach((input, i) => {
    if (input.type === 'record' || input.digest.alg === suite.digestAlg) return;
    const field = `${batch ? `entries[${i}].` : ''}digest.alg`;
    throw new HttpProblem(400, 'INPUT_INVALID', `${field}: got ${input.digest.alg}, want ${suite.digestAlg} (this log's crypto suite is ${suite.id})`, { field });
  });
  const appended = await ctx.ledger.append(inputs, submitter);
  const out = appended.map((r): AppendResultJson => ({ index: r.index.toString(), leafHash: r.leafHash, digest: r.digest, entry: r.entry }));
  const last = appended.at(-1);
  if (!waitForReceipt || last === undefined) return out;
  try {
    await waitReceiptable(ctx, last.index + 1n, ctx.config.receiptWaitMs);
  } catch {
    // Timed out or shutting down: anchored all the same; GET /v1/receipts/{index} later.
    return out;
  }
  try {
    // Built concurrently: each is a few batched reads, and the reads of all of them overlap.
    const receipts: Receipt[] = await Promise.all(
      appended.map(async (r) => {
        const receipt = await ctx.ledger.receipt(r.index, r);
        if (receipt === undefined) throw new Error(`entry ${r.index} not covered by the checkpoint that covers ${last.index}`);
        return receipt;
      }),
    );
    return out.map((r, i) => ({ ...r, receipt: receipts[i] as Receipt }));
  } catch (err) {
    ctx.log('http: building receipts after append failed (entries are anchored)', err);
    return out;
  }
}
