/**
 * A witness rolled back while the log was down (SPEC.md#witnesses): the log (a real Ledger on a
 * LevelStore) and our witness (src/witness/server.ts with its LevelDB state, in this process)
 * both restart. What the witness cosigned lived only in the witness client's memory, so it is read
 * back from the cosignatures kept with the blocks (WitnessClient.seed); the witness, restored from
 * an older copy of its data directory, is then reported after the restart.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCheckpoint } from '../../src/core/checkpoint.js';
import { parsePolicy } from '../../src/core/policy.js';
import { Ledger } from '../../src/log/ledger.js';
import { LevelStore } from '../../src/storage/level.js';
import { buildWitnessedLogs } from '../../src/witness/config.js';
import { initWitness } from '../../src/witness/keyfile.js';
import { originPath, startWitness, type RunningWitness } from '../../src/witness/server.js';
import { TEST_LOG } from '../http/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'guzheng-restart-rollback-'));
const closing: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of closing.reverse()) await c().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

async function until(what: string, f: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a witness rolled back while the log was down', () => {
  it('is reported after the log restarts, from the cosignatures the log kept', async () => {
    const data = join(dir, 'witness');
    const vkey = initWitness(data, 'witness.test/restart');
    const logs = buildWitnessedLogs([TEST_LOG.verifierKey]);
    let witness: RunningWitness = await startWitness({ dataDir: data, logs, port: 0, rateLimit: 0 });
    closing.push(() => witness.close());
    const port = Number(new URL(witness.url).port);
    const restartWitness = async () => {
      await witness.close();
      witness = await startWitness({ dataDir: data, logs, port, rateLimit: 0 });
    };
    const policy = parsePolicy(`log ${TEST_LOG.verifierKey}\nwitness solo ${vkey} ${witness.url}\nquorum solo\n`);
    const logDir = join(dir, 'log');
    const openLog = async (events: string[]) =>
      Ledger.open({ store: await LevelStore.open(logDir), signerKey: TEST_LOG.signerKey, checkpointIntervalMs: 20, witnessPolicy: policy, witnessTimeoutMs: 3000, onWitnessEvent: (l) => events.push(l) });
    const anchor = async (ledger: Ledger, n: number) => {
      for (let i = 0; i < n; i++) {
        const [a] = await ledger.append([{ type: 'record', record: { i, at: ledger.checkpointSize.toString() }, meta: {} }], 'officer-01');
        await ledger.waitForReceipt(a!.index, 10_000);
      }
    };
    const caughtUp = (ledger: Ledger) => () => {
      const st = ledger.witnesses!.status()[0]!;
      return st.consecutiveFailures === 0 && st.cosignedSize === ledger.checkpointSize.toString();
    };

    let ledger = await openLog([]);
    closing.push(() => ledger.close());
    await anchor(ledger, 2);
    await until('the witness cosigned the first checkpoints', caughtUp(ledger));
    const early = ledger.checkpointSize;
    // A copy of the witness's data directory as of `early` (taken while it is stopped).
    await witness.close();
    cpSync(data, join(dir, 'witness-copy'), { recursive: true });
    witness = await startWitness({ dataDir: data, logs, port, rateLimit: 0 });
    await anchor(ledger, 3);
    await until('the witness cosigned the newer checkpoints', caughtUp(ledger));
    const late = ledger.checkpointSize;
    expect(late > early).toBe(true);
    await ledger.close();

    // While the log is down, the witness's state is rolled back to the copy.
    await witness.close();
    rmSync(data, { recursive: true, force: true });
    cpSync(join(dir, 'witness-copy'), data, { recursive: true });
    await restartWitness();
    const seen = await fetch(`${witness.url}/${originPath('guzheng.test/log')}/checkpoint`);
    expect(openCheckpoint(await seen.text(), TEST_LOG.verifierKey).checkpoint.size).toBe(early);

    // The log restarts on the same store: nothing in memory says what the witness cosigned.
    const events: string[] = [];
    ledger = await openLog(events);
    expect(ledger.checkpointSize).toBe(late);
    expect(ledger.witnesses!.status()[0]!.cosignedSize).toBe(late.toString());
    await until('the rollback is reported', () => ledger.witnesses!.status()[0]!.anomalies > 0);
    expect(events).toContain(`witness solo: says its latest cosigned size is ${early}, but it cosigned size ${late} before: its state was rolled back`);
    // Kept as evidence with the latest block: what the log sent and the witness's answer.
    const height = ledger.latest().block.height;
    await until('the anomaly is kept', async () => ((await ledger.cosignatures.refusalsFrom(height, 1))[0]?.refusals.length ?? 0) > 0);
    const [kept] = await ledger.cosignatures.refusalsFrom(height, 1);
    expect(kept?.refusals[0]).toMatchObject({ witness: 'solo', status: 0, response: `${early}\n` });
    expect(kept?.refusals[0]?.request.startsWith(`old ${late}\n`)).toBe(true);
    expect(kept?.refusals[0]?.reason).toMatch(/^anomaly: .*rolled back/);
    // The log goes on from what the witness holds: it cosigns the latest checkpoint again.
    await until('the witness cosigned again', caughtUp(ledger));
  }, 60_000);
});
