/**
 * `guzheng audit --tsa-ca` (src/audit/timestamps.ts, src/cli/audit.ts, docs/audit.md): every
 * RFC 3161 token the log keeps is verified against SHA-256 of its block's checkpoint and the pinned
 * TSA roots, remotely (--url, tokens from /v1/blocks) and locally (--data on a stopped copy, tokens
 * from the store). The log is the real service stamped by a real TSA (`openssl ts -reply` behind
 * test/support/tsa); the command runs in-process (registerAudit with captured output).
 *
 * With the right root the time line says all tokens verify (exit 0). With another root pinned, a
 * kept token altered in the store, or every served token altered by a proxy in front of --url,
 * each bad token is a `timestamp-invalid` problem at its block height with the right code (exit 1).
 * Without --tsa-ca the tokens are counted as not verified (exit 0).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerAudit } from '../../src/cli/audit.js';
import { CliError } from '../../src/cli/client.js';
import { fromBase64, toBase64 } from '../../src/core/bytes.js';
import { encodeStoredToken, decodeStoredToken, TSA_EVIDENCE } from '../../src/log/stamps.js';
import { LevelStore } from '../../src/storage/level.js';
import { alterGenTime } from '../support/tsa/forge.js';
import { derToPem } from '../support/tsa/openssl.js';
import { anchorDocument, caughtUp, stampedReceipt, startStampingService, type StampingService } from '../support/tsa/service.js';

const dir = mkdtempSync(join(tmpdir(), 'guzheng-audit-tsa-'));
let s: StampingService;
let key: string;
/** Heights of the blocks the log kept a token with, ascending. */
let stamped: string[];
let proxy: Server;
let proxyUrl: string;
const root = join(dir, 'tsa-root.pem');
const other = join(dir, 'other-root.pem');

interface Run {
  out: string;
  err: string;
  code: number;
}

async function audit(...args: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const program = new Command().exitOverride();
  registerAudit(program, { out: (t) => void (out += t), err: (t) => void (err += t), progress: false });
  try {
    await program.parseAsync([...args, '--workers', '0', '--no-progress'], { from: 'user' });
    return { out, err, code: 0 };
  } catch (e) {
    if (e instanceof CliError) return { out, err: err + e.message, code: e.exitCode };
    throw e;
  }
}

interface AuditJson {
  ok: boolean;
  time: { tokens: number; verifiedTokens: number; tsaRootsPinned: boolean };
  problemCount: number;
  problems: Array<{ kind: string; height?: string; code?: string; message: string }>;
}

const json = (r: Run) => JSON.parse(r.out) as AuditJson;
const timeLine = (r: Run) => r.out.split('\n').find((l) => l.startsWith('  time '));

type ServedBlock = Record<string, unknown> & { height: string; timestamps?: Array<{ tsa: string; token: string }> };

beforeAll(async () => {
  s = await startStampingService({ dir, origin: 'guzheng.test/audit-tsa' });
  key = s.service.ledger.verifierKey;
  // Three documents, each stamped before the next is anchored: tokens kept with several blocks.
  for (let i = 0; i < 3; i++) {
    const index = await anchorDocument(s, `doc-${i}.pdf`, new TextEncoder().encode(`%PDF-1.7 doc ${i}\n`));
    await stampedReceipt(s, index);
  }
  await caughtUp(s);
  const { blocks } = (await (await s.api('/v1/blocks?from=0&limit=1000')).json()) as { blocks: ServedBlock[] };
  stamped = blocks.filter((b) => b.timestamps !== undefined).map((b) => b.height);
  expect(stamped.length).toBeGreaterThanOrEqual(3);
  writeFileSync(root, derToPem(s.tsa.rootDer));
  writeFileSync(other, derToPem(s.tsa.pki.untrustedRootDer));
  // A proxy in front of the log that changes one byte of every token it serves, nothing else.
  proxy = createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(`${s.url}${req.url}`, { headers: req.headers.authorization ? { authorization: req.headers.authorization } : {} });
      let body = Buffer.from(await upstream.arrayBuffer());
      if (req.url?.startsWith('/v1/blocks?') && upstream.status === 200) {
        const page = JSON.parse(body.toString('utf8')) as { blocks: ServedBlock[] };
        for (const b of page.blocks) for (const t of b.timestamps ?? []) t.token = toBase64(alterGenTime(fromBase64(t.token)));
        body = Buffer.from(JSON.stringify(page));
      }
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' });
      res.end(body);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}, 180_000);

afterAll(async () => {
  if (proxy) await new Promise<void>((r) => proxy.close(() => r()));
  await s?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('guzheng audit --url --tsa-ca (a live log)', () => {
  it('the right root: exit 0, the time line says every kept token verifies', async () => {
    const [human, asJson] = await Promise.all([
      audit('audit', '--url', s.url, '--key', key, '--api-key', s.admin, '--tsa-ca', root),
      audit('audit', '--url', s.url, '--key', key, '--api-key', s.admin, '--tsa-ca', root, '--json'),
    ]);
    expect(human.code, human.out + human.err).toBe(0);
    expect(timeLine(human)).toBe(`  time       ${stamped.length} of ${stamped.length} RFC 3161 time-stamp tokens verify against the pinned TSA roots`);
    expect(human.out).toMatch(/^OK: .*everything is consistent\.$/m);
    expect(json(asJson)).toMatchObject({ ok: true, problemCount: 0, time: { tokens: stamped.length, verifiedTokens: stamped.length, tsaRootsPinned: true } });
  }, 120_000);

  it('another root pinned: exit 1, timestamp-invalid with TIMESTAMP_UNTRUSTED at every stamped block', async () => {
    const r = await audit('audit', '--url', s.url, '--key', key, '--api-key', s.admin, '--tsa-ca', other, '--json');
    expect(r.code, r.err).toBe(1);
    const j = json(r);
    expect(j.ok).toBe(false);
    expect(j.time).toMatchObject({ tokens: stamped.length, verifiedTokens: 0 });
    expect(j.problems.map((p) => [p.kind, p.height, p.code])).toEqual(stamped.map((h) => ['timestamp-invalid', h, 'TIMESTAMP_UNTRUSTED']));
    expect(j.problems[0]?.message).toMatch(/does not verify against its checkpoint and the pinned TSA roots: .*does not chain to any pinned root/);
    expect(r.err).toMatch(/audit FAILED: \d+ problems?; first: block \d+: timestamp-invalid/);
  }, 120_000);

  it('a proxy that alters one byte of every served token: exit 1, timestamp-invalid with TIMESTAMP_INVALID at every stamped block', async () => {
    const [asJson, human] = await Promise.all([
      audit('audit', '--url', proxyUrl, '--key', key, '--api-key', s.admin, '--tsa-ca', root, '--json'),
      audit('audit', '--url', proxyUrl, '--key', key, '--api-key', s.admin, '--tsa-ca', root),
    ]);
    expect(asJson.code, asJson.err).toBe(1);
    const j = json(asJson);
    expect(j.problems.map((p) => [p.kind, p.height, p.code])).toEqual(stamped.map((h) => ['timestamp-invalid', h, 'TIMESTAMP_INVALID']));
    // Only the tokens were changed: nothing else is reported.
    expect(j.problemCount).toBe(stamped.length);
    expect(j.time).toMatchObject({ tokens: stamped.length, verifiedTokens: 0 });
    expect(human.code).toBe(1);
    expect(timeLine(human)).toBe(`  time       0 of ${stamped.length} RFC 3161 time-stamp tokens verify against the pinned TSA roots`);
    expect(human.out).toMatch(/\[timestamp-invalid\] block \d+: the time-stamp token kept with block \d+ does not verify/);
  }, 120_000);

  it('without --tsa-ca: exit 0, the tokens counted but not verified', async () => {
    const r = await audit('audit', '--url', s.url, '--key', key, '--api-key', s.admin);
    expect(r.code, r.out + r.err).toBe(0);
    expect(timeLine(r)).toBe(`  time       ${stamped.length} RFC 3161 time-stamp tokens not verified: no TSA root pinned (give --tsa-ca)`);
  }, 120_000);
});

describe('guzheng audit --data --tsa-ca (a stopped copy)', () => {
  let copy: string;
  /** Never opened: opening a LevelDB directory rewrites its MANIFEST, so copies are made from this one. */
  let pristine: string;

  beforeAll(async () => {
    await s.service.close();
    pristine = join(dir, 'pristine');
    cpSync(s.dataDir, pristine, { recursive: true });
    copy = join(dir, 'copy');
    cpSync(pristine, copy, { recursive: true });
  }, 60_000);

  /** A fresh copy of the stopped data directory, to damage. */
  const damaged = (name: string) => {
    const d = join(dir, name);
    cpSync(pristine, d, { recursive: true });
    return d;
  };

  it('the right root: exit 0, every kept token verifies; without --tsa-ca they are counted, not verified', async () => {
    const [ok, unpinned] = await Promise.all([audit('audit', '--data', copy, '--key', key, '--tsa-ca', root), audit('audit', '--data', damaged('unpinned'), '--key', key)]);
    expect(ok.code, ok.out + ok.err).toBe(0);
    expect(timeLine(ok)).toBe(`  time       ${stamped.length} of ${stamped.length} RFC 3161 time-stamp tokens verify against the pinned TSA roots`);
    expect(unpinned.code, unpinned.out + unpinned.err).toBe(0);
    expect(timeLine(unpinned)).toBe(`  time       ${stamped.length} RFC 3161 time-stamp tokens not verified: no TSA root pinned (give --tsa-ca)`);
  }, 120_000);

  it('another root pinned: exit 1, timestamp-invalid with TIMESTAMP_UNTRUSTED at every stamped block', async () => {
    const r = await audit('audit', '--data', copy, '--key', key, '--tsa-ca', other, '--json');
    expect(r.code, r.err).toBe(1);
    expect(json(r).problems.map((p) => [p.kind, p.height, p.code])).toEqual(stamped.map((h) => ['timestamp-invalid', h, 'TIMESTAMP_UNTRUSTED']));
  }, 120_000);

  it('one kept token altered in the store: exit 1, one timestamp-invalid (TIMESTAMP_INVALID) at its block; the others still verify', async () => {
    const d = damaged('altered');
    const height = BigInt(stamped[1] as string);
    const store = await LevelStore.open(join(d, 'ledger'));
    try {
      const [row] = await store.listEvidence(TSA_EVIDENCE, height, 1);
      expect(row?.height).toBe(height);
      const kept = decodeStoredToken(row!.value, height);
      await store.putEvidence(TSA_EVIDENCE, height, encodeStoredToken({ ...kept, token: alterGenTime(kept.token) }));
    } finally {
      await store.close();
    }
    const [asJson, human] = await Promise.all([audit('audit', '--data', d, '--key', key, '--tsa-ca', root, '--json'), audit('audit', '--data', damaged('altered-2'), '--key', key, '--tsa-ca', root)]);
    expect(asJson.code, asJson.err).toBe(1);
    const j = json(asJson);
    expect(j.problems.map((p) => [p.kind, p.height, p.code])).toEqual([['timestamp-invalid', height.toString(), 'TIMESTAMP_INVALID']]);
    expect(j.problems[0]?.message).toBe(`the time-stamp token kept with block ${height} does not verify against its checkpoint and the pinned TSA roots: time-stamp token: the CMS signature does not verify`);
    expect(j.problemCount).toBe(1);
    expect(j.time).toMatchObject({ tokens: stamped.length, verifiedTokens: stamped.length - 1 });
    expect(asJson.err).toBe(`audit FAILED: 1 problem; first: block ${height}: timestamp-invalid`);
    // The undamaged copy next to it is still fine: the problem is the altered token, not the audit.
    expect(human.code, human.out + human.err).toBe(0);
  }, 120_000);

  it('a kept token record that does not decode: exit 1, timestamp-invalid at its block, with or without --tsa-ca', async () => {
    const d = damaged('corrupt-record');
    const height = BigInt(stamped[0] as string);
    const store = await LevelStore.open(join(d, 'ledger'));
    try {
      await store.putEvidence(TSA_EVIDENCE, height, new TextEncoder().encode('{"not":"a token"}'));
    } finally {
      await store.close();
    }
    for (const pinned of [['--tsa-ca', root], []]) {
      const r = await audit('audit', '--data', d, '--key', key, ...pinned, '--json');
      expect(r.code, r.err).toBe(1);
      const j = json(r);
      expect(j.problems.map((p) => [p.kind, p.height])).toEqual([['timestamp-invalid', height.toString()]]);
      expect(j.problems[0]?.message).toMatch(new RegExp(`time-stamp record kept with block ${height} is corrupt`));
    }
  }, 120_000);
});
