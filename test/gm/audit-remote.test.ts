/**
 * `guzheng audit --url` of a gm (国密) log: the real HTTP service (test/http/helpers.ts startServer
 * over a LevelStore in a temp directory) with an SM2 log key serves its tiles, blocks (with SM3
 * block hashes), `/v1/lookup/sm3/…` and consistency proofs; the auditor replays it with the SM3
 * tree chosen by the pinned SM2 key, inline and with worker threads. A proxy in front of it (the
 * auditor's `fetch`) alters what is served: an entry, a tile hash, a lookup, a block hash; each is
 * located at its index, node or height, as test/audit/remote.test.ts locates it in a c2sp log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockHash, parseBlock } from '../../src/core/block.js';
import { toHex } from '../../src/core/bytes.js';
import { parseVerifierKey } from '../../src/core/note.js';
import { C2SP } from '../../src/core/suite.js';
import { RemoteSource } from '../../src/audit/remote.js';
import { runAudit } from '../../src/audit/replay.js';
import { formatReport, type AuditReport } from '../../src/audit/report.js';
import { CLOCK } from '../audit/helpers.js';
import { intercept, jsonResponse, type ServedPage } from '../audit/monitor-support.js';
import { startServer, type TestServer } from '../http/helpers.js';
import { GM_KEYS, appendGm, sm3, sm3Leaf } from './audit-support.js';

const SIZE = 5000; // two chunks: one full, one partial
const key = parseVerifierKey(GM_KEYS.verifierKey);
let s: TestServer;

beforeAll(async () => {
  s = await startServer({ ledger: { signerKey: GM_KEYS.signerKey, checkpointIntervalMs: 3_600_000, clock: CLOCK } });
  await appendGm(s.ledger, SIZE, { batch: 500 });
}, 120_000);
afterAll(async () => {
  await s?.destroy();
});

async function audit(o: { workers?: number; digestEvery?: number; fetch?: typeof fetch } = {}): Promise<AuditReport> {
  const source = new RemoteSource(s.url, key, { apiKey: s.keys.audit, digestEvery: o.digestEvery ?? 256, attempts: 1, ...(o.fetch ? { fetch: o.fetch } : {}) });
  try {
    return await runAudit(source, { verifierKey: GM_KEYS.verifierKey, workers: o.workers ?? 0 });
  } finally {
    await source.close();
  }
}

/** A proxy whose answer to the paths `match` selects is `rewrite(body)` (bytes). */
function rewriting(match: (url: URL) => boolean, rewrite: (body: Uint8Array, url: URL) => Uint8Array): typeof fetch {
  return intercept(async (url, pass) => {
    const res = await pass();
    if (!match(url) || res.status !== 200) return res;
    return new Response(rewrite(new Uint8Array(await res.arrayBuffer()), url), { status: 200, headers: res.headers });
  });
}

/** The entries of an entry bundle (c2sp.org/tlog-tiles: big-endian u16 length, then the bytes). */
function bundleOffsets(bundle: Uint8Array): Array<{ at: number; length: number }> {
  const out: Array<{ at: number; length: number }> = [];
  for (let i = 0; i < bundle.length; ) {
    const length = ((bundle[i] as number) << 8) | (bundle[i + 1] as number);
    out.push({ at: i + 2, length });
    i += 2 + length;
  }
  return out;
}

describe('audit --url of a gm log', () => {
  it('replays it through its tiles with SM3: consistent, the digest index looked up as sm3', async () => {
    const asked: string[] = [];
    const r = await audit({ fetch: intercept((url, pass) => (asked.push(url.pathname), pass())) });
    expect(r.ok, formatReport(r)).toBe(true);
    expect(r).toMatchObject({ suite: 'gm', size: BigInt(SIZE), checkpoints: 11n });
    expect(toHex(r.root)).toBe(toHex(s.ledger.latest().checkpoint.checkpoint.root));
    expect(r.stats.nodesCompared).toBe(SIZE + (SIZE >> 8)); // level-0 and level-8 tile hashes
    expect(r.stats.indexLookups).toBe(Math.ceil(SIZE / 256));
    const lookups = asked.filter((p) => p.startsWith('/v1/lookup/'));
    expect(lookups).toHaveLength(Math.ceil(SIZE / 256));
    expect(lookups.every((p) => /^\/v1\/lookup\/sm3\/[0-9a-f]{64}$/.test(p))).toBe(true);
  });

  it('the served tiles are the SM3 tree: the first level-0 tile holds SM3(0x00 ‖ entry) of the first bundle', async () => {
    const auth = { headers: { authorization: `Bearer ${s.keys.audit}` } };
    const bundle = new Uint8Array(await (await fetch(`${s.url}/tile/entries/000`, auth)).arrayBuffer());
    const hashes = new Uint8Array(await (await fetch(`${s.url}/tile/0/000`)).arrayBuffer());
    const leaves = bundleOffsets(bundle).map(({ at, length }) => sm3Leaf(bundle.subarray(at, at + length)));
    expect(leaves).toHaveLength(256);
    expect(toHex(hashes)).toBe(Buffer.concat(leaves).toString('hex'));
  });

  it('works with worker threads', async () => {
    const r = await audit({ workers: 2 });
    expect(r.ok, formatReport(r)).toBe(true);
    expect(r.stats.workers).toBe(2);
    expect(toHex(r.root)).toBe(toHex(s.ledger.latest().checkpoint.checkpoint.root));
  }, 120_000);

  it('an entry served differently from its leaf hash tile: located at its index, the SM3 leaf of what was served expected', async () => {
    const k = 4321;
    let served: Uint8Array | undefined;
    const f = rewriting(
      (url) => url.pathname === `/tile/entries/${String(Math.floor(k / 256)).padStart(3, '0')}`,
      (body) => {
        const copy = body.slice();
        const e = bundleOffsets(copy)[k % 256] as { at: number; length: number };
        copy[e.at + e.length - 3] = 0x20; // `"v":1}` becomes `"v" 1}`: no longer the entry that was hashed
        served = copy.slice(e.at, e.at + e.length);
        return copy;
      },
    );
    for (const workers of [0, 2]) {
      const r = await audit({ fetch: f, workers });
      expect(r.problems[0]?.index).toBe(BigInt(k));
      expect(r.problems.filter((p) => p.index === BigInt(k)).map((p) => p.kind).sort()).toEqual(['entry-invalid', 'node-mismatch']);
      expect(r.problems.find((p) => p.kind === 'node-mismatch')).toMatchObject({ level: 0, node: BigInt(k), expected: sm3Leaf(served as Uint8Array).toString('hex') });
    }
  }, 120_000);

  it('a tile hash that differs: located at its node', async () => {
    // Level-8 node 3 is the 4th hash of tile 1/000.
    const f = rewriting(
      (url) => url.pathname.startsWith('/tile/1/000'),
      (body) => {
        const copy = body.slice();
        copy.fill(7, 3 * 32, 4 * 32);
        return copy;
      },
    );
    const r = await audit({ fetch: f });
    expect(r.problems[0]).toMatchObject({ kind: 'node-mismatch', level: 8, node: 3n, found: '07'.repeat(32) });
    expect(r.problemCount).toBe(1);
  });

  it('a digest lookup that hides an anchoring', async () => {
    const f = intercept(async (url, pass) => (url.pathname.startsWith('/v1/lookup/sm3/') ? jsonResponse({ anchorings: [] }) : pass()));
    const r = await audit({ digestEvery: 1000, fetch: f });
    expect(r.problems.map((p) => [p.kind, p.index])).toEqual([0n, 1000n, 2000n, 3000n, 4000n].map((i) => ['digest-index', i]));
    expect(r.problems[0]?.message).toMatch(/^looking up sm3:[0-9a-f]{64} does not list entry 0/);
  });

  it('a block served with its SHA-256 (c2sp) hash instead of its SM3 hash: block-invalid at its height', async () => {
    const height = 4n;
    let sm3Hash = '';
    const f = intercept(async (url, pass) => {
      const res = await pass();
      if (url.pathname !== '/v1/blocks') return res;
      const page = (await res.json()) as ServedPage;
      for (const b of page.blocks) {
        if (BigInt(b.height) !== height) continue;
        const { hash, timestamps: _t, ...json } = b;
        sm3Hash = hash;
        b.hash = toHex(blockHash(parseBlock(json), C2SP));
      }
      return jsonResponse(page);
    });
    const r = await audit({ fetch: f });
    // The log served the SM3 hash of the signed checkpoint text (SPEC.md#block-hash), computed here by OpenSSL.
    const [block] = await s.ledger.blocks(height, 1);
    const note = parseBlock(block).checkpoint;
    expect(sm3Hash).toBe(sm3(new TextEncoder().encode(note.slice(0, note.indexOf('\n\n') + 1))).toString('hex'));
    expect(r.problems.map((p) => [p.kind, p.height])).toEqual([['block-invalid', height]]);
    expect(r.problems[0]?.expected).toBe(sm3Hash);
  });
});
