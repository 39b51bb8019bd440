/**
 * A set of real `guzheng witness serve` processes on loopback beside a log, and the C2SP
 * tlog-policy naming them, for the crash campaign (scripts/crash-campaign.ts) and the tests that
 * run the real `guzheng serve` with `--witness-policy`. A witness can be SIGKILLed and restarted on
 * the same port and data directory, so the policy (which pins its URL) stays right.
 *
 * The processes are those of test/witness/process.ts (shared, not copied). Keys are created in
 * process with initWitness, the code `guzheng witness init` runs: spawning a CLI per key would only
 * cost seconds of tsx start-up.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseWitnessVerifierKey, type WitnessVerifierKey } from '../../src/core/cosignature.js';
import { parsePolicy, type Policy } from '../../src/core/policy.js';
import { initWitness } from '../../src/witness/keyfile.js';
import { originPath } from '../../src/witness/server.js';
import { kill9, serve, stop, type Served } from '../../test/witness/process.js';

/** Policy-local names of the first witnesses (more are `w4`, `w5`, …). */
const NAMES = ['court', 'procuratorate', 'notary'];

/** One witness of the set. */
export interface Witness {
  /** Its policy-local name. */
  readonly name: string;
  readonly data: string;
  readonly vkey: string;
  readonly key: WitnessVerifierKey;
  /** Fixed after the first start: a restart listens on the same port. */
  readonly port: number;
  readonly url: string;
  /** The running process; undefined while it is down. */
  served: Served | undefined;
  /** stderr of every incarnation, for failures (each capped: a witness logs little). */
  readonly stderr: string[];
}

export interface WitnessSetOptions {
  /** Directory for the witnesses' data directories and the policy file. */
  readonly dir: string;
  /** The log's verifier key (each witness is started with `--log` it). */
  readonly logVerifierKey: string;
  /** How many witnesses (default 3). */
  readonly count?: number;
  /** Cosignatures the policy's quorum needs (default a majority: 2 of 3). */
  readonly quorum?: number;
}

/** Three (or `count`) witness processes and the policy that names them. */
export class WitnessSet {
  readonly witnesses: readonly Witness[];
  /** The C2SP tlog-policy text: the log, each witness with its URL, a k-of-n group as quorum. */
  readonly policyText: string;
  readonly policy: Policy;
  /** Where policyText was written (for `--witness-policy` / GUZHENG_WITNESS_POLICY). */
  readonly policyFile: string;
  readonly quorum: number;
  readonly #logVerifierKey: string;

  private constructor(witnesses: Witness[], logVerifierKey: string, policyText: string, policyFile: string, quorum: number) {
    this.witnesses = witnesses;
    this.#logVerifierKey = logVerifierKey;
    this.policyText = policyText;
    this.policy = parsePolicy(policyText);
    this.policyFile = policyFile;
    this.quorum = quorum;
  }

  /** start creates the witness keys, starts every witness (concurrently) and writes the policy. */
  static async start(o: WitnessSetOptions): Promise<WitnessSet> {
    const count = o.count ?? 3;
    const quorum = o.quorum ?? Math.floor(count / 2) + 1;
    if (!Number.isInteger(count) || count < 1 || !Number.isInteger(quorum) || quorum < 1 || quorum > count) throw new Error(`witnesses: want 1 <= quorum (${quorum}) <= count (${count})`);
    const names = Array.from({ length: count }, (_, i) => NAMES[i] ?? `w${i + 1}`);
    const started = await Promise.allSettled(
      names.map(async (name) => {
        const data = join(o.dir, `witness-${name}`);
        const vkey = initWitness(data, `witness.crash.test/${name}`);
        const served = await serve(data, serveArgs(o.logVerifierKey, 0));
        return { name, data, vkey, key: parseWitnessVerifierKey(vkey), port: Number(new URL(served.url).port), url: served.url, served, stderr: [] };
      }),
    );
    const failed = started.find((r) => r.status === 'rejected');
    if (failed !== undefined) {
      // Leave no process behind when one of them could not start.
      for (const r of started) if (r.status === 'fulfilled') await kill9(r.value.served);
      throw (failed as PromiseRejectedResult).reason;
    }
    const witnesses = started.map((r) => (r as PromiseFulfilledResult<Witness>).value);
    const group = `${quorum}-of-${count}`;
    const policyText =
      `log ${o.logVerifierKey}\n` +
      witnesses.map((w) => `witness ${w.name} ${w.vkey} ${w.url}\n`).join('') +
      `group ${group} ${quorum} ${names.join(' ')}\nquorum ${group}\n`;
    const policyFile = join(o.dir, 'witness-policy.txt');
    writeFileSync(policyFile, policyText);
    return new WitnessSet(witnesses, o.logVerifierKey, policyText, policyFile, quorum);
  }

  /** The witnesses that are running. */
  get up(): Witness[] {
    return this.witnesses.filter((w) => w.served !== undefined);
  }

  /** kill SIGKILLs witness `w` (a no-op if it is down) and waits until it is gone. */
  async kill(w: Witness): Promise<void> {
    const s = w.served;
    if (s === undefined) return;
    w.served = undefined;
    w.stderr.push(s.stderr().slice(-10_000));
    await kill9(s);
  }

  /**
   * restart starts witness `w` again on its port and data directory. The port was free when it
   * died, but an outgoing connection may take it meanwhile (it is an ephemeral port): a few tries.
   */
  async restart(w: Witness, tries = 10): Promise<void> {
    if (w.served !== undefined) return;
    for (let i = 1; ; i++) {
      try {
        w.served = await serve(w.data, serveArgs(this.#logVerifierKey, w.port));
        return;
      } catch (err) {
        if (i >= tries || !/EADDRINUSE/.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 200 * i));
      }
    }
  }

  /**
   * checkpoint fetches the latest checkpoint witness `w` cosigned for `origin` from its monitoring
   * path: the note; null if it has cosigned none (404: after it held one, its state is lost);
   * undefined if it is down (or the request failed because it was killed meanwhile).
   */
  async checkpoint(w: Witness, origin: string): Promise<string | null | undefined> {
    if (w.served === undefined) return undefined;
    try {
      const res = await fetch(`${w.url}/${originPath(origin)}/checkpoint`, { signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      if (res.status === 404) return null;
      if (res.status !== 200) throw new Error(`witness ${w.name}: GET its monitoring path: ${res.status} ${text.slice(0, 200)}`);
      return text;
    } catch (err) {
      if (w.served === undefined || (err as Error).name === 'TypeError') return undefined; // killed meanwhile
      throw err;
    }
  }

  /** All stderr of witness `w`, every incarnation. */
  output(w: Witness): string {
    return [...w.stderr, w.served?.stderr() ?? ''].join('\n');
  }

  /** close stops every running witness with SIGTERM; resolves with each exit code (name → code). */
  async close(): Promise<Map<string, number | string>> {
    const codes = new Map<string, number | string>();
    await Promise.all(
      this.witnesses.map(async (w) => {
        const s = w.served;
        if (s === undefined) return;
        const code = await stop(s);
        w.stderr.push(s.stderr().slice(-10_000));
        w.served = undefined;
        codes.set(w.name, code);
      }),
    );
    return codes;
  }
}

/** The `witness serve` flags: the log, the port, and no rate limit (the log asks up to 100 times a second, and the campaign polls too). */
function serveArgs(logVerifierKey: string, port: number): string[] {
  return ['--log', logVerifierKey, '--port', String(port), '--rate-limit', '0'];
}
