/**
 * TSTInfo, the signed content of an RFC 3161 time-stamp token (§2.4.2), parsed strictly from DER:
 * fields in order, version 1, a GeneralizedTime genTime in the one form §2.4.2 allows
 * (`YYYYMMDDhhmmss[.s+]Z`, no trailing fraction zeros), accuracy millis/micros in 1–999, ordering
 * FALSE omitted (DER default), no critical extension. Pure and synchronous; browser-safe.
 */
import { LedgerError } from '../core/errors.js';
import { toHex } from '../core/bytes.js';
import { TAG, derInteger, derOid, encodeDer, expectTag, parseDer, type DerNode } from './der.js';

/** The TSA's declared accuracy of genTime (RFC 3161 §2.4.2); absent subfields are 0. */
export interface TimestampAccuracy {
  readonly seconds: number;
  readonly millis: number;
  readonly micros: number;
}

/** A parsed TSTInfo. */
export interface TstInfo {
  readonly policy: string;
  /** The message imprint's hash algorithm OID. */
  readonly hashAlgorithm: string;
  readonly hashedMessage: Uint8Array;
  /** serialNumber as lowercase hex of its unsigned value, e.g. `02`. */
  readonly serialNumber: string;
  readonly genTime: GenTime;
  readonly accuracy?: TimestampAccuracy;
  readonly ordering: boolean;
  readonly nonce?: bigint;
  /** The `tsa` GeneralName (the node inside the [0] EXPLICIT tag), if present. */
  readonly tsa?: DerNode;
}

/** A genTime: its RFC 3339 spelling (the token's precision) and Unix time. */
export interface GenTime {
  /** RFC 3339 UTC, e.g. `2026-12-04T16:35:45.487Z`. */
  readonly text: string;
  /** Milliseconds since 1970-01-01T00:00:00Z, the fraction beyond milliseconds dropped. */
  readonly ms: number;
  /** True when the token states a fraction finer than a millisecond that `ms` dropped. */
  readonly subMs: boolean;
}

const invalid = (why: string): never => {
  throw new LedgerError('TIMESTAMP_INVALID', `time-stamp token: ${why}`);
};

/**
 * parseGeneralizedTime reads a genTime as RFC 3161 §2.4.2 requires it: UTC (`Z`), seconds
 * present, an optional fraction without trailing zeros. Requires: year 1970–9999.
 */
export function parseGeneralizedTime(text: string): GenTime {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d*[1-9]))?Z$/.exec(text);
  if (m === null) return invalid(`genTime ${JSON.stringify(text)} is not YYYYMMDDhhmmss[.fraction]Z`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const frac = m[7] ?? '';
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days || h > 23 || mi > 59 || s > 59) invalid(`genTime ${JSON.stringify(text)} is not a valid UTC time`);
  const ms = Date.UTC(y, mo - 1, d, h, mi, s) + Number(frac.slice(0, 3).padEnd(3, '0'));
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${frac === '' ? '' : `.${frac}`}Z`;
  return { text: iso, ms, subMs: frac.length > 3 };
}

/** An IMPLICIT-tagged INTEGER's value, checked as a DER INTEGER. */
function implicitInteger(node: DerNode, what: string): bigint {
  return derInteger(parseDer(encodeDer(TAG.INTEGER, node.value), what));
}

function smallInt(n: bigint, min: bigint, max: bigint, what: string): number {
  if (n < min || n > max) invalid(`${what} ${n} is outside ${min}–${max}`);
  return Number(n);
}

function parseAccuracy(node: DerNode): TimestampAccuracy {
  const f = [...node.children];
  const seconds = f[0]?.tag === TAG.INTEGER ? smallInt(derInteger(f.shift() as DerNode), 0n, BigInt(Number.MAX_SAFE_INTEGER), 'accuracy seconds') : 0;
  const millis = f[0]?.tag === 0x80 ? smallInt(implicitInteger(f.shift() as DerNode, 'accuracy millis'), 1n, 999n, 'accuracy millis') : 0;
  const micros = f[0]?.tag === 0x81 ? smallInt(implicitInteger(f.shift() as DerNode, 'accuracy micros'), 1n, 999n, 'accuracy micros') : 0;
  if (f.length > 0) invalid('accuracy has an unexpected field');
  return { seconds, millis, micros };
}

function checkExtensions(node: DerNode): void {
  for (const ext of node.children) {
    const f = expectTag(ext, TAG.SEQUENCE, 'TSTInfo extension').children;
    const id = derOid(expectTag(f[0], TAG.OID, 'TSTInfo extension id'));
    const critical = f[1]?.tag === TAG.BOOLEAN && f[1].value[0] === 0xff;
    if (f.length !== (f[1]?.tag === TAG.BOOLEAN ? 3 : 2)) invalid(`TSTInfo extension ${id} is malformed`);
    if (critical) invalid(`TSTInfo has critical extension ${id}, which this verifier does not understand`);
  }
}

/**
 * parseTstInfo parses DER TSTInfo bytes (the eContent of a token, RFC 3161 §2.4.2).
 * Requires: nothing; any deviation throws `LedgerError('TIMESTAMP_INVALID')`.
 */
export function parseTstInfo(der: Uint8Array): TstInfo {
  const root = expectTag(parseDer(der, 'TSTInfo'), TAG.SEQUENCE, 'TSTInfo');
  const f = [...root.children];
  const version = derInteger(expectTag(f.shift(), TAG.INTEGER, 'TSTInfo version'));
  if (version !== 1n) invalid(`TSTInfo version ${version}, want 1`);
  const policy = derOid(expectTag(f.shift(), TAG.OID, 'TSTInfo policy'));
  const imprint = expectTag(f.shift(), TAG.SEQUENCE, 'TSTInfo messageImprint');
  const alg = expectTag(imprint.children[0], TAG.SEQUENCE, 'TSTInfo hashAlgorithm');
  const params = alg.children[1];
  if (alg.children.length > 2 || (params !== undefined && params.tag !== TAG.NULL)) invalid('messageImprint hash algorithm parameters must be absent or NULL');
  const hashAlgorithm = derOid(expectTag(alg.children[0], TAG.OID, 'TSTInfo hashAlgorithm'));
  const hashedMessage = expectTag(imprint.children[1], TAG.OCTET_STRING, 'TSTInfo hashedMessage').value;
  if (imprint.children.length !== 2) invalid('messageImprint has extra fields');
  const serialNode = expectTag(f.shift(), TAG.INTEGER, 'TSTInfo serialNumber');
  if (derInteger(serialNode) < 0n || serialNode.value.length > 21) invalid('serialNumber must be a non-negative integer of at most 160 bits');
  const serialNumber = toHex(serialNode.value.length > 1 && serialNode.value[0] === 0 ? serialNode.value.subarray(1) : serialNode.value);
  const genTimeNode = expectTag(f.shift(), TAG.GENERALIZED_TIME, 'TSTInfo genTime');
  const genText = String.fromCharCode(...genTimeNode.value);
  const genTime = parseGeneralizedTime(genText);
  const accuracy = f[0]?.tag === TAG.SEQUENCE ? parseAccuracy(f.shift() as DerNode) : undefined;
  let ordering = false;
  if (f[0]?.tag === TAG.BOOLEAN) {
    ordering = (f.shift() as DerNode).value[0] === 0xff;
    if (!ordering) invalid('ordering FALSE must be omitted (DER default)');
  }
  const nonce = f[0]?.tag === TAG.INTEGER ? derInteger(f.shift() as DerNode) : undefined;
  let tsa: DerNode | undefined;
  if (f[0]?.tag === 0xa0) {
    const wrapper = f.shift() as DerNode;
    if (wrapper.children.length !== 1) invalid('tsa must hold exactly one GeneralName');
    tsa = wrapper.children[0];
  }
  if (f[0]?.tag === 0xa1) checkExtensions(f.shift() as DerNode);
  if (f.length > 0) invalid(`TSTInfo has an unexpected field with tag 0x${(f[0] as DerNode).tag.toString(16)}`);
  return {
    policy,
    hashAlgorithm,
    hashedMessage,
    serialNumber,
    genTime,
    ordering,
    ...(accuracy !== undefined ? { accuracy } : {}),
    ...(nonce !== undefined ? { nonce } : {}),
    ...(tsa !== undefined ? { tsa } : {}),
  };
}
