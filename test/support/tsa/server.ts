/**
 * A real RFC 3161 TSA for tests: an HTTP shim on 127.0.0.1 (ephemeral port) in front of
 * `openssl ts -reply`, with the PKI of ./pki.ts. `POST` (any path) with
 * `Content-Type: application/timestamp-query` is answered with `application/timestamp-reply`.
 * Requests are served one at a time (a queue), because openssl's TSA keeps its serial in a file.
 *
 * The mode, changeable at any time with `setMode`, makes it misbehave:
 *
 * - `ok`: openssl signs the query with the good TSA certificate (signer certificate included,
 *   policy {@link TEST_POLICY}, accuracy 1 s 500 ms 100 µs, ESS v2 with SHA-256, tsa name);
 * - `down`: the socket is destroyed without an answer (the server keeps listening, so a later
 *   `setMode('ok')` brings it back on the same URL);
 * - `slow`: waits `slowMs` (default 2000) first, then as `ok`;
 * - `garbage`: 200 with 64–511 random bytes; `http-error`: HTTP 500;
 *   `wrong-content-type`: 200 `text/html`; `oversize`: 200 with 1.5 MiB;
 * - `rejection`: openssl's own rejection (status 2, failInfo unacceptedPolicy), obtained by asking
 *   it for {@link UNSUPPORTED_POLICY};
 * - `wrong-imprint` / `wrong-nonce`: openssl signs the query with another imprint / nonce + 1;
 * - `no-cert`: signs the query with certReq dropped (the token has no certificate);
 * - `expired-cert`: signs with a TSA certificate valid only in 2020; `untrusted`: with the TSA of
 *   an unrelated root; `via-intermediate`: with a TSA under an intermediate CA (chain included);
 * - `ess-v1`: openssl with `ess_cert_id_alg = sha1` (ESS signingCertificate v1);
 * - `noncritical-eku`: openssl refuses to sign with such a certificate, so the `ok` token's
 *   TSTInfo is re-signed with it by pkijs (./forge.ts);
 * - `granted-with-mods`: the `ok` token with status 1 (grantedWithMods).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { grantedResponse, makeQuery, resignToken, rewriteQuery, queryOf, tokenOfResponse } from './forge.js';
import { openssl } from './openssl.js';
import { testPki, UNSUPPORTED_POLICY, type TestPki, type TestSigner } from './pki.js';

export { TEST_POLICY, TEST_OTHER_POLICY, UNSUPPORTED_POLICY } from './pki.js';

/**
 * opensslToken stamps `imprint` with openssl directly (no HTTP) and returns the token DER.
 * `signer` defaults to the good TSA, `nonce` to none, `section` to ESS v2, `alg` to SHA-256 (`sm3`
 * for a gm log's imprint).
 */
export async function opensslToken(imprint: Uint8Array, o: { signer?: TestSigner; nonce?: bigint; section?: string; alg?: 'sha256' | 'sm3' } = {}): Promise<Uint8Array> {
  const pki = await testPki();
  return tokenOfResponse(await opensslReply(makeQuery(imprint, o.nonce, undefined, o.alg ?? 'sha256'), o.signer ?? pki.signers.good, o.section));
}

/** How the test TSA behaves. */
export type TsaMode =
  | 'ok' | 'down' | 'slow' | 'garbage' | 'http-error' | 'wrong-content-type' | 'oversize' | 'rejection' | 'wrong-imprint' | 'wrong-nonce'
  | 'no-cert' | 'expired-cert' | 'untrusted' | 'via-intermediate' | 'ess-v1' | 'noncritical-eku' | 'granted-with-mods';

/** Options of {@link startTsa}. */
export interface TsaOptions {
  readonly mode?: TsaMode;
  /** Delay of the `slow` mode, ms (default 2000). */
  readonly slowMs?: number;
}

/** A running test TSA. */
export interface TestTsa {
  readonly url: string;
  readonly pki: TestPki;
  /** The pinned root, PEM file and DER. */
  readonly rootPemPath: string;
  readonly rootDer: Uint8Array;
  /** The unrelated root of the `untrusted` mode. */
  readonly untrustedRootPemPath: string;
  /** Requests received so far (all modes). */
  readonly requests: number;
  /** When each request arrived (Date.now() ms, in order): shows how a client spaces its retries. */
  readonly requestTimes: readonly number[];
  setMode(mode: TsaMode, options?: { slowMs?: number }): void;
  close(): Promise<void>;
}

/** One openssl TSA at a time in this process: all shims share the PKI's serial file. */
let queue: Promise<unknown> = Promise.resolve();
let n = 0;

/**
 * opensslReply runs `openssl ts -reply` on a DER query with `signer` (chain included) and returns
 * the DER TimeStampResp. Calls are queued process-wide (one serial file). openssl exits 1 on a
 * rejection it still writes, so only a missing reply is an error. `section` picks the config
 * section: `tsa_sha256` (ESS v2, the default) or `tsa_sha1` (ESS v1).
 */
export function opensslReply(query: Uint8Array, signer: TestSigner, section = 'tsa_sha256'): Promise<Uint8Array> {
  const run = async (): Promise<Uint8Array> => {
    const pki = await testPki();
    const work = join(pki.dir, 'replies');
    mkdirSync(work, { recursive: true });
    const id = n++;
    const q = join(work, `q${id}.tsq`);
    const out = join(work, `r${id}.tsr`);
    writeFileSync(q, query);
    const r = await openssl(['ts', '-reply', '-config', pki.tsaConfigPath, '-section', section, '-queryfile', q, '-inkey', signer.keyPath, '-signer', signer.certPath, '-chain', signer.chainPath, '-out', out]);
    rmSync(q);
    if (!existsSync(out)) throw new Error(`openssl ts -reply exited ${r.code} without a reply: ${r.stderr.trim()}`);
    const reply = new Uint8Array(readFileSync(out));
    rmSync(out);
    return reply;
  };
  const p = queue.then(run);
  queue = p.catch(() => undefined);
  return p;
}

/** startTsa starts a test TSA; the PKI is made once per process (see ./pki.ts). */
export async function startTsa(options: TsaOptions = {}): Promise<TestTsa> {
  const pki = await testPki();
  let mode: TsaMode = options.mode ?? 'ok';
  let slowMs = options.slowMs ?? 2000;
  let requests = 0;
  const requestTimes: number[] = [];
  const sign = opensslReply;

  const reply = async (m: TsaMode, query: Uint8Array): Promise<Uint8Array> => {
    const s = pki.signers;
    switch (m) {
      case 'rejection': return sign(rewriteQuery(query, { policy: UNSUPPORTED_POLICY }), s.good);
      case 'wrong-imprint': return sign(rewriteQuery(query, { imprint: queryOf(query).imprint.map((b) => b ^ 0xff) }), s.good);
      case 'wrong-nonce': return sign(rewriteQuery(query, { nonce: (queryOf(query).nonce ?? 0n) + 1n }), s.good);
      case 'no-cert': return sign(rewriteQuery(query, { certReq: false }), s.good);
      case 'expired-cert': return sign(query, s.expired);
      case 'untrusted': return sign(query, s.untrusted);
      case 'via-intermediate': return sign(query, s.viaIntermediate);
      case 'ess-v1': return sign(query, s.good, 'tsa_sha1');
      case 'noncritical-eku': return grantedResponse(await resignToken(tokenOfResponse(await sign(query, s.good)), { signer: s.nonCriticalEku }));
      case 'granted-with-mods': return grantedResponse(tokenOfResponse(await sign(query, s.good)), 1);
      default: return sign(query, s.good);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    requests++;
    requestTimes.push(Date.now());
    const m = mode;
    if (m === 'down') {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const query = new Uint8Array(Buffer.concat(chunks));
    if (req.method !== 'POST' || req.headers['content-type'] !== 'application/timestamp-query') {
      res.writeHead(415, { 'content-type': 'text/plain' }).end('want POST application/timestamp-query\n');
      return;
    }
    const send = (status: number, type: string, body: Uint8Array | string) => res.writeHead(status, { 'content-type': type }).end(body);
    if (m === 'http-error') return void send(500, 'text/plain', 'internal error\n');
    if (m === 'garbage') return void send(200, 'application/timestamp-reply', randomBytes(64 + Math.floor(Math.random() * 448)));
    if (m === 'wrong-content-type') return void send(200, 'text/html', '<html>hello</html>');
    if (m === 'oversize') return void send(200, 'application/timestamp-reply', new Uint8Array(1536 * 1024));
    if (m === 'slow') await new Promise((r) => setTimeout(r, slowMs));
    const body = await reply(m, query);
    if (!res.destroyed) send(200, 'application/timestamp-reply', body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/tsa`,
    pki,
    rootPemPath: pki.rootPemPath,
    rootDer: pki.rootDer,
    untrustedRootPemPath: pki.untrustedRootPemPath,
    get requests() {
      return requests;
    },
    get requestTimes() {
      return [...requestTimes];
    },
    setMode(next, o) {
      mode = next;
      if (o?.slowMs !== undefined) slowMs = o.slowMs;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queue;
    },
  };
}
