/**
 * `guzheng restore --from s3://BUCKET/PREFIX --data DIR [--key FILE]` (docs/scaling.md#restore):
 * rebuild a data directory from the mirror, verifying everything (src/mirror/follow.ts), so that
 * `guzheng serve --data DIR` continues the same log with the same key.
 *
 * - The log key comes from the operator's own backup (`--key`, a `log-key` file as the service
 *   writes it) or is already in DIR; the bucket never holds it. The bucket's checkpoint must
 *   verify with it before anything is written.
 * - DIR must be empty (or hold only the key), or hold a partial restore of the same log from the
 *   same bucket (the file `restore-in-progress`): a failed or interrupted restore is resumed by
 *   running the same command again; what it stored was verified.
 * - The store is written through the store's own API, as the log writes it; `<data>/checkpoint`
 *   and the mirror's progress for this bucket are written at the end.
 *
 * Exit 0 restored; 1 the bucket failed verification or could not be read (the message names the
 * object); 2 usage (bad URL, no key, DIR not empty, missing credentials).
 */
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { mirrorUrlSchema } from '../config.js';
import { openCheckpoint } from '../core/checkpoint.js';
import { isLedgerError } from '../core/errors.js';
import { formatSignerKey, formatVerifierKey, parseSignerKey, parseVerifierKey, type SignerKey } from '../core/note.js';
import { stampImprint } from '../core/stamp.js';
import { secondaryKeysOf } from '../log/ledger.js';
import type { StampToCheck } from '../mirror/follow.js';
import { BucketReader } from '../mirror/read.js';
import { restoreStore, type RestoreProgress, type RestoreResult } from '../mirror/restore.js';
import { S3ObjectStore } from '../mirror/s3.js';
import { CheckpointFile, dataPaths, ensureDataDir, writeSecret } from '../setup.js';
import { LevelStore, StoreLockedError } from '../storage/level.js';
import { inspectTimestampToken, verifyTimestampToken } from '../verifier/timestamp.js';
import type { CliIo } from './audit.js';
import { CliError } from './client.js';
import { tsaRoots } from './verify.js';

/** The file marking a restore not yet finished (its source and key), in the data directory. */
export const RESTORE_MARKER = 'restore-in-progress';

/** What `guzheng restore` takes. */
export interface RestoreFlags {
  from?: string;
  data?: string;
  key?: string;
  endpoint?: string;
  withoutAttachments?: boolean;
  tsaCa?: string[];
}

function usage(message: string): never {
  throw new CliError(message, 2);
}

function readKey(path: string, what: string): SignerKey {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return usage(`${what} ${path}: cannot read it: ${(err as Error).message}`);
  }
  try {
    return parseSignerKey(text.trim());
  } catch (err) {
    return usage(`${what} ${path} does not hold a log key (PRIVATE+KEY+…, as the service writes <data>/log-key): ${(err as Error).message}`);
  }
}

interface Marker {
  readonly from: string;
  readonly verifierKey: string;
}

/**
 * checkDir: DIR is absent or empty, holds only a log key, or holds a partial restore of this log
 * from this bucket. Returns whether it is such a partial restore.
 */
function checkDir(dir: string, from: string, verifierKey: string): boolean {
  const paths = dataPaths(dir);
  if (!existsSync(paths.root)) return false;
  const names = readdirSync(paths.root);
  const other = names.filter((n) => n !== 'log-key' && n !== 'ledger' && n !== RESTORE_MARKER);
  const marker = join(paths.root, RESTORE_MARKER);
  if (!names.includes(RESTORE_MARKER)) {
    if (other.length > 0 || names.includes('ledger')) {
      usage(`${paths.root} is not empty (it holds ${[...names].sort().slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}): restore writes into an empty directory, or resumes its own partial restore`);
    }
    return false;
  }
  let m: Marker;
  try {
    m = JSON.parse(readFileSync(marker, 'utf8')) as Marker;
  } catch (err) {
    return usage(`${marker}: unreadable (${(err as Error).message}); remove the directory and restore again`);
  }
  if (m.from !== from || m.verifierKey !== verifierKey) {
    usage(`${paths.root} holds a partial restore of ${m.verifierKey} from ${m.from}, not of ${verifierKey} from ${from}: restore into another directory`);
  }
  if (other.length > 0) usage(`${paths.root} holds a partial restore and also ${other.join(', ')}: remove the directory and restore again`);
  return true;
}

/** checkStampWith returns the time-stamp check: against pinned roots when given, else that the token parses. */
function checkStampWith(roots: readonly Uint8Array[]): (s: StampToCheck) => Promise<void> {
  return async (s) => {
    if (roots.length > 0) {
      await verifyTimestampToken(s.token, { imprint: stampImprint(s.checkpoint, s.suite), imprintAlg: s.suite.digestAlg, trustedRoots: roots });
      return;
    }
    if ((await inspectTimestampToken(s.token)) === undefined) throw new Error('not an RFC 3161 time-stamp token');
  };
}

/** formatCount writes 12345 as 12,345. */
function formatCount(n: bigint | number): string {
  return n.toLocaleString('en-US');
}

/**
 * runRestore restores DIR from the bucket (the library entry of `guzheng restore`; tests call it
 * with their own environment and streams). Throws CliError.
 */
export async function runRestore(flags: RestoreFlags, env: NodeJS.ProcessEnv, io: CliIo): Promise<RestoreResult> {
  if (flags.from === undefined) usage('--from s3://BUCKET/PREFIX is required: the mirror to restore from');
  if (flags.data === undefined) usage('--data DIR is required: the data directory to restore into');
  const where = mirrorUrlSchema.safeParse(flags.from);
  if (!where.success) usage(`--from: ${where.error.issues[0]?.message ?? 'want s3://BUCKET/PREFIX'}`);
  const { url, bucket, prefix } = where.data;
  const endpoint = flags.endpoint ?? env.GUZHENG_MIRROR_ENDPOINT;
  if (endpoint !== undefined) {
    let ok = false;
    try {
      ok = /^https?:$/.test(new URL(endpoint).protocol);
    } catch {
      ok = false;
    }
    if (!ok) usage(`--endpoint (GUZHENG_MIRROR_ENDPOINT): got ${JSON.stringify(endpoint)}, want the store's http(s) URL`);
  }
  const accessKeyId = env.AWS_ACCESS_KEY_ID ?? '';
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY ?? '';
  if (accessKeyId === '' || secretAccessKey === '') usage('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set: the credentials of the bucket (environment only)');

  // The key: from the operator's backup, or already in DIR; never from the bucket.
  const paths = dataPaths(flags.data);
  const inDir = existsSync(paths.logKey) ? readKey(paths.logKey, 'the data directory\'s key') : undefined;
  const given = flags.key === undefined ? undefined : readKey(flags.key, '--key');
  if (given === undefined && inDir === undefined) usage(`the log key is needed: --key FILE, the log-key file from your own backup (the bucket never holds it), or put it in ${paths.logKey}`);
  const signer = (given ?? inDir) as SignerKey;
  const verifierKey = formatVerifierKey(signer.name, signer.publicKey);
  if (given !== undefined && inDir !== undefined && formatVerifierKey(inDir.name, inDir.publicKey) !== verifierKey) {
    usage(`--key ${flags.key} is not the key already in ${paths.logKey}`);
  }
  const verifier = parseVerifierKey(verifierKey);
  const resuming = checkDir(flags.data, url, verifierKey);
  const roots = flags.tsaCa === undefined || flags.tsaCa.length === 0 ? [] : tsaRoots(flags.tsaCa);

  const objects = new S3ObjectStore({
    bucket,
    region: env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) },
    ...(endpoint !== undefined ? { endpoint: endpoint.replace(/\/+$/, '') } : {}),
  });
  let store: LevelStore | undefined;
  try {
    const reader = new BucketReader(objects, prefix);
    // Before anything is written: the bucket holds this log.
    const raw = await reader.checkpoint();
    if (raw === undefined) throw new CliError(`there is no checkpoint at ${url}${endpoint !== undefined ? ` (${endpoint})` : ''}: no log was mirrored there`, 1);
    try {
      openCheckpoint(raw, verifier);
    } catch (err) {
      throw new CliError(`the checkpoint at ${url} does not verify with the key ${verifierKey} (${isLedgerError(err) ? err.code : (err as Error).message}): the wrong key, or another log's bucket`, 1);
    }
    ensureDataDir(flags.data);
    if (!resuming) writeFileSync(join(paths.root, RESTORE_MARKER), JSON.stringify({ from: url, verifierKey } satisfies Marker) + '\n', { mode: 0o600 });
    if (inDir === undefined) writeSecret(paths.logKey, `${formatSignerKey(signer.name, signer.seed, signer.algorithm)}\n`);
    try {
      store = await LevelStore.open(paths.ledger);
    } catch (err) {
      if (err instanceof StoreLockedError) throw new CliError(`${paths.ledger} is in use by another process (a running "guzheng serve"?)`, 2);
      throw err;
    }
    io.err(`guzheng restore: ${url}${endpoint !== undefined ? ` at ${endpoint}` : ''} → ${paths.root}${resuming ? ` (resuming at ${formatCount(await store.getSize())} entries)` : ''}\n`);
    let lastSaid = 0;
    const said = (p: RestoreProgress): void => {
      const now = performance.now();
      if (p.size !== p.target && now - lastSaid < 1000) return;
      lastSaid = now;
      const pct = p.target === 0n ? 100 : Number((p.size * 10_000n) / p.target) / 100;
      io.err(`  ${formatCount(p.size)} / ${formatCount(p.target)} entries (${pct.toFixed(1)}%), ${formatCount(p.blocks)} / ${formatCount(p.targetBlocks)} blocks, ${formatCount(Math.round(p.entriesPerSecond))} entries/s\n`);
    };
    let result: RestoreResult;
    try {
      result = await restoreStore({
        store,
        reader,
        verifier,
        secondaryKeysOf,
        attachments: flags.withoutAttachments === true ? 'skip' : 'require',
        checkStamp: checkStampWith(roots),
        onProgress: said,
      });
    } catch (err) {
      const size = await store.getSize().catch(() => undefined);
      const kept = size === undefined ? '' : `; ${paths.root} holds a partial restore, verified up to ${formatCount(size)} entries: run the same command again to resume`;
      if (err instanceof CliError) throw err;
      throw new CliError(`restore stopped: ${(err as Error).message}${kept}`, 1);
    }
    const file = new CheckpointFile(flags.data, (m) => io.err(`${m}\n`));
    file.save(result.signedCheckpoint);
    await file.flush();
    await store.close();
    store = undefined;
    rmSync(join(paths.root, RESTORE_MARKER), { force: true });
    const seconds = result.elapsedMs / 1000;
    const rate = seconds > 0 ? Math.round(Number(result.size - result.from) / seconds) : 0;
    io.out(
      [
        `restored ${paths.root} from ${url}: ${formatCount(result.size)} entries, ${formatCount(result.blocks)} blocks (checkpoint of ${formatCount(result.size)} entries, every object verified against it)`,
        `  ${formatCount(result.size - result.from)} entries in ${seconds.toFixed(1)} s (${formatCount(rate)} entries/s), ${formatCount(result.gets)} objects read (${formatCount(Math.round(result.bytes / 1024))} KiB)`,
        `  attachments: ${flags.withoutAttachments === true ? 'NOT restored (--without-attachments): record bodies and raw HJ 212 packets are missing, "guzheng audit" reports each' : `${formatCount(result.attachments)} (records, raw HJ 212 packets), each checked against its entry's digest`}`,
        `  time stamps: ${formatCount(result.stamps)} ${roots.length > 0 ? 'verified against the pinned TSA roots' : 'stored (not verified: no --tsa-ca; "guzheng audit --tsa-ca" verifies them)'}; witness cosignature lines: ${formatCount(result.cosignatures)}`,
        ...(result.stray.length > 0 ? [`  left alone: ${result.stray.length} objects under guzheng/tsa or guzheng/cosignatures that name no evidence (first: ${result.stray[0]})`] : []),
        '  not in the mirror, so not restored: API keys, console users and sessions (a new admin key is made at the first start), witness refusals; the explorer\'s summaries are rebuilt at the first start',
        `  next: guzheng audit --data ${flags.data} --key ${verifierKey}; then guzheng serve --data ${flags.data} continues the log`,
      ].join('\n') + '\n',
    );
    return result;
  } finally {
    await store?.close();
    objects.close();
  }
}

/** registerRestore adds `guzheng restore` to the program. */
export function registerRestore(program: Command): void {
  program
    .command('restore')
    .description('rebuild a data directory from the mirror (s3://BUCKET/PREFIX), verifying every object against the signed checkpoints; the restored log continues with its own key')
    .requiredOption('--from <s3-url>', 'the mirror: s3://BUCKET/PREFIX (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, region from AWS_REGION)')
    .requiredOption('-d, --data <dir>', 'the data directory to create (empty, or a partial restore of the same log to resume)')
    .option('--key <file>', 'the log key file from your own backup (as the service writes <data>/log-key); not needed when already in DIR')
    .option('--endpoint <url>', 'the S3-compatible store\'s URL, for stores other than AWS S3 (env GUZHENG_MIRROR_ENDPOINT)')
    .option('--tsa-ca <pem-file...>', 'TSA root certificates: verify every time stamp against them (default: only checked to parse)')
    .option('--without-attachments', 'restore the entries without their attachments (records\' JSON, raw HJ 212 packets), e.g. from a bucket mirrored before they were')
    .action(async (flags: RestoreFlags) => {
      await runRestore(flags, process.env, { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t), progress: process.stderr.isTTY === true });
    });
}
