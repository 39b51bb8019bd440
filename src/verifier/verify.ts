/**
 * Offline verification of receipts and tlog-proofs against pinned log keys (SPEC.md#verification).
 * No network, no storage, no platform crypto beyond src/core/crypto.ts: runs in Node and in the
 * browser. Every check runs that can, so a failed receipt says everything that is wrong with it,
 * not just the first thing.
 */
import { equalBytes, toHex, formatDecimal } from '../core/bytes.js';
import { blockHash, blockOfCheckpoint, verifyBlock, type Block } from '../core/block.js';
import { openCheckpoint, type OpenedCheckpoint } from '../core/checkpoint.js';
import { decodeEntry, digestBytes, digestRecord, digestSchema, type Digest, type Entry } from '../core/entry/index.js';
import { InconsistencyError, LedgerError, isLedgerError, type ErrorCode } from '../core/errors.js';
import { suiteOfKey, type CryptoSuite } from '../core/suite.js';
import { verifyConsistency, verifyInclusion } from '../core/merkle/verify.js';
import { parseVerifierKey, splitNote, type VerifierKey } from '../core/note.js';
import { RECEIPT_FORMAT, RECEIPT_FORMAT_V1, parseReceipt } from '../core/receipt.js';
import { stampImprint, type Stamp } from '../core/stamp.js';
import { openCosigned, type CosignedCheckpoint } from '../core/cosignature.js';
import { evaluateQuorum, type Policy } from '../core/policy.js';
import { inspectTimestampToken, verifyTimestampToken, type TimestampInfo } from './timestamp.js';
import { parseGuzhengExtra, parseTlogProof } from '../core/tlog-proof.js';
import type { Check, CheckId, ReportFacts, TimestampTokenFact, VerificationReport } from './report.js';

/** The content to compare with the entry's digest: the file's bytes, a JSON record, or a digest. */
export type Content = { readonly bytes: Uint8Array } | { readonly record: unknown } | { readonly digest: Digest };

/** Options for verification. */
export interface VerifyOptions {
  /** The log verifier keys the caller pins (`name+keyid+base64`); at least one. */
  readonly trustedKeys: ReadonlyArray<string | VerifierKey>;
  /** The original content, if the caller has it. */
  readonly content?: Content;
  /**
   * Root certificates (DER) of the time-stamping authorities the caller trusts. With none, a time
   * stamp's time is reported as unverified (the `timestamp` check skips); with some, a token that
   * does not verify and chain to one of them fails the verification.
   */
  readonly trustedTsaRoots?: readonly Uint8Array[];
  /**
   * The witness policy (C2SP tlog-policy, from parsePolicy) the checkpoint must meet: only valid
   * cosignatures by its witnesses over the exact checkpoint text count. Without one, cosignatures
   * are not required (the `cosignatures` check skips).
   */
  readonly policy?: Policy;
}

/**
 * What a receipt, a tlog-proof or a bundle item contributes, normalized. Internal: shared with
 * src/verifier/bundle.ts, not exported from the verifier entry point.
 */
export interface ProofInput {
  readonly index: bigint;
  readonly entryBytes: Uint8Array;
  readonly statedLeafHash?: Uint8Array;
  readonly inclusionProof: readonly Uint8Array[];
  readonly checkpoint: string;
  readonly block?: Block;
  readonly blockConsistency?: readonly Uint8Array[];
  /** The key the document names (informative; never trusted). */
  readonly namedKey?: string;
  /** A tlog-proof carried `extra` that is not Guzheng's block payload. */
  readonly extraIgnored?: boolean;
  /** The time stamp: null when the log had none yet, undefined when the format carries none. */
  readonly timestamp?: Stamp | null;
  /** Why there is no `timestamp` member at all (said in the skipped check). */
  readonly noTimestampBecause?: string;
}

class ReportBuilder {
  readonly checks: Check[] = [];
  readonly facts: ReportFacts = {};
  pass(id: CheckId, message: string): void {
    this.checks.push({ id, status: 'pass', message });
  }
  fail(id: CheckId, code: ErrorCode, message: string): void {
    this.checks.push({ id, status: 'fail', code, message });
  }
  skip(id: CheckId, message: string): void {
    this.checks.push({ id, status: 'skip', message });
  }
  /** Run `f`; a LedgerError becomes a failed check, anything else is a bug and propagates. */
  run(id: CheckId, f: () => string): boolean {
    try {
      this.pass(id, f());
      return true;
    } catch (err) {
      if (!isLedgerError(err)) throw err;
      this.fail(id, err.code, err.message);
      return false;
    }
  }
  /** As {@link run}, for a check that awaits (WebCrypto); `f` may also decide to skip. */
  async runAsync(id: CheckId, f: () => Promise<{ skip: string } | string>): Promise<void> {
    try {
      const r = await f();
      if (typeof r === 'string') this.pass(id, r);
      else this.skip(id, r.skip);
    } catch (err) {
      if (!isLedgerError(err)) throw err;
      this.fail(id, err.code, err.message);
    }
  }
  report(required: CheckId[]): VerificationReport {
    const failed = this.checks.some((c) => c.status === 'fail');
    const passed = (id: CheckId) => this.checks.some((c) => c.id === id && c.status === 'pass');
    return { valid: !failed && required.every(passed), checks: this.checks, facts: this.facts };
  }
}

/**
 * Memoized results of the expensive checks, for verifying many proofs against ONE proving
 * checkpoint (a bundle): each note is opened once, each block verified once, each block's
 * consistency proof checked once. Keyed by note text and by block object identity, so a cache is
 * valid only while the proving checkpoint and the blocks' proofs stay the same. Internal.
 */
export class VerifyCache {
  readonly notes = new Map<string, { opened: OpenedCheckpoint; key: VerifierKey } | LedgerError>();
  readonly blocks = new Map<Block, OpenedCheckpoint | LedgerError>();
  readonly consistency = new Map<Block, string | LedgerError>();
  /** Token verification per stamp (by identity), shared by the items of a bundle. */
  readonly stamps = new Map<Stamp, Promise<VerifiedStamp>>();
  /** Cosignatures sorted out per proving note. */
  readonly cosigned = new Map<string, CosignedCheckpoint | LedgerError>();
}

/** memo returns the cached value or rethrows the cached error; else computes, caches and returns. */
function memo<K, V>(map: Map<K, V | LedgerError> | undefined, key: K, f: () => V): V {
  const hit = map?.get(key);
  if (hit instanceof LedgerError) throw hit;
  if (hit !== undefined) return hit;
  try {
    const v = f();
    map?.set(key, v);
    return v;
  } catch (err) {
    if (isLedgerError(err)) map?.set(key, err);
    throw err;
  }
}

/** pinnedKeys parses the caller's pinned keys. Throws INPUT_INVALID (none) or KEY_MALFORMED. Internal. */
export function pinnedKeys(options: Pick<VerifyOptions, 'trustedKeys'>): VerifierKey[] {
  if (!options || !Array.isArray(options.trustedKeys) || options.trustedKeys.length === 0) {
    throw new LedgerError('INPUT_INVALID', 'verify: no trusted log key given; pin the log verifier key');
  }
  return options.trustedKeys.map((k) => (typeof k === 'string' ? parseVerifierKey(k) : k));
}

/** Open the checkpoint with the first pinned key that verifies it; else the most telling error. */
function openWithPinned(note: string, keys: readonly VerifierKey[]): { opened: OpenedCheckpoint; key: VerifierKey } {
  let best: LedgerError | undefined;
  const rank = (e: LedgerError) => (e.code === 'SIGNATURE_INVALID' ? 3 : e.code === 'NOTE_UNVERIFIED' ? 1 : 2);
  for (const key of keys) {
    try {
      return { opened: openCheckpoint(note, key), key };
    } catch (err) {
      if (!isLedgerError(err)) throw err;
      if (best === undefined || rank(err) > rank(best)) best = err;
    }
  }
  throw best ?? new LedgerError('NOTE_UNVERIFIED', 'checkpoint: no pinned key');
}

/** contentDigest computes a content's digest with algorithm `alg` (a given digest is validated). Throws INPUT_INVALID. Internal. */
export function contentDigest(content: Content, alg: Digest['alg']): Digest {
  if ('bytes' in content) return digestBytes(content.bytes, alg);
  if ('record' in content) return digestRecord(content.record, alg);
  const r = digestSchema.safeParse(content.digest);
  if (!r.success) throw new LedgerError('INPUT_INVALID', `content digest: want {alg: "sha256", hex: 64 lowercase hex digits}`);
  return r.data;
}

async function runChecks(b: ReportBuilder, input: ProofInput, keys: readonly VerifierKey[], options: CheckOptions, cache?: VerifyCache): Promise<void> {
  const content = options.content;
  b.facts.index = formatDecimal(input.index);
  // checkpoint: the only source of a trusted size and root.
  let cp: OpenedCheckpoint | undefined;
  let key: VerifierKey | undefined;
  b.run('checkpoint', () => {
    try {
      ({ opened: cp, key } = memo(cache?.notes, input.checkpoint, () => openWithPinned(input.checkpoint, keys)));
    } catch (err) {
      if (isLedgerError(err, 'NOTE_UNVERIFIED') && input.namedKey !== undefined) {
        throw new LedgerError('NOTE_UNVERIFIED', `checkpoint is not signed by any pinned key (the receipt names ${input.namedKey})`);
      }
      throw err;
    }
    const c = cp.checkpoint;
    Object.assign(b.facts, { origin: c.origin, treeSize: formatDecimal(c.size), rootHash: toHex(c.root), verifierKey: key.text });
    return `signed by pinned key ${key.name}+${key.keyId.toString(16).padStart(8, '0')}: tree size ${c.size}`;
  });

  // The suite is the pinned key's (SPEC.md#crypto-suites), never the document's: the key that
  // verified the checkpoint, else the first pinned key (all pinned keys are one log's, normally).
  const suite: CryptoSuite = suiteOfKey(key ?? keys[0] ?? {});
  const H = suite.id === 'gm' ? 'SM3' : 'SHA-256';
  const leafHash = suite.tree.hashLeaf(input.entryBytes);
  b.facts.leafHash = toHex(leafHash);
  if (suite.id === 'gm') b.facts.suite = 'gm';
  let entry: Entry | undefined;
  b.run('entry', () => {
    const e = decodeEntry(input.entryBytes);
    if (e.digest.alg !== suite.digestAlg) {
      throw new LedgerError('ENTRY_INVALID', `entry digest ${e.digest.alg}: a ${suite.id} log's entries have ${suite.digestAlg} digests`);
    }
    entry = e;
    b.facts.entry = e;
    return `entry v${e.v} of type ${e.type}, ${e.digest.alg} ${e.digest.hex}, received ${e.receivedAt}`;
  });

  if (input.statedLeafHash === undefined) b.skip('leaf-hash', 'no leaf hash stated; computed from the entry bytes');
  else
    b.run('leaf-hash', () => {
      if (!equalBytes(leafHash, input.statedLeafHash as Uint8Array)) {
        throw new LedgerError('RECEIPT_MALFORMED', `stated leaf hash ${toHex(input.statedLeafHash as Uint8Array)} is not ${H}(0x00 || entry) = ${toHex(leafHash)}`);
      }
      return `${H}(0x00 || entry) = ${toHex(leafHash)}`;
    });

  if (content === undefined) b.skip('content', 'no file, record or digest given: the content itself was not compared');
  else if (entry === undefined) b.skip('content', 'entry could not be decoded');
  else {
    const e = entry;
    b.run('content', () => {
      const got = contentDigest(content, e.digest.alg);
      if (got.alg !== e.digest.alg || got.hex !== e.digest.hex) {
        throw new LedgerError('DIGEST_MISMATCH', `content ${got.alg} ${got.hex} differs from the anchored ${e.digest.alg} ${e.digest.hex}`);
      }
      return `content ${got.alg} digest matches the anchored ${e.digest.hex}`;
    });
  }

  if (cp === undefined) b.skip('inclusion', 'no verified checkpoint to prove against');
  else {
    const c = cp.checkpoint;
    b.run('inclusion', () => {
      verifyInclusion(input.index, c.size, leafHash, input.inclusionProof, c.root, suite.tree);
      return `leaf ${input.index} is in the tree of size ${c.size} with root ${toHex(c.root)}`;
    });
  }

  checkBlock(b, input, cp, key, cache);
  await checkTimestamp(b, input, cp, key, options.trustedTsaRoots ?? [], cache);
  checkCosignatures(b, input, cp, key, options.policy, cache);
}

/** The per-document options of the check pipeline. */
export type CheckOptions = Pick<VerifyOptions, 'content' | 'trustedTsaRoots' | 'policy'>;

/**
 * checkCosignatures runs the `cosignatures` check (SPEC.md#witnesses): the proving checkpoint's
 * valid cosignatures by the policy's witnesses, over its exact text, must meet the quorum.
 * Unknown signature lines are ignored; a failed line by a pinned witness is not counted.
 */
function checkCosignatures(b: ReportBuilder, input: ProofInput, cp: OpenedCheckpoint | undefined, key: VerifierKey | undefined, policy: Policy | undefined, cache: VerifyCache | undefined): void {
  if (policy === undefined) {
    const others = cp?.unverified.length ?? 0;
    return b.skip('cosignatures', `no witness policy given: cosignatures not required${others > 0 ? ` (${others} signature line(s) by other keys, not checked)` : ''}`);
  }
  if (cp === undefined || key === undefined) return b.skip('cosignatures', 'no verified checkpoint');
  b.run('cosignatures', () => {
    const c = memo(cache?.cosigned, input.checkpoint, () => openCosigned(input.checkpoint, key, policy.witnesses.map((w) => w.key)));
    const q = evaluateQuorum(policy, c.cosignatures);
    const witnesses = q.perWitness.map((w) => ({ name: w.name, key: w.key, cosigned: w.cosigned, ...(w.time !== undefined && w.time > 0n ? { time: new Date(Number(w.time) * 1000).toISOString() } : {}) }));
    b.facts.cosignatures = { quorum: q.quorum, met: q.met, witnesses, failed: c.failed.length };
    const seen = witnesses.filter((w) => w.cosigned).map((w) => (w.time === undefined ? w.name : `witness ${w.name} had seen this checkpoint by ${w.time}`));
    if (!q.met) {
      throw new LedgerError('QUORUM_NOT_MET', `quorum ${q.quorum} not met: valid cosignatures by ${seen.length === 0 ? 'no witness of the policy' : seen.join('; ')}${c.failed.length > 0 ? `; ${c.failed.length} cosignature line(s) by policy witnesses do not verify` : ''}`);
    }
    return `quorum ${q.quorum} met: ${seen.join('; ') || 'no cosignature needed'}`;
  });
}

function checkBlock(b: ReportBuilder, input: ProofInput, cp: OpenedCheckpoint | undefined, key: VerifierKey | undefined, cache: VerifyCache | undefined): void {
  const block = input.block;
  if (block === undefined) {
    const why = input.extraIgnored ? 'the tlog-proof has "extra" data that is not Guzheng block data; no block was checked' : 'no block given (a plain tlog-proof)';
    b.skip('block', why);
    b.skip('block-consistency', 'no block given');
    return;
  }
  if (cp === undefined || key === undefined) {
    b.skip('block', 'no verified checkpoint');
    b.skip('block-consistency', 'no verified checkpoint');
    return;
  }
  let blockCp: OpenedCheckpoint | undefined;
  const ok = b.run('block', () => {
    blockCp = memo(cache?.blocks, block, () => verifyBlock(block, key));
    const end = block.first + block.count;
    if (input.index < block.first || input.index >= end) {
      throw new LedgerError('BLOCK_INVALID', `block ${block.height} seals leaves [${block.first}, ${end}), not ${input.index}`);
    }
    if (blockCp.checkpoint.size > cp.checkpoint.size) {
      throw new LedgerError('BLOCK_INVALID', `block ${block.height} (size ${blockCp.checkpoint.size}) is newer than the proving checkpoint (size ${cp.checkpoint.size})`);
    }
    Object.assign(b.facts, { blockHeight: formatDecimal(block.height), blockHash: toHex(blockHash(block, suiteOfKey(key))), blockFormat: block.format === 2 ? '2' : '1' });
    if (block.format === 2) {
      b.facts.blockTime = block.time;
      return `sealed in block ${block.height} at ${block.time} (signed by the log), leaves [${block.first}, ${end})`;
    }
    b.facts.blockTimeUnsigned = block.time;
    return `sealed in format-1 block ${block.height}, leaves [${block.first}, ${end}); the log sealed it before blocks were signed, so its height, prev and time (${block.time}) are not authenticated`;
  });
  if (!ok || blockCp === undefined) {
    b.skip('block-consistency', 'block not verified');
    return;
  }
  const small = blockCp;
  b.run('block-consistency', () =>
    memo(cache?.consistency, block, () => {
      try {
        verifyConsistency(small.checkpoint.size, cp.checkpoint.size, input.blockConsistency ?? [], small.checkpoint.root, cp.checkpoint.root, suiteOfKey(key).tree);
      } catch (err) {
        if (!isLedgerError(err, 'PROOF_INVALID')) throw err;
        // Equal sizes with different roots, both signed by the pinned key, is conclusive: a fork.
        if (small.checkpoint.size === cp.checkpoint.size && !equalBytes(small.checkpoint.root, cp.checkpoint.root)) {
          throw new InconsistencyError(small.note, cp.note, [], `two checkpoints of size ${cp.checkpoint.size} signed by the log key have different roots: the log forked`);
        }
        // Otherwise the receipt's proof may simply be damaged: a failed proof, not a fraud proof.
        throw new LedgerError('PROOF_INVALID', `the block-consistency proof does not show the block checkpoint (size ${small.checkpoint.size}) is a prefix of the proving checkpoint (size ${cp.checkpoint.size})`);
      }
      return small.checkpoint.size === cp.checkpoint.size
        ? 'the block seals the proving checkpoint itself'
        : `block checkpoint (size ${small.checkpoint.size}) is a prefix of the proving checkpoint (size ${cp.checkpoint.size})`;
    }),
  );
}

const REQUIRED: CheckId[] = ['format', 'checkpoint', 'entry', 'inclusion'];

/**
 * verifyProofInput runs the check pipeline on an already parsed document: `format` passes with
 * `formatMessage`, then checkpoint, entry, leaf-hash, content, inclusion, block and
 * block-consistency. With a {@link VerifyCache}, shared work is done once. Internal: the entry
 * points are verifyReceipt, verifyTlogProof and verifyBundle.
 */
export async function verifyProofInput(
  formatMessage: string,
  input: ProofInput,
  keys: readonly VerifierKey[],
  options: CheckOptions,
  cache?: VerifyCache,
): Promise<VerificationReport> {
  const b = new ReportBuilder();
  b.pass('format', formatMessage);
  await runChecks(b, input, keys, options, cache);
  return b.report(REQUIRED);
}

/**
 * verifyReceipt checks a Guzheng receipt (guzheng-receipt/v2 or v1; JSON value or text) offline
 * against pinned log keys, optionally pinned TSA roots, and optionally the original content. Never
 * rejects for a bad receipt: the report says what failed. Rejects with `INPUT_INVALID` /
 * `KEY_MALFORMED` only for bad options (no or malformed pinned keys). Asynchronous because time
 * stamp tokens are verified with WebCrypto.
 *
 * @example
 * const report = await verifyReceipt(JSON.parse(receiptText), { trustedKeys: [logKey], trustedTsaRoots: [tsaRootDer], content: { bytes: pdf } });
 * if (!report.valid) console.log(report.checks.filter((c) => c.status === 'fail'));
 */
export async function verifyReceipt(receipt: unknown, options: VerifyOptions): Promise<VerificationReport> {
  const keys = pinnedKeys(options);
  const b = new ReportBuilder();
  let parsed;
  try {
    parsed = parseReceipt(receipt);
  } catch (err) {
    if (!isLedgerError(err)) throw err;
    b.fail('format', err.code, err.message);
    return b.report(REQUIRED);
  }
  b.pass('format', parsed.format === 2 ? RECEIPT_FORMAT : RECEIPT_FORMAT_V1);
  await runChecks(
    b,
    {
      index: parsed.index,
      entryBytes: parsed.entryBytes,
      statedLeafHash: parsed.leafHash,
      inclusionProof: parsed.inclusionProof,
      checkpoint: parsed.checkpoint,
      block: parsed.block,
      blockConsistency: parsed.blockConsistency,
      namedKey: parsed.verifierKey,
      ...(parsed.timestamp === undefined ? { noTimestampBecause: `a ${RECEIPT_FORMAT_V1} receipt carries no time stamp` } : { timestamp: parsed.timestamp }),
    },
    keys,
    options,
  );
  return b.report(REQUIRED);
}

/**
 * verifyTlogProof checks a C2SP tlog-proof text with the exact entry bytes given separately.
 * Guzheng's block data in `extra`, if present, is checked too; otherwise the block checks skip.
 */
export async function verifyTlogProof(text: string, entryBytes: Uint8Array, options: VerifyOptions): Promise<VerificationReport> {
  const keys = pinnedKeys(options);
  const b = new ReportBuilder();
  let parsed;
  try {
    parsed = parseTlogProof(text);
    if (!(entryBytes instanceof Uint8Array)) throw new LedgerError('INPUT_INVALID', 'entry bytes are required with a tlog-proof');
  } catch (err) {
    if (!isLedgerError(err)) throw err;
    b.fail('format', err.code, err.message);
    return b.report(REQUIRED);
  }
  b.pass('format', 'c2sp.org/tlog-proof@v1');
  const extra = parseGuzhengExtra(parsed.extra);
  await runChecks(
    b,
    {
      index: parsed.index,
      entryBytes,
      inclusionProof: parsed.inclusionProof,
      checkpoint: parsed.checkpoint,
      ...(extra === undefined ? { extraIgnored: parsed.extra !== undefined } : { block: extra.block, blockConsistency: extra.blockConsistency }),
      ...(extra?.timestamp === undefined ? { noTimestampBecause: 'the tlog-proof carries no Guzheng time stamp' } : { timestamp: extra.timestamp }),
    },
    keys,
    options,
  );
  return b.report(REQUIRED);
}

/** What the tokens of one stamp established (the synchronous checks are redone per document). */
interface VerifiedStamp {
  readonly tokens: TimestampTokenFact[];
}

/** describeInfo turns a verified token's details into report facts. */
function describeInfo(info: TimestampInfo, verified: boolean): TimestampTokenFact {
  const a = info.accuracy;
  const accuracy = a === undefined ? undefined : String((a.seconds ?? 0) + (a.millis ?? 0) / 1e3 + (a.micros ?? 0) / 1e6);
  return {
    verified,
    tsa: info.tsaName,
    genTime: info.genTime,
    serial: info.serialNumber,
    policy: info.policy,
    ...(accuracy === undefined ? {} : { accuracy }),
    ...(verified && info.root !== undefined ? { root: info.root } : {}),
  };
}

/**
 * checkTimestamp runs the `timestamp` check (SPEC.md#verifying-a-time-stamp): the stamped
 * checkpoint opens under the pinned key that opened the proving checkpoint and is exactly the
 * note as the log signed it; it covers the entry and is a prefix of the proving checkpoint
 * (consistency proof); every token's imprint is SHA-256 of that note and, with pinned TSA roots,
 * each token verifies and chains to one of them. Without pinned roots the check skips and the
 * time is reported as unverified.
 */
async function checkTimestamp(
  b: ReportBuilder,
  input: ProofInput,
  cp: OpenedCheckpoint | undefined,
  key: VerifierKey | undefined,
  roots: readonly Uint8Array[],
  cache: VerifyCache | undefined,
): Promise<void> {
  const stamp = input.timestamp;
  if (stamp === undefined) return b.skip('timestamp', input.noTimestampBecause ?? 'no time stamp given');
  if (stamp === null) {
    return b.skip('timestamp', 'no trusted time stamp yet: no time-stamped checkpoint covered this entry when the document was made; fetch the receipt again later (GET /v1/receipts/{index})');
  }
  if (cp === undefined || key === undefined) return b.skip('timestamp', 'no verified checkpoint');
  const proving = cp.checkpoint;
  await b.runAsync('timestamp', async () => {
    // The stamped checkpoint is a signed block's: open it under the pinned key, with its header.
    const header = blockOfCheckpoint(stamp.checkpoint);
    const stamped = verifyBlock(header, key).checkpoint;
    if (splitNote(stamp.checkpoint).signatures.length !== 1) {
      throw new LedgerError('TIMESTAMP_INVALID', 'the stamped checkpoint must be the note exactly as the log signed it (one signature line): its tokens stamp those bytes');
    }
    if (input.index >= stamped.size) throw new LedgerError('TIMESTAMP_INVALID', `the stamped checkpoint (size ${stamped.size}) does not cover entry ${input.index}`);
    if (stamped.size > proving.size) throw new LedgerError('TIMESTAMP_INVALID', `the stamped checkpoint (size ${stamped.size}) is newer than the proving checkpoint (size ${proving.size})`);
    const suite = suiteOfKey(key);
    verifyConsistency(stamped.size, proving.size, stamp.consistency, stamped.root, proving.root, suite.tree);
    const fact = { height: formatDecimal(header.height), size: formatDecimal(stamped.size), logTime: header.time };
    const imprint = stampImprint(stamp.checkpoint, suite);
    if (roots.length === 0) {
      const tokens = await Promise.all(stamp.tokens.map(async (t) => {
        const claimed = await inspectTimestampToken(t);
        return claimed === undefined ? { verified: false } : describeInfo(claimed, false);
      }));
      b.facts.timestamp = { ...fact, tokens };
      const first = tokens[0];
      const claim = first?.genTime === undefined ? '' : ` (the token claims ${first.genTime} by ${first.tsa ?? 'an unnamed TSA'})`;
      return { skip: `time not verified: no TSA root certificate pinned${claim}; pin the TSA's root (--tsa-ca) to verify it` };
    }
    let verified = cache?.stamps.get(stamp);
    if (verified === undefined) {
      verified = (async () => ({ tokens: await Promise.all(stamp.tokens.map(async (t) => describeInfo(await verifyTimestampToken(t, { imprint, imprintAlg: suite.digestAlg, trustedRoots: roots }), true))) }))();
      cache?.stamps.set(stamp, verified);
    }
    const { tokens } = await verified;
    b.facts.timestamp = { ...fact, tokens };
    const t = tokens[0] as TimestampTokenFact;
    return `the entry existed no later than ${t.genTime} according to TSA ${t.tsa} (serial ${t.serial}, policy ${t.policy}${t.accuracy === undefined ? '' : `, accuracy ${t.accuracy} s`}), which stamped checkpoint ${stamped.size} (block ${header.height}, signed at ${header.time} by the log's clock)`;
  });
}
