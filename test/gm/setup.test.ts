/**
 * Creating and reopening a gm log (SPEC.md#crypto-suites: the key fixes the suite for the log's
 * life): GUZHENG_PROFILE picks the key algorithm of a NEW log only; an existing log keeps its own
 * and a different profile is a configuration error naming both. Real files, real startService.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { parseSignerKey } from '../../src/core/note.js';
import { suiteOfKey } from '../../src/core/suite.js';
import { startService } from '../../src/server.js';
import { loadOrCreateLogKey, newLogKeyPair, readLogKey } from '../../src/setup.js';
import { verifyReceipt } from '../../src/verifier/index.js';
import { sm3Hex } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'guzheng-gm-setup-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('loadOrCreateLogKey with a profile', () => {
  it('creates an SM2 key for gm and an Ed25519 key by default; an existing key keeps its suite', () => {
    const gm = join(root, 'gm');
    const made = loadOrCreateLogKey(gm, 'gm.test/log', 'gm');
    expect(made.created).toBe(true);
    expect(made.key.algorithm).toBe('sm2');
    expect(statSync(join(gm, 'log-key')).mode & 0o777).toBe(0o600);
    expect(parseSignerKey(readFileSync(join(gm, 'log-key'), 'utf8').trim()).algorithm).toBe('sm2');
    // Reopened: with no profile, or the same one, the same key.
    for (const profile of [undefined, 'gm'] as const) {
      const again = loadOrCreateLogKey(gm, undefined, profile);
      expect(again.created).toBe(false);
      expect(again.key.keyId).toBe(made.key.keyId);
    }
    expect(readLogKey(gm).keyId).toBe(made.key.keyId);
    const c2sp = join(root, 'c2sp');
    expect(suiteOfKey(loadOrCreateLogKey(c2sp, 'c2sp.test/log', undefined).key).id).toBe('c2sp');
    expect(suiteOfKey(loadOrCreateLogKey(join(root, 'c2sp-explicit'), 'c2sp.test/log', 'c2sp').key).id).toBe('c2sp');
  });

  it('refuses a profile other than the existing log\'s with a ConfigError naming both, changing nothing', () => {
    const gm = join(root, 'gm');
    const before = readFileSync(join(gm, 'log-key'), 'utf8');
    let err: unknown;
    try {
      loadOrCreateLogKey(gm, undefined, 'c2sp');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/GUZHENG_PROFILE \(--profile\) is c2sp but the log in .* is gm .*SM2/);
    expect(readFileSync(join(gm, 'log-key'), 'utf8')).toBe(before);
    expect(() => loadOrCreateLogKey(join(root, 'c2sp'), undefined, 'gm')).toThrow(/is gm but the log in .* is c2sp .*Ed25519/);
  });

  it('makes valid key pairs of both algorithms', () => {
    for (let i = 0; i < 5; i++) {
      expect(parseSignerKey(newLogKeyPair('k.test/log', 'gm').signerKey).algorithm).toBe('sm2');
      expect(parseSignerKey(newLogKeyPair('k.test/log').signerKey).algorithm).toBe('ed25519');
    }
  });

  it('readLogKey refuses a data directory without a log', () => {
    expect(() => readLogKey(join(root, 'nothing'))).toThrow(/no log key/);
  });
});

describe('startService with GUZHENG_PROFILE=gm', () => {
  it('creates a gm log, says so in its banner and GET /v1/log, and refuses to reopen it as c2sp', async () => {
    const data = join(root, 'service');
    const lines: string[] = [];
    const config = (env: Record<string, string>) => loadConfig({ GUZHENG_DATA: data, PORT: '0', GUZHENG_CHECKPOINT_INTERVAL_MS: '20', GUZHENG_ORIGIN: 'gm.test/service', ...env });
    const svc = await startService(config({ GUZHENG_PROFILE: 'gm' }), (l) => lines.push(l));
    let vkey: string;
    try {
      expect(lines.join('\n')).toMatch(/crypto suite: +gm \(.*SM3 \/ SM2; content digests sm3\)/);
      const log = (await (await fetch(`${svc.url}/v1/log`)).json()) as { suite: string; verifierKey: string; publicKeyPem: string };
      expect(log.suite).toBe('gm');
      expect(log.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
      vkey = log.verifierKey;
      const admin = readFileSync(join(data, 'admin-api-key'), 'utf8').trim();
      const res = await fetch(`${svc.url}/v1/entries?wait=receipt`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'digest', digest: { alg: 'sm3', hex: sm3Hex('x') } }),
      });
      expect(res.status).toBe(201);
      const r = (await res.json()) as { receipt: unknown };
      expect((await verifyReceipt(r.receipt, { trustedKeys: [vkey] })).valid).toBe(true);
    } finally {
      await svc.close();
    }
    await expect(startService(config({ GUZHENG_PROFILE: 'c2sp' }), () => {})).rejects.toThrow(ConfigError);
    await expect(startService(config({ GUZHENG_PROFILE: 'c2sp' }), () => {})).rejects.toThrow(/is c2sp but the log .* is gm/);
    // The refused start did not touch the log: it reopens as gm, with its checkpoint file checked.
    const again = await startService(config({}), () => {});
    try {
      expect(again.ledger.suite.id).toBe('gm');
      expect(again.ledger.verifierKey).toBe(vkey);
      expect(again.ledger.sequencer.size).toBe(1n);
    } finally {
      await again.close();
    }
  });
});
