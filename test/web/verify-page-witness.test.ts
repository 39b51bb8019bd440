/**
 * The court verification page with a witness policy, in real Chromium: three real `guzheng witness
 * serve` processes cosign the checkpoints of a real service that runs with a two-of-three policy.
 * Served by that log the page prefills the policy ("pin your own copy"); saved to disk it prefills
 * nothing and the policy is pasted or picked. A receipt cosigned to quorum is VALID and shows each
 * witness with its own time, in Beijing time and UTC; with cosignature lines removed until the
 * quorum is not met it is INVALID (QUORUM_NOT_MET); a malformed policy is an input error.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildVerifyPage } from '../../scripts/build-web.js';
import { launchChromium } from '../../src/certificate/pdf.js';
import { openCosigned } from '../../src/core/cosignature.js';
import { parsePolicy, type Policy } from '../../src/core/policy.js';
import type { Receipt } from '../../src/core/receipt.js';
import { verifyReceipt } from '../../src/verifier/index.js';
import { beijingTime } from '../../src/web/times.js';
import { formatPolicy } from '../../src/web/witnesses.js';
import { auth, TEST_LOG, startServer, type TestServer } from '../http/helpers.js';
import { cli, serve, stop, type Served } from '../witness/process.js';
import { CHROMIUM, HAVE_CHROMIUM, NO_CHROMIUM, openPage, type OpenedPage } from './chromium.js';

const CASE = '衡环罚〔2026〕WP号';
const NAMES = ['court', 'procuratorate', 'notary'] as const;

/** One witness row as shown. */
interface WitnessShown {
  name: string;
  state: string;
  text: string;
}

/** What the page shows after Verify. */
interface Shown {
  valid: boolean | null;
  summary: string;
  checks: Array<{ id: string; status: string; code: string | null; text: string }>;
  witnesses: WitnessShown[];
  quorum: { met: string; text: string } | null;
  items: Array<{ index: string; valid: boolean }>;
  error: string | null;
}

const READ_RESULT = `(() => {
  const q = document.querySelector('#witnesses .quorum');
  return JSON.stringify({
    valid: document.getElementById('result').hidden ? null : document.getElementById('result').dataset.valid === 'true',
    summary: document.getElementById('summary').textContent,
    checks: Array.from(document.querySelectorAll('#checks > li')).map((li) => ({ id: li.dataset.check, status: li.dataset.status, code: li.dataset.code || null, text: li.textContent })),
    witnesses: Array.from(document.querySelectorAll('#witnesses tbody tr')).map((tr) => ({ name: tr.dataset.witness, state: tr.dataset.state, text: tr.textContent })),
    quorum: q === null ? null : { met: q.dataset.met, text: q.textContent },
    items: Array.from(document.querySelectorAll('#items > li')).map((li) => ({ index: li.dataset.index, valid: li.dataset.valid === 'true' })),
    error: document.getElementById('error').hidden ? null : document.getElementById('error').textContent,
  });
})()`;

const DONE = '#result[data-valid], #error:not([hidden])';

async function until(what: string, f: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The checkpoint without the signature line of one witness (by its key name). */
function withoutCosignature(receipt: Receipt, witnessName: string): Receipt {
  const lines = receipt.checkpoint.split('\n');
  const kept = lines.filter((l) => !l.startsWith(`— ${witnessName} `));
  if (kept.length !== lines.length - 1) throw new Error(`want exactly one cosignature line by ${witnessName}`);
  return { ...receipt, checkpoint: kept.join('\n') };
}

describe.skipIf(!HAVE_CHROMIUM)(`court verification page with a witness policy, in Chromium (${CHROMIUM})`, () => {
  let dir: string;
  const witnesses: Served[] = [];
  let s: TestServer;
  let policyText: string;
  let policy: Policy;
  let browser: Browser;
  let context: BrowserContext;
  const f: Record<string, string> = {};
  /** Each witness's cosignature time in the receipt cosigned by all three, as the page must show it. */
  const times: Record<string, { utc: string; beijing: string }> = {};

  beforeAll(async () => {
    await buildVerifyPage();
    dir = mkdtempSync(join(tmpdir(), 'guzheng-verify-witness-'));
    const vkeys: string[] = [];
    for (const name of NAMES) {
      const r = cli(['witness', 'init', '--data', join(dir, name), '--name', `witness.test/${name}`]);
      expect(r.status, r.stderr).toBe(0);
      vkeys.push(r.stdout.trim().split('\n').at(-1) as string);
    }
    witnesses.push(...(await Promise.all(NAMES.map((name) => serve(join(dir, name), ['--log', TEST_LOG.verifierKey])))));
    policyText = `log ${TEST_LOG.verifierKey}\n` + NAMES.map((n, i) => `witness ${n} ${vkeys[i]} ${witnesses[i]?.url}\n`).join('') + `group two-of-three 2 ${NAMES.join(' ')}\nquorum two-of-three\n`;
    policy = parsePolicy(policyText);
    s = await startServer({ ledger: { witnessPolicy: policy, witnessTimeoutMs: 1500 }, deps: { policy } });
    const post = async (body: unknown): Promise<{ index: string }> => {
      const res = await fetch(`${s.url}/v1/entries?wait=receipt`, { method: 'POST', headers: { ...auth(s.keys.submit), 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status).toBe(201);
      return (await res.json()) as { index: string };
    };
    // A witness process compiles its code on its first request: start once all three answered.
    await post({ type: 'record', record: { warmup: true } });
    await until('every witness answered once', async () => ((await (await fetch(`${s.url}/healthz`)).json()) as { witnesses?: string }).witnesses === '3/3', 60_000);
    const { index } = await post({ type: 'record', record: { station: 'HS-001', pH: 7.2 }, meta: { caseId: CASE } });
    await post({ type: 'record', record: { station: 'HS-002', pH: 7.4 }, meta: { caseId: CASE } });
    // The receipt waits for the quorum (two); a receipt fetched later carries the third
    // cosignature too. Anchor a filler now and then so that a new checkpoint is cosigned by all.
    const witnessKeys = policy.witnesses.map((w) => w.key);
    let receipt: Receipt | undefined;
    let tries = 0;
    await until(
      'a receipt cosigned by all three witnesses',
      async () => {
        const r = (await (await fetch(`${s.url}/v1/receipts/${index}`, { headers: auth(s.keys.audit) })).json()) as Receipt;
        if (openCosigned(r.checkpoint, TEST_LOG.verifierKey, witnessKeys).cosignatures.length === 3) receipt = r;
        else if (++tries % 20 === 0) await post({ type: 'record', record: { filler: tries } });
        return receipt !== undefined;
      },
      60_000,
    );
    const all = receipt as Receipt;
    const report = await verifyReceipt(all, { trustedKeys: [TEST_LOG.verifierKey], policy });
    expect(report.valid).toBe(true);
    for (const w of report.facts.cosignatures?.witnesses ?? []) {
      const utc = (w.time ?? '').replace(/\.000Z$/, 'Z');
      times[w.name] = { utc, beijing: beijingTime(utc) };
    }
    expect(Object.keys(times)).toEqual([...NAMES]);
    const write = (name: string, data: string) => {
      const path = join(dir, name);
      f[name] = path;
      writeFileSync(path, data);
    };
    const two = withoutCosignature(all, 'witness.test/notary');
    write('receipt-3-cosignatures.json', JSON.stringify(all, null, 2));
    write('receipt-2-cosignatures.json', JSON.stringify(two, null, 2));
    write('receipt-1-cosignature.json', JSON.stringify(withoutCosignature(two, 'witness.test/procuratorate'), null, 2));
    write('policy.txt', policyText);
    const bundle = await fetch(`${s.url}/v1/cases/${encodeURIComponent(CASE)}/bundle`, { headers: auth(s.keys.audit) });
    expect(bundle.status).toBe(200);
    write('case.bundle.json', await bundle.text());
    write('saved-verify.html', await (await fetch(`${s.url}/verify`)).text());
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1100, height: 1600 } });
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await s?.destroy();
    await Promise.all(witnesses.map((w) => stop(w).catch(() => undefined)));
    if (dir) console.log(`verify page (witnesses): screenshots and inputs in ${dir}`);
  });

  async function open(url: string): Promise<OpenedPage> {
    return openPage(context, url);
  }

  /** Give the inputs and click Verify. `policy`: text to paste, or a file to pick; omitted: leave the field as it is. */
  async function verify(page: Page, o: { receipt: string; key?: string; policy?: { text: string } | { file: string } }): Promise<Shown> {
    await page.setInputFiles('#receipt', [o.receipt]);
    if (o.key !== undefined) await page.fill('#key', o.key);
    if (o.policy !== undefined && 'text' in o.policy) await page.fill('#policy', o.policy.text);
    if (o.policy !== undefined && 'file' in o.policy) {
      await page.setInputFiles('#policy-file', [o.policy.file]);
      await expect.poll(() => page.inputValue('#policy')).toBe(policyText);
    }
    await page.click('#verify');
    await page.locator(DONE).first().waitFor();
    return JSON.parse(await page.evaluate<string>(READ_RESULT)) as Shown;
  }

  const check = (shown: Shown, id: string) => shown.checks.find((c) => c.id === id);

  /** Each witness row says who had seen the checkpoint by when, in Beijing time and UTC. */
  function expectCosigned(shown: Shown, name: string): void {
    const row = shown.witnesses.find((w) => w.name === name);
    const t = times[name] as { utc: string; beijing: string };
    expect(row?.state, name).toBe('independent');
    expect(row?.text).toContain(`见证人 ${name} 在 ${t.beijing}（北京时间）前已见到此检查点`);
    expect(row?.text).toContain(`witness ${name} had seen this checkpoint by ${t.utc}`);
    expect(row?.text).toContain(`${t.beijing}（北京时间）${t.utc} (UTC)`);
    expect(row?.text).toMatch(/独立时间来源.*independent: the witness's own clock/);
  }

  it('served: the policy the log runs with is prefilled and labelled "pin your own copy"', async () => {
    const { page, errors } = await open(`${s.url}/verify`);
    expect(await page.inputValue('#policy')).toBe(formatPolicy(policy));
    expect(await page.inputValue('#policy')).toBe(policyText);
    expect(await page.isVisible('#policy-note')).toBe(true);
    expect(await page.textContent('#policy-note')).toMatch(/见证策略.*pin your own copy/);
    expect(await page.textContent('#policy-origin')).toBe(s.ledger.origin);
    expect(await page.textContent('#policy-info')).toMatch(/已固定 3 个见证人：court、procuratorate、notary；法定数：two-of-three（3 取 2/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('served: a receipt cosigned to quorum is VALID with the prefilled policy, and shows each witness with its time', async () => {
    const { page, requests, errors } = await open(`${s.url}/verify`);
    const shown = await verify(page, { receipt: f['receipt-3-cosignatures.json'] as string });
    expect(shown.valid).toBe(true);
    expect(check(shown, 'cosignatures')).toMatchObject({ status: 'pass' });
    expect(check(shown, 'cosignatures')?.text).toMatch(/✓见证人联署（见证策略法定数）Witness cosignatures \(policy quorum\)/);
    expect(shown.witnesses.map((w) => w.name)).toEqual([...NAMES]);
    for (const name of NAMES) expectCosigned(shown, name);
    expect(shown.quorum).toEqual({ met: 'true', text: expect.stringMatching(/^已满足见证策略法定数 two-of-three.*3 个见证人有效联署.*Quorum two-of-three \(2 of 3: court, procuratorate, notary\) met: 3 witness/) });
    await page.screenshot({ path: join(dir, 'verify-witnesses-valid.png'), fullPage: true });
    expect(requests).toEqual([`${s.url}/verify`]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('from disk: nothing is prefilled; with the policy pasted or picked, two cosignatures meet the quorum and one does not (QUORUM_NOT_MET)', async () => {
    const url = pathToFileURL(f['saved-verify.html'] as string).href;
    const { page, requests, errors } = await open(url);
    expect(await page.inputValue('#policy')).toBe('');
    expect(await page.isVisible('#policy-note')).toBe(false);
    const key = TEST_LOG.verifierKey;
    const all = await verify(page, { receipt: f['receipt-3-cosignatures.json'] as string, key, policy: { text: policyText } });
    expect(all.valid).toBe(true);
    for (const name of NAMES) expectCosigned(all, name);
    // The notary's line removed: two of three still cosigned; the notary is shown as not cosigned.
    const two = await verify(page, { receipt: f['receipt-2-cosignatures.json'] as string, policy: { file: f['policy.txt'] as string } });
    expect(two.valid).toBe(true);
    expect(two.witnesses.map((w) => `${w.name}:${w.state}`)).toEqual(['court:independent', 'procuratorate:independent', 'notary:absent']);
    expectCosigned(two, 'court');
    expect(two.witnesses[2]?.text).toMatch(/见证人 notary 未联署此检查点.*witness notary did not cosign this checkpoint/);
    expect(two.quorum?.met).toBe('true');
    // One line more removed: the quorum is not met, and the receipt is INVALID for that alone.
    const one = await verify(page, { receipt: f['receipt-1-cosignature.json'] as string });
    expect(one.valid).toBe(false);
    expect(one.summary).toMatch(/见证人联署.*Witness cosignatures/);
    expect(check(one, 'cosignatures')).toMatchObject({ status: 'fail', code: 'QUORUM_NOT_MET' });
    expect(check(one, 'cosignatures')?.text).toMatch(/✗见证人联署.*见证人联署不足.*Not enough witness cosignatures/);
    expect(one.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['cosignatures']);
    expect(one.witnesses.map((w) => `${w.name}:${w.state}`)).toEqual(['court:independent', 'procuratorate:absent', 'notary:absent']);
    expect(one.quorum).toEqual({ met: 'false', text: expect.stringMatching(/^未满足见证策略法定数 two-of-three.*仅 1 个见证人有效联署.*NOT met: only 1 witness/) });
    await page.screenshot({ path: join(dir, 'verify-witnesses-quorum-not-met.png'), fullPage: true });
    // Without a policy the cosignatures are not required (C2SP): the same receipt is VALID.
    const none = await verify(page, { receipt: f['receipt-1-cosignature.json'] as string, policy: { text: '' } });
    expect(none.valid).toBe(true);
    expect(check(none, 'cosignatures')?.status).toBe('skip');
    expect(none.witnesses).toEqual([]);
    expect(requests).toEqual([url]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('refuses a malformed policy (POLICY_MALFORMED) without a verdict', async () => {
    const { page } = await open(`${s.url}/verify`);
    for (const bad of ['witness court not-a-key\nquorum court\n', policyText.replace('quorum two-of-three\n', '')]) {
      const shown = await verify(page, { receipt: f['receipt-3-cosignatures.json'] as string, policy: { text: bad } });
      expect(shown.valid).toBeNull();
      expect(shown.error).toMatch(/见证策略格式错误.*The witness policy is malformed.*POLICY_MALFORMED: policy/);
      expect(await page.getAttribute('#policy-info', 'data-ok')).toBe('false');
      expect(await page.textContent('#policy-info')).toMatch(/POLICY_MALFORMED/);
    }
    await page.close();
  });

  it('verifies the case bundle with the policy, showing the common checkpoint’s witnesses once', async () => {
    const { page } = await open(`${s.url}/verify`);
    const shown = await verify(page, { receipt: f['case.bundle.json'] as string });
    expect(shown.valid).toBe(true);
    expect(shown.items.map((i) => i.valid)).toEqual([true, true]);
    expect(shown.quorum?.met).toBe('true');
    expect(shown.witnesses.filter((w) => w.state === 'independent').length).toBeGreaterThanOrEqual(2);
    await page.close();
  });
});

if (!HAVE_CHROMIUM) it.skip(`court verification page with a witness policy in Chromium: ${NO_CHROMIUM}`, () => {});
