/**
 * The log's side of time stamping end to end, with no mocks: formatTimeStampReq → Node's fetch
 * over loopback HTTP (postTimeStampQuery) → the openssl TSA shim (test/support/tsa) in each of its
 * modes → checkTimestampReply. Every failure is refused with the right error; the `ok` path
 * returns a token whose details match what the TSA was configured to say.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/core/errors.js';
import { checkTimestampReply, formatDuration, type CheckedReply } from '../../src/tsa/check.js';
import { formatTimeStampReq, newNonce, parseTimeStampResp, postTimeStampQuery, TsaUnavailableError } from '../../src/tsa/protocol.js';
import { startTsa, TEST_OTHER_POLICY, TEST_POLICY, type TestTsa, type TsaMode } from '../support/tsa/server.js';

const IMPRINT = new Uint8Array(createHash('sha256').update('guzheng.test/log\n7\nroot\n\n— guzheng.test/log sig\n').digest());
let tsa: TestTsa;

beforeAll(async () => {
  tsa = await startTsa();
});
afterAll(async () => {
  await tsa.close();
});

interface AskOptions {
  timeoutMs?: number;
  policy?: string;
  now?: Date;
  maxSkewMs?: number;
  checkPolicy?: string;
}

/** ask runs one request as the log does and returns the checked reply and the raw reply bytes. */
async function ask(o: AskOptions = {}): Promise<CheckedReply & { reply: Uint8Array; nonce: bigint }> {
  const nonce = newNonce();
  const query = formatTimeStampReq({ imprint: IMPRINT, nonce, certReq: true, ...(o.policy ? { policy: o.policy } : {}) });
  const reply = await postTimeStampQuery(tsa.url, query, { timeoutMs: o.timeoutMs ?? 10_000 });
  const checked = await checkTimestampReply(reply, {
    imprint: IMPRINT,
    nonce,
    trustedRoots: [tsa.rootDer],
    now: o.now ?? new Date(),
    maxSkewMs: o.maxSkewMs ?? 60_000,
    ...(o.checkPolicy ? { policy: o.checkPolicy } : {}),
  });
  return { ...checked, reply, nonce };
}

async function failure(mode: TsaMode, o: AskOptions = {}): Promise<unknown> {
  tsa.setMode(mode);
  try {
    await ask(o);
  } catch (err) {
    return err;
  } finally {
    tsa.setMode('ok');
  }
  throw new Error(`mode ${mode}: accepted, want refused`);
}

describe('the ok path', () => {
  it('returns a checked token whose details match the TSA, exactly as received', async () => {
    const before = tsa.requests;
    const a = await ask();
    const b = await ask();
    expect(tsa.requests - before).toBe(2);
        expect(a.token).toEqual(parseTimeStampResp(a.reply).token);
    expect(BigInt(`0x${b.info.serialNumber}`)).toBe(BigInt(`0x${a.info.serialNumber}`) + 1n);
    expect(a.info).toMatchObject({
      policy: TEST_POLICY,
      accuracy: { seconds: 1, millis: 500, micros: 100 },
      tsaName: 'CN=Guzheng Test TSA, OU=Time Stamping, O=Guzheng Test, C=CN',
      root: 'CN=Guzheng Test Root CA, O=Guzheng Test',
      nonce: a.nonce.toString(),
    });
    expect(Math.abs(a.info.genTimeMs - Date.now())).toBeLessThan(60_000);
  });
  it('serves concurrent requests one at a time, with distinct consecutive serials', async () => {
    const replies = await Promise.all([ask(), ask(), ask(), ask()]);
    const serials = replies.map((r) => BigInt(`0x${r.info.serialNumber}`)).sort((x, y) => (x < y ? -1 : 1));
    expect(serials.map((s) => s - (serials[0] as bigint))).toEqual([0n, 1n, 2n, 3n]);
  });
  it('stamps under a policy the request asks for, and refuses a token under another', async () => {
    expect((await ask({ policy: TEST_OTHER_POLICY, checkPolicy: TEST_OTHER_POLICY })).info.policy).toBe(TEST_OTHER_POLICY);
    const err = await ask({ checkPolicy: TEST_OTHER_POLICY }).catch((e: unknown) => e);
    expect([(err as LedgerError).code, (err as LedgerError).message]).toEqual(['TIMESTAMP_INVALID', `time-stamp token: policy ${TEST_POLICY}, but the request asked for ${TEST_OTHER_POLICY}`]);
  });
  it('accepts a chain through an intermediate and an ESS v1 attribute', async () => {
    for (const mode of ['via-intermediate', 'ess-v1'] as const) {
      tsa.setMode(mode);
      try {
        expect((await ask()).info.root).toBe('CN=Guzheng Test Root CA, O=Guzheng Test');
      } finally {
        tsa.setMode('ok');
      }
    }
  });
  it('waits for a slow TSA within the deadline', async () => {
    tsa.setMode('slow', { slowMs: 300 });
    try {
      expect((await ask({ timeoutMs: 5000 })).token.length).toBeGreaterThan(0);
    } finally {
      tsa.setMode('ok', { slowMs: 2000 });
    }
  });
});

describe('every misbehaviour is refused', () => {
  const unavailable: Array<[TsaMode, string, RegExp, AskOptions?]> = [
    ['down', 'unreachable', /is unreachable/],
    ['slow', 'timeout', /did not answer within 300 ms/, { timeoutMs: 300 }],
    ['http-error', 'http-status', /answered HTTP 500/],
  ];
  for (const [mode, reason, message, o] of unavailable) {
    it(`${mode}: TsaUnavailableError (${reason})`, async () => {
      const err = await failure(mode, o);
      expect(err).toBeInstanceOf(TsaUnavailableError);
      expect([(err as TsaUnavailableError).reason, (err as Error).message]).toEqual([reason, expect.stringMatching(message)]);
    });
  }

  const refused: Array<[TsaMode, string, RegExp]> = [
    ['garbage', 'TIMESTAMP_INVALID', /^TSA reply: /],
    ['wrong-content-type', 'TIMESTAMP_INVALID', /^TSA reply: Content-Type "text\/html", want application\/timestamp-reply$/],
    ['oversize', 'TIMESTAMP_INVALID', /^TSA reply: more than 1048576 bytes$/],
    ['rejection', 'TIMESTAMP_INVALID', /^TSA answered status rejection: "Requested policy is not supported\." \(failInfo unacceptedPolicy\)$/],
    ['wrong-imprint', 'TIMESTAMP_INVALID', /the message imprint does not match the stamped digest/],
    ['wrong-nonce', 'TIMESTAMP_INVALID', /the nonce does not match the request/],
    ['no-cert', 'TIMESTAMP_INVALID', /does not carry the TSA certificate that signed it/],
    ['expired-cert', 'TIMESTAMP_INVALID', /genTime \S+ is outside the TSA certificate's validity \(2020-01-01T00:00:00\.000Z to 2021-01-01T00:00:00\.000Z\)/],
    ['untrusted', 'TIMESTAMP_UNTRUSTED', /the TSA certificate \(CN=Guzheng Untrusted TSA, O=Guzheng Elsewhere\) does not chain to any pinned root/],
    ['noncritical-eku', 'TIMESTAMP_INVALID', /extended key usage is not critical/],
    ['granted-with-mods', 'TIMESTAMP_INVALID', /^TSA answered status grantedWithMods: the log keeps only tokens granted exactly as asked$/],
  ];
  for (const [mode, code, message] of refused) {
    it(`${mode}: ${code}`, async () => {
      const err = await failure(mode);
      expect(err).toBeInstanceOf(LedgerError);
      expect([(err as LedgerError).code, (err as LedgerError).message]).toEqual([code, expect.stringMatching(message)]);
    });
  }

  it('a TSA that was down answers again on the same URL', async () => {
    await failure('down');
    expect((await ask()).info.policy).toBe(TEST_POLICY);
  });
});

describe('genTime against the log clock', () => {
  it('refuses a genTime 2 h from the log clock, either way, and names the gap', async () => {
    const late = (await ask({ now: new Date(Date.now() + 7_200_000), maxSkewMs: 300_000 }).catch((e: unknown) => e)) as LedgerError;
    expect([late.code, late.message]).toEqual(['TIMESTAMP_INVALID', expect.stringMatching(/^time-stamp token: genTime \S+ is 2 h behind the log's clock \(\S+; at most 5 min allowed\)$/)]);
    const early = (await ask({ now: new Date(Date.now() - 7_200_000), maxSkewMs: 300_000 }).catch((e: unknown) => e)) as LedgerError;
    expect(early.message).toMatch(/is 2 h ahead of the log's clock/);
  });
  it('accepts one within the allowed skew', async () => {
    expect((await ask({ now: new Date(Date.now() - 120_000), maxSkewMs: 300_000 })).info.policy).toBe(TEST_POLICY);
  });
  it('refuses bad options with INPUT_INVALID', async () => {
    const base = { imprint: IMPRINT, nonce: 1n, trustedRoots: [tsa.rootDer], now: new Date(), maxSkewMs: 1000 };
    for (const o of [{ ...base, now: new Date(Number.NaN) }, { ...base, maxSkewMs: -1 }, { ...base, maxSkewMs: Number.NaN }, { ...base, nonce: 1 as unknown as bigint }]) {
      expect(((await checkTimestampReply(new Uint8Array(0), o).catch((e: unknown) => e)) as LedgerError).code).toBe('INPUT_INVALID');
    }
  });
  it('formatDuration says spans plainly', () => {
    expect([850, 1500, 42_000, 300_000, 7_200_000, 5_400_000, 302_400_000].map(formatDuration)).toEqual(['850 ms', '1.5 s', '42 s', '5 min', '2 h', '1.5 h', '3.5 d']);
  });
});
