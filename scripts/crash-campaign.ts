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
 *   write in a volatile cache (scripts/crash/failpoint.ts);
 * - `index:<when>`: the same four ways, at the server's n-th write of the lazy index path
 *   (src/storage/lazy-index.ts, run-index.ts: the unsynced run writes of the entries that wait in
 *   memory, every 200 ms under load, the background merges of 8 runs, and the clearing of a merge
 *   cut short at open), in turn: the 3rd to 12th run write (acknowledged entries in no run yet),
 *   the 3rd to 6th swap of a merged run, page batch of one, any write (n from 20 to 60), and the
 *   3rd to 6th merge start, counted once the restarted server has been checked, with one paced
 *   submitter (the index path writes by time, not by volume); the server's failpoint line says at
 *   which step it died and how many merges it had swapped in before, and the summary lists them.
 *
 * A failpoint that never fires (the round ended at its 8 s deadline instead) is a failure: the
 * round did not test what it names. The summary counts, per kind, the failpoints armed and fired.
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
 * 4. sampled inclusion proofs (`/v1/proof/inclusion`) verify against the current checkpoint;
 * 5. lookups: an acknowledged entry is found by its content digest (`GET /v1/lookup/{alg}/{hex}`
 *    lists its index and leaf hash, and every anchoring listed is the rebuilt tree's leaf at its
 *    index) and by its leaf hash (`/v1/proof/inclusion?leafHash=`: an index holding that leaf, at
 *    or before the entry's, and a proof that verifies). Checked for every entry acknowledged since
 *    the last check (the killed server's, whose runs were the newest and the likeliest in a merge
 *    at the kill) plus a random sample of older ones (200); the final check looks up every entry.
 *
 * With `--witnesses N` (`witnesses` option), N real `guzheng witness serve` processes run on
 * loopback beside the log (scripts/crash/witnesses.ts) and every server incarnation starts with a
 * majority-quorum tlog-policy naming them (`--witness-policy`, or GUZHENG_WITNESS_POLICY every other
 * round). Every other round a witness is SIGKILLed too (two at once every third time, so the
 * quorum cannot be met for a while), and restarted on its port and data directory a moment later;
 * the rounds go on meanwhile (a log may start while a witness is down). Then also:
 *
 * 6. no witness ever cosigned two different roots for one size: every cosignature seen (in
 *    receipts, on `/checkpoint`, on blocks, on the witnesses' monitoring paths) must verify, and
 *    per witness one size has one root, a larger size never an earlier time, and what its
 *    monitoring path holds never shrinks (its state survives kill -9);
 * 7. every checkpoint a witness holds (`GET /<sha256(origin)>/checkpoint`) is signed by the log, has
 *    the rebuilt tree's root at its size, and the log proves it consistent with the current one;
 * 8. every receipt verifies with the policy, except that the quorum may be unmet (witnesses were
 *    down): the cosignature lines it carries by the policy's witnesses must all verify;
 * 9. a cosignature the log handed out is never lost: after a restart the block still carries it;
 *    and the stopped data directory audits clean with the policy (once a checkpoint met the quorum,
 *    the audit must find one);
 * 10. anchoring never stopped: while a witness was down and the log up for a second or more,
 *     entries were still acknowledged; the log never reported a witness anomaly (a rolled-back or
 *     refusing witness).
 *
 * With `--mirror` (`mirror` option), a real Ceph RADOS Gateway runs beside the log
 * (scripts/crash/mirror.ts) and every server incarnation mirrors to it (GUZHENG_MIRROR). Then also:
 *
 * 11. after each restart the mirror converges (`/healthz` ok, no lag, the bucket's checkpoint the
 *     log's); every object in the bucket equals what the log serves (tiles, bundles, blocks, time
 *     stamps, cosignature lines; one beyond what the log has signed is compared once it has); and
 *     the bucket audits clean from genesis (src/audit/bucket.ts).
 *
 * `npm run test:crash` runs 50 rounds and prints the summary; test/reliability/crash.test.ts runs
 * a reduced campaign inside `npm test`. Exit code 0 only when nothing was lost and no check failed.
 */
import { randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalSource, formatReport, runAudit } from '../src/audit/index.js';
import { parseBlock, verifyBlockChain, blockHash, type Block } from '../src/core/block.js';
import { fromBase64, fromHex, toHex } from '../src/core/bytes.js';
import { openCheckpoint } from '../src/core/checkpoint.js';
import { openCosigned } from '../src/core/cosignature.js';
import { decodeEntry, encodeEntry, type Entry } from '../src/core/entry/index.js';
import { CompactRange } from '../src/core/merkle/compact.js';
import { hashLeaf } from '../src/core/merkle/hash.js';
import { verifyConsistency, verifyInclusion } from '../src/core/merkle/verify.js';
import { formatVerifierKey, noteSignedBy, parseVerifierKey, splitNote, type VerifierKey } from '../src/core/note.js';
import { evaluateQuorum } from '../src/core/policy.js';
import { installNodeCrypto } from '../src/platform/node-crypto.js';
import { loadOrCreateLogKey } from '../src/setup.js';
import { verifyReceipt } from '../src/verifier/index.js';
import { MirrorCheck, type MirrorSummary } from './crash/mirror.js';
import { spawnServer, type ServerProcess } from './crash/server.js';
import { WitnessSet, type Witness } from './crash/witnesses.js';

const FAILPOINT = pathToFileURL(join(import.meta.dirname, 'crash', 'failpoint.ts')).href;
/** The log's origin: fixed, so the witnesses can be told the log's key before it first starts. */
const ORIGIN = 'crash.test/log';

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
  | 'block:lost'
  | 'index:before'
  | 'index:during'
  | 'index:after'
  | 'index:lost';

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
  'index:during',
  'index:before',
  'index:lost',
  'index:after',
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
  /**
   * Older acknowledged entries looked up at each check besides those acknowledged since the last
   * one (default 200).
   */
  readonly lookupSample?: number;
  /** Whether the final check looks up every acknowledged entry (default true), or only as the others do. */
  readonly lookupAllAtEnd?: boolean;
  /** Checkpoint interval of the server, ms (default 10: signing is almost constant). */
  readonly checkpointIntervalMs?: number;
  /**
   * Witness processes beside the log (default 0: none). With N > 0 every server incarnation has a
   * policy naming them with a majority quorum, and a witness is SIGKILLed every other round (two
   * every third time).
   */
  readonly witnesses?: number;
  /**
   * Mirror the log to a real Ceph RADOS Gateway started for the campaign (scripts/crash/mirror.ts):
   * after each restart the mirror must converge, no object in the bucket may disagree with the
   * log, and the bucket must audit clean (default false).
   */
  readonly mirror?: boolean;
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
  /** Per failpoint kind (`flush`, `block`, `index`): rounds that armed one, and those where it fired. */
  readonly failpoints: Readonly<Record<string, { readonly armed: number; readonly fired: number }>>;
  /** Where the `index` failpoints fired: the step of the lazy index path, and the merges swapped in before, per kill. */
  readonly indexKills: { readonly steps: Readonly<Record<string, number>>; readonly mergesBefore: readonly number[] };
  /** Acknowledged entries looked up after restarts (by content digest and by leaf hash), counting repeats. */
  readonly lookups: number;
  /** Every failed check, with the round it failed in. Empty means the campaign passed. */
  readonly failures: readonly string[];
  /** What the witnesses did, when the campaign ran with some. */
  readonly witnesses?: WitnessSummary;
  /** What the mirror checks found, when the campaign ran with the mirror on. */
  readonly mirror?: MirrorSummary;
  readonly elapsedMs: number;
}

/** The witness figures of a campaign. */
export interface WitnessSummary {
  /** Witness processes, and the quorum of the policy (k of them). */
  readonly count: number;
  readonly quorum: number;
  /** Witnesses SIGKILLed (each restarted on its port and data directory). */
  readonly kills: number;
  /** Distinct valid cosignature lines seen (receipts, checkpoints, blocks, monitoring paths). */
  readonly cosignatures: number;
  /** Distinct (witness, checkpoint) pairs cosigned, by size: one root per size per witness. */
  readonly cosignedSizes: number;
  /** Distinct checkpoints fetched from the witnesses' monitoring paths and checked against the log. */
  readonly heldChecked: number;
  /** Receipts whose cosignatures met the quorum, and those that did not (a witness was down). */
  readonly receiptsMet: number;
  readonly receiptsUnmet: number;
  /** Entries acknowledged while a witness was down, over how many outages. */
  readonly acksWhileDown: number;
  readonly outages: number;
  /** Cosignatures the log had served but not yet kept when it was killed (receipts still carry them). */
  readonly lostInCrash: number;
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

type Server = ServerProcess;

/** A signed checkpoint somebody was shown. */
interface Seen {
  readonly size: bigint;
  readonly root: Uint8Array;
  readonly where: string;
}

/** What one witness was seen to cosign at one size: one root, and the range of its times. */
interface Cosigned {
  readonly root: string;
  readonly where: string;
  minTime: bigint;
  maxTime: bigint;
}

/** When the log of a round took submissions: from `at` (undefined: not yet, or never) to `exit`. */
interface Uptime {
  at: number | undefined;
  exit: number | undefined;
}

/** One witness outage: acknowledgements and log up-time while the witnesses were down. */
interface Outage {
  /** The witnesses SIGKILLed together (one; two every third outage). */
  readonly witnesses: readonly string[];
  readonly round: number;
  readonly acks: number;
  /** How long the log of the round the witnesses died in was up during the outage. */
  readonly logUpMs: number;
}

interface HeldReceipt {
  readonly receipt: unknown;
  readonly index: bigint;
  readonly leafHash: string;
  readonly round: number;
  checked: boolean;
}

/** A content digest as the log returns it. */
interface DigestJson {
  readonly alg: string;
  readonly hex: string;
}

interface AppendResultJson {
  readonly index: string;
  readonly leafHash: string;
  readonly digest: DigestJson;
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
  /** The witness processes and their policy, when the campaign runs with witnesses. */
  witnesses: WitnessSet | undefined;
  /** The gateway the log mirrors to, when the campaign runs with the mirror on. */
  mirror: MirrorCheck | undefined;
  readonly dir: string;
  readonly data: string;
  readonly adminKey = `gzk_${randomBytes(32).toString('base64url')}`;
  readonly rand: () => number;
  /** index → leaf hash of every acknowledged entry. */
  readonly acks = new Map<bigint, string>();
  /** index → content digest of every acknowledged entry, for the lookups. */
  readonly ackDigests = new Map<bigint, DigestJson>();
  /** Entries acknowledged since the last check: each is looked up at the next one. */
  readonly unlooked = new Set<bigint>();
  lookups = 0;
  readonly failpoints: Record<string, { armed: number; fired: number }> = {};
  readonly indexSteps: Record<string, number> = {};
  readonly mergesBefore: number[] = [];
  readonly receipts: HeldReceipt[] = [];
  /**
   * Signed checkpoints seen, by the note as the log signed it (cosignature lines, which arrive
   * later and differ from copy to copy, left out).
   */
  readonly seen = new Map<string, Seen>();
  /**
   * Every full note already looked at (log-signed and cosigned forms), so each is verified once:
   * those the log served, and those on the witnesses' monitoring paths (apart: the same bytes
   * served by the log must still count as served).
   */
  readonly notes = new Set<string>();
  readonly heldNotes = new Set<string>();
  /** Cosignature lines the log served with each checkpoint (log-signed note → lines): never lost. */
  readonly servedLines = new Map<string, Set<string>>();
  /** Valid cosignature lines seen anywhere. */
  readonly cosigLines = new Set<string>();
  /** Per witness verifier key: what it cosigned, by size. */
  readonly cosigned = new Map<string, Map<bigint, Cosigned>>();
  /** Cosignature lines served before a kill and not kept after it. */
  readonly lostLines = new Set<string>();
  /** Per witness name: the size its monitoring path last held (never shrinks). */
  readonly heldSize = new Map<string, bigint>();
  /** Checkpoints from the witnesses' monitoring paths not yet checked against the log. */
  heldPending = new Map<string, Seen>();
  heldChecked = 0;
  witnessKills = 0;
  readonly outages: Outage[] = [];
  /** Acknowledged entries, counted as they arrive (repeats included), to measure outages. */
  ackCount = 0;
  /**
   * Witness outages still in progress (until the restart is done). Rounds go on meanwhile, so a
   * log may start while a witness is down; the final check waits for them all.
   */
  readonly pendingOutages = new Set<Promise<void>>();
  /** Whether some note the log served met the policy's quorum (its cosignatures are durable). */
  quorumSeen = false;
  receiptsMet = 0;
  receiptsUnmet = 0;
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
      lookupSample: o.lookupSample ?? 200,
      lookupAllAtEnd: o.lookupAllAtEnd ?? true,
      witnesses: o.witnesses ?? 0,
      mirror: o.mirror ?? false,
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

  /**
   * startWitnesses creates the log's key (so its verifier key is known before the log first
   * starts), starts the witness processes told to witness it, and writes their policy.
   */
  async startWitnesses(): Promise<void> {
    const { key } = loadOrCreateLogKey(this.data, ORIGIN);
    this.pinnedKey = formatVerifierKey(key.name, key.publicKey);
    this.verifier = parseVerifierKey(this.pinnedKey);
    this.witnesses = await WitnessSet.start({ dir: this.dir, logVerifierKey: this.pinnedKey, count: this.o.witnesses });
    for (const w of this.witnesses.witnesses) this.cosigned.set(w.key.text, new Map());
    this.o.log(`witnesses: ${this.witnesses.witnesses.map((w) => `${w.name} ${w.url}`).join(', ')} (quorum ${this.witnesses.quorum} of ${this.witnesses.witnesses.length})`);
  }

  /** start runs `guzheng serve` on the campaign's data directory and waits until it listens. */
  async start(failpoint?: string): Promise<Server | undefined> {
    const args = ['--checkpoint-interval-ms', String(this.o.checkpointIntervalMs)];
    // Loopback witnesses answer in milliseconds: a short deadline makes a receipt that waits for a
    // quorum the down witnesses cannot give come back (with fewer cosignatures) within the round.
    if (this.witnesses !== undefined) args.push('--witness-timeout-ms', '1000');
    const env: Record<string, string> = { GUZHENG_ADMIN_KEY: this.adminKey, GUZHENG_ORIGIN: ORIGIN, GUZHENG_RATE_LIMIT: '0', GUZHENG_FAILPOINT: failpoint ?? '', ...this.mirror?.env() };
    // Index writes come without submissions (the runs a crash left out, merges of full levels):
    // counted only once the check is done (crashRound sends SIGUSR2), not to kill the server mid-check.
    if (failpoint?.startsWith('index:') === true) env.GUZHENG_FAILPOINT_ARM = 'signal';
    if (this.witnesses !== undefined) {
      // Both ways of naming the policy are exercised: the flag, and the variable every other round.
      if (this.round % 2 === 0) env.GUZHENG_WITNESS_POLICY = this.witnesses.policyFile;
      else args.push('--witness-policy', this.witnesses.policyFile);
    }
    const r = await spawnServer({ data: this.data, args, env, preload: failpoint !== undefined ? [FAILPOINT] : [] });
    if (!r.ok) {
      if (r.exit?.signal === 'SIGKILL' && failpoint !== undefined) {
        // Died at its failpoint while starting (an `index` one: clearing a merge the last kill cut short).
        this.failpointFired(failpoint, r.output);
        return undefined;
      }
      this.fail(`the server did not start (${r.exit ? `exit ${r.exit.code ?? r.exit.signal}` : 'timeout'}):\n${r.output}`);
      return undefined;
    }
    const key = r.server.verifierKey;
    if (this.pinnedKey === undefined) {
      this.pinnedKey = key;
      this.verifier = parseVerifierKey(key);
    } else if (key !== this.pinnedKey) {
      this.fail(`the verifier key changed across a restart: ${this.pinnedKey} → ${key}`);
    }
    return r.server;
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

  /**
   * see records a signed checkpoint note that a client was shown; it must verify with the pinned
   * key. With witnesses, its cosignature lines are sorted out too (see {@link cosignatures});
   * `fromLog` says the log served it (not a witness), so the log must keep its cosignatures.
   */
  see(note: string, where: string, fromLog = true): Seen | undefined {
    const verifier = this.verifier as VerifierKey;
    let signed: string;
    try {
      signed = noteSignedBy(note, verifier);
    } catch (err) {
      this.fail(`${where}: a checkpoint that is not a signed note: ${(err as Error).message}`);
      return undefined;
    }
    const looked = fromLog ? this.notes : this.heldNotes;
    const fresh = !looked.has(note);
    if (fresh) looked.add(note);
    let s = this.seen.get(signed);
    if (s === undefined) {
      try {
        const c = openCheckpoint(signed, verifier).checkpoint;
        s = { size: c.size, root: c.root, where };
        this.seen.set(signed, s);
      } catch (err) {
        this.fail(`${where}: a checkpoint that does not verify with the pinned key: ${(err as Error).message}`);
        return undefined;
      }
    }
    if (fresh && this.witnesses !== undefined && note !== signed) this.cosignatures(note, signed, s, where, fromLog);
    return s;
  }

  /**
   * cosignatures checks the cosignature lines of a note by the policy's witnesses: each verifies
   * over the exact checkpoint text, and per witness one size has one root (a witness never cosigns
   * two trees of one size) and a larger size never an earlier time (it only moves forward).
   */
  cosignatures(note: string, signed: string, s: Seen, where: string, fromLog: boolean): void {
    const policy = (this.witnesses as WitnessSet).policy;
    let c;
    try {
      c = openCosigned(note, this.verifier as VerifierKey, policy.witnesses.map((w) => w.key));
    } catch (err) {
      this.fail(`${where}: the cosigned checkpoint does not open: ${(err as Error).message}`);
      return;
    }
    for (const f of c.failed) this.fail(`${where}: a cosignature line by witness ${f.name} does not verify over checkpoint ${s.size} (${f.code}: ${f.message})`);
    if (fromLog) {
      const kept = this.servedLines.get(signed) ?? new Set<string>();
      for (const v of c.cosignatures) kept.add(v.line);
      this.servedLines.set(signed, kept);
      if (evaluateQuorum(policy, c.cosignatures).met) this.quorumSeen = true;
    }
    const root = toHex(s.root);
    for (const v of c.cosignatures) {
      this.cosigLines.add(v.line);
      const bySize = this.cosigned.get(v.key) as Map<bigint, Cosigned>;
      const had = bySize.get(s.size);
      if (had === undefined) bySize.set(s.size, { root, where, minTime: v.time, maxTime: v.time });
      else if (had.root !== root) this.fail(`witness ${v.name} cosigned two roots for size ${s.size}: ${had.root} (${had.where}) and ${root} (${where})`);
      else {
        if (v.time < had.minTime) had.minTime = v.time;
        if (v.time > had.maxTime) had.maxTime = v.time;
      }
    }
  }

  /** witnessTimes checks each witness's cosignature times never go back as its cosigned size grows. */
  witnessTimes(): void {
    for (const [key, bySize] of this.cosigned) {
      let prev: { size: bigint; maxTime: bigint } | undefined;
      for (const [size, c] of [...bySize].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (prev !== undefined && c.minTime < prev.maxTime) this.fail(`witness ${key.split('+')[0]} cosigned size ${size} at ${c.minTime}, before it cosigned the smaller size ${prev.size} at ${prev.maxTime}`);
        prev = { size, maxTime: prev === undefined || c.maxTime > prev.maxTime ? c.maxTime : prev.maxTime };
      }
    }
  }

  /**
   * pollWitnesses fetches each running witness's monitoring path: the checkpoint it holds must be
   * signed by the log and cosigned by it, and its size never shrinks. Each new one is checked
   * against the log at the next {@link check}.
   */
  async pollWitnesses(): Promise<void> {
    const set = this.witnesses;
    if (set === undefined) return;
    await Promise.all(
      set.up.map(async (w) => {
        let note: string | null | undefined;
        try {
          note = await set.checkpoint(w, ORIGIN);
        } catch (err) {
          this.fail(`witness ${w.name}: ${(err as Error).message}`);
          return;
        }
        const where = `witness ${w.name} monitoring path`;
        if (note === null && this.heldSize.has(w.name)) {
          this.fail(`${where}: holds no checkpoint after holding size ${this.heldSize.get(w.name)}: its state was lost`);
          this.heldSize.delete(w.name);
        }
        if (note === null || note === undefined) return;
        const fresh = !this.heldNotes.has(note);
        const s = this.see(note, where, false);
        if (s === undefined) return;
        // Checked on every poll: an old note coming back (already seen) is a rollback too.
        const before = this.heldSize.get(w.name);
        if (before !== undefined && s.size < before) this.fail(`${where}: holds size ${s.size} after holding ${before}: its state went back`);
        // Once reported, from the size it holds now: the same loss is not reported at every poll.
        if (before === undefined || s.size !== before) this.heldSize.set(w.name, s.size);
        if (!fresh) return;
        try {
          const own = openCosigned(note, this.verifier as VerifierKey, [w.key]).cosignatures;
          if (own.length !== 1) this.fail(`${where}: the checkpoint of size ${s.size} it holds has no valid cosignature by it`);
        } catch (err) {
          this.fail(`${where}: ${(err as Error).message}`);
        }
        this.heldPending.set(`${w.name} ${noteSignedBy(note, this.verifier as VerifierKey)}`, { ...s, where });
      }),
    );
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
    this.ackDigests.set(index, r.digest);
    this.unlooked.add(index);
    this.ackCount++;
    if (r.receipt !== undefined) this.receipts.push({ receipt: r.receipt, index, leafHash: r.leafHash, round: this.round, checked: false });
  }

  /** One submitter: loops until the server goes away or `stop()` says so, `paceMs` between requests. */
  async submitter(s: Server, id: number, stop: () => boolean, onAck: () => void, paceMs = 0): Promise<void> {
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
      if (paceMs > 0) await sleep(paceMs);
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

  /** watchWitnesses polls the witnesses' monitoring paths until `stop()`, to see every state they pass through. */
  async watchWitnesses(stop: () => boolean): Promise<void> {
    while (!stop()) {
      await this.pollWitnesses();
      await sleep(50);
    }
  }

  /**
   * witnessOutage SIGKILLs witnesses, in turn, in a cycle of three outages: one witness before
   * the round's log starts (it starts without it), one up to 300 ms after submissions begin (most
   * rounds end within a second), then two at once before the log starts (the 2-of-3 quorum cannot
   * be met: receipts go out with fewer cosignatures). It restarts them on their ports and data
   * directories 0.1–0.8 s after submissions began (plus their start-up: 1.5–4 s). Anchoring must
   * not stop meanwhile: while the round's log took submissions for a second or more of the outage
   * (`log`), some entry must have been acknowledged.
   */
  async witnessOutage(log: Uptime): Promise<void> {
    const set = this.witnesses as WitnessSet;
    const nth = this.outages.length + this.pendingOutages.size;
    const submitting = async () => {
      while (log.at === undefined && log.exit === undefined) await sleep(10);
    };
    if (nth % 3 === 1) {
      await submitting();
      await sleep(this.int(0, 300));
    }
    // Only running witnesses: an earlier outage may not be over yet.
    const up = set.up;
    const ws = Array.from({ length: Math.min(nth % 3 === 2 ? 2 : 1, up.length) }, (_, i) => up[(nth + i) % up.length] as Witness);
    if (ws.length === 0) return;
    const round = this.round;
    const acks0 = this.ackCount;
    const t0 = performance.now();
    await Promise.all(ws.map((w) => set.kill(w)));
    this.witnessKills += ws.length;
    // Killed before the log started: kept down into its submissions, the case that matters.
    await submitting();
    await sleep(this.int(100, 800));
    await Promise.all(
      ws.map(async (w) => {
        try {
          await set.restart(w);
        } catch (err) {
          this.fail(`witness ${w.name} did not restart after its SIGKILL: ${(err as Error).message}`);
        }
      }),
    );
    const t1 = performance.now();
    const logUpMs = Math.max(0, Math.min(log.exit ?? t1, t1) - Math.max(log.at ?? t1, t0));
    const acks = this.ackCount - acks0;
    const names = ws.map((w) => w.name);
    this.outages.push({ witnesses: names, round, acks, logUpMs });
    if (logUpMs >= 1000 && acks === 0) this.fail(`anchoring stopped while witness ${names.join(' and ')} ${ws.length > 1 ? 'were' : 'was'} down (round ${round}): no entry acknowledged in ${Math.round(logUpMs)} ms of the log running`);
    this.o.log(`  witness ${names.join(' and ')} SIGKILLed in round ${round}, back after ${Math.round(t1 - t0)} ms: ${acks} entries acknowledged meanwhile`);
  }

  /** settleOutages waits until every witness killed so far is back. */
  async settleOutages(): Promise<void> {
    while (this.pendingOutages.size > 0) await Promise.all([...this.pendingOutages]);
  }

  /**
   * failpointFired tells whether the round's failpoint fired, from the line the server printed as
   * it did (scripts/crash/failpoint.ts), and counts it; one that never fired is a failure (the
   * round did not test what it names). Returns what the line said, for the round's log line.
   */
  failpointFired(failpoint: string, output: string): string {
    const kind = failpoint.slice(0, failpoint.indexOf(':'));
    const line = output.split('\n').find((l) => l.startsWith(`failpoint ${failpoint}: SIGKILL`));
    if (line === undefined) {
      this.fail(`failpoint ${failpoint} never fired: the server was killed some other way (its ${kind} writes never reached the count)`);
      return 'NEVER FIRED';
    }
    const count = this.failpoints[kind] as { armed: number; fired: number };
    count.fired++;
    if (kind !== 'index') return 'fired';
    const m = / at (\S+) \(index write \d+(?: of that step)?; (\d+) merges? swapped in before\)$/.exec(line);
    if (m === null) {
      this.fail(`failpoint ${failpoint}: its line does not say where it fired: ${line}`);
      return 'fired';
    }
    const [, step, before] = m as unknown as [string, string, string];
    this.indexSteps[step] = (this.indexSteps[step] ?? 0) + 1;
    this.mergesBefore.push(Number(before));
    return `fired at ${step}, ${before} merges swapped in before`;
  }

  /**
   * indexFailpoint picks where an `index` round dies, `<n>` or `<n>:<step>` (scripts/crash/failpoint.ts),
   * in turn: the 3rd to 12th run write (0.6-2.4 s of load: the server writes the runs of the
   * entries waiting in memory every 200 ms), the 3rd to 6th swap of a merged run, the 3rd to 6th
   * merge start (its marker with its first 512 pages: a level-0 merge writes all its pages there,
   * so later page batches, `merge-pages`, come only with bigger merges), and any write of the index
   * path (n from 20 to 60). A level-0 merge comes every 8 run writes per index and writes twice
   * (pages with the marker, then the swap), so at least one merge has mostly been swapped in before
   * the kill; the line the server prints as it dies says how many.
   */
  indexFailpoint(): string {
    const steps = ['run-write', 'swap', 'merge-start', undefined] as const;
    const step = steps[(this.failpoints.index?.armed ?? 0) % steps.length];
    if (step === undefined) return String(this.int(20, 60));
    return `${step === 'run-write' ? this.int(3, 12) : this.int(3, 6)}:${step}`;
  }

  /** crashRound starts the server, checks the log, submits, and kills the server per `mode`. */
  async crashRound(mode: KillMode): Promise<void> {
    const kind = mode.slice(0, Math.max(0, mode.indexOf(':')));
    const failpoint = kind === '' ? undefined : `${mode}:${kind === 'block' ? this.int(2, 12) : kind === 'index' ? this.indexFailpoint() : this.int(2, 40)}`;
    if (failpoint !== undefined) (this.failpoints[kind] ??= { armed: 0, fired: 0 }).armed++;
    let fired = '';
    const uptime: Uptime = { at: undefined, exit: undefined };
    if (this.witnesses !== undefined && this.round % 2 === 1) {
      // Not one of the round's tasks: the witness may still be down when the next log starts (it
      // must start without it, and catch up with it later).
      const outage = this.witnessOutage(uptime).finally(() => this.pendingOutages.delete(outage));
      this.pendingOutages.add(outage);
    }
    const s = await this.start(failpoint);
    if (s === undefined) {
      uptime.exit = performance.now();
      this.kills[`${mode} (while starting)`] = (this.kills[`${mode} (while starting)`] ?? 0) + 1;
      this.o.log(`round ${this.round}/${this.o.rounds} ${failpoint ?? mode}: killed while starting`);
      return;
    }
    try {
      await this.check(s, false);
    } catch (err) {
      this.fail(`checking after the restart failed: ${(err as Error).stack ?? String(err)}`);
    }
    if (failpoint?.startsWith('index:') === true) s.child.kill('SIGUSR2'); // the failpoint counts from now
    // Up, for a witness outage, from when the submitters start (nothing is submitted before).
    uptime.at = performance.now();
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
      uptime.exit = performance.now();
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
    // The index path writes by time (runs every 200 ms while entries wait, a merge every 8 runs),
    // not by volume: one submitter, pausing 50 ms between requests, keeps it busy, and keeps the
    // log (and every later check) small.
    const submitters = kind === 'index' ? 1 : this.o.submitters;
    const pace = kind === 'index' ? 50 : 0;
    const tasks = [this.watch(s, stop, onCheckpoint), ...Array.from({ length: submitters }, (_, i) => this.submitter(s, i, stop, onAck, pace))];
    if (this.witnesses !== undefined) tasks.push(this.watchWitnesses(stop));
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
    if (failpoint !== undefined) fired = ` (${this.failpointFired(failpoint, s.output())})`;
    this.anomalies(s);
    this.kills[mode] = (this.kills[mode] ?? 0) + 1;
    this.o.log(`round ${this.round}/${this.o.rounds} ${failpoint ?? mode}${fired}: ${acksThisRound} acknowledged (total ${this.acks.size}), ${this.receipts.length} receipts, ${this.seen.size} checkpoints seen`);
  }

  /**
   * anomalies fails on any witness answer the log could not explain, as it logged them: a witness
   * whose state went back, a size the log never signed, a 422 for a checkpoint that extends what
   * the witness holds, or a 409 loop. None can happen to honest witnesses killed with SIGKILL (each
   * fsyncs its state before it answers).
   */
  anomalies(s: Server): void {
    if (this.witnesses === undefined) return;
    for (const m of s.output().matchAll(/^witness \S+: (?:says its latest cosigned size|refused checkpoint|409 loop).*$/gm)) this.fail(`the log reported a witness anomaly: ${m[0]}`);
  }

  /**
   * audit replays the stopped data directory from genesis with the audit module; with witnesses,
   * against the policy: every cosignature kept verifies. No checkpoint meeting the quorum is a
   * problem only once the campaign saw the log serve one (its cosignatures were durable then).
   */
  async audit(): Promise<void> {
    const source = await LocalSource.open(this.data);
    try {
      const policy = this.witnesses?.policy;
      const report = await runAudit(source, { verifierKey: this.pinnedKey as string, workers: 0, ...(policy !== undefined ? { policy } : {}) });
      const noQuorumYet = !this.quorumSeen && report.problems.length > 0 && report.problemCount === report.problems.length && report.problems.every((p) => p.kind === 'quorum-not-met');
      if (report.ok || noQuorumYet) this.cleanAudits++;
      else this.fail(`the stopped data directory does not audit clean:\n${formatReport(report)}`);
    } finally {
      await source.close();
    }
  }

  /** check verifies everything ever acknowledged, handed out and seen against the running log. */
  async check(s: Server, full: boolean): Promise<void> {
    const verifier = this.verifier as VerifierKey;
    // The final check looks at every witness: those killed last are back first.
    if (full) await this.settleOutages();
    await this.pollWitnesses();
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
    // A cosignature the log handed out is kept with its block in the background, after it is
    // served (SPEC.md#cosigned-checkpoints-in-documents): a kill may lose the last ones, which the
    // receipts handed out still carry. Counted, not a failure; what is kept must be what was served.
    for (const b of blocks) {
      const had = this.servedLines.get(noteSignedBy(b.checkpoint, verifier));
      if (had === undefined) continue;
      const kept = new Set(splitNote(b.checkpoint).signatures);
      for (const line of had) {
        if (!kept.has(line) && !this.lostLines.has(line)) this.lostLines.add(line);
      }
    }
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
    // Compared as the log signed them: cosignatures may arrive between the two requests.
    if (tip === undefined || noteSignedBy(tip.checkpoint, verifier) !== noteSignedBy(note, verifier)) this.fail('the last block does not seal the served checkpoint');

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

    // What the witnesses hold (already compared with the rebuilt tree above, as seen checkpoints):
    // the log proves each consistent with its current checkpoint too.
    for (const held of this.heldPending.values()) {
      if (held.size <= now.size) await this.consistent(s, held, now);
      this.heldChecked++;
    }
    this.heldPending.clear();

    // 3. Receipts handed out before the crash: valid offline, and consistent with now.
    const due = this.receipts.filter((r) => full || !r.checked);
    const policy = this.witnesses?.policy;
    for (const r of due) {
      const report = await verifyReceipt(r.receipt, { trustedKeys: [verifier], ...(policy !== undefined ? { policy } : {}) });
      // With witnesses, an unmet quorum is no fault (a witness was down), a bad cosignature is.
      const cosig = report.checks.find((c) => c.id === 'cosignatures');
      const unmet = cosig?.status === 'fail' && cosig.code === 'QUORUM_NOT_MET' && report.facts.cosignatures?.failed === 0;
      const failed = report.checks.filter((c) => c.status === 'fail' && !(unmet && c.id === 'cosignatures'));
      if (failed.length > 0 || (!report.valid && !unmet)) this.fail(`receipt of entry ${r.index} (round ${r.round}) no longer verifies: ${JSON.stringify(report.checks.filter((c) => c.status === 'fail'))}`);
      if (policy !== undefined && !r.checked) {
        if (cosig?.status === 'pass') this.receiptsMet++;
        else this.receiptsUnmet++;
      }
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
    // 5. Lookups by content digest and by leaf hash (the run indexes, merged in the background).
    await this.lookupAll(s, now, leaves, full);
    this.witnessTimes();
    this.blockHashes = hashes;
    this.last = now;
    // 6. With the mirror on: it converges, and the bucket holds nothing the log disagrees with.
    await this.mirror?.check(s.url, this.adminKey, verifier, (m) => this.fail(m));
  }

  /**
   * lookupAll looks acknowledged entries up as a client would: by content digest (`GET
   * /v1/lookup/{alg}/{hex}`) and by leaf hash (`GET /v1/proof/inclusion?leafHash=`), against the
   * tree rebuilt from the listed entries (`leaves`, hex by index, `now` its checkpoint). Which
   * entries: every one acknowledged since the last check (those the killed server wrote: the
   * newest runs of the indexes, and the likeliest to be in a merge at the kill), plus a random
   * sample of older ones (`lookupSample`, 200 by default), whose runs a merge of a higher level
   * may have been rewriting; every acknowledged entry when `full` (the final check) unless
   * `lookupAllAtEnd` is off. Looking every entry up at every check would cost two requests per
   * entry per round, and grow with the log.
   */
  async lookupAll(s: Server, now: Seen, leaves: readonly string[], full: boolean): Promise<void> {
    const older = [...this.acks.keys()].filter((i) => !this.unlooked.has(i));
    const picked = full && this.o.lookupAllAtEnd ? [...this.acks.keys()] : [...this.unlooked, ...Array.from({ length: Math.min(this.o.lookupSample, older.length) }, () => older[this.int(0, older.length - 1)] as bigint)];
    this.unlooked.clear();
    const todo = [...new Set(picked)].filter((i) => !this.lostIndexes.has(i) && i < now.size);
    // A few requests in flight: the server answers from one event loop, the lookups from LevelDB's thread pool.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        const index = todo[next++] as bigint;
        await this.lookup(s, now, leaves, index);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  }

  /** lookup checks that acknowledged entry `index` is found by its content digest and by its leaf hash. */
  async lookup(s: Server, now: Seen, leaves: readonly string[], index: bigint): Promise<void> {
    const leaf = this.acks.get(index) as string;
    const digest = this.ackDigests.get(index) as DigestJson;
    this.lookups++;
    try {
      const found = await this.getJson<{ anchorings: Array<{ index: string; leafHash: string }> }>(s, `/v1/lookup/${digest.alg}/${digest.hex}`);
      if (!found.anchorings.some((a) => a.index === index.toString() && a.leafHash === leaf)) {
        this.fail(`LOOKUP: acknowledged entry ${index} is not found by its content digest ${digest.alg}:${digest.hex} (found ${JSON.stringify(found.anchorings.map((a) => a.index))})`);
      }
      for (const a of found.anchorings) {
        if (leaves[Number(a.index)] !== a.leafHash) this.fail(`LOOKUP: content digest ${digest.alg}:${digest.hex} lists entry ${a.index} with leaf ${a.leafHash}, which is not the log's leaf there (${leaves[Number(a.index)] ?? 'beyond the log'})`);
      }
    } catch (err) {
      this.fail(`LOOKUP: acknowledged entry ${index} by content digest ${digest.alg}:${digest.hex}: ${(err as Error).message}`);
    }
    try {
      const res = await this.get(s, `/v1/proof/inclusion?leafHash=${leaf}&size=${now.size}`);
      const text = await res.text();
      if (res.status === 404) {
        this.fail(`LOOKUP: acknowledged entry ${index} is not found by its leaf hash ${leaf} (404)`);
        return;
      }
      if (res.status !== 200) throw new Error(`${res.status} ${text.slice(0, 300)}`);
      const p = JSON.parse(text) as { index: string; leafHash: string; path: string[] };
      // The proof is of the first entry with this leaf hash: this one, or an earlier identical entry.
      const at = BigInt(p.index);
      if (p.leafHash !== leaf || at > index || leaves[Number(at)] !== leaf) throw new Error(`it proves entry ${p.index} with leaf ${p.leafHash}`);
      verifyInclusion(at, now.size, fromHex(p.leafHash, 32), p.path.map((h) => fromHex(h, 32)), now.root);
    } catch (err) {
      this.fail(`LOOKUP: acknowledged entry ${index} by leaf hash ${leaf}: ${(err as Error).message}`);
    }
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
    if (c.o.witnesses > 0) await c.startWitnesses();
    if (c.o.mirror) {
      c.mirror = await MirrorCheck.start();
      c.o.log(`mirror: s3://crash/log at ${c.mirror.rgw.endpoint} (Ceph RGW started in ${c.mirror.rgw.startSeconds.toFixed(1)} s)`);
    }
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
      c.anomalies(s);
      await c.audit();
    }
    if (c.witnesses !== undefined) {
      // The witnesses stop cleanly too, and none hit an internal error on the way.
      await c.settleOutages();
      for (const [name, code] of await c.witnesses.close()) if (code !== 0) c.fail(`witness ${name} exited with ${code} on SIGTERM`);
      for (const w of c.witnesses.witnesses) if (/internal error/.test(c.witnesses.output(w))) c.fail(`witness ${w.name} had an internal error:\n${c.witnesses.output(w).slice(-2000)}`);
    }
  } finally {
    // Whatever failed, no witness process outlives the campaign.
    await c.settleOutages().catch(() => undefined);
    await c.witnesses?.close().catch(() => undefined);
    await c.mirror?.stop().catch(() => undefined);
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
    failpoints: c.failpoints,
    indexKills: { steps: c.indexSteps, mergesBefore: c.mergesBefore },
    lookups: c.lookups,
    failures: c.failures,
    ...(c.witnesses !== undefined
      ? {
          witnesses: {
            count: c.witnesses.witnesses.length,
            quorum: c.witnesses.quorum,
            kills: c.witnessKills,
            cosignatures: c.cosigLines.size,
            lostInCrash: c.lostLines.size,
            cosignedSizes: [...c.cosigned.values()].reduce((n, m) => n + m.size, 0),
            heldChecked: c.heldChecked,
            receiptsMet: c.receiptsMet,
            receiptsUnmet: c.receiptsUnmet,
            acksWhileDown: c.outages.reduce((n, o) => n + o.acks, 0),
            outages: c.outages.length,
          },
        }
      : {}),
    ...(c.mirror !== undefined ? { mirror: c.mirror.summary() } : {}),
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
    `  lookups:                ${s.lookups} acknowledged entries found by content digest and by leaf hash${s.failures.some((f) => f.includes('LOOKUP:')) ? ' (NOT all: see failures)' : ''}`,
    ...(Object.keys(s.failpoints).length === 0 ? [] : [`  failpoints fired:       ${Object.entries(s.failpoints).map(([k, f]) => `${k} ${f.fired} of ${f.armed}`).join(', ')}`]),
    ...(s.indexKills.mergesBefore.length === 0
      ? []
      : [`  index kills:            at ${Object.entries(s.indexKills.steps).map(([k, n]) => `${k} ×${n}`).join(', ')}; merges swapped in before each: ${s.indexKills.mergesBefore.join(', ')}`]),
    ...(s.witnesses === undefined
      ? []
      : [
          `  witnesses:              ${s.witnesses.count} (quorum ${s.witnesses.quorum} of ${s.witnesses.count}), ${s.witnesses.kills} SIGKILLed and restarted`,
          `  cosignatures:           ${s.witnesses.cosignatures} seen over ${s.witnesses.cosignedSizes} (witness, size) pairs, one root each; ${s.witnesses.lostInCrash} served but not yet kept when the log was killed`,
          `  witness checkpoints:    ${s.witnesses.heldChecked} held by witnesses, checked against the log`,
          `  receipts cosigned:      ${s.witnesses.receiptsMet} to quorum, ${s.witnesses.receiptsUnmet} below it`,
          `  anchored, witness down: ${s.witnesses.acksWhileDown} entries over ${s.witnesses.outages} outages`,
        ]),
    ...(s.mirror === undefined
      ? []
      : [
          `  mirror:                 converged after ${s.mirror.converged} restarts (longest wait ${s.mirror.maxConvergeMs} ms); ${s.mirror.objectsCompared} object comparisons with the log, none disagreeing${s.failures.some((f) => /bucket object|mirror|bucket does not audit/.test(f)) ? ' (NOT: see failures)' : ''}`,
          `  bucket:                 ${s.mirror.objects} objects at the end, ${s.mirror.pending} beyond what the log signed (not compared); ${s.mirror.cleanAudits} clean bucket audits (gateway started in ${s.mirror.rgwStartSeconds.toFixed(1)} s)`,
        ]),
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
  let witnesses = 0;
  let mirror = false;
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
    else if (a === '--mirror') mirror = true;
    else if (a === '--witnesses') {
      witnesses = Number(next());
      if (!Number.isInteger(witnesses) || witnesses < 0 || witnesses > 16) throw new Error('--witnesses: want an integer from 0 to 16');
    }
    else if (a === '--modes') {
      modes = next().split(',') as KillMode[];
      const bad = modes.filter((m) => !KILL_MODES.includes(m));
      if (bad.length > 0) throw new Error(`--modes: unknown ${bad.join(', ')}; want some of ${KILL_MODES.join(', ')}`);
    }
    else {
      process.stderr.write('usage: tsx scripts/crash-campaign.ts [--rounds N] [--seed S] [--modes m1,m2] [--witnesses N] [--mirror] [--keep] [--dir DIR]\n');
      return 2;
    }
  }
  if (!Number.isInteger(rounds) || rounds < 1) {
    process.stderr.write('--rounds: want a positive integer\n');
    return 2;
  }
  const summary = await runCampaign({ rounds, witnesses, mirror, ...(seed !== undefined ? { seed } : {}), ...(modes !== undefined ? { modes } : {}), keep, ...(dataDir !== undefined ? { dataDir } : {}), log: (l) => process.stdout.write(l + '\n') });
  process.stdout.write(formatSummary(summary) + '\n');
  return summary.lost === 0 && summary.failures.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
