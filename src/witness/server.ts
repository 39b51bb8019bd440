/**
 * The witness HTTP service (docs/witness.md): c2sp.org/tlog-witness add-checkpoint, the monitoring
 * path, health and metrics. {@link createWitnessApp} builds the express app without listening;
 * {@link startWitness} opens the state (taking the directory lock), loads the key and listens.
 *
 *     POST /add-checkpoint                 submission prefix = the service's base URL
 *     GET  /<hex SHA-256(origin)>/checkpoint  latest cosigned checkpoint, with our cosignature
 *     GET  /healthz                        JSON: witness key, logs, latest cosigned sizes
 *     GET  /metrics                        Prometheus text format
 *
 * Every request for one origin runs its decision and commit under that origin's lock, so the
 * check against the latest size and the write of the new one are atomic (tlog-witness: "checking
 * the old size against the latest checkpoint and persisting the new checkpoint must be performed
 * atomically"); the 200 is sent only after the fsync.
 */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { signCosignature, type WitnessSignerKey } from '../core/cosignature.js';
import { decideAddCheckpoint, parseAddCheckpointBody } from './add-checkpoint.js';
import type { WitnessedLogs } from './config.js';
import { createWitnessMetrics, type WitnessMetrics } from './metrics.js';
import { WitnessState } from './state.js';
import { loadWitnessKey } from './keyfile.js';

/** Default request body cap: 16 post-quantum signatures of ~5 kB (signed-note) with room to spare. */
export const DEFAULT_MAX_BODY_BYTES = 128 * 1024;
/** Default per-IP rate limit, requests per second (burst twice that). */
export const DEFAULT_RATE_LIMIT = 50;

/** What {@link createWitnessApp} needs. No module state: tests build as many apps as they like. */
export interface WitnessDeps {
  readonly logs: WitnessedLogs;
  readonly state: WitnessState;
  readonly signer: WitnessSignerKey;
  readonly verifierKey: string;
  /** Wall clock, ms since the epoch (cosignature timestamps are its seconds). */
  readonly now?: () => number;
  readonly maxBodyBytes?: number;
  /** Requests per second per client IP; 0 disables the limit. */
  readonly rateLimit?: number;
  readonly metrics?: WitnessMetrics;
}

/**
 * hex SHA-256 of the origin: the monitoring path segment (C2SP tlog-witness monitoring prefix).
 * SHA-256 for a `gm` log too: it names a URL of this witness, it secures nothing of the log's
 * (SPEC.md#crypto-suites covers the log's hashes and signatures), and monitors find every log alike.
 */
export function originPath(origin: string): string {
  return createHash('sha256').update(origin, 'utf8').digest('hex');
}

class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    readonly rate: number,
    readonly burst: number,
  ) {}
  /** take returns 0 if allowed, else the seconds to wait. */
  take(key: string, now: number): number {
    let b = this.#buckets.get(key);
    if (b === undefined) {
      if (this.#buckets.size > 10_000) for (const [k, v] of this.#buckets) if (v.tokens + ((now - v.at) / 1000) * this.rate >= this.burst) this.#buckets.delete(k);
      b = { tokens: this.burst, at: now };
      this.#buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.rate));
  }
}

/** Serializes async work per key (one origin's requests run one after another). */
class KeyedQueue {
  readonly #tails = new Map<string, Promise<void>>();
  run<T>(key: string, f: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const result = prev.then(f);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}

// Node's setHeader, not express's res.type/res.set, which would append "; charset=utf-8" to
// text/x.tlog.size: tlog-witness says the 409 "MUST have a Content-Type of text/x.tlog.size".
function text(res: Response, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  const bytes = Buffer.from(body, 'utf8');
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', String(bytes.length));
  res.end(bytes);
}

/** createWitnessApp builds the witness's express app (no listen). */
export function createWitnessApp(deps: WitnessDeps): Express {
  const now = deps.now ?? Date.now;
  const metrics = deps.metrics ?? createWitnessMetrics(deps.state, deps.logs);
  const rate = deps.rateLimit ?? DEFAULT_RATE_LIMIT;
  const limiter = rate > 0 ? new RateLimiter(rate, rate * 2) : undefined;
  const queue = new KeyedQueue();
  const byPath = new Map([...deps.logs.keys()].map((o) => [originPath(o), o]));
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((req: Request, res: Response, next: NextFunction) => {
    if (limiter === undefined || req.path === '/healthz' || req.path === '/metrics') return next();
    const wait = limiter.take(req.socket.remoteAddress ?? 'unknown', performance.now());
    if (wait === 0) return next();
    metrics.rateLimited();
    res.setHeader('Retry-After', String(wait));
    text(res, 429, 'too many requests from this address\n');
  });

  app.post('/add-checkpoint', express.raw({ type: () => true, limit: deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES }), async (req: Request, res: Response) => {
    const started = performance.now();
    const body = req.body instanceof Uint8Array ? req.body : new Uint8Array(0);
    const parsed = parseAddCheckpointBody(body);
    if ('ok' in parsed) {
      metrics.addCheckpoint(parsed.status, (performance.now() - started) / 1000);
      return text(res, parsed.status, parsed.body, parsed.contentType);
    }
    // The origin is the checkpoint's first line; queue on it (an unknown one is refused at once inside).
    const origin = parsed.note.slice(0, Math.max(0, parsed.note.indexOf('\n')));
    const answer = await queue.run(origin, async () => {
      const d = decideAddCheckpoint(parsed, deps.logs, (o) => deps.state.latest(o));
      if (!d.ok) {
        if (d.status === 422 && d.signedByLog && d.origin !== undefined) {
          const latest = deps.state.latest(d.origin)?.note;
          await deps.state
            .recordEvidence({ origin: d.origin, reason: d.body.trim(), request: new TextDecoder().decode(body), ...(latest === undefined ? {} : { latest }), at: now() })
            .then(() => metrics.evidence(d.origin as string), () => undefined);
        }
        return { status: d.status, body: d.body, type: d.contentType, origin: d.origin };
      }
      const prev = deps.state.latest(d.origin);
      // Non-decreasing per log: a later, larger tree never carries an earlier time than a
      // cosignature already given (a clock stepped back would otherwise make two cosignatures
      // contradict each other's "largest tree as of T"; tlog-cosignature §Ed25519 signed message).
      let time = BigInt(Math.floor(now() / 1000));
      if (prev !== undefined && prev.time > time) time = prev.time;
      const line = signCosignature(d.text, deps.signer, time, { randomness: new Uint8Array(randomBytes(32)) });
      const note = `${d.text}\n${[...d.logSignatures, line].join('\n')}\n`;
      await deps.state.commit({ origin: d.origin, size: d.checkpoint.size, root: d.checkpoint.root, time, note });
      return { status: 200, body: `${line}\n`, type: 'text/plain; charset=utf-8', origin: d.origin };
    });
    metrics.addCheckpoint(answer.status, (performance.now() - started) / 1000, answer.origin);
    text(res, answer.status, answer.body, answer.type);
  });
  app.all('/add-checkpoint', (_req: Request, res: Response) => {
    res.setHeader('Allow', 'POST');
    text(res, 405, 'use POST\n');
  });

  app.get('/healthz', (_req: Request, res: Response) => {
    res.json({
      status: 'ok',
      witness: deps.signer.name,
      verifierKey: deps.verifierKey,
      algorithm: deps.signer.algorithm,
      logs: [...deps.logs.values()].map((l) => {
        const r = deps.state.latest(l.origin);
        return { origin: l.origin, suite: l.suite.id, path: `/${originPath(l.origin)}/checkpoint`, size: r?.size.toString() ?? null, time: r === undefined ? null : Number(r.time) };
      }),
    });
  });

  app.get('/metrics', async (_req: Request, res: Response) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get('/:hash/checkpoint', (req: Request, res: Response) => {
    const hash = String(req.params.hash);
    const origin = /^[0-9a-f]{64}$/.test(hash) ? byPath.get(hash) : undefined;
    if (origin === undefined) return text(res, 404, 'no such log\n');
    const r = deps.state.latest(origin);
    if (r === undefined) return text(res, 404, 'nothing cosigned for this log yet\n');
    res.setHeader('Cache-Control', 'no-cache');
    text(res, 200, r.note);
  });

  app.use((_req: Request, res: Response) => text(res, 404, 'not found\n'));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof err === 'object' && err !== null && typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
    if (status === 413) metrics.addCheckpoint(413, 0);
    if (status >= 500) process.stderr.write(`witness: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    text(res, status, status === 413 ? 'request body too large\n' : status >= 500 ? 'internal error\n' : 'bad request\n');
  });
  return app;
}

/** Options of {@link startWitness}. */
export interface StartWitnessOptions {
  readonly dataDir: string;
  readonly logs: WitnessedLogs;
  readonly host?: string;
  readonly port?: number;
  readonly maxBodyBytes?: number;
  readonly rateLimit?: number;
}

/** A running witness. */
export interface RunningWitness {
  readonly url: string;
  readonly verifierKey: string;
  readonly name: string;
  /** close stops accepting, lets in-flight requests finish, and releases the directory lock. */
  close(): Promise<void>;
}

/**
 * startWitness loads the key, opens the state (failing fast with WitnessLockedError if another
 * process holds the directory) and listens. Requires: `witness init` was run on `dataDir`.
 */
export async function startWitness(o: StartWitnessOptions): Promise<RunningWitness> {
  const { signer, verifierKey } = loadWitnessKey(o.dataDir);
  const state = await WitnessState.open(o.dataDir);
  const app = createWitnessApp({ logs: o.logs, state, signer, verifierKey, maxBodyBytes: o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, rateLimit: o.rateLimit ?? DEFAULT_RATE_LIMIT });
  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(o.port ?? 7380, o.host ?? '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
      s.once('error', reject);
    });
  } catch (err) {
    await state.close();
    throw err;
  }
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 60_000;
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    verifierKey,
    name: signer.name,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await state.close();
    },
  };
}
