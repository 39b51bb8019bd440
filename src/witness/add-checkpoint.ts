/**
 * c2sp.org/tlog-witness `POST <submission prefix>/add-checkpoint`, as pure functions: parse the
 * request body and decide the answer from the witnessed logs and the latest cosigned state. No
 * I/O: the server signs, persists and answers (server.ts).
 *
 * Body (tlog-witness §add-checkpoint): `old <size>\n`, 0–63 consistency proof lines (base64 of one
 * 32-byte hash each), an empty line, then the signed checkpoint note.
 *
 * The checks, in the spec's order (tlog-witness §add-checkpoint, with C2SP PR #280, "clarify size
 * zero and size match handling", which made a same-size different-root request 422, not 409, and
 * required the empty-tree root at size 0):
 *
 *  1. malformed body or checkpoint                                        400
 *  2. unknown origin                                                      404
 *  3. no signature verifies against a key trusted for the origin          403
 *  4. old size above the checkpoint size                                  400
 *  5. old size ≠ latest cosigned size (0 if none): body "<size>\n",
 *     Content-Type text/x.tlog.size                                       409
 *  6. size 0 with a root other than H("") (RFC 6962 §2.1)                 422
 *  7. old size 0 with a non-empty proof ("the proof MUST be empty")       422
 *  8. old size = size with a root other than the cosigned one             422
 *  9. consistency proof from the cosigned (old size, root) fails          422
 * 10. otherwise                                                           200, cosignature line(s)
 *
 * H is the hash of the log's crypto suite, fixed by its configured key (SPEC.md#crypto-suites):
 * SHA-256 for an Ed25519 (`c2sp`) log, SM3 for a Guzheng `gm` log's SM2 key, in steps 6 and 9.
 * The cosignature is the witness's own (Ed25519 or ML-DSA-44) whatever the log's suite.
 *
 * Choices where the text leaves one (docs/witness.md#protocol):
 * - A malformed body or a checkpoint that is not a C2SP checkpoint is 400 (the spec names no code;
 *   400 is what it uses for the other malformed-request case, step 4). The checkpoint is parsed
 *   (not trusted) before the origin lookup, since the origin is its first line.
 * - A known key whose signature fails is 403 even if another known key's verifies: signed-note
 *   allows rejecting the whole note ("clients MAY reject the whole note"), and a log that sends a
 *   bad signature by its own key is broken.
 * - Proof lines must be canonical base64 of exactly 32 bytes; more than 63 is 400 ("The client
 *   MUST NOT send more than 63 consistency proof lines").
 * - A same-size request needs an empty proof (RFC 9162 §2.1.4.2: nothing to prove); a proof is 422.
 */
import { LedgerError, isLedgerError } from '../core/errors.js';
import { equalBytes, formatDecimal, fromBase64, fromUtf8, parseDecimal, toBase64 } from '../core/bytes.js';
import { parseCheckpoint, type ParsedCheckpoint } from '../core/checkpoint.js';
import { openNote } from '../core/note.js';
import { verifyConsistency } from '../core/merkle/verify.js';
import type { WitnessedLogs } from './config.js';
import type { CosignedRecord } from './state.js';

/** The most consistency proof lines a request may carry (tlog-witness §add-checkpoint). */
export const MAX_PROOF_LINES = 63;
/** The Content-Type of a 409 answer (tlog-witness §add-checkpoint). */
export const TLOG_SIZE_TYPE = 'text/x.tlog.size';

/** A parsed request body. */
export interface AddCheckpointRequest {
  readonly oldSize: bigint;
  readonly proof: readonly Uint8Array[];
  /** The signed checkpoint note (text, blank line, signature lines). */
  readonly note: string;
}

/** A refusal: the HTTP status, body and Content-Type to answer with. */
export interface Refusal {
  readonly ok: false;
  readonly status: 400 | 403 | 404 | 409 | 422;
  readonly body: string;
  readonly contentType: string;
  /** For 422 (and 409): the log signed this checkpoint, so the request may be evidence. */
  readonly signedByLog: boolean;
  readonly origin?: string;
}

/** An accepted checkpoint: the server cosigns `text` and stores it as the latest for `origin`. */
export interface Acceptance {
  readonly ok: true;
  readonly origin: string;
  readonly checkpoint: ParsedCheckpoint;
  /** The checkpoint note text (what the cosignature covers). */
  readonly text: string;
  /** The log's signature lines that verified (kept in the stored note, without newlines). */
  readonly logSignatures: readonly string[];
}

export type Decision = Refusal | Acceptance;

function refuse(status: Refusal['status'], message: string, extra: { signedByLog?: boolean; origin?: string } = {}): Refusal {
  return { ok: false, status, body: `${message}\n`, contentType: 'text/plain; charset=utf-8', signedByLog: extra.signedByLog ?? false, ...(extra.origin === undefined ? {} : { origin: extra.origin }) };
}

/**
 * parseAddCheckpointBody parses the request body strictly (strict UTF-8, canonical `old` decimal,
 * 0–63 proof lines of one base64 32-byte hash each, an empty line, a non-empty note). Returns the
 * request, or a 400 {@link Refusal} saying what is wrong.
 */
export function parseAddCheckpointBody(body: Uint8Array): AddCheckpointRequest | Refusal {
  let s: string;
  try {
    s = fromUtf8(body, 'body');
  } catch {
    return refuse(400, 'body is not valid UTF-8');
  }
  const first = s.indexOf('\n');
  if (first < 0) return refuse(400, 'want "old <size>" as the first line');
  const oldLine = s.slice(0, first);
  if (!oldLine.startsWith('old ')) return refuse(400, 'want "old <size>" as the first line');
  let oldSize: bigint;
  try {
    oldSize = parseDecimal(oldLine.slice(4), 'old size');
  } catch (err) {
    return refuse(400, isLedgerError(err) ? err.message : 'bad old size');
  }
  const proof: Uint8Array[] = [];
  let at = first + 1;
  for (;;) {
    const nl = s.indexOf('\n', at);
    if (nl < 0) return refuse(400, 'want an empty line between the proof and the checkpoint');
    const line = s.slice(at, nl);
    at = nl + 1;
    if (line === '') break;
    if (proof.length === MAX_PROOF_LINES) return refuse(400, `more than ${MAX_PROOF_LINES} consistency proof lines`);
    try {
      proof.push(fromBase64(line, 32, `proof line ${proof.length + 1}`));
    } catch (err) {
      return refuse(400, isLedgerError(err) ? err.message : 'bad proof line');
    }
  }
  const note = s.slice(at);
  if (note === '') return refuse(400, 'no checkpoint after the empty line');
  return { oldSize, proof, note };
}

/**
 * formatAddCheckpointBody is the inverse of {@link parseAddCheckpointBody}, for clients: `old <n>\n`,
 * one base64 hash per line, an empty line, the signed note. Requires: 0–63 hashes of 32 bytes and
 * a note ending in a newline, else `INPUT_INVALID`.
 */
export function formatAddCheckpointBody(oldSize: bigint, proof: readonly Uint8Array[], note: string): string {
  if (typeof oldSize !== 'bigint' || oldSize < 0n) throw new LedgerError('INPUT_INVALID', `add-checkpoint: got old size ${String(oldSize)}, want a uint64`);
  if (proof.length > MAX_PROOF_LINES || proof.some((h) => !(h instanceof Uint8Array) || h.length !== 32)) {
    throw new LedgerError('INPUT_INVALID', `add-checkpoint: want at most ${MAX_PROOF_LINES} 32-byte proof hashes`);
  }
  if (typeof note !== 'string' || !note.endsWith('\n')) throw new LedgerError('INPUT_INVALID', 'add-checkpoint: want a signed note ending in a newline');
  return `old ${formatDecimal(oldSize)}\n${proof.map((h) => `${toBase64(h)}\n`).join('')}\n${note}`;
}

function keyIdOfLine(line: string): { name: string; keyId: number } | undefined {
  const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
  if (!m) return undefined;
  try {
    const raw = fromBase64(m[2] as string);
    if (raw.length < 5) return undefined;
    return { name: m[1] as string, keyId: (((raw[0] as number) << 24) | ((raw[1] as number) << 16) | ((raw[2] as number) << 8) | (raw[3] as number)) >>> 0 };
  } catch {
    return undefined;
  }
}

/**
 * decideAddCheckpoint applies the checks listed above to a parsed request. `latest` is the
 * latest cosigned record for an origin (undefined if none). Pure; the caller must hold the
 * origin's lock from this call until the accepted record is committed.
 */
export function decideAddCheckpoint(
  req: AddCheckpointRequest,
  logs: WitnessedLogs,
  latest: (origin: string) => CosignedRecord | undefined,
): Decision {
  const split = req.note.lastIndexOf('\n\n');
  if (split < 0) return refuse(400, 'checkpoint: want a signed note (text, an empty line, signature lines)');
  const text = req.note.slice(0, split + 1);
  let cp: ParsedCheckpoint;
  try {
    cp = parseCheckpoint(text);
  } catch (err) {
    return refuse(400, isLedgerError(err) ? err.message : 'bad checkpoint');
  }
  const origin = cp.origin;
  const log = logs.get(origin);
  if (log === undefined) return refuse(404, `unknown log origin ${JSON.stringify(origin.slice(0, 200))}`);

  let verified: Array<{ name: string; keyId: number }>;
  try {
    verified = openNote(req.note, log.keys).verified;
  } catch (err) {
    if (isLedgerError(err, 'NOTE_MALFORMED')) return refuse(400, err.message, { origin });
    if (isLedgerError(err, 'NOTE_UNVERIFIED', 'SIGNATURE_INVALID')) return refuse(403, 'no valid signature by a key trusted for this origin', { origin });
    throw err;
  }

  if (req.oldSize > cp.size) return refuse(400, `old size ${req.oldSize} is above the checkpoint size ${cp.size}`, { origin });
  const prev = latest(origin);
  const prevSize = prev?.size ?? 0n;
  if (req.oldSize !== prevSize) {
    return { ok: false, status: 409, body: `${prevSize}\n`, contentType: TLOG_SIZE_TYPE, signedByLog: true, origin };
  }
  const inconsistent = (why: string) => refuse(422, why, { signedByLog: true, origin });
  // The log's suite decides the tree hashing (SPEC.md#crypto-suites): SM3 for a gm log.
  const tree = log.suite.tree;
  const empty = tree.emptyRoot();
  if (cp.size === 0n && !equalBytes(cp.root, empty)) return inconsistent(`a checkpoint of size 0 must have the empty tree root ${log.suite.id === 'gm' ? 'SM3' : 'SHA-256'}("")`);
  if (req.oldSize === 0n && req.proof.length > 0) return inconsistent('old size 0 needs an empty consistency proof');
  if (req.oldSize === cp.size) {
    const want = prev?.root ?? empty;
    if (!equalBytes(cp.root, want)) return inconsistent(`another root for size ${cp.size}, which this witness already cosigned`);
    if (req.proof.length > 0) return inconsistent('same size: the consistency proof must be empty');
  } else if (req.oldSize > 0n) {
    try {
      verifyConsistency(req.oldSize, cp.size, req.proof, (prev as CosignedRecord).root, cp.root, tree);
    } catch (err) {
      if (isLedgerError(err, 'PROOF_INVALID', 'INPUT_INVALID')) return inconsistent('consistency proof does not verify');
      throw err;
    }
  }

  const ids = new Set(verified.map((v) => `${v.name}+${v.keyId}`));
  const logSignatures = req.note
    .slice(split + 2, -1)
    .split('\n')
    .filter((line) => {
      const id = keyIdOfLine(line);
      return id !== undefined && ids.has(`${id.name}+${id.keyId}`);
    });
  if (logSignatures.length === 0) throw new Error('witness: bad math: verified note without a log signature line');
  return { ok: true, origin, checkpoint: cp, text, logSignatures };
}
