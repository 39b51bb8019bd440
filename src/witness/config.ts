/**
 * Which logs the witness cosigns for (docs/witness.md#config). Logs come from `--log VKEY`
 * (repeatable) and/or a config file in a tlog-policy-like line format:
 *
 *     # comment
 *     log <vkey> [<origin>]
 *
 * `<vkey>` is the log's verifier key: Ed25519 (signature type 0x01, c2sp.org/signed-note), or
 * SM2 (type 0xff ‖ "guzheng/sm2-sm3", SPEC.md#sm2-note-signatures) for a Guzheng `gm` log; the
 * origin defaults to the key's name (c2sp.org/tlog-checkpoint: "the log's key name SHOULD match
 * the origin line"), and may be given when a log's key name differs. Several keys for one origin
 * are all trusted (key rotation): a checkpoint signed by any of them is accepted
 * (c2sp.org/tlog-witness: "the public key(s) it trusts for the checkpoint origin"). Any C2SP log
 * works, not only Guzheng's.
 *
 * The key also fixes the log's crypto suite (SPEC.md#crypto-suites): a witness checks a `gm` log's
 * consistency proofs and empty tree with SM3, a `c2sp` log's with SHA-256. One log has one suite,
 * so the keys given for one origin must all be of one algorithm.
 */
import { isValidKeyName, parseVerifierKey, type VerifierKey } from '../core/note.js';
import { isLedgerError } from '../core/errors.js';
import { equalBytes } from '../core/bytes.js';
import { suiteOfKey, type CryptoSuite } from '../core/suite.js';

/** One witnessed log: its origin, the keys trusted to sign its checkpoints, and its crypto suite. */
export interface WitnessedLog {
  readonly origin: string;
  readonly keys: readonly VerifierKey[];
  /** The suite of its keys (SPEC.md#crypto-suites): the tree hashing its proofs are checked with. */
  readonly suite: CryptoSuite;
}

/** Witnessed logs by origin. */
export type WitnessedLogs = ReadonlyMap<string, WitnessedLog>;

/** The most logs one witness serves (each costs one state record and one metrics series). */
export const MAX_WITNESSED_LOGS = 1000;
/** The largest config file read, bytes. */
export const MAX_CONFIG_SIZE = 1024 * 1024;

/** A usage error in the witness's configuration (the CLI exits 2). */
export class WitnessConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WitnessConfigError';
  }
}

/** A builder that keeps keys per origin and refuses duplicates. */
class LogSet {
  readonly #logs = new Map<string, VerifierKey[]>();

  add(vkey: string, origin: string | undefined, where: string): void {
    let key: VerifierKey;
    try {
      key = parseVerifierKey(vkey);
    } catch (err) {
      if (isLedgerError(err)) throw new WitnessConfigError(`${where}: log key: ${err.message} (want a log verifier key <name>+<key id>+<base64>, Ed25519 type 0x01 or a gm log's SM2 key)`);
      throw err;
    }
    const o = origin ?? key.name;
    if (!isValidKeyName(o)) throw new WitnessConfigError(`${where}: origin ${JSON.stringify(String(o).slice(0, 80))} is not a valid checkpoint origin (no spaces, no "+")`);
    const keys = this.#logs.get(o) ?? [];
    if (keys.some((k) => k.name === key.name && k.keyId === key.keyId && equalBytes(k.publicKey, key.publicKey))) {
      throw new WitnessConfigError(`${where}: log key ${key.name}+${key.keyId.toString(16).padStart(8, '0')} given twice for origin ${o}`);
    }
    if (keys.some((k) => k.name === key.name && k.keyId === key.keyId)) {
      throw new WitnessConfigError(`${where}: two different keys share name and key id ${key.name}+${key.keyId.toString(16).padStart(8, '0')}`);
    }
    // A log's suite never changes (SPEC.md#crypto-suites): an SM2 key and an Ed25519 key for one
    // origin would leave its proofs checkable by two tree hashes, so one of them is a mistake.
    const other = keys.find((k) => suiteOfKey(k).id !== suiteOfKey(key).id);
    if (other !== undefined) {
      throw new WitnessConfigError(`${where}: origin ${o} has a ${suiteOfKey(other).keyAlgorithm} key already; a ${suiteOfKey(key).keyAlgorithm} key would give it another crypto suite (${suiteOfKey(key).id} instead of ${suiteOfKey(other).id})`);
    }
    if (!this.#logs.has(o) && this.#logs.size >= MAX_WITNESSED_LOGS) throw new WitnessConfigError(`${where}: more than ${MAX_WITNESSED_LOGS} logs`);
    keys.push(key);
    this.#logs.set(o, keys);
  }

  build(): WitnessedLogs {
    // Every key of an origin is of one suite (checked in add), so the first one's is the log's.
    return new Map([...this.#logs].map(([origin, keys]) => [origin, { origin, keys, suite: suiteOfKey(keys[0] as VerifierKey) }]));
  }
}

/**
 * parseWitnessConfig parses the config file format above strictly: comments (`#` first), blank
 * lines, and `log <vkey> [<origin>]` lines; anything else is a {@link WitnessConfigError} naming
 * the line. Requires: at most 1 MiB; `file` names the source in messages.
 */
export function parseWitnessConfig(text: string, file = 'config'): Array<{ vkey: string; origin?: string; where: string }> {
  if (text.length > MAX_CONFIG_SIZE) throw new WitnessConfigError(`${file}: over ${MAX_CONFIG_SIZE} bytes`);
  const out: Array<{ vkey: string; origin?: string; where: string }> = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const [i, raw] of lines.entries()) {
    const where = `${file}:${i + 1}`;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(line)) throw new WitnessConfigError(`${where}: control character`);
    const fields = line.split(/[ \t]+/).filter((f) => f !== '');
    if (fields.length === 0 || (fields[0] as string).startsWith('#')) continue;
    const [keyword, ...args] = fields as [string, ...string[]];
    if (keyword !== 'log') throw new WitnessConfigError(`${where}: unknown keyword ${JSON.stringify(keyword.slice(0, 40))}, want "log <vkey> [<origin>]"`);
    if (args.length < 1 || args.length > 2) throw new WitnessConfigError(`${where}: want "log <vkey> [<origin>]", got ${args.length} fields after "log"`);
    out.push(args[1] === undefined ? { vkey: args[0] as string, where } : { vkey: args[0] as string, origin: args[1], where });
  }
  return out;
}

/**
 * buildWitnessedLogs merges `--log` flags and config file entries into the logs by origin.
 * Requires: at least one log; every key valid and given once; else {@link WitnessConfigError}.
 */
export function buildWitnessedLogs(flags: readonly string[], fromConfig: ReadonlyArray<{ vkey: string; origin?: string; where: string }> = []): WitnessedLogs {
  const set = new LogSet();
  flags.forEach((vkey, i) => set.add(vkey, undefined, `--log #${i + 1}`));
  for (const e of fromConfig) set.add(e.vkey, e.origin, e.where);
  const logs = set.build();
  if (logs.size === 0) throw new WitnessConfigError('no logs to witness: give --log <vkey> (repeatable) or --config <file> with "log <vkey>" lines');
  return logs;
}
