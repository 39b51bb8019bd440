/**
 * A real Ceph RADOS Gateway for a test file: scripts/ceph-rgw.sh starts a throwaway one-mon,
 * one-memstore-OSD cluster with radosgw on 127.0.0.1 (about 15–20 s cold), and stops it. Start one
 * per file in `beforeAll` (with a timeout of {@link RGW_START_TIMEOUT_MS}), stop it in `afterAll`.
 *
 * `kill()` SIGKILLs radosgw only (the cluster keeps its objects); `restart()` starts it again on
 * the same port: for fault tests.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

const run = promisify(execFile);
const SCRIPT = resolve(import.meta.dirname, '../../scripts/ceph-rgw.sh');

/** A beforeAll timeout that covers installing nothing and a cold start on a busy machine. */
export const RGW_START_TIMEOUT_MS = 180_000;

export interface Rgw {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  /** The cluster's directory (ceph.conf, logs, pid files). */
  readonly dir: string;
  /** Seconds the cold start took. */
  readonly startSeconds: number;
  /** bucket creates a bucket (path-style) and returns its name. */
  bucket(name: string): Promise<string>;
  /** stop kills every daemon and removes the directory. */
  stop(): Promise<void>;
  /** kill SIGKILLs radosgw only. */
  kill(): Promise<void>;
  /** restart starts radosgw again, on the same port; resolves once it answers. */
  restart(): Promise<void>;
}

function parseLines(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) m.set(line.slice(0, at), line.slice(at + 1));
  }
  return m;
}

async function script(...args: string[]): Promise<Map<string, string>> {
  try {
    const { stdout } = await run('bash', [SCRIPT, ...args], { maxBuffer: 1 << 20, timeout: RGW_START_TIMEOUT_MS - 30_000, killSignal: 'SIGKILL' });
    return parseLines(stdout);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`scripts/ceph-rgw.sh ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

function need(m: Map<string, string>, key: string): string {
  const v = m.get(key);
  if (v === undefined) throw new Error(`scripts/ceph-rgw.sh printed no ${key}=`);
  return v;
}

/** startRgw starts a cluster in a fresh temporary directory. */
export async function startRgw(): Promise<Rgw> {
  const parent = mkdtempSync(join(tmpdir(), 'guzheng-rgw-'));
  const dir = join(parent, 'cluster');
  const t0 = performance.now();
  let lines: Map<string, string>;
  try {
    lines = await script('start', dir);
  } catch (err) {
    // Leave no daemon behind (the script kills its own on failure, but not when it is killed).
    await script('stop', dir).catch(() => undefined);
    rmSync(parent, { recursive: true, force: true });
    throw err;
  }
  const startSeconds = (performance.now() - t0) / 1000;
  const endpoint = need(lines, 'endpoint');
  const accessKeyId = need(lines, 'access_key');
  const secretAccessKey = need(lines, 'secret_key');
  const region = need(lines, 'region');
  const admin = new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    region,
    dir,
    startSeconds,
    async bucket(name) {
      await admin.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    async stop() {
      admin.destroy();
      await script('stop', dir);
      rmSync(parent, { recursive: true, force: true });
    },
    async kill() {
      const pid = Number(readFileSync(join(dir, 'rgw.pid'), 'utf8').trim());
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return; // already gone
      }
      while (alive(pid)) await new Promise((r) => setTimeout(r, 20));
    },
    async restart() {
      await script('start-rgw', dir);
    },
  };
}

/** alive: the process exists and is not a zombie (PID 1 may not reap the script's orphans). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s*Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
