/**
 * Independent C2SP primitives for interop tests, written from the C2SP texts (signed-note,
 * tlog-checkpoint, tlog-cosignature, tlog-witness) and RFC 6962/9162, with node:crypto and
 * @noble/post-quantum directly. Shares NO code with src/ (nor with test/support/reference-merkle.ts,
 * which borrows src's hash functions): if src and this file agree, it is because both follow the
 * texts.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { ml_dsa44 } from '@noble/post-quantum/ml-dsa.js';

export const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const te = new TextEncoder();
export const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
export const unb64 = (s: string): Uint8Array => {
  const b = new Uint8Array(Buffer.from(s, 'base64'));
  if (b64(b) !== s) throw new Error(`not canonical base64: ${s.slice(0, 20)}`);
  return b;
};
const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const be64 = (n: bigint): Uint8Array => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return new Uint8Array(b);
};

// --- RFC 6962 §2.1 Merkle tree ---

export const leafHash = (data: Uint8Array): Uint8Array => sha256(new Uint8Array([0]), data);
const nodeHash = (l: Uint8Array, r: Uint8Array): Uint8Array => sha256(new Uint8Array([1]), l, r);
const k = (n: number): number => {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
};
export function mth(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leaves[0]!;
  const s = k(leaves.length);
  return nodeHash(mth(leaves.slice(0, s)), mth(leaves.slice(s)));
}
function subproof(m: number, d: readonly Uint8Array[], b: boolean): Uint8Array[] {
  if (m === d.length) return b ? [] : [mth(d)];
  const s = k(d.length);
  return m <= s ? [...subproof(m, d.slice(0, s), b), mth(d.slice(s))] : [...subproof(m - s, d.slice(s), false), mth(d.slice(0, s))];
}
/** PROOF(m, D[n]) of RFC 6962 §2.1.2, for 0 < m < n (empty otherwise). */
export const consistencyProof = (m: number, d: readonly Uint8Array[]): Uint8Array[] => (m > 0 && m < d.length ? subproof(m, d, true) : []);

/** RFC 9162 §2.1.4.2 verification (sizes 0 < m < n), as the RFC writes it. */
export function verifyConsistency(m: bigint, n: bigint, proof: readonly Uint8Array[], r1: Uint8Array, r2: Uint8Array): boolean {
  if (m === n) return proof.length === 0 && Buffer.compare(r1, r2) === 0;
  if (m === 0n) return proof.length === 0;
  if (m > n || proof.length === 0) return false;
  const p = (m & (m - 1n)) === 0n ? [r1, ...proof] : [...proof];
  let fn = m - 1n;
  let sn = n - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = p[0]!;
  let sr = p[0]!;
  for (const c of p.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else sr = nodeHash(sr, c);
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && Buffer.compare(fr, r1) === 0 && Buffer.compare(sr, r2) === 0;
}

// --- signed-note keys and lines ---

/** key ID = SHA-256(name || 0x0A || type || public key)[:4] (signed-note §Signatures). */
export const keyId = (name: string, type: number, pk: Uint8Array): Uint8Array => sha256(te.encode(name), new Uint8Array([0x0a, type]), pk).slice(0, 4);
export const vkey = (name: string, type: number, pk: Uint8Array): string => `${name}+${Buffer.from(keyId(name, type, pk)).toString('hex')}+${b64(cat(new Uint8Array([type]), pk))}`;
export function parseVkey(s: string): { name: string; type: number; pk: Uint8Array; id: Uint8Array } {
  const i = s.indexOf('+');
  const j = s.indexOf('+', i + 1);
  if (i < 0 || j < 0) throw new Error('vkey: want <name>+<id>+<data>');
  const name = s.slice(0, i);
  const hex = s.slice(i + 1, j);
  const raw = unb64(s.slice(j + 1));
  const type = raw[0]!;
  const pk = raw.slice(1);
  const id = keyId(name, type, pk);
  if (Buffer.from(id).toString('hex') !== hex) throw new Error('vkey: key id mismatch');
  return { name, type, pk, id };
}

const rawEd25519 = (k: KeyObject): Uint8Array => new Uint8Array(Buffer.from(k.export({ format: 'jwk' }).x!, 'base64url'));
const ed25519Public = (pk: Uint8Array): KeyObject => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pk).toString('base64url') }, format: 'jwk' });

/** A fresh Ed25519 key (node:crypto), for a log (type 0x01) or a witness (type 0x04). */
export function ed25519Key(): { privateKey: KeyObject; pk: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, pk: rawEd25519(publicKey) };
}
export const ed25519Sign = (k: KeyObject, msg: Uint8Array): Uint8Array => new Uint8Array(sign(null, msg, k));
export const ed25519Verify = (pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean => verify(null, msg, ed25519Public(pk), sig);
export const ed25519FromSeed = (seed: Uint8Array): KeyObject =>
  createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });

/** Parse `— <name> base64(keyid || rest)`. */
export function parseSigLine(line: string): { name: string; id: Uint8Array; rest: Uint8Array } | undefined {
  const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
  if (!m) return undefined;
  const raw = unb64(m[2]!);
  return raw.length < 5 ? undefined : { name: m[1]!, id: raw.slice(0, 4), rest: raw.slice(4) };
}

// --- a test log signing C2SP checkpoints with its own Ed25519 key ---

/** A C2SP log: a Merkle tree of leaves and an Ed25519 key (type 0x01) named by its origin. */
export class TestLog {
  readonly key = ed25519Key();
  readonly leaves: Uint8Array[] = [];
  constructor(readonly origin: string) {}
  get vkey(): string {
    return vkey(this.origin, 0x01, this.key.pk);
  }
  append(n: number): void {
    for (let i = 0; i < n; i++) this.leaves.push(leafHash(te.encode(`${this.origin} leaf ${this.leaves.length}`)));
  }
  /** The checkpoint note text at `size` (default: current size), with optional extension lines. */
  text(size = this.leaves.length, root = mth(this.leaves.slice(0, size)), extensions: string[] = []): string {
    return `${this.origin}\n${size}\n${b64(root)}\n${extensions.map((e) => e + '\n').join('')}`;
  }
  /** The signed note of `text`. */
  sign(text: string): string {
    const sig = ed25519Sign(this.key.privateKey, te.encode(text));
    return `${text}\n\u2014 ${this.origin} ${b64(cat(keyId(this.origin, 0x01, this.key.pk), sig))}\n`;
  }
  proof(oldSize: number, size = this.leaves.length): Uint8Array[] {
    return consistencyProof(oldSize, this.leaves.slice(0, size));
  }
}

// --- cosignatures (tlog-cosignature) ---

export const ED25519_COSIG = 0x04;
export const MLDSA_COSIG = 0x06;

function checkpointFields(text: string): { origin: string; size: bigint; root: Uint8Array } {
  const [origin, size, root] = text.split('\n') as [string, string, string];
  return { origin, size: BigInt(size), root: unb64(root) };
}

/** The signed message of a cosignature of `type` over `text` at `time`. */
export function cosignedMessage(type: number, witnessName: string, text: string, time: bigint): Uint8Array {
  if (type === ED25519_COSIG) return te.encode(`cosignature/v1\ntime ${time}\n${text}`);
  const { origin, size, root } = checkpointFields(text);
  const name = te.encode(witnessName);
  const o = te.encode(origin);
  return cat(te.encode('subtree/v1\n\0'), new Uint8Array([name.length]), name, be64(time), new Uint8Array([o.length]), o, be64(0n), be64(size), root);
}

/** A witness key, Ed25519 (node:crypto) or ML-DSA-44 (@noble/post-quantum). */
export interface WitnessKey {
  readonly name: string;
  readonly type: number;
  readonly pk: Uint8Array;
  sign(msg: Uint8Array): Uint8Array;
}
export function witnessKey(name: string, type: number): WitnessKey {
  if (type === ED25519_COSIG) {
    const k = ed25519Key();
    return { name, type, pk: k.pk, sign: (m) => ed25519Sign(k.privateKey, m) };
  }
  const { publicKey, secretKey } = ml_dsa44.keygen(new Uint8Array(randomBytes(32)));
  return { name, type, pk: publicKey, sign: (m) => ml_dsa44.sign(m, secretKey) };
}

/** cosign returns the cosignature line (no newline) of `key` over `text` at `time`. */
export function cosign(key: WitnessKey, text: string, time: bigint): string {
  const sig = key.sign(cosignedMessage(key.type, key.name, text, time));
  return `\u2014 ${key.name} ${b64(cat(keyId(key.name, key.type, key.pk), be64(time), sig))}`;
}

/** verifyCosignatureLine checks one line against a witness vkey; returns the time or undefined. */
export function verifyCosignatureLine(text: string, line: string, witnessVkey: string): bigint | undefined {
  const w = parseVkey(witnessVkey);
  const p = parseSigLine(line);
  if (p === undefined || p.name !== w.name || Buffer.compare(p.id, w.id) !== 0) return undefined;
  const sigLen = w.type === ED25519_COSIG ? 64 : 2420;
  if (p.rest.length !== 8 + sigLen) return undefined;
  const time = Buffer.from(p.rest.slice(0, 8)).readBigUInt64BE();
  const msg = cosignedMessage(w.type, w.name, text, time);
  const sig = p.rest.slice(8);
  const ok = w.type === ED25519_COSIG ? ed25519Verify(w.pk, msg, sig) : w.type === MLDSA_COSIG && ml_dsa44.verify(sig, msg, w.pk);
  return ok ? time : undefined;
}
