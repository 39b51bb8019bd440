/**
 * `guzheng audit --url`: replaying a live log through its tiles, blocks, lookup and proof APIs,
 * served here by a small node:http server over a Ledger (test/audit/helpers.ts). Damage is
 * injected in what the server reads, so the auditor sees a log that serves inconsistent data.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { parseVerifierKey } from '../../src/core/note.js';
import { RemoteSource } from '../../src/audit/remote.js';
import { runAudit } from '../../src/audit/replay.js';
import { formatReport, type AuditReport } from '../../src/audit/report.js';
import { AuditAbort } from '../../src/audit/source.js';
import { Ledger } from '../../src/log/ledger.js';
import { MemoryStore } from '../../src/storage/memory.js';
import type { LedgerStore } from '../../src/storage/store.js';
import { AUDIT_KEY, CLOCK, IMPOSTOR, KEYS, appendEntries, serveLedger, type TestServer } from './helpers.js';
import { openCheckpoint, signCheckpoint } from '../../src/core/checkpoint.js';
import { parseSignerKey } from '../../src/core/note.js';

const SIZE = 5000; // two chunks: one full, one partial
const key = parseVerifierKey(KEYS.verifierKey);

/** What the server's store should lie about (set per test). */
const damage: { entry?: bigint; node?: { level: number; index: bigint }; lookup?: boolean } = {};

function damaged(inner: LedgerStore): LedgerStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'getEntries') {
        return async (start: bigint, count: number) => {
          const got = await target.getEntries(start, count);
          if (damage.entry === undefined || damage.entry < start || damage.entry >= start + BigInt(got.length)) return got;
          const i = Number(damage.entry - start);
          const e = got[i]!.slice();
          e[e.length - 3] = 0x20; // `"v":1}` becomes `"v" 1}`: no longer the entry that was hashed
          got[i] = e;
          return got;
        };
      }
      if (prop === 'readNodes') {
        return async (ids: Array<{ level: number; index: bigint }>) => {
          const got = await target.readNodes(ids);
          return got.map((h, i) => (damage.node && ids[i]!.level === damage.node.level && ids[i]!.index === damage.node.index ? new Uint8Array(32).fill(7) : h));
        };
      }
      if (prop === 'lookupDigest') {
        return async (alg: string, hex: string) => (damage.lookup ? [] : target.lookupDigest(alg, hex));
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

let ledger: Ledger;
let server: TestServer;

beforeAll(async () => {
  ledger = await Ledger.open({ store: damaged(new MemoryStore()), signerKey: KEYS.signerKey, checkpointIntervalMs: 3_600_000, clock: CLOCK });
  await appendEntries(ledger, SIZE, { batch: 500 });
  server = await serveLedger(ledger);
}, 60_000);
afterAll(async () => {
  await server.close();
  await ledger.close();
});

async function audit(options: { apiKey?: string; workers?: number; digestEvery?: number } = {}): Promise<AuditReport> {
  const source = new RemoteSource(server.url, key, { apiKey: options.apiKey ?? AUDIT_KEY, digestEvery: options.digestEvery ?? 256, attempts: 1 });
  try {
    return await runAudit(source, { verifierKey: KEYS.verifierKey, workers: options.workers ?? 0 });
  } finally {
    await source.close();
  }
}

describe('audit --url', () => {
  it('replays a live log through its tiles: consistent', async () => {
    const r = await audit();
    expect(r.ok, formatReport(r)).toBe(true);
    expect(r.size).toBe(BigInt(SIZE));
    expect(r.checkpoints).toBe(11n);
    expect(toHex(r.root)).toBe(toHex(ledger.latest().checkpoint.checkpoint.root));
    expect(r.stats.nodesCompared).toBe(SIZE + (SIZE >> 8)); // level-0 and level-8 tile hashes
    expect(r.stats.indexLookups).toBe(Math.ceil(SIZE / 256));
  });

  it('works with worker threads', async () => {
    const r = await audit({ workers: 2 });
    expect(r.ok, formatReport(r)).toBe(true);
    expect(r.stats.workers).toBe(2);
  }, 60_000);

  it('needs an audit API key for entry bundles', async () => {
    const err = await audit({ apiKey: 'wrong' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuditAbort);
    expect((err as AuditAbort).message).toMatch(/audit role/);
    expect((err as AuditAbort).exitCode).toBe(2);
  });

  it('an entry served differently from its leaf hash tile: located at its index', async () => {
    damage.entry = 4321n;
    try {
      const r = await audit();
      expect(r.problems[0]?.index).toBe(4321n);
      expect(r.problems.filter((p) => p.index === 4321n).map((p) => p.kind).sort()).toEqual(['entry-invalid', 'node-mismatch']);
    } finally {
      delete damage.entry;
    }
  });

  it('a tile hash that differs: located at its node', async () => {
    damage.node = { level: 8, index: 3n };
    try {
      const r = await audit();
      expect(r.problems[0]).toMatchObject({ kind: 'node-mismatch', level: 8, node: 3n, found: '07'.repeat(32) });
      expect(r.problemCount).toBe(1);
    } finally {
      delete damage.node;
    }
  });

  it('a digest lookup that hides an anchoring', async () => {
    damage.lookup = true;
    try {
      const r = await audit({ digestEvery: 1000 });
      expect(r.problems.map((p) => [p.kind, p.index])).toEqual([0n, 1000n, 2000n, 3000n, 4000n].map((i) => ['digest-index', i]));
    } finally {
      delete damage.lookup;
    }
  });

  it('a served checkpoint that does not verify with the pinned key: exit 1, no replay', async () => {
    const cp = openCheckpoint(ledger.latest().checkpoint.note, key).checkpoint;
    server.overrideCheckpoint(signCheckpoint({ origin: cp.origin, size: cp.size, root: cp.root }, parseSignerKey(IMPOSTOR.signerKey)));
    try {
      const err = await audit().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuditAbort);
      expect((err as AuditAbort).exitCode).toBe(1);
    } finally {
      server.overrideCheckpoint(undefined);
    }
  });

  it('audits an empty live log', async () => {
    const empty = await Ledger.open({ store: new MemoryStore(), signerKey: KEYS.signerKey, checkpointIntervalMs: 3_600_000, clock: CLOCK });
    const s = await serveLedger(empty);
    try {
      const r = await runAudit(new RemoteSource(s.url, key, { apiKey: AUDIT_KEY }), { verifierKey: KEYS.verifierKey });
      expect(r.ok, formatReport(r)).toBe(true);
      expect(r).toMatchObject({ size: 0n, checkpoints: 1n });
    } finally {
      await s.close();
      await empty.close();
    }
  });

  it('an unreachable log: exit 2', async () => {
    const source = new RemoteSource('http://127.0.0.1:1', key, { attempts: 1 });
    const err = await runAudit(source, { verifierKey: KEYS.verifierKey }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuditAbort);
    expect((err as AuditAbort).exitCode).toBe(2);
  });
});
