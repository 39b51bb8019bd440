/**
 * The load generator of the HTTP scenarios, run as a CHILD process (child_process.fork from
 * scripts/bench/http.ts) so that autocannon never shares an event loop or a core's time slice
 * with the server it measures. It receives one {@link LoadSpec} over IPC, runs autocannon against
 * 127.0.0.1, and sends the summary back over IPC.
 */
import http from 'node:http';
import autocannon, { type Request } from 'autocannon';

/** What to run. `kind` picks how each request is built. */
export interface LoadSpec {
  readonly url: string;
  readonly kind: 'post' | 'inclusion' | 'consistency';
  readonly body?: string;
  readonly headers?: Record<string, string>;
  readonly connections: number;
  readonly seconds: number;
  /** Requests per second for all connections together (open-loop rate), if any. */
  readonly rate?: number;
  /**
   * With `rate`: `paced` (default) sends one request every 1/rate s and measures each latency
   * from its scheduled send time; `burst` uses autocannon's overallRate, which sends every
   * connection's per-second quota back to back when its one-second timer fires.
   */
  readonly pacing?: 'paced' | 'burst';
  /** Tree size for proof requests: indexes are drawn uniformly in [0, size). */
  readonly size?: number;
  /** Paced POST only: keep the body of every `sample`-th measured 2xx response (to check what the load got). */
  readonly sample?: number;
}

/** What comes back. Latencies in ms. */
export interface LoadResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly seconds: number;
  /** The sampled response bodies (see {@link LoadSpec.sample}). */
  readonly samples?: string[];
}

function requestsFor(spec: LoadSpec): Request[] | undefined {
  const size = spec.size ?? 1;
  const rnd = () => Math.floor(Math.random() * size);
  if (spec.kind === 'inclusion') return [{ method: 'GET', setupRequest: (r) => ({ ...r, method: 'GET', path: `/v1/proof/inclusion?index=${rnd()}` }) }];
  if (spec.kind === 'consistency') return [{ method: 'GET', setupRequest: (r) => ({ ...r, method: 'GET', path: `/v1/proof/consistency?from=${1 + rnd()}` }) }];
  return undefined;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number);
}

/**
 * paced is an open-loop generator for POST requests at a steady `rate`: request k is due at
 * start + k/rate and is sent then (over at most `connections` keep-alive sockets; beyond that it
 * waits for a socket, and the wait counts). Its latency runs from its DUE time to the end of the
 * response, so a slow server cannot hide its backlog by slowing the generator down (no
 * coordinated omission, as in wrk2). autocannon's overallRate instead gives each connection a
 * per-second quota that it sends back to back whenever its one-second timer fires: all 400
 * connections' timers fire together, so "1,000 req/s" arrives as one burst per second.
 */
async function paced(spec: LoadSpec & { readonly rate: number }): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });
  const url = new URL(spec.url);
  const body = Buffer.from(spec.body ?? '');
  const headers = { 'content-type': 'application/json', 'content-length': String(body.length), ...spec.headers };
  const interval = 1000 / spec.rate;
  // One second of warm-up at the same rate first (JIT, sockets, both sides): not measured.
  const warmup = Math.round(spec.rate);
  const total = warmup + Math.round(spec.seconds * spec.rate);
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  const samples: string[] = [];
  let measuredOk = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    let sent = 0;
    let inflight = 0;
    let done = false;
    const finish = () => {
      inflight--;
      if (done && inflight === 0) resolve();
    };
    const fire = (due: number, measured: boolean) => {
      inflight++;
      const req = http.request({ agent, host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'POST', headers }, (res) => {
        const ok = (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;
        const keep = measured && ok && spec.sample !== undefined && measuredOk++ % spec.sample === 0;
        const chunks: Buffer[] = [];
        if (keep) res.on('data', (c: Buffer) => chunks.push(c));
        else res.resume();
        res.once('end', () => {
          if (measured) latencies.push(performance.now() - due);
          if (measured && !ok) non2xx++;
          if (keep) samples.push(Buffer.concat(chunks).toString('utf8'));
          finish();
        });
      });
      req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
      req.once('error', () => {
        errors++;
        finish();
      });
      req.end(body);
    };
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
      for (; sent < due; sent++) fire(start + interval * sent, sent >= warmup);
      if (sent >= total) {
        clearInterval(timer);
        done = true;
        if (inflight === 0) resolve();
      }
    }, 1);
  });
  const seconds = (performance.now() - start) / 1000 - 1;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    rps: latencies.length / spec.seconds,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: Math.round(latencies.at(-1) ?? 0),
    errors,
    non2xx,
    seconds,
    ...(spec.sample !== undefined ? { samples } : {}),
  };
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  if (spec.rate !== undefined && spec.kind === 'post' && spec.pacing !== 'burst') return paced({ ...spec, rate: spec.rate });
  const requests = requestsFor(spec);
  const r = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.seconds,
  pipelining: 1,
  timeout: 30,
  ...(spec.kind === 'post' ? { method: 'POST', body: spec.body ?? '', headers: { 'content-type': 'application/json', ...spec.headers } } : {}),
  ...(requests ? { requests } : {}),
  ...(spec.rate !== undefined ? { overallRate: spec.rate } : {}),
});
  return {
  requests: r.requests.total,
  rps: r.requests.total / r.duration,
  p50: r.latency.p50,
  p90: r.latency.p90,
  p99: r.latency.p99,
  max: r.latency.max,
  errors: r.errors + r.timeouts,
  non2xx: r.non2xx,
  seconds: r.duration,
  };
}

process.once('message', (spec: LoadSpec) => {
  void run(spec).then((result) => {
    // Disconnect only once the message is written: a large result (sampled bodies) is still
    // being sent when send() returns, and disconnecting then drops it.
    process.send?.(result, undefined, {}, () => process.disconnect?.());
  });
});
