/**
 * The index fingerprint (src/audit/print.ts) must be exactly the sum modulo 2^256 of SHA-256(secret ‖ key):
 * its midstate SHA-256 is checked against node:crypto for every key length from 0 to 200 bytes
 * (one and two final blocks, and keys longer than a block).
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IndexPrint, PRINT_SECRET_SIZE, addPrint } from '../../src/audit/print.js';

function reference(secret: Uint8Array, keys: readonly Uint8Array[]): Uint8Array {
  let acc = 0n;
  for (const k of keys) acc = (acc + BigInt('0x' + createHash('sha256').update(secret).update(k).digest('hex'))) % (1n << 256n);
  return new Uint8Array(Buffer.from(acc.toString(16).padStart(64, '0'), 'hex'));
}

describe('IndexPrint', () => {
  it('is SHA-256(secret ‖ key) for every key length from 0 to 200 bytes', () => {
    const secret = new Uint8Array(randomBytes(PRINT_SECRET_SIZE));
    for (let len = 0; len <= 200; len++) {
      const key = new Uint8Array(randomBytes(len));
      const p = new IndexPrint(secret);
      p.add(key);
      expect(Buffer.from(p.bytes()).toString('hex'), `length ${len}`).toBe(Buffer.from(reference(secret, [key])).toString('hex'));
    }
  });

  it('adds many keys, in any order; a key added twice counts twice; addPrint joins two prints', () => {
    const secret = new Uint8Array(randomBytes(PRINT_SECRET_SIZE));
    const keys = Array.from({ length: 300 }, (_, i) => new Uint8Array(randomBytes(30 + (i % 40))));
    const a = new IndexPrint(secret);
    for (const k of keys) a.add(k);
    const b = new IndexPrint(secret);
    for (const k of [...keys].reverse()) b.add(k);
    expect(a.bytes()).toEqual(reference(secret, keys));
    expect(b.bytes()).toEqual(a.bytes());
    const k0 = keys[0] as Uint8Array;
    b.add(k0);
    b.add(k0);
    expect(b.bytes()).not.toEqual(a.bytes());
    expect(b.bytes()).toEqual(reference(secret, [...keys, k0, k0]));
    const half = new IndexPrint(secret);
    for (const k of keys.slice(0, 150)) half.add(k);
    const rest = new IndexPrint(secret);
    for (const k of keys.slice(150)) rest.add(k);
    const joined = half.bytes();
    addPrint(joined, rest.bytes());
    expect(joined).toEqual(a.bytes());
    const other = new IndexPrint(new Uint8Array(randomBytes(PRINT_SECRET_SIZE)));
    for (const k of keys) other.add(k);
    expect(other.bytes()).not.toEqual(a.bytes());
  });

  it('refuses a secret of the wrong size', () => {
    expect(() => new IndexPrint(new Uint8Array(32))).toThrow(/secret/);
  });
});
