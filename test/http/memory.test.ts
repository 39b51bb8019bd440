import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createApiKey } from '../../src/auth/api-keys.js';
import { createApp } from '../../src/http/app.js';
import { Ledger } from '../../src/log/ledger.js';
import { MemoryStore } from '../../src/storage/memory.js';
import { verifyReceipt } from '../../src/verifier/index.js';
import { TEST_LOG, json, pinned, postJson } from './helpers.js';

describe('createApp', () => {
  it('runs over MemoryStore with a caller-supplied registry, and two apps do not share metrics', async () => {
    const apps = [];
    for (let i = 0; i < 2; i++) {
      const store = new MemoryStore();
      const ledger = await Ledger.open({ store, signerKey: TEST_LOG.signerKey, checkpointIntervalMs: 20 });
      const { secret } = await createApiKey(store, 'submit');
      const registry = new Registry();
      const app = createApp({ ledger, store, config: {}, registry });
      expect(app.registry).toBe(registry);
      const server = await new Promise<import('node:http').Server>((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s));
      });
      const url = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
      apps.push({ ledger, server, url, secret, registry });
    }
    try {
      const [a, b] = apps as [(typeof apps)[0], (typeof apps)[0]];
      const record = { memory: true };
      const r = await json(await postJson(`${a.url}/v1/entries?wait=receipt`, { type: 'record', record }, a.secret), 201);
      expect((await verifyReceipt(r.receipt, { ...pinned, content: { record } })).valid).toBe(true);
      expect(await a.registry.getSingleMetricAsString('guzheng_entries_appended_total')).toMatch(/ 1$/);
      expect(await b.registry.getSingleMetricAsString('guzheng_entries_appended_total')).toMatch(/ 0$/);
      // A key of one app is unknown to the other.
      expect((await postJson(`${b.url}/v1/entries`, { type: 'record', record }, a.secret)).status).toBe(401);
    } finally {
      for (const x of apps) {
        await new Promise<void>((resolve) => x.server.close(() => resolve()));
        await x.ledger.close();
      }
    }
  });
});
