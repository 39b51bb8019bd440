/**
 * `guzheng witness init` and `guzheng witness serve` as real processes, driven over HTTP with
 * checkpoints of a C2SP log whose Ed25519 key is made here with node:crypto (test/support/
 * c2sp-witness/tlog.ts, not src/), and consistency proofs from test/support/reference-merkle.ts.
 * Covers every status of c2sp.org/tlog-witness, the 409 body and type, kill -9 between requests
 * and right after a 200, the directory lock, SIGTERM, ML-DSA-44 mode, the monitoring path,
 * /healthz, /metrics, the body cap and the rate limit.
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCosigned, parseWitnessVerifierKey, verifyCosignature } from '../../src/core/cosignature.js';
import { TestLog, b64, sha256 } from '../support/c2sp-witness/tlog.js';
import { requestBody, cosignaturesFrom } from '../support/c2sp-witness/client.js';
import { refConsistency, refRoot } from '../support/reference-merkle.js';
import { cli, kill9, post, serve, stop, type Served } from './process.js';

const dir = mkdtempSync(join(tmpdir(), 'guzheng-witness-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const log = new TestLog('example.org/witnessed-log');
log.append(64);
const second = new TestLog('example.org/second-log');
const root = (n: number) => refRoot(log.leaves.slice(0, n));
const note = (n: number, r = root(n)) => log.sign(log.text(n, r));
const body = (old: number, n: number, r?: Uint8Array, proof = refConsistency(old, log.leaves.slice(0, n))) => requestBody(old, proof, note(n, r));
const originHash = (o: string) => createHash('sha256').update(o).digest('hex');
const text = (n: number) => log.text(n, root(n));

function init(data: string, name: string, extra: string[] = []): string {
  const r = cli(['witness', 'init', '--data', data, '--name', name, ...extra]);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').at(-1)!;
}

describe('guzheng witness init', () => {
  it('writes the signer key 0600 and witness.vkey, prints the vkey last; refuses to replace it', () => {
    const data = join(dir, 'init');
    const vkey = init(data, 'witness.test/init');
    expect(statSync(join(data, 'witness-key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(data, 'witness.vkey'), 'utf8')).toBe(vkey + '\n');
    expect(parseWitnessVerifierKey(vkey)).toMatchObject({ name: 'witness.test/init', algorithm: 'ed25519' });
    const again = cli(['witness', 'init', '--data', data, '--name', 'witness.test/init']);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already has a witness key/);
    expect(cli(['witness', 'init', '--data', join(dir, 'bad'), '--name', 'bad name']).status).toBe(2);
    expect(cli(['witness', 'init', '--data', join(dir, 'bad')]).status).toBe(2);
    expect(cli(['witness', 'serve', '--data', join(dir, 'nokey'), '--log', log.vkey]).status).toBe(2);
    expect(cli(['witness', 'serve', '--data', data]).status).toBe(2);
  }, 60_000);
});

describe('guzheng witness serve (Ed25519)', () => {
  const data = join(dir, 'ed');
  let vkey: string;
  let w: Served;
  beforeAll(async () => {
    vkey = init(data, 'witness.test/ed');
    const config = join(dir, 'ed.conf');
    writeFileSync(config, `# the second log comes from the config file\nlog ${second.vkey}\n`);
    w = await serve(data, ['--log', log.vkey, '--config', config, '--max-body-bytes', '8192']);
  }, 60_000);
  afterAll(async () => {
    if (w.child.exitCode === null && w.child.signalCode === null) await stop(w);
  });

  it('prints a banner with the URL, the submission prefix, the witnessed logs and the vkey', () => {
    expect(w.vkey).toBe(vkey);
    expect(w.stderr()).toContain(`submission prefix: ${w.url}`);
    expect(w.stderr()).toContain(`/${originHash(log.origin)}/checkpoint`);
    expect(w.stderr()).toContain(second.origin);
  });

  it('answers every status of the tlog-witness table', async () => {
    // 200: the first checkpoint, from old size 0; the line verifies with src and independently.
    const first = await post(w.url, body(0, 8));
    expect(first.status, first.body).toBe(200);
    expect(first.type).toMatch(/^text\/plain/);
    const line = first.body.trimEnd();
    const info = verifyCosignature(text(8), line, vkey);
    expect(info.name).toBe('witness.test/ed');
    expect(Math.abs(Number(info.time) - Date.now() / 1000)).toBeLessThan(60);
    expect(cosignaturesFrom(first.body, text(8), vkey)).toEqual([info.time]);
    // 404 unknown origin.
    const stranger = new TestLog('example.org/unknown');
    stranger.append(3);
    expect((await post(w.url, requestBody(0, [], stranger.sign(stranger.text())))).status).toBe(404);
    // 403 no valid signature by the log's key (another key under the log's name; tampered text).
    const impostor = new TestLog(log.origin);
    expect((await post(w.url, requestBody(8, [], impostor.sign(text(8))))).status).toBe(403);
    expect((await post(w.url, requestBody(8, [], note(8).replace(b64(root(8)), b64(root(9)))))).status).toBe(403);
    // 400 old size above the checkpoint size; 400 malformed body.
    expect((await post(w.url, requestBody(9, [], note(8)))).status).toBe(400);
    expect((await post(w.url, `old 08\n\n${note(8)}`)).status).toBe(400);
    // 409: old size is not the latest cosigned size; body "<size>\n", type text/x.tlog.size.
    const conflict = await post(w.url, body(3, 12));
    expect(conflict.status).toBe(409);
    expect(conflict.body).toBe('8\n');
    expect(conflict.type).toBe('text/x.tlog.size');
    // 422: bad proof; the same size with another root; size 0 with a wrong root (other log).
    expect((await post(w.url, body(8, 12, undefined, refConsistency(7, log.leaves.slice(0, 12))))).status).toBe(422);
    expect((await post(w.url, requestBody(8, [], note(8, sha256(new TextEncoder().encode('fork')))))).status).toBe(422);
    expect((await post(w.url, requestBody(0, [], second.sign(second.text(0, sha256(new TextEncoder().encode('x'))))))).status).toBe(422);
    expect((await post(w.url, requestBody(0, [], second.sign(second.text(0))))).status).toBe(200);
    // 200 again: consistent growth 8 -> 12.
    expect((await post(w.url, body(8, 12))).status).toBe(200);
    // 413 body cap, 405 wrong method.
    expect((await post(w.url, 'old 0\n' + 'A'.repeat(10_000))).status).toBe(413);
    expect((await fetch(`${w.url}/add-checkpoint`)).status).toBe(405);
  });

  it('serves the latest cosigned checkpoint at /<hex SHA-256(origin)>/checkpoint, /healthz and /metrics', async () => {
    const res = await fetch(`${w.url}/${originHash(log.origin)}/checkpoint`);
    expect(res.status).toBe(200);
    const got = await res.text();
    const c = openCosigned(got, log.vkey, [vkey]);
    expect(c.checkpoint.checkpoint.size).toBe(12n);
    expect(c.cosignatures).toHaveLength(1);
    expect(c.ignored).toEqual([]);
    expect((await fetch(`${w.url}/${'0'.repeat(64)}/checkpoint`)).status).toBe(404);
    const health = (await (await fetch(`${w.url}/healthz`)).json()) as { status: string; verifierKey: string; logs: Array<{ origin: string; size: string | null }> };
    expect(health.status).toBe('ok');
    expect(health.verifierKey).toBe(vkey);
    expect(health.logs).toEqual(expect.arrayContaining([expect.objectContaining({ origin: log.origin, size: '12' }), expect.objectContaining({ origin: second.origin, size: '0' })]));
    const metrics = await (await fetch(`${w.url}/metrics`)).text();
    expect(metrics).toMatch(/guzheng_witness_add_checkpoint_total\{status="200"\} 3/);
    expect(metrics).toMatch(/guzheng_witness_add_checkpoint_total\{status="409"\} 1/);
    expect(metrics).toMatch(/guzheng_witness_add_checkpoint_total\{status="422"\} 3/);
    expect(metrics).toContain(`guzheng_witness_cosigned_size{origin="${log.origin}"} 12`);
    expect(metrics).toMatch(/guzheng_witness_evidence_total\{origin="example.org\/witnessed-log"\} 2/);
  });

  it('serializes concurrent requests for one origin: exactly one of two racing extensions wins', async () => {
    const [a, b] = await Promise.all([post(w.url, body(12, 20)), post(w.url, body(12, 16))]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const winner = a.status === 200 ? 20 : 16;
    expect((a.status === 409 ? a : b).body).toBe(`${winner}\n`);
    expect((await post(w.url, body(winner, 24))).status).toBe(200);
  });

  it('kill -9 right after a 200 and between requests: the cosigned size survives, no second root, no rollback', async () => {
    // Right after a 200: the process dies before anything else can happen.
    const ok = await post(w.url, body(24, 30));
    expect(ok.status).toBe(200);
    await kill9(w);
    w = await serve(data, ['--log', log.vkey, '--config', join(dir, 'ed.conf')]);
    expect((await post(w.url, body(0, 30))).body).toBe('30\n');
    expect((await post(w.url, requestBody(30, [], note(30, sha256(new TextEncoder().encode('fork')))))).status).toBe(422);
    expect((await post(w.url, body(24, 40))).status).toBe(409);
    // Between requests, several times, with the client re-learning the size from a 409.
    let size = 30;
    for (const next of [33, 41, 50]) {
      await kill9(w);
      w = await serve(data, ['--log', log.vkey, '--config', join(dir, 'ed.conf')]);
      const probe = await post(w.url, body(0, next));
      expect(probe.status).toBe(409);
      expect(probe.body).toBe(`${size}\n`);
      const r = await post(w.url, body(size, next));
      expect(r.status, r.body).toBe(200);
      expect(verifyCosignature(text(next), r.body.trimEnd(), vkey).name).toBe('witness.test/ed');
      size = next;
    }
    // In flight when killed: either answered (then durable) or not; never a state behind a 200.
    const inflight = post(w.url, body(size, 60)).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 5));
    await kill9(w);
    const answered = await inflight;
    w = await serve(data, ['--log', log.vkey, '--config', join(dir, 'ed.conf')]);
    const after = (await post(w.url, body(0, 64))).body;
    if (answered?.status === 200) expect(after).toBe('60\n');
    else expect(['50\n', '60\n']).toContain(after);
  }, 120_000);

  it('a second serve on the same directory fails fast with a clear message; SIGTERM exits 0', async () => {
    const started = Date.now();
    const r = cli(['witness', 'serve', '--data', data, '--port', '0', '--log', log.vkey]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/in use by another process \(LevelDB lock held\)/);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await stop(w)).toBe(0);
    expect(w.stderr()).toContain('received SIGTERM');
  }, 60_000);
});

describe('guzheng witness serve --rate-limit', () => {
  it('answers 429 with Retry-After past the per-IP burst, but not on /healthz', async () => {
    const data = join(dir, 'rate');
    init(data, 'witness.test/rate');
    const w = await serve(data, ['--log', log.vkey, '--rate-limit', '1']);
    try {
      const statuses: number[] = [];
      let retry: string | null = null;
      for (let i = 0; i < 4; i++) {
        const r = await post(w.url, body(0, 4));
        statuses.push(r.status);
        if (r.status === 429) retry = r.headers.get('retry-after');
      }
      expect(statuses.slice(0, 2)).toEqual([200, 409]);
      expect(statuses.at(-1)).toBe(429);
      expect(Number(retry)).toBeGreaterThanOrEqual(1);
      expect((await fetch(`${w.url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${w.url}/metrics`)).text()).toMatch(/guzheng_witness_rate_limited_total [1-9]/);
    } finally {
      await stop(w);
    }
  }, 60_000);
});

describe('guzheng witness serve (ML-DSA-44)', () => {
  it('init --ml-dsa makes a type 0x06 key; its cosignatures verify (src and independent code)', async () => {
    const data = join(dir, 'pq');
    const vkey = init(data, 'witness.test/pq', ['--ml-dsa']);
    const k = parseWitnessVerifierKey(vkey);
    expect(k.algorithm).toBe('ml-dsa-44');
    expect(k.publicKey.length).toBe(1312);
    const w = await serve(data, ['--log', log.vkey]);
    try {
      const r = await post(w.url, body(0, 10));
      expect(r.status, r.body).toBe(200);
      expect(verifyCosignature(text(10), r.body.trimEnd(), vkey).algorithm).toBe('ml-dsa-44');
      expect(cosignaturesFrom(r.body, text(10), vkey)).toHaveLength(1);
      const grown = await post(w.url, body(10, 17));
      expect(grown.status).toBe(200);
      const monitored = await (await fetch(`${w.url}/${originHash(log.origin)}/checkpoint`)).text();
      expect(openCosigned(monitored, log.vkey, [vkey]).cosignatures.map((c) => c.algorithm)).toEqual(['ml-dsa-44']);
    } finally {
      expect(await stop(w)).toBe(0);
    }
  }, 60_000);
});
