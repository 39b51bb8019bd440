/** `guzheng serve`: run the service until SIGTERM or SIGINT, then shut down cleanly. */
import type { Command } from 'commander';
import { ConfigError, DEFAULTS, loadConfig, REPLICA_POLL_MS, type ServeFlags } from '../config.js';
import { startService } from '../server.js';
import { CliError } from './client.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the ledger service (what "npm start" runs)')
    .option('-d, --data <dir>', `data directory (env GUZHENG_DATA, default ${DEFAULTS.dataDir})`)
    .option('-p, --port <port>', `TCP port (env PORT, default ${DEFAULTS.port}; 0 picks a free one)`)
    .option('--host <host>', `listen address (env HOST, default ${DEFAULTS.host})`)
    .option('--origin <origin>', 'log origin for a new log (env GUZHENG_ORIGIN, default localhost/guzheng)')
    .option('--profile <suite>', 'crypto suite of a new log: c2sp (SHA-256, Ed25519) or gm (国密 SM3, SM2); an existing log keeps its own, and another value stops the start (env GUZHENG_PROFILE, default c2sp)')
    .option('--checkpoint-interval-ms <ms>', `minimum ms between checkpoints (env GUZHENG_CHECKPOINT_INTERVAL_MS, default ${DEFAULTS.checkpointIntervalMs})`)
    .option('--receipt-interval-ms <ms>', `minimum ms between checkpoints while a client waits for a receipt (env GUZHENG_RECEIPT_INTERVAL_MS, default ${DEFAULTS.receiptIntervalMs})`)
    .option('--max-document-bytes <n>', 'largest document upload (env GUZHENG_MAX_DOCUMENT_BYTES, default 2 GiB)')
    .option('--hj212-port <port>', 'also run the HJ 212 TCP gateway for data loggers on this port (env GUZHENG_HJ212_PORT, default off; 0 picks a free one)')
    .option('--tsa-url <urls>', 'RFC 3161 time-stamping authorities that stamp the checkpoints, comma-separated, tried in order (env GUZHENG_TSA_URL, default none)')
    .option('--tsa-ca <pem-file>', 'PEM bundle of the TSA root certificates tokens must chain to; required with --tsa-url (env GUZHENG_TSA_CA)')
    .option('--tsa-interval-ms <ms>', `least ms between two time stamps while the log grows (env GUZHENG_TSA_INTERVAL_MS, default ${DEFAULTS.tsaIntervalMs})`)
    .option('--tsa-timeout-ms <ms>', `deadline of one TSA request (env GUZHENG_TSA_TIMEOUT_MS, default ${DEFAULTS.tsaTimeoutMs})`)
    .option('--witness-policy <file>', 'C2SP tlog-policy file: the witnesses each checkpoint is submitted to, and the quorum receipts wait for (env GUZHENG_WITNESS_POLICY, default none)')
    .option('--witness-timeout-ms <ms>', `deadline of one witness request (env GUZHENG_WITNESS_TIMEOUT_MS, default ${DEFAULTS.witnessTimeoutMs})`)
    .option('--public-url <url>', 'public base URL of the service, used by certificates\' QR codes and links and the console, e.g. https://evidence.example.gov.cn (env GUZHENG_PUBLIC_URL, default the URL each request came in on)')
    .option('--mirror <s3-url>', 'mirror the log, write-once, to an S3-compatible bucket: s3://BUCKET/PREFIX; credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, region from AWS_REGION (env GUZHENG_MIRROR, default none)')
    .option('--mirror-endpoint <url>', 'the S3-compatible store\'s URL for stores other than AWS S3, e.g. http://rgw.example:7480 (env GUZHENG_MIRROR_ENDPOINT)')
    .option('--mirror-strict', 'hand out a receipt only once the mirror holds its entry, waiting at most as long as for a checkpoint (env GUZHENG_MIRROR_STRICT=1, default off)')
    .option('--replica-of <s3-url>', 'run as a read replica of the mirror s3://BUCKET/PREFIX: follow it, verify everything, serve the read API, refuse writes; the endpoint and credentials as for --mirror (env GUZHENG_REPLICA_OF)')
    .option('--replica-key <vkey>', 'with --replica-of, required: the primary\'s verifier key, or a file holding it (env GUZHENG_REPLICA_KEY)')
    .option('--replica-poll-ms <ms>', `with --replica-of: how often the mirror's checkpoint is read (env GUZHENG_REPLICA_POLL_MS, default ${REPLICA_POLL_MS})`)
    .option('--primary-url <url>', 'with --replica-of: the primary\'s URL, named when a write is refused (env GUZHENG_PRIMARY_URL)')
    .option('--rate-limit <n>', `requests per second per API key, 0 = off (env GUZHENG_RATE_LIMIT, default ${DEFAULTS.rateLimitPerKey})`)
    .action(async (flags: ServeFlags) => {
      let config;
      try {
        config = loadConfig(process.env, flags);
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(err.message, 2);
        throw err;
      }
      let service;
      try {
        service = await startService(config);
      } catch (err) {
        // A bad TSA root bundle, witness policy file or mirror setting is a configuration error
        // (exit 2), found before anything was created.
        if (err instanceof ConfigError) throw new CliError(err.message, 2);
        throw err;
      }
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          process.stderr.write(`received ${signal}: draining and closing\n`);
          service.close().then(resolve, (err: unknown) => {
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
