/**
 * The add-checkpoint request grammar and decision table (src/witness/add-checkpoint.ts), as pure
 * functions: every status of c2sp.org/tlog-witness, the spec's example request, and a
 * differential property against a brute-force reading of "consistent". The same table over HTTP
 * against real processes: serve.test.ts.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { decideAddCheckpoint, parseAddCheckpointBody, MAX_PROOF_LINES, TLOG_SIZE_TYPE, type AddCheckpointRequest, type Decision } from '../../src/witness/add-checkpoint.js';
import { buildWitnessedLogs, parseWitnessConfig } from '../../src/witness/config.js';
import type { CosignedRecord } from '../../src/witness/state.js';
import { TestLog, b64, sha256 } from '../support/c2sp-witness/tlog.js';
import { requestBody } from '../support/c2sp-witness/client.js';
import { refConsistency, refRoot } from '../support/reference-merkle.js';

const te = new TextEncoder();
const log = new TestLog('example.org/witnessed');
log.append(40);
const logs = buildWitnessedLogs([log.vkey]);

function decide(body: string, latest?: { size: number; root?: Uint8Array }): Decision {
  const req = parseAddCheckpointBody(te.encode(body));
  if ('ok' in req) return req;
  const rec: CosignedRecord | undefined =
    latest === undefined ? undefined : { origin: log.origin, size: BigInt(latest.size), root: latest.root ?? refRoot(log.leaves.slice(0, latest.size)), time: 1n, note: '' };
  return decideAddCheckpoint(req, logs, (o) => (o === log.origin ? rec : undefined));
}
const note = (size: number, root?: Uint8Array) => log.sign(log.text(size, root ?? refRoot(log.leaves.slice(0, size))));
const status = (d: Decision) => (d.ok ? 200 : d.status);

describe('parseAddCheckpointBody', () => {
  it("parses tlog-witness's example request body", () => {
    const body =
      'old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\n' +
      'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n' +
      '— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n' +
      '— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n';
    const req = parseAddCheckpointBody(te.encode(body)) as AddCheckpointRequest;
    expect(req.oldSize).toBe(20852014n);
    expect(req.proof.map(b64)).toEqual(body.split('\n').slice(1, 5));
    expect(req.note.startsWith('example.com/behind-the-sofa\n20852163\n')).toBe(true);
    // Not a log this witness knows: 404. Known origin (our test key for it) but not its signature: 403.
    expect(status(decideAddCheckpoint(req, logs, () => undefined))).toBe(404);
    const sofa = buildWitnessedLogs(['example.com/behind-the-sofa+252b74d2+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs']);
    expect(status(decideAddCheckpoint(req, sofa, () => undefined))).toBe(403);
  });

  it('rejects malformed bodies with 400', () => {
    const n = note(5);
    const hash = b64(sha256());
    const bad = [
      '',
      'old 5',
      'old 5\n',
      `old 05\n\n${n}`,
      `old -1\n\n${n}`,
      `old 5 \n\n${n}`,
      `Old 5\n\n${n}`,
      `old 18446744073709551616\n\n${n}`,
      `old 1\n${hash.slice(0, -1)}\n\n${n}`,
      `old 1\n${b64(new Uint8Array(31))}\n\n${n}`,
      `old 1\n${hash} \n\n${n}`,
      `old 1\n${hash}\n${n}`,
      'old 1\n\n',
      `old 1\n${`${hash}\n`.repeat(MAX_PROOF_LINES + 1)}\n${n}`,
    ];
    for (const b of bad) expect(status(decide(b)), JSON.stringify(b.slice(0, 50))).toBe(400);
    expect(parseAddCheckpointBody(new Uint8Array([0x6f, 0xff, 0x0a]))).toMatchObject({ ok: false, status: 400 });
    // 63 proof lines are allowed by the grammar (the proof then fails: 422, not 400).
    expect(status(decide(`old 1\n${`${hash}\n`.repeat(MAX_PROOF_LINES)}\n${note(40)}`, { size: 1 }))).toBe(422);
  });
});

describe('decideAddCheckpoint', () => {
  it('covers every status of the table', () => {
    const p = (m: number, n: number) => refConsistency(m, log.leaves.slice(0, n));
    const stranger = new TestLog(log.origin);
    stranger.append(5);
    expect(status(decide(requestBody(0, [], note(5))))).toBe(200);
    const unknown = new TestLog('unknown.example/log');
    unknown.append(5);
    expect(status(decide(requestBody(0, [], unknown.sign(unknown.text()))))).toBe(404);
    expect(status(decide(requestBody(0, [], stranger.sign(log.text(5)))))).toBe(403);
    const tampered = note(5).replace(`\n5\n`, '\n6\n');
    expect(status(decide(requestBody(0, [], tampered)))).toBe(403);
    expect(status(decide(requestBody(6, [], note(5)), { size: 6 }))).toBe(400);
    const conflict = decide(requestBody(3, p(3, 10), note(10)), { size: 5 });
    expect(conflict).toMatchObject({ ok: false, status: 409, body: '5\n', contentType: TLOG_SIZE_TYPE });
    expect(decide(requestBody(3, p(3, 10), note(10)))).toMatchObject({ status: 409, body: '0\n' });
    expect(status(decide(requestBody(5, p(5, 10), note(10)), { size: 5 }))).toBe(200);
    expect(status(decide(requestBody(5, p(4, 10), note(10)), { size: 5 }))).toBe(422);
    expect(status(decide(requestBody(5, [], note(10)), { size: 5 }))).toBe(422);
    expect(status(decide(requestBody(5, p(5, 10), note(10)), { size: 5, root: sha256(te.encode('other')) }))).toBe(422);
    // Same size: the same root is 200 (cosigned again), another root 422, a proof 422.
    expect(status(decide(requestBody(10, [], note(10)), { size: 10 }))).toBe(200);
    expect(decide(requestBody(10, [], note(10, sha256(te.encode('x')))), { size: 10 })).toMatchObject({ status: 422, signedByLog: true });
    expect(status(decide(requestBody(10, p(5, 10), note(10)), { size: 10 }))).toBe(422);
    // Size 0: the empty root only; old size 0 with a proof is 422.
    expect(status(decide(requestBody(0, [], note(0, sha256()))))).toBe(200);
    expect(status(decide(requestBody(0, [], note(0, sha256(te.encode('x'))))))).toBe(422);
    expect(status(decide(requestBody(0, p(3, 10), note(10))))).toBe(422);
  });

  it('keeps only the log signature lines that verified', () => {
    const extra = note(7) + '— someone.else AAAAAAA=\n';
    const d = decide(requestBody(0, [], extra));
    expect(d.ok && d.logSignatures).toEqual([note(7).split('\n').at(-2)]);
  });

  it('config files: log lines, comments, an explicit origin, strict errors with line numbers', () => {
    const cfg = `# logs\n\nlog ${log.vkey}\n  log\t${new TestLog('b.example').vkey}   other.example/origin\n`;
    const built = buildWitnessedLogs([], parseWitnessConfig(cfg, 'w.conf'));
    expect([...built.keys()]).toEqual([log.origin, 'other.example/origin']);
    expect(() => parseWitnessConfig('witness x y\n', 'w.conf')).toThrow(/w.conf:1: unknown keyword/);
    expect(() => buildWitnessedLogs([], parseWitnessConfig(`log ${log.vkey}\nlog ${log.vkey}\n`, 'w.conf'))).toThrow(/w.conf:2: .*given twice/);
    expect(() => buildWitnessedLogs(['nope'])).toThrow(/--log #1: log key/);
    expect(() => buildWitnessedLogs([])).toThrow(/no logs to witness/);
  });

  it('property: accepts exactly the requests a brute-force reading of the spec accepts', () => {
    const arb = fc.record({
      prev: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
      old: fc.integer({ min: 0, max: 41 }),
      size: fc.integer({ min: 0, max: 40 }),
      proofFrom: fc.integer({ min: 0, max: 40 }),
      wrongRoot: fc.boolean(),
    });
    fc.assert(
      fc.property(arb, ({ prev, old, size, proofFrom, wrongRoot }) => {
        const root = wrongRoot ? sha256(te.encode('fork')) : refRoot(log.leaves.slice(0, size));
        const proof = refConsistency(proofFrom, log.leaves.slice(0, size));
        const got = status(decide(requestBody(old, proof, note(size, root)), prev === undefined ? undefined : { size: prev }));
        const prevSize = prev ?? 0;
        let want: number;
        if (old > size) want = 400;
        else if (old !== prevSize) want = 409;
        else if (size === 0 && wrongRoot) want = 422; // only the empty root at size 0
        else if (old === 0) want = proof.length === 0 ? 200 : 422; // any tree extends the empty one
        else if (wrongRoot) want = 422; // not the cosigned tree, or not provably extending it
        else if (old === size) want = proof.length === 0 ? 200 : 422;
        else want = proofFrom === old ? 200 : 422;
        // A "wrong" proof can coincide with the right one (e.g. the same sizes): compare bytes.
        if (want === 422 && !wrongRoot && old > 0 && old < size && b64(new Uint8Array(proof.flatMap((h) => [...h]))) === b64(new Uint8Array(refConsistency(old, log.leaves.slice(0, size)).flatMap((h) => [...h])))) want = 200;
        expect(got).toBe(want);
      }),
      { numRuns: 200 },
    );
  });
});
