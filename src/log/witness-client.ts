/**
 * The log's witness client (SPEC.md#witnesses, c2sp.org/tlog-witness): after each checkpoint is
 * signed and sealed, it is submitted to every witness of the policy concurrently, with the
 * witness's old size and the consistency proof from it. Valid cosignatures are kept with the
 * block (src/log/cosignatures.ts); the newest checkpoint whose cosignatures meet the policy's
 * quorum is what receipts are proved against.
 *
 * Nothing here is on the append path: entries are acknowledged after the fsync as before, and a
 * witness that is down, slow or refusing only means fewer cosignatures. Each witness has at most
 * one request in flight. Submissions go in ROUNDS: a round sends one checkpoint, the newest
 * published, to every witness, and the next round starts once the round's checkpoint met the
 * quorum or no witness is still working on it. A quorum needs cosignatures of the SAME checkpoint,
 * so witnesses each chasing the newest checkpoint at their own pace would rarely agree on one
 * under load; a witness that finishes an older round's request joins the current round.
 * A 409 is answered by retrying from the size the witness names; refusals (422, 409 loops) and
 * answers the log cannot explain (a witness claiming a size the log never signed, or a smaller
 * size than one it already cosigned: its state was rolled back or corrupted) are counted, kept as
 * evidence and shown in /healthz. What each witness cosigned before a restart is read back from
 * the kept cosignatures ({@link WitnessClient.seed}), so a witness rolled back while the log was
 * down is noticed too.
 */
import type { Block } from '../core/block.js';
import { formatDecimal } from '../core/bytes.js';
import { verifyCosignature, type ValidCosignature } from '../core/cosignature.js';
import { parseCheckpoint } from '../core/checkpoint.js';
import { isLedgerError } from '../core/errors.js';
import { splitNote } from '../core/note.js';
import { evaluateQuorum, type Policy, type PolicyWitness } from '../core/policy.js';
import { formatAddCheckpointBody } from '../witness/add-checkpoint.js';
import { cosignedNote, type CosignatureBook } from './cosignatures.js';
import type { Published } from './publisher.js';
import { MAX_ANSWER, parseRetryAfter, postCheckpoint, type WitnessAnswer } from './witness-http.js';

/** How a submission ended (the `outcome` label of the request counter). */
export type WitnessOutcome = 'cosigned' | 'conflict' | 'refused' | 'unavailable' | 'error';

/** The newest checkpoint whose cosignatures meet the quorum, with its cosigned note. */
export interface Witnessed {
  readonly block: Block;
  readonly size: bigint;
  readonly note: string;
}

export interface WitnessClientOptions {
  readonly policy: Policy;
  readonly book: CosignatureBook;
  /** The consistency proof between two signed sizes (the ledger's). */
  readonly prove: (from: bigint, to: bigint) => Promise<Uint8Array[]>;
  /** Whether the log ever signed a checkpoint of this size (explains a witness's 409). */
  readonly signedSize: (size: bigint) => Promise<boolean>;
  /**
   * The checkpoint note of block `height` as the log signed it (undefined: no such block). Lets
   * {@link WitnessClient.seed} check kept cosignatures against what they sign; without it the
   * client starts knowing nothing of what the witnesses cosigned before.
   */
  readonly checkpointAt?: (height: bigint) => Promise<string | undefined>;
  /** Deadline of one request, ms (default 3,000). */
  readonly timeoutMs?: number;
  /**
   * Asks the log to publish a checkpoint of everything integrated now. Called when a round ends
   * while receipts wait for entries no published checkpoint covers yet: the next round then
   * carries them, and they are sealed in the very block the witnesses cosign.
   */
  readonly publish?: () => Promise<unknown>;
  /** Least time between the starts of two rounds, ms (default {@link MIN_ROUND_INTERVAL_MS}). */
  readonly minRoundIntervalMs?: number;
  /** Makes the HTTP exchanges instead of node:http (tests script witnesses with it). */
  readonly fetch?: typeof fetch;
  readonly clock?: () => Date;
  readonly onEvent?: (line: string) => void;
}

/** One witness's state, as /healthz and /metrics show it. */
export interface WitnessStatus {
  readonly name: string;
  readonly url: string;
  /** The size the witness last cosigned (as far as the log knows). */
  readonly cosignedSize?: string;
  readonly lastCosignedAt?: string;
  readonly consecutiveFailures: number;
  readonly lastError?: string;
  /** Answers the log could not explain (rollback, corruption): each one is logged and kept. */
  readonly anomalies: number;
  readonly requests: Readonly<Record<WitnessOutcome, number>>;
}

interface State {
  readonly w: PolicyWitness & { readonly url: string };
  /** The old size to send: what the witness holds, as far as the log knows. */
  known: bigint;
  /** The largest size it returned a valid cosignature for. */
  cosignedMax: bigint | undefined;
  lastCosignedAt: Date | undefined;
  pending: Published | undefined;
  busy: boolean;
  notBefore: number;
  failures: number;
  lastError: string | undefined;
  anomalies: number;
  readonly requests: Record<WitnessOutcome, number>;
}

/**
 * Least time between two rounds by default: each witness gets at most 20 requests a second from
 * the log, well inside the 50 per second per address a `guzheng witness` allows by default.
 */
export const MIN_ROUND_INTERVAL_MS = 50;

/** Most 409 retries for one checkpoint before it counts as a refusal (a 409 loop). */
export const MAX_CONFLICTS = 3;
/**
 * How many recent block heights {@link WitnessClient.seed} reads back, and in windows of how many:
 * enough to find every witness that cosigned anything lately, bounded so a long-lived log with
 * a witness that never answered does not read its whole history at each start.
 */
const SEED_DEPTH = 4096n;
const SEED_WINDOW = 256n;

export class WitnessClient {
  readonly #o: WitnessClientOptions;
  readonly #states: State[];
  /** Valid cosignatures per recent height, for the quorum. */
  readonly #valid = new Map<bigint, ValidCosignature[]>();
  #witnessed: Witnessed | undefined;
  #waiters: Array<{ size: bigint; resolve: (w: Witnessed) => void }> = [];
  #stopped = false;
  readonly #inflight = new Set<Promise<void>>();
  /** The newest checkpoint published. */
  #latest: Published | undefined;
  /** The checkpoint of the current round, and whether the round is over. */
  #round: Published | undefined;
  #roundOver = true;
  /** When the last round started (ms), for the pacing. */
  #lastRoundAt = 0;
  /** The deferred start of the next round (pacing), if one is due. */
  #nextRound: ReturnType<typeof setTimeout> | undefined;
  /** A publication was asked for at the end of a round and has not arrived yet. */
  #publishAsked = false;

  constructor(o: WitnessClientOptions) {
    this.#o = o;
    this.#states = o.policy.witnesses
      .filter((w): w is PolicyWitness & { url: string } => w.url !== undefined)
      .map((w) => ({ w, known: 0n, cosignedMax: undefined, lastCosignedAt: undefined, pending: undefined, busy: false, notBefore: 0, failures: 0, lastError: undefined, anomalies: 0, requests: { cosigned: 0, conflict: 0, refused: 0, unavailable: 0, error: 0 } }));
  }

  /** The witnesses the log submits to (those of the policy with a URL). */
  get count(): number {
    return this.#states.length;
  }

  /**
   * Whether a round is in flight. While one is, a checkpoint published now would be skipped by
   * the witnesses (the next round takes the newest), so a receipt waits for the round's end, when
   * the client asks for a publication ({@link WitnessClientOptions.publish}).
   */
  get roundInProgress(): boolean {
    return !this.#stopped && (!this.#roundOver || this.#nextRound !== undefined || this.#publishAsked);
  }

  /** The newest checkpoint cosigned to quorum, if any since start. */
  get witnessed(): Witnessed | undefined {
    return this.#witnessed;
  }

  /**
   * notify hands a newly published checkpoint to the witnesses (cheap: it only schedules): at once
   * when no round is running, else in the round after the current one. `fresh` is false for a
   * checkpoint published before this process started.
   */
  notify(p: Published, fresh = true): void {
    if (this.#stopped) return;
    // A block published just now has no cosignatures yet: they are then kept in memory at once.
    if (fresh) this.#o.book.prime(p.block.height);
    if (this.#latest === undefined || p.block.height > this.#latest.block.height) this.#latest = p;
    this.#publishAsked = false;
    if (this.#roundOver) this.#schedule(false);
  }

  /**
   * #schedule starts the next round when it is due: at most one round per minRoundIntervalMs, so
   * a log whose witnesses answer in a few ms stays well inside their rate limits (a witness
   * answers 429 beyond 50 requests a second by default, and a refused round costs a second's
   * backoff). With `mayPublish`, when receipts wait beyond the newest checkpoint, it first asks
   * the log to publish; the publication's notify then starts the round.
   */
  #schedule(mayPublish: boolean): void {
    if (this.#stopped || this.#nextRound !== undefined) return;
    const wait = this.#lastRoundAt + (this.#o.minRoundIntervalMs ?? MIN_ROUND_INTERVAL_MS) - Date.now();
    if (wait > 0) {
      this.#nextRound = setTimeout(() => {
        this.#nextRound = undefined;
        if (this.#roundOver) this.#schedule(true);
      }, wait);
      this.#nextRound.unref?.();
      return;
    }
    const latest = this.#latest?.checkpoint.checkpoint.size ?? 0n;
    if (mayPublish && this.#o.publish !== undefined && this.#waiters.some((x) => x.size > latest)) {
      this.#publishAsked = true;
      // The publication's notify starts the round. If none comes (nothing new, or a failure the
      // publisher reports itself), the round starts from what is published.
      void this.#o
        .publish()
        .catch(() => undefined)
        .finally(() => {
          if (!this.#publishAsked) return;
          this.#publishAsked = false;
          if (this.#roundOver) this.#schedule(false);
        });
      return;
    }
    this.#startRound();
  }

  /** #startRound sends the newest checkpoint to every witness, if it is newer than the last round's. */
  #startRound(): void {
    const p = this.#latest;
    if (p === undefined || this.#stopped) return;
    if (this.#round !== undefined && p.block.height <= this.#round.block.height) return;
    this.#round = p;
    this.#roundOver = false;
    this.#lastRoundAt = Date.now();
    for (const s of this.#states) {
      s.pending = p;
      this.#pump(s);
    }
    // Every witness backing off after failures: no request runs, so none would end the round;
    // it is over at once (receipts then wait for the publisher, not for a round that never ends).
    if (!this.#states.some((x) => x.busy)) this.#roundOver = true;
  }

  /**
   * #settled runs after a witness finished a request (any outcome): the round is over once its
   * checkpoint met the quorum or no witness works on it any more; a witness that finished an older
   * round's checkpoint is given the current one.
   */
  #settled(s: State, done: Published): void {
    const round = this.#round;
    if (round === undefined || this.#stopped) return;
    if (!this.#roundOver) {
      const met = this.#witnessed !== undefined && this.#witnessed.block.height >= round.block.height;
      // A witness backing off after failures does not hold the round up.
      const now = Date.now();
      const working = this.#states.some((x) => x.busy || (x.pending?.block.height === round.block.height && x.notBefore <= now));
      if (met || !working) this.#roundOver = true;
      else if (done.block.height < round.block.height && s.pending === undefined) s.pending = round;
    }
    if (this.#roundOver) this.#schedule(true);
  }

  /** waitForQuorum resolves once a checkpoint of at least `size` entries is cosigned to quorum, or with undefined after `timeoutMs`. */
  waitForQuorum(size: bigint, timeoutMs: number): Promise<Witnessed | undefined> {
    const w = this.#witnessed;
    if (w !== undefined && w.size >= size) return Promise.resolve(w);
    return new Promise((resolve) => {
      const waiter = { size, resolve: (x: Witnessed) => (clearTimeout(t), resolve(x)) };
      const t = setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== waiter);
        resolve(undefined);
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /**
   * seed reads back, from the cosignatures kept with recent blocks, the largest size each witness
   * cosigned, and starts from it: as the old size to send (no 409 round trip after a restart), and
   * as the size below which a 409 proves the witness's state was rolled back. That size lived only
   * in memory, so without this a witness rolled back while the log was down went unnoticed.
   * Each kept line is verified against the witness's key and the checkpoint of its block (a line
   * that does not verify counts for nothing). Call it before the first {@link notify}. Never
   * throws: unreadable evidence is reported through `onEvent` and only means less is known.
   */
  async seed(): Promise<void> {
    const checkpointAt = this.#o.checkpointAt;
    if (checkpointAt === undefined || this.#states.length === 0) return;
    try {
      const last = await this.#o.book.lastHeight();
      if (last === undefined) return;
      const todo = new Set(this.#states);
      const floor = last + 1n > SEED_DEPTH ? last + 1n - SEED_DEPTH : 0n;
      // Newest first: blocks only grow, so the first block a witness cosigned is its largest size.
      for (let hi = last + 1n; hi > floor && todo.size > 0; ) {
        const lo = hi - floor > SEED_WINDOW ? hi - SEED_WINDOW : floor;
        const rows = await this.#o.book.linesIn(lo, Number(hi - lo));
        for (const height of [...rows.keys()].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))) {
          const lines = rows.get(height) ?? [];
          // The block is read only for lines naming a witness still looked for (a witness that
          // never answered must not cost a read of every recent block).
          if (![...todo].some((s) => lines.some((l) => l.startsWith(`\u2014 ${s.w.key.name} `)))) continue;
          const note = await checkpointAt(height);
          if (note === undefined) continue;
          let text: string;
          let size: bigint;
          try {
            text = splitNote(note).text;
            size = parseCheckpoint(text).size;
          } catch (err) {
            if (!isLedgerError(err)) throw err;
            continue;
          }
          for (const s of [...todo]) {
            if (!lines.some((line) => verifies(text, line, s.w))) continue;
            s.cosignedMax = size;
            if (s.known < size) s.known = size;
            todo.delete(s);
          }
          if (todo.size === 0) break;
        }
        hi = lo;
      }
    } catch (err) {
      this.#o.onEvent?.(`witnesses: could not read the kept cosignatures back (${(err as Error).message}): a witness rolled back while the log was down is noticed only once it cosigned again`);
    }
  }

  /** status reports each witness, and how many cosigned the newest checkpoint any of them cosigned. */
  status(): WitnessStatus[] {
    return this.#states.map((s) => ({
      name: s.w.name,
      url: s.w.url,
      ...(s.cosignedMax !== undefined ? { cosignedSize: formatDecimal(s.cosignedMax) } : {}),
      ...(s.lastCosignedAt ? { lastCosignedAt: s.lastCosignedAt.toISOString() } : {}),
      consecutiveFailures: s.failures,
      ...(s.lastError !== undefined ? { lastError: s.lastError } : {}),
      anomalies: s.anomalies,
      requests: { ...s.requests },
    }));
  }

  /** stop ends submissions and waits briefly for those in flight. */
  async stop(graceMs = 2000): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#nextRound);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.allSettled([...this.#inflight]), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }

  #pump(s: State): void {
    if (s.busy || s.pending === undefined || this.#stopped) return;
    const wait = s.notBefore - Date.now();
    if (wait > 0) {
      setTimeout(() => this.#pump(s), wait).unref?.();
      return;
    }
    const p = s.pending;
    s.pending = undefined;
    s.busy = true;
    const run = this.#submit(s, p).finally(() => {
      s.busy = false;
      this.#inflight.delete(run);
      this.#settled(s, p);
      this.#pump(s);
    });
    this.#inflight.add(run);
  }

  /** #anomaly counts and keeps an answer the log cannot explain, with the request and answer that showed it. */
  #anomaly(s: State, height: bigint, message: string, request = '', response = ''): void {
    s.anomalies++;
    this.#o.onEvent?.(`witness ${s.w.name}: ${message}`);
    void this.#o.book.refuse(height, { witness: s.w.name, status: 0, reason: `anomaly: ${message}`, request, response, at: this.#now() }).catch(() => {});
  }

  #now(): string {
    return (this.#o.clock?.() ?? new Date()).toISOString();
  }

  /**
   * #fail counts a failed submission and backs off. A checkpoint the witness could not be asked
   * about (unavailable, error) is asked again after the backoff unless a newer one is pending, so
   * an idle log still reaches a witness that was down; a refusal (422, 409 loop) is final for it.
   */
  #fail(s: State, outcome: WitnessOutcome, message: string, retry?: Published): void {
    if (retry !== undefined && s.pending === undefined && !this.#stopped) {
      // Asked again after the backoff: the current round's checkpoint if it is newer.
      const round = this.#round;
      s.pending = round !== undefined && round.block.height > retry.block.height ? round : retry;
    }
    s.requests[outcome]++;
    s.failures++;
    s.lastError = message;
    // A witness that keeps failing is asked less often: 1 s doubling, at most 30 s.
    s.notBefore = Date.now() + Math.min(30_000, 1000 * 2 ** Math.min(s.failures - 1, 5));
    if (s.failures === 1 || s.failures % 10 === 0) this.#o.onEvent?.(`witness ${s.w.name}: ${message} (failure ${s.failures})`);
  }

  /** #post makes one add-checkpoint exchange: through the injected fetch if any (tests), else node:http. */
  async #post(url: string, body: string): Promise<WitnessAnswer> {
    const timeoutMs = this.#o.timeoutMs ?? 3000;
    const f = this.#o.fetch;
    if (f === undefined) return postCheckpoint(url, body, timeoutMs);
    const res = await f(url, { method: 'POST', body, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
    return { status: res.status, text: (await res.text()).slice(0, MAX_ANSWER), ...(retryAfter !== undefined ? { retryAfter } : {}) };
  }

  /** #submit sends one checkpoint to one witness, following 409s from the size the witness names. */
  async #submit(s: State, p: Published): Promise<void> {
    const size = p.checkpoint.checkpoint.size;
    const height = p.block.height;
    const note = p.block.checkpoint;
    const text = splitNote(note).text;
    // The last exchange, kept with a 409 loop's refusal as what shows it.
    let body = '';
    let answer = '';
    for (let attempt = 0; attempt <= MAX_CONFLICTS; attempt++) {
      if (s.known > size) return; // the witness already holds a newer checkpoint of this log
      try {
        body = formatAddCheckpointBody(s.known, s.known === 0n || s.known === size ? [] : await this.#o.prove(s.known, size), note);
      } catch (err) {
        return this.#fail(s, 'error', `cannot prove ${s.known} → ${size}: ${(err as Error).message}`, p);
      }
      let res: WitnessAnswer;
      try {
        res = await this.#post(`${s.w.url.replace(/\/+$/, '')}/add-checkpoint`, body);
        answer = res.text;
      } catch (err) {
        return this.#fail(s, 'unavailable', `no answer to checkpoint ${size}: ${(err as Error).message}`, p);
      }
      if (res.status === 200) return this.#accept(s, p, text, answer);
      if (res.status === 409) {
        const m = /^(0|[1-9][0-9]{0,19})\n$/.exec(answer);
        const named = m ? BigInt(m[1] as string) : undefined;
        s.requests.conflict++;
        if (named === undefined) return this.#fail(s, 'error', `409 without a size body (${JSON.stringify(answer.slice(0, 80))})`);
        if (s.cosignedMax !== undefined && named < s.cosignedMax) {
          this.#anomaly(s, height, `says its latest cosigned size is ${named}, but it cosigned size ${s.cosignedMax} before: its state was rolled back`, body, answer);
        } else if (named > size || !(await this.#o.signedSize(named))) {
          this.#anomaly(s, height, `says its latest cosigned size is ${named}, which this log never signed: its state is corrupt, or it holds another log's checkpoints`, body, answer);
          if (named > size) return this.#fail(s, 'refused', `holds size ${named}, beyond this log's ${size}`);
        }
        s.known = named;
        continue;
      }
      const refusal = { witness: s.w.name, status: res.status, reason: '', request: body, response: answer, at: this.#now() };
      if (res.status === 422) {
        // The log proved consistency from the size the witness holds: a 422 means the witness
        // holds another root for that size, or cannot check a correct proof. Kept as evidence.
        await this.#o.book.refuse(height, { ...refusal, reason: `refused checkpoint ${size} from old size ${s.known}` }).catch(() => {});
        this.#anomaly(s, height, `refused checkpoint ${size} (422) although it extends size ${s.known}, which the witness said it holds: its state may be rolled back or corrupt`);
        return this.#fail(s, 'refused', `422: ${answer.trim().slice(0, 200)}`);
      }
      if (res.status === 429 || res.status === 503) {
        // Busy or rate limited: asked again after the delay the witness names (at most 30 s),
        // or after the usual backoff; not a refusal.
        this.#fail(s, 'unavailable', `HTTP ${res.status}: ${answer.trim().slice(0, 200)}`, p);
        if (res.retryAfter !== undefined) s.notBefore = Date.now() + Math.min(30, res.retryAfter) * 1000;
        return;
      }
      return this.#fail(s, 'error', `HTTP ${res.status}: ${answer.trim().slice(0, 200)}`, p);
    }
    await this.#o.book.refuse(height, { witness: s.w.name, status: 409, reason: `409 loop: ${MAX_CONFLICTS + 1} conflicts for checkpoint ${size}`, request: body, response: answer, at: this.#now() }).catch(() => {});
    this.#fail(s, 'refused', `409 loop for checkpoint ${size}`);
  }

  /** #accept keeps the valid cosignature lines of a 200 and updates the quorum. */
  async #accept(s: State, p: Published, text: string, answer: string): Promise<void> {
    const size = p.checkpoint.checkpoint.size;
    const valid: ValidCosignature[] = [];
    for (const line of answer.split('\n').filter((l) => l !== '')) {
      try {
        valid.push({ ...verifyCosignature(text, line, s.w.key), key: s.w.key.text, line });
      } catch (err) {
        if (!isLedgerError(err)) throw err;
      }
    }
    if (valid.length === 0) return this.#fail(s, 'error', `200 without a valid cosignature by ${s.w.key.text}`);
    s.requests.cosigned++;
    s.failures = 0;
    s.lastError = undefined;
    s.known = size;
    s.cosignedMax = s.cosignedMax === undefined || size > s.cosignedMax ? size : s.cosignedMax;
    s.lastCosignedAt = this.#o.clock?.() ?? new Date();
    const height = p.block.height;
    let lines: string[];
    try {
      lines = await this.#o.book.add(height, valid.map((v) => v.line));
    } catch (err) {
      return this.#fail(s, 'error', `could not keep the cosignature of checkpoint ${size}: ${(err as Error).message}`);
    }
    const all = [...(this.#valid.get(height) ?? []), ...valid];
    this.#valid.set(height, all);
    if (this.#valid.size > 256) this.#valid.delete(this.#valid.keys().next().value as bigint);
    if (!evaluateQuorum(this.#o.policy, all).met) return;
    if (this.#witnessed !== undefined && this.#witnessed.size >= size) return;
    const w: Witnessed = { block: p.block, size, note: cosignedNote(p.block.checkpoint, lines) };
    this.#witnessed = w;
    const ready = this.#waiters.filter((x) => x.size <= size);
    this.#waiters = this.#waiters.filter((x) => x.size > size);
    for (const x of ready) x.resolve(w);
  }
}

/** verifies tells whether `line` is a valid cosignature of `text` by witness `w` (any failure: no). */
function verifies(text: string, line: string, w: PolicyWitness): boolean {
  try {
    verifyCosignature(text, line, w.key);
    return true;
  } catch (err) {
    if (!isLedgerError(err)) throw err;
    return false;
  }
}
