import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { logInfoSchema } from '../../src/http/routes/log.js';
import { healthSchema } from '../../src/http/routes/ops.js';
import { receiptSchema, servedBlockSchema } from '../../src/http/schemas.js';
import { blockHash, openCheckpoint, parseBlock, verifyBlockChain, verifyReceipt } from '../../src/verifier/index.js';
import { TEST_LOG, auth, json, pinned, postJson, problem, sha256Hex, startServer, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer({ config: { receiptWaitMs: 200 } });
  for (let i = 0; i < 3; i++) {
    await postJson(`${s.url}/v1/entries/batch`, { entries: [1, 2, 3].map((j) => ({ type: 'record', record: { i, j } })) }, s.keys.submit);
    await s.ledger.publisher.waitFor(s.ledger.sequencer.size, 5000);
  }
});
afterAll(() => s.destroy());

describe('GET /checkpoint and /v1/log', () => {
  it('serves the latest signed checkpoint as text, uncached, matching /v1/log', async () => {
    const res = await fetch(`${s.url}/checkpoint`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const cp = openCheckpoint(await res.text(), TEST_LOG.verifierKey).checkpoint;
    const log = await json(await fetch(`${s.url}/v1/log`));
    expect(logInfoSchema.parse(log)).toBeTruthy();
    expect(log).toMatchObject({ origin: 'guzheng.test/log', verifierKey: TEST_LOG.verifierKey, size: String(cp.size), rootHash: toHex(cp.root), checkpointIntervalMs: 20 });
    const block = await json(await fetch(`${s.url}/v1/blocks/${log.height}`));
    expect(block.hash).toBe(log.blockHash);
    expect(BigInt(block.first) + BigInt(block.count)).toBe(cp.size);
  });

  it('answers 400 to any query parameter and 405 to other methods', async () => {
    expect(await problem(await fetch(`${s.url}/checkpoint?x=1`), 400)).toMatchObject({ field: 'x' });
    const res = await fetch(`${s.url}/checkpoint`, { method: 'POST' });
    expect((await problem(res, 405)).code).toBe('METHOD_NOT_ALLOWED');
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('GET /v1/blocks', () => {
  it('lists the chain in pages; every block hash is right and the chain verifies', async () => {
    const all = await json(await fetch(`${s.url}/v1/blocks`));
    expect(all.next).toBeUndefined();
    expect(all.blocks.length).toBeGreaterThanOrEqual(4);
    for (const b of all.blocks) {
      expect(servedBlockSchema.parse(b)).toBeTruthy();
      const { hash, ...json } = b;
      expect(hash).toBe(toHex(blockHash(parseBlock(json))));
    }
    const chain = verifyBlockChain(all.blocks.map(({ hash: _h, ...b }: { hash: string }) => parseBlock(b)), TEST_LOG.verifierKey);
    expect(chain.tip.height).toBe(BigInt(all.blocks.length - 1));
    const p1 = await json(await fetch(`${s.url}/v1/blocks?from=1&limit=2`));
    expect(p1.blocks.map((b: { height: string }) => b.height)).toEqual(['1', '2']);
    expect(p1.next).toBe('3');
    const one = await fetch(`${s.url}/v1/blocks/1`);
    expect(one.headers.get('cache-control')).toContain('immutable');
    expect(await one.json()).toEqual(p1.blocks[0]);
  });

  it('404 beyond the chain, 400 for bad heights and limits', async () => {
    expect(await problem(await fetch(`${s.url}/v1/blocks/1000`), 404)).toMatchObject({ code: 'NOT_FOUND', field: 'height' });
    for (const h of ['01', '-1', '1e3', 'abc']) expect(await problem(await fetch(`${s.url}/v1/blocks/${h}`), 400), h).toMatchObject({ field: 'height' });
    expect(await problem(await fetch(`${s.url}/v1/blocks?limit=0`), 400)).toMatchObject({ field: 'limit' });
    expect(await problem(await fetch(`${s.url}/v1/blocks?from=x`), 400)).toMatchObject({ field: 'from' });
  });
});

describe('GET /v1/receipts/{index}', () => {
  it('serves a receipt against the latest checkpoint to submit and audit keys', async () => {
    for (const key of [s.keys.submit, s.keys.audit, s.keys.admin]) {
      const r = await json(await fetch(`${s.url}/v1/receipts/4`, { headers: auth(key) }));
      expect(receiptSchema.parse(r)).toBeTruthy();
      expect((await verifyReceipt(r, { ...pinned, content: { record: { i: 1, j: 2 } } })).valid).toBe(true);
    }
  });

  it('404 beyond the log, 400 for a bad index, 401 without a key', async () => {
    expect(await problem(await fetch(`${s.url}/v1/receipts/${s.ledger.sequencer.size}`, { headers: auth(s.keys.audit) }), 404)).toMatchObject({ field: 'index' });
    expect(await problem(await fetch(`${s.url}/v1/receipts/07`, { headers: auth(s.keys.audit) }), 400)).toMatchObject({ field: 'index' });
    expect((await fetch(`${s.url}/v1/receipts/0`)).status).toBe(401);
  });

  it('waits briefly for a checkpoint, then answers 503 RECEIPT_PENDING with Retry-After', async () => {
    // A second server on the same store would fight over it; instead stall this log's publisher.
    const publisher = s.ledger.publisher as unknown as { publishNow: () => Promise<unknown> };
    const original = publisher.publishNow;
    let release!: () => void;
    const stalled = new Promise<void>((r) => (release = r));
    publisher.publishNow = async () => {
      await stalled;
      return original.call(publisher);
    };
    try {
      const a = await json(await postJson(`${s.url}/v1/entries`, { type: 'digest', digest: { alg: 'sha256', hex: sha256Hex('pending') } }, s.keys.submit), 201);
      const res = await fetch(`${s.url}/v1/receipts/${a.index}`, { headers: auth(s.keys.submit) });
      expect(await problem(res, 503)).toMatchObject({ code: 'RECEIPT_PENDING' });
      expect(res.headers.get('retry-after')).toBe('1');
      // ?wait=receipt still answers 201 (anchored) without a receipt.
      const b = await json(await postJson(`${s.url}/v1/entries?wait=receipt`, { type: 'digest', digest: { alg: 'sha256', hex: sha256Hex('pending 2') } }, s.keys.submit), 201);
      expect(b.receipt).toBeUndefined();
    } finally {
      publisher.publishNow = original;
      release();
    }
    await s.ledger.publisher.publishNow();
    const r = await json(await fetch(`${s.url}/v1/receipts/${s.ledger.sequencer.size - 1n}`, { headers: auth(s.keys.submit) }));
    expect((await verifyReceipt(r, pinned)).valid).toBe(true);
  });
});

describe('operations', () => {
  it('GET /healthz reports sizes and the queue', async () => {
    const h = await json(await fetch(`${s.url}/healthz`));
    expect(healthSchema.parse(h)).toEqual({ status: 'ok', size: String(s.ledger.sequencer.size), checkpointSize: String(s.ledger.checkpointSize), queued: 0, storage: 'ok', tsa: 'off' });
  });

  it('GET /metrics exposes log and request metrics from the app registry', async () => {
    await fetch(`${s.url}/v1/entries/0`);
    await fetch(`${s.url}/nope`);
    const res = await fetch(`${s.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(new RegExp(`^guzheng_entries_appended_total ${s.ledger.sequencer.stats.entries}$`, 'm'));
    expect(text).toMatch(/^guzheng_flushes_total [1-9]/m);
    expect(text).toMatch(/^guzheng_queue_depth 0$/m);
    expect(text).toMatch(new RegExp(`^guzheng_checkpoint_size ${s.ledger.checkpointSize}$`, 'm'));
    expect(text).toMatch(/^guzheng_checkpoints_published_total [1-9]/m);
    expect(text).toContain('guzheng_http_requests_total{method="POST",route="/v1/entries/batch",status="201"} 3');
    expect(text).toContain('guzheng_http_requests_total{method="GET",route="/v1/entries/{index}",status="401"} 1');
    expect(text).toContain('guzheng_http_requests_total{method="GET",route="unmatched",status="404"} 1');
    expect(text).toMatch(/^guzheng_http_request_duration_seconds_bucket\{le="0\.1",method="GET",route="\/checkpoint",status="200"\} \d+$/m);
    // Not the global registry.
    const { register } = await import('prom-client');
    expect(await register.getSingleMetricAsString('guzheng_entries_appended_total').catch(() => '')).toBe('');
  });

  it('GET /openapi.json is an OpenAPI 3.1 document listing every route', async () => {
    const doc = await json(await fetch(`${s.url}/openapi.json`));
    expect(doc.openapi).toBe('3.1.0');
    const want = ['/v1/entries', '/v1/entries/batch', '/v1/documents', '/v1/entries/{index}', '/v1/lookup/{alg}/{hex}', '/v1/proof/inclusion', '/v1/proof/consistency', '/checkpoint', '/v1/log', '/v1/blocks', '/v1/blocks/{height}', '/v1/receipts/{index}', '/v1/cases/{caseId}', '/v1/cases/{caseId}/bundle', '/v1/verify', '/v1/verify/{alg}/{hex}', '/v1/hj212/devices/{mn}/packets', '/verify', '/v1/receipts/{index}/certificate', '/v1/receipts/{index}/certificate.pdf', '/healthz', '/metrics', '/openapi.json', '/', '/console/{file}'];
    // Every route of the table, no other path; the public API's at least (the console adds its own).
    expect(Object.keys(doc.paths).sort()).toEqual([...new Set(s.app.routes.map((r: { path: string }) => r.path))].sort());
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(want));
    for (const r of s.app.routes) {
      const op = doc.paths[r.path][r.method];
      expect(op.operationId, r.path).toBe(r.operationId);
      for (const name of r.path.match(/\{(\w+)\}/g) ?? []) expect(op.parameters.some((p: { name: string; in: string }) => p.in === 'path' && `{${p.name}}` === name)).toBe(true);
    }
    const append = doc.paths['/v1/entries'].post;
    expect(append.security).toEqual([{ bearer: [] }, { session: [] }]);
    expect(append.requestBody.content['application/json'].schema.oneOf).toHaveLength(2);
    expect(append.responses['400'].content['application/problem+json'].schema.$ref).toBe('#/components/schemas/Problem');
    const incl = doc.paths['/v1/proof/inclusion'].get;
    expect(incl.security).toEqual([]);
    expect(incl.parameters.find((p: { name: string }) => p.name === 'index').schema.pattern).toBe('^(0|[1-9][0-9]{0,19})$');
  });

  it('answers an unknown route with a 404 problem', async () => {
    expect(await problem(await fetch(`${s.url}/v2/entries`), 404)).toMatchObject({ code: 'NOT_FOUND', type: '/problems/not-found' });
  });
});
