/**
 * POST /v1/verify with the caller's witness policy (SPEC.md#witness-policy): a third party pins
 * its own witness keys and quorum, in JSON or multipart; without one, the log's own policy
 * applies. The witness is the independent C2SP witness of test support (shares no code with src/).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/core/policy.js';
import { startC2spWitness, type C2spWitness } from '../support/c2sp-witness/witness.js';
import { TEST_LOG, startServer, type TestServer } from './helpers.js';

let witness: C2spWitness;
let stranger: C2spWitness;
let s: TestServer;
let receipt: Record<string, unknown>;
let mine: string;
let strangers: string;

type Report = { valid: boolean; checks: Array<{ id: string; status: string; code?: string; message?: string }>; facts: { cosignatures?: { met: boolean; witnesses: Array<{ name: string; cosigned: boolean }> } } };
const check = (r: Report, id: string) => r.checks.find((c) => c.id === id);

beforeAll(async () => {
  witness = await startC2spWitness('witness.test/independent', 0x04, [TEST_LOG.verifierKey]);
  // A witness the log never submits to: a policy requiring it cannot be met.
  stranger = await startC2spWitness('witness.test/stranger', 0x04, [TEST_LOG.verifierKey]);
  mine = `log ${TEST_LOG.verifierKey}\nwitness court ${witness.vkey} ${witness.url}\nquorum court\n`;
  strangers = `log ${TEST_LOG.verifierKey}\nwitness other ${stranger.vkey}\nquorum other\n`;
  const policy = parsePolicy(mine);
  s = await startServer({ ledger: { witnessPolicy: policy, witnessTimeoutMs: 2000 }, deps: { policy } });
  const res = await fetch(`${s.url}/v1/entries?wait=receipt`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.keys.submit}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'record', record: { station: 'HS-001', cod: 12.5 } }),
  });
  expect(res.status).toBe(201);
  receipt = ((await res.json()) as { receipt: Record<string, unknown> }).receipt;
  expect(receipt.checkpoint).toContain('— witness.test/independent ');
}, 60_000);

afterAll(async () => {
  await s?.destroy();
  await witness?.close();
  await stranger?.close();
});

async function verifyJson(body: Record<string, unknown>): Promise<{ status: number; json: Report & { field?: string; code?: string; detail?: string } }> {
  const res = await fetch(`${s.url}/v1/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Report & { field?: string; code?: string; detail?: string } };
}

describe('POST /v1/verify with a witness policy', () => {
  it("without a policy in the request, checks the log's own: the receipt's cosignature meets it", async () => {
    const { status, json } = await verifyJson({ receipt });
    expect(status).toBe(200);
    expect(json.valid).toBe(true);
    expect(check(json, 'cosignatures')?.status).toBe('pass');
  });

  it("with the caller's policy naming a witness that did not cosign: invalid, QUORUM_NOT_MET", async () => {
    const { status, json } = await verifyJson({ receipt, policy: strangers });
    expect(status).toBe(200);
    expect(json.valid).toBe(false);
    expect(check(json, 'cosignatures')).toMatchObject({ status: 'fail', code: 'QUORUM_NOT_MET' });
    expect(json.facts.cosignatures?.witnesses.map((w) => [w.name, w.cosigned])).toEqual([['other', false]]);
  });

  it("with the caller's policy naming the witness that cosigned: valid", async () => {
    const { json } = await verifyJson({ receipt, policy: mine });
    expect(json.valid).toBe(true);
    expect(json.facts.cosignatures?.witnesses.map((w) => [w.name, w.cosigned])).toEqual([['court', true]]);
  });

  it('a malformed policy is a 400 problem naming the field and the line', async () => {
    const { status, json } = await verifyJson({ receipt, policy: `witness court ${witness.vkey}\nquorum nobody\n` });
    expect(status).toBe(400);
    expect(json).toMatchObject({ code: 'POLICY_MALFORMED', field: 'policy' });
    expect(json.detail).toMatch(/line 2/);
  });

  it('takes the policy as a multipart field too', async () => {
    const form = new FormData();
    form.set('receipt', JSON.stringify(receipt));
    form.set('policy', strangers.replace(/\n/g, '\r\n'));
    const res = await fetch(`${s.url}/v1/verify`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const json = (await res.json()) as Report;
    expect(check(json, 'cosignatures')).toMatchObject({ status: 'fail', code: 'QUORUM_NOT_MET' });
  });
});
