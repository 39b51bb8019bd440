import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { MAX_POLICY_ENTRIES, MAX_POLICY_SIZE, evaluateQuorum, parsePolicy, verifyWithPolicy, type Policy } from '../../src/core/policy.js';
import { generateWitnessKey, openCosigned, signCosignature, type ValidCosignature } from '../../src/core/cosignature.js';
import { generateSignerKey } from '../../src/core/note.js';
import { signCheckpoint } from '../../src/core/checkpoint.js';
import { sha256 } from '../../src/core/crypto.js';
import { utf8 } from '../../src/core/bytes.js';
import { codeOf } from '../support/codes.js';

const seed = (b: number) => new Uint8Array(32).fill(b);
const LOG = generateSignerKey('example.org/log', seed(1));
const W = Array.from({ length: 8 }, (_, i) => generateWitnessKey(`w${i}.example`, seed(20 + i), i === 5 ? 'ml-dsa-44' : 'ed25519'));
const TEXT = 'example.org/log\n9\n' + Buffer.from(sha256(utf8('r'))).toString('base64') + '\n';
const NOTE = signCheckpoint({ origin: 'example.org/log', size: 9n, root: sha256(utf8('r')) }, LOG.signerKey);

/** tlog-policy's example, keys filled in (its text elides them). */
const EXAMPLE = `log ${LOG.verifierKey}

witness X1 ${W[0]!.verifierKey}
witness X2 ${W[1]!.verifierKey}
witness X3 ${W[2]!.verifierKey}
group X-witnesses 2 X1 X2 X3

witness Y1 ${W[3]!.verifierKey}
witness Y2 ${W[4]!.verifierKey}
witness Y3 ${W[5]!.verifierKey}
group Y-witnesses any Y1 Y2 Y3

group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
`;

function cosigs(...idx: number[]): ValidCosignature[] {
  const lines = idx.map((i) => signCosignature(TEXT, W[i]!.signerKey, 1000 + i) + '\n').join('');
  return openCosigned(NOTE + lines, LOG.verifierKey, W.map((w) => w.verifierKey)).cosignatures;
}

function err(text: string): string {
  try {
    parsePolicy(text);
  } catch (e) {
    expect(codeOf(() => parsePolicy(text))).toBe('POLICY_MALFORMED');
    return (e as Error).message;
  }
  return 'ok';
}

describe('parsePolicy', () => {
  it("parses tlog-policy's example (two levels of groups)", () => {
    const p = parsePolicy(EXAMPLE);
    expect(p.logs.map((l) => [l.key.text, l.line])).toEqual([[LOG.verifierKey, 1]]);
    expect(p.witnesses.map((w) => [w.name, w.key.text, w.line])).toEqual([
      ['X1', W[0]!.verifierKey, 3],
      ['X2', W[1]!.verifierKey, 4],
      ['X3', W[2]!.verifierKey, 5],
      ['Y1', W[3]!.verifierKey, 8],
      ['Y2', W[4]!.verifierKey, 9],
      ['Y3', W[5]!.verifierKey, 10],
    ]);
    expect(p.groups.map((g) => [g.name, g.rule, g.threshold, g.members])).toEqual([
      ['X-witnesses', '2', 2, ['X1', 'X2', 'X3']],
      ['Y-witnesses', 'any', 1, ['Y1', 'Y2', 'Y3']],
      ['X-and-Y', 'all', 2, ['X-witnesses', 'Y-witnesses']],
    ]);
    expect(p.quorum).toBe('X-and-Y');
    expect(p.witnesses[5]!.key.algorithm).toBe('ml-dsa-44');
  });

  it('evaluates the example: at least two X witnesses and one Y witness', () => {
    const p = parsePolicy(EXAMPLE);
    expect(evaluateQuorum(p, cosigs(0, 1, 3)).met).toBe(true);
    expect(evaluateQuorum(p, cosigs(0, 2, 5)).met).toBe(true);
    expect(evaluateQuorum(p, cosigs(0, 3, 4, 5)).met).toBe(false);
    expect(evaluateQuorum(p, cosigs(0, 1, 2)).met).toBe(false);
    expect(evaluateQuorum(p, cosigs(6, 7)).met).toBe(false);
    const r = evaluateQuorum(p, cosigs(0, 1, 3));
    expect(r.perWitness.map((w) => [w.name, w.cosigned, w.time])).toEqual([
      ['X1', true, 1000n],
      ['X2', true, 1001n],
      ['X3', false, undefined],
      ['Y1', true, 1003n],
      ['Y2', false, undefined],
      ['Y3', false, undefined],
    ]);
    expect(r.perGroup.map((g) => [g.name, g.satisfied, g.met])).toEqual([
      ['X-witnesses', 2, true],
      ['Y-witnesses', 1, true],
      ['X-and-Y', 2, true],
    ]);
  });

  it('accepts quorum none, a single witness quorum, comments, tabs, blank lines, URLs, and no logs', () => {
    expect(parsePolicy('quorum none\n').quorum).toBe('none');
    expect(evaluateQuorum(parsePolicy('quorum none\n'), []).met).toBe(true);
    const p = parsePolicy(`# a comment\n  \t# indented comment\n\n\twitness  A\t${W[0]!.verifierKey}   https://w0.example/prefix  \nquorum A\n`);
    expect(p.witnesses[0]!.url).toBe('https://w0.example/prefix');
    expect(p.logs).toEqual([]);
    expect(evaluateQuorum(p, cosigs(0)).met).toBe(true);
    expect(evaluateQuorum(p, cosigs(1)).met).toBe(false);
    expect(parsePolicy(`log ${LOG.verifierKey} https://log.example/\nquorum none\n`).logs[0]!.url).toBe('https://log.example/');
    expect(parsePolicy(utf8(`witness 证人 ${W[0]!.verifierKey}\nquorum 证人\n`)).quorum).toBe('证人');
  });

  it('rejects, with the line number, every malformed policy', () => {
    const w = (i: number) => W[i]!.verifierKey;
    const cases: Array<[string, RegExp]> = [
      ['', /no quorum line/],
      [`witness A ${w(0)}\n`, /no quorum line/],
      ['quorum none', /does not end in a newline/],
      ['quorum none\nquorum none\n', /line 2: a second quorum/],
      ['quorum A\n', /line 1: quorum "A" is not defined/],
      [`quorum A\nwitness A ${w(0)}\n`, /line 1: quorum "A" is not defined/],
      ['frobnicate x\nquorum none\n', /line 1: unknown keyword/],
      ['log\nquorum none\n', /line 1: got 0 fields/],
      [`log ${LOG.verifierKey} u1 u2\nquorum none\n`, /line 1: got 3 fields/],
      [`log ${w(0)}\nquorum none\n`, /line 1: log key/],
      [`log ${LOG.verifierKey}\nlog ${LOG.verifierKey}\nquorum none\n`, /line 2: duplicate log key/],
      [`witness A ${LOG.verifierKey}\nquorum A\n`, /line 1: witness key: .*0x01 is a log key/],
      [`witness A ${w(0)}\nwitness B ${w(0)}\nquorum A\n`, /line 2: duplicate witness key/],
      [`witness A ${w(0)}\nwitness A ${w(1)}\nquorum A\n`, /line 2: name "A" is already defined/],
      [`witness none ${w(0)}\nquorum none\n`, /line 1: "none" is predefined/],
      [`witness A ${w(0)}\ngroup A any A\nquorum A\n`, /line 2: name "A" is already defined/],
      [`witness A ${w(0)}\ngroup G any none\nquorum G\n`, /line 2: "none" cannot be a group member/],
      [`witness A ${w(0)}\ngroup G any B\nquorum G\n`, /line 2: member "B" is not defined/],
      [`group G any A\nwitness A ${w(0)}\nquorum G\n`, /line 1: member "A" is not defined/],
      [`witness A ${w(0)}\ngroup G any A A\nquorum G\n`, /line 2: "A" is already a group member/],
      [`witness A ${w(0)}\nwitness B ${w(1)}\ngroup G any A B\ngroup H all A\nquorum G\n`, /line 4: "A" is already a group member/],
      [`witness A ${w(0)}\ngroup G 0 A\nquorum G\n`, /line 2: .*threshold "0"/],
      [`witness A ${w(0)}\ngroup G 2 A\nquorum G\n`, /line 2: got threshold 2 for 1 members/],
      [`witness A ${w(0)}\ngroup G 01 A\nquorum G\n`, /line 2: got threshold "01"/],
      [`witness A ${w(0)}\ngroup G some A\nquorum G\n`, /line 2: got threshold "some"/],
      [`witness A ${w(0)}\ngroup G any\nquorum G\n`, /line 2: want group/],
      [`witness A ${w(0)} not-a-url\nquorum A\n`, /line 1: got URL/],
      [`witness A ${w(0)}\nquorum A B\n`, /line 2: got 2 fields/],
      ['quorum none\r\n', /line 1: control character U\+000d/],
      ['# \u0001\nquorum none\n', /line 1: control character U\+0001/],
      [`witness A ${w(0).slice(0, -2)}\nquorum A\n`, /line 1: witness key/],
    ];
    for (const [text, want] of cases) expect(err(text), JSON.stringify(text.slice(0, 60))).toMatch(want);
    expect(err('x'.repeat(MAX_POLICY_SIZE) + '\n')).toMatch(/want at most/);
    expect(err(new Uint8Array([0x71, 0xff, 0x0a]) as unknown as string)).toMatch(/not valid UTF-8/);
  });

  it('caps the number of witnesses', () => {
    const many = Array.from({ length: MAX_POLICY_ENTRIES + 1 }, (_, i) => `witness N${i} ${generateWitnessKey(`n${i}.example`, sha256(utf8(String(i)))).verifierKey}\n`).join('');
    expect(err(many + 'quorum none\n')).toMatch(new RegExp(`line ${MAX_POLICY_ENTRIES + 1}: more than ${MAX_POLICY_ENTRIES} witnesses`));
  });

  it('property: evaluateQuorum agrees with a direct recursive reading of the groups', () => {
    // Random group trees over the 8 witnesses: each group takes a few unused names.
    const arb = fc.record({
      shape: fc.array(fc.record({ take: fc.integer({ min: 1, max: 3 }), k: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 5 }),
      signed: fc.subarray([0, 1, 2, 3, 4, 5, 6, 7]),
    });
    fc.assert(
      fc.property(arb, ({ shape, signed }) => {
        let text = W.map((w, i) => `witness W${i} ${w.verifierKey}\n`).join('');
        const free = W.map((_, i) => `W${i}`);
        const defs = new Map<string, { k: number; members: string[] }>();
        shape.forEach((g, gi) => {
          const members = free.splice(0, Math.min(g.take, free.length));
          if (members.length === 0) return;
          const k = g.k === 0 ? members.length : Math.min(g.k, members.length);
          text += `group G${gi} ${g.k === 0 ? 'all' : k} ${members.join(' ')}\n`;
          defs.set(`G${gi}`, { k, members });
          free.push(`G${gi}`);
        });
        const top = free.at(-1)!;
        text += `quorum ${top}\n`;
        const policy: Policy = parsePolicy(text);
        const sat = (n: string): boolean => {
          const d = defs.get(n);
          return d === undefined ? signed.includes(Number(n.slice(1))) : d.members.filter(sat).length >= d.k;
        };
        expect(evaluateQuorum(policy, cosigs(...signed)).met).toBe(sat(top));
      }),
      { numRuns: 40 },
    );
  });
});

describe('verifyWithPolicy', () => {
  const policy = parsePolicy(`log ${LOG.verifierKey}\nwitness A ${W[0]!.verifierKey}\nwitness B ${W[5]!.verifierKey}\ngroup G all A B\nquorum G\n`);
  const a = signCosignature(TEXT, W[0]!.signerKey, 11);
  const b = signCosignature(TEXT, W[5]!.signerKey, 12);

  it('accepts a checkpoint with the quorum and reports each witness time', () => {
    const { quorum, cosigned } = verifyWithPolicy(`${NOTE}${a}\n${b}\n`, policy);
    expect(quorum.met).toBe(true);
    expect(quorum.perWitness.map((w) => [w.name, w.time])).toEqual([
      ['A', 11n],
      ['B', 12n],
    ]);
    expect(cosigned.checkpoint.checkpoint.size).toBe(9n);
  });

  it('fails with QUORUM_NOT_MET when a cosignature is missing or invalid, NOTE_UNVERIFIED for an unknown log', () => {
    expect(codeOf(() => verifyWithPolicy(`${NOTE}${a}\n`, policy))).toBe('QUORUM_NOT_MET');
    const badB = signCosignature(TEXT.replace('\n9\n', '\n10\n'), W[5]!.signerKey, 12);
    expect(codeOf(() => verifyWithPolicy(`${NOTE}${a}\n${badB}\n`, policy))).toBe('QUORUM_NOT_MET');
    const other = generateSignerKey('other.example/log', seed(3));
    const otherNote = signCheckpoint({ origin: 'other.example/log', size: 9n, root: sha256(utf8('r')) }, other.signerKey);
    expect(codeOf(() => verifyWithPolicy(otherNote, policy))).toBe('NOTE_UNVERIFIED');
    expect(codeOf(() => verifyWithPolicy(`${otherNote}${a}\n${b}\n`, parsePolicy('quorum none\n'), other.verifierKey))).toBe('ok');
  });

  it('tries every log key with the origin (key rotation)', () => {
    const rotated = generateSignerKey('example.org/log', seed(4));
    const p = parsePolicy(`log ${LOG.verifierKey}\nlog ${rotated.verifierKey}\nquorum none\n`);
    const signed = signCheckpoint({ origin: 'example.org/log', size: 9n, root: sha256(utf8('r')) }, rotated.signerKey);
    expect(verifyWithPolicy(signed, p).cosigned.checkpoint.verified[0]!.keyId).toBe(p.logs[1]!.key.keyId);
  });
});
