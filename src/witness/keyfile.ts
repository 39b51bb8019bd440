/**
 * The witness's key files in its data directory (docs/witness.md#init):
 *
 *     <data>/witness-key    the signer key PRIVATE+KEY+<name>+<id>+<base64>, mode 0600
 *     <data>/witness.vkey   the verifier key <name>+<id>+<base64(0x04 or 0x06 || public key)>
 *
 * Both are written with fsync (file and directory) and never overwritten: `init` on a directory
 * that has a key refuses, so a witness identity cannot be replaced by accident.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, writeSync, constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { generateWitnessKey, parseWitnessSignerKey, parseWitnessVerifierKey, formatWitnessVerifierKey, type CosignatureAlgorithm, type WitnessSignerKey } from '../core/cosignature.js';
import { isLedgerError } from '../core/errors.js';
import { WitnessConfigError } from './config.js';
import { fsyncDir } from '../platform/fsync.js';

export const SIGNER_KEY_FILE = 'witness-key';
export const VERIFIER_KEY_FILE = 'witness.vkey';

function writeNew(path: string, text: string, mode: number): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}


/**
 * mkdirDurable creates `dir` and any missing parents (mode `mode`), then fsyncs the parent of each
 * directory it created: a new directory's entry lives in its parent, and without that fsync a
 * power loss can take the directory away with everything written durably inside it.
 */
export function mkdirDurable(dir: string, mode: number): void {
  const path = resolve(dir);
  const first = mkdirSync(path, { recursive: true, mode });
  if (first === undefined) return;
  const top = resolve(first);
  for (let p = path; ; p = dirname(p)) {
    fsyncDir(dirname(p));
    if (p === top || dirname(p) === p) break;
  }
}

/**
 * initWitness creates `dataDir` (if needed) and a new witness key named `name`, writes the signer
 * key (0600) and the verifier key, and returns the verifier key. Requires: a valid key name and no
 * key in `dataDir` yet, else {@link WitnessConfigError}.
 */
export function initWitness(dataDir: string, name: string, algorithm: CosignatureAlgorithm = 'ed25519'): string {
  const dir = resolve(dataDir);
  let pair;
  try {
    pair = generateWitnessKey(name, new Uint8Array(randomBytes(32)), algorithm);
  } catch (err) {
    if (isLedgerError(err)) throw new WitnessConfigError(`witness name: ${err.message}`);
    throw err;
  }
  mkdirDurable(dir, 0o700);
  const skey = join(dir, SIGNER_KEY_FILE);
  try {
    writeNew(skey, pair.signerKey + '\n', 0o600);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EEXIST') throw new WitnessConfigError(`${skey} exists: this directory already has a witness key (refusing to replace it)`);
    throw err;
  }
  writeNew(join(dir, VERIFIER_KEY_FILE), pair.verifierKey + '\n', 0o644);
  fsyncDir(dir);
  return pair.verifierKey;
}

/**
 * loadWitnessKey reads the signer key of `dataDir` and checks it: mode 0600 (no access for group
 * or others, as ssh requires of private keys) and, if `witness.vkey` exists, that it is this key's
 * verifier key. Throws {@link WitnessConfigError} with what to do.
 */
export function loadWitnessKey(dataDir: string): { signer: WitnessSignerKey; verifierKey: string } {
  const path = join(resolve(dataDir), SIGNER_KEY_FILE);
  let text: string;
  let mode: number;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') throw new WitnessConfigError(`no witness key at ${path}: run "guzheng witness init --data ${dataDir} --name <name>" first`);
    throw err;
  }
  if ((mode & 0o077) !== 0) throw new WitnessConfigError(`${path} is readable by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`);
  let signer: WitnessSignerKey;
  try {
    signer = parseWitnessSignerKey(text.trim());
  } catch (err) {
    if (isLedgerError(err)) throw new WitnessConfigError(`${path}: ${err.message}`);
    throw err;
  }
  const verifierKey = formatWitnessVerifierKey(signer.name, signer.algorithm, signer.publicKey);
  try {
    const published = readFileSync(join(resolve(dataDir), VERIFIER_KEY_FILE), 'utf8').trim();
    if (parseWitnessVerifierKey(published).text !== verifierKey) throw new WitnessConfigError(`${VERIFIER_KEY_FILE} in ${dataDir} is not the verifier key of ${SIGNER_KEY_FILE}`);
  } catch (err) {
    if (err instanceof WitnessConfigError) throw err;
    if ((err as { code?: unknown }).code !== 'ENOENT') throw new WitnessConfigError(`${VERIFIER_KEY_FILE} in ${dataDir}: ${(err as Error).message}`);
  }
  return { signer, verifierKey };
}
