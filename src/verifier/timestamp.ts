/**
 * Verification of RFC 3161 time-stamp tokens, browser-safe (pkijs over WebCrypto, no clock, no
 * network). The log stamps its signed checkpoints: the imprint is SHA-256 of the exact bytes of a
 * signed note, and a verifier that holds only that digest can check the token
 * (see contracts-free-ledger/SPEC.md#verifying-a-time-stamp-token).
 *
 * pkijs checks the CMS signature and builds the chain; everything RFC 3161 adds on top is checked
 * here, each rule in one place: the token's shape and DER (§2.4.2), the TSA certificate's key usage
 * (§2.3) and name, the ESS signing-certificate attribute (§2.4.2, RFC 5816), the imprint and the
 * nonce (§2.4.2), and the certificate's validity at genTime.
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { LedgerError, badInput } from '../core/errors.js';
import { equalBytes } from '../core/bytes.js';
import { TAG, derInteger, derOid, expectTag, parseDer, type DerNode } from './der.js';
import { parseTstInfo, type TimestampAccuracy, type TstInfo } from './tstinfo.js';
import { checkSigningCertificate, checkTimeStampingUsage, checkTsaName, formatGeneralName, formatName, parseCertificate, webCrypto, type ParsedCertificate } from './x509.js';

export { parseCertificatesPem } from './x509.js';
export type { TimestampAccuracy } from './tstinfo.js';

/** The largest time-stamp token accepted, bytes (256 KiB; real tokens are a few KiB). */
export const MAX_TIMESTAMP_TOKEN_BYTES = 256 * 1024;

const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const ID_DATA = '1.2.840.113549.1.7.1';
const ID_CT_TSTINFO = '1.2.840.113549.1.9.16.1.4';
const ID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const ID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const ID_SHA256 = '2.16.840.1.101.3.4.2.1';
/** SM3 (GB/T 33560-2017 / GM/T 0006): the imprint algorithm of a `gm` log's stamps. */
const ID_SM3 = '1.2.156.10197.1.401';
/** The imprint algorithm OIDs, by content-digest name (SPEC.md#what-the-log-stamps). */
export const IMPRINT_OIDS = { sha256: ID_SHA256, sm3: ID_SM3 } as const;

/** What a verified token says. */
export interface TimestampInfo {
  /** genTime as RFC 3339 UTC with the token's precision, e.g. `2026-12-04T16:35:45.487Z`. */
  readonly genTime: string;
  /** genTime in milliseconds since the Unix epoch (finer fractions dropped). */
  readonly genTimeMs: number;
  /** TSTInfo serialNumber, lowercase hex. */
  readonly serialNumber: string;
  /** TSA policy, dotted OID. */
  readonly policy: string;
  /** Absent when the token states no accuracy. */
  readonly accuracy?: TimestampAccuracy;
  readonly ordering: boolean;
  /** The TSTInfo `tsa` name if present, else the signer certificate's subject, e.g. `CN=TSA, O=Example`. */
  readonly tsaName: string;
  readonly signerSubject: string;
  readonly signerIssuer: string;
  /** Subject of the pinned root the signer's chain reached; absent from {@link inspectTimestampToken}'s unverified reading. */
  readonly root?: string;
  /** The message imprint's hash algorithm OID (id-sha256, or SM3 for a gm log, once verified). */
  readonly hashAlgorithm: string;
  /** The token's nonce in decimal, if it has one. */
  readonly nonce?: string;
}

/** Options of {@link verifyTimestampToken}. */
export interface TimestampVerifyOptions {
  /** The digest the token must stamp (the caller computed it; the message itself is not needed). */
  readonly imprint: Uint8Array;
  /** Its algorithm: `sha256` (default, `c2sp` logs) or `sm3` (`gm` logs). */
  readonly imprintAlg?: 'sha256' | 'sm3';
  /** DER certificates of the TSA roots to trust (see parseCertificatesPem); nothing else is trusted. */
  readonly trustedRoots: readonly Uint8Array[];
  /** The nonce of the request, if the caller made it. */
  readonly nonce?: bigint;
}

const invalid = (why: string): never => {
  throw new LedgerError('TIMESTAMP_INVALID', `time-stamp token: ${why}`);
};

/** The parts of the CMS SignedData this module reads itself. */
interface Cms {
  readonly signedData: DerNode;
  readonly eContent: Uint8Array;
  readonly certificates: readonly ParsedCertificate[];
  readonly sid: DerNode;
  readonly signedAttrs: ReadonlyMap<string, readonly DerNode[]>;
}

/** readCms walks ContentInfo → SignedData (RFC 5652 §3, §5.1) of a token and checks its shape. */
function readCms(token: DerNode): Cms {
  const ci = expectTag(token, TAG.SEQUENCE, 'time-stamp token: ContentInfo');
  if (ci.children.length !== 2 || derOid(expectTag(ci.children[0], TAG.OID, 'contentType')) !== ID_SIGNED_DATA) invalid('not a CMS SignedData ContentInfo');
  const wrapper = expectTag(ci.children[1], 0xa0, 'time-stamp token: content');
  if (wrapper.children.length !== 1) invalid('ContentInfo content must hold one value');
  const signedData = expectTag(wrapper.children[0], TAG.SEQUENCE, 'time-stamp token: SignedData');
  const f = [...signedData.children];
  const version = derInteger(expectTag(f.shift(), TAG.INTEGER, 'SignedData version'));
  if (version !== 3n) invalid(`SignedData version ${version}, want 3 (RFC 5652 §5.1)`);
  const digestAlgorithms = expectTag(f.shift(), TAG.SET, 'SignedData digestAlgorithms').children.map((a) => hashAlgorithmId(a, 'SignedData digestAlgorithms'));
  const encap = expectTag(f.shift(), TAG.SEQUENCE, 'SignedData encapContentInfo');
  const eContentType = derOid(expectTag(encap.children[0], TAG.OID, 'eContentType'));
  if (eContentType !== ID_CT_TSTINFO) invalid(`content type ${eContentType} is not id-ct-TSTInfo (RFC 3161 §2.4.2)`);
  const eWrapper = expectTag(encap.children[1], 0xa0, 'time-stamp token: eContent');
  if (encap.children.length !== 2 || eWrapper.children.length !== 1) invalid('encapContentInfo must hold exactly one eContent');
  const eContent = expectTag(eWrapper.children[0], TAG.OCTET_STRING, 'time-stamp token: eContent').value;
  const certNodes = f[0]?.tag === 0xa0 ? (f.shift() as DerNode).children : [];
  if (f[0]?.tag === 0xa1) f.shift();
  const signerInfos = expectTag(f.shift(), TAG.SET, 'SignedData signerInfos');
  if (f.length > 0) invalid('SignedData has an unexpected field');
  if (signerInfos.children.length !== 1) invalid(`${signerInfos.children.length} SignerInfos, want exactly one (RFC 3161 §2.4.2)`);
  const certificates = certNodes.map((c, i) => parseCertificate(expectTag(c, TAG.SEQUENCE, `certificate ${i + 1}`).raw, `time-stamp token: certificate ${i + 1}`, 'TIMESTAMP_INVALID'));
  const si = expectTag(signerInfos.children[0], TAG.SEQUENCE, 'SignerInfo').children;
  if (derInteger(expectTag(si[0], TAG.INTEGER, 'SignerInfo version')) !== 1n || si[1]?.tag !== TAG.SEQUENCE) {
    invalid('the SignerInfo must identify its signer by issuer and serial number (version 1)');
  }
  const sid = expectTag(si[1], TAG.SEQUENCE, 'SignerInfo sid');
  const digestAlgorithm = hashAlgorithmId(si[2], 'SignerInfo digestAlgorithm');
  if (!digestAlgorithms.includes(digestAlgorithm)) invalid(`the SignerInfo's digest algorithm ${digestAlgorithm} is not among SignedData's digestAlgorithms`);
  const attrsNode = si[3]?.tag === 0xa0 ? si[3] : invalid('the SignerInfo has no signed attributes (RFC 3161 §2.4.2 needs the ESS one)');
  checkSignatureValue(si[4], si[5]);
  const signedAttrs = new Map<string, readonly DerNode[]>();
  for (const attr of attrsNode.children) {
    const [type, values, extra] = expectTag(attr, TAG.SEQUENCE, 'signed attribute').children;
    if (extra !== undefined) invalid('a signed attribute has extra fields');
    const id = derOid(expectTag(type, TAG.OID, 'signed attribute type'));
    if (signedAttrs.has(id)) invalid(`signed attribute ${id} appears twice`);
    signedAttrs.set(id, expectTag(values, TAG.SET, `signed attribute ${id} values`).children);
  }
  return { signedData, eContent, certificates, sid, signedAttrs };
}

/** hashAlgorithmId reads a digest AlgorithmIdentifier: an OID with parameters absent or NULL (RFC 5754 §2). */
function hashAlgorithmId(node: DerNode | undefined, what: string): string {
  const alg = expectTag(node, TAG.SEQUENCE, what);
  const params = alg.children[1];
  if (alg.children.length > 2 || (params !== undefined && params.tag !== TAG.NULL)) invalid(`${what}: parameters must be absent or NULL`);
  return derOid(expectTag(alg.children[0], TAG.OID, what));
}

/** checkSignatureValue requires an ECDSA signature to be a strict DER Ecdsa-Sig-Value (RFC 5753 §7.2), which pkijs reads loosely. */
function checkSignatureValue(alg: DerNode | undefined, value: DerNode | undefined): void {
  const oid = derOid(expectTag(expectTag(alg, TAG.SEQUENCE, 'SignerInfo signatureAlgorithm').children[0], TAG.OID, 'SignerInfo signatureAlgorithm'));
  const sig = expectTag(value, TAG.OCTET_STRING, 'SignerInfo signature');
  if (!oid.startsWith('1.2.840.10045.')) return;
  const rs = expectTag(parseDer(sig.value, 'time-stamp token: ECDSA signature'), TAG.SEQUENCE, 'ECDSA signature').children;
  if (rs.length !== 2 || rs.some((n) => n.tag !== TAG.INTEGER || derInteger(n) <= 0n)) invalid('the ECDSA signature is not two positive INTEGERs');
}

/** findSigner returns the one certificate the SignerInfo's issuerAndSerialNumber names. */
function findSigner(cms: Cms): ParsedCertificate {
  const [issuer, serial] = cms.sid.children;
  const found = cms.certificates.filter((c) => issuer !== undefined && serial !== undefined && equalBytes(c.issuer.raw, issuer.raw) && equalBytes(c.serial.raw, serial.raw));
  if (found.length === 0) invalid('the token does not carry the TSA certificate that signed it (request it with certReq)');
  if (found.length > 1) invalid('the token carries several certificates matching its signer');
  return found[0] as ParsedCertificate;
}

function checkSignedAttributes(attrs: ReadonlyMap<string, readonly DerNode[]>): void {
  const ct = attrs.get(ID_CONTENT_TYPE);
  if (ct === undefined || ct.length !== 1 || derOid(expectTag(ct[0], TAG.OID, 'content-type attribute')) !== ID_CT_TSTINFO) {
    invalid('the signed content-type attribute is not id-ct-TSTInfo (RFC 5652 §11.1)');
  }
  const md = attrs.get(ID_MESSAGE_DIGEST);
  if (md === undefined || md.length !== 1) invalid('the signed attributes need exactly one message-digest (RFC 5652 §11.2)');
}

function checkValidity(signer: ParsedCertificate, tst: TstInfo): void {
  const nb = signer.cert.notBefore.value.getTime();
  const na = signer.cert.notAfter.value.getTime();
  const t = tst.genTime.ms;
  if (t < nb || t > na || (t === na && tst.genTime.subMs)) {
    invalid(`genTime ${tst.genTime.text} is outside the TSA certificate's validity (${new Date(nb).toISOString()} to ${new Date(na).toISOString()})`);
  }
}

let engine: pkijs.CryptoEngine | undefined;
function cryptoEngine(): pkijs.CryptoEngine {
  return (engine ??= new pkijs.CryptoEngine({ name: 'guzheng-webcrypto', crypto: webCrypto() }));
}

/** unreached tells whether a chain result means only that no pinned root was reached. */
function unreached(r: pkijs.CertificateChainValidationEngineVerifyResult): boolean {
  return r.resultCode === pkijs.ChainValidationCode.noPath || r.resultCode === pkijs.ChainValidationCode.noValidPath || (r.resultCode === -1 && r.resultMessage === 'No valid certificate paths found');
}

/**
 * verifyCms has pkijs verify the CMS signature with `checkChain: true` against the pinned roots
 * only, at genTime, and returns the root reached. pkijs's own TSTInfo branch would hash the
 * original message, which a digest-only verifier does not have; the imprint is compared by the
 * caller, so pkijs sees the content as plain data (its signed content-type was checked to be
 * id-ct-TSTInfo, and the signature covers it).
 */
async function verifyCms(cms: Cms, signer: ParsedCertificate, pinned: readonly ParsedCertificate[], genTime: Date): Promise<ParsedCertificate> {
  const roots = pinned.map((r) => r.cert);
  let sd: pkijs.SignedData;
  try {
    sd = new pkijs.SignedData({ schema: asn1js.fromBER(cms.signedData.raw).result });
  } catch (cause) {
    throw new LedgerError('TIMESTAMP_INVALID', 'time-stamp token: SignedData does not parse', { cause });
  }
  sd.encapContentInfo.eContentType = ID_DATA; // (not via the constructor: it would re-chunk the eContent)
  const params = { signer: 0, trustedCerts: [...roots], checkDate: genTime, extendedMode: true as const };
  let res: pkijs.SignedDataVerifyResult;
  try {
    res = await sd.verify({ ...params, checkChain: true }, cryptoEngine());
  } catch (err) {
    if (!(err instanceof pkijs.SignedDataVerifyError) || err.code !== 5) throw new LedgerError('TIMESTAMP_INVALID', 'time-stamp token: the CMS signature does not verify', { cause: err });
    const alone = await sd.verify({ ...params, checkChain: false }, cryptoEngine()).catch(() => null);
    if (alone?.signatureVerified !== true) invalid('the CMS signature does not verify');
    const intermediates = cms.certificates.filter((c) => c !== signer && pkijs.checkCA(c.cert, signer.cert) !== null).map((c) => c.cert);
    const chain = await new pkijs.CertificateChainValidationEngine({ trustedCerts: [...roots], certs: [...intermediates, signer.cert], checkDate: genTime }).verify({}, cryptoEngine());
    if (unreached(chain)) throw new LedgerError('TIMESTAMP_UNTRUSTED', `time-stamp token: the TSA certificate (${formatName(signer.subject)}) does not chain to any pinned root`);
    return invalid(`the TSA certificate chain is not valid at genTime: ${chain.resultMessage}`);
  }
  if (res.signatureVerified !== true) invalid('the CMS signature does not verify');
  if (res.signerCertificate == null || !equalBytes(res.signerCertificate.tbsView, signer.cert.tbsView)) invalid('the signature was checked with another certificate than the named signer');
  const root = pinned.find((r) => res.certificatePath.some((c) => equalBytes(r.cert.tbsView, c.tbsView)));
  return root ?? invalid('the certificate path reached no pinned root');
}

/**
 * verifyTimestampToken verifies an RFC 3161 time-stamp token (strict DER ContentInfo) for
 * `imprint`: content type id-ct-TSTInfo with TSTInfo version 1 and exactly one SignerInfo
 * (§2.4.2); a CMS signature that pkijs verifies with a chain to one of `trustedRoots` only,
 * checked at genTime (so a token made while the TSA certificate was valid stays valid); a TSA
 * certificate whose critical extended key usage is exactly id-kp-timeStamping, whose key usage (if
 * any) is digitalSignature/nonRepudiation (§2.3), and whose validity contains genTime; a `tsa`
 * name, if any, that is one of the certificate's names (§2.4.2); an ESS signing-certificate
 * attribute naming it (§2.4.2, RFC 5816); a SHA-256 imprint equal to `imprint`; the nonce, if given.
 * Requires: `imprint` 32 bytes, at least one root, `nonce` a bigint if given (else INPUT_INVALID);
 * a token of at most {@link MAX_TIMESTAMP_TOKEN_BYTES}.
 * Throws `LedgerError('TIMESTAMP_UNTRUSTED')` when the only fault is that the chain reaches no
 * pinned root, `LedgerError('TIMESTAMP_INVALID')` for any other fault.
 * @example
 * const info = await verifyTimestampToken(token, { imprint: sha256(utf8(signedNote)), trustedRoots: parseCertificatesPem(pem) });
 * console.log(info.genTime, info.tsaName);
 */
export async function verifyTimestampToken(token: Uint8Array, options: TimestampVerifyOptions): Promise<TimestampInfo> {
  if (!(options.imprint instanceof Uint8Array) || options.imprint.length !== 32) badInput('verifyTimestampToken: imprint must be a 32-byte digest');
  if (!Array.isArray(options.trustedRoots) || options.trustedRoots.length === 0) badInput('verifyTimestampToken: trustedRoots must list at least one DER certificate');
  if (options.nonce !== undefined && typeof options.nonce !== 'bigint') badInput('verifyTimestampToken: nonce must be a bigint');
  const roots = options.trustedRoots.map((r, i) => parseCertificate(r, `trusted root ${i + 1}`, 'INPUT_INVALID'));
  const { cms, tst } = readToken(token);
  const alg = options.imprintAlg ?? 'sha256';
  if (tst.hashAlgorithm !== IMPRINT_OIDS[alg]) invalid(`message imprint algorithm ${tst.hashAlgorithm} is not ${alg === 'sm3' ? 'SM3' : 'SHA-256'}`);
  if (!equalBytes(tst.hashedMessage, options.imprint)) invalid('the message imprint does not match the stamped digest');
  if (options.nonce !== undefined && tst.nonce !== options.nonce) invalid(tst.nonce === undefined ? 'the token has no nonce, but one was requested' : 'the nonce does not match the request');
  const signer = findSigner(cms);
  checkSignedAttributes(cms.signedAttrs);
  await checkSigningCertificate(cms.signedAttrs, signer);
  checkTimeStampingUsage(signer.cert);
  checkValidity(signer, tst);
  if (tst.tsa !== undefined) checkTsaName(tst.tsa, signer);
  const root = await verifyCms(cms, signer, roots, new Date(tst.genTime.ms));
  return describe(tst, signer, root);
}

function readToken(token: Uint8Array): { cms: Cms; tst: TstInfo } {
  if (!(token instanceof Uint8Array)) return invalid(`got ${typeof token}, want bytes`);
  if (token.length > MAX_TIMESTAMP_TOKEN_BYTES) invalid(`${token.length} bytes exceeds the ${MAX_TIMESTAMP_TOKEN_BYTES}-byte cap`);
  const cms = readCms(parseDer(token, 'time-stamp token'));
  return { cms, tst: parseTstInfo(cms.eContent) };
}

function describe(tst: TstInfo, signer: ParsedCertificate, root: ParsedCertificate | undefined): TimestampInfo {
  return {
    genTime: tst.genTime.text,
    genTimeMs: tst.genTime.ms,
    serialNumber: tst.serialNumber,
    policy: tst.policy,
    ...(tst.accuracy !== undefined ? { accuracy: tst.accuracy } : {}),
    ordering: tst.ordering,
    tsaName: tst.tsa !== undefined ? formatGeneralName(tst.tsa) : formatName(signer.subject),
    signerSubject: formatName(signer.subject),
    signerIssuer: formatName(signer.issuer),
    ...(root !== undefined ? { root: formatName(root.subject) } : {}),
    hashAlgorithm: tst.hashAlgorithm,
    ...(tst.nonce !== undefined ? { nonce: tst.nonce.toString(10) } : {}),
  };
}

/**
 * inspectTimestampToken reads what a token claims WITHOUT verifying anything (no signature, no
 * chain, no imprint): for showing "the token claims … by …" when no TSA root is pinned. Returns
 * undefined when the token does not parse or does not carry its signer's certificate.
 * Requires: nothing. Never use its result as evidence; `root` is always absent.
 */
export async function inspectTimestampToken(token: Uint8Array): Promise<TimestampInfo | undefined> {
  try {
    const { cms, tst } = readToken(token);
    return describe(tst, findSigner(cms), undefined);
  } catch (err) {
    if (err instanceof LedgerError) return undefined;
    throw err;
  }
}
