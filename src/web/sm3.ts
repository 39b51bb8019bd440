/**
 * Incremental SM3 (GB/T 32905-2016) for the court verification page, which hashes a dropped file
 * of a `gm` log chunk by chunk (src/web/hash.ts, docs/verify-page.md#hashing).
 *
 * Why here: src/core's `sm3` (sm-crypto-v2) is one-shot, so it needs the whole file in memory (a
 * 2 GiB document does not fit a tab); sm-crypto-v2 has an incremental SM3 inside but does not
 * export it, @noble/hashes has no SM3, and WebCrypto has none either. So this module subclasses
 * @noble/hashes' Merkle–Damgård base (`HashMD`: buffering, padding and the 64-bit length, shared
 * with its SHA-256) and adds only SM3's compression function (§5.3), a few dozen lines that
 * test/web/logic-gm.test.ts checks against OpenSSL's SM3 (node:crypto) at every chunk boundary.
 */
import { HashMD } from '@noble/hashes/_md.js';

/** The initial value IV (GB/T 32905 §4.1). */
const IV = [0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e] as const;

/** rotl rotates a 32-bit word left by 0 to 31 bits. */
const rotl = (x: number, n: number): number => (n === 0 ? x : (x << n) | (x >>> (32 - n)));
const p0 = (x: number): number => x ^ rotl(x, 9) ^ rotl(x, 17);
const p1 = (x: number): number => x ^ rotl(x, 15) ^ rotl(x, 23);

/** T_j rotated by j mod 32, precomputed for j = 0..63 (§4.2, §5.3.3). */
const TJ = Array.from({ length: 64 }, (_, j) => rotl(j < 16 ? 0x79cc4519 : 0x7a879d8a, j % 32) | 0);

// Message expansion words W_0..W_67 (§5.3.2), shared by every instance (hashing is synchronous).
const W = new Uint32Array(68);

/** An incremental SM3: `update` any number of times, then `digest` (32 bytes). */
export class Sm3 extends HashMD<Sm3> {
  private a = IV[0] | 0;
  private b = IV[1] | 0;
  private c = IV[2] | 0;
  private d = IV[3] | 0;
  private e = IV[4] | 0;
  private f = IV[5] | 0;
  private g = IV[6] | 0;
  private h = IV[7] | 0;

  constructor() {
    // 64-byte blocks, 32-byte digest, a 64-bit big-endian bit length at the end (§5.2).
    super(64, 32, 8, false);
  }

  protected get(): number[] {
    return [this.a, this.b, this.c, this.d, this.e, this.f, this.g, this.h];
  }

  protected set(a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number): void {
    this.a = a | 0;
    this.b = b | 0;
    this.c = c | 0;
    this.d = d | 0;
    this.e = e | 0;
    this.f = f | 0;
    this.g = g | 0;
    this.h = h | 0;
  }

  /** The compression function CF(V, B) of §5.3.3 over the 64-byte block at `offset`. */
  protected process(view: DataView, offset: number): void {
    for (let j = 0; j < 16; j++) W[j] = view.getUint32(offset + 4 * j, false);
    for (let j = 16; j < 68; j++) {
      W[j] = p1((W[j - 16] as number) ^ (W[j - 9] as number) ^ rotl(W[j - 3] as number, 15)) ^ rotl(W[j - 13] as number, 7) ^ (W[j - 6] as number);
    }
    let { a, b, c, d, e, f, g, h } = this;
    for (let j = 0; j < 64; j++) {
      const a12 = rotl(a, 12);
      const ss1 = rotl((a12 + e + (TJ[j] as number)) | 0, 7);
      const ss2 = ss1 ^ a12;
      const wj = W[j] as number;
      // W'_j = W_j ^ W_{j+4}; FF and GG are XOR for the first 16 rounds, majority / choice after.
      const ff = j < 16 ? a ^ b ^ c : (a & b) | (a & c) | (b & c);
      const gg = j < 16 ? e ^ f ^ g : (e & f) | (~e & g);
      const tt1 = (ff + d + ss2 + (wj ^ (W[j + 4] as number))) | 0;
      const tt2 = (gg + h + ss1 + wj) | 0;
      d = c;
      c = rotl(b, 9);
      b = a;
      a = tt1;
      h = g;
      g = rotl(f, 19);
      f = e;
      e = p0(tt2);
    }
    this.set(a ^ this.a, b ^ this.b, c ^ this.c, d ^ this.d, e ^ this.e, f ^ this.f, g ^ this.g, h ^ this.h);
  }

  protected roundClean(): void {
    W.fill(0);
  }

  destroy(): void {
    this.destroyed = true;
    this.set(0, 0, 0, 0, 0, 0, 0, 0);
    this.buffer.fill(0);
  }

  _cloneInto(to?: Sm3): Sm3 {
    const out = to ?? new Sm3();
    out.set(...(this.get() as [number, number, number, number, number, number, number, number]));
    return this._cloneIntoMeta(out);
  }
}

/** createSm3 returns a fresh incremental SM3. */
export function createSm3(): Sm3 {
  return new Sm3();
}
