/**
 * Starting a read replica (`guzheng serve --replica-of s3://BUCKET/PREFIX --replica-key VKEY`,
 * docs/scaling.md#read-replicas): the replica's own data directory holds a LevelDB store that the
 * replica fills from the mirror, verifying everything (src/mirror/follow.ts), and a read-only
 * ledger over it serves the public read API from that local index: checkpoint, proofs, blocks,
 * lookups, verify, tiles, the explorer. It has no log key and signs nothing; every write route
 * answers 409 READ_ONLY_REPLICA (src/http/app.ts), the HJ 212 gateway, TSA and witnesses are off.
 *
 * Start: the store catches up with the bucket's checkpoint first (a restore, in effect: the
 * first start of a replica copies the whole log), then the ledger opens on it, the HTTP server
 * listens, and the follower polls every GUZHENG_REPLICA_POLL_MS.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RequestListener, Server } from 'node:http';
import { ConfigError, type ServiceConfig } from './config.js';
import { stampImprint } from './core/stamp.js';
import { closeHttpServer, createApp } from './http/app.js';
import { Ledger, secondaryKeysOf } from './log/ledger.js';
import type { StampToCheck } from './mirror/follow.js';
import { BucketReader } from './mirror/read.js';
import { Replica, type ReplicaHalt } from './mirror/replica.js';
import { S3ObjectStore } from './mirror/s3.js';
import type { RunningService } from './server.js';
import { dataPaths, ensureAdminKey, ensureDataDir } from './setup.js';
import { LevelStore, StoreLockedError } from './storage/level.js';
import { openUpgrading } from './storage/migrate.js';
import { inspectTimestampToken, parseCertificatesPem, verifyTimestampToken } from './verifier/timestamp.js';

/** The file a halted replica writes its evidence to, in its data directory. */
export const REPLICA_HALT_FILE = 'replica-halt.json';

/** checkStamp: replicated time stamps verified against GUZHENG_TSA_CA when given, else only read. */
function stampChecker(caFile: string | undefined): (s: StampToCheck) => Promise<void> {
  let roots: Uint8Array[] = [];
  if (caFile !== undefined) {
    try {
      roots = parseCertificatesPem(readFileSync(caFile, 'utf8'));
    } catch (err) {
      throw new ConfigError(`GUZHENG_TSA_CA ${caFile}: ${(err as Error).message}`);
    }
    if (roots.length === 0) throw new ConfigError(`GUZHENG_TSA_CA ${caFile}: no certificate`);
  }
  return async (s) => {
    if (roots.length > 0) {
      await verifyTimestampToken(s.token, { imprint: stampImprint(s.checkpoint, s.suite), imprintAlg: s.suite.digestAlg, trustedRoots: roots });
    } else if ((await inspectTimestampToken(s.token)) === undefined) {
      throw new Error('not an RFC 3161 time-stamp token');
    }
  };
}

/** startReplicaService starts a read replica per `config.replica` (see the module comment). */
export async function startReplicaService(
  config: ServiceConfig,
  say: (line: string) => void,
  listen: (app: RequestListener, config: ServiceConfig) => Promise<{ server: Server; url: string }>,
): Promise<RunningService> {
  const r = config.replica;
  if (r === undefined) throw new Error('startReplicaService: not a replica');
  const checkStamp = stampChecker(config.tsaCaFile);
  const paths = dataPaths(config.dataDir);
  if (existsSync(paths.logKey)) {
    throw new ConfigError(`configuration: ${paths.logKey} exists: ${paths.root} is a primary's data directory (or a restore); a read replica has no key and needs a directory of its own`);
  }
  const { warning } = ensureDataDir(config.dataDir);
  let store: LevelStore;
  try {
    // A layout-1 store is upgraded in place first (src/storage/migrate.ts).
    store = await openUpgrading(paths.ledger, { onEvent: say }, say);
  } catch (err) {
    if (err instanceof StoreLockedError) throw new Error(`${err.message}: another "guzheng serve" is using it`);
    throw err;
  }
  const objects = new S3ObjectStore({ bucket: r.bucket, region: r.region, credentials: r.credentials, ...(r.endpoint !== undefined ? { endpoint: r.endpoint } : {}) });
  const reader = new BucketReader(objects, r.prefix);
  const haltFile = join(paths.root, REPLICA_HALT_FILE);
  let replica: Replica;
  let ledger: Ledger;
  try {
    if (existsSync(haltFile)) {
      throw new Error(`${haltFile} exists: this replica halted before (${(JSON.parse(readFileSync(haltFile, 'utf8')) as ReplicaHalt).reason}); find out which log is right, then remove the file (or the directory) to follow again`);
    }
    replica = await Replica.open({
      store,
      reader,
      verifier: r.verifierKey,
      secondaryKeysOf,
      checkStamp,
      of: r.url,
      ...(r.primaryUrl !== undefined ? { primaryUrl: r.primaryUrl } : {}),
      pollMs: r.pollMs,
      onEvent: say,
      onHalt: (halt) => {
        try {
          writeFileSync(haltFile, JSON.stringify(halt, null, 2) + '\n');
        } catch (err) {
          say(`replica: cannot keep the evidence in ${haltFile}: ${(err as Error).message}`);
        }
      },
    });
    say(`replica: catching up with ${r.url} (from ${replica.verifiedSize} entries)`);
    const t0 = performance.now();
    await replica.catchUp();
    say(`replica: at ${replica.verifiedSize} entries after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    ledger = await Ledger.open({ store, verifierKey: r.verifierKey, checkpointIntervalMs: config.checkpointIntervalMs, summaries: { onEvent: say } });
    replica.attach(ledger);
  } catch (err) {
    await store.close();
    objects.close();
    throw err;
  }
  const adminKeyAt = await ensureAdminKey(store, config.dataDir, config.adminKey);
  const app = createApp({
    ledger,
    store,
    config: { maxDocumentBytes: config.maxDocumentBytes, rateLimitPerKey: config.rateLimitPerKey },
    ...(config.publicUrl !== undefined ? { publicUrl: config.publicUrl } : {}),
    replica: { status: () => replica.status() },
  });
  let server: Server;
  let url: string;
  try {
    ({ server, url } = await listen(app, config));
  } catch (err) {
    await ledger.close();
    objects.close();
    throw err;
  }
  replica.start();
  say(`Guzheng (固证) READ REPLICA listening on ${url}`);
  say(`  data directory: ${paths.root} (the replica's own store; no log key)`);
  say(`  follows:        ${r.url}${r.endpoint !== undefined ? ` at ${r.endpoint}` : ` (AWS S3, ${r.region})`}, every ${r.pollMs} ms, verifying every object against the log key`);
  say(`  log origin:     ${ledger.origin}`);
  say(`  verifier key:   ${ledger.verifierKey}`);
  say(`  entries:        ${ledger.sequencer.size} (verified checkpoint)`);
  say(`  writes:         refused (409 READ_ONLY_REPLICA)${r.primaryUrl !== undefined ? `; the primary is ${r.primaryUrl}` : ''}`);
  if (adminKeyAt !== undefined) say(`  admin API key:  registered from ${adminKeyAt} (this replica's own)`);
  if (warning !== undefined) say(`  ${warning}`);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await closeHttpServer(server, app);
      try {
        await replica.stop();
        await ledger.close();
      } finally {
        objects.close();
      }
    })());
  return { url, ledger, server, hj212: undefined, stamper: undefined, mirror: undefined, replica, close };
}
