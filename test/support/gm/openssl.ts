/**
 * The OpenSSL side of the 国密 interoperability tests (test/interop/openssl-gm.test.ts), kept in
 * test support on purpose: nothing in src/ helps OpenSSL check Guzheng, so what passes here is
 * what a 密评 assessor with OpenSSL alone gets (docs/gm.md). Everything is built from the standards'
 * byte layouts, not from Guzheng's code:
 *
 *     SubjectPublicKeyInfo  SEQUENCE { SEQUENCE { OID id-ecPublicKey, OID sm2 }, BIT STRING point }   (RFC 5480)
 *     PKCS #8 private key   SEQUENCE { INTEGER 0, SEQUENCE { id-ecPublicKey, sm2 },
 *                                      OCTET STRING ECPrivateKey { INTEGER 1, OCTET STRING d, [1] BIT STRING point } }  (RFC 5958, RFC 5915)
 *     SM2 signature         SEQUENCE { INTEGER r, INTEGER s }   (GB/T 35276-2017 §7.1; a note carries r ‖ s)
 *     Z_A                   SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA)   (GB/T 32918.2-2016 §5.5)
 *
 * OpenSSL runs as a child process (`/usr/bin/openssl`, Debian's OpenSSL 3), with files in a
 * temporary directory, exactly as the commands in docs/gm.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The OpenSSL the tests run (Debian installs OpenSSL 3 here; GUZHENG_OPENSSL as for the TSA tests). */
export const OPENSSL = process.env.GUZHENG_OPENSSL ?? '/usr/bin/openssl';

/** The default SM2 signer ID (GB/T 35276-2017 §10), OpenSSL's `distid`. */
export const DIST_ID = '1234567812345678';

/** What an OpenSSL run gave. */
export interface OpensslRun {
  readonly status: number | null;
  readonly stdout: Uint8Array;
  readonly text: string;
  readonly stderr: string;
}

/** openssl runs `openssl <args>` with optional stdin; never throws for a non-zero exit (callers assert it). */
export function openssl(args: readonly string[], input?: Uint8Array | string): OpensslRun {
  const r = spawnSync(OPENSSL, args, { input, maxBuffer: 64 << 20, timeout: 60_000 });
  if (r.error !== undefined) throw new Error(`cannot run ${OPENSSL} ${args.join(' ')}: ${r.error.message}`);
  const stdout = new Uint8Array(r.stdout);
  return { status: r.status, stdout, text: Buffer.from(stdout).toString('utf8'), stderr: Buffer.from(r.stderr).toString('utf8') };
}

/** opensslOk is {@link openssl} that throws, with OpenSSL's message, unless it exits 0. */
export function opensslOk(args: readonly string[], input?: Uint8Array | string): OpensslRun {
  const r = openssl(args, input);
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r;
}

/** A scratch directory for key, text and signature files; `cleanup` removes it. */
export function scratch(prefix = 'guzheng-openssl-gm-'): { dir: string; file(name: string, data: Uint8Array | string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    file(name, data) {
      const p = join(dir, name);
      writeFileSync(p, data);
      return p;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** opensslSm3 is `openssl dgst -sm3 -r` of `data` (given on stdin) or of the file at `path`: lowercase hex. */
export function opensslSm3(what: { data: Uint8Array | string } | { path: string }): string {
  // `-r` prints "<hex> *<file>", the coreutils format: no "SM3(…)= " prefix to take apart.
  const r = 'path' in what ? opensslOk(['dgst', '-sm3', '-r', what.path]) : opensslOk(['dgst', '-sm3', '-r'], what.data);
  const m = /^([0-9a-f]{64}) /.exec(r.text);
  if (m === null) throw new Error(`openssl dgst -sm3: unexpected output ${JSON.stringify(r.text)}`);
  return m[1] as string;
}

// --- DER, as little as these structures need ---

function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** tlv returns one DER element: tag, definite length, content. */
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(content);
  return Uint8Array.from([tag, ...derLength(body.length), ...body]);
}

/** The DER of an OBJECT IDENTIFIER in dotted form (first two arcs below 40, as these are). */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const out: number[] = [Number((arcs[0] as bigint) * 40n + (arcs[1] as bigint))];
  for (const arc of arcs.slice(2)) {
    const b: number[] = [Number(arc & 0x7fn)];
    for (let x = arc >> 7n; x > 0n; x >>= 7n) b.unshift(Number(x & 0x7fn) | 0x80);
    out.push(...b);
  }
  return tlv(0x06, Uint8Array.from(out));
}

/** A DER INTEGER of an unsigned big-endian magnitude: leading zeros dropped, a 0x00 added before a high bit. */
export function derUnsigned(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return tlv(0x02, (m[0] as number) & 0x80 ? Uint8Array.of(0, ...m) : m);
}

/** One parsed DER element: its tag, its content and where the next element starts. */
export interface Der {
  readonly tag: number;
  readonly content: Uint8Array;
  readonly end: number;
}

/** readDer reads the element at `at` (definite lengths only, as DER has). */
export function readDer(buf: Uint8Array, at = 0): Der {
  const tag = buf[at];
  let len = buf[at + 1];
  if (tag === undefined || len === undefined) throw new Error(`DER: truncated at ${at}`);
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error(`DER: unsupported length form at ${at}`);
    len = 0;
    for (let k = 0; k < n; k++) len = len * 256 + (buf[p + k] as number);
    p += n;
  }
  if (p + len > buf.length) throw new Error(`DER: element at ${at} runs past the end`);
  return { tag, content: buf.subarray(p, p + len), end: p + len };
}

/** children reads every element inside a constructed element's content. */
export function children(content: Uint8Array): Der[] {
  const out: Der[] = [];
  for (let at = 0; at < content.length; ) {
    const d = readDer(content, at);
    out.push(d);
    at = d.end;
  }
  return out;
}

/** A 32-byte big-endian integer from a DER INTEGER's content (leading 0x00 dropped, left-padded). */
function int32(content: Uint8Array): Uint8Array {
  const m = content[0] === 0 ? content.subarray(1) : content;
  if (m.length > 32) throw new Error(`DER INTEGER of ${m.length} bytes, want at most 32`);
  const out = new Uint8Array(32);
  out.set(m, 32 - m.length);
  return out;
}

// --- SM2 keys and signatures as OpenSSL spells them ---

const ID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
/** The SM2 recommended curve (GB/T 32918.5), as OpenSSL names it in keys: `sm2`. */
const SM2_CURVE = '1.2.156.10197.1.301';

function algorithmIdentifier(): Uint8Array {
  return tlv(0x30, oid(ID_EC_PUBLIC_KEY), oid(SM2_CURVE));
}

function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END ${label}-----\n`;
}

function unpem(text: string, label: string): Uint8Array {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(text);
  if (m === null) throw new Error(`no ${label} PEM block`);
  return new Uint8Array(Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64'));
}

/** sm2SpkiDer returns the SubjectPublicKeyInfo of a 65-byte SM2 point 0x04 ‖ X ‖ Y. */
export function sm2SpkiDer(point: Uint8Array): Uint8Array {
  if (point.length !== 65 || point[0] !== 0x04) throw new Error('sm2SpkiDer: want the 65-byte uncompressed point');
  // BIT STRING: a leading 0 "unused bits" byte, then the point.
  return tlv(0x30, algorithmIdentifier(), tlv(0x03, Uint8Array.of(0), point));
}

/** sm2PublicKeyPem is {@link sm2SpkiDer} as a `PUBLIC KEY` PEM block (what `openssl pkey -pubout` writes). */
export function sm2PublicKeyPem(point: Uint8Array): string {
  return pem('PUBLIC KEY', sm2SpkiDer(point));
}

/** sm2PrivateKeyPem returns the PKCS #8 `PRIVATE KEY` PEM of the 32-byte d and its point (what `openssl genpkey` writes). */
export function sm2PrivateKeyPem(d: Uint8Array, point: Uint8Array): string {
  if (d.length !== 32) throw new Error('sm2PrivateKeyPem: want a 32-byte d');
  const ecPrivateKey = tlv(0x30, tlv(0x02, Uint8Array.of(1)), tlv(0x04, d), tlv(0xa1, tlv(0x03, Uint8Array.of(0), point)));
  return pem('PRIVATE KEY', tlv(0x30, tlv(0x02, Uint8Array.of(0)), algorithmIdentifier(), tlv(0x04, ecPrivateKey)));
}

/** sm2KeyFromPkcs8Pem reads d and the point back out of a PKCS #8 SM2 key, as `openssl genpkey` writes it. */
export function sm2KeyFromPkcs8Pem(text: string): { d: Uint8Array; point: Uint8Array } {
  const [version, alg, key] = children(readDer(unpem(text, 'PRIVATE KEY')).content);
  if (version === undefined || alg === undefined || key === undefined || key.tag !== 0x04) throw new Error('PKCS #8: want version, algorithm, key');
  const curve = children(alg.content)[1];
  if (curve === undefined || Buffer.compare(Buffer.from(tlv(curve.tag, curve.content)), Buffer.from(oid(SM2_CURVE))) !== 0) throw new Error('PKCS #8: not an SM2 key');
  const parts = children(readDer(key.content).content);
  const d = parts.find((p) => p.tag === 0x04);
  const pub = parts.find((p) => p.tag === 0xa1);
  if (d === undefined || pub === undefined) throw new Error('ECPrivateKey: want the private key and the public key');
  const bits = readDer(pub.content);
  return { d: int32(d.content), point: bits.content.slice(1) };
}

/** sigToDer turns a note's r ‖ s (64 bytes) into the DER `SEQUENCE { r, s }` OpenSSL reads. */
export function sigToDer(rs: Uint8Array): Uint8Array {
  if (rs.length !== 64) throw new Error('sigToDer: want r ‖ s, 64 bytes');
  return tlv(0x30, derUnsigned(rs.subarray(0, 32)), derUnsigned(rs.subarray(32)));
}

/** derToSig turns OpenSSL's DER `SEQUENCE { r, s }` into r ‖ s (64 bytes), as a note carries it. */
export function derToSig(der: Uint8Array): Uint8Array {
  const [r, s] = children(readDer(der).content);
  if (r === undefined || s === undefined || r.tag !== 0x02 || s.tag !== 0x02) throw new Error('SM2 signature: want SEQUENCE { INTEGER r, INTEGER s }');
  return Uint8Array.from([...int32(r.content), ...int32(s.content)]);
}

/** The SM2 curve's a, b and base point as OpenSSL itself states them (`ecparam -param_enc explicit`). */
export interface CurveParams {
  readonly a: Uint8Array;
  readonly b: Uint8Array;
  readonly xG: Uint8Array;
  readonly yG: Uint8Array;
}

/** opensslSm2Curve reads a, b and G from OpenSSL's explicit ECParameters of its built-in SM2 curve. */
export function opensslSm2Curve(): CurveParams {
  const der = opensslOk(['ecparam', '-name', 'SM2', '-param_enc', 'explicit', '-outform', 'DER']).stdout;
  // ECParameters ::= SEQUENCE { version, fieldID, curve SEQUENCE { a, b, … }, base OCTET STRING, order, cofactor } (RFC 3279 §2.3.5)
  const [, , curve, base] = children(readDer(der).content);
  if (curve === undefined || base === undefined) throw new Error('ecparam: want fieldID, curve and base');
  const [a, b] = children(curve.content);
  if (a === undefined || b === undefined || base.content.length !== 65) throw new Error('ecparam: want a, b and an uncompressed base point');
  return { a: a.content, b: b.content, xG: base.content.slice(1, 33), yG: base.content.slice(33) };
}

/**
 * zaPreimage returns ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA (GB/T 32918.2 §5.5), whose SM3 is Z_A;
 * ENTL is the ID's length in bits, two bytes big-endian.
 */
export function zaPreimage(curve: CurveParams, point: Uint8Array, id = DIST_ID): Uint8Array {
  const idBytes = Buffer.from(id, 'utf8');
  const entl = idBytes.length * 8;
  return Buffer.concat([Uint8Array.of(entl >> 8, entl & 0xff), idBytes, curve.a, curve.b, curve.xG, curve.yG, point.subarray(1, 33), point.subarray(33)]);
}
