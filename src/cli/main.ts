/**
 * The `guzheng` command line (commander): serve, keys, users, submit, prove, case, verify, audit,
 * export-tiles, monitor, restore, migrate. Exit codes: 0 success,
 * 1 the operation failed, 2 usage error or unreadable input.
 */
import { Command, CommanderError } from 'commander';
import { installNodeCrypto } from '../platform/node-crypto.js';
import { CliError } from './client.js';
import { registerKeys } from './keys.js';
import { registerUsers } from './users.js';
import { registerServe } from './serve.js';
import { registerSubmit } from './submit.js';
import { registerVerify } from './verify.js';
import { registerCase } from './case.js';
import { registerAudit } from './audit.js';
import { registerMonitor } from './monitor.js';
import { registerWitness } from './witness.js';
import { registerRestore } from './restore.js';
import { registerMigrate } from './migrate.js';

installNodeCrypto();

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('guzheng')
    .description('Guzheng (固证): tamper-evident evidence-anchoring ledger')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerServe(program);
  registerKeys(program);
  registerUsers(program);
  registerSubmit(program);
  registerCase(program);
  registerVerify(program);
  registerAudit(program);
  registerMonitor(program);
  registerWitness(program);
  registerRestore(program);
  registerMigrate(program);
  return program;
}

/** run executes the CLI with `argv` (without node and script) and returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof CliError) {
      process.stderr.write(`guzheng: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`guzheng: ${(err as Error).message ?? String(err)}\n`);
    return 1;
  }
}
