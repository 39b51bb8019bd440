/**
 * Test harness for the HTTP API: a real server on 127.0.0.1 (ephemeral port) over a real
 * LevelStore in a temp directory and a Ledger with a fixed test key, plus one API key per role.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKey, type Role } from '../../src/auth/api-keys.js';
import { generateSignerKey } from '../../src/core/note.js';
import { createApp, type AppDeps, type GuzhengApp } from '../../src/http/app.js';
import type { HttpConfig } from '../../src/http/config.js';
import { Ledger, type LedgerOptions } from '../../src/log/ledger.js';
import { LevelStore } from '../../src/storage/level.js';

/** The fixed test log key. */
export const TEST_LOG = generateSignerKey('guzheng.test/log', new Uint8Array(32).fill(7));

/** A running test server. */
export interface TestServer {
  readonly dir: string;
  readonly url: string;
  readonly app: GuzhengApp;
  readonly server: Server;
  readonly ledger: Ledger;
  readonly store: LevelStore;
  /** Bearer secrets by role. */
  readonly keys: Record<Role, string>;
  readonly keyIds: Record<Role, string>;
  /** Stop the server and close the ledger and store (the directory is kept). */
  stop(): Promise<void>;
  /** stop() and delete the directory. */
  destroy(): Promise<void>;
}

/** newDir makes a fresh temp data directory. */
export function newDir(): string {
  return mkdtempSync(join(tmpdir(), 'guzheng-http-'));
}

/** startServer opens (or reopens) a log in `dir` and serves it; keys are created on first start. */
export async function startServer(o: { dir?: string; config?: HttpConfig; keys?: Record<Role, string>; keyIds?: Record<Role, string>; deps?: Partial<AppDeps>; ledger?: Partial<LedgerOptions> } = {}): Promise<TestServer> {
  const dir = o.dir ?? newDir();
  const store = await LevelStore.open(dir);
  const ledger = await Ledger.open({ store, signerKey: TEST_LOG.signerKey, checkpointIntervalMs: 20, ...o.ledger });
  let keys = o.keys;
  let keyIds = o.keyIds;
  if (keys === undefined || keyIds === undefined) {
    keys = {} as Record<Role, string>;
    keyIds = {} as Record<Role, string>;
    for (const role of ['submit', 'audit', 'admin'] as const) {
      const k = await createApiKey(store, role);
      keys[role] = k.secret;
      keyIds[role] = k.record.id;
    }
  }
  const app = createApp({ ledger, store, config: o.config ?? {}, log: () => {}, ...o.deps });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await ledger.close();
    })());
  return {
    dir,
    url: `http://127.0.0.1:${port}`,
    app,
    server,
    ledger,
    store,
    keys,
    keyIds,
    stop,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** auth returns the Authorization header for a secret. */
export function auth(secret: string): Record<string, string> {
  return { Authorization: `Bearer ${secret}` };
}

/** postJson POSTs JSON with a key. */
export function postJson(url: string, body: unknown, secret?: string): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(secret ? auth(secret) : {}) }, body: JSON.stringify(body) });
}

/** A problem+json body. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  field?: string;
  errors?: Array<{ field: string; detail: string }>;
}

/** expectProblem reads a problem response, checking its status and media type. */
export async function problem(res: Response, status: number): Promise<ProblemBody> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`want status ${status}, got ${res.status}: ${text}`);
  const ct = res.headers.get('content-type') ?? '';
  if (!ct.startsWith('application/problem+json')) throw new Error(`want application/problem+json, got ${ct}: ${text}`);
  const body = JSON.parse(text) as ProblemBody;
  if (body.status !== status) throw new Error(`problem.status ${body.status} != ${status}`);
  return body;
}

/** json reads a JSON response, checking its status. */
export async function json<T = any>(res: Response, status = 200): Promise<T> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`want status ${status}, got ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** sha256Hex of bytes or a UTF-8 string (node:crypto, independent of the code under test). */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** verifyReceipt options pinning the test log key. */
export const pinned = { trustedKeys: [TEST_LOG.verifierKey] };
