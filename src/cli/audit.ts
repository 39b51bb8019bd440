/**
 * `guzheng audit` and `guzheng export-tiles` (docs/audit.md).
 *
 * - `audit --data DIR --key VKEY` replays a stopped data directory (or a backup copy);
 *   `audit --url URL --key VKEY [--api-key K]` replays a live log through its tiles API.
 *   A human report (progress bar on a TTY), or `--json`. Exit 0: consistent; 1: problems found
 *   (the first is located: entry index or block height, expected and found); 2: could not audit.
 * - `export-tiles --data DIR --out DIR` writes every tile of the last checkpoint as static files.
 *
 * The lead wires both into the program with `registerAudit(program)` (src/cli/main.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AuditAbort } from '../audit/source.js';
import { LocalSource, resolveLedgerDir } from '../audit/local.js';
import { RemoteSource } from '../audit/remote.js';
import { auditBucket, bucketJson, BucketSource, describeBucket, type BucketSummary } from '../audit/bucket.js';
import { isBucketUrl, openBucket, type BucketReader } from '../audit/bucket-store.js';
import { runAudit, type AuditOptions, type AuditProgress, type SavedCheckpoint } from '../audit/replay.js';
import { formatReport, reportJson, whereOf, type AuditReport } from '../audit/report.js';
import { writeFileAtomic } from '../audit/monitor.js';
import { formatVerifierKey, parseSignerKey, parseVerifierKey, type VerifierKey } from '../core/note.js';
import { installNodeCrypto } from '../platform/node-crypto.js';
import { dataPaths } from '../setup.js';
import { LevelStore, StoreLockedError } from '../storage/level.js';
import { exportTiles } from '../tiles/export.js';
import { loadPolicy, tsaRoots } from './verify.js';
import { CliError } from './client.js';

/** Where a command writes (process streams by default; tests capture them). */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Draw progress on stderr (a terminal). */
  readonly progress: boolean;
}

/** The process's own streams; progress only when stderr is a terminal. */
export function processIo(): CliIo {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    progress: process.stderr.isTTY === true,
  };
}

/**
 * loadVerifierKey accepts a verifier key string, or the path of a file holding one (as `guzheng
 * serve` prints it). Throws CliError (exit 2) otherwise.
 */
export function loadVerifierKey(value: string): VerifierKey {
  try {
    return parseVerifierKey(value);
  } catch {
    if (existsSync(value)) {
      try {
        return parseVerifierKey(readFileSync(value, 'utf8').trim());
      } catch (err) {
        throw new CliError(`${value} does not hold a verifier key: ${(err as Error).message}`, 2);
      }
    }
    throw new CliError(`--key: not a verifier key (name+keyid+base64) nor a file holding one`, 2);
  }
}

/**
 * loadSavedCheckpoint reads a checkpoint the auditor kept: a signed note, or JSON with a
 * `checkpoint` note (a monitor state file, a block, a receipt).
 */
export function loadSavedCheckpoint(path: string): SavedCheckpoint {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`, 2);
  }
  if (text.trimStart().startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new CliError(`${path} is not JSON: ${(err as Error).message}`, 2);
    }
    const note = (json as { checkpoint?: unknown }).checkpoint;
    if (typeof note !== 'string') throw new CliError(`${path} has no "checkpoint" (a signed note)`, 2);
    return { label: path, note };
  }
  return { label: path, note: text };
}

/** A one-line progress bar: `[#####.....]  52.0%  520,000/1,000,000  213,000/s  ETA 2 s`. */
export function progressLine(p: AuditProgress, width = 24): string {
  const total = Number(p.total);
  const done = Number(p.done);
  const frac = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(frac * width);
  const eta = p.rate > 0 ? Math.max(0, (total - done) / p.rate) : 0;
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(1).padStart(5)}%  ${fmt(done)}/${fmt(total)}  ${fmt(p.rate)}/s  ETA ${eta < 60 ? `${Math.ceil(eta)} s` : `${Math.ceil(eta / 60)} min`}`;
}

/** The flags that say how to read a mirror's bucket (audit and monitor). */
export interface BucketFlags {
  url?: string;
  bucket?: boolean;
  endpoint?: string;
  anonymous?: boolean;
}

/** isBucket: `--url s3://…`, or an http(s) URL with `--bucket`. */
export function isBucket(o: BucketFlags): boolean {
  return o.url !== undefined && (o.bucket === true || isBucketUrl(o.url));
}

/**
 * bucketReader opens the bucket `--url` names: `s3://BUCKET/PREFIX` at `--endpoint`
 * (GUZHENG_MIRROR_ENDPOINT) with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN,
 * AWS_REGION) when set and not `--anonymous`; anonymous plain GETs otherwise.
 */
export function bucketReader(o: BucketFlags, env: NodeJS.ProcessEnv = process.env): BucketReader {
  const url = o.url as string;
  const endpoint = o.endpoint ?? env.GUZHENG_MIRROR_ENDPOINT;
  if (endpoint !== undefined && !isBucketUrl(url)) throw new CliError('--endpoint: only with --url s3://BUCKET/PREFIX (an http(s) URL already says where the bucket is)', 2);
  if (endpoint !== undefined && !/^https?:\/\/[^/?#]+\/*$/.test(endpoint)) throw new CliError(`--endpoint ${endpoint}: want the store's http(s) URL, e.g. http://rgw.example:7480`, 2);
  const id = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  const signed = isBucketUrl(url) && o.anonymous !== true && id !== undefined && id !== '' && secret !== undefined && secret !== '';
  try {
    return openBucket(url, {
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
      ...(signed ? { credentials: { accessKeyId: id, secretAccessKey: secret, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } } : {}),
    });
  } catch (err) {
    if (err instanceof AuditAbort) throw new CliError(err.message, 2);
    throw err;
  }
}

interface AuditFlags extends BucketFlags {
  data?: string;
  url?: string;
  objects?: string;
  key: string;
  apiKey?: string;
  checkpoint: string[];
  json?: boolean;
  workers?: string;
  maxProblems?: string;
  digestEvery?: string;
  fraudProof?: string;
  tsaCa: string[];
  policy?: string;
  witness: string[];
  quorum?: string;
  progress: boolean;
}

function positiveInt(value: string | undefined, flag: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]+$/.test(value) || Number(value) < min) throw new CliError(`${flag}: want an integer >= ${min}`, 2);
  return Number(value);
}

async function audit(o: AuditFlags, io: CliIo): Promise<{ report: AuditReport; bucket?: BucketSummary }> {
  if ((o.data === undefined) === (o.url === undefined)) throw new CliError('give exactly one of --data DIR or --url URL', 2);
  const key = loadVerifierKey(o.key);
  const saved = o.checkpoint.map(loadSavedCheckpoint);
  const workers = positiveInt(o.workers, '--workers');
  const maxProblems = positiveInt(o.maxProblems, '--max-problems', 1);
  const digestEvery = positiveInt(o.digestEvery, '--digest-every', 1);
  const roots = tsaRoots(o.tsaCa);
  const policy = loadPolicy(o);
  const bucket = isBucket(o);
  if (!bucket && (o.endpoint !== undefined || o.anonymous === true || o.objects !== undefined)) throw new CliError('--endpoint, --anonymous and --objects are for a bucket: --url s3://BUCKET/PREFIX, or an http(s) URL with --bucket', 2);
  if (bucket && (o.apiKey !== undefined || digestEvery !== undefined)) throw new CliError('--api-key and --digest-every are for the service: a bucket is read with AWS credentials, and holds no digest index', 2);
  if (o.objects !== undefined && o.objects !== 'all' && o.objects !== 'needed') throw new CliError('--objects: want all or needed', 2);
  installNodeCrypto();
  let source;
  try {
    source =
      o.data !== undefined
        ? await LocalSource.open(o.data)
        : bucket
          ? new BucketSource(bucketReader(o), key, { objects: o.objects === 'needed' ? 'needed' : 'all', stampsWithoutListing: roots.length > 0 })
          : new RemoteSource(o.url as string, key, { ...(o.apiKey ?? process.env.GUZHENG_API_KEY ? { apiKey: o.apiKey ?? process.env.GUZHENG_API_KEY } : {}), ...(digestEvery ? { digestEvery } : {}) });
  } catch (err) {
    if (err instanceof StoreLockedError) throw new CliError(`${err.message}: stop the server first, audit a copy of the directory, or audit the live log with --url`, 2);
    if (err instanceof AuditAbort) throw new CliError(err.message, err.exitCode);
    throw err;
  }
  let lastDraw = 0;
  const showProgress = o.progress && io.progress;
  try {
    const options: AuditOptions = {
      verifierKey: key.text,
      saved,
      tsaRoots: roots,
      ...(policy !== undefined ? { policy } : {}),
      ...(workers !== undefined ? { workers } : {}),
      ...(maxProblems !== undefined ? { maxProblems } : {}),
      onWarning: (m: string) => io.err(`warning: ${m}\n`),
      ...(showProgress
        ? {
            onProgress: (p: AuditProgress) => {
              const now = Date.now();
              if (now - lastDraw < 100 && p.done < p.total) return;
              lastDraw = now;
              io.err(`\r${progressLine(p)}`);
            },
          }
        : {}),
    };
    const result = source instanceof BucketSource ? await auditBucket(source, options) : { report: await runAudit(source, options) };
    if (showProgress) io.err('\r\x1b[2K');
    return result;
  } catch (err) {
    if (showProgress) io.err('\n');
    if (err instanceof AuditAbort) throw new CliError(err.message, err.exitCode);
    throw err;
  } finally {
    await source.close();
  }
}

/** registerAudit adds `audit` and `export-tiles` to the program. */
export function registerAudit(program: Command, io: CliIo = processIo()): void {
  program
    .command('audit')
    .description('replay a ledger from genesis and check everything against the pinned key: entries, tree nodes, blocks, signatures, indexes')
    .option('-d, --data <dir>', 'a stopped data directory, or a backup copy of it (or of its ledger/ directory)')
    .option('-u, --url <url>', 'a live log: replay it through its tiles API; or a mirror\'s bucket: s3://BUCKET/PREFIX, or an http(s) URL of the prefix with --bucket')
    .option('--bucket', 'the http(s) --url is a mirror\'s bucket prefix or a CDN in front of it (static tlog-tiles layout, plain GETs), not the service')
    .option('--endpoint <url>', 'with --url s3://…: the S3-compatible store (env GUZHENG_MIRROR_ENDPOINT); credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY')
    .option('--anonymous', 'with --url s3://…: read without credentials (plain GETs), even when AWS_ACCESS_KEY_ID is set')
    .option('--objects <which>', 'with a listed bucket: all (default: every object, older partial tiles included) or needed (only what the checkpoint needs)')
    .requiredOption('--key <vkey>', "the log's verifier key (name+keyid+base64), or a file holding it")
    .option('-k, --api-key <key>', 'with --url: an API key with the audit role, for entry bundles (env GUZHENG_API_KEY)')
    .option('-c, --checkpoint <file>', 'a checkpoint saved earlier (signed note, monitor state, block or receipt JSON); repeatable', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--json', 'print the report as JSON (format guzheng-audit/v1)')
    .option('--workers <n>', 'worker threads (default: one per CPU, at most 8; 0 = none)')
    .option('--max-problems <n>', 'problems to list (default 20; all are counted)')
    .option('--digest-every <n>', 'with --url: look up the digest of every n-th entry (default 256)')
    .option('--fraud-proof <file>', 'write the evidence of a fork here')
    .option('--tsa-ca <pem-file>', 'root certificates (PEM) of the time-stamping authorities you trust: every time-stamp token the log keeps is verified (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--policy <file>', 'witness policy (C2SP tlog-policy): check every kept cosignature; some checkpoint must meet its quorum')
    .option('--witness <vkey>', 'a witness verifier key (repeatable; with --quorum)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--quorum <k>', 'with --witness: how many must have cosigned (default all)')
    .option('--no-progress', 'no progress bar')
    .action(async (o: AuditFlags) => {
      const { report, bucket } = await audit(o, io);
      if (o.json) io.out(JSON.stringify({ ...reportJson(report), ...(bucket ? { bucket: bucketJson(bucket) } : {}) }, null, 2) + '\n');
      else {
        // The bucket's lines go before the verdict.
        const lines = formatReport(report).trimEnd().split('\n');
        const verdict = lines.pop() as string;
        const problemsAt = lines.findIndex((l) => /^FAILED: /.test(l));
        const body = problemsAt >= 0 ? [...lines.slice(0, problemsAt), ...(bucket ? describeBucket(bucket) : []), ...lines.slice(problemsAt), verdict] : [...lines, ...(bucket ? describeBucket(bucket) : []), verdict];
        io.out(body.join('\n') + '\n');
      }
      const evidence = report.problems.find((p) => p.evidence !== undefined)?.evidence;
      if (evidence !== undefined && o.fraudProof !== undefined) {
        writeFileAtomic(o.fraudProof, JSON.stringify(evidence, null, 2) + '\n');
        io.err(`fraud proof written to ${o.fraudProof}\n`);
      }
      if (!report.ok) {
        const p = report.problems[0];
        throw new CliError(`audit FAILED: ${report.problemCount} problem${report.problemCount === 1 ? '' : 's'}${p ? `; first: ${whereOf(p)}: ${p.kind}` : ''}`, 1);
      }
    });

  program
    .command('export-tiles')
    .description('write the tlog-tiles of the last checkpoint (tile/…, tile/entries/…, checkpoint) as static files for an object store or CDN')
    .requiredOption('-d, --data <dir>', 'a stopped data directory, or a backup copy of it')
    .requiredOption('-o, --out <dir>', 'output directory (full tiles already there are kept: they never change)')
    .option('--key <vkey>', "the log's verifier key or a file holding it (default: derived from <data>/log-key)")
    .option('--no-entries', 'omit entry bundles (they hold entry metadata; the API serves them only with the audit role)')
    .action(async (o: { data: string; out: string; key?: string; entries: boolean }) => {
      let key: VerifierKey;
      if (o.key !== undefined) key = loadVerifierKey(o.key);
      else {
        const logKey = dataPaths(o.data).logKey;
        if (!existsSync(logKey)) throw new CliError(`no --key given and no ${logKey} to derive it from`, 2);
        const signer = parseSignerKey(readFileSync(logKey, 'utf8').trim());
        key = parseVerifierKey(formatVerifierKey(signer.name, signer.publicKey));
      }
      let path: string;
      try {
        path = resolveLedgerDir(o.data);
      } catch (err) {
        throw new CliError((err as Error).message, 2);
      }
      installNodeCrypto();
      let store: LevelStore;
      try {
        store = await LevelStore.open(path);
      } catch (err) {
        if (err instanceof StoreLockedError) throw new CliError(`${err.message}: stop the server first or export from a backup copy (a CDN can also cache /tile/ of the live log)`, 2);
        throw err;
      }
      try {
        const count = await store.getBlockCount();
        const block = count > 0n ? await store.getBlock(count - 1n) : undefined;
        if (block === undefined) throw new CliError('the ledger has no checkpoint to export', 1);
        let last = 0;
        const result = await exportTiles(store, block.checkpoint, key, o.out, {
          entries: o.entries,
          onProgress: (done, total) => {
            if (!io.progress || (Date.now() - last < 100 && done < total)) return;
            last = Date.now();
            io.err(`\r${done}/${total} tiles`);
          },
        });
        if (io.progress) io.err('\r\x1b[2K');
        io.out(`exported size ${result.size} (root ${result.root}): ${result.tiles} tiles, ${result.written} written, ${result.skipped} already there, to ${o.out}\n`);
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError(`export failed: ${(err as Error).message}`, 1);
      } finally {
        await store.close();
      }
    });
}
