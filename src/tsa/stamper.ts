/**
 * The log's RFC 3161 client (SPEC.md#time-stamps): it asks a time-stamping authority (TSA) to
 * stamp the log's latest signed checkpoint, at most once per `intervalMs` while the log grows,
 * checks every reply (src/tsa/check.ts: status, imprint, nonce, signature, chain to the pinned
 * roots, critical timeStamping usage, genTime near the log's clock) and keeps only tokens that
 * pass, durably, with their block (src/log/stamps.ts).
 *
 * It runs after the fsync and beside the publisher, never in the append path: a TSA that is down,
 * slow, or answers garbage delays nothing; the stamper retries with exponential backoff, and
 * `/healthz` shows `tsa: degraded`. Several TSAs: the list is tried in order for each stamp and
 * the first valid token is kept (the others are fallbacks), because TSAs throttle and bill per
 * stamp and one accredited token is what a court weighs (docs/operations.md#time-stamping).
 *
 * The imprint is H of the note as the log signed it, H the log's crypto suite's hash: SHA-256
 * (id-sha256) for a `c2sp` log, SM3 (its OID, 1.2.156.10197.1.401) for a `gm` log, which uses no
 * SHA-256 anywhere (SPEC.md#crypto-suites); the token must name the same algorithm.
 */
import type { Published } from '../log/publisher.js';
import type { StampBook } from '../log/stamps.js';
import { stampImprint } from '../core/stamp.js';
import { isLedgerError } from '../core/errors.js';
import { C2SP, type CryptoSuite } from '../core/suite.js';
import { checkTimestampReply, type CheckedReply } from './check.js';
import { formatTimeStampReq, newNonce, postTimeStampQuery, TsaUnavailableError } from './protocol.js';

/**
 * How a stamp request ended, per TSA (the `outcome` label of the request counter). `error` is the
 * log's own failure, not the TSA's: the reply passed every check but the token could not be kept
 * (storage). It has its own outcome so that a failing disk does not look like a TSA sending bad
 * replies, which an operator would chase at the TSA.
 */
export type TsaOutcome = 'ok' | 'unavailable' | 'invalid' | 'untrusted' | 'error';

export interface StamperOptions {
  /** TSA URLs, tried in order for each stamp. At least one. */
  readonly urls: readonly string[];
  /** Root certificates (DER) a token must chain to. At least one. */
  readonly roots: readonly Uint8Array[];
  /** Least time between two stamps, ms (GUZHENG_TSA_INTERVAL_MS, default 10,000). */
  readonly intervalMs: number;
  /** Deadline of one request, ms (default 10,000). */
  readonly timeoutMs?: number;
  /** Most a token's genTime may differ from the log's clock, ms (default 300,000). */
  readonly maxSkewMs?: number;
  /** Longest backoff after failures, ms (default 300,000). */
  readonly maxBackoffMs?: number;
  readonly book: StampBook;
  /**
   * The log's crypto suite (`ledger.suite`): the imprint's hash and OID. Default `c2sp`; a `gm`
   * log MUST pass its own, or its tokens would carry SHA-256 imprints no verifier accepts.
   */
  readonly suite?: CryptoSuite;
  /** The latest published block (the publisher's). */
  readonly latest: () => Published | undefined;
  readonly clock?: () => Date;
  readonly fetch?: typeof fetch;
  /** One line per noteworthy event (a refused token, recovery); never secrets. */
  readonly onEvent?: (line: string) => void;
}

/** What /healthz and /metrics show of the stamper. */
export interface StamperStatus {
  readonly state: 'ok' | 'degraded';
  readonly consecutiveFailures: number;
  readonly lastSuccessAt?: string;
  readonly lastError?: string;
  readonly lastStampedHeight?: string;
  /** Published blocks after the last stamped one. */
  readonly unstampedBlocks: number;
}

export class Stamper {
  readonly #o: StamperOptions;
  readonly #clock: () => Date;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  /** Earliest time (ms) of the next request: interval after a success, backoff after a failure. */
  #nextAt = 0;
  #failures = 0;
  #lastSuccessAt: Date | undefined;
  #lastError: string | undefined;
  /** Requests per TSA and outcome, for /metrics. */
  readonly requests = new Map<string, Map<TsaOutcome, number>>();

  constructor(o: StamperOptions) {
    if (o.urls.length === 0) throw new Error('tsa: no TSA URL');
    if (o.roots.length === 0) throw new Error('tsa: no TSA root certificate: the log keeps only tokens that chain to roots you pin (GUZHENG_TSA_CA)');
    this.#o = o;
    this.#clock = o.clock ?? (() => new Date());
  }

  /** start stamps the latest block if it is not stamped yet, then follows {@link notify}. */
  start(): void {
    this.#tick();
  }

  /** notify tells the stamper a block was published (cheap: it only schedules). */
  notify(): void {
    this.#tick();
  }

  /** status reports the stamper's health: degraded after a failed attempt, until a stamp succeeds. */
  status(): StamperStatus {
    const latest = this.#o.latest()?.block.height;
    const stamped = this.#o.book.lastStamped;
    const unstamped = latest === undefined ? 0 : Number(stamped === undefined ? latest + 1n : latest - stamped);
    return {
      state: this.#failures > 0 ? 'degraded' : 'ok',
      consecutiveFailures: this.#failures,
      ...(this.#lastSuccessAt ? { lastSuccessAt: this.#lastSuccessAt.toISOString() } : {}),
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
      ...(stamped !== undefined ? { lastStampedHeight: stamped.toString() } : {}),
      unstampedBlocks: Math.max(0, unstamped),
    };
  }

  /**
   * stop cancels the timer and waits up to `graceMs` for a request in flight: a slow TSA does not
   * hold up shutdown (a token that arrives after the store closed is not kept; nothing is lost).
   */
  async stop(graceMs = 2000): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#running === undefined) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#running, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }

  #tick(): void {
    if (this.#stopped || this.#running !== undefined) return;
    const latest = this.#o.latest();
    const stamped = this.#o.book.lastStamped;
    if (latest === undefined || (stamped !== undefined && stamped >= latest.block.height)) return;
    const wait = this.#nextAt - Date.now();
    if (wait > 0) {
      if (this.#timer === undefined) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#tick();
        }, wait);
        this.#timer.unref?.();
      }
      return;
    }
    this.#running = this.#stamp(latest).finally(() => {
      this.#running = undefined;
      this.#tick();
    });
  }

  #count(url: string, outcome: TsaOutcome): void {
    let byOutcome = this.requests.get(url);
    if (byOutcome === undefined) this.requests.set(url, (byOutcome = new Map()));
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
  }

  /** #stamp asks each TSA in turn for a token over the block's checkpoint; keeps the first valid one. */
  async #stamp(p: Published): Promise<void> {
    const { block } = p;
    const suite = this.#o.suite ?? C2SP;
    const imprint = stampImprint(block.checkpoint, suite);
    const imprintAlg = suite.digestAlg;
    const errors: string[] = [];
    for (const url of this.#o.urls) {
      if (this.#stopped) return;
      const nonce = newNonce();
      let checked: CheckedReply;
      try {
        const reply = await postTimeStampQuery(url, formatTimeStampReq({ imprint, hashAlg: imprintAlg, nonce, certReq: true }), {
          timeoutMs: this.#o.timeoutMs ?? 10_000,
          ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}),
        });
        checked = await checkTimestampReply(reply, {
          imprint,
          imprintAlg,
          nonce,
          trustedRoots: this.#o.roots,
          now: this.#clock(),
          maxSkewMs: this.#o.maxSkewMs ?? 300_000,
        });
      } catch (err) {
        const outcome: TsaOutcome = err instanceof TsaUnavailableError ? 'unavailable' : isLedgerError(err, 'TIMESTAMP_UNTRUSTED') ? 'untrusted' : 'invalid';
        if (!(err instanceof TsaUnavailableError) && !isLedgerError(err)) {
          // Not a verdict on the reply but a bug in checking it: counted with the reply, and said.
          this.#o.onEvent?.(`tsa: could not check the reply of ${url} for block ${block.height}: ${(err as Error).message}`);
        }
        this.#count(url, outcome);
        errors.push(`${url}: ${(err as Error).message}`);
        continue;
      }
      try {
        await this.#o.book.record(block.height, { tsa: url, token: checked.token });
      } catch (err) {
        // The TSA did its part; the store did not. The next TSA is not asked: its token could not
        // be kept either, and TSAs throttle and bill per stamp. Retried with the same backoff.
        this.#count(url, 'error');
        const why = `could not keep the token of block ${block.height} from ${url} (storage error, not the TSA's): ${(err as Error).message}`;
        this.#o.onEvent?.(`tsa: ${why}`);
        errors.push(why);
        break;
      }
      const { info } = checked;
      this.#count(url, 'ok');
      if (this.#failures > 0) this.#o.onEvent?.(`tsa: stamping works again (${url}: block ${block.height} stamped at ${info.genTime} by ${info.tsaName})`);
      this.#failures = 0;
      this.#lastError = undefined;
      this.#lastSuccessAt = this.#clock();
      this.#nextAt = Date.now() + this.#o.intervalMs;
      return;
    }
    this.#failures++;
    this.#lastError = errors.join('; ');
    const backoff = Math.min(this.#o.maxBackoffMs ?? 300_000, 1000 * 2 ** Math.min(this.#failures - 1, 20));
    this.#nextAt = Date.now() + backoff;
    if (this.#failures === 1 || this.#failures % 10 === 0) {
      this.#o.onEvent?.(`tsa: no valid time stamp for block ${block.height} (attempt ${this.#failures}; retrying in ${backoff} ms): ${this.#lastError}`);
    }
  }
}
