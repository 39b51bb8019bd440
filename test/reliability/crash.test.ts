/**
 * The crash campaign of scripts/crash-campaign.ts, reduced to fit `npm test`: six rounds, each
 * ending in a SIGKILL of the real server: while a group-commit flush is in flight, the instant an
 * acknowledgement burst arrives, while a signed checkpoint is being sealed, a few ms into a
 * 1,000-entry batch, with a flush silently lost (a power cut), and right after a checkpoint
 * appears. After each kill the stopped ledger must audit clean; after each restart every
 * acknowledged entry, receipt and signed checkpoint is checked. The full campaign (50 rounds, all
 * twelve kill modes) is `npm run test:crash`; with witnesses,
 * `npm run test:crash -- --witnesses 3`.
 *
 * Three real witness processes run beside the log, with a 2-of-3 policy; one of them is SIGKILLed
 * in rounds 1 and 3, two at once in round 5 (as many as are up then): no witness may cosign two
 * roots for one size, what each holds must be consistent with the log, every cosignature on a
 * receipt must verify, and entries must keep being acknowledged while a witness is down.
 *
 * A second, smaller campaign mirrors the log to a real Ceph RADOS Gateway (scripts/crash/mirror.ts,
 * about 15 s to start): two rounds (killed right after a checkpoint, and with a block write lost);
 * after each restart the mirror must converge, every object in the bucket must equal what the log
 * serves, and the bucket must audit clean. The full one: `npm run test:crash -- --mirror`.
 */
import { describe, expect, it } from 'vitest';
import { formatSummary, runCampaign } from '../../scripts/crash-campaign.js';
import { RGW_START_TIMEOUT_MS } from '../support/rgw.js';

describe('crash campaign (reduced)', () => {
  it('loses no acknowledged entry and signs no inconsistent checkpoint across SIGKILLs, beside witnesses killed too', async () => {
    const summary = await runCampaign({
      rounds: 6,
      modes: ['flush:during', 'ack-burst', 'block:during', 'large-batch', 'flush:lost', 'checkpoint'],
      submitters: 4,
      witnesses: 3,
    });
    console.log(formatSummary(summary));
    expect(summary.failures).toEqual([]);
    expect(summary.lost).toBe(0);
    expect(summary.acknowledged).toBeGreaterThan(100);
    expect(summary.cleanAudits).toBe(7);
    expect(summary.checkpoints).toBeGreaterThan(6);
    const w = summary.witnesses;
    expect(w?.kills).toBeGreaterThanOrEqual(3);
    expect(w?.outages).toBe(3);
    expect(w?.cosignatures).toBeGreaterThan(0);
    expect(w?.heldChecked).toBeGreaterThan(0);
    expect(w?.receiptsMet).toBeGreaterThan(0);
    expect(w?.acksWhileDown).toBeGreaterThan(0);
  }, 180_000);

  it('with the mirror on a real Ceph RGW: after each SIGKILL the mirror converges, and the bucket holds no object that disagrees with the log', async () => {
    const summary = await runCampaign({ rounds: 2, modes: ['checkpoint', 'block:lost'], submitters: 4, mirror: true });
    console.log(formatSummary(summary));
    expect(summary.failures).toEqual([]);
    expect(summary.lost).toBe(0);
    const m = summary.mirror;
    expect(m?.converged).toBe(3);
    expect(m?.cleanAudits).toBe(3);
    expect(m?.objectsCompared).toBeGreaterThan(20);
  }, RGW_START_TIMEOUT_MS + 120_000);
});
