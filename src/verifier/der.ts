/**
 * A strict DER reader and a minimal DER writer (ITU-T X.690 §10), for the RFC 3161 time-stamp
 * formats. The reader accepts exactly one encoding of each value, like the decoders of
 * src/core/bytes.ts: definite minimal lengths, single-byte tags, primitive strings, minimal
 * INTEGERs, BOOLEAN 0x00/0xff, NULL empty, canonical OIDs and BIT STRING padding. SET OF sort
 * order (X.690 §11.6) is not checked. Pure and synchronous; browser-safe.
 */
import { LedgerError, type ErrorCode } from '../core/errors.js';

/** Identifier bytes of the universal and context tags the time-stamp formats use. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** One parsed TLV. `raw` is the whole encoding, `value` its contents; both view the input. */
export interface DerNode {
  /** The identifier byte (class, constructed bit and tag number < 31), e.g. 0x30 or 0xa0. */
  readonly tag: number;
  readonly raw: Uint8Array;
  readonly value: Uint8Array;
  /** Parsed contents of a constructed node; empty for a primitive one. */
  readonly children: readonly DerNode[];
}

const MAX_DEPTH = 48;

/**
 * parseDer parses `bytes` as exactly one strict DER value (no trailing bytes) and returns its tree.
 * Requires: nothing; any violation throws `LedgerError(code)` with a message starting with `what`.
 */
export function parseDer(bytes: Uint8Array, what: string, code: ErrorCode = 'TIMESTAMP_INVALID'): DerNode {
  const fail = (why: string, at: number): never => {
    throw new LedgerError(code, `${what}: not DER: ${why} at byte ${at}`);
  };
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) fail('empty input', 0);
  const parse = (start: number, end: number, depth: number): DerNode => {
    if (depth > MAX_DEPTH) fail('nesting too deep', start);
    if (end - start < 2) fail('truncated header', start);
    const tag = bytes[start] as number;
    if ((tag & 0x1f) === 0x1f) fail('multi-byte tag', start);
    if (tag === 0) fail('end-of-contents marker', start);
    let len = bytes[start + 1] as number;
    let off = start + 2;
    if (len === 0x80) fail('indefinite length', start);
    if (len > 0x80) {
      const n = len & 0x7f;
      if (n > 4 || off + n > end) fail('bad length', start);
      if (bytes[off] === 0) fail('non-minimal length', start);
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + (bytes[off + i] as number);
      if (len < 0x80) fail('non-minimal length', start);
      off += n;
    }
    if (len > end - off) fail('truncated value', start);
    const raw = bytes.subarray(start, off + len);
    const value = bytes.subarray(off, off + len);
    const constructed = (tag & 0x20) !== 0;
    const universal = (tag & 0xc0) === 0;
    if (universal && constructed !== ((tag & 0x1f) === 0x10 || (tag & 0x1f) === 0x11)) fail('wrong primitive/constructed form', start);
    const children: DerNode[] = [];
    if (constructed) {
      for (let p = off; p < off + len; ) {
        const child = parse(p, off + len, depth + 1);
        children.push(child);
        p += child.raw.length;
      }
    } else if (universal) {
      checkPrimitive(tag, value, (why) => fail(why, start));
    }
    return { tag, raw, value, children };
  };
  const root = parse(0, bytes.length, 0);
  if (root.raw.length !== bytes.length) fail(`${bytes.length - root.raw.length} trailing bytes`, root.raw.length);
  return root;
}

function checkPrimitive(tag: number, v: Uint8Array, fail: (why: string) => never): void {
  switch (tag) {
    case TAG.INTEGER:
    case 0x0a: // ENUMERATED
      if (v.length === 0) fail('empty INTEGER');
      if (v.length > 1 && ((v[0] === 0 && (v[1] as number) < 0x80) || (v[0] === 0xff && (v[1] as number) >= 0x80))) fail('non-minimal INTEGER');
      return;
    case TAG.BOOLEAN:
      if (v.length !== 1 || (v[0] !== 0 && v[0] !== 0xff)) fail('BOOLEAN not 0x00 or 0xff');
      return;
    case TAG.NULL:
      if (v.length !== 0) fail('NULL with contents');
      return;
    case TAG.OID:
      if (v.length === 0 || ((v[v.length - 1] as number) & 0x80) !== 0) fail('truncated OID');
      for (let i = 0; i < v.length; i++) if (v[i] === 0x80 && (i === 0 || ((v[i - 1] as number) & 0x80) === 0)) fail('non-minimal OID arc');
      return;
    case TAG.BIT_STRING: {
      const unused = v[0];
      if (unused === undefined || unused > 7 || (v.length === 1 && unused !== 0)) fail('bad BIT STRING padding');
      if (v.length > 1 && ((v[v.length - 1] as number) & ((1 << unused) - 1)) !== 0) fail('non-zero BIT STRING padding');
      return;
    }
    default:
  }
}

/** expectTag returns `node` if its identifier byte is `tag`, else throws `LedgerError(code)`. */
export function expectTag(node: DerNode | undefined, tag: number, what: string, code: ErrorCode = 'TIMESTAMP_INVALID'): DerNode {
  if (node === undefined) throw new LedgerError(code, `${what}: missing`);
  if (node.tag !== tag) throw new LedgerError(code, `${what}: got tag 0x${node.tag.toString(16)}, want 0x${tag.toString(16)}`);
  return node;
}

/** derInteger decodes an INTEGER node's contents (two's complement, big-endian) as a bigint. */
export function derInteger(node: DerNode): bigint {
  let n = 0n;
  for (const b of node.value) n = (n << 8n) | BigInt(b);
  if (node.value.length > 0 && ((node.value[0] as number) & 0x80) !== 0) n -= 1n << BigInt(8 * node.value.length);
  return n;
}

/** derOid decodes an OBJECT IDENTIFIER node as dotted decimal (X.690 §8.19). */
export function derOid(node: DerNode): string {
  const arcs: bigint[] = [];
  let acc = 0n;
  for (const b of node.value) {
    acc = (acc << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(acc < 80n ? acc / 40n : 2n, acc < 80n ? acc % 40n : acc - 80n);
      else arcs.push(acc);
      acc = 0n;
    }
  }
  return arcs.join('.');
}

/** encodeDer writes one TLV with identifier byte `tag` and the concatenation of `parts` as contents. */
export function encodeDer(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const lenBytes: number[] = [];
  if (n < 0x80) lenBytes.push(n);
  else {
    for (let x = n; x > 0; x = Math.floor(x / 256)) lenBytes.unshift(x % 256);
    lenBytes.unshift(0x80 | lenBytes.length);
  }
  const out = new Uint8Array(1 + lenBytes.length + n);
  out[0] = tag;
  out.set(lenBytes, 1);
  let off = 1 + lenBytes.length;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** encodeInteger writes a DER INTEGER (minimal two's complement) for any bigint. */
export function encodeInteger(n: bigint): Uint8Array {
  const bytes: number[] = [];
  let x = n;
  for (;;) {
    bytes.unshift(Number(x & 0xffn));
    x >>= 8n;
    if ((x === 0n && ((bytes[0] as number) & 0x80) === 0) || (x === -1n && ((bytes[0] as number) & 0x80) !== 0)) break;
  }
  return encodeDer(TAG.INTEGER, new Uint8Array(bytes));
}

/** encodeOid writes a DER OBJECT IDENTIFIER. Requires: a dotted OID (checked by {@link isOid}). */
export function encodeOid(oid: string): Uint8Array {
  if (!isOid(oid)) throw new Error(`der: bad OID ${JSON.stringify(oid)}`);
  const arcs = oid.split('.').map((a) => BigInt(a));
  const first = (arcs[0] as bigint) * 40n + (arcs[1] as bigint);
  const out: number[] = [];
  for (const arc of [first, ...arcs.slice(2)]) {
    const group: number[] = [Number(arc & 0x7fn)];
    for (let x = arc >> 7n; x > 0n; x >>= 7n) group.unshift(Number(x & 0x7fn) | 0x80);
    out.push(...group);
  }
  return encodeDer(TAG.OID, new Uint8Array(out));
}

/** isOid tells whether `text` is a dotted OID: first arc 0–2, second < 40 under 0 and 1, canonical decimals. */
export function isOid(text: string): boolean {
  const m = /^([012])\.(0|[1-9][0-9]{0,18})((?:\.(?:0|[1-9][0-9]{0,18}))*)$/.exec(text);
  return m !== null && (m[1] === '2' || Number(m[2]) < 40);
}
