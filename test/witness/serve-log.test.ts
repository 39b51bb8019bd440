/**
 * The real `guzheng serve` process (not the in-process startServer) with `--witness-policy`,
 * beside three real `guzheng witness serve` processes and a 2-of-3 policy: receipts anchored with
 * `?wait=receipt` carry a quorum of cosignatures that verify with the policy, /healthz says
 * `witnesses: 3/3`, each witness's monitoring path holds a checkpoint of this log it cosigned; and
 * GUZHENG_WITNESS_POLICY naming a malformed policy stops `guzheng serve` with a message naming the
 * variable and the line at fault. The processes are started by the crash campaign's helpers
 * (scripts/crash/server.ts, scripts/crash/witnesses.ts), shared rather than copied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCosigned } from '../../src/core/cosignature.js';
import { formatVerifierKey } from '../../src/core/note.js';
import { loadOrCreateLogKey } from '../../src/setup.js';
import { verifyReceipt } from '../../src/verifier/index.js';
import { spawnServer, type ServerProcess } from '../../scripts/crash/server.js';
import { WitnessSet } from '../../scripts/crash/witnesses.js';

const ORIGIN = 'serve-log.test/log';
const dir = mkdtempSync(join(tmpdir(), 'guzheng-serve-log-'));
const data = join(dir, 'data');
const adminKey = `gzk_${randomBytes(32).toString('base64url')}`;
let logKey: string;
let witnesses: WitnessSet;
let server: ServerProcess;

interface Anchored {
  readonly index: string;
  readonly receipt: { readonly checkpoint: string };
}

interface Health {
  readonly witnesses?: string;
  readonly witnessedSize?: string;
}

async function anchor(path: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function health(): Promise<Health> {
  return (await (await fetch(`${server.url}/healthz`)).json()) as Health;
}

async function until(what: string, f: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  // The log's key first: the witnesses must be told it before the log ever starts.
  const { key } = loadOrCreateLogKey(data, ORIGIN);
  logKey = formatVerifierKey(key.name, key.publicKey);
  witnesses = await WitnessSet.start({ dir, logVerifierKey: logKey });
  // A witness deadline well above what a loaded machine needs, so every receipt waits for the quorum.
  const r = await spawnServer({
    data,
    args: ['--witness-policy', witnesses.policyFile, '--witness-timeout-ms', '10000', '--checkpoint-interval-ms', '50'],
    env: { GUZHENG_ADMIN_KEY: adminKey, GUZHENG_RATE_LIMIT: '0' },
  });
  if (!r.ok) throw new Error(`guzheng serve did not start (${JSON.stringify(r.exit)}):\n${r.output}`);
  server = r.server;
  // Each witness process compiles its code on its first request: the tests start once each answered.
  expect((await anchor('/v1/entries?wait=receipt', { type: 'record', record: { warmup: true } })).status).toBe(201);
  await until('every witness cosigned', async () => (await health()).witnesses === '3/3', 60_000);
}, 120_000);

afterAll(async () => {
  if (server !== undefined) {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  await witnesses?.close();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('guzheng serve --witness-policy, with three witness processes (quorum 2 of 3)', () => {
  it('starts with the policy: its banner names the witnesses and the quorum, its verifier key is the one the witnesses know', () => {
    expect(server.verifierKey).toBe(logKey);
    expect(server.output()).toMatch(/witnesses:\s+court, procuratorate, notary \(quorum 2-of-3, from .*witness-policy\.txt\)/);
  });

  it('hands out receipts with ?wait=receipt cosigned to quorum, verifying with the policy', async () => {
    const singles = await Promise.all(
      Array.from({ length: 3 }, (_, i) => anchor('/v1/entries?wait=receipt', { type: 'digest', digest: { alg: 'sha256', hex: randomBytes(32).toString('hex') }, meta: { name: `photo-${i}.jpg` } })),
    );
    const batch = await anchor('/v1/entries/batch?wait=receipt', { entries: Array.from({ length: 5 }, (_, i) => ({ type: 'record', record: { station: 'HS-001', seq: i } })) });
    const anchored: Anchored[] = [];
    for (const res of singles) {
      expect(res.status).toBe(201);
      anchored.push((await res.json()) as Anchored);
    }
    expect(batch.status).toBe(201);
    anchored.push(...((await batch.json()) as { results: Anchored[] }).results);
    expect(anchored).toHaveLength(8);
    const keys = witnesses.policy.witnesses.map((w) => w.key);
    for (const a of anchored) {
      const opened = openCosigned(a.receipt.checkpoint, logKey, keys);
      expect(opened.failed).toEqual([]);
      expect(opened.cosignatures.length, `receipt of entry ${a.index}`).toBeGreaterThanOrEqual(2);
      const report = await verifyReceipt(a.receipt, { trustedKeys: [logKey], policy: witnesses.policy });
      const cosig = report.checks.find((c) => c.id === 'cosignatures');
      expect(cosig?.status, cosig?.message).toBe('pass');
      expect(report.valid).toBe(true);
      expect(report.facts.index).toBe(a.index);
      expect(report.facts.cosignatures?.met).toBe(true);
      expect(report.facts.cosignatures?.failed).toBe(0);
    }
    const h = await health();
    expect(h.witnesses).toBe('3/3');
    const last = anchored.reduce((m, a) => (BigInt(a.index) > m ? BigInt(a.index) : m), 0n);
    expect(BigInt(h.witnessedSize ?? '0')).toBeGreaterThan(last);
  });

  it('leaves on each witness’s monitoring path a checkpoint of this log that the witness cosigned', async () => {
    for (const w of witnesses.witnesses) {
      const note = await witnesses.checkpoint(w, ORIGIN);
      expect(typeof note, w.name).toBe('string');
      const opened = openCosigned(note as string, logKey, [w.key]);
      expect(opened.cosignatures.map((c) => c.name)).toEqual([w.key.name]);
      expect(opened.checkpoint.checkpoint.size).toBeGreaterThan(0n);
    }
  });

  it('refuses to start when GUZHENG_WITNESS_POLICY names a malformed policy, naming the variable and the line', async () => {
    const bad = join(dir, 'bad-policy.txt');
    writeFileSync(bad, `log ${logKey}\n# a comment\nwitness court not-a-verifier-key\nquorum court\n`);
    const r = await spawnServer({ data: join(dir, 'data-bad'), env: { GUZHENG_WITNESS_POLICY: bad, GUZHENG_ADMIN_KEY: adminKey } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.exit?.signal ?? null).toBeNull();
    // A configuration error (exit 2), found before anything was created: no data directory, no key.
    expect(r.exit?.code).toBe(2);
    expect(r.output).toContain(`GUZHENG_WITNESS_POLICY ${bad}`);
    expect(r.output).toMatch(/policy line 3: /);
    expect(existsSync(join(dir, 'data-bad'))).toBe(false);
  }, 60_000);
});
