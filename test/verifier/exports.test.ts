/**
 * The public verifier entry (`guzheng/verifier`, src/verifier/index.ts) gives package users what
 * they need to pin a witness policy and check cosignatures, with nothing from storage or http.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as verifier from '../../src/verifier/index.js';

const vector = JSON.parse(readFileSync(join(import.meta.dirname, '../../contracts-free-ledger/vectors/cosignature/ed25519/valid.json'), 'utf8')) as { logKey: string; witnessKey: string; note: string; time: string };

describe('guzheng/verifier', () => {
  it('builds a policy and checks a cosigned checkpoint against it with the exported API alone', () => {
    const policy = verifier.parsePolicy(`log ${vector.logKey}\nwitness court ${vector.witnessKey}\ngroup g any court\nquorum g\n`);
    const { quorum } = verifier.verifyWithPolicy(vector.note, policy);
    expect(quorum.met).toBe(true);
    expect(quorum.perWitness.map((w) => [w.name, w.cosigned, w.time])).toEqual([['court', true, BigInt(vector.time)]]);
    const opened = verifier.openCosigned(vector.note, vector.logKey, [verifier.parseWitnessVerifierKey(vector.witnessKey)]);
    expect(opened.cosignatures).toHaveLength(1);
    expect(verifier.evaluateQuorum(policy, opened.cosignatures).met).toBe(true);
  });

  it('refuses a quorum the note does not meet, and a malformed policy, with their codes', () => {
    const without = vector.note.split('\n').filter((l) => !l.startsWith('— witness.')).join('\n');
    const policy = verifier.parsePolicy(`log ${vector.logKey}\nwitness court ${vector.witnessKey}\nquorum court\n`);
    expect(() => verifier.verifyWithPolicy(without, policy)).toThrow(expect.objectContaining({ code: 'QUORUM_NOT_MET' }));
    expect(() => verifier.parsePolicy('quorum nobody\n')).toThrow(expect.objectContaining({ code: 'POLICY_MALFORMED' }));
  });
});
