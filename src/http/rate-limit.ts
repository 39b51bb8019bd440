/**
 * A per-key token bucket kept in memory (docs/api.md#limits). Each API key id has a bucket of
 * `burst` tokens refilled at `ratePerSecond`; a request takes one token or is refused with the
 * time until the next token. Buckets that have refilled completely are forgotten, so the map only
 * holds recently active keys.
 */
/** A token bucket: `burst` requests at once, refilled at `ratePerSecond`. */
export interface RateLimit {
  readonly ratePerSecond: number;
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Most buckets kept before full ones are swept. */
const SWEEP_AT = 10_000;

/** An in-memory token bucket per key. One per app: no module state. */
export class RateLimiter {
  readonly #limit: RateLimit;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  /** Requires: `limit.ratePerSecond > 0`, `limit.burst >= 1`; `now` returns milliseconds. */
  constructor(limit: RateLimit, now: () => number = () => performance.now()) {
    this.#limit = limit;
    this.#now = now;
  }

  /** take spends one token of `key`: 0 if allowed, else the seconds to wait (>= 1). */
  take(key: string): number {
    const now = this.#now();
    const { ratePerSecond, burst } = this.#limit;
    let b = this.#buckets.get(key);
    if (b === undefined) {
      if (this.#buckets.size >= SWEEP_AT) this.#sweep(now);
      b = { tokens: burst, at: now };
      this.#buckets.set(key, b);
    }
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * ratePerSecond);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / ratePerSecond));
  }

  #sweep(now: number): void {
    const { ratePerSecond, burst } = this.#limit;
    for (const [k, b] of this.#buckets) if (b.tokens + ((now - b.at) / 1000) * ratePerSecond >= burst) this.#buckets.delete(k);
  }
}
