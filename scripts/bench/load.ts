/**
 * The load generator of the HTTP scenarios, run as a CHILD process (child_process.fork from
 * scripts/bench/http.ts) so that autocannon never shares an event loop or a core's time slice
 * with the server it measures. It receives one {@link LoadSpec} over IPC, runs autocannon against
 * 127.0.0.1, and sends the summary back over IPC.
 */
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
  /** Tree size for proof requests: indexes are drawn uniformly in [0, size). */
  readonly size?: number;
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
}

function requestsFor(spec: LoadSpec): Request[] | undefined {
  const size = spec.size ?? 1;
  const rnd = () => Math.floor(Math.random() * size);
  if (spec.kind === 'inclusion') return [{ method: 'GET', setupRequest: (r) => ({ ...r, method: 'GET', path: `/v1/proof/inclusion?index=${rnd()}` }) }];
  if (spec.kind === 'consistency') return [{ method: 'GET', setupRequest: (r) => ({ ...r, method: 'GET', path: `/v1/proof/consistency?from=${1 + rnd()}` }) }];
  return undefined;
}

async function run(spec: LoadSpec): Promise<LoadResult> {
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
    process.send?.(result);
    process.disconnect?.();
  });
});
