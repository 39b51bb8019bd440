/**
 * Starting and stopping the service (DESIGN.md §3: `main` owns listening and shutdown). Opens the
 * data directory (creating the log key on first start), the LevelDB store and the ledger, builds
 * the HTTP app, listens, and on close stops accepting requests, drains the log (every queued
 * submission is written or failed), publishes a final checkpoint and closes the store. With
 * GUZHENG_MIRROR, the S3 mirror (src/mirror, docs/scaling.md) follows every published checkpoint
 * in the background; it is stopped before the store closes. With GUZHENG_REPLICA_OF, a read
 * replica starts instead (src/replica-service.ts).
 */
import { readFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatSignerKey } from './core/note.js';
import { closeHttpServer, createApp } from './http/app.js';
import type { MirrorView, TsaView } from './http/context.js';
import { Mirror } from './mirror/mirror.js';
import type { Replica } from './mirror/replica.js';
import { startReplicaService } from './replica-service.js';
import { S3ObjectStore } from './mirror/s3.js';
import { Stamper } from './tsa/stamper.js';
import { parseCertificatesPem } from './verifier/timestamp.js';
import { parsePolicy, type Policy } from './core/policy.js';
import { Hj212Gateway } from './ingest/hj212/gateway.js';
import { Ledger } from './log/ledger.js';
import type { Published } from './log/publisher.js';
import { LevelStore, StoreLockedError } from './storage/level.js';
import { openUpgrading } from './storage/migrate.js';
import { ConfigError, type MirrorConfig, type ServiceConfig } from './config.js';
import { CheckpointFile, dataPaths, ensureAdminKey, ensureDataDir, loadOrCreateLogKey, readKnownCheckpoint, removeStaleTemporaries } from './setup.js';

/** readTsaRoots reads the PEM bundle of GUZHENG_TSA_CA; an unreadable or empty bundle stops the start. */
function readTsaRoots(file: string | undefined): Uint8Array[] {
  if (file === undefined) throw new ConfigError('GUZHENG_TSA_CA (--tsa-ca) is required with GUZHENG_TSA_URL');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`GUZHENG_TSA_CA ${file}: cannot read it: ${(err as Error).message}`);
  }
  let roots: Uint8Array[];
  try {
    roots = parseCertificatesPem(text);
  } catch (err) {
    throw new ConfigError(`GUZHENG_TSA_CA ${file}: ${(err as Error).message}`);
  }
  if (roots.length === 0) throw new ConfigError(`GUZHENG_TSA_CA ${file}: no certificate (want PEM "-----BEGIN CERTIFICATE-----" blocks)`);
  return roots;
}

/** readWitnessPolicy reads and parses the C2SP tlog-policy file; a bad policy stops the start. */
function readWitnessPolicy(file: string): Policy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`GUZHENG_WITNESS_POLICY ${file}: cannot read it: ${(err as Error).message}`);
  }
  try {
    return parsePolicy(text);
  } catch (err) {
    throw new ConfigError(`GUZHENG_WITNESS_POLICY ${file}: ${(err as Error).message}`);
  }
}

/** stamperView is what the HTTP app sees of the stamper. */
function stamperView(stamper: Stamper, roots: readonly Uint8Array[]): TsaView {
  return {
    roots,
    status: () => stamper.status(),
    requests: () => [...stamper.requests].flatMap(([tsa, byOutcome]) => [...byOutcome].map(([outcome, count]) => ({ tsa, outcome, count }))),
  };
}

/** s3Store builds the mirror's S3 client (no request yet); a setting the SDK refuses is a configuration error. */
function s3Store(m: MirrorConfig): S3ObjectStore {
  try {
    return new S3ObjectStore({ bucket: m.bucket, region: m.region, credentials: m.credentials, ...(m.endpoint !== undefined ? { endpoint: m.endpoint } : {}) });
  } catch (err) {
    throw new ConfigError(`GUZHENG_MIRROR ${m.url}: ${(err as Error).message}`);
  }
}

/**
 * feedMirror tells the mirror of the log's checkpoints: the latest now, then every one published,
 * at once and as signed (notify only records the target; it never waits). With witnesses, the
 * checkpoint is told again once cosigned to quorum, with its cosignatures, so the bucket's
 * checkpoint carries them (a newer checkpoint, already told, wins). Returns the unsubscriber.
 */
function feedMirror(ledger: Ledger, mirror: Mirror, witnessWaitMs: number): () => void {
  const off = ledger.onBlock((p: Published) => {
    const size = p.checkpoint.checkpoint.size;
    mirror.notify({ size, note: p.block.checkpoint });
    const w = ledger.witnesses;
    if (w === undefined || w.count === 0 || size === 0n) return;
    void w
      .waitForQuorum(size, witnessWaitMs)
      .then(async (met) => (met === undefined ? undefined : mirror.notify(await ledger.proving(size - 1n))))
      .catch(() => undefined);
  });
  void ledger.latestProving().then(
    (p) => mirror.notify(p),
    () => undefined,
  );
  return off;
}

/**
 * listenHttp serves `app` on the configured host and port. Slow clients must not hold the server:
 * the headers must arrive within headersTimeoutMs (checked every second, not every 30 s as by
 * default), and a connection on which nothing moves for idleTimeoutMs is closed (a stalled or
 * trickling upload). There is no limit on a whole request: a large document upload that keeps
 * moving may take as long as it needs.
 */
export async function listenHttp(app: RequestListener, config: ServiceConfig): Promise<{ server: Server; url: string }> {
  const server = createServer(
    { headersTimeout: config.headersTimeoutMs, requestTimeout: 0, connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs) },
    app,
  );
  server.timeout = config.idleTimeoutMs;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return { server, url: `http://${host}:${addr.port}` };
}

/** How long a close waits for the mirror's pass in flight (an unreachable store may take longer). */
const MIRROR_STOP_MS = 10_000;

export interface RunningService {
  readonly url: string;
  readonly ledger: Ledger;
  readonly server: Server;
  /** The HJ 212 gateway, when configured. */
  readonly hj212: Hj212Gateway | undefined;
  /** The RFC 3161 stamper, when a TSA is configured. */
  readonly stamper: Stamper | undefined;
  /** The S3 mirror, when GUZHENG_MIRROR is configured. */
  readonly mirror: Mirror | undefined;
  /** The follower of a read replica (GUZHENG_REPLICA_OF); undefined for a primary. */
  readonly replica?: Replica;
  /** Stop accepting, drain, publish, close. Idempotent. */
  close(): Promise<void>;
}

/** startService starts Guzheng per `config`; `say` receives the start-up banner lines. */
export async function startService(config: ServiceConfig, say: (line: string) => void = (l) => process.stderr.write(l + '\n')): Promise<RunningService> {
  // A read replica opens no key and writes no log: src/replica-service.ts.
  if (config.replica !== undefined) return startReplicaService(config, say, listenHttp);
  // The TSA roots and the witness policy are read first: a bad file stops the start as a
  // configuration error before anything is created (no data directory, no key) or opened.
  const tsaRoots = config.tsaUrls.length > 0 ? readTsaRoots(config.tsaCaFile) : [];
  const policy = config.witnessPolicyFile === undefined ? undefined : readWitnessPolicy(config.witnessPolicyFile);
  // The mirror's client is only built here: an unreachable store or refused credentials are the
  // mirror's failures (in /healthz), never a reason not to start.
  const objects = config.mirror === undefined ? undefined : s3Store(config.mirror);
  const paths = dataPaths(config.dataDir);
  const { warning } = ensureDataDir(config.dataDir);
  // The key fixes the log's crypto suite (SPEC.md#crypto-suites): a new log's is GUZHENG_PROFILE's,
  // an existing log keeps its own, and a different GUZHENG_PROFILE stops the start (ConfigError).
  const { key, created } = loadOrCreateLogKey(config.dataDir, config.origin, config.profile);
  const known = readKnownCheckpoint(config.dataDir);
  const checkpointFile = new CheckpointFile(config.dataDir, say);
  let store: LevelStore;
  try {
    // A layout-1 store is upgraded in place first (src/storage/migrate.ts).
    store = await openUpgrading(paths.ledger, { onEvent: say }, say);
  } catch (err) {
    if (err instanceof StoreLockedError) throw new Error(`${err.message}: another "guzheng serve" (or "guzheng keys") is using it; stop it or choose another GUZHENG_DATA`);
    throw err;
  }
  removeStaleTemporaries(config.dataDir);
  let stamper: Stamper | undefined;
  let ledger: Ledger;
  try {
    ledger = await Ledger.open({
      store,
      signerKey: formatSignerKey(key.name, key.seed, key.algorithm),
      checkpointIntervalMs: config.checkpointIntervalMs,
      receiptIntervalMs: config.receiptIntervalMs,
      sequencer: { maxBatchEntries: config.flushMaxEntries, maxWaitMs: config.flushWaitMs },
      ...(known !== undefined ? { knownCheckpoint: known } : {}),
      onPublish: (p) => {
        checkpointFile.save(p.checkpoint.note);
        stamper?.notify();
      },
      ...(policy !== undefined ? { witnessPolicy: policy, witnessTimeoutMs: config.witnessTimeoutMs, onWitnessEvent: say } : {}),
      summaries: { onEvent: say },
    });
  } catch (err) {
    await store.close();
    objects?.close();
    throw err;
  }
  if (config.tsaUrls.length > 0) {
    stamper = new Stamper({
      urls: config.tsaUrls,
      roots: tsaRoots,
      intervalMs: config.tsaIntervalMs,
      timeoutMs: config.tsaTimeoutMs,
      book: ledger.stamps,
      // The imprint is H(checkpoint) with the log's own hash (SPEC.md#what-the-log-stamps): SM3 for gm.
      suite: ledger.suite,
      latest: () => ledger.publisher.latest,
      onEvent: say,
    });
    stamper.start();
  }
  checkpointFile.save(ledger.latest().checkpoint.note);
  let mirror: Mirror | undefined;
  let unfeed: (() => void) | undefined;
  let mirrorView: MirrorView | undefined;
  if (config.mirror !== undefined && objects !== undefined) {
    const m = config.mirror;
    try {
      mirror = await Mirror.open({ store, objects, prefix: m.prefix, verifier: ledger.verifierKey, onEvent: say });
    } catch (err) {
      await stamper?.stop();
      await ledger.close();
      objects.close();
      throw err;
    }
    const opened = mirror;
    mirrorView = {
      strict: m.strict,
      status: () => opened.status(),
      counters: () => opened.counters,
      uploadedSize: () => opened.uploadedSize,
      waitUploaded: (size, timeoutMs) => opened.waitUploaded(size, timeoutMs),
    };
    unfeed = feedMirror(ledger, opened, config.witnessTimeoutMs + 250);
    opened.start();
  }
  const adminKeyAt = await ensureAdminKey(store, config.dataDir, config.adminKey);
  // Started after the app: the admin health view reads it through this (undefined until then).
  let hj212: Hj212Gateway | undefined;
  const app = createApp({
    ledger,
    store,
    config: { maxDocumentBytes: config.maxDocumentBytes, rateLimitPerKey: config.rateLimitPerKey },
    ...(stamper !== undefined ? { tsa: stamperView(stamper, tsaRoots) } : {}),
    ...(policy !== undefined ? { policy } : {}),
    ...(config.publicUrl !== undefined ? { publicUrl: config.publicUrl } : {}),
    ...(mirrorView !== undefined ? { mirror: mirrorView } : {}),
    hj212: {
      status: () => {
        if (hj212 === undefined) return undefined;
        const a = hj212.address;
        return { address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`, connections: hj212.connections, maxConnections: config.hj212MaxConnections };
      },
    },
  });
  const { server, url } = await listenHttp(app, config);
  if (config.hj212Port !== undefined) {
    try {
      hj212 = await Hj212Gateway.start({
        ledger,
        port: config.hj212Port,
        host: config.hj212Host,
        registry: app.registry,
        legacyCrc: config.hj212LegacyCrc,
        idleTimeoutMs: config.hj212IdleTimeoutMs,
        maxConnections: config.hj212MaxConnections,
        badCrcPerMinute: config.hj212BadCrcPerMinute,
      });
    } catch (err) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      unfeed?.();
      await mirror?.stop();
      await ledger.close();
      objects?.close();
      throw err;
    }
  }
  say(`Guzheng (固证) ledger listening on ${url}`);
  say(`  data directory: ${paths.root}${created ? ' (new log created)' : ''}`);
  say(`  log origin:     ${ledger.origin}`);
  say(`  verifier key:   ${ledger.verifierKey}`);
  say(`  crypto suite:   ${ledger.suite.id} (${ledger.suite.label.en}; content digests ${ledger.suite.digestAlg})`);
  say(`  entries:        ${ledger.sequencer.size} (checkpoint every ${config.checkpointIntervalMs} ms when it grows, every ${Math.min(config.receiptIntervalMs, config.checkpointIntervalMs)} ms while a receipt is awaited)`);
  if (hj212 !== undefined) {
    const a = hj212.address;
    say(`  HJ 212 gateway: tcp://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}${config.hj212LegacyCrc.size > 0 ? ` (legacy CRC for ${config.hj212LegacyCrc.size} device(s))` : ''}`);
  }
  if (config.publicUrl !== undefined) say(`  public URL:     ${config.publicUrl} (certificates' QR codes and links)`);
  if (stamper !== undefined) say(`  time stamping:  ${config.tsaUrls.join(', ')} (RFC 3161, at most every ${config.tsaIntervalMs} ms while the log grows; ${tsaRoots.length} pinned root(s) from ${config.tsaCaFile})`);
  if (config.mirror !== undefined) {
    const m = config.mirror;
    say(`  mirror:         ${m.url}${m.endpoint !== undefined ? ` at ${m.endpoint}` : ` (AWS S3, ${m.region})`}, write-once, behind the log${m.strict ? '; strict: receipts wait until it holds their entry' : ''}`);
  }
  if (policy !== undefined) say(`  witnesses:      ${policy.witnesses.map((w) => w.name).join(', ') || 'none'} (quorum ${policy.quorum}, from ${config.witnessPolicyFile})`);
  if (adminKeyAt !== undefined) say(`  admin API key:  registered from ${adminKeyAt}`);
  if (warning !== undefined) say(`  ${warning}`);
  say(`  verify receipts offline with the verifier key above; API docs at ${url}/openapi.json`);
  say(`  console (explorer, cases, anchoring, admin): ${url}/; people sign in with accounts from "guzheng users create"`);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // The gateway first: what devices already sent is anchored and answered while the log runs.
      if (hj212 !== undefined) await hj212.close();
      hj212 = undefined;
      await closeHttpServer(server, app);
      try {
        await stamper?.stop();
        // Before the store closes: the mirror reads it. The checkpoint the close publishes is
        // mirrored at the next start. A pass stuck on an unreachable store is not waited for
        // long: what it wrote is write-once, and its progress is not recorded.
        unfeed?.();
        if (mirror !== undefined) {
          const stopped = mirror.stop().then(() => true);
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), MIRROR_STOP_MS)));
          if (!(await Promise.race([stopped, late]))) say(`mirror: a pass still running after ${MIRROR_STOP_MS} ms; closing without it`);
          clearTimeout(timer);
        }
        await ledger.close();
      } finally {
        objects?.close();
        await checkpointFile.flush();
      }
    })());
  return { url, ledger, server, hj212, stamper, mirror, close };
}
