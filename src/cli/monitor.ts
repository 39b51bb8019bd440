/**
 * `guzheng monitor --url URL --key VKEY --state FILE [--interval S] [--once] [--policy FILE |
 * --witness VKEY… [--quorum K]]` (docs/audit.md#guzheng-monitor): follow a live log's checkpoints;
 * on every poll verify the signature, the consistency with the last one accepted, the blocks
 * served up to it and, with a policy, the witnesses' views and the quorum; persist it only then.
 * Exit 0 when stopped (SIGINT/SIGTERM) or after a clean `--once` (warnings included); 1 on a fraud
 * proof (written to a file, the loop stops), or with `--once` on an alarm or when the log could
 * not be checked (the loop reports those and goes on); 2 for a usage error or a state file that
 * is not this log's.
 *
 * The lead wires it into the program with `registerMonitor(program)` (src/cli/main.ts).
 */
import type { Command } from 'commander';
import { monitorOnce, runMonitor, MonitorAlarm, MonitorError, type MonitorHead, type MonitorOutcome, type MonitorOptions, type MonitorProblem } from '../audit/monitor.js';
import { installNodeCrypto } from '../platform/node-crypto.js';
import { BucketLog } from '../audit/bucket-log.js';
import { bucketReader, isBucket, loadVerifierKey, processIo, type CliIo } from './audit.js';
import { CliError } from './client.js';
import { loadPolicy } from './verify.js';

interface MonitorFlags {
  url: string;
  bucket?: boolean;
  endpoint?: string;
  anonymous?: boolean;
  key: string;
  state: string;
  interval: string;
  once?: boolean;
  fraudProof?: string;
  apiKey?: string;
  json?: boolean;
  policy?: string;
  witness: string[];
  quorum?: string;
}

function headText(h: MonitorHead): string {
  return `block ${h.height} at ${h.time}${h.timeSigned ? '' : " (unsigned time: a format-1 block, the operator's word)"}`;
}

function warningsText(ws: readonly MonitorProblem[]): string {
  return ws.map((w) => `\n  warning: ${w.kind}: ${w.message}`).join('');
}

function describe(o: MonitorOutcome): string {
  switch (o.status) {
    case 'initialized':
      return `first checkpoint: size ${o.size}, root ${o.root}, ${headText(o.head)} (trusted on first use; pin it by comparing with another source)${warningsText(o.warnings)}`;
    case 'unchanged':
      return `unchanged at size ${o.size}, ${headText(o.head)}: blocks ${o.blocks.from}–${o.blocks.to} checked${warningsText(o.warnings)}`;
    case 'advanced':
      return `verified ${o.from} → ${o.to}: consistent, root ${o.root}, ${headText(o.head)}, blocks ${o.blocks.from}–${o.blocks.to} checked${warningsText(o.warnings)}`;
    case 'fraud':
      return `MISBEHAVIOUR: ${o.proof.detail}; fraud proof written to ${o.file}`;
  }
}

function outcomeJson(o: MonitorOutcome, at: string): Record<string, unknown> {
  if (o.status === 'fraud') return { at, status: o.status, file: o.file, fraudProof: o.proof };
  const checked = {
    head: { height: o.head.height.toString(), hash: o.head.hash, time: o.head.time, timeSigned: o.head.timeSigned },
    blocks: { from: o.blocks.from.toString(), to: o.blocks.to.toString() },
    warnings: o.warnings,
  };
  switch (o.status) {
    case 'initialized':
      return { at, status: o.status, size: o.size.toString(), root: o.root, ...checked };
    case 'unchanged':
      return { at, status: o.status, size: o.size.toString(), ...checked };
    case 'advanced':
      return { at, status: o.status, from: o.from.toString(), to: o.to.toString(), root: o.root, ...checked };
  }
}

/** registerMonitor adds `monitor` to the program. */
export function registerMonitor(program: Command, io: CliIo = processIo(), signal?: AbortSignal): void {
  program
    .command('monitor')
    .description("follow a live log's checkpoints: on every poll verify the signature, the consistency proof from the last verified one, the blocks served up to it and (with a policy) the witnesses; stop with a fraud proof on conclusive misbehaviour")
    .requiredOption('-u, --url <url>', "the log: the service's URL; or a mirror's bucket: s3://BUCKET/PREFIX, or an http(s) URL of the prefix with --bucket")
    .option('--bucket', "the http(s) --url is a mirror's bucket prefix or a CDN in front of it (plain GETs of checkpoint, tile/…, guzheng/blocks/…), not the service")
    .option('--endpoint <url>', 'with --url s3://…: the S3-compatible store (env GUZHENG_MIRROR_ENDPOINT); credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY')
    .option('--anonymous', 'with --url s3://…: read without credentials (plain GETs), even when AWS_ACCESS_KEY_ID is set')
    .requiredOption('--key <vkey>', "the log's verifier key (name+keyid+base64), or a file holding it")
    .requiredOption('-s, --state <file>', 'state file: the last verified checkpoint (created on first run, updated only after verification)')
    .option('-i, --interval <seconds>', 'seconds between polls', '10')
    .option('--once', 'poll once and exit')
    .option('--fraud-proof <file>', 'where to write a fraud proof (default <state>.fraud-proof.json)')
    .option('-k, --api-key <key>', 'API key, if the log requires one (env GUZHENG_API_KEY)')
    .option('--json', 'one JSON object per poll')
    .option('--policy <file>', "witness policy (C2SP tlog-policy): warn when the checkpoint lacks its quorum of cosignatures, and compare each witness's latest checkpoint of this log with what the log shows you (a split view writes a fraud proof)")
    .option('--witness <vkey>', 'a witness verifier key you trust (repeatable; with --quorum): warn when the checkpoint lacks their cosignatures', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--quorum <k>', 'with --witness: how many of those witnesses must have cosigned (default all)')
    .action(async (o: MonitorFlags) => {
      const key = loadVerifierKey(o.key);
      if (!/^[0-9]+(\.[0-9]+)?$/.test(o.interval) || Number(o.interval) <= 0) throw new CliError('--interval: want a positive number of seconds', 2);
      installNodeCrypto();
      const apiKey = o.apiKey ?? process.env.GUZHENG_API_KEY;
      const policy = loadPolicy(o);
      const bucket = isBucket(o);
      if (!bucket && (o.endpoint !== undefined || o.anonymous === true)) throw new CliError('--endpoint and --anonymous are for a bucket: --url s3://BUCKET/PREFIX, or an http(s) URL with --bucket', 2);
      if (bucket && o.apiKey !== undefined) throw new CliError('--api-key is for the service: a bucket is read with AWS credentials', 2);
      const reader = bucket ? bucketReader(o) : undefined;
      const log = reader ? new BucketLog(reader, key) : undefined;
      const options: MonitorOptions = {
        url: o.url,
        verifierKey: key.text,
        stateFile: o.state,
        ...(o.fraudProof ? { fraudProofFile: o.fraudProof } : {}),
        ...(apiKey && !bucket ? { apiKey } : {}),
        ...(policy ? { policy } : {}),
        ...(log ? { log } : {}),
      };
      const report = (outcome: MonitorOutcome) => {
        const at = new Date().toISOString();
        io.out(o.json ? JSON.stringify(outcomeJson(outcome, at)) + '\n' : `${at} ${describe(outcome)}\n`);
      };
      const alarm = (err: MonitorAlarm, where: 'out' | 'err') => {
        const at = new Date().toISOString();
        if (o.json) io.out(JSON.stringify({ at, status: 'alarm', message: err.message, problems: err.problems }) + '\n');
        else if (where === 'out') io.out(`${at} ALARM: ${err.message} (--json shows the evidence)\n`);
      };
      const failed = (outcome: MonitorOutcome): never => {
        throw new CliError(outcome.status === 'fraud' ? `the log misbehaved: ${outcome.proof.detail} (evidence in ${outcome.file})` : 'bad math', 1);
      };
      try {
        if (o.once) {
          const outcome = await monitorOnce(options).catch((err: unknown) => {
            if (err instanceof MonitorAlarm) alarm(err, 'err');
            throw err;
          });
          report(outcome);
          if (outcome.status === 'fraud') failed(outcome);
          return;
        }
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        signal?.addEventListener('abort', onSignal, { once: true });
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          const outcome = await runMonitor({
            ...options,
            intervalMs: Number(o.interval) * 1000,
            signal: stop.signal,
            onOutcome: report,
            onError: (err) => (err instanceof MonitorAlarm ? alarm(err, 'out') : io.err(`${new Date().toISOString()} could not check the log: ${err.message}\n`)),
          });
          if (outcome?.status === 'fraud') failed(outcome);
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      } catch (err) {
        if (err instanceof MonitorError) throw new CliError(err.message, err.exitCode);
        throw err;
      } finally {
        reader?.close();
      }
    });
}
