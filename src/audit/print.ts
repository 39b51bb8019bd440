/**
 * Index fingerprints (see chunk.ts and local-runs.ts): the sum modulo 2^256 of SHA-256(secret ‖
 * record) over a multiset of index records (layout 2's run records, 13 bytes each: docs/storage-v2.md,
 * contracts-free-ledger/SPEC.md#storage). A sum, not an XOR: run records are not LevelDB keys and
 * may repeat across runs, and a record counted twice must not cancel out. The secret is drawn
 * after the store was written, so a store whose index differs from the expected multiset has the
 * same fingerprint only by chance (the keyed hashes are unknown to whoever wrote the store).
 *
 * The secret is exactly one SHA-256 block (64 bytes), so the state after it (the midstate) is
 * computed once; every record (13 bytes) then costs a single compression of its own final block (FIPS 180-4 §5.1.1 padding),
 * in plain JavaScript without allocating. That is about twice as fast as a one-shot
 * node:crypto call, which spends most of its time crossing into C++ and allocating the result.
 * Differential-tested against node:crypto (test/audit/print.test.ts).
 */

/** Size of the fingerprint secret: one SHA-256 block. */
export const PRINT_SECRET_SIZE = 64;

/** FIPS 180-4 §4.2.2 round constants. */
const K = Int32Array.from(
  [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ].map((x) => x | 0),
);

/** FIPS 180-4 §5.3.3 initial hash value. */
const IV = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19].map((x) => x | 0));

/** compress applies the SHA-256 compression function (FIPS 180-4 §6.2.2) to `st` with the 64-byte block at `blk[off..]`. */
function compress(st: Int32Array, w: Int32Array, blk: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const j = off + 4 * i;
    w[i] = ((blk[j] as number) << 24) | ((blk[j + 1] as number) << 16) | ((blk[j + 2] as number) << 8) | (blk[j + 3] as number);
  }
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15] as number;
    const y = w[i - 2] as number;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = ((w[i - 16] as number) + s0 + (w[i - 7] as number) + s1) | 0;
  }
  let a = st[0] as number;
  let b = st[1] as number;
  let c = st[2] as number;
  let d = st[3] as number;
  let e = st[4] as number;
  let f = st[5] as number;
  let g = st[6] as number;
  let h = st[7] as number;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + (K[i] as number) + (w[i] as number)) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  st[0] = ((st[0] as number) + a) | 0;
  st[1] = ((st[1] as number) + b) | 0;
  st[2] = ((st[2] as number) + c) | 0;
  st[3] = ((st[3] as number) + d) | 0;
  st[4] = ((st[4] as number) + e) | 0;
  st[5] = ((st[5] as number) + f) | 0;
  st[6] = ((st[6] as number) + g) | 0;
  st[7] = ((st[7] as number) + h) | 0;
}

/** addWords adds the 256-bit big-endian number `x` (8 words) to `acc`, modulo 2^256. */
function addWords(acc: Int32Array, x: Int32Array): void {
  let carry = 0;
  for (let i = 7; i >= 0; i--) {
    const s = ((acc[i] as number) >>> 0) + ((x[i] as number) >>> 0) + carry;
    acc[i] = s | 0;
    carry = s > 0xffff_ffff ? 1 : 0;
  }
}

/**
 * addPrint adds fingerprint `x` (32 bytes) to `acc` in place: the fingerprint of the union of
 * the two multisets. Requires: both 32 bytes.
 */
export function addPrint(acc: Uint8Array, x: Uint8Array): void {
  if (acc.length !== 32 || x.length !== 32) throw new Error(`audit: bad math: fingerprints of ${acc.length} and ${x.length} bytes`);
  let carry = 0;
  for (let i = 31; i >= 0; i--) {
    const s = (acc[i] as number) + (x[i] as number) + carry;
    acc[i] = s & 0xff;
    carry = s >> 8;
  }
}

/**
 * IndexPrint accumulates the fingerprint of a multiset of keys under one secret. Not for concurrent
 * use across awaits by two callers (its scratch state is shared by all its calls).
 */
export class IndexPrint {
  /** The SHA-256 state after the secret block. */
  readonly #mid = new Int32Array(8);
  readonly #acc = new Int32Array(8);
  readonly #st = new Int32Array(8);
  readonly #w = new Int32Array(64);
  /** Two blocks: the key's tail and its padding. */
  readonly #blk = new Uint8Array(128);

  /** Requires: a secret of PRINT_SECRET_SIZE bytes. */
  constructor(secret: Uint8Array) {
    if (secret.length !== PRINT_SECRET_SIZE) throw new Error(`audit: bad math: the index fingerprint secret is ${secret.length} bytes, want ${PRINT_SECRET_SIZE}`);
    this.#mid.set(IV);
    compress(this.#mid, this.#w, secret, 0);
  }

  /** add folds SHA-256(secret ‖ key) into the fingerprint (added modulo 2^256). */
  add(key: Uint8Array): void {
    this.addAt(key, 0, key.length);
  }

  /** addAt folds SHA-256(secret ‖ bytes[at, at + length)) in, as {@link add} of that view (without making one). */
  addAt(bytes: Uint8Array, at: number, length: number): void {
    const st = this.#st;
    const w = this.#w;
    const blk = this.#blk;
    st.set(this.#mid);
    let off = 0;
    for (; length - off >= 64; off += 64) compress(st, w, bytes, at + off);
    const rest = length - off;
    blk.fill(0);
    for (let i = 0; i < rest; i++) blk[i] = bytes[at + off + i] as number;
    blk[rest] = 0x80;
    // Length in bits of secret ‖ key, big-endian in the last 8 bytes (exact below 2^53 bits).
    const end = rest + 1 + 8 <= 64 ? 64 : 128;
    let bits = (PRINT_SECRET_SIZE + length) * 8;
    for (let i = end - 1; i >= end - 8 && bits > 0; i--) {
      blk[i] = bits % 256;
      bits = Math.floor(bits / 256);
    }
    compress(st, w, blk, 0);
    if (end === 128) compress(st, w, blk, 64);
    addWords(this.#acc, st);
  }

  /** The fingerprint so far: 32 bytes (a copy). */
  bytes(): Uint8Array {
    const out = new Uint8Array(32);
    for (let i = 0; i < 8; i++) {
      const x = this.#acc[i] as number;
      out[4 * i] = x >>> 24;
      out[4 * i + 1] = (x >>> 16) & 0xff;
      out[4 * i + 2] = (x >>> 8) & 0xff;
      out[4 * i + 3] = x & 0xff;
    }
    return out;
  }
}
