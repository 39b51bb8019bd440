/**
 * C2SP transparency-log trust policies (https://c2sp.org/tlog-policy): which logs are trusted,
 * which witnesses, and the quorum of cosignatures a checkpoint needs.
 *
 *     log <vkey> [<url>]
 *     witness <name> <vkey> [<url>]          URL: the witness's submission prefix (URL/add-checkpoint)
 *     group <name> all|any|<k> <member>...
 *     quorum <name>|none
 *
 * Parsing is strict: every deviation is `POLICY_MALFORMED` naming the line. Where tlog-policy
 * leaves a choice, this module decides as follows (each also noted where it applies):
 * - witness keys may be type 0x04 (Ed25519) or 0x06 (ML-DSA-44): the policy text predates
 *   ML-DSA-44 cosignatures (tlog-cosignature, C2SP PR #237) and says 0x04 only;
 * - the file must end in a newline ("each line is terminated by ASCII newline", §Structure);
 * - a numeric threshold is a canonical decimal (no leading zero) (§Defining a witness group);
 * - "each defined name can be listed as a group member at most once" is read across the whole
 *   file, not per group, as its stated reason ("contribute … in only one way") requires;
 * - names are compared as strings of well-formed Unicode: the text is UTF-8 (bytes are decoded
 *   strictly), which the spec "strongly recommends" while treating high octets as opaque;
 * - implementation limits (§Implementation limits, at least 32 each): 256 logs, 256 witnesses,
 *   256 groups, 256 KiB of text.
 * See SPEC.md#witness-policy and docs/witness.md#policies.
 */
import { LedgerError, isLedgerError } from './errors.js';
import { equalBytes, fromUtf8, utf8 } from './bytes.js';
import { parseVerifierKey, type VerifierKey } from './note.js';
import { openCosigned, parseWitnessVerifierKey, type CosignedCheckpoint, type ValidCosignature, type WitnessVerifierKey } from './cosignature.js';

/** The largest policy text accepted, bytes. */
export const MAX_POLICY_SIZE = 256 * 1024;
/** The most logs, witnesses and groups (each) a policy may define. */
export const MAX_POLICY_ENTRIES = 256;

/** A trusted log. */
export interface PolicyLog {
  readonly key: VerifierKey;
  readonly url?: string;
  /** 1-based line number in the policy text. */
  readonly line: number;
}

/** A trusted witness. */
export interface PolicyWitness {
  /** The policy-local name (used only by groups and the quorum). */
  readonly name: string;
  readonly key: WitnessVerifierKey;
  /** The witness's submission prefix, if given. */
  readonly url?: string;
  readonly line: number;
}

/** A k-of-n group of witnesses and groups defined earlier. */
export interface PolicyGroup {
  readonly name: string;
  /** How many members must be satisfied: 1 for `any`, n for `all`. */
  readonly threshold: number;
  /** The spelling in the file: `all`, `any` or the decimal k. */
  readonly rule: string;
  readonly members: readonly string[];
  readonly line: number;
}

/** A parsed policy. */
export interface Policy {
  readonly logs: readonly PolicyLog[];
  readonly witnesses: readonly PolicyWitness[];
  /** In definition order: every group's members come before it. */
  readonly groups: readonly PolicyGroup[];
  /** A witness or group name, or `none`. */
  readonly quorum: string;
}

const NONE = 'none';
// tlog-policy §Character set: tab, newline, 0x20-0x7E and (here, UTF-8) non-ASCII only.
const BAD_CHAR = /[\u0000-\u0008\u000b-\u001f\u007f]/;
const DECIMAL = /^[1-9][0-9]{0,8}$/;

function malformed(line: number, message: string): never {
  throw new LedgerError('POLICY_MALFORMED', line > 0 ? `policy line ${line}: ${message}` : `policy: ${message}`);
}

function checkUrl(url: string | undefined, n: number): void {
  if (url === undefined) return;
  // The meaning of the URL is application specific (§Defining a log); we need only an absolute URL.
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\/\S+$/.test(url)) malformed(n, `got URL ${JSON.stringify(url.slice(0, 80))}, want an absolute URL such as https://host/prefix`);
}

/**
 * parsePolicy parses a C2SP tlog-policy file strictly.
 * Requires: at most 256 KiB of UTF-8 ending in a newline; only tab, newline and printable
 * characters; keywords `log`, `witness`, `group`, `quorum` with the arity of the grammar above;
 * log keys type 0x01 and witness keys type 0x04 or 0x06, no key twice; names unique and not
 * `none`; groups and the quorum referring only to names defined on earlier lines, each name a
 * group member at most once, 1 <= k <= n; exactly one quorum line. Every violation is
 * `POLICY_MALFORMED` with the line number.
 * See docs/witness.md#policies.
 *
 * @example
 * ```ts
 * const policy = parsePolicy('log example.com/log+…\nwitness W1 w1.example+…\nquorum W1\n');
 * policy.quorum; // 'W1'
 * ```
 */
export function parsePolicy(text: string | Uint8Array): Policy {
  let s: string;
  if (text instanceof Uint8Array) {
    if (text.length > MAX_POLICY_SIZE) malformed(0, `got ${text.length} bytes, want at most ${MAX_POLICY_SIZE}`);
    try {
      s = fromUtf8(text, 'policy');
    } catch (err) {
      if (isLedgerError(err)) malformed(0, 'not valid UTF-8');
      throw err;
    }
  } else {
    if (typeof text !== 'string') malformed(0, `got ${typeof text}, want text`);
    if (text.length > MAX_POLICY_SIZE) malformed(0, `got over ${MAX_POLICY_SIZE} bytes, want at most ${MAX_POLICY_SIZE}`);
    if (/[\ud800-\udfff]/u.test(text)) malformed(0, 'not valid Unicode (lone surrogate)');
    s = text;
    const size = utf8(s).length;
    if (size > MAX_POLICY_SIZE) malformed(0, `got ${size} bytes, want at most ${MAX_POLICY_SIZE}`);
  }
  if (s !== '' && !s.endsWith('\n')) malformed(0, 'the last line does not end in a newline');
  const lines = s === '' ? [] : s.slice(0, -1).split('\n');

  const logs: PolicyLog[] = [];
  const witnesses: PolicyWitness[] = [];
  const groups: PolicyGroup[] = [];
  const defined = new Map<string, 'witness' | 'group'>();
  const usedAsMember = new Set<string>();
  let quorum: string | undefined;

  for (const [i, raw] of lines.entries()) {
    const n = i + 1;
    const bad = BAD_CHAR.exec(raw);
    if (bad) malformed(n, `control character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} (only tab and newline are allowed)`);
    const fields = raw.split(/[ \t]+/).filter((f) => f !== '');
    if (fields.length === 0 || (fields[0] as string).startsWith('#')) continue;
    const [keyword, ...args] = fields as [string, ...string[]];
    switch (keyword) {
      case 'log': {
        if (args.length < 1 || args.length > 2) malformed(n, `got ${args.length} fields after "log", want <vkey> [<url>]`);
        if (logs.length >= MAX_POLICY_ENTRIES) malformed(n, `more than ${MAX_POLICY_ENTRIES} logs`);
        let key: VerifierKey;
        try {
          key = parseVerifierKey(args[0] as string);
        } catch (err) {
          if (isLedgerError(err)) malformed(n, `log key (want signature type 0x01, Ed25519): ${err.message}`);
          throw err;
        }
        // §Defining a log: duplicate logs (the same public key) are not allowed.
        if (logs.some((l) => equalBytes(l.key.publicKey, key.publicKey))) malformed(n, 'duplicate log key');
        checkUrl(args[1], n);
        logs.push(args[1] === undefined ? { key, line: n } : { key, url: args[1], line: n });
        break;
      }
      case 'witness': {
        if (args.length < 2 || args.length > 3) malformed(n, `got ${args.length} fields after "witness", want <name> <vkey> [<url>]`);
        if (witnesses.length >= MAX_POLICY_ENTRIES) malformed(n, `more than ${MAX_POLICY_ENTRIES} witnesses`);
        const name = args[0] as string;
        checkNewName(name, defined, n);
        let key: WitnessVerifierKey;
        try {
          key = parseWitnessVerifierKey(args[1] as string);
        } catch (err) {
          if (isLedgerError(err)) malformed(n, `witness key: ${err.message}`);
          throw err;
        }
        // §Public key representation: duplicates wrap the same public key, whatever name and id.
        if (witnesses.some((w) => w.key.algorithm === key.algorithm && equalBytes(w.key.publicKey, key.publicKey))) malformed(n, 'duplicate witness key');
        checkUrl(args[2], n);
        defined.set(name, 'witness');
        witnesses.push(args[2] === undefined ? { name, key, line: n } : { name, key, url: args[2], line: n });
        break;
      }
      case 'group': {
        if (args.length < 3) malformed(n, 'want group <name> all|any|<k> <member>...');
        if (groups.length >= MAX_POLICY_ENTRIES) malformed(n, `more than ${MAX_POLICY_ENTRIES} groups`);
        const [name, rule, ...members] = args as [string, string, ...string[]];
        checkNewName(name, defined, n);
        const inGroup = new Set<string>();
        for (const m of members) {
          if (m === NONE) malformed(n, '"none" cannot be a group member');
          if (!defined.has(m)) malformed(n, `member ${JSON.stringify(m)} is not defined on an earlier line`);
          if (inGroup.has(m) || usedAsMember.has(m)) malformed(n, `${JSON.stringify(m)} is already a group member (each name may be a member once)`);
          inGroup.add(m);
        }
        let threshold: number;
        if (rule === 'all') threshold = members.length;
        else if (rule === 'any') threshold = 1;
        else if (DECIMAL.test(rule)) threshold = Number(rule);
        else malformed(n, `got threshold ${JSON.stringify(rule.slice(0, 20))}, want all, any or a decimal k without leading zeros`);
        if (threshold < 1 || threshold > members.length) malformed(n, `got threshold ${threshold} for ${members.length} members, want 1 <= k <= n`);
        for (const m of members) usedAsMember.add(m);
        defined.set(name, 'group');
        groups.push({ name, threshold, rule, members, line: n });
        break;
      }
      case 'quorum': {
        if (args.length !== 1) malformed(n, `got ${args.length} fields after "quorum", want one name`);
        if (quorum !== undefined) malformed(n, 'a second quorum line (want exactly one)');
        const name = args[0] as string;
        if (name !== NONE && !defined.has(name)) malformed(n, `quorum ${JSON.stringify(name)} is not defined on an earlier line`);
        quorum = name;
        break;
      }
      default:
        malformed(n, `unknown keyword ${JSON.stringify(keyword.slice(0, 40))}, want log, witness, group or quorum`);
    }
  }
  if (quorum === undefined) malformed(0, 'no quorum line (want exactly one)');
  return { logs, witnesses, groups, quorum };
}

function checkNewName(name: string, defined: Map<string, 'witness' | 'group'>, n: number): void {
  if (name === NONE) malformed(n, '"none" is predefined and cannot be redefined');
  if (defined.has(name)) malformed(n, `name ${JSON.stringify(name)} is already defined (witnesses and groups share one namespace)`);
}

/** One witness of the policy, and whether it cosigned. */
export interface WitnessOutcome {
  readonly name: string;
  /** The witness's verifier key string. */
  readonly key: string;
  readonly url?: string;
  readonly cosigned: boolean;
  /** Its cosignature time (POSIX seconds), when it cosigned: its own, independent, time. */
  readonly time?: bigint;
}

/** One group of the policy, and whether it is satisfied. */
export interface GroupOutcome {
  readonly name: string;
  readonly threshold: number;
  readonly members: readonly string[];
  /** How many members are satisfied. */
  readonly satisfied: number;
  readonly met: boolean;
}

/** The verdict of {@link evaluateQuorum}. */
export interface QuorumResult {
  readonly met: boolean;
  readonly quorum: string;
  readonly perWitness: readonly WitnessOutcome[];
  readonly perGroup: readonly GroupOutcome[];
}

/**
 * evaluateQuorum decides whether `cosignatures` (VALID ones, as {@link openCosigned} returns,
 * over the checkpoint being checked) satisfy the policy's quorum. A cosignature counts for a
 * witness only if it is by exactly that witness's key (name, key id, type and public key).
 * `quorum none` is always met. Requires: `policy` from {@link parsePolicy}.
 * See docs/witness.md#policies.
 */
export function evaluateQuorum(policy: Policy, cosignatures: readonly ValidCosignature[]): QuorumResult {
  const satisfied = new Map<string, boolean>();
  const perWitness: WitnessOutcome[] = policy.witnesses.map((w) => {
    const c = cosignatures.find((v) => sameKey(v, w.key));
    satisfied.set(w.name, c !== undefined);
    const base = { name: w.name, key: w.key.text, ...(w.url === undefined ? {} : { url: w.url }) };
    return c === undefined ? { ...base, cosigned: false } : { ...base, cosigned: true, time: c.time };
  });
  const perGroup: GroupOutcome[] = policy.groups.map((g) => {
    const count = g.members.filter((m) => satisfied.get(m) === true).length;
    const met = count >= g.threshold;
    satisfied.set(g.name, met);
    return { name: g.name, threshold: g.threshold, members: g.members, satisfied: count, met };
  });
  const met = policy.quorum === NONE || satisfied.get(policy.quorum) === true;
  return { met, quorum: policy.quorum, perWitness, perGroup };
}

function sameKey(c: ValidCosignature, k: WitnessVerifierKey): boolean {
  if (c.name !== k.name || c.keyId !== k.keyId || c.algorithm !== k.algorithm) return false;
  try {
    const parsed = parseWitnessVerifierKey(c.key);
    return equalBytes(parsed.publicKey, k.publicKey);
  } catch {
    return false;
  }
}

/** A checkpoint that passed its policy: the opened note and the quorum verdict. */
export interface PolicyVerified {
  readonly cosigned: CosignedCheckpoint;
  readonly quorum: QuorumResult;
}

/**
 * verifyWithPolicy opens a cosigned checkpoint note against a policy: signed by one of the
 * policy's logs (the one whose key name is the note's origin line; or `logKey` when given, for a
 * policy without logs), cosigned by the policy's witnesses, and the quorum met.
 * Throws what {@link openCosigned} throws (`NOTE_UNVERIFIED` if no listed log signed), and
 * `QUORUM_NOT_MET` when valid cosignatures are too few (the error message lists who cosigned).
 * See docs/witness.md#policies.
 *
 * @example
 * ```ts
 * const { quorum } = verifyWithPolicy(note, parsePolicy(policyText));
 * for (const w of quorum.perWitness) if (w.cosigned) console.log(`${w.name} had seen it by ${w.time}`);
 * ```
 */
export function verifyWithPolicy(note: string, policy: Policy, logKey?: VerifierKey | string): PolicyVerified {
  const witnessKeys = policy.witnesses.map((w) => w.key);
  let candidates: Array<VerifierKey | string>;
  if (logKey !== undefined) candidates = [logKey];
  else {
    const origin = typeof note === 'string' ? note.slice(0, Math.max(0, note.indexOf('\n'))) : '';
    candidates = policy.logs.filter((l) => l.key.name === origin).map((l) => l.key);
    if (candidates.length === 0) throw new LedgerError('NOTE_UNVERIFIED', `policy: no log in the policy has origin ${JSON.stringify(origin.slice(0, 80))}`);
  }
  // Several keys may share the origin (key rotation): the first whose signature the note carries.
  let cosigned: CosignedCheckpoint | undefined;
  for (const [i, key] of candidates.entries()) {
    try {
      cosigned = openCosigned(note, key, witnessKeys);
      break;
    } catch (err) {
      if (!isLedgerError(err, 'NOTE_UNVERIFIED') || i === candidates.length - 1) throw err;
    }
  }
  if (cosigned === undefined) throw new Error('core: bad math: verifyWithPolicy without a candidate log key');
  const quorum = evaluateQuorum(policy, cosigned.cosignatures);
  if (!quorum.met) {
    const who = quorum.perWitness.filter((w) => w.cosigned).map((w) => w.name);
    throw new LedgerError('QUORUM_NOT_MET', `policy: quorum ${quorum.quorum} not met (valid cosignatures by: ${who.length === 0 ? 'none' : who.join(', ')})`);
  }
  return { cosigned, quorum };
}
