/**
 * The crash campaign of scripts/crash-campaign.ts, reduced to fit `npm test`: six rounds, each
 * ending in a SIGKILL of the real server: while a group-commit flush is in flight, the instant an
 * acknowledgement burst arrives, while a signed checkpoint is being sealed, a few ms into a
 * 1,000-entry batch, with a flush silently lost (a power cut), and right after a checkpoint
 * appears. After each kill the stopped ledger must audit clean; after each restart every
 * acknowledged entry, receipt and signed checkpoint is checked. The full campaign (50 rounds, all
 * twelve kill modes) is `npm run test:crash`.
 */
import { describe, expect, it } from 'vitest';
import { formatSummary, runCampaign } from '../../scripts/crash-campaign.js';

describe('crash campaign (reduced)', () => {
  it('loses no acknowledged entry and signs no inconsistent checkpoint across SIGKILLs', async () => {
    const summary = await runCampaign({
      rounds: 6,
      modes: ['flush:during', 'ack-burst', 'block:during', 'large-batch', 'flush:lost', 'checkpoint'],
      submitters: 4,
    });
    console.log(formatSummary(summary));
    expect(summary.failures).toEqual([]);
    expect(summary.lost).toBe(0);
    expect(summary.acknowledged).toBeGreaterThan(100);
    expect(summary.cleanAudits).toBe(7);
    expect(summary.checkpoints).toBeGreaterThan(6);
  }, 180_000);
});
