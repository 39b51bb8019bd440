/**
 * The RFC 3161 time-stamp protocol, client side (Node): format a TimeStampReq (§2.4.1), post it
 * over HTTP (§3.4), and parse the TimeStampResp (§2.4.2) strictly. The token inside a granted
 * response is returned as received; src/verifier/timestamp.ts verifies it, src/tsa/check.ts ties
 * the two together for the log.
 */
import { randomBytes } from 'node:crypto';
import { LedgerError, badInput } from '../core/errors.js';
import { TAG, derInteger, encodeDer, encodeInteger, encodeOid, expectTag, isOid, parseDer, type DerNode } from '../verifier/der.js';
import { concatBytes, fromUtf8 } from '../core/bytes.js';
import { IMPRINT_OIDS } from '../verifier/timestamp.js';

/** MIME type of a TimeStampReq body (RFC 3161 §3.4). */
export const TIMESTAMP_QUERY_TYPE = 'application/timestamp-query';
/** MIME type of a TimeStampResp body (RFC 3161 §3.4). */
export const TIMESTAMP_REPLY_TYPE = 'application/timestamp-reply';
/** The largest TimeStampResp accepted, bytes (1 MiB; real replies are a few KiB). */
export const MAX_TIMESTAMP_RESPONSE_BYTES = 1 << 20;
/** id-sha256 (RFC 5754 §2). */
export const ID_SHA256 = IMPRINT_OIDS.sha256;
/** SM3 (GB/T 33560-2017 / GM/T 0006): a `gm` log's imprint algorithm (SPEC.md#crypto-suites). */
export const ID_SM3 = IMPRINT_OIDS.sm3;

/** The imprint algorithms a request may name: the content digest algorithms of the crypto suites. */
export type ImprintAlg = keyof typeof IMPRINT_OIDS;

/** PKIStatus values by number (RFC 3161 §2.4.2). */
export const PKI_STATUS = ['granted', 'grantedWithMods', 'rejection', 'waiting', 'revocationWarning', 'revocationNotification'] as const;

/** PKIFailureInfo bit names by bit number (RFC 3161 §2.4.2). */
export const FAIL_INFO: Readonly<Record<number, string>> = {
  0: 'badAlg', 2: 'badRequest', 5: 'badDataFormat', 14: 'timeNotAvailable', 15: 'unacceptedPolicy',
  16: 'unacceptedExtension', 17: 'addInfoNotAvailable', 25: 'systemFailure',
};

/** What the log asks a TSA to stamp. */
export interface TimeStampRequest {
  /** H of the stamped bytes (for the log: the exact bytes of a signed checkpoint note). */
  readonly imprint: Uint8Array;
  /** H: `sha256` (default; `c2sp` logs) or `sm3` (`gm` logs), SPEC.md#what-the-log-stamps. */
  readonly hashAlg?: ImprintAlg;
  /** 1 ≤ nonce < 2^64; see {@link newNonce}. */
  readonly nonce: bigint;
  /** Always true: the log needs the TSA certificate inside the token to verify it offline. */
  readonly certReq: true;
  /** A TSA policy OID to ask for; absent lets the TSA choose. */
  readonly policy?: string;
}

/** A parsed TimeStampResp. */
export interface TimeStampResponse {
  /** PKIStatus, 0–5 (see {@link PKI_STATUS}). */
  readonly status: number;
  readonly statusText?: string[];
  /** PKIFailureInfo as a bit mask: bit i set when named bit i is (see {@link FAIL_INFO}). */
  readonly failInfo?: number;
  /** DER of the TimeStampToken ContentInfo, byte for byte as received; present iff status is 0 or 1. */
  readonly token?: Uint8Array;
}

/**
 * formatTimeStampReq encodes a version 1 TimeStampReq (RFC 3161 §2.4.1) as DER.
 * The hash AlgorithmIdentifier is id-sha256, or SM3 (1.2.156.10197.1.401) for a `gm` log, with its
 * parameters absent: RFC 5754 §2 says SHA-2 identifiers MUST be generated without parameters (and
 * accepted with absent or NULL ones); SM3 is written the same way, as GmSSL writes it, and OpenSSL
 * accepts it so (a TSA copies the AlgorithmIdentifier into the token, where either is accepted).
 * Requires: `imprint` is 32 bytes, `hashAlg` sha256 or sm3, 1 ≤ `nonce` ≤ 2^64−1, `certReq` is
 * true, `policy` a dotted OID.
 */
export function formatTimeStampReq(req: TimeStampRequest): Uint8Array {
  const alg = req.hashAlg ?? 'sha256';
  if (!Object.hasOwn(IMPRINT_OIDS, alg)) badInput(`time-stamp request: hashAlg ${JSON.stringify(String(alg).slice(0, 20))}, want sha256 or sm3`);
  if (!(req.imprint instanceof Uint8Array) || req.imprint.length !== 32) badInput(`time-stamp request: imprint must be a 32-byte ${alg === 'sm3' ? 'SM3' : 'SHA-256'} digest, got ${req.imprint instanceof Uint8Array ? `${req.imprint.length} bytes` : typeof req.imprint}`);
  if (typeof req.nonce !== 'bigint' || req.nonce < 1n || req.nonce >= 1n << 64n) badInput(`time-stamp request: nonce must be a bigint in [1, 2^64), got ${String(req.nonce)}`);
  if (req.certReq !== true) badInput('time-stamp request: certReq must be true');
  if (req.policy !== undefined && (typeof req.policy !== 'string' || !isOid(req.policy))) badInput(`time-stamp request: policy ${JSON.stringify(req.policy)} is not a dotted OID`);
  const imprint = encodeDer(TAG.SEQUENCE, encodeDer(TAG.SEQUENCE, encodeOid(IMPRINT_OIDS[alg])), encodeDer(TAG.OCTET_STRING, req.imprint));
  return encodeDer(
    TAG.SEQUENCE,
    encodeInteger(1n),
    imprint,
    ...(req.policy !== undefined ? [encodeOid(req.policy)] : []),
    encodeInteger(req.nonce),
    encodeDer(TAG.BOOLEAN, new Uint8Array([0xff])),
  );
}

/**
 * parseTimeStampResp parses a DER TimeStampResp (RFC 3161 §2.4.2) strictly: one DER value, no
 * trailing bytes, status 0–5, UTF-8 status strings, a failInfo of at most 32 bits, and a token
 * present exactly when the status is granted (0) or grantedWithMods (1). The token is only checked
 * to be a SEQUENCE here; verify it with verifyTimestampToken.
 * Requires: at most {@link MAX_TIMESTAMP_RESPONSE_BYTES}. Throws `LedgerError('TIMESTAMP_INVALID')`.
 */
export function parseTimeStampResp(der: Uint8Array): TimeStampResponse {
  const invalid = (why: string): never => {
    throw new LedgerError('TIMESTAMP_INVALID', `TSA reply: ${why}`);
  };
  if (!(der instanceof Uint8Array)) return invalid(`got ${typeof der}, want bytes`);
  if (der.length > MAX_TIMESTAMP_RESPONSE_BYTES) invalid(`${der.length} bytes exceeds the ${MAX_TIMESTAMP_RESPONSE_BYTES}-byte cap`);
  const resp = expectTag(parseDer(der, 'TSA reply'), TAG.SEQUENCE, 'TSA reply');
  if (resp.children.length < 1 || resp.children.length > 2) invalid(`TimeStampResp has ${resp.children.length} fields, want 1 or 2`);
  const info = expectTag(resp.children[0], TAG.SEQUENCE, 'TSA reply: PKIStatusInfo');
  const fields = [...info.children];
  const statusNode = expectTag(fields.shift(), TAG.INTEGER, 'TSA reply: status');
  const status = derInteger(statusNode);
  if (status < 0n || status > 5n) invalid(`status ${status} is not a PKIStatus (0–5)`);
  let statusText: string[] | undefined;
  if (fields[0]?.tag === TAG.SEQUENCE) statusText = parseFreeText(fields.shift() as DerNode);
  let failInfo: number | undefined;
  if (fields[0]?.tag === TAG.BIT_STRING) failInfo = parseFailInfo(fields.shift() as DerNode);
  if (fields.length > 0) invalid(`unexpected field with tag 0x${(fields[0] as DerNode).tag.toString(16)} in PKIStatusInfo`);
  const tokenNode = resp.children[1];
  const granted = status === 0n || status === 1n;
  if (granted && tokenNode === undefined) invalid(`status ${PKI_STATUS[Number(status)]} but no time-stamp token`);
  if (!granted && tokenNode !== undefined) invalid(`status ${PKI_STATUS[Number(status)]} but a time-stamp token is present`);
  if (tokenNode !== undefined) expectTag(tokenNode, TAG.SEQUENCE, 'TSA reply: time-stamp token');
  return {
    status: Number(status),
    ...(statusText !== undefined ? { statusText } : {}),
    ...(failInfo !== undefined ? { failInfo } : {}),
    ...(tokenNode !== undefined ? { token: tokenNode.raw.slice() } : {}),
  };
}

function parseFreeText(node: DerNode): string[] {
  if (node.children.length === 0) throw new LedgerError('TIMESTAMP_INVALID', 'TSA reply: empty statusString');
  return node.children.map((s) => {
    expectTag(s, TAG.UTF8_STRING, 'TSA reply: statusString');
    try {
      return fromUtf8(s.value, 'statusString');
    } catch (cause) {
      throw new LedgerError('TIMESTAMP_INVALID', 'TSA reply: statusString is not UTF-8', { cause });
    }
  });
}

function parseFailInfo(node: DerNode): number {
  const bits = node.value.subarray(1);
  if (bits.length > 4) throw new LedgerError('TIMESTAMP_INVALID', `TSA reply: failInfo has ${bits.length * 8} bits, want at most 32`);
  let mask = 0;
  bits.forEach((b, i) => {
    for (let j = 0; j < 8; j++) if (b & (0x80 >> j)) mask |= 1 << (8 * i + j);
  });
  return mask >>> 0;
}

/**
 * describeStatus renders a response's status for messages, e.g.
 * `rejection: "Requested policy is not supported." (failInfo unacceptedPolicy)`.
 */
export function describeStatus(resp: TimeStampResponse): string {
  let out = PKI_STATUS[resp.status] ?? `status ${resp.status}`;
  if (resp.statusText !== undefined) out += `: ${resp.statusText.map((t) => JSON.stringify(t)).join(', ')}`;
  if (resp.failInfo !== undefined && resp.failInfo !== 0) {
    const names: string[] = [];
    for (let i = 0; i < 32; i++) if ((resp.failInfo >>> i) & 1) names.push(FAIL_INFO[i] ?? `bit ${i}`);
    out += ` (failInfo ${names.join(', ')})`;
  }
  return out;
}

/** newNonce draws a uniformly random nonce in [1, 2^64) for {@link formatTimeStampReq} (RFC 3161 §2.4.1). */
export function newNonce(): bigint {
  for (;;) {
    const n = randomBytes(8).readBigUInt64BE();
    if (n !== 0n) return n;
  }
}

/** Why a TSA could not be asked: the fault is the network or the TSA's availability, not a bad reply. */
export type TsaUnavailableReason = 'unreachable' | 'timeout' | 'http-status';

/**
 * TsaUnavailableError: the TSA did not answer a time-stamp query (connection refused or reset,
 * deadline passed, or an HTTP status other than 200). Operational and usually transient, like
 * StoreUnavailableError; a reply that arrives but is wrong is a `LedgerError('TIMESTAMP_INVALID')`.
 */
export class TsaUnavailableError extends Error {
  readonly reason: TsaUnavailableReason;
  constructor(reason: TsaUnavailableReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TsaUnavailableError';
    this.reason = reason;
  }
}

/** Options of {@link postTimeStampQuery}. */
export interface PostOptions {
  /** Deadline for the whole exchange, ms (default 10,000). */
  readonly timeoutMs?: number;
  /** The fetch to use (default the global one). */
  readonly fetch?: typeof fetch;
}

/**
 * postTimeStampQuery posts a DER TimeStampReq to `url` (RFC 3161 §3.4: `POST`,
 * `Content-Type: application/timestamp-query`) and returns the reply body, read up to
 * {@link MAX_TIMESTAMP_RESPONSE_BYTES}. Throws {@link TsaUnavailableError} when there is no usable
 * answer (network, deadline, HTTP status ≠ 200) and `LedgerError('TIMESTAMP_INVALID')` when the
 * answer is not an `application/timestamp-reply` or is too large. Parse the result with
 * {@link parseTimeStampResp}.
 * Requires: `url` is an http(s) URL; `query` comes from {@link formatTimeStampReq}.
 */
export async function postTimeStampQuery(url: string, query: Uint8Array, options: PostOptions = {}): Promise<Uint8Array> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const doFetch = options.fetch ?? fetch;
  const signal = AbortSignal.timeout(timeoutMs);
  const failed = (cause: unknown): never => {
    if (signal.aborted) throw new TsaUnavailableError('timeout', `TSA ${url} did not answer within ${timeoutMs} ms`, { cause });
    const why = cause instanceof Error ? (cause.cause instanceof Error ? cause.cause.message : cause.message) : String(cause);
    throw new TsaUnavailableError('unreachable', `TSA ${url} is unreachable: ${why}`, { cause });
  };
  let res: Response;
  try {
    res = await doFetch(url, { method: 'POST', headers: { 'content-type': TIMESTAMP_QUERY_TYPE, accept: TIMESTAMP_REPLY_TYPE }, body: query, signal, redirect: 'error' });
  } catch (cause) {
    return failed(cause);
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined);
    throw new TsaUnavailableError('http-status', `TSA ${url} answered HTTP ${res.status}`);
  }
  const type = (res.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== TIMESTAMP_REPLY_TYPE) {
    await res.body?.cancel().catch(() => undefined);
    throw new LedgerError('TIMESTAMP_INVALID', `TSA reply: Content-Type ${JSON.stringify(type)}, want ${TIMESTAMP_REPLY_TYPE}`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    if (res.body !== null) {
      for await (const chunk of res.body) {
        total += chunk.length;
        if (total > MAX_TIMESTAMP_RESPONSE_BYTES) {
          await res.body.cancel().catch(() => undefined);
          throw new LedgerError('TIMESTAMP_INVALID', `TSA reply: more than ${MAX_TIMESTAMP_RESPONSE_BYTES} bytes`);
        }
        chunks.push(chunk);
      }
    }
  } catch (cause) {
    if (cause instanceof LedgerError) throw cause;
    return failed(cause);
  }
  return concatBytes(...chunks);
}
