/**
 * The crash campaign: does Guzheng keep every acknowledged entry, and never sign two inconsistent
 * views, when it is killed at any moment?
 *
 * It runs the real service (`guzheng serve`, a child process through tsx) on one temp data
 * directory, round after round. In each round concurrent submitters anchor single entries, batches
 * and document uploads (some with `?wait=receipt`), a watcher keeps every checkpoint the log serves,
 * and the server is killed with SIGKILL, chosen per round:
 *
 * - `random`: after a random delay;
 * - `ack-burst`: the instant the k-th acknowledgement of the round arrives;
 * - `large-batch`: a few milliseconds into a 1,000-entry batch (its flush in flight);
 * - `checkpoint`: right after a new checkpoint appears, with checkpoints signed every few ms;
 * - `flush:<when>` and `block:<when>`: the server kills itself on its n-th group-commit flush or
 *   n-th block write (a checkpoint just signed): `before` the write reaches LevelDB, `during` it
 *   (write and fsync in flight), `after` it is durable but before anyone is told, or `lost`: the
 *   write silently never happens and the process dies up to 150 ms later, like a power cut with the
 *   write in a volatile cache (scripts/crash/failpoint.ts).
 *
 * After every kill the stopped data directory is audited from genesis (src/audit runAudit), then
 * the server is restarted and everything ever acknowledged is checked over HTTP:
 *
 * 1. every acknowledged `{index, leafHash}` is at its index with the same leaf hash (the whole log
 *    is listed, every leaf recomputed, the tree rebuilt);
 * 2. every signed checkpoint ever seen (served by `/checkpoint`, inside a receipt, sealed in a
 *    block) has the root of the rebuilt tree at its size, so no two are inconsistent; blocks form
 *    one chain that only grows (a block once served never changes);
 * 3. every receipt handed out verifies offline with the pinned key, and the log proves its
 *    checkpoint consistent with the current one (`/v1/proof/consistency`, `verifyConsistency`);
 * 4. sampled inclusion proofs (`/v1/proof/inclusion`) verify against the current checkpoint.
 *
 * `npm run test:crash` runs 50 rounds and prints the summary; test/reliability/crash.test.ts runs
 * a reduced campaign inside `npm test`. Exit code 0 only when nothing was lost and no check failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalSource, formatReport, runAudit } from '../src/audit/index.js';
import { parseBlock, verifyBlockChain, blockHash, type Block } from '../src/core/block.js';
import { fromBase64, fromHex, toHex } from '../src/core/bytes.js';
import { openCheckpoint } from '../src/core/checkpoint.js';
import { decodeEntry, encodeEntry, type Entry } from '../src/core/entry/index.js';
import { CompactRange } from '../src/core/merkle/compact.js';
import { hashLeaf } from '../src/core/merkle/hash.js';
import { verifyConsistency, verifyInclusion } from '../src/core/merkle/verify.js';
import { parseVerifierKey, type VerifierKey } from '../src/core/note.js';
import { installNodeCrypto } from '../src/platform/node-crypto.js';
import { verifyReceipt } from '../src/verifier/index.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'src', 'cli', 'bin.ts');
const FAILPOINT = pathToFileURL(join(import.meta.dirname, 'crash', 'failpoint.ts')).href;

/** How a round ends. */
export type KillMode =
  | 'random'
  | 'ack-burst'
  | 'large-batch'
  | 'checkpoint'
  | 'flush:before'
  | 'flush:during'
  | 'flush:after'
  | 'flush:lost'
  | 'block:before'
  | 'block:during'
  | 'block:after'
  | 'block:lost';

/** Every kill mode, in the order a campaign cycles through them. */
export const KILL_MODES: readonly KillMode[] = [
  'random',
  'flush:during',
  'ack-burst',
  'block:before',
  'large-batch',
  'flush:after',
  'checkpoint',
  'block:during',
  'flush:before',
  'block:after',
  'flush:lost',
  'block:lost',
];

/** Options of {@link runCampaign}. */
export interface CampaignOptions {
  /** Crash rounds (each ends with a SIGKILL), followed by one clean shutdown. */
  readonly rounds: number;
  /** PRNG seed (printed, for reproducing a run). Default: random. */
  readonly seed?: number;
  /** Kill modes cycled round by round (default {@link KILL_MODES}). */
  readonly modes?: readonly KillMode[];
  /** Concurrent submitters (default 6). */
  readonly submitters?: number;
  /** Checkpoint interval of the server, ms (default 10: signing is almost constant). */
  readonly checkpointIntervalMs?: number;
  /** Data directory to use (default: a new temp directory, deleted afterwards unless `keep`). */
  readonly dataDir?: string;
  readonly keep?: boolean;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

/** What a campaign established. */
export interface CampaignSummary {
  readonly seed: number;
  /** Crash rounds run (server killed with SIGKILL). */
  readonly rounds: number;
  /** Distinct entries the server acknowledged (201) over the whole campaign. */
  readonly acknowledged: number;
  /** Acknowledged entries missing or changed after a restart: must be 0. */
  readonly lost: number;
  /** Receipts handed out and checked after the crash that followed them. */
  readonly receipts: number;
  /** Distinct signed checkpoints seen (served, in receipts, in blocks), all mutually consistent. */
  readonly checkpoints: number;
  /** Blocks in the final chain. */
  readonly blocks: number;
  /** Entries in the final log (acknowledged or not). */
  readonly size: bigint;
  /** Audits of the stopped data directory that came out clean (one per kill, plus the final one). */
  readonly cleanAudits: number;
  /** How each round ended. */
  readonly kills: Readonly<Record<string, number>>;
  /** Every failed check, with the round it failed in. Empty means the campaign passed. */
  readonly failures: readonly string[];
  readonly elapsedMs: number;
}

/** mulberry32: a small seeded PRNG, so a failing campaign can be replayed with its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
  readonly verifierKey: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** A signed checkpoint somebody was shown. */
interface Seen {
  readonly size: bigint;
  readonly root: Uint8Array;
  readonly where: string;
}

interface HeldReceipt {
  readonly receipt: unknown;
  readonly index: bigint;
  readonly leafHash: string;
  readonly round: number;
  checked: boolean;
}

interface AppendResultJson {
  readonly index: string;
  readonly leafHash: string;
  readonly digest: { readonly alg: string; readonly hex: string };
  readonly entry: Entry;
  readonly receipt?: unknown;
}

interface EntryJson {
  readonly index: string;
  readonly leafHash: string;
  readonly data: string;
}

interface BlockPage {
  readonly blocks: unknown[];
  readonly next?: string;
}

/** The campaign's state: what was acknowledged, handed out and seen, across rounds. */
class Campaign {
  readonly o: Required<Omit<CampaignOptions, 'dataDir' | 'log'>> & { log: (line: string) => void };
  readonly dir: string;
  readonly data: string;
  readonly adminKey = `gzk_${randomBytes(32).toString('base64url')}`;
  readonly rand: () => number;
  /** index → leaf hash of every acknowledged entry. */
  readonly acks = new Map<bigint, string>();
  readonly receipts: HeldReceipt[] = [];
  /** Signed checkpoints seen, by note text. */
  readonly seen = new Map<string, Seen>();
  /** Block hashes served by `/v1/log` (the chain's tip at that moment), by height. */
  readonly servedTips = new Map<bigint, string>();
  /** Hashes of the blocks seen at the last check, by height: a block never changes. */
  blockHashes: string[] = [];
  /** The checkpoint at the last check, for a consistency proof to the next one. */
  last: Seen | undefined;
  verifier: VerifierKey | undefined;
  pinnedKey: string | undefined;
  readonly failures: string[] = [];
  readonly kills: Record<string, number> = {};
  lost = 0;
  lostIndexes = new Set<bigint>();
  cleanAudits = 0;
  receiptsChecked = 0;
  round = 0;

  constructor(o: CampaignOptions) {
    const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
    this.o = {
      rounds: o.rounds,
      seed,
      modes: o.modes ?? KILL_MODES,
      submitters: o.submitters ?? 6,
      checkpointIntervalMs: o.checkpointIntervalMs ?? 10,
      keep: o.keep ?? false,
      log: o.log ?? (() => {}),
    };
    this.rand = prng(seed);
    this.dir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'guzheng-crash-'));
    this.data = join(this.dir, 'data');
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }

  fail(message: string): void {
    const line = `round ${this.round}: ${message}`;
    this.failures.push(line);
    this.o.log(`  FAILED ${line}`);
  }

  /** start runs `guzheng serve` on the campaign's data directory and waits until it listens. */
  async start(failpoint?: string): Promise<Server | undefined> {
    const args = ['--import', 'tsx', ...(failpoint !== undefined ? ['--import', FAILPOINT] : []), BIN, 'serve', '--port', '0', '--data', this.data, '--checkpoint-interval-ms', String(this.o.checkpointIntervalMs)];
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GUZHENG_ADMIN_KEY: this.adminKey, GUZHENG_ORIGIN: 'crash.test/log', GUZHENG_RATE_LIMIT: '0', GUZHENG_FAILPOINT: failpoint ?? '' },
    });
    let out = '';
    const keep = (d: Buffer) => {
      out = (out + d.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const ready = await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), 60_000);
      const check = () => {
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m?.[1] !== undefined && out.includes('openapi.json')) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child.stderr?.on('data', check);
      void exited.then(() => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
    if (ready === undefined) {
      const how = await Promise.race([exited, sleep(100).then(() => undefined)]);
      if (how?.signal === 'SIGKILL' && failpoint !== undefined) return undefined; // died at its failpoint while starting
      child.kill('SIGKILL');
      this.fail(`the server did not start (${how ? `exit ${how.code ?? how.signal}` : 'timeout'}):\n${out}`);
      return undefined;
    }
    const key = /verifier key:\s+(\S+)/.exec(out)?.[1];
    if (key === undefined) throw new Error(`no verifier key in the banner:\n${out}`);
    if (this.pinnedKey === undefined) {
      this.pinnedKey = key;
      this.verifier = parseVerifierKey(key);
    } else if (key !== this.pinnedKey) {
      this.fail(`the verifier key changed across a restart: ${this.pinnedKey} → ${key}`);
    }
    return { child, url: ready, verifierKey: key, exited, output: () => out };
  }

  async get(s: Server, path: string): Promise<Response> {
    return fetch(s.url + path, { headers: { authorization: `Bearer ${this.adminKey}` } });
  }

  async getJson<T>(s: Server, path: string): Promise<T> {
    const res = await this.get(s, path);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${text.slice(0, 500)}`);
    return JSON.parse(text) as T;
  }

  /** see records a signed checkpoint note that a client was shown; it must verify with the pinned key. */
  see(note: string, where: string): Seen | undefined {
    const known = this.seen.get(note);
    if (known !== undefined) return known;
    try {
      const c = openCheckpoint(note, this.verifier as VerifierKey).checkpoint;
      const s: Seen = { size: c.size, root: c.root, where };
      this.seen.set(note, s);
      return s;
    } catch (err) {
      this.fail(`${where}: a checkpoint that does not verify with the pinned key: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** ack records an acknowledged entry, after checking the answer is what was sent. */
  ack(r: AppendResultJson, wantHex: string | undefined, where: string): void {
    const index = BigInt(r.index);
    const leaf = toHex(hashLeaf(encodeEntry(r.entry)));
    if (leaf !== r.leafHash) this.fail(`${where}: acknowledged leaf hash ${r.leafHash} of entry ${index} is not SHA-256(0x00 || entry) = ${leaf}`);
    if (wantHex !== undefined && r.digest.hex !== wantHex) this.fail(`${where}: entry ${index} anchored digest ${r.digest.hex}, sent ${wantHex}`);
    const before = this.acks.get(index);
    if (before !== undefined && before !== r.leafHash) this.fail(`index ${index} acknowledged twice with different leaves: ${before}, ${r.leafHash}`);
    this.acks.set(index, r.leafHash);
    if (r.receipt !== undefined) this.receipts.push({ receipt: r.receipt, index, leafHash: r.leafHash, round: this.round, checked: false });
  }

  /** One submitter: loops until the server goes away or `stop()` says so. */
  async submitter(s: Server, id: number, stop: () => boolean, onAck: () => void): Promise<void> {
    const auth = { authorization: `Bearer ${this.adminKey}` };
    let seq = 0;
    while (!stop()) {
      const pick = this.rand();
      const wait = this.rand() < 0.2 ? '?wait=receipt' : '';
      try {
        if (pick < 0.45) {
          const record = this.rand() < 0.5;
          const body = record
            ? { type: 'record', record: { station: `HS-${id}`, round: this.round, seq: seq++, value: this.rand().toFixed(6), pad: 'x'.repeat(this.int(0, 400)) } }
            : { type: 'digest', digest: { alg: 'sha256', hex: randomBytes(32).toString('hex') }, meta: { name: `photo-${id}-${seq++}.jpg` } };
          const res = await fetch(`${s.url}/v1/entries${wait}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
          if (res.status !== 201) {
            await res.arrayBuffer();
            continue;
          }
          const r = (await res.json()) as AppendResultJson;
          this.ack(r, body.type === 'digest' ? (body.digest as { hex: string }).hex : undefined, 'POST /v1/entries');
          onAck();
        } else if (pick < 0.8) {
          const entries = Array.from({ length: this.int(2, 60) }, () => ({ type: 'record', record: { station: `HS-${id}`, round: this.round, seq: seq++ } }));
          const res = await fetch(`${s.url}/v1/entries/batch${wait}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ entries }) });
          if (res.status !== 201) {
            await res.arrayBuffer();
            continue;
          }
          const { results } = (await res.json()) as { results: AppendResultJson[] };
          if (results.length !== entries.length) this.fail(`a batch of ${entries.length} was acknowledged with ${results.length} results`);
          const first = BigInt(results[0]?.index ?? '0');
          results.forEach((r, i) => {
            if (BigInt(r.index) !== first + BigInt(i)) this.fail(`batch results are not consecutive at ${r.index}`);
            this.ack(r, undefined, 'POST /v1/entries/batch');
          });
          for (let i = 0; i < results.length; i++) onAck();
        } else {
          const bytes = randomBytes(this.int(0, 64 * 1024));
          const hex = createHash('sha256').update(bytes).digest('hex');
          const q = `name=doc-${id}-${seq++}.bin&mediaType=application/octet-stream${wait ? '&wait=receipt' : ''}`;
          const res = await fetch(`${s.url}/v1/documents?${q}`, { method: 'POST', headers: auth, body: bytes });
          if (res.status !== 201) {
            await res.arrayBuffer();
            continue;
          }
          this.ack((await res.json()) as AppendResultJson, hex, 'POST /v1/documents');
          onAck();
        }
        if (this.rand() < 0.05 && this.acks.size > 0) {
          // Fetch the receipt of an entry acknowledged earlier (it may wait for a checkpoint).
          const keys = [...this.acks.keys()];
          const index = keys[this.int(0, keys.length - 1)] as bigint;
          const res = await this.get(s, `/v1/receipts/${index}`);
          if (res.status === 200) this.receipts.push({ receipt: (await res.json()) as unknown, index, leafHash: this.acks.get(index) as string, round: this.round, checked: false });
          else await res.arrayBuffer();
        }
      } catch {
        return; // the server is gone
      }
    }
  }

  /** watch keeps every checkpoint the log serves until `stop()`; calls `onNew` for each new one. */
  async watch(s: Server, stop: () => boolean, onNew: () => void): Promise<void> {
    let last = '';
    while (!stop()) {
      try {
        const res = await fetch(`${s.url}/checkpoint`);
        const note = await res.text();
        if (res.status === 200 && note !== last) {
          last = note;
          this.see(note, 'GET /checkpoint');
          onNew();
        }
        const info = await fetch(`${s.url}/v1/log`);
        if (info.status === 200) {
          const { height, blockHash: hash } = (await info.json()) as { height: string; blockHash: string };
          this.servedTips.set(BigInt(height), hash);
        } else await info.arrayBuffer();
      } catch {
        return;
      }
      await sleep(3);
    }
  }

  /** crashRound starts the server, checks the log, submits, and kills the server per `mode`. */
  async crashRound(mode: KillMode): Promise<void> {
    const failpoint = mode.includes(':') ? `${mode}:${mode.startsWith('block') ? this.int(2, 12) : this.int(2, 40)}` : undefined;
    const s = await this.start(failpoint);
    if (s === undefined) {
      this.kills[`${mode} (while starting)`] = (this.kills[`${mode} (while starting)`] ?? 0) + 1;
      return;
    }
    try {
      await this.check(s, false);
    } catch (err) {
      this.fail(`checking after the restart failed: ${(err as Error).stack ?? String(err)}`);
    }
    let stopped = false;
    const stop = () => stopped;
    let killed = false;
    const kill = () => {
      if (killed) return;
      killed = true;
      s.child.kill('SIGKILL');
    };
    void s.exited.then(() => {
      stopped = true;
    });
    let acksThisRound = 0;
    const burst = this.int(20, 400);
    let checkpoints = 0;
    const afterCheckpoints = this.int(2, 10);
    const onAck = () => {
      acksThisRound++;
      if (mode === 'ack-burst' && acksThisRound >= burst) kill();
    };
    const onCheckpoint = () => {
      checkpoints++;
      if (mode === 'checkpoint' && checkpoints === afterCheckpoints) setTimeout(kill, this.rand() * this.o.checkpointIntervalMs);
    };
    const tasks = [this.watch(s, stop, onCheckpoint), ...Array.from({ length: this.o.submitters }, (_, i) => this.submitter(s, i, stop, onAck))];
    if (mode === 'random') setTimeout(kill, this.int(100, 1500));
    if (mode === 'large-batch') {
      tasks.push(
        (async () => {
          await sleep(this.int(100, 600));
          const entries = Array.from({ length: 1000 }, (_, i) => ({ type: 'record', record: { big: i, round: this.round, pad: 'y'.repeat(500) } }));
          const sent = fetch(`${s.url}/v1/entries/batch`, { method: 'POST', headers: { authorization: `Bearer ${this.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ entries }) });
          setTimeout(kill, this.int(2, 80));
          try {
            const res = await sent;
            if (res.status === 201) {
              const { results } = (await res.json()) as { results: AppendResultJson[] };
              for (const r of results) this.ack(r, undefined, 'large batch');
            }
          } catch {
            // killed first
          }
        })(),
      );
    }
    // Failpoints and bursts should end a round within seconds; never wait forever.
    const deadline = setTimeout(() => {
      if (!stopped) {
        this.kills[`${mode} (deadline)`] = (this.kills[`${mode} (deadline)`] ?? 0) + 1;
        kill();
      }
    }, 8000);
    const how = await s.exited;
    clearTimeout(deadline);
    stopped = true;
    await Promise.all(tasks);
    if (how.signal !== 'SIGKILL') this.fail(`the server exited with ${how.code ?? how.signal} instead of being killed:\n${s.output()}`);
    this.kills[mode] = (this.kills[mode] ?? 0) + 1;
    this.o.log(`round ${this.round}/${this.o.rounds} ${failpoint ?? mode}: ${acksThisRound} acknowledged (total ${this.acks.size}), ${this.receipts.length} receipts, ${this.seen.size} checkpoints seen`);
  }

  /** audit replays the stopped data directory from genesis with the audit module. */
  async audit(): Promise<void> {
    const source = await LocalSource.open(this.data);
    try {
      const report = await runAudit(source, { verifierKey: this.pinnedKey as string, workers: 0 });
      if (report.ok) this.cleanAudits++;
      else this.fail(`the stopped data directory does not audit clean:\n${formatReport(report)}`);
    } finally {
      await source.close();
    }
  }

  /** check verifies everything ever acknowledged, handed out and seen against the running log. */
  async check(s: Server, full: boolean): Promise<void> {
    const verifier = this.verifier as VerifierKey;
    // The restarted log publishes a checkpoint covering every stored entry before it listens.
    const note = await (await fetch(`${s.url}/checkpoint`)).text();
    const now = this.see(note, 'GET /checkpoint after restart');
    if (now === undefined) return;
    const health = await this.getJson<{ size: string; checkpointSize: string }>(s, '/healthz');
    if (BigInt(health.size) !== now.size) this.fail(`after restart the checkpoint covers ${now.size} entries but ${health.size} are stored`);

    // Blocks: one chain, each block signed, every block seen before unchanged.
    const blocks: Block[] = [];
    for (let from = '0'; ; ) {
      const page = await this.getJson<BlockPage>(s, `/v1/blocks?from=${from}&limit=1000`);
      for (const served of page.blocks) {
        const { hash, ...json } = served as { hash?: unknown };
        const b = parseBlock(json);
        if (hash !== toHex(blockHash(b))) this.fail(`block ${b.height} is served with hash ${String(hash)}, not its own`);
        blocks.push(b);
      }
      if (page.next === undefined) break;
      from = page.next;
    }
    const hashes = blocks.map((b) => toHex(blockHash(b)));
    this.blockHashes.forEach((h, i) => {
      if (hashes[i] !== h) this.fail(`block ${i} changed or disappeared across a restart (was ${h}, now ${hashes[i] ?? 'missing'})`);
    });
    for (const b of blocks) this.see(b.checkpoint, `block ${b.height}`);
    for (const [height, hash] of this.servedTips) {
      if (hashes[Number(height)] !== hash) this.fail(`GET /v1/log served block ${height} with hash ${hash}; the chain now has ${hashes[Number(height)] ?? 'no such block'}`);
    }
    for (const r of this.receipts) {
      const cp = (r.receipt as { checkpoint?: unknown }).checkpoint;
      if (typeof cp === 'string') this.see(cp, `receipt of entry ${r.index}`);
    }

    // Rebuild the tree from the listed entries; keep the root at every size something was signed for.
    const wanted = new Set<bigint>([...this.seen.values()].map((c) => c.size));
    const rootAt = new Map<bigint, Uint8Array>();
    const range = CompactRange.empty();
    if (wanted.has(0n)) rootAt.set(0n, range.root());
    const leaves: string[] = [];
    for (let start = 0n; start < now.size; ) {
      const page = await this.getJson<{ entries: EntryJson[]; next?: string }>(s, `/v1/entries?start=${start}&limit=1000`);
      if (page.entries.length === 0) throw new Error(`GET /v1/entries?start=${start}: empty before the size ${now.size}`);
      for (const e of page.entries) {
        const index = BigInt(e.index);
        if (index !== range.size) throw new Error(`GET /v1/entries: got index ${index}, want ${range.size}`);
        const data = fromBase64(e.data);
        decodeEntry(data);
        const leaf = hashLeaf(data);
        if (toHex(leaf) !== e.leafHash) this.fail(`entry ${index}: served leafHash ${e.leafHash} is not the hash of its data`);
        leaves.push(toHex(leaf));
        range.append(leaf);
        if (wanted.has(range.size)) rootAt.set(range.size, range.root());
        if (range.size === now.size) break;
      }
      start = range.size;
    }
    if (!equal(range.root(), now.root)) this.fail(`the rebuilt tree of ${now.size} entries does not have the checkpoint's root`);

    // 1. Every acknowledged entry is at its index with the same leaf hash.
    for (const [index, leaf] of this.acks) {
      if (this.lostIndexes.has(index)) continue;
      const got = index < BigInt(leaves.length) ? leaves[Number(index)] : undefined;
      if (got !== leaf) {
        this.lost++;
        this.lostIndexes.add(index);
        this.fail(`LOST: acknowledged entry ${index} (leaf ${leaf}) is ${got === undefined ? 'missing' : `now ${got}`}`);
      }
    }

    // 2. Every signed checkpoint ever seen is a prefix of this tree: pairwise consistent.
    for (const [, c] of this.seen) {
      const root = rootAt.get(c.size);
      if (c.size > now.size) this.fail(`${c.where}: a signed checkpoint of size ${c.size} is beyond the log's ${now.size} entries`);
      else if (root === undefined || !equal(root, c.root)) this.fail(`${c.where}: signed checkpoint of size ${c.size} is inconsistent with the log (fork)`);
    }
    try {
      verifyBlockChain(blocks, verifier, { rootAt: (size) => rootAt.get(size) });
    } catch (err) {
      this.fail(`the block chain does not verify: ${(err as Error).message}`);
    }
    const tip = blocks.at(-1);
    if (tip === undefined || tip.checkpoint !== note) this.fail('the last block does not seal the served checkpoint');

    // The log's own consistency proofs: from the last check, and between new blocks (sampled).
    const proofs: Array<[Seen, Seen]> = [];
    if (this.last !== undefined) proofs.push([this.last, now]);
    const fresh = blocks.slice(Math.max(1, this.blockHashes.length - 1));
    const pairs = fresh.length <= 40 ? fresh.map((_, i) => i) : Array.from({ length: 40 }, () => this.int(0, fresh.length - 1));
    for (const i of pairs) {
      const b = fresh[i] as Block;
      const prev = blocks[Number(b.height) - 1];
      if (prev === undefined) continue;
      const a = this.see(prev.checkpoint, `block ${prev.height}`);
      const c = this.see(b.checkpoint, `block ${b.height}`);
      if (a !== undefined && c !== undefined) proofs.push([a, c]);
    }
    for (const [a, b] of proofs) await this.consistent(s, a, b);

    // 3. Receipts handed out before the crash: valid offline, and consistent with now.
    const due = this.receipts.filter((r) => full || !r.checked);
    for (const r of due) {
      const report = await verifyReceipt(r.receipt, { trustedKeys: [verifier] });
      if (!report.valid) this.fail(`receipt of entry ${r.index} (round ${r.round}) no longer verifies: ${JSON.stringify(report.checks.filter((c) => c.status === 'fail'))}`);
      if (report.facts.leafHash !== r.leafHash || report.facts.index !== r.index.toString()) this.fail(`receipt of entry ${r.index} is for ${report.facts.index}/${report.facts.leafHash}`);
      const cp = (r.receipt as { checkpoint: string }).checkpoint;
      const sealed = (r.receipt as { block?: unknown }).block;
      try {
        const b = parseBlock(sealed);
        if (hashes[Number(b.height)] !== toHex(blockHash(b))) this.fail(`receipt of entry ${r.index}: its block ${b.height} is not the log's block ${b.height} (a forked block chain)`);
      } catch (err) {
        this.fail(`receipt of entry ${r.index}: its block does not parse: ${(err as Error).message}`);
      }
      const at = this.see(cp, `receipt of entry ${r.index}`);
      if (at !== undefined) await this.consistent(s, at, now);
      if (!r.checked) this.receiptsChecked++;
      r.checked = true;
    }

    // 4. Inclusion proofs of a sample of acknowledged entries against the current checkpoint.
    const all = [...this.acks.keys()];
    const sample = full ? all : Array.from({ length: Math.min(60, all.length) }, () => all[this.int(0, all.length - 1)] as bigint);
    for (const index of sample) {
      if (index >= now.size || this.lostIndexes.has(index)) continue;
      const p = await this.getJson<{ leafHash: string; path: string[] }>(s, `/v1/proof/inclusion?index=${index}&size=${now.size}`);
      try {
        if (p.leafHash !== this.acks.get(index)) throw new Error(`leaf ${p.leafHash}`);
        verifyInclusion(index, now.size, fromHex(p.leafHash, 32), p.path.map((h) => fromHex(h, 32)), now.root);
      } catch (err) {
        this.fail(`inclusion proof of acknowledged entry ${index} does not verify: ${(err as Error).message}`);
      }
    }
    this.blockHashes = hashes;
    this.last = now;
  }

  /** consistent asks the log to prove checkpoint `a` a prefix of `b` and verifies the proof. */
  async consistent(s: Server, a: Seen, b: Seen): Promise<void> {
    if (a.size > b.size) return this.consistent(s, b, a);
    const p = await this.getJson<{ path: string[] }>(s, `/v1/proof/consistency?from=${a.size}&to=${b.size}`);
    try {
      verifyConsistency(a.size, b.size, p.path.map((h) => fromHex(h, 32)), a.root, b.root);
    } catch (err) {
      this.fail(`checkpoints ${a.where} (size ${a.size}) and ${b.where} (size ${b.size}) are not proven consistent: ${(err as Error).message}`);
    }
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * runCampaign runs `rounds` crash rounds against a real `guzheng serve` and a final clean
 * shutdown, and returns the summary. Requires: run from a checkout with dev dependencies (tsx).
 */
export async function runCampaign(options: CampaignOptions): Promise<CampaignSummary> {
  installNodeCrypto();
  const t0 = performance.now();
  const c = new Campaign(options);
  c.o.log(`crash campaign: ${c.o.rounds} rounds, seed ${c.o.seed}, data ${c.data}`);
  try {
    for (c.round = 1; c.round <= c.o.rounds; c.round++) {
      const mode = c.o.modes[(c.round - 1) % c.o.modes.length] as KillMode;
      await c.crashRound(mode);
      if (c.pinnedKey !== undefined) await c.audit();
    }
    c.round = c.o.rounds + 1;
    // Last: restart, check everything (every receipt and inclusion proof), shut down cleanly, audit.
    const s = await c.start();
    if (s !== undefined) {
      await c.check(s, true);
      s.child.kill('SIGTERM');
      const how = await s.exited;
      if (how.code !== 0) c.fail(`clean shutdown exited with ${how.code ?? how.signal}:\n${s.output()}`);
      await c.audit();
    }
  } finally {
    if (!c.o.keep && options.dataDir === undefined) rmSync(c.dir, { recursive: true, force: true });
  }
  return {
    seed: c.o.seed,
    rounds: c.o.rounds,
    acknowledged: c.acks.size,
    lost: c.lost,
    receipts: c.receiptsChecked,
    checkpoints: c.seen.size,
    blocks: c.blockHashes.length,
    size: c.last?.size ?? 0n,
    cleanAudits: c.cleanAudits,
    kills: c.kills,
    failures: c.failures,
    elapsedMs: performance.now() - t0,
  };
}

/** formatSummary renders a campaign summary for people. */
export function formatSummary(s: CampaignSummary): string {
  const kills = Object.entries(s.kills)
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
  return [
    `crash campaign (seed ${s.seed}): ${s.rounds} rounds in ${(s.elapsedMs / 1000).toFixed(1)} s`,
    `  kills:                  ${kills}`,
    `  acknowledged entries:   ${s.acknowledged}`,
    `  lost:                   ${s.lost}`,
    `  receipts checked:       ${s.receipts}`,
    `  signed checkpoints:     ${s.checkpoints} seen, all consistent${s.failures.some((f) => /inconsistent|fork/.test(f)) ? ' (NOT: see failures)' : ''}`,
    `  final log:              ${s.size} entries, ${s.blocks} blocks`,
    `  clean audits:           ${s.cleanAudits}`,
    `  failures:               ${s.failures.length}`,
    ...s.failures.slice(0, 20).map((f) => `    ${f.split('\n')[0]}`),
    s.lost === 0 && s.failures.length === 0 ? 'PASS' : 'FAIL',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  let rounds = 50;
  let seed: number | undefined;
  let keep = false;
  let dataDir: string | undefined;
  let modes: KillMode[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--rounds') rounds = Number(next());
    else if (a === '--seed') seed = Number(next());
    else if (a === '--keep') keep = true;
    else if (a === '--dir') dataDir = next();
    else if (a === '--modes') {
      modes = next().split(',') as KillMode[];
      const bad = modes.filter((m) => !KILL_MODES.includes(m));
      if (bad.length > 0) throw new Error(`--modes: unknown ${bad.join(', ')}; want some of ${KILL_MODES.join(', ')}`);
    }
    else {
      process.stderr.write('usage: tsx scripts/crash-campaign.ts [--rounds N] [--seed S] [--modes m1,m2] [--keep] [--dir DIR]\n');
      return 2;
    }
  }
  if (!Number.isInteger(rounds) || rounds < 1) {
    process.stderr.write('--rounds: want a positive integer\n');
    return 2;
  }
  const summary = await runCampaign({ rounds, ...(seed !== undefined ? { seed } : {}), ...(modes !== undefined ? { modes } : {}), keep, ...(dataDir !== undefined ? { dataDir } : {}), log: (l) => process.stdout.write(l + '\n') });
  process.stdout.write(formatSummary(summary) + '\n');
  return summary.lost === 0 && summary.failures.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
