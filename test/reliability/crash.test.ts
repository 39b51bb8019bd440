/**
 * The crash campaign of scripts/crash-campaign.ts, reduced to fit `npm test`: ten rounds, each
 * ending in a SIGKILL of the real server: while a group-commit flush is in flight, the instant an
 * acknowledgement burst arrives, while a signed checkpoint is being sealed, a few ms into a
 * 1,000-entry batch, with a flush silently lost (a power cut), right after a checkpoint appears,
 * and four times in the lazy index path, once in each of the four ways: with the unsynced write
 * of the index runs of entries that waited in memory lost (a power cut: acknowledged entries in no
 * run), during the swap of a merged run, before a page batch of one, after any write of the path.
 * After each kill the stopped ledger must audit clean; after each restart every acknowledged
 * entry, receipt and signed checkpoint is checked, and acknowledged entries must be found by
 * content digest and by leaf hash. The full campaign (50 rounds, all sixteen kill modes) is
 * `npm run test:crash`; with witnesses, `npm run test:crash -- --witnesses 3`.
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
      rounds: 10,
      modes: ['flush:during', 'ack-burst', 'block:during', 'large-batch', 'flush:lost', 'checkpoint', 'index:lost', 'index:during', 'index:before', 'index:after'],
      submitters: 4,
      witnesses: 3,
      // Each acknowledged entry is looked up after the restart that follows its round, with 50
      // older ones at each check; not all again at the end (8,000 more requests or so).
      lookupSample: 50,
      lookupAllAtEnd: false,
    });
    console.log(formatSummary(summary));
    expect(summary.failures).toEqual([]);
    expect(summary.lost).toBe(0);
    expect(summary.acknowledged).toBeGreaterThan(100);
    expect(summary.cleanAudits).toBe(11);
    expect(summary.checkpoints).toBeGreaterThan(10);
    // Every failpoint fired (one that did not would be in the failures too).
    expect(summary.failpoints).toEqual({ flush: { armed: 2, fired: 2 }, block: { armed: 1, fired: 1 }, index: { armed: 4, fired: 4 } });
    // The index rounds died at a run write, a swap, a merge start (with its pages), and any write
    // (campaign indexFailpoint); the last three after merges of this server had been swapped in.
    const ix = summary.indexKills;
    expect(ix.mergesBefore).toHaveLength(4);
    expect(ix.mergesBefore.slice(1).every((n) => n >= 1), String(ix.mergesBefore)).toBe(true);
    expect(Object.values(ix.steps).reduce((a, b) => a + b, 0)).toBe(4);
    for (const step of ['run-write', 'swap', 'merge-start']) expect(ix.steps[step], step).toBeGreaterThanOrEqual(1);
    expect(summary.lookups).toBeGreaterThan(summary.acknowledged);
    const w = summary.witnesses;
    expect(w?.kills).toBeGreaterThanOrEqual(5);
    expect(w?.outages).toBe(5);
    expect(w?.cosignatures).toBeGreaterThan(0);
    expect(w?.heldChecked).toBeGreaterThan(0);
    expect(w?.receiptsMet).toBeGreaterThan(0);
    expect(w?.acksWhileDown).toBeGreaterThan(0);
  }, 240_000);

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
