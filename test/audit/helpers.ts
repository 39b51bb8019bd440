/**
 * Helpers for the audit tests: real LevelDB ledgers built through Ledger, tampering straight in
 * LevelDB (keys of src/storage/keys.ts), and a small node:http server exposing the read API an
 * auditor and a monitor use (so these tests do not depend on src/http).
 */
import { createServer, type Server } from 'node:http';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { blockHash, parseBlock } from '../../src/core/block.js';
import { toHex, utf8 } from '../../src/core/bytes.js';
import { digestBytes, type Digest } from '../../src/core/entry/index.js';
import { generateSignerKey } from '../../src/core/note.js';
import { Ledger, type EntryInput } from '../../src/log/ledger.js';
import { LevelStore } from '../../src/storage/level.js';
import type { LedgerStore } from '../../src/storage/store.js';
import { handleTileRequest } from '../../src/tiles/handler.js';

export const ORIGIN = 'guzheng.test/audit';
export const KEYS = generateSignerKey(ORIGIN, new Uint8Array(32).fill(11));
/** Same name, another key: signs checkpoints the pinned key must reject. */
export const IMPOSTOR = generateSignerKey(ORIGIN, new Uint8Array(32).fill(12));
/** A fixed clock: entries are byte-identical across ledgers built the same way. */
export const CLOCK = () => new Date(Date.UTC(2026, 2, 1, 0, 0, 0, 500));

/** The i-th test entry: documents, records (stored with an attachment) and digests, in turn. */
export function entryInput(i: number, variant = ''): EntryInput {
  const content = utf8(`content ${variant}${i}`);
  const digest: Digest = digestBytes(content);
  switch (i % 3) {
    case 0:
      return { type: 'document', digest, meta: { name: `doc-${i}.pdf`, mediaType: 'application/pdf', size: content.length, caseId: '衡环罚〔2026〕12号' } };
    case 1:
      return { type: 'record', record: { station: 'HS-AQ-0001', value: `${i}.5`, variant }, meta: { source: 'HS-AQ-0001' } };
    default:
      return { type: 'digest', digest, meta: { name: `IMG_${i}.jpg` } };
  }
}

const dirs: string[] = [];
export function tempDir(prefix = 'guzheng-audit-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
export function cleanupDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** copyDir copies a ledger directory (tamper a copy, keep the original). */
export function copyDir(from: string): string {
  const to = join(tempDir(), 'copy');
  cpSync(from, to, { recursive: true });
  return to;
}

export interface BuildOptions {
  /** Entries per append (one fsynced batch each). */
  readonly batch?: number;
  /** Publish a block after every this many batches (default 1). */
  readonly blockEvery?: number;
  readonly signerKey?: string;
  /** Entry i is entryInput(i, variant(i)). */
  readonly variant?: (i: number) => string;
  /** Start appending at this index (the ledger already holds that many). */
  readonly from?: number;
}

/**
 * appendEntries appends entries [from, to) to an open ledger in batches, publishing a block
 * after every `blockEvery` batches, and returns the checkpoint notes published.
 */
export async function appendEntries(ledger: Ledger, to: number, o: BuildOptions = {}): Promise<string[]> {
  const batch = o.batch ?? 100;
  const notes: string[] = [];
  let n = 0;
  for (let i = o.from ?? Number(ledger.sequencer.size); i < to; i += batch) {
    const inputs = [];
    for (let j = i; j < Math.min(to, i + batch); j++) inputs.push(entryInput(j, o.variant?.(j) ?? ''));
    await ledger.append(inputs, 'officer-01');
    if (++n % (o.blockEvery ?? 1) === 0) {
      const p = await ledger.publisher.publishNow();
      if (p) notes.push(p.checkpoint.note);
    }
  }
  const p = await ledger.publisher.publishNow();
  if (p) notes.push(p.checkpoint.note);
  return notes;
}

/** openLedger opens (or creates) a ledger over a LevelDB directory; no timer-driven publishing. */
export async function openLedger(dir: string, signerKey = KEYS.signerKey): Promise<Ledger> {
  return Ledger.open({ store: await LevelStore.open(dir), signerKey, checkpointIntervalMs: 3_600_000, clock: CLOCK });
}

/** buildLedger creates a closed ledger of `size` entries in `dir`; returns its published notes. */
export async function buildLedger(dir: string, size: number, o: BuildOptions = {}): Promise<string[]> {
  const ledger = await openLedger(dir, o.signerKey);
  const genesis = ledger.latest().checkpoint.note;
  const notes = [genesis, ...(await appendEntries(ledger, size, o))];
  await ledger.close();
  return notes;
}

/** withDb opens a ledger's LevelDB raw (binary keys and values) to tamper with it. */
export async function withDb<T>(dir: string, f: (db: Level<Uint8Array, Uint8Array>) => Promise<T>): Promise<T> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view', createIfMissing: false });
  await db.open();
  try {
    return await f(db);
  } finally {
    await db.close();
  }
}

/** A running read API over a ledger (or a store the test swaps), like the service's. */
export interface TestServer {
  readonly url: string;
  /** Serve another ledger from now on (a fork, a restart). */
  use(ledger: Ledger): void;
  /** Override the /checkpoint body (e.g. a checkpoint signed by an impostor). */
  overrideCheckpoint(note: string | undefined): void;
  close(): Promise<void>;
}

/** API key the test server accepts for entry bundles. */
export const AUDIT_KEY = 'gzk_test_audit';

/**
 * serveLedger starts an HTTP server on an ephemeral port serving /checkpoint, /tile/…,
 * /v1/blocks, /v1/lookup/sha256/<hex> and /v1/proof/consistency from `ledger`.
 */
export async function serveLedger(initial: Ledger): Promise<TestServer> {
  let ledger = initial;
  let checkpointOverride: string | undefined;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      try {
        if (url.pathname === '/checkpoint') {
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(checkpointOverride ?? ledger.latest().checkpoint.note);
        } else if (url.pathname.startsWith('/tile/')) {
          const r = await handleTileRequest(url.pathname, {
            store: ledger.store as LedgerStore,
            checkpointSize: ledger.checkpointSize,
            authorized: req.headers.authorization === `Bearer ${AUDIT_KEY}`,
          });
          res.writeHead(r.status, r.headers);
          res.end(Buffer.from(r.body));
        } else if (url.pathname === '/v1/blocks') {
          const from = BigInt(url.searchParams.get('from') ?? '0');
          const limit = Number(url.searchParams.get('limit') ?? '100');
          const blocks = await ledger.blocks(from, limit);
          const count = await ledger.store.getBlockCount();
          const end = from + BigInt(blocks.length);
          json(200, { blocks: blocks.map((b) => ({ ...b, hash: toHex(blockHash(parseBlock(b))) })), ...(blocks.length > 0 && end < count ? { next: end.toString() } : {}) });
        } else if (url.pathname.startsWith('/v1/lookup/sha256/')) {
          const hex = url.pathname.split('/').pop() as string;
          const found = await ledger.lookupDigest('sha256', hex);
          json(200, { digest: { alg: 'sha256', hex }, anchorings: found.map((a) => ({ ...a, index: a.index.toString() })) });
        } else if (url.pathname === '/v1/proof/consistency') {
          const from = BigInt(url.searchParams.get('from') ?? '0');
          const to = url.searchParams.has('to') ? BigInt(url.searchParams.get('to') as string) : undefined;
          const p = await ledger.consistencyProof(from, to);
          json(200, { from: p.from.toString(), to: p.to.toString(), path: p.path });
        } else {
          json(404, { title: 'Not found' });
        }
      } catch (err) {
        json(400, { title: 'Bad request', detail: (err as Error).message });
      }
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    use(l) {
      ledger = l;
    },
    overrideCheckpoint(note) {
      checkpointOverride = note;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
