/**
 * Sign-in throttling (docs/security.md#people): failed sign-ins are counted per key (a user name,
 * a client address); past `freeFailures` of them each further failure locks the key for
 * `baseMs · 2^(failures − freeFailures)`, capped at `capMs` (defaults: 5 free failures, then 1 s,
 * 2 s, 4 s … 15 min). While any of a request's keys is locked, it is refused before any password
 * work. A key's count is forgotten `forgetMs` after its last failure (default 1 h), and a user
 * name's on a successful sign-in. Kept in memory, one per app; the clock is injected for tests.
 * Unknown and existing user names are counted alike, so the throttle reveals no name.
 */

/** Tunables. */
export interface ThrottlePolicy {
  readonly freeFailures: number;
  readonly baseMs: number;
  readonly capMs: number;
  readonly forgetMs: number;
  /** Most keys kept; past it, forgotten and then unlocked keys are dropped first. */
  readonly maxKeys: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = { freeFailures: 5, baseMs: 1000, capMs: 15 * 60_000, forgetMs: 3600_000, maxKeys: 50_000 };

interface Counter {
  failures: number;
  lastFailureAt: number;
  lockedUntil: number;
}

/** What {@link LoginThrottle.fail} did. */
export interface FailureOutcome {
  /** The longest lock this failure set on any key (ms), 0 when none is locked yet. */
  readonly lockMs: number;
  /** The keys it locked. */
  readonly locked: readonly string[];
}

/** An in-memory failure counter per key. One per app: no module state. */
export class LoginThrottle {
  readonly #policy: ThrottlePolicy;
  readonly #now: () => number;
  readonly #counters = new Map<string, Counter>();

  /** `now` returns milliseconds (default Date.now). */
  constructor(policy: Partial<ThrottlePolicy> = {}, now: () => number = Date.now) {
    this.#policy = { ...DEFAULT_THROTTLE, ...policy };
    this.#now = now;
  }

  /** retryAfterMs returns how long the most locked of `keys` stays locked (ms), 0 when none is. */
  retryAfterMs(keys: readonly string[]): number {
    const now = this.#now();
    let wait = 0;
    for (const k of keys) {
      const c = this.#live(k, now);
      if (c !== undefined && c.lockedUntil > now) wait = Math.max(wait, c.lockedUntil - now);
    }
    return wait;
  }

  /** fail counts one failed sign-in against each of `keys` and locks those past the free failures. */
  fail(keys: readonly string[]): FailureOutcome {
    const now = this.#now();
    const { freeFailures, baseMs, capMs } = this.#policy;
    let lockMs = 0;
    const locked: string[] = [];
    for (const k of keys) {
      let c = this.#live(k, now);
      if (c === undefined) {
        if (this.#counters.size >= this.#policy.maxKeys) this.#shed(now);
        c = { failures: 0, lastFailureAt: now, lockedUntil: 0 };
      }
      // Refreshed on every failure: re-inserted, so the map stays in last-failure order.
      this.#counters.delete(k);
      this.#counters.set(k, c);
      c.failures++;
      c.lastFailureAt = now;
      if (c.failures >= freeFailures) {
        const ms = Math.min(capMs, baseMs * 2 ** Math.min(40, c.failures - freeFailures));
        c.lockedUntil = Math.max(c.lockedUntil, now + ms);
        lockMs = Math.max(lockMs, ms);
        locked.push(k);
      }
    }
    return { lockMs, locked };
  }

  /** succeed forgets `key`'s failures (a user name after a successful sign-in). */
  succeed(key: string): void {
    this.#counters.delete(key);
  }

  /** The number of keys held (for tests and health). */
  get size(): number {
    return this.#counters.size;
  }

  #live(key: string, now: number): Counter | undefined {
    const c = this.#counters.get(key);
    if (c === undefined) return undefined;
    if (now - c.lastFailureAt >= this.#policy.forgetMs && c.lockedUntil <= now) {
      this.#counters.delete(key);
      return undefined;
    }
    return c;
  }

  /** Make room: drop forgotten keys, then unlocked ones (oldest failure first), then the oldest. */
  #shed(now: number): void {
    const target = Math.floor(this.#policy.maxKeys * 0.9);
    for (const k of [...this.#counters.keys()]) this.#live(k, now);
    for (const [k, c] of this.#counters) {
      if (this.#counters.size <= target) return;
      if (c.lockedUntil <= now) this.#counters.delete(k);
    }
    for (const k of this.#counters.keys()) {
      if (this.#counters.size <= target) return;
      this.#counters.delete(k);
    }
  }
}
