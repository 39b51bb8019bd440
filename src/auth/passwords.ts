/**
 * Passwords of people's accounts (docs/security.md#people): scrypt (RFC 7914), memory-hard, from
 * node:crypto, run on the libuv pool through its callback form so the event loop never waits on
 * it. A stored hash describes itself:
 *
 *     scrypt$<N>$<r>$<p>$<salt, base64url>$<key, base64url>
 *
 * so the parameters can be raised later without breaking stored hashes ({@link needsRehash}).
 * Defaults: N = 2^16, r = 8, p = 1 (64 MiB, about 0.2 s on one core), a 16-byte random salt and a
 * 32-byte key. Verification recomputes with the stored parameters and compares in constant time.
 * Passwords are NFC-normalised first, so the same characters typed on two keyboards match.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt's cost parameters (RFC 7914 §2). */
export interface ScryptParams {
  /** CPU/memory cost: a power of two. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelisation. */
  readonly p: number;
}

/** The parameters new hashes are made with. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 16, r: 8, p: 1 };

/** Salt and derived key lengths, bytes. */
export const SALT_BYTES = 16;
export const KEY_BYTES = 32;

/** The shortest password the policy admits (characters, after NFC). */
export const MIN_PASSWORD_LENGTH = 10;
/** The longest password accepted at all (characters): bounds the work a request can ask for. */
export const MAX_PASSWORD_LENGTH = 1024;

/** Bounds on stored parameters: a tampered or corrupt record must not ask for unbounded work. */
const MIN_LOG_N = 14;
const MAX_LOG_N = 20;
const MAX_R = 32;
const MAX_P = 16;

const DECIMAL = /^[1-9][0-9]{0,9}$/;
const B64URL = /^[A-Za-z0-9_-]+$/;

/** A parsed stored hash. */
interface StoredHash {
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly key: Buffer;
}

/** The memory scrypt needs for `params` (128·N·r·p plus the 128·r·p buffer), doubled for headroom. */
function maxmemOf(params: ScryptParams): number {
  return 2 * 128 * params.r * (params.N + params.p);
}

function checkParams(params: ScryptParams): void {
  const logN = Math.log2(params.N);
  if (!Number.isInteger(logN) || logN < MIN_LOG_N || logN > MAX_LOG_N) throw new Error(`passwords: scrypt N ${params.N}: want a power of two from 2^${MIN_LOG_N} to 2^${MAX_LOG_N}`);
  if (!Number.isInteger(params.r) || params.r < 1 || params.r > MAX_R) throw new Error(`passwords: scrypt r ${params.r}: want 1-${MAX_R}`);
  if (!Number.isInteger(params.p) || params.p < 1 || params.p > MAX_P) throw new Error(`passwords: scrypt p ${params.p}: want 1-${MAX_P}`);
}

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, { N: params.N, r: params.r, p: params.p, maxmem: maxmemOf(params) }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** parseStored reads `scrypt$N$r$p$salt$key`, or throws: a malformed stored hash is corruption, never a mismatch. */
function parseStored(stored: string): StoredHash {
  const parts = stored.split('$');
  const [scheme, n, r, p, salt, key] = parts;
  const malformed = () => new Error('passwords: malformed stored password hash (want scrypt$N$r$p$salt$key)');
  if (parts.length !== 6 || scheme !== 'scrypt' || n === undefined || r === undefined || p === undefined || salt === undefined || key === undefined) throw malformed();
  if (!DECIMAL.test(n) || !DECIMAL.test(r) || !DECIMAL.test(p) || !B64URL.test(salt) || !B64URL.test(key)) throw malformed();
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  checkParams(params);
  const saltBytes = Buffer.from(salt, 'base64url');
  const keyBytes = Buffer.from(key, 'base64url');
  // Canonical base64url only (what Buffer decodes must encode back to the same text).
  if (saltBytes.toString('base64url') !== salt || keyBytes.toString('base64url') !== key) throw malformed();
  if (saltBytes.length < SALT_BYTES || saltBytes.length > 64 || keyBytes.length !== KEY_BYTES) throw malformed();
  return { params, salt: saltBytes, key: keyBytes };
}

/**
 * hashPassword derives a new stored hash of `password` with a fresh random salt.
 * Requires: `params` within bounds (N a power of two in [2^14, 2^20], r ≤ 32, p ≤ 16).
 */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  checkParams(params);
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/**
 * verifyPassword tells whether `password` matches `stored` (recomputed with the stored
 * parameters, compared in constant time). Rejects (throws) when `stored` is malformed.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const s = parseStored(stored);
  const key = await derive(password, s.salt, s.params);
  return timingSafeEqual(key, s.key);
}

/**
 * A well-formed hash no password matches in practice (its key is all zero): verifying against it
 * costs exactly what verifying a real default hash costs, so an unknown user name takes as long
 * to refuse as a wrong password.
 */
const DUMMY_HASH = `scrypt$${DEFAULT_SCRYPT.N}$${DEFAULT_SCRYPT.r}$${DEFAULT_SCRYPT.p}$${Buffer.alloc(SALT_BYTES, 0x5a).toString('base64url')}$${Buffer.alloc(KEY_BYTES).toString('base64url')}`;

/** spendVerifyTime runs one default-cost verification that fails: the timing twin of a wrong password. */
export async function spendVerifyTime(password: string): Promise<false> {
  await verifyPassword(password, DUMMY_HASH);
  return false;
}

/** parametersOf returns the scrypt parameters recorded in a stored hash (throws if malformed). */
export function parametersOf(stored: string): ScryptParams {
  return parseStored(stored).params;
}

/** needsRehash tells whether a stored hash was made with other parameters than `params`. */
export function needsRehash(stored: string, params: ScryptParams = DEFAULT_SCRYPT): boolean {
  const s = parseStored(stored).params;
  return s.N !== params.N || s.r !== params.r || s.p !== params.p;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** generatePassword returns a one-time password: 16 base32 characters (RFC 4648 alphabet), 80 random bits. */
export function generatePassword(): string {
  const bytes = randomBytes(10);
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

/**
 * passwordProblem checks `password` against the policy for user `name`: at least
 * {@link MIN_PASSWORD_LENGTH} characters, at most {@link MAX_PASSWORD_LENGTH}, and not the user
 * name (in any case). Returns what is wrong, or undefined when it is acceptable.
 */
export function passwordProblem(name: string, password: string): string | undefined {
  const chars = [...password.normalize('NFC')].length;
  if (chars < MIN_PASSWORD_LENGTH) return `a password needs at least ${MIN_PASSWORD_LENGTH} characters, got ${chars}`;
  if (chars > MAX_PASSWORD_LENGTH) return `a password has at most ${MAX_PASSWORD_LENGTH} characters, got ${chars}`;
  if (password.normalize('NFC').toLowerCase() === name.toLowerCase()) return 'a password must not be the user name';
  return undefined;
}

/**
 * A gate for password work: at most `concurrency` derivations at once, at most `queue` waiting.
 * scrypt runs on the libuv pool, which LevelDB shares: unauthenticated sign-in attempts must not
 * be able to take every pool thread from the log. One per app (no module state).
 */
export class KdfGate {
  readonly #concurrency: number;
  readonly #queue: number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  /** Requires: `concurrency >= 1`, `queue >= 0`. */
  constructor(o: { concurrency?: number; queue?: number } = {}) {
    this.#concurrency = o.concurrency ?? 1;
    this.#queue = o.queue ?? 32;
  }

  /** run calls `f` when a slot is free; undefined (f not called) when the queue is full. */
  async run<T>(f: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.#running >= this.#concurrency) {
      if (this.#waiting.length >= this.#queue) return undefined;
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return { value: await f() };
    } finally {
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter (running stays the same), else it is freed.
      if (next !== undefined) next();
      else this.#running--;
    }
  }
}
