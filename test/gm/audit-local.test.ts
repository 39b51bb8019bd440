/**
 * `guzheng audit --data` of a gm (国密) log (SPEC.md#crypto-suites): a real gm ledger (Ledger.open
 * with an SM2 signer key on a LevelStore in a temp directory) is replayed from genesis with the SM3
 * tree, SM3 block hashes, SM3 attachment digests and SM3 time-stamp imprints, all chosen by the
 * pinned SM2 key. Clean, it audits OK, inline and with worker threads, to the root an independent
 * SM3 RFC 6962 tree (node:crypto) gives. Damaged, each damage is located exactly as in a c2sp
 * ledger built with the same batches and damaged the same way: the same problem kinds, indexes,
 * heights, nodes and codes, with SM3 values as expected/found.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { formatBlock, parseBlock } from '../../src/core/block.js';
import { fromUtf8, toHex, utf8 } from '../../src/core/bytes.js';
import { openCheckpoint } from '../../src/core/checkpoint.js';
import { decodeEntry } from '../../src/core/entry/codec.js';
import { LocalSource } from '../../src/audit/local.js';
import { runAudit, type AuditOptions } from '../../src/audit/replay.js';
import { formatReport, reportJson, type AuditReport, type Problem } from '../../src/audit/report.js';
import { registerAudit } from '../../src/cli/audit.js';
import { CliError } from '../../src/cli/client.js';
import type { Ledger } from '../../src/log/ledger.js';
import { decodeStoredToken, encodeStoredToken, TSA_EVIDENCE } from '../../src/log/stamps.js';
import { LevelStore } from '../../src/storage/level.js';
import { attachmentKey, blockKey } from '../../src/storage/keys.js';
import { alterGenTime } from '../support/tsa/forge.js';
import { derToPem } from '../support/tsa/openssl.js';
import { opensslToken } from '../support/tsa/server.js';
import { testPki } from '../support/tsa/pki.js';
import { KEYS, cleanupDirs, entryInput, openLedger, tempDir, withDb } from '../audit/helpers.js';
import { DIGEST_INDEX, allEntries, getEntry, mutateDigests, mutateIndex, putEntry, record, same, setNode } from '../audit/layout2.js';
import { GM_KEYS, GM_NAME_ED25519, appendGm, hj212Input, sm3, sm3Leaf, sm3RootOfLeaves } from './audit-support.js';

const SIZE = 4500; // two chunks of 4,096: the chunk roots are joined with SM3 too
const BATCH = 150; // a block per batch: blocks at sizes 0, 150, …, 4500
const HJ = 12; // then one block of HJ 212 packets (entries 4500–4511)
const TOTAL = SIZE + HJ;
/** Blocks kept with an RFC 3161 token (of the openssl test TSA, over the suite's imprint). */
const STAMPED = [5n, 17n, 31n];

type SuiteName = 'gm' | 'c2sp';
interface Built {
  readonly dir: string;
  readonly key: string;
  readonly notes: string[];
}
const built = {} as Record<SuiteName, Built>;
let tsaRoot: Uint8Array;
let tsaRootPem: string;

/** stamp keeps a real token over the block's checkpoint (H of the suite, its OID) with `height`. */
async function stamp(ledger: Ledger, height: bigint, alg: 'sha256' | 'sm3'): Promise<void> {
  const [block] = await ledger.blocks(height, 1);
  const note = parseBlock(block).checkpoint;
  const imprint = alg === 'sm3' ? sm3(utf8(note)) : new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(note)));
  await ledger.stamps.record(height, { tsa: 'openssl-test-tsa', token: await opensslToken(imprint, { alg }) });
}

async function build(name: SuiteName): Promise<Built> {
  const signerKey = name === 'gm' ? GM_KEYS.signerKey : KEYS.signerKey;
  const dir = join(tempDir('guzheng-gm-audit-'), 'ledger');
  const ledger = await openLedger(dir, signerKey);
  try {
    const alg = name === 'gm' ? 'sm3' : 'sha256';
    const notes = [ledger.latest().checkpoint.note];
    // The same entries at the same indexes, in the same blocks, in both suites.
    notes.push(...(await appendGm(ledger, SIZE, { batch: BATCH, input: name === 'gm' ? undefined : (i) => entryInput(i) })));
    notes.push(...(await appendGm(ledger, TOTAL, { batch: HJ, input: (i) => hj212Input(i, alg) })));
    for (const h of STAMPED) await stamp(ledger, h, alg);
    return { dir, key: name === 'gm' ? GM_KEYS.verifierKey : KEYS.verifierKey, notes };
  } finally {
    await ledger.close();
  }
}

beforeAll(async () => {
  const pki = await testPki();
  tsaRoot = pki.rootDer;
  tsaRootPem = join(tempDir(), 'tsa-root.pem');
  writeFileSync(tsaRootPem, derToPem(tsaRoot));
  built.gm = await build('gm');
  built.c2sp = await build('c2sp');
}, 240_000);
afterAll(cleanupDirs);

/** A copy of a pristine ledger (never opened by an audit: opening LevelDB rewrites its MANIFEST). */
function copy(name: SuiteName): string {
  const dir = join(tempDir(), 'ledger');
  cpSync(built[name].dir, dir, { recursive: true });
  return dir;
}

async function audit(name: SuiteName, dir: string, options: Partial<AuditOptions> = {}): Promise<AuditReport> {
  const source = await LocalSource.open(dir);
  try {
    return await runAudit(source, { verifierKey: built[name].key, maxProblems: 50, workers: 0, ...options });
  } finally {
    await source.close();
  }
}

async function getValue(dir: string, key: Uint8Array): Promise<Uint8Array> {
  const v = await withDb(dir, (db) => db.get(key));
  if (v === undefined) throw new Error('no such key');
  return new Uint8Array(v);
}

/** Where each problem is: what "located exactly as in c2sp" compares. */
const located = (r: AuditReport) => r.problems.map((p) => ({ kind: p.kind, index: p.index, height: p.height, level: p.level, node: p.node, code: p.code }));

/**
 * damageBoth applies the same damage to a copy of each ledger, audits both, requires both to fail
 * with the same located problems, and returns the gm report (and the damaged gm directory).
 */
async function damageBoth(damage: (dir: string, name: SuiteName) => Promise<void>, options: Partial<AuditOptions> = {}): Promise<{ gm: AuditReport; c2sp: AuditReport; dir: string }> {
  const dirs = { gm: copy('gm'), c2sp: copy('c2sp') };
  await damage(dirs.gm, 'gm');
  await damage(dirs.c2sp, 'c2sp');
  const [gm, c2sp] = [await audit('gm', dirs.gm, options), await audit('c2sp', dirs.c2sp, options)];
  expect(c2sp.ok, formatReport(c2sp)).toBe(false);
  expect(gm.ok, formatReport(gm)).toBe(false);
  expect(located(gm)).toEqual(located(c2sp));
  expect(gm.counts).toEqual(c2sp.counts);
  return { gm, c2sp, dir: dirs.gm };
}

describe('audit of a clean gm ledger', () => {
  it('replays everything with SM3 and reports OK: the root is the SM3 tree of the stored entries', async () => {
    const dir = copy('gm');
    const entries = await withDb(dir, (db) => allEntries(db, TOTAL));
    const independent = sm3RootOfLeaves(entries.map((e) => sm3Leaf(e as Uint8Array)));
    const r = await audit('gm', dir);
    expect(r.ok, formatReport(r)).toBe(true);
    expect(r).toMatchObject({ suite: 'gm', size: BigInt(TOTAL), checkpoints: BigInt(built.gm.notes.length), unsealed: 0n });
    expect(toHex(r.root)).toBe(independent.toString('hex'));
    const last = openCheckpoint(built.gm.notes.at(-1) as string, GM_KEYS.verifierKey).checkpoint;
    expect(toHex(r.root)).toBe(toHex(last.root));
    expect(r.stats.nodesCompared).toBe(2 * TOTAL - 4); // 2n − popcount(4512): every stored node, SM3 recomputed
    // Every record's canonical JSON and every HJ 212 packet was hashed with SM3 against its entry's sm3 digest.
    const attachment = decodeEntry(entries[TOTAL - 1] as Uint8Array);
    expect(attachment.digest).toEqual({ alg: 'sm3', hex: sm3(await getValue(dir, attachmentKey(BigInt(TOTAL - 1)))).toString('hex') });
    // The tokens are counted (not verified: no root pinned here).
    expect(r.time).toMatchObject({ tokens: STAMPED.length, verifiedTokens: 0 });
    expect(formatReport(r)).toMatch(/\n {2}suite {6}gm: SM3 tree and digests, SM2 signatures/);
    expect(formatReport(r)).toMatch(/OK: 4,512 entries, 32 checkpoints/);
    const json = reportJson(r);
    expect(json).toMatchObject({ ok: true, suite: 'gm', size: String(TOTAL), problemCount: 0 });
    // The c2sp ledger built alike says nothing about a suite in its human report.
    const c2sp = await audit('c2sp', copy('c2sp'));
    expect(c2sp.ok, formatReport(c2sp)).toBe(true);
    expect(c2sp.suite).toBe('c2sp');
    expect(formatReport(c2sp)).not.toMatch(/suite/);
  }, 60_000);

  it('gives the same answer with worker threads', async () => {
    const dir = copy('gm');
    const [inline, threaded] = [await audit('gm', dir, { workers: 0 }), await audit('gm', dir, { workers: 2 })];
    expect(threaded.ok, formatReport(threaded)).toBe(true);
    expect(threaded.stats.workers).toBe(2);
    expect(toHex(threaded.root)).toBe(toHex(inline.root));
    expect(threaded.stats.nodesCompared).toBe(inline.stats.nodesCompared);
  }, 120_000);

  it('verifies every kept SM3-imprint token against the pinned TSA root', async () => {
    const r = await audit('gm', copy('gm'), { tsaRoots: [tsaRoot] });
    expect(r.ok, formatReport(r)).toBe(true);
    expect(r.time).toMatchObject({ tokens: STAMPED.length, verifiedTokens: STAMPED.length });
  }, 60_000);

  it('audits an empty gm log: its root is SM3("")', async () => {
    const dir = join(tempDir(), 'empty');
    const ledger = await openLedger(dir, GM_KEYS.signerKey);
    const genesis = ledger.latest().checkpoint.note;
    await ledger.close();
    const source = await LocalSource.open(dir);
    try {
      const r = await runAudit(source, { verifierKey: GM_KEYS.verifierKey, saved: [{ label: 'genesis', note: genesis }] });
      expect(r.ok, formatReport(r)).toBe(true);
      expect(r).toMatchObject({ size: 0n, checkpoints: 1n, savedCheckpoints: 1 });
      expect(toHex(r.root)).toBe(sm3().toString('hex'));
      expect(toHex(r.root)).toBe('1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b');
    } finally {
      await source.close();
    }
  });

  it('guzheng audit --data --key <SM2 key> --tsa-ca: exit 0; pinning an Ed25519 key of the same name fails', async () => {
    const run = async (...args: string[]) => {
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
    };
    const ok = await run('audit', '--data', copy('gm'), '--key', GM_KEYS.verifierKey, '--tsa-ca', tsaRootPem);
    expect(ok.code, ok.out + ok.err).toBe(0);
    expect(ok.out).toMatch(/suite {6}gm/);
    expect(ok.out).toMatch(new RegExp(`time {7}${STAMPED.length} of ${STAMPED.length} RFC 3161 time-stamp tokens verify`));
    const json = await run('audit', '--data', copy('gm'), '--key', GM_KEYS.verifierKey, '--json');
    expect(json.code, json.err).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ ok: true, suite: 'gm', size: String(TOTAL) });
    // A key of another suite signs nothing of this log: every block fails to verify.
    const wrong = await run('audit', '--data', copy('gm'), '--key', GM_NAME_ED25519.verifierKey, '--json');
    expect(wrong.code, wrong.err).toBe(1);
    const problems = (JSON.parse(wrong.out) as { suite: string; problems: Array<{ kind: string; height?: string; code?: string }> });
    expect(problems.suite).toBe('c2sp');
    expect(problems.problems).toContainEqual(expect.objectContaining({ kind: 'block-invalid', height: '0', code: 'NOTE_UNVERIFIED' }));
  }, 120_000);
});

describe('a damaged gm ledger: located exactly as in c2sp', () => {
  it('one byte of an entry changed: node-mismatch at its index (SM3 leaves expected vs found), root-mismatch at its block', async () => {
    const k = 1234n;
    const originals = {} as Record<SuiteName, Uint8Array>;
    const { gm, dir } = await damageBoth(async (dir, name) => {
      const original = await withDb(dir, (db) => getEntry(db, k));
      originals[name] = original;
      const changed = original.slice();
      const at = fromUtf8(original).indexOf('"hex":"') + 10; // a hex digit of the digest: still valid JSON
      changed[at] = changed[at] === 0x61 ? 0x62 : 0x61;
      await withDb(dir, (db) => putEntry(db, k, changed));
    });
    const p = gm.problems[0] as Problem;
    expect(p).toMatchObject({ kind: 'node-mismatch', level: 0, node: k, index: k });
    expect(p.expected).toBe(sm3Leaf(await withDb(dir, (db) => getEntry(db, k))).toString('hex'));
    expect(p.found).toBe(sm3Leaf(originals.gm).toString('hex'));
    // The checkpoint of the block sealing [1200, 1350) is contradicted, and only that one is listed.
    expect(gm.problems.find((x) => x.kind === 'root-mismatch')).toMatchObject({ height: 9n, index: 1200n });
    expect(gm.counts['root-mismatch']).toBe(1);
  }, 60_000);

  it("the newest block's time moved a year forward: block-invalid at its height", async () => {
    const height = BigInt(built.gm.notes.length - 1);
    const { gm } = await damageBoth(async (dir) => {
      const block = parseBlock(JSON.parse(fromUtf8(await getValue(dir, blockKey(height)))));
      const later = new Date(Date.parse(block.time) + 365 * 86_400_000).toISOString();
      await withDb(dir, (db) => db.put(blockKey(height), utf8(JSON.stringify(formatBlock({ ...block, time: later })))));
    });
    expect(located(gm)).toEqual([{ kind: 'block-invalid', height, index: undefined, level: undefined, node: undefined, code: 'BLOCK_INVALID' }]);
    expect(gm.problems[0]?.message).toMatch(/differs from the signed block header/);
  }, 60_000);

  it('a kept token altered in the store: timestamp-invalid (TIMESTAMP_INVALID) at its block, the other tokens verify', async () => {
    const height = STAMPED[1] as bigint;
    const { gm } = await damageBoth(
      async (dir) => {
        const store = await LevelStore.open(dir);
        try {
          const [row] = await store.listEvidence(TSA_EVIDENCE, height, 1);
          const kept = decodeStoredToken(row!.value, height);
          await store.putEvidence(TSA_EVIDENCE, height, encodeStoredToken({ ...kept, token: alterGenTime(kept.token) }));
        } finally {
          await store.close();
        }
      },
      { tsaRoots: [tsaRoot] },
    );
    expect(located(gm)).toEqual([{ kind: 'timestamp-invalid', height, index: undefined, level: undefined, node: undefined, code: 'TIMESTAMP_INVALID' }]);
    expect(gm.time).toMatchObject({ tokens: STAMPED.length, verifiedTokens: STAMPED.length - 1 });
  }, 60_000);

  it("a kept token of the other suite's imprint (SHA-256 over a gm checkpoint): timestamp-invalid at its block", async () => {
    // A token that is genuine, but over SHA-256 of the note with the SHA-256 OID: not a gm log's stamp.
    const height = STAMPED[0] as bigint;
    const dir = copy('gm');
    const store = await LevelStore.open(dir);
    try {
      const note = parseBlock(await store.getBlock(height)).checkpoint;
      const sha = new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(note)));
      await store.putEvidence(TSA_EVIDENCE, height, encodeStoredToken({ tsa: 'x', token: await opensslToken(sha, { alg: 'sha256' }) }));
    } finally {
      await store.close();
    }
    const r = await audit('gm', dir, { tsaRoots: [tsaRoot] });
    expect(located(r)).toEqual([{ kind: 'timestamp-invalid', height, index: undefined, level: undefined, node: undefined, code: 'TIMESTAMP_INVALID' }]);
    expect(r.problems[0]?.message).toMatch(/SM3/);
  }, 60_000);

  it('a record attachment and an HJ 212 packet changed: attachment at each index, SM3 of what is stored as found', async () => {
    const hj = BigInt(SIZE + 3);
    const { gm, dir } = await damageBoth(async (dir) => {
      await withDb(dir, (db) => db.batch([
        { type: 'put', key: attachmentKey(1n), value: utf8('{"station":"forged"}') },
        { type: 'put', key: attachmentKey(hj), value: utf8('##0101QN=forged\r\n') },
      ]));
    });
    expect(located(gm).map((p) => [p.kind, p.index])).toEqual([['attachment', 1n], ['attachment', hj]]);
    const entry = decodeEntry(await withDb(dir, (db) => getEntry(db, hj)));
    expect(gm.problems[1]).toMatchObject({ expected: `sm3:${entry.digest.hex}`, found: `sm3:${sm3(utf8('##0101QN=forged\r\n')).toString('hex')}` });
  }, 60_000);

  it('a stored interior node changed: node-mismatch at that node', async () => {
    const { gm } = await damageBoth(async (dir) => withDb(dir, (db) => setNode(db, 5, 17n, new Uint8Array(32).fill(9))));
    expect(located(gm)[0]).toMatchObject({ kind: 'node-mismatch', level: 5, node: 17n });
    expect(gm.problems[0]?.found).toBe('09'.repeat(32));
  }, 60_000);

  it('digest index: a record deleted; a digest record of the other suite invented (with worker threads)', async () => {
    const deleted = await damageBoth(async (dir, name) => {
      const alg = name === 'gm' ? 'sm3' : 'sha256';
      const d10 = decodeEntry(await withDb(dir, (db) => getEntry(db, 10n))).digest;
      expect(d10.alg).toBe(alg);
      const gone = record(new Uint8Array(Buffer.from(d10.hex, 'hex')), 10n);
      await withDb(dir, (db) => mutateIndex(db, DIGEST_INDEX, 10n, (rs) => rs.filter((x) => !same(x, gone))));
    });
    expect(located(deleted.gm).map((p) => [p.kind, p.index])).toEqual([['digest-index', 10n]]);
    expect(deleted.gm.problems[0]).toMatchObject({ expected: expect.stringMatching(/^sm3:[0-9a-f]{64} → 10$/), found: 'no such index record' });
    // A gm log's digests are sm3 only: a second record of entry 30 in its digest bundle, sha256
    // (sm3 in a c2sp log), is found too.
    const fake = new Uint8Array(32).fill(0xab);
    const other = (name: SuiteName) => (name === 'gm' ? 'sha256' : 'sm3');
    const invented = await damageBoth(
      async (dir, name) => withDb(dir, (db) => mutateDigests(db, 0n, (rs) => rs.flatMap((x) => (x.slot === 30 ? [x, { slot: 30, alg: other(name), digest: fake }] : [x])))),
      { workers: 2 },
    );
    expect(located(invented.gm).map((p) => [p.kind, p.index])).toEqual([['digest-index', 30n]]);
    expect(invented.gm.problems[0]?.found).toBe(`sha256:${toHex(fake)}`);
    expect(invented.gm.problemCount).toBe(1);
  }, 120_000);
});
