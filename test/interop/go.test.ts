/**
 * Interoperability with Go: golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog,
 * unmodified (Debian's golang-golang-x-mod-dev), verify Guzheng's signed checkpoints, its C2SP
 * tlog-tiles hash tiles, its inclusion and consistency proofs, and its receipts.
 *
 * test/interop/go/guzheng-interop.go does the checking. This test builds it (once; the binary is
 * cached in a temp directory, keyed by the sources and the Go version), runs a real log on
 * 127.0.0.1 over LevelDB, anchors enough entries for full and partial tiles at level 0 and a
 * partial tile at level 1, saves an early checkpoint, and runs the program against the live log.
 * Mutations then show that the Go side really checks: an altered proof hash, signature byte,
 * entry or tile each make it fail. Without Go the test fails (it never skips): `.ci/run` installs
 * `golang-go` and `golang-golang-x-mod-dev`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signNote } from '../../src/core/note.js';
import { auth, postJson, startServer, TEST_LOG, type TestServer } from '../http/helpers.js';

const GO_SRC = join(import.meta.dirname, 'go', 'guzheng-interop.go');
/** Where Debian's golang-golang-x-mod-dev puts golang.org/x/mod (built in GOPATH mode). */
const GOPATH = '/usr/share/gocode';
const X_MOD = join(GOPATH, 'src', 'golang.org', 'x', 'mod', 'sumdb');
const INSTALL = 'install them with: apt-get install --no-install-recommends golang-go golang-golang-x-mod-dev (.ci/run does)';

const FIRST = 300; // entries before the saved checkpoint: level-0 tile 1 partial (44), level-1 partial (1)
const SECOND = 400; // then 400 more and one document: 701 entries, level-0 tile 2 partial (189), level-1 partial (2)

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * buildGo builds guzheng-interop in GOPATH mode against Debian's x/mod (no module proxy needed)
 * and returns the binary, reusing one built from the same sources and Go version.
 */
function buildGo(): string {
  const version = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (version.error !== undefined || version.status !== 0) {
    throw new Error(`Go is required for this test and was not found (${version.error?.message ?? version.stderr}); ${INSTALL}`);
  }
  const xmod = ['note/note.go', 'tlog/tlog.go', 'tlog/tile.go'].map((f) => join(X_MOD, f));
  for (const f of xmod) if (!existsSync(f)) throw new Error(`golang.org/x/mod is required for this test: ${f} is missing; ${INSTALL}`);
  const h = createHash('sha256').update(version.stdout).update(readFileSync(GO_SRC));
  for (const f of xmod) h.update(readFileSync(f));
  const cache = join(tmpdir(), `guzheng-go-interop-cache-${process.getuid?.() ?? 'user'}`);
  const bin = join(cache, `guzheng-interop-${h.digest('hex').slice(0, 16)}`);
  if (existsSync(bin)) return bin;
  mkdirSync(cache, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  const env = { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOENV: 'off', GOPROXY: 'off', GOCACHE: join(cache, 'gocache') };
  const b = spawnSync('go', ['build', '-trimpath', '-o', tmp, GO_SRC], { env, encoding: 'utf8', timeout: 180_000 });
  if (b.status !== 0) throw new Error(`go build ${GO_SRC} failed (${b.error?.message ?? `exit ${b.status}`}):\n${b.stderr}`);
  renameSync(tmp, bin);
  return bin;
}

let bin: string;
let s: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'guzheng-go-interop-'));
const file = (name: string) => join(dir, name);
const vkey = TEST_LOG.verifierKey;
let early: string; // the checkpoint saved after FIRST entries
let latest: string;
let size = 0;
const receipts: string[] = [];

/** go runs the program asynchronously (the log serves from this process meanwhile). */
function go(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

/** entry i: a record with a note that needs JSON escaping, a digest with metadata, or a bare digest. */
function entry(i: number): unknown {
  const hex = createHash('sha256').update(`go-interop ${i}`).digest('hex');
  if (i % 3 === 0) {
    return { type: 'record', record: { station: 'HS-001', cod: i, time: '2026-03-01T08:00:00+08:00' }, meta: { caseId: '衡环罚〔2026〕12号', source: 'datalogger HS-001', note: `第${i}条\t"监测"\n\\ \u2028 🌿` } };
  }
  if (i % 3 === 1) return { type: 'digest', digest: { alg: 'sha256', hex }, meta: { name: `照片-${i}.jpg`, mediaType: 'image/jpeg', size: 1000 + i } };
  return { type: 'digest', digest: { alg: 'sha256', hex } };
}

async function batch(from: number, n: number): Promise<void> {
  const res = await postJson(`${s.url}/v1/entries/batch`, { entries: Array.from({ length: n }, (_, k) => entry(from + k)) }, s.keys.submit);
  expect(res.status, await res.clone().text()).toBe(201);
}

async function checkpointText(): Promise<string> {
  const res = await fetch(`${s.url}/checkpoint`);
  expect(res.status).toBe(200);
  return res.text();
}

/** mangleSignature changes one byte of the Ed25519 signature (not the key id) of the last line. */
function mangleSignature(note: string): string {
  const lines = note.split('\n');
  const i = lines.length - 2; // the note ends in '\n'
  const [prefix, b64] = lines[i]!.split(/ (?=[^ ]+$)/) as [string, string];
  const sig = Buffer.from(b64, 'base64');
  sig[4 + 10]! ^= 0x01;
  lines[i] = `${prefix} ${sig.toString('base64')}`;
  return lines.join('\n');
}

/**
 * A failed setup (no Go, a failed build) is kept and thrown by every test, so that each one is
 * reported failed, never skipped (vitest counts the tests of a failed beforeAll as skipped).
 */
let setupError: unknown;
function ready(): void {
  if (setupError !== undefined) throw setupError;
}

beforeAll(async () => {
  try {
    await setup();
  } catch (err) {
    setupError = err;
  }
}, 120_000);

async function setup(): Promise<void> {
  bin = buildGo();
  s = await startServer();
  await batch(0, FIRST);
  await s.ledger.publisher.waitFor(BigInt(FIRST), 10_000);
  early = await checkpointText();
  expect(early.split('\n')[1]).toBe(String(FIRST));
  writeFileSync(file('early.checkpoint'), early);

  await batch(FIRST, SECOND);
  const doc = await fetch(`${s.url}/v1/documents?name=${encodeURIComponent('现场检查笔录.pdf')}&mediaType=application/pdf&wait=receipt`, {
    method: 'POST',
    headers: { ...auth(s.keys.submit), 'Content-Type': 'application/pdf' },
    body: '%PDF-1.7 现场检查笔录\n',
  });
  expect(doc.status).toBe(201);
  size = FIRST + SECOND + 1;
  latest = await checkpointText();
  expect(latest.split('\n')[1]).toBe(String(size));
  // Receipts against the latest checkpoint: entries 3 (a record with an escaped note) and 4
  // (a digest with metadata) sealed in an early block (non-empty block consistency), and the
  // document, sealed by the latest checkpoint itself. One is written pretty-printed.
  for (const index of [3, 4, size - 1]) {
    const res = await fetch(`${s.url}/v1/receipts/${index}`, { headers: auth(s.keys.submit) });
    expect(res.status).toBe(200);
    const r = (await res.json()) as { checkpoint: string };
    expect(r.checkpoint).toBe(latest);
    const path = file(`receipt-${index}.json`);
    writeFileSync(path, JSON.stringify(r, null, index === 3 ? 2 : undefined));
    receipts.push(path);
  }
}

afterAll(async () => {
  await s?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe("Go's golang.org/x/mod sumdb/note and sumdb/tlog", () => {
  it('verify the live log: checkpoints, every tile, every inclusion and consistency proof, the receipts', async () => {
    ready();
    const args = ['-url', s.url, '-key', vkey, '-api-key', s.keys.audit, '-checkpoint', file('early.checkpoint')];
    for (const r of receipts) args.push('-receipt', r);
    const run = await go(args);
    expect(run.status, run.stderr).toBe(0);
    // Tiles: 0/000, 0/001, 0/002.p/189, 1/000.p/2 for the latest tree; 0/001.p/44, 1/000.p/1 for
    // the saved one. Proofs: per tree of size n, n built from tiles + n served inclusion proofs
    // + n−1 served consistency proofs from every smaller size; the saved tree also a served and
    // a built consistency proof to the latest; per receipt, its inclusion and block consistency.
    const proofs = 3 * size - 1 + (3 * FIRST - 1 + 2) + 2 * receipts.length;
    expect(run.stdout.trim()).toBe(`ok: size ${size}, 6 tiles, ${proofs} proofs`);
    expect(run.stderr).toBe('');
  }, 60_000);

  it('open a checkpoint with an extension line after the root (ignored, as C2SP requires)', async () => {
    ready();
    const [origin, n, root] = latest.split('\n');
    const ext = `guzheng-block/v2 7 ${FIRST} 2026-03-01T00:00:00.000Z ${'ab'.repeat(32)}`;
    writeFileSync(file('extended.checkpoint'), signNote(`${origin}\n${n}\n${root}\n${ext}\n`, [TEST_LOG.signerKey]));
    const ok = await go(['-key', vkey, '-checkpoint', file('extended.checkpoint')]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe(`ok: size ${size}, 0 tiles, 0 proofs`);
    // An empty extension line is not a checkpoint (C2SP: extension lines are non-empty).
    writeFileSync(file('empty-ext.checkpoint'), signNote(`${origin}\n${n}\n${root}\n\n${ext}\n`, [TEST_LOG.signerKey]));
    const bad = await go(['-key', vkey, '-checkpoint', file('empty-ext.checkpoint')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('extension line 1 is empty');
  }, 30_000);

  it('reject a checkpoint with one signature byte altered (note.Open)', async () => {
    ready();
    expect((await go(['-key', vkey, '-checkpoint', file('early.checkpoint')])).status).toBe(0);
    writeFileSync(file('bad-sig.checkpoint'), mangleSignature(early));
    const run = await go(['-key', vkey, '-checkpoint', file('bad-sig.checkpoint')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`note.Open: invalid signature for key ${vkey.split('+').slice(0, 2).join('+')}`);
    // The same inside a receipt.
    const r = JSON.parse(readFileSync(receipts[1]!, 'utf8')) as { checkpoint: string };
    writeFileSync(file('bad-sig.receipt.json'), JSON.stringify({ ...r, checkpoint: mangleSignature(r.checkpoint) }));
    const rr = await go(['-key', vkey, '-receipt', file('bad-sig.receipt.json')]);
    expect(rr.status).toBe(1);
    expect(rr.stderr).toContain('checkpoint: note.Open: invalid signature');
  }, 30_000);

  it('reject a receipt with one proof hash altered (tlog.CheckRecord), or an altered entry', async () => {
    ready();
    const ok = await go(['-key', vkey, '-receipt', receipts[1]!]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe(`ok: size ${size}, 0 tiles, 2 proofs`);
    const r = JSON.parse(readFileSync(receipts[1]!, 'utf8')) as { inclusionProof: string[]; blockConsistency: string[]; entry: { meta: { size: number } } };
    const flip = (hex: string) => (hex[0] === '0' ? '1' : '0') + hex.slice(1);
    const proof = [...r.inclusionProof];
    proof[3] = flip(proof[3]!);
    writeFileSync(file('bad-proof.receipt.json'), JSON.stringify({ ...r, inclusionProof: proof }));
    const run = await go(['-key', vkey, '-receipt', file('bad-proof.receipt.json')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('tlog.CheckRecord of inclusionProof: invalid transparency proof');

    expect(r.blockConsistency.length).toBeGreaterThan(0);
    writeFileSync(file('bad-block.receipt.json'), JSON.stringify({ ...r, blockConsistency: [flip(r.blockConsistency[0]!), ...r.blockConsistency.slice(1)] }));
    const b = await go(['-key', vkey, '-receipt', file('bad-block.receipt.json')]);
    expect(b.status).toBe(1);
    expect(b.stderr).toContain('tlog.CheckTree of blockConsistency: invalid transparency proof');

    writeFileSync(file('bad-entry.receipt.json'), JSON.stringify({ ...r, entry: { ...r.entry, meta: { ...r.entry.meta, size: r.entry.meta.size + 1 } } }));
    const e = await go(['-key', vkey, '-receipt', file('bad-entry.receipt.json')]);
    expect(e.status).toBe(1);
    expect(e.stderr).toContain('but SHA-256(0x00 || RFC 8785 entry)');
  }, 30_000);

  it('reject a log that serves a tile with one altered byte', async () => {
    ready();
    // A proxy in front of the log that flips one bit of one tile.
    let tampered = '';
    const proxy: Server = createServer((req, res) => {
      void (async () => {
        const up = await fetch(`${s.url}${req.url ?? '/'}`);
        const body = Buffer.from(await up.arrayBuffer());
        if (req.url === `/${tampered}`) body[100]! ^= 0x01;
        res.writeHead(up.status, { 'Content-Type': up.headers.get('content-type') ?? 'application/octet-stream' });
        res.end(body);
      })().catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      // The partial level-0 tile is on the right edge: tlog.TileHashReader hashes it into the
      // signed root and refuses it.
      tampered = `tile/0/002.p/${size - 512}`;
      const edge = await go(['-url', url, '-key', vkey]);
      expect(edge.status).toBe(1);
      expect(edge.stderr).toContain('tlog.TileHashReader: downloaded inconsistent tile');
      // A full level-0 tile is a child of the level-1 tile. x/mod v0.7.0's TileHashReader returns
      // its hashes without checking them (see checkTree in guzheng-interop.go); the program's
      // own rebuild of the tree from the leaf hashes (tlog.TreeHash) catches it.
      tampered = 'tile/0/001';
      const inner = await go(['-url', url, '-key', vkey]);
      expect(inner.status).toBe(1);
      expect(inner.stderr).toMatch(/tlog\.TileHashReader: downloaded inconsistent tile|do not hash to the signed root/);
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  }, 60_000);
});
