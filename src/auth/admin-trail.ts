/**
 * The admin audit trail (docs/console-api.md#admin, docs/security.md#people): an append-only list
 * of what was done to accounts and keys, and of sign-ins refused by the throttle. Record table
 * `admin-trail`, keyed by the sequence number zero-padded to 16 digits, so key order is sequence
 * order and newest-first is one reverse range scan. Nothing here ever rewrites or deletes an
 * event. It is the service's own record, outside the Merkle log: whoever controls the store can
 * still edit it, so it is a record for the operator's colleagues, not evidence.
 */
import type { LedgerStore } from '../storage/store.js';

/** The record table. */
export const TRAIL_TABLE = 'admin-trail';

/** What can happen. */
export type TrailAction =
  | 'user.create'
  | 'user.disable'
  | 'user.enable'
  | 'user.reset-password'
  | 'user.change-password'
  | 'key.create'
  | 'key.revoke'
  | 'sign-in.throttled';

export const TRAIL_ACTIONS: readonly TrailAction[] = ['user.create', 'user.disable', 'user.enable', 'user.reset-password', 'user.change-password', 'key.create', 'key.revoke', 'sign-in.throttled'];

/** One event. */
export interface TrailEvent {
  /** 1, 2, 3 … in the order appended. */
  readonly seq: number;
  /** ISO 8601 time. */
  readonly at: string;
  /** Who: `user:<name>`, a key id (`key-…`), `cli` (the command line on the data directory), or `ip:<address>` for a refused sign-in. */
  readonly actor: string;
  readonly action: TrailAction;
  /** What it was done to: `user:<name>` or a key id. */
  readonly target: string;
  /** A short human note (a role, a client address). */
  readonly detail?: string;
}

/** The widest zero-padded sequence (Number.MAX_SAFE_INTEGER has 16 digits). */
const WIDTH = 16;
/** The most events one listing returns. */
export const MAX_TRAIL_PAGE = 500;

function keyOf(seq: number): string {
  return String(seq).padStart(WIDTH, '0');
}

function decodeEvent(text: string): TrailEvent {
  const v = JSON.parse(text) as Partial<TrailEvent>;
  if (typeof v.seq !== 'number' || typeof v.at !== 'string' || typeof v.actor !== 'string' || typeof v.action !== 'string' || typeof v.target !== 'string') throw new Error('admin-trail: malformed stored event');
  return v as TrailEvent;
}

/**
 * The trail of one store. Appends are serialised through this object, so one instance per store
 * and process (the app makes one; the CLI makes its own while the server is stopped: LevelDB
 * admits one process).
 */
export class AdminTrail {
  readonly #store: LedgerStore;
  readonly #now: () => Date;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(store: LedgerStore, now: () => Date = () => new Date()) {
    this.#store = store;
    this.#now = now;
  }

  /** append records one event and returns it with its sequence number and time. Durable (fsync) when it resolves. */
  append(e: { actor: string; action: TrailAction; target: string; detail?: string }): Promise<TrailEvent> {
    const run = this.#tail.then(async () => {
      const [last] = await this.#store.listRecords(TRAIL_TABLE, { limit: 1, reverse: true });
      const seq = last === undefined ? 1 : decodeEvent(last.value).seq + 1;
      const event: TrailEvent = { seq, at: this.#now().toISOString(), actor: e.actor, action: e.action, target: e.target, ...(e.detail !== undefined ? { detail: e.detail } : {}) };
      await this.#store.putRecords(TRAIL_TABLE, [{ key: keyOf(seq), value: JSON.stringify(event) }]);
      return event;
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /**
   * list returns up to `limit` events with seq < `before` (all when absent), newest first, and
   * `next` (the `before` of the following page) when older ones remain.
   * Requires: 1 ≤ limit ≤ {@link MAX_TRAIL_PAGE}; `before` ≥ 1 when given.
   */
  async list(o: { before?: number; limit: number }): Promise<{ events: TrailEvent[]; next?: number }> {
    if (!Number.isSafeInteger(o.limit) || o.limit < 1 || o.limit > MAX_TRAIL_PAGE) throw new Error(`admin-trail: limit ${o.limit}: want 1-${MAX_TRAIL_PAGE}`);
    if (o.before !== undefined && o.before <= 1) return { events: [] };
    const lt = o.before !== undefined && o.before <= Number.MAX_SAFE_INTEGER ? { lt: keyOf(o.before) } : {};
    const rows = await this.#store.listRecords(TRAIL_TABLE, { ...lt, limit: o.limit + 1, reverse: true });
    const events = rows.slice(0, o.limit).map((r) => decodeEvent(r.value));
    const last = events.at(-1);
    return rows.length > o.limit && last !== undefined ? { events, next: last.seq } : { events };
  }
}
