/**
 * X.509 helpers of the time-stamp verifier: strict PEM bundles (RFC 7468 §3 strict form),
 * certificates parsed strictly and by pkijs, readable names (RFC 4514 style), the TSA key-usage
 * rules of RFC 3161 §2.3 and the ESS signing-certificate check of RFC 3161 §2.4.2 / RFC 5816.
 * Browser-safe: hashing goes through WebCrypto (`globalThis.crypto.subtle`).
 */
import * as pkijs from 'pkijs';
import { LedgerError, type ErrorCode } from '../core/errors.js';
import { equalBytes, fromBase64, toHex } from '../core/bytes.js';
import { TAG, derOid, expectTag, parseDer, type DerNode } from './der.js';

/** The largest PEM bundle accepted, bytes. */
export const MAX_PEM_BYTES = 1 << 20;
/** The most certificates a PEM bundle may hold. */
export const MAX_PEM_CERTIFICATES = 100;

const ID_KP_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';
const HASH_NAMES: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'SHA-1',
  '2.16.840.1.101.3.4.2.1': 'SHA-256',
  '2.16.840.1.101.3.4.2.2': 'SHA-384',
  '2.16.840.1.101.3.4.2.3': 'SHA-512',
};

/** A certificate as exact bytes, as a pkijs object, and the DER nodes of the fields we compare. */
export interface ParsedCertificate {
  readonly raw: Uint8Array;
  readonly cert: pkijs.Certificate;
  readonly serial: DerNode;
  readonly issuer: DerNode;
  readonly subject: DerNode;
}

const invalid = (why: string): never => {
  throw new LedgerError('TIMESTAMP_INVALID', `time-stamp token: ${why}`);
};

/** The WebCrypto object (`Crypto` in a browser, `webcrypto` in Node). */
export type WebCrypto = typeof globalThis.crypto;

/** webCrypto returns the platform's WebCrypto (Node ≥ 20 and browsers have `globalThis.crypto`). */
export function webCrypto(): WebCrypto {
  const c = (globalThis as { crypto?: WebCrypto }).crypto;
  if (c?.subtle === undefined) throw new Error('verifier: WebCrypto (globalThis.crypto.subtle) is not available');
  return c;
}

/**
 * parseCertificate parses one DER X.509 certificate strictly (RFC 5280 §4.1). Requires: DER, no
 * trailing bytes; failures throw `LedgerError(code)` naming `what`.
 */
export function parseCertificate(raw: Uint8Array, what: string, code: ErrorCode): ParsedCertificate {
  const root = expectTag(parseDer(raw, what, code), TAG.SEQUENCE, what, code);
  const tbs = expectTag(root.children[0], TAG.SEQUENCE, `${what}: tbsCertificate`, code);
  const at = tbs.children[0]?.tag === 0xa0 ? 1 : 0;
  const serial = expectTag(tbs.children[at], TAG.INTEGER, `${what}: serialNumber`, code);
  const issuer = expectTag(tbs.children[at + 2], TAG.SEQUENCE, `${what}: issuer`, code);
  const subject = expectTag(tbs.children[at + 4], TAG.SEQUENCE, `${what}: subject`, code);
  let cert: pkijs.Certificate;
  try {
    // Never a SharedArrayBuffer view: the cast only satisfies the DOM lib's BufferSource (the console's build).
    cert = pkijs.Certificate.fromBER(raw as Uint8Array<ArrayBuffer>);
  } catch (cause) {
    throw new LedgerError(code, `${what}: not an X.509 certificate`, { cause });
  }
  return { raw, cert, serial, issuer, subject };
}

/**
 * parseCertificatesPem reads a bundle of `CERTIFICATE` PEM blocks (RFC 7468 §3, strict: 64-char
 * base64 lines, no headers, canonical base64, LF or CRLF) into DER certificates, each parsed strictly.
 * Only blank lines may separate blocks. Requires: at most {@link MAX_PEM_BYTES} and
 * {@link MAX_PEM_CERTIFICATES}; anything else throws `LedgerError('INPUT_INVALID')`.
 * @example
 * const roots = parseCertificatesPem(readFileSync('tsa-roots.pem', 'utf8'));
 */
export function parseCertificatesPem(text: string): Uint8Array[] {
  const bad = (why: string): never => {
    throw new LedgerError('INPUT_INVALID', `PEM bundle: ${why}`);
  };
  if (typeof text !== 'string') return bad(`got ${typeof text}, want text`);
  if (text.length > MAX_PEM_BYTES) bad(`${text.length} characters exceeds the ${MAX_PEM_BYTES} cap`);
  const out: Uint8Array[] = [];
  let body: string[] | null = null;
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    const at = `line ${i + 1}`;
    if (body === null) {
      if (line === '') return;
      if (line !== '-----BEGIN CERTIFICATE-----') bad(`${at}: got ${JSON.stringify(line.slice(0, 40))}, want -----BEGIN CERTIFICATE-----`);
      body = [];
    } else if (line === '-----END CERTIFICATE-----') {
      if (body.length === 0) bad(`${at}: empty PEM block`);
      if (body.slice(0, -1).some((l) => l.length !== 64)) bad(`${at}: base64 lines before the last must be 64 characters`);
      if (out.length === MAX_PEM_CERTIFICATES) bad(`more than ${MAX_PEM_CERTIFICATES} certificates`);
      let der: Uint8Array;
      try {
        der = fromBase64(body.join(''), undefined, `certificate ${out.length + 1}`);
      } catch (cause) {
        throw new LedgerError('INPUT_INVALID', `PEM bundle: certificate ${out.length + 1}: not canonical base64`, { cause });
      }
      parseCertificate(der, `PEM bundle: certificate ${out.length + 1}`, 'INPUT_INVALID');
      out.push(der);
      body = null;
    } else {
      if (!/^[A-Za-z0-9+/=]{1,64}$/.test(line)) bad(`${at}: not a base64 line of at most 64 characters`);
      body.push(line);
    }
  });
  if (body !== null) bad('unterminated PEM block (no -----END CERTIFICATE-----)');
  if (out.length === 0) bad('no certificates');
  return out;
}

const SHORT_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN', '2.5.4.4': 'SN', '2.5.4.5': 'serialNumber', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST',
  '2.5.4.9': 'street', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.12': 'title', '2.5.4.42': 'GN', '2.5.4.97': 'organizationIdentifier',
  '0.9.2342.19200300.100.1.1': 'UID', '0.9.2342.19200300.100.1.25': 'DC', '1.2.840.113549.1.9.1': 'emailAddress',
};
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function attributeValue(v: DerNode): string {
  let s: string | undefined;
  try {
    if ([0x0c, 0x12, 0x13, 0x16, 0x1a].includes(v.tag)) s = utf8Strict.decode(v.value);
    else if (v.tag === 0x1e && v.value.length % 2 === 0) {
      s = '';
      for (let i = 0; i < v.value.length; i += 2) s += String.fromCharCode(((v.value[i] as number) << 8) | (v.value[i + 1] as number));
    }
  } catch {
    s = undefined;
  }
  if (s === undefined) return `#${toHex(v.raw)}`;
  return s
    .replace(/[\\"+,;<>]/g, (c) => `\\${c}`)
    .replace(/[\u0000-\u001f]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
}

/** formatName renders an X.501 Name most-specific first, RFC 4514 style: `CN=TSA, O=Example`. */
export function formatName(name: DerNode): string {
  return [...name.children]
    .reverse()
    .map((rdn) =>
      rdn.children
        .map((atv) => {
          const type = derOid(expectTag(atv.children[0], TAG.OID, 'name attribute type'));
          return `${SHORT_NAMES[type] ?? type}=${atv.children[1] === undefined ? '' : attributeValue(atv.children[1])}`;
        })
        .join('+'),
    )
    .join(', ');
}

/** formatGeneralName renders a GeneralName (RFC 5280 §4.2.1.6): a directory name as {@link formatName}, else `DNS:…`, `URI:…`, `email:…`. */
export function formatGeneralName(gn: DerNode): string {
  const text = () => String.fromCharCode(...gn.value);
  if (gn.tag === 0xa4 && gn.children.length === 1) return formatName(expectTag(gn.children[0], TAG.SEQUENCE, 'tsa directoryName'));
  if (gn.tag === 0x81) return `email:${text()}`;
  if (gn.tag === 0x82) return `DNS:${text()}`;
  if (gn.tag === 0x86) return `URI:${text()}`;
  return `GeneralName [${gn.tag & 0x1f}] #${toHex(gn.raw)}`;
}

/**
 * checkTimeStampingUsage enforces RFC 3161 §2.3 on the TSA certificate: an extended key usage
 * extension that is critical and holds id-kp-timeStamping as its only purpose; and, as OpenSSL's
 * timestamp-sign purpose does, a key usage (if present) of digitalSignature and/or nonRepudiation
 * only. No extension may appear twice (RFC 5280 §4.2).
 */
export function checkTimeStampingUsage(cert: pkijs.Certificate): void {
  const exts = cert.extensions ?? [];
  const ids = exts.map((e) => e.extnID);
  if (new Set(ids).size !== ids.length) invalid('the TSA certificate repeats an extension');
  const eku = exts.find((e) => e.extnID === '2.5.29.37');
  if (eku === undefined) return invalid('the TSA certificate has no extended key usage; RFC 3161 §2.3 requires id-kp-timeStamping');
  if (!eku.critical) invalid('the TSA certificate\'s extended key usage is not critical (RFC 3161 §2.3)');
  const purposes = parseDer(eku.extnValue.valueBlock.valueHexView, 'extended key usage').children.map((p) => derOid(expectTag(p, TAG.OID, 'key purpose')));
  if (purposes.length !== 1 || purposes[0] !== ID_KP_TIME_STAMPING) invalid(`the TSA certificate's key purposes are [${purposes.join(', ')}], want only id-kp-timeStamping (RFC 3161 §2.3)`);
  const ku = exts.find((e) => e.extnID === '2.5.29.15');
  if (ku !== undefined) {
    const bits = expectTag(parseDer(ku.extnValue.valueBlock.valueHexView, 'key usage'), TAG.BIT_STRING, 'key usage').value.subarray(1);
    const first = bits[0] ?? 0;
    if ((first & 0xc0) === 0 || (first & 0x3f) !== 0 || bits.subarray(1).some((b) => b !== 0)) invalid('the TSA certificate\'s key usage allows more than digitalSignature/nonRepudiation');
  }
}

/**
 * checkTsaName enforces RFC 3161 §2.4.2 on the TSTInfo `tsa` field: if present, it "MUST
 * correspond to one of the subject names" of the signer's certificate, i.e. equal its subject (as
 * a directoryName) or one of its subjectAltName entries, byte for byte.
 */
export function checkTsaName(tsa: DerNode, signer: ParsedCertificate): void {
  if (tsa.tag === 0xa4 && tsa.children.length === 1 && equalBytes((tsa.children[0] as DerNode).raw, signer.subject.raw)) return;
  const san = (signer.cert.extensions ?? []).find((e) => e.extnID === '2.5.29.17');
  const names = san === undefined ? [] : parseDer(san.extnValue.valueBlock.valueHexView, 'subjectAltName').children;
  if (names.some((n) => equalBytes(n.raw, tsa.raw))) return;
  invalid(`the TSTInfo names the TSA ${formatGeneralName(tsa)}, which is not a name of the signer's certificate (${formatName(signer.subject)}; RFC 3161 §2.4.2)`);
}

async function digest(alg: string, data: Uint8Array): Promise<Uint8Array> {
  const name = HASH_NAMES[alg];
  if (name === undefined) return invalid(`ESS certificate hash algorithm ${alg} is not supported`);
  return new Uint8Array(await webCrypto().subtle.digest(name, data as Uint8Array<ArrayBuffer>));
}

async function checkEssCertId(values: readonly DerNode[], v2: boolean, signer: ParsedCertificate): Promise<void> {
  const what = v2 ? 'ESS signingCertificateV2' : 'ESS signingCertificate';
  if (values.length !== 1) invalid(`${what} has ${values.length} values, want 1`);
  const sc = expectTag(values[0], TAG.SEQUENCE, what);
  const first = expectTag(expectTag(sc.children[0], TAG.SEQUENCE, `${what} certs`).children[0], TAG.SEQUENCE, `${what} first certificate id`);
  const f = [...first.children];
  let alg = v2 ? '2.16.840.1.101.3.4.2.1' : '1.3.14.3.2.26';
  if (v2 && f[0]?.tag === TAG.SEQUENCE) {
    const a = f.shift() as DerNode;
    alg = derOid(expectTag(a.children[0], TAG.OID, `${what} hashAlgorithm`));
    if (a.children.length > 2 || (a.children[1] !== undefined && a.children[1].tag !== TAG.NULL)) invalid(`${what} hashAlgorithm parameters must be absent or NULL`);
  }
  const hash = expectTag(f.shift(), TAG.OCTET_STRING, `${what} certHash`).value;
  if (!equalBytes(hash, await digest(alg, signer.raw))) invalid(`the ${what} attribute does not identify the signer's certificate`);
  const issuerSerial = f.shift();
  if (issuerSerial !== undefined) {
    const [names, serial] = expectTag(issuerSerial, TAG.SEQUENCE, `${what} issuerSerial`).children;
    const dirName = names?.children.length === 1 && names.children[0]?.tag === 0xa4 ? names.children[0].children[0] : undefined;
    if (dirName === undefined || !equalBytes(dirName.raw, signer.issuer.raw) || serial === undefined || !equalBytes(serial.raw, signer.serial.raw)) {
      invalid(`the ${what} issuerSerial does not name the signer's certificate`);
    }
  }
  if (f.length > 0) invalid(`${what} has an unexpected field`);
}

/**
 * checkSigningCertificate checks the ESS signing-certificate attribute(s) among the signed
 * attributes (RFC 3161 §2.4.2; RFC 5816 for v2): at least one of v1 (SHA-1) or v2 is present, and
 * the first certificate id of each identifies `signer` by hash and, if given, issuer and serial.
 */
export async function checkSigningCertificate(attrs: ReadonlyMap<string, readonly DerNode[]>, signer: ParsedCertificate): Promise<void> {
  const v1 = attrs.get('1.2.840.113549.1.9.16.2.12');
  const v2 = attrs.get('1.2.840.113549.1.9.16.2.47');
  if (v1 === undefined && v2 === undefined) invalid('no ESS signing-certificate attribute (RFC 3161 §2.4.2, RFC 5816)');
  if (v1 !== undefined) await checkEssCertId(v1, false, signer);
  if (v2 !== undefined) await checkEssCertId(v2, true, signer);
}
