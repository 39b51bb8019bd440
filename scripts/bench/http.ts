/**
 * Scenarios 2–4 over HTTP on 127.0.0.1: single-entry submit (against an express 5 hello-world JSON
 * POST measured in the same run), 1,000-entry batch submit, and `?wait=receipt` latency at a fixed
 * ~1k req/s. The server is the real service (`startService`: LevelDB in a temp dir, group commit
 * with fsync, checkpoints every 200 ms or 50 ms while receipts are awaited), in this process; the load generator (autocannon) runs in a
 * child process (load.ts), so the two never share an event loop.
 */
import { fork } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { DEFAULTS, loadConfig, type ServiceConfig } from '../../src/config.js';
import { startService, type RunningService } from '../../src/server.js';
import { entryJson, log, makeDigests, tempDir, type Row, type Sizes } from './common.js';
import type { LoadResult, LoadSpec } from './load.js';

/** The admin key of the bench service (a temp data dir, bound to 127.0.0.1 only). */
export const ADMIN_KEY = 'gzk_' + 'A'.repeat(42) + 'w';

const LOAD = fileURLToPath(new URL('./load.ts', import.meta.url));

/** runLoad runs autocannon in a child process (inheriting the tsx loader) and returns its summary. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(LOAD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.send(spec);
    let result: LoadResult | undefined;
    child.on('message', (m) => (result = m as LoadResult));
    child.on('error', reject);
    child.on('exit', (code) => (result !== undefined ? resolve(result) : reject(new Error(`load generator exited with ${code} and no result`))));
  });
}

/**
 * startGuzheng starts the service on a new temp data dir (or `over.dataDir`), rate limit off (one
 * key drives all load), with no TSA and no witnesses unless `over` configures them.
 */
export async function startGuzheng(name: string, over: Partial<ServiceConfig> = {}): Promise<RunningService> {
  const config: ServiceConfig = {
    ...loadConfig({}),
    dataDir: over.dataDir ?? tempDir(name),
    port: 0,
    origin: 'bench.guzheng.example/http',
    adminKey: ADMIN_KEY,
    rateLimitPerKey: 0,
    hj212Port: undefined,
    hj212Host: '127.0.0.1',
    hj212LegacyCrc: new Map(),
    tsaUrls: [],
    tsaCaFile: undefined,
    tsaIntervalMs: 10_000,
    tsaTimeoutMs: 10_000,
    witnessPolicyFile: undefined,
    ...over,
  };
  return startService(config, () => {});
}

/** listen starts an express app on 127.0.0.1 with a free port. */
export async function listen(app: express.Express): Promise<{ url: string; close(): Promise<void> }> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The baseline: an express 5 hello-world JSON POST (parse the JSON body, answer 201 with JSON). */
function helloApp(): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.post('/hello', express.json(), (req, res) => {
    res.status(201).json({ hello: 'world', got: typeof req.body });
  });
  return app;
}

const CONNECTIONS = 100;
/** Batch requests in flight: the server is CPU-bound here (8 or 16 gave no more entries/s). */
const BATCH_CONNECTIONS = 4;

function checkLoad(what: string, r: LoadResult): void {
  log(`${what}: ${Math.round(r.rps)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms${r.errors + r.non2xx > 0 ? `, ${r.errors} errors, ${r.non2xx} non-2xx` : ''}`);
  if (r.requests === 0) throw new Error(`bench: ${what}: no request completed`);
}

/** benchHttp runs scenarios 2, 3 and 4. */
export async function benchHttp(sizes: Sizes, want: (scenario: string) => boolean = () => true): Promise<Row[]> {
  const rows: Row[] = [];
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };
  const [hex0] = makeDigests(1);
  const single = JSON.stringify(entryJson(0, hex0 as string));

  // 2: single-entry submit vs hello world, same body, same connections, same duration; at 16
  // connections (latency-bound: each request waits for a group commit's fsync) and at 100.
  if (want('2')) {
    for (const connections of [16, CONNECTIONS]) {
      const hello = await listen(helloApp());
      const base = await runLoad({ url: `${hello.url}/hello`, kind: 'post', body: single, connections, seconds: sizes.httpSeconds });
      await hello.close();
      checkLoad(`2 baseline hello (${connections} connections)`, base);
      const svc = await startGuzheng('http-single');
      const one = await runLoad({ url: `${svc.url}/v1/entries`, kind: 'post', body: single, headers: auth, connections, seconds: sizes.httpSeconds });
      const flushes = { ...svc.ledger.sequencer.stats };
      await svc.close();
      checkLoad(`2 POST /v1/entries (${connections} connections)`, one);
      const ratio2 = one.rps / base.rps;
      rows.push({
        scenario: '2 HTTP single submit',
        metric: `POST /v1/entries, ${connections} connections, ${sizes.httpSeconds} s`,
        value: one.rps,
        unit: 'req/s',
        baseline: { name: 'express 5 hello-world JSON POST, same body', value: base.rps, unit: 'req/s' },
        ratio: ratio2,
        goal: 'ratio ≥ 0.6',
        met: ratio2 >= 0.6 && one.errors + one.non2xx === 0,
        note: `latency p50 ${one.p50} ms, p99 ${one.p99} ms (hello: p50 ${base.p50} ms, p99 ${base.p99} ms); ${flushes.flushes} fsynced flushes, ${(flushes.entries / Math.max(1, flushes.flushes)).toFixed(0)} entries each${one.errors + one.non2xx > 0 ? `; ${one.errors} errors, ${one.non2xx} non-2xx` : ''}`,
      });
      if (connections === CONNECTIONS) rows.push({ scenario: '2 HTTP single submit', metric: 'latency p50 / p99', value: one.p50, unit: 'ms', note: `p99 ${one.p99} ms` });
    }
  }

  // 3: batches of 1,000.
  if (want('3')) {
  const digests = makeDigests(1000);
  const batch = JSON.stringify({ entries: digests.map((h, i) => entryJson(i, h)) });
  const svc = await startGuzheng('http-batch');
  const b = await runLoad({ url: `${svc.url}/v1/entries/batch`, kind: 'post', body: batch, headers: auth, connections: BATCH_CONNECTIONS, seconds: sizes.httpSeconds });
  await svc.close();
  checkLoad('3 POST /v1/entries/batch', b);
  rows.push({
    scenario: '3 HTTP batch submit',
    metric: `POST /v1/entries/batch, 1,000 entries per request (${(batch.length / 1024).toFixed(0)} KiB), ${BATCH_CONNECTIONS} connections`,
    value: b.rps * 1000,
    unit: 'entries/s',
    goal: '≥ 30,000 entries/s',
    met: b.rps * 1000 >= 30_000 && b.errors + b.non2xx === 0,
    note: `p50 ${b.p50} ms, p99 ${b.p99} ms per 1,000-entry request`,
  });
  }

  // 4: ?wait=receipt at ~1k req/s (open loop: enough connections that latency never caps the rate).
  if (want('4')) {
  const svc = await startGuzheng('http-receipt');
  const rc = await runLoad({ url: `${svc.url}/v1/entries?wait=receipt`, kind: 'post', body: single, headers: auth, connections: 400, seconds: sizes.httpSeconds, rate: 1000 });
  const checkpoints = svc.ledger.publisher.published;
  // The same rate as autocannon's per-second bursts (every connection's quota at once), for reference.
  const burst = await runLoad({ url: `${svc.url}/v1/entries?wait=receipt`, kind: 'post', body: single, headers: auth, connections: 400, seconds: sizes.httpSeconds, rate: 1000, pacing: 'burst' });
  // Requests cut off by the end of the load are still building their receipts: let them finish.
  await new Promise((r) => setTimeout(r, 1000));
  await svc.close();
  checkLoad('4 POST /v1/entries?wait=receipt', rc);
  rows.push({
    scenario: '4 receipt latency',
    metric: `POST /v1/entries?wait=receipt at ${Math.round(rc.rps)} req/s (target 1,000); a checkpoint at most every ${DEFAULTS.checkpointIntervalMs} ms, every ${DEFAULTS.receiptIntervalMs} ms while receipts are awaited`,
    value: rc.p99,
    unit: 'ms p99',
    goal: 'p99 ≤ 300 ms',
    met: rc.p99 <= 300 && rc.errors + rc.non2xx === 0,
    note: `paced open loop (one request per ms, latency from its due time); p50 ${rc.p50} ms, p90 ${rc.p90} ms, max ${rc.max} ms; ${checkpoints} checkpoints signed and sealed. autocannon overallRate (each second's 1,000 requests sent as one burst): ${Math.round(burst.rps)} req/s, p50 ${burst.p50} ms, p99 ${burst.p99} ms${rc.errors + rc.non2xx > 0 ? `; ${rc.errors} errors, ${rc.non2xx} non-2xx` : ''}`,
  });
  }
  return rows;
}
