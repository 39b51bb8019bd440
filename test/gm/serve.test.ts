/**
 * A gm (国密) log end to end through the real executable: `guzheng serve --profile gm` as a child
 * process (with its HJ 212 gateway), then `keys export`, `submit`, `verify` and OpenSSL, a clean
 * shutdown, and restarts: without a profile it stays gm; `--profile c2sp` or GUZHENG_PROFILE=c2sp is
 * a configuration error (exit 2). Runs the TypeScript sources through tsx, as test/cli does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fromBase64 } from '../../src/core/bytes.js';
import { parseSignerKey } from '../../src/core/note.js';
import { decodeEntryBundle } from '../../src/core/tiles.js';
import { verifyReceipt } from '../../src/verifier/index.js';
import { sha256Hex } from '../http/helpers.js';
import { enc, frameText, MN, SimLogger, upload } from '../ingest/hj212/helpers.js';
import { ED_LOG, opensslVerifies, sm3Hex, sm3Leaf, sm3Root } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'src', 'cli', 'bin.ts');
const dir = mkdtempSync(join(tmpdir(), 'guzheng-gm-cli-'));
const data = join(dir, 'data');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The environment of every child: none of the caller's Guzheng settings. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GUZHENG_')) env[k] = v;
  return { ...env, ...extra };
}

/**
 * cli runs `guzheng …` to its end. Asynchronously: a spawnSync would stall this process's event
 * loop for seconds, and fetch would then reuse a keep-alive connection the server has closed.
 */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  readonly hj212Port: number;
  stderr(): string;
}

async function serve(extra: string[] = [], env: Record<string, string> = {}): Promise<Served> {
  const args = ['--import', 'tsx', BIN, 'serve', '--port', '0', '--data', data, '--origin', 'gm.cli.test/log', '--checkpoint-interval-ms', '20', '--hj212-port', '0', ...extra];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start:\n${err}`)), 30_000);
    child.stderr!.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m && err.includes('openapi.json')) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${err}`)));
  });
  const port = Number(/HJ 212 gateway: tcp:\/\/\S+:(\d+)/.exec(err)?.[1]);
  return { child, url, hj212Port: port, stderr: () => err };
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

async function getJson<T>(url: string, key?: string): Promise<T> {
  const res = await fetch(url, key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

describe('guzheng serve --profile gm', () => {
  it('creates an SM2 log that anchors files, records, digests and HJ 212 packets with SM3, verifiable by the CLI and OpenSSL', async () => {
    const s = await serve(['--profile', 'gm']);
    try {
      expect(s.stderr()).toMatch(/crypto suite: +gm \(/);
      expect(parseSignerKey(readFileSync(join(data, 'log-key'), 'utf8').trim()).algorithm).toBe('sm2');
      const vkey = /verifier key:\s+(\S+)/.exec(s.stderr())![1]!;
      const admin = readFileSync(join(data, 'admin-api-key'), 'utf8').trim();
      const log = await getJson<{ suite: string; verifierKey: string; publicKeyPem: string }>(`${s.url}/v1/log`);
      expect(log).toMatchObject({ suite: 'gm', verifierKey: vkey });

      // The public key from the data directory, beside the running server: the same as served.
      const pem = await cli(['keys', 'export', '--pem', '--data', data]);
      expect(pem.status, pem.stderr).toBe(0);
      expect(pem.stdout).toBe(log.publicKeyPem);
      expect(pem.stderr).toMatch(/crypto suite gm/);
      const exported = await cli(['keys', 'export', '--data', data]);
      expect(exported.stdout.trim()).toBe(vkey);
      expect((await cli(['keys', 'export', '--data', join(dir, 'no-log')])).status).toBe(2);
      const checkpoint = await (await fetch(`${s.url}/checkpoint`)).text();
      expect(opensslVerifies(pem.stdout, checkpoint)).toBe(true);

      // A document through `guzheng submit`: streamed to the service, hashed with SM3.
      const file = join(dir, '现场检查笔录.pdf');
      writeFileSync(file, '%PDF-1.7 现场检查笔录 gm\n');
      const sub = await cli(['submit', '--file', file, '--case', '衡环罚〔2026〕12号', '--url', s.url, '--api-key', admin]);
      expect(sub.status, sub.stderr).toBe(0);
      expect(sub.stderr).toContain(`(sm3 ${sm3Hex(readFileSync(file))})`);
      const receiptFile = join(dir, 'doc.receipt.json');
      writeFileSync(receiptFile, sub.stdout);
      const receipt = JSON.parse(sub.stdout) as { entry: { digest: unknown } };
      expect(receipt.entry.digest).toEqual({ alg: 'sm3', hex: sm3Hex(readFileSync(file)) });
      expect((await verifyReceipt(receipt, { trustedKeys: [vkey], content: { bytes: readFileSync(file) } })).valid).toBe(true);
      expect((await verifyReceipt(receipt, { trustedKeys: [ED_LOG.verifierKey] })).valid).toBe(false);

      // A record and a digest.
      const rec = join(dir, 'record.json');
      writeFileSync(rec, JSON.stringify({ station: 'HS-AQ-0001', value: '35.2' }));
      const sub2 = await cli(['submit', '--record', rec, '--url', s.url, '--api-key', admin]);
      expect(sub2.status, sub2.stderr).toBe(0);
      const r2 = JSON.parse(sub2.stdout) as { entry: { digest: unknown } };
      expect(r2.entry.digest).toEqual({ alg: 'sm3', hex: sm3Hex('{"station":"HS-AQ-0001","value":"35.2"}') });
      expect((await verifyReceipt(r2, { trustedKeys: [vkey], content: { record: { value: '35.2', station: 'HS-AQ-0001' } } })).valid).toBe(true);
      const post = (body: unknown) => fetch(`${s.url}/v1/entries?wait=receipt`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const d = await post({ type: 'digest', digest: { alg: 'sm3', hex: sm3Hex('photo') }, meta: { name: 'photo.jpg' } });
      expect(d.status).toBe(201);
      expect((await verifyReceipt(((await d.json()) as { receipt: unknown }).receipt, { trustedKeys: [vkey] })).valid).toBe(true);
      const refused = await post({ type: 'digest', digest: { alg: 'sha256', hex: sha256Hex('photo') } });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { field: string }).field).toBe('digest.alg');

      // `guzheng verify` hashes the file with the log's suite: the pinned key's, or the service's.
      const offline = await cli(['verify', '--receipt', receiptFile, '--file', file, '--key', vkey]);
      expect(offline.status, offline.stdout + offline.stderr).toBe(0);
      expect((await cli(['verify', '--receipt', receiptFile, '--digest', sm3Hex(readFileSync(file)), '--key', vkey])).status).toBe(0);
      expect((await cli(['verify', '--receipt', receiptFile, '--digest', `sha256:${sha256Hex(readFileSync(file))}`, '--key', vkey])).status).toBe(1);
      const lookup = await cli(['verify', '--url', s.url, '--file', file, '--key', vkey]);
      expect(lookup.status, lookup.stdout + lookup.stderr).toBe(0);
      expect(lookup.stdout).toContain(`sm3 ${sm3Hex(readFileSync(file))}`);
      const online = await cli(['verify', '--url', s.url, '--receipt', receiptFile, '--file', file]);
      expect(online.status, online.stdout + online.stderr).toBe(0);
      const other = join(dir, 'other.pdf');
      writeFileSync(other, 'another file');
      expect((await cli(['verify', '--url', s.url, '--receipt', receiptFile, '--file', other])).status).toBe(1);

      // An HJ 212 packet over TCP: its digest is SM3 of the raw bytes.
      const logger = await SimLogger.connect(s.hj212Port);
      const packet = frameText(upload(3));
      logger.send(packet);
      await logger.waitReplies(1);
      logger.end();
      const { packets } = await getJson<{ packets: Array<{ entry: { digest: unknown }; raw: string }> }>(`${s.url}/v1/hj212/devices/${MN}/packets`, admin);
      expect(packets).toHaveLength(1);
      expect(Buffer.from(packets[0]!.raw, 'base64').toString()).toBe(packet);
      expect(packets[0]!.entry.digest).toEqual({ alg: 'sm3', hex: sm3Hex(enc(packet)) });

      // The tiles the process serves are SM3 leaf hashes whose tree is the signed root.
      // Four entries (file, record, digest, packet): wait for the checkpoint that covers the packet.
      let head = await getJson<{ size: string; rootHash: string }>(`${s.url}/v1/log`);
      for (let i = 0; i < 100 && head.size !== '4'; i++) {
        await new Promise((r) => setTimeout(r, 20));
        head = await getJson<{ size: string; rootHash: string }>(`${s.url}/v1/log`);
      }
      expect(head.size).toBe('4');
      const entries = decodeEntryBundle(new Uint8Array(await (await fetch(`${s.url}/tile/entries/000.p/${head.size}`, { headers: { authorization: `Bearer ${admin}` } })).arrayBuffer()));
      const leaves = entries.map((e) => sm3Leaf(e));
      const tile = Buffer.from(await (await fetch(`${s.url}/tile/0/000.p/${head.size}`)).arrayBuffer());
      expect(tile.toString('hex')).toBe(Buffer.concat(leaves).toString('hex'));
      expect(sm3Root(leaves).toString('hex')).toBe(head.rootHash);
      expect(fromBase64(exported.stdout.trim().split('+').slice(2).join('+')).length).toBe(16 + 65);
    } finally {
      expect(await stop(s.child)).toBe(0);
    }

    // Restarted: the log stays gm; asking for c2sp is a configuration error naming both suites.
    const flag = await cli(['serve', '--port', '0', '--data', data, '--profile', 'c2sp']);
    expect(flag.status, flag.stderr).toBe(2);
    expect(flag.stderr).toMatch(/GUZHENG_PROFILE \(--profile\) is c2sp but the log in .* is gm/);
    const env = await cli(['serve', '--port', '0', '--data', data], { GUZHENG_PROFILE: 'c2sp' });
    expect(env.status, env.stderr).toBe(2);
    expect((await cli(['serve', '--port', '0', '--data', join(dir, 'bad'), '--profile', 'sm2'])).status).toBe(2);
    const again = await serve();
    try {
      expect(again.stderr()).toMatch(/crypto suite: +gm \(/);
      expect(again.stderr()).toMatch(/entries:\s+4/);
      expect((await getJson<{ suite: string }>(`${again.url}/v1/log`)).suite).toBe('gm');
    } finally {
      expect(await stop(again.child)).toBe(0);
    }
  }, 180_000);
});
