/**
 * Re-signs time-stamp tokens with pkijs over WebCrypto, for the failure cases `openssl ts -reply`
 * will not produce: it refuses to sign with a TSA certificate whose timeStamping EKU is missing or
 * not critical (TS_RESP_CTX_set_signer_cert: "invalid signer certificate purpose"), and it never
 * omits the ESS attribute, adds a second SignerInfo, or writes TSTInfo version 2.
 *
 * {@link resignToken} takes a real token (from openssl), optionally edits its TSTInfo fields, and
 * signs it again as a well-formed CMS SignedData (content-type, message-digest and ESS
 * signing-certificate attributes, DER-sorted) with the key and certificate given. Each test then
 * breaks exactly one rule. Test support only; shares no code with src/.
 */
import { createHash, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { TestSigner } from './pki.js';

const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';
/** id-ct-TSTInfo (RFC 3161 §2.4.2). */
export const ID_CT_TSTINFO = '1.2.840.113549.1.9.16.1.4';
const ID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const ID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const ID_SIGNING_CERT = '1.2.840.113549.1.9.16.2.12';
const ID_SIGNING_CERT_V2 = '1.2.840.113549.1.9.16.2.47';

const engine = new pkijs.CryptoEngine({ name: 'test-forge', crypto: webcrypto as unknown as pkijs.CryptoEngineParameters['crypto'] });

/** How {@link resignToken} builds the new token. */
export interface ResignOptions {
  /** Key and certificate that sign. */
  readonly signer: TestSigner;
  /** Certificates carried in the token (default: the signer's and its chain). */
  readonly certificates?: readonly Uint8Array[];
  /** Edits the TSTInfo's fields (the parsed elements, in order) before signing. */
  readonly editTstInfo?: (fields: asn1js.AsnType[]) => asn1js.AsnType[];
  /** The encapsulated content type (default id-ct-TSTInfo). */
  readonly eContentType?: string;
  /** The signed content-type attribute's value; null omits the attribute (default: eContentType). */
  readonly contentTypeAttr?: string | null;
  /** Which ESS attribute(s) to add (default v2). `otherCert` hashes that certificate instead. */
  readonly ess?: 'v1' | 'v2' | 'both' | 'none';
  readonly essCertDer?: Uint8Array;
  /** Include issuerSerial in the ESS cert id: right (default), absent, or naming serial + 1. */
  readonly essIssuerSerial?: 'right' | 'absent' | 'wrong';
  /**
   * The TSTInfo `tsa` name: `signer` (default) names the new signer's subject, as RFC 3161
   * §2.4.2 requires; `keep` leaves the original TSA's; `none` drops it.
   */
  readonly tsaName?: 'signer' | 'keep' | 'none';
  /** Number of SignerInfos (default 1; 2 adds a second, equally valid one). */
  readonly signerInfos?: 1 | 2;
}

/** rawPrimitive makes a universal primitive block with exact contents (e.g. a GeneralizedTime string). */
export function rawPrimitive(tagNumber: number, contents: Uint8Array): asn1js.AsnType {
  return new asn1js.Primitive({ idBlock: { tagClass: 1, tagNumber }, valueHex: contents }) as unknown as asn1js.AsnType;
}

/** genTimeBlock makes a GeneralizedTime with exactly `text` as contents. */
export function genTimeBlock(text: string): asn1js.AsnType {
  return rawPrimitive(24, new TextEncoder().encode(text));
}

/** tstInfoOf returns the DER TSTInfo inside a token. */
export function tstInfoOf(token: Uint8Array): Uint8Array {
  const ci = pkijs.ContentInfo.fromBER(token);
  const sd = new pkijs.SignedData({ schema: ci.content });
  const e = sd.encapContentInfo.eContent;
  if (e === undefined) throw new Error('forge: token has no eContent');
  return new Uint8Array(e.getValue());
}

function hash(alg: 'sha1' | 'sha256', data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(alg).update(data).digest());
}

function essAttribute(v2: boolean, certDer: Uint8Array, issuerSerial: 'right' | 'absent' | 'wrong'): pkijs.Attribute {
  const cert = pkijs.Certificate.fromBER(certDer);
  const id: asn1js.AsnType[] = [new asn1js.OctetString({ valueHex: hash(v2 ? 'sha256' : 'sha1', certDer) })];
  if (issuerSerial !== 'absent') {
    const serial = issuerSerial === 'right' ? cert.serialNumber : asn1js.Integer.fromBigInt(cert.serialNumber.toBigInt() + 1n);
    id.push(new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 4 }, value: [cert.issuer.toSchema()] })] }), serial] }));
  }
  const value = new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.Sequence({ value: id })] })] });
  return new pkijs.Attribute({ type: v2 ? ID_SIGNING_CERT_V2 : ID_SIGNING_CERT, values: [value] });
}

function der(block: { toBER(sizeOnly?: boolean): ArrayBuffer }): Uint8Array {
  return new Uint8Array(block.toBER(false));
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

/** resignToken re-signs `token`'s TSTInfo (edited by `editTstInfo`, if given) as {@link ResignOptions} say. */
export async function resignToken(token: Uint8Array, o: ResignOptions): Promise<Uint8Array> {
  const seq = asn1js.fromBER(tstInfoOf(token)).result as asn1js.Sequence;
  let fields = [...seq.valueBlock.value] as asn1js.AsnType[];
  const isTsa = (x: asn1js.AsnType) => x.idBlock.tagClass === 3 && x.idBlock.tagNumber === 0;
  const mode = o.tsaName ?? 'signer';
  if (mode === 'none') fields = fields.filter((x) => !isTsa(x));
  if (mode === 'signer') {
    const subject = pkijs.Certificate.fromBER(o.signer.certDer).subject.toSchema();
    const name = new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 4 }, value: [subject] })] });
    fields = fields.map((x) => (isTsa(x) ? (name as unknown as asn1js.AsnType) : x));
  }
  if (o.editTstInfo !== undefined) fields = o.editTstInfo(fields);
  return signTstInfo(der(new asn1js.Sequence({ value: fields })), o);
}

/** signTstInfo signs DER TSTInfo bytes as a time-stamp token, as {@link ResignOptions} say. */
export async function signTstInfo(tst: Uint8Array, o: ResignOptions): Promise<Uint8Array> {
  const eContentType = o.eContentType ?? ID_CT_TSTINFO;
  const cert = pkijs.Certificate.fromBER(o.signer.certDer);
  const key = await webcrypto.subtle.importKey('pkcs8', o.signer.keyPkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const attrs: pkijs.Attribute[] = [new pkijs.Attribute({ type: ID_MESSAGE_DIGEST, values: [new asn1js.OctetString({ valueHex: hash('sha256', tst) })] })];
  const ct = o.contentTypeAttr === undefined ? eContentType : o.contentTypeAttr;
  if (ct !== null) attrs.push(new pkijs.Attribute({ type: ID_CONTENT_TYPE, values: [new asn1js.ObjectIdentifier({ value: ct })] }));
  const ess = o.ess ?? 'v2';
  const essCert = o.essCertDer ?? o.signer.certDer;
  if (ess === 'v1' || ess === 'both') attrs.push(essAttribute(false, essCert, o.essIssuerSerial ?? 'right'));
  if (ess === 'v2' || ess === 'both') attrs.push(essAttribute(true, essCert, o.essIssuerSerial ?? 'right'));
  attrs.sort((a, b) => compare(der(a.toSchema()), der(b.toSchema())));
  const signerInfo = () =>
    new pkijs.SignerInfo({
      version: 1,
      sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
      signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: attrs }),
    });
  const certs = o.certificates ?? [o.signer.certDer, ...o.signer.chainDer];
  // pkijs's constructor turns a primitive OCTET STRING eContent into a constructed (BER) one; set it after.
  const encapContentInfo = new pkijs.EncapsulatedContentInfo({ eContentType });
  encapContentInfo.eContent = new asn1js.OctetString({ valueHex: tst });
  const sd = new pkijs.SignedData({
    version: 3,
    encapContentInfo,
    signerInfos: o.signerInfos === 2 ? [signerInfo(), signerInfo()] : [signerInfo()],
    certificates: certs.map((c) => pkijs.Certificate.fromBER(c)),
  });
  for (let i = 0; i < sd.signerInfos.length; i++) await sd.sign(key, i, 'SHA-256', undefined, engine);
  const content = sd.toSchema(true);
  content.valueBlock.value[0] = new asn1js.Integer({ value: 3 }); // pkijs would write 1 for id-data content
  return der(new pkijs.ContentInfo({ contentType: ID_SIGNED_DATA, content }).toSchema());
}

/** grantedResponse wraps a token in a TimeStampResp with `status` (0 granted, 1 grantedWithMods). */
export function grantedResponse(token: Uint8Array, status: 0 | 1 = 0): Uint8Array {
  const info = new asn1js.Sequence({ value: [new asn1js.Integer({ value: status })] });
  return der(new asn1js.Sequence({ value: [info, asn1js.fromBER(token).result] }));
}

/** tokenOfResponse extracts the token DER from a granted TimeStampResp. */
export function tokenOfResponse(resp: Uint8Array): Uint8Array {
  const seq = asn1js.fromBER(resp).result as asn1js.Sequence;
  const token = seq.valueBlock.value[1];
  if (token === undefined) throw new Error('forge: response has no token');
  return der(token);
}

/** A TimeStampReq, parsed for rewriting. */
export interface QueryEdit {
  imprint?: Uint8Array;
  nonce?: bigint;
  policy?: string;
  /** false drops certReq. */
  certReq?: boolean;
}

/** rewriteQuery parses a DER TimeStampReq, changes the fields given, and re-encodes it. */
export function rewriteQuery(query: Uint8Array, edit: QueryEdit): Uint8Array {
  const req = pkijs.TimeStampReq.fromBER(query);
  if (edit.imprint !== undefined) req.messageImprint.hashedMessage = new asn1js.OctetString({ valueHex: edit.imprint });
  if (edit.nonce !== undefined) req.nonce = asn1js.Integer.fromBigInt(edit.nonce);
  if (edit.policy !== undefined) req.reqPolicy = edit.policy;
  if (edit.certReq === false) delete req.certReq;
  return der(req.toSchema());
}

/** queryOf reads the imprint and nonce of a DER TimeStampReq. */
export function queryOf(query: Uint8Array): { imprint: Uint8Array; nonce?: bigint } {
  const req = pkijs.TimeStampReq.fromBER(query);
  return { imprint: new Uint8Array(req.messageImprint.hashedMessage.valueBlock.valueHexView), ...(req.nonce ? { nonce: req.nonce.toBigInt() } : {}) };
}

/** The imprint algorithm OIDs a test query may name: SHA-256 (c2sp logs) and SM3 (gm logs, GB/T 33560). */
export const QUERY_HASH_OIDS = { sha256: '2.16.840.1.101.3.4.2.1', sm3: '1.2.156.10197.1.401' } as const;

/**
 * makeQuery builds a DER TimeStampReq with pkijs (independently of src/tsa/protocol.ts): SHA-256
 * (or SM3 with `alg`), certReq.
 */
export function makeQuery(imprint: Uint8Array, nonce?: bigint, policy?: string, alg: keyof typeof QUERY_HASH_OIDS = 'sha256'): Uint8Array {
  const req = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({ hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: QUERY_HASH_OIDS[alg] }), hashedMessage: new asn1js.OctetString({ valueHex: imprint }) }),
    certReq: true,
    ...(nonce !== undefined ? { nonce: asn1js.Integer.fromBigInt(nonce) } : {}),
    ...(policy !== undefined ? { reqPolicy: policy } : {}),
  });
  return der(req.toSchema());
}

/**
 * alterGenTime flips one bit of one byte of a token's DER: a digit of the TSTInfo's genTime (the
 * first GeneralizedTime; certificates and the signing-time attribute use UTCTime), so the token
 * claims another minute and its signature no longer verifies. The result still parses.
 */
export function alterGenTime(der: Uint8Array): Uint8Array {
  const out = der.slice();
  for (let i = 0; i + 14 < out.length; i++) {
    if (out[i] === 0x18 && (out[i + 1] ?? 0) >= 15 && out[i + 2] === 0x32 && out[i + 3] === 0x30) {
      out[i + 2 + 11]! ^= 0x01; // YYYYMMDDHHM[M]: the minute's last digit, still a digit
      return out;
    }
  }
  throw new Error('forge: no GeneralizedTime in the token');
}
