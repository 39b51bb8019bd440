/**
 * `guzheng witness init` and `guzheng witness serve` (docs/witness.md): a C2SP tlog-witness that
 * cosigns checkpoints of the logs it is given, Guzheng's or any other C2SP log's.
 * Exit codes: 0 ok, 1 failed (e.g. the data directory is in use), 2 usage or unreadable config.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError } from './client.js';
import { buildWitnessedLogs, parseWitnessConfig, WitnessConfigError } from '../witness/config.js';
import { initWitness } from '../witness/keyfile.js';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_RATE_LIMIT, originPath, startWitness } from '../witness/server.js';
import { WitnessLockedError } from '../witness/state.js';

interface InitFlags {
  data: string;
  name: string;
  mlDsa?: boolean;
}

interface ServeFlags {
  data: string;
  host: string;
  port: string;
  log: string[];
  config?: string;
  maxBodyBytes: string;
  rateLimit: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function intFlag(value: string, name: string, min: number, max: number): number {
  if (!/^(0|[1-9][0-9]*)$/.test(value) || Number(value) < min || Number(value) > max) throw new CliError(`--${name}: got ${JSON.stringify(value)}, want an integer from ${min} to ${max}`, 2);
  return Number(value);
}

function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof WitnessConfigError) throw new CliError(err.message, 2);
    throw err;
  }
}

/** registerWitness adds `witness init` and `witness serve` to the program. */
export function registerWitness(program: Command): void {
  const witness = program.command('witness').description('run a C2SP tlog-witness that cosigns other logs\' checkpoints (docs/witness.md)');

  witness
    .command('init')
    .description('create the witness key (DATA/witness-key, mode 0600) and print its verifier key (also in DATA/witness.vkey)')
    .requiredOption('-d, --data <dir>', 'witness data directory')
    .requiredOption('--name <name>', 'witness name, a schema-less URL such as witness.example.gov.cn/court-1')
    .option('--ml-dsa', 'make an ML-DSA-44 (post-quantum, C2SP type 0x06) key instead of Ed25519 (type 0x04)')
    .action((flags: InitFlags) => {
      const vkey = usage(() => initWitness(flags.data, flags.name, flags.mlDsa === true ? 'ml-dsa-44' : 'ed25519'));
      process.stderr.write(`witness key created in ${flags.data} (${flags.mlDsa === true ? 'ML-DSA-44' : 'Ed25519'}); give this verifier key to the logs and to verifiers:\n`);
      process.stdout.write(`${vkey}\n`);
    });

  witness
    .command('serve')
    .description('serve POST /add-checkpoint (c2sp.org/tlog-witness) for the given logs until SIGTERM')
    .requiredOption('-d, --data <dir>', 'witness data directory (made by "witness init")')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('-p, --port <port>', 'TCP port (0 picks a free one)', '7380')
    .option('--log <vkey>', 'verifier key of a log to witness, Ed25519 or a gm log\'s SM2 key (repeatable)', collect, [])
    .option('--config <file>', 'file of "log <vkey> [<origin>]" lines (docs/witness.md#config)')
    .option('--max-body-bytes <n>', 'largest add-checkpoint request body', String(DEFAULT_MAX_BODY_BYTES))
    .option('--rate-limit <n>', 'requests per second per client IP, 0 = off', String(DEFAULT_RATE_LIMIT))
    .action(async (flags: ServeFlags) => {
      const port = intFlag(flags.port, 'port', 0, 65535);
      const maxBodyBytes = intFlag(flags.maxBodyBytes, 'max-body-bytes', 1024, 64 * 1024 * 1024);
      const rateLimit = intFlag(flags.rateLimit, 'rate-limit', 0, 1_000_000);
      let configText: string | undefined;
      if (flags.config !== undefined) {
        try {
          configText = readFileSync(flags.config, 'utf8');
        } catch (err) {
          throw new CliError(`--config: cannot read ${flags.config}: ${(err as Error).message}`, 2);
        }
      }
      const logs = usage(() => buildWitnessedLogs(flags.log, configText === undefined ? [] : parseWitnessConfig(configText, flags.config)));
      let running;
      try {
        running = await startWitness({ dataDir: flags.data, logs, host: flags.host, port, maxBodyBytes, rateLimit });
      } catch (err) {
        if (err instanceof WitnessLockedError) throw new CliError(err.message, 1);
        if (err instanceof WitnessConfigError) throw new CliError(err.message, 2);
        throw err;
      }
      process.stderr.write(
        [
          `witness ${running.name} listening on ${running.url}`,
          `submission prefix: ${running.url}  (logs POST ${running.url}/add-checkpoint)`,
          ...[...logs.values()].map((l) => `witnessing:        ${l.origin}  (${l.suite.id}: ${l.suite.id === 'gm' ? 'SM2 signatures, SM3 proofs' : 'Ed25519 signatures, SHA-256 proofs'}; latest cosigned: ${running.url}/${originPath(l.origin)}/checkpoint)`),
          `witness vkey:      ${running.verifierKey}`,
          '',
        ].join('\n'),
      );
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          process.stderr.write(`received ${signal}: closing\n`);
          running.close().then(resolve, (err: unknown) => {
            process.stderr.write(`shutdown error: ${String(err)}\n`);
            process.exitCode = 1;
            resolve();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}
