/**
 * Scenario 13: the S3 mirror (issue 15 item 8, docs/scaling.md). A real Ceph RADOS Gateway on
 * 127.0.0.1 (scripts/ceph-rgw.sh through test/support/rgw.ts: one mon, one memstore OSD, the beast
 * frontend) on the same machine as the service; the service is the real one (`startService`
 * with GUZHENG_MIRROR, in this process, the mirror's defaults: 8 uploads in flight); the load
 * generator runs in a child process (./load.ts). Each figure beside a baseline from the same run:
 *
 * - 13a: mirror throughput at steady state while the service appends at its maximum rate through
 *   1,000-entry batch submits (scenario 3), against the append rate of the same service over the
 *   same seconds. Both are measured between the first and the last mirror pass that completed
 *   in the window (the mirror's progress moves in steps, one per pass): ratio ≥ 1 means it keeps
 *   up. The note has what the mirror wrote per second (objects/s to RGW) and what held it: the
 *   service's event loop (the mirror runs on it: its utilization and delay), where the cores went
 *   (/proc: the service's process, the gateway's daemons, the rest), and what the gateway takes
 *   of the same objects from an idle service (raw PUTs, 8 in flight).
 * - 13b: lag at 10,000 entries/s (100 requests/s of 100 entries, paced, scenario 4's open-loop
 *   generator): single-entry probes every 50 ms from this process, each timed from its 201 to the
 *   bucket's checkpoint covering it (the mirror puts the checkpoint last, after the entry bundle
 *   and tiles, so this is when a reader of the bucket can see the entry); the baseline is the
 *   same probes' time from the 201 to the log's own checkpoint covering them (the checkpoint
 *   interval's lag, which the mirror cannot beat).
 * - 13c: a read replica (`--replica-of`, src/replica-service.ts, in this process) started on the
 *   same bucket once the mirror has caught up; the same inclusion-proof load (random indexes, at
 *   the latest size) against the primary and against the replica, ratio = replica / primary.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig, DEFAULTS } from '../../src/config.js';
import type { Tile } from '../../src/core/tiles.js';
import { attachmentBundleKey, tileKey } from '../../src/mirror/layout.js';
import type { Mirror } from '../../src/mirror/mirror.js';
import { S3ObjectStore } from '../../src/mirror/s3.js';
import type { RunningService } from '../../src/server.js';
import { startRgw, type Rgw } from '../../test/support/rgw.js';
import { entryJson, fmt, log, makeDigests, percentile, since, type Row, type Sizes } from './common.js';
import { ADMIN_KEY, runLoad, startGuzheng } from './http.js';
import type { LoadResult } from './load.js';

const BUCKET = 'bench';
const PREFIX = 'log';
const AUTH = { authorization: `Bearer ${ADMIN_KEY}` };
/** Batch requests in flight for the maximum append rate, as scenario 3. */
const BATCH_CONNECTIONS = 4;
/** 13b: requests per second and entries per request of the paced load (10,000 entries/s). */
const PACED_RATE = 100;
const PACED_BATCH = 100;
/** 13b: a probe entry every this many ms. */
const PROBE_EVERY_MS = 50;
/** The mirror's uploads in flight (MirrorOptions.concurrency default, what the service uses). */
const MIRROR_CONCURRENCY = 8;

/** The durations of one run (quick: < 3 min with the gateway's start; full: < 8 min). */
interface Plan {
  /** 13a: seconds of maximum-rate batch load, and the first seconds left out of the window. */
  readonly maxSeconds: number;
  readonly warmSeconds: number;
  /** 13b: seconds of paced load (after the generator's own second of warm-up). */
  readonly pacedSeconds: number;
  /** 13c: seconds per proof load. */
  readonly proofSeconds: number;
  /** Raw PUTs to the gateway for the object-rate limit. */
  readonly rawPuts: number;
}

const QUICK_PLAN: Plan = { maxSeconds: 10, warmSeconds: 3, pacedSeconds: 12, proofSeconds: 5, rawPuts: 900 };
const FULL_PLAN: Plan = { maxSeconds: 30, warmSeconds: 5, pacedSeconds: 30, proofSeconds: 10, rawPuts: 3000 };

/** One look at the service and its mirror. */
interface Sample {
  readonly t: number;
  /** Entries acknowledged (the sequencer's durable size). */
  readonly appended: bigint;
  /** The size of the bucket's checkpoint. */
  readonly uploaded: bigint;
  readonly uploads: number;
  readonly passes: number;
  readonly lagSeconds: number;
}

/** sampler records a {@link Sample} every `everyMs` until stopped. */
function sampler(svc: RunningService, mirror: Mirror, everyMs: number): { readonly samples: Sample[]; stop(): void } {
  const samples: Sample[] = [];
  const take = () => {
    const c = mirror.counters;
    samples.push({ t: performance.now(), appended: svc.ledger.sequencer.size, uploaded: mirror.uploadedSize, uploads: c.uploads, passes: c.passes, lagSeconds: mirror.status().lagSeconds });
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    samples,
    stop: () => {
      clearInterval(timer);
      take();
    },
  };
}

/** What the mirror did against what the log took, over the same seconds. */
interface Steady {
  readonly seconds: number;
  readonly mirrorRate: number;
  readonly appendRate: number;
  readonly objectsPerSecond: number;
  readonly passes: number;
  readonly entries: number;
  readonly objects: number;
  /** Entries acknowledged but not in the bucket, at the start and the end of the interval. */
  readonly backlogStart: bigint;
  readonly backlogEnd: bigint;
  /** Which passes bound the interval, in words (for the note). */
  readonly how: string;
}

/**
 * steady measures between two completed mirror passes (the bucket's size moves in steps, one per
 * pass; passes run back to back while the mirror is behind, so entries mirrored between two
 * completions over the seconds between them is its rate): the first and the last completed in
 * [from, to]; with fewer than two there (a mirror that falls behind makes longer and longer
 * passes), the last two completed by `to`; failing that, the first two at all (reaching into the
 * catch-up after the load). The log's entries and the objects written over the same seconds.
 */
function steady(samples: readonly Sample[], from: number, to: number): Steady {
  const steps = samples.filter((s, i) => i > 0 && s.uploaded !== (samples[i - 1] as Sample).uploaded);
  const inside = steps.filter((s) => s.t >= from && s.t <= to);
  const byEnd = steps.filter((s) => s.t <= to);
  let a: Sample;
  let b: Sample;
  let how: string;
  if (inside.length >= 2) {
    [a, b, how] = [inside[0] as Sample, inside[inside.length - 1] as Sample, 'between the first and the last pass completed after the warm-up'];
  } else if (byEnd.length >= 2) {
    [a, b, how] = [byEnd[byEnd.length - 2] as Sample, byEnd[byEnd.length - 1] as Sample, 'over the last pass completed under load (fewer than two completed after the warm-up: the passes grew as the mirror fell behind)'];
  } else if (steps.length >= 2) {
    [a, b, how] = [steps[0] as Sample, steps[1] as Sample, 'over the first two passes, the second ending after the load (fewer than two completed under load)'];
  } else {
    throw new Error(`bench: 13: ${steps.length} mirror passes completed while sampled`);
  }
  const seconds = (b.t - a.t) / 1000;
  const entries = Number(b.uploaded - a.uploaded);
  const objects = b.uploads - a.uploads;
  return {
    seconds,
    mirrorRate: entries / seconds,
    appendRate: Number(b.appended - a.appended) / seconds,
    objectsPerSecond: objects / seconds,
    passes: b.passes - a.passes,
    entries,
    objects,
    backlogStart: a.appended - a.uploaded,
    backlogEnd: b.appended - b.uploaded,
    how,
  };
}

/** Clock ticks per second of /proc (USER_HZ: 100 on Linux). */
const TICKS = 100;

/** A reading of where CPU time went: the machine, this process (the service), the gateway's daemons. */
interface CpuMark {
  readonly t: number;
  readonly busy: number;
  readonly self: number;
  readonly gateway: number;
}

/** cpuMark reads /proc (Linux): undefined elsewhere. Seconds of CPU so far. */
function cpuMark(rgw: Rgw): CpuMark | undefined {
  try {
    const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
    const busy = (f.reduce((a, b) => a + b, 0) - (f[3] ?? 0) - (f[4] ?? 0)) / TICKS;
    let gateway = 0;
    for (const d of ['mon', 'osd', 'rgw']) {
      const pid = readFileSync(join(rgw.dir, `${d}.pid`), 'utf8').trim();
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      gateway += (Number(fields[11]) + Number(fields[12])) / TICKS;
    }
    const u = process.cpuUsage();
    return { t: performance.now(), busy, self: (u.user + u.system) / 1e6, gateway };
  } catch {
    return undefined;
  }
}

/** cpuSplit: cores used between two marks, in words: the service's process, the gateway, the rest (the load generator), idle. */
function cpuSplit(a: CpuMark | undefined, b: CpuMark | undefined): string {
  if (a === undefined || b === undefined) return 'CPU split not measured (no /proc)';
  const s = (b.t - a.t) / 1000;
  const busy = (b.busy - a.busy) / s;
  const self = (b.self - a.self) / s;
  const gateway = (b.gateway - a.gateway) / s;
  return `cores busy ${busy.toFixed(2)} of ${cpus().length}: the service's process ${self.toFixed(2)} (its event loop, LevelDB's and libuv's threads, the mirror), the gateway's daemons ${gateway.toFixed(2)}, the rest (the load generator) ${Math.max(0, busy - self - gateway).toFixed(2)}`;
}

/**
 * loopDelay measures the service's event loop (the mirror runs on it) until stopped: its delay
 * (ms) and its utilization (the share of the time it was running code rather than waiting).
 */
function loopDelay(): { stop(): { p50: number; p99: number; utilization: number } } {
  const h = monitorEventLoopDelay({ resolution: 10 });
  const elu = performance.eventLoopUtilization();
  h.enable();
  return {
    stop: () => {
      h.disable();
      return { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, utilization: performance.eventLoopUtilization(elu).utilization };
    },
  };
}

/** loopWords: the loop's figures for a note. */
function loopWords(l: { p50: number; p99: number; utilization: number }): string {
  return `the service's event loop (which the mirror's reads and uploads share) busy ${(l.utilization * 100).toFixed(0)} % of the time, its delay p50 ${l.p50.toFixed(0)} ms, p99 ${l.p99.toFixed(0)} ms`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** loadStarted resolves with the time the log first grew past `from` entries. */
async function loadStarted(svc: RunningService, from: bigint, timeoutMs = 60_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (svc.ledger.sequencer.size <= from) {
    if (performance.now() > deadline) throw new Error(`bench: 13: the load did not start within ${timeoutMs} ms`);
    await sleep(5);
  }
  return performance.now();
}

/** lastGrowth: the time of the last sample at which the log had grown (where the load ended). */
function lastGrowth(samples: readonly Sample[]): number {
  for (let i = samples.length - 1; i > 0; i--) if ((samples[i] as Sample).appended !== (samples[i - 1] as Sample).appended) return (samples[i] as Sample).t;
  return (samples[0] as Sample).t;
}

/** caughtUp waits until the log's size is signed and in the bucket; the seconds it took. */
async function caughtUp(svc: RunningService, mirror: Mirror, timeoutMs: number): Promise<{ size: bigint; seconds: number; at: number }> {
  const t0 = performance.now();
  const size = svc.ledger.sequencer.size;
  await svc.ledger.publisher.waitFor(size, 10_000);
  await mirror.waitUploaded(size, timeoutMs);
  return { size, seconds: since(t0), at: performance.now() };
}

function show(what: string, r: LoadResult): LoadResult {
  log(`${what}: ${Math.round(r.rps)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms${r.errors + r.non2xx > 0 ? `, ${r.errors} errors, ${r.non2xx} non-2xx` : ''}`);
  if (r.requests === 0) throw new Error(`bench: ${what}: no request completed`);
  return r;
}

const clean = (r: LoadResult) => r.errors + r.non2xx === 0;
const n = (x: number | bigint) => Number(x).toLocaleString('en-US');

/** What the gateway took with the service idle: PUTs per second, their mean size, how many. */
interface RawPuts {
  readonly rate: number;
  readonly meanBytes: number;
  readonly puts: number;
}

/**
 * rawPutRate: PUTs per second the gateway takes of the mirror's own objects of 256 entries (the
 * level-0 hash tile, the entry bundle and the attachment bundle of entries 0–255, read back from
 * the bucket), `count` new keys written once, 8 in flight, with the service idle: the object-rate
 * limit the mirror works against on this machine.
 */
async function rawPutRate(rgw: Rgw, count: number): Promise<RawPuts> {
  const s3 = new S3ObjectStore({ bucket: BUCKET, endpoint: rgw.endpoint, region: rgw.region, credentials: rgw });
  try {
    const tiles: Tile[] = [
      { kind: 'hash', level: 0, index: 0n, width: 256 },
      { kind: 'entries', index: 0n, width: 256 },
    ];
    const keys = [...tiles.map((t) => tileKey(PREFIX, t)), attachmentBundleKey(PREFIX, { index: 0n, width: 256 })];
    const bodies = (await Promise.all(keys.map((k) => s3.get(k)))).filter((b): b is Uint8Array => b !== undefined);
    if (bodies.length === 0) throw new Error('bench: 13: the first tiles of the log are not in the bucket');
    const meanBytes = bodies.reduce((s, b) => s + b.length, 0) / bodies.length;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: MIRROR_CONCURRENCY }, async () => {
        for (let i = next++; i < count; i = next++) await s3.putOnce(`raw/${i}`, bodies[i % bodies.length] as Uint8Array, 'application/octet-stream');
      }),
    );
    return { rate: count / since(t0), meanBytes, puts: count };
  } finally {
    s3.close();
  }
}

/**
 * limitWords says what held the mirror's rate, from what was measured: its event loop when that
 * was busy nearly all the time (the mirror runs on the service's loop), else the gateway when the
 * mirror reached most of the gateway's own PUT rate, else neither plainly.
 */
function limitWords(loop: { utilization: number }, objectsPerSecond: number, raw: RawPuts, perTile: number): string {
  const share = objectsPerSecond / raw.rate;
  const gateway = `the gateway took ${Math.round(raw.rate)} PUT/s of the mirror's own objects from an idle service (${raw.puts} PUTs of ${Math.round(raw.meanBytes / 1024)} KiB on average, ${MIRROR_CONCURRENCY} in flight: room for ~${n(Math.round((raw.rate / perTile) * 256))} entries/s at ${perTile.toFixed(1)} objects per 256 entries), and the mirror got ${(share * 100).toFixed(0)} % of that`;
  if (loop.utilization >= 0.95) return `Limit: the service's event loop, busy ${(loop.utilization * 100).toFixed(0)} % with the appends and the mirror's own reads and uploads, not the gateway's object rate: ${gateway}`;
  if (share >= 0.7) return `Limit: the gateway's object rate: ${gateway}`;
  return `Limit: neither the event loop (busy ${(loop.utilization * 100).toFixed(0)} %) nor plainly the gateway: ${gateway}`;
}

/** 13a: the mirror at the service's maximum append rate. */
async function maxRate(svc: RunningService, mirror: Mirror, rgw: Rgw, plan: Plan): Promise<{ row: Row; raw: RawPuts }> {
  const body = JSON.stringify({ entries: makeDigests(1000).map((h, i) => entryJson(i, h)) });
  const from = svc.ledger.sequencer.size;
  const s = sampler(svc, mirror, 20);
  const load = runLoad({ url: `${svc.url}/v1/entries/batch`, kind: 'post', body, headers: AUTH, connections: BATCH_CONNECTIONS, seconds: plan.maxSeconds });
  const started = await loadStarted(svc, from);
  const cpu0 = cpuMark(rgw);
  const delay = loopDelay();
  const r = show('13a POST /v1/entries/batch (mirror on)', await load);
  const cpu = cpuSplit(cpu0, cpuMark(rgw));
  const loop = delay.stop();
  const drain = await caughtUp(svc, mirror, 300_000);
  s.stop();
  const ended = lastGrowth(s.samples);
  const w = steady(s.samples, started + plan.warmSeconds * 1000, ended);
  const atEnd = s.samples.filter((x) => x.t <= ended).at(-1) as Sample;
  const backlog = atEnd.appended - atEnd.uploaded;
  const drainSeconds = (drain.at - ended) / 1000;
  const drainObjects = (s.samples.at(-1) as Sample).uploads - atEnd.uploads;
  log(`13a: window ${w.seconds.toFixed(1)} s: mirror ${Math.round(w.mirrorRate)} entries/s, log ${Math.round(w.appendRate)} entries/s, ${Math.round(w.objectsPerSecond)} objects/s, ${w.passes} pass${w.passes === 1 ? '' : 'es'}; backlog ${w.backlogStart} → ${w.backlogEnd}; ${backlog} behind when the load ended, caught up ${drainSeconds.toFixed(1)} s later (${Math.round(drainObjects / drainSeconds)} objects/s)`);
  log(`13a: under the load: ${cpu}; ${loopWords(loop)}`);
  const raw = await rawPutRate(rgw, plan.rawPuts);
  log(`13a: the gateway alone: ${Math.round(raw.rate)} PUT/s of the mirror's objects (mean ${Math.round(raw.meanBytes)} B), ${MIRROR_CONCURRENCY} in flight`);
  const ratio = w.mirrorRate / w.appendRate;
  const perTile = w.objects / (w.entries / 256);
  const keptUp = ratio >= 0.97;
  const row: Row = {
    scenario: '13 mirror',
    metric: `mirror throughput to Ceph RGW at steady state while the service appends at its maximum rate (POST /v1/entries/batch, 1,000 entries per request, ${BATCH_CONNECTIONS} connections, ${plan.maxSeconds} s)`,
    value: w.mirrorRate,
    unit: 'entries/s',
    baseline: { name: 'the append rate of the same service, same seconds', value: w.appendRate, unit: 'entries/s' },
    ratio,
    goal: 'keeps up: ratio ≥ 1 (≥ 0.97: the bucket moves one pass at a time)',
    met: keptUp && clean(r),
    note:
      `${w.seconds.toFixed(1)} s ${w.how} (warm-up ${plan.warmSeconds} s): ${n(w.entries)} entries in ${w.passes} pass${w.passes === 1 ? '' : 'es'} (${n(Math.round(w.entries / Math.max(1, w.passes)))} per pass), ${n(w.objects)} objects = ${Math.round(w.objectsPerSecond)} objects/s (${perTile.toFixed(1)} per 256 entries with the partial tiles of each pass, ${MIRROR_CONCURRENCY} uploads in flight); ` +
      `entries not yet in the bucket ${n(w.backlogStart)} → ${n(w.backlogEnd)}; when the load ended ${n(backlog)} behind, in the bucket ${drainSeconds.toFixed(1)} s later (the mirror with the service idle: ${n(Math.round(Number(backlog) / drainSeconds))} entries/s, ${Math.round(drainObjects / drainSeconds)} objects/s; ${n(drain.size)} entries in all). ` +
      `Under the load: ${cpu}; ${loopWords(loop)}. ` +
      `${limitWords(loop, w.objectsPerSecond, raw, perTile)}; ` +
      `the batch load itself: p50 ${r.p50} ms, p99 ${r.p99} ms per request${clean(r) ? '' : `, ${r.errors} errors, ${r.non2xx} non-2xx`}`,
  };
  return { row, raw };
}

/** 13b: lag at 10,000 entries/s. */
async function lagAt10k(svc: RunningService, mirror: Mirror, rgw: Rgw, plan: Plan, raw: RawPuts): Promise<Row> {
  const body = JSON.stringify({ entries: makeDigests(PACED_BATCH).map((h, i) => entryJson(i, h)) });
  const probeBody = JSON.stringify(entryJson(1, makeDigests(1)[0] as string));
  const from = svc.ledger.sequencer.size;
  const s = sampler(svc, mirror, 20);
  const load = runLoad({ url: `${svc.url}/v1/entries/batch`, kind: 'post', body, headers: AUTH, connections: 32, seconds: plan.pacedSeconds, rate: PACED_RATE });
  const started = await loadStarted(svc, from);
  // After the generator's second of warm-up (and half a second more), until half a second before it stops.
  await sleep(1500);
  const stopAt = started + (1 + plan.pacedSeconds) * 1000 - 500;
  const lags: Array<{ checkpoint: number; mirror: number }> = [];
  let probeErrors = 0;
  const probe = async (): Promise<void> => {
    try {
      const res = await fetch(`${svc.url}/v1/entries`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: probeBody });
      const t201 = performance.now();
      if (res.status !== 201) {
        probeErrors++;
        await res.arrayBuffer();
        return;
      }
      const size = BigInt(((await res.json()) as { index: string }).index) + 1n;
      const [checkpointAt, mirrorAt] = await Promise.all([
        svc.ledger.publisher.waitFor(size, 60_000).then(() => performance.now()),
        mirror.waitUploaded(size, 300_000).then(() => performance.now()),
      ]);
      lags.push({ checkpoint: Math.max(0, checkpointAt - t201) / 1000, mirror: (mirrorAt - t201) / 1000 });
    } catch {
      probeErrors++;
    }
  };
  const probes: Array<Promise<void>> = [];
  const cpu0 = cpuMark(rgw);
  const delay = loopDelay();
  const firstProbe = performance.now();
  while (performance.now() < stopAt) {
    probes.push(probe());
    await sleep(PROBE_EVERY_MS);
  }
  const lastProbe = performance.now();
  const cpu = cpuSplit(cpu0, cpuMark(rgw));
  const loop = delay.stop();
  const r = show(`13b POST /v1/entries/batch, ${PACED_BATCH} entries, paced at ${PACED_RATE} req/s`, await load);
  await Promise.all(probes);
  const drain = await caughtUp(svc, mirror, 300_000);
  s.stop();
  const ended = lastGrowth(s.samples);
  const w = steady(s.samples, firstProbe, lastProbe);
  const status = s.samples.filter((x) => x.t >= firstProbe && x.t <= lastProbe).map((x) => x.lagSeconds).sort((a, b) => a - b);
  if (lags.length === 0) throw new Error(`bench: 13b: no probe completed (${probeErrors} failed)`);
  const m = lags.map((l) => l.mirror).sort((a, b) => a - b);
  const c = lags.map((l) => l.checkpoint).sort((a, b) => a - b);
  const mp99 = percentile(m, 99);
  const cp99 = percentile(c, 99);
  const rate = r.rps * PACED_BATCH;
  const keptUp = w.mirrorRate / w.appendRate >= 0.97;
  log(`13b: ${cpu}; ${loopWords(loop)}`);
  log(`13b: ${Math.round(rate)} entries/s; ${lags.length} probes: mirror lag p50 ${percentile(m, 50).toFixed(3)} s, p99 ${mp99.toFixed(3)} s, max ${(m.at(-1) as number).toFixed(3)} s; checkpoint p50 ${percentile(c, 50).toFixed(3)} s, p99 ${cp99.toFixed(3)} s; mirror ${Math.round(w.mirrorRate)} vs log ${Math.round(w.appendRate)} entries/s, ${Math.round(w.objectsPerSecond)} objects/s`);
  return {
    scenario: '13 mirror',
    metric: `lag at ${fmt(rate)} entries/s (target 10,000: ${PACED_BATCH}-entry batches paced at ${PACED_RATE} req/s, ${plan.pacedSeconds} s): from a probe entry's 201 to the bucket's checkpoint covering it, p99`,
    value: mp99,
    unit: 's p99',
    baseline: { name: 'the same probes: from the 201 to the log\'s own checkpoint covering them', value: cp99, unit: 's p99' },
    ratio: cp99 / mp99,
    goal: 'keeps up at 10k entries/s (lag bounded)',
    met: keptUp && rate >= 9_500 && clean(r) && probeErrors === 0,
    note:
      `${lags.length} probes (a single-entry POST every ${PROBE_EVERY_MS} ms from the bench process${probeErrors > 0 ? `, ${probeErrors} failed` : ''}): mirror p50 ${percentile(m, 50).toFixed(3)} s, p90 ${percentile(m, 90).toFixed(3)} s, max ${(m.at(-1) as number).toFixed(3)} s; checkpoint (every ${DEFAULTS.checkpointIntervalMs} ms) p50 ${percentile(c, 50).toFixed(3)} s. ` +
      `/healthz lagSeconds (mirror.status(), every 20 ms): p50 ${percentile(status, 50).toFixed(3)} s, p99 ${percentile(status, 99).toFixed(3)} s. ` +
      `Over ${w.seconds.toFixed(1)} s ${w.how}: mirror ${n(Math.round(w.mirrorRate))} entries/s against the log's ${n(Math.round(w.appendRate))} (${(w.mirrorRate / w.appendRate).toFixed(2)}), ${w.passes} pass${w.passes === 1 ? '' : 'es'} (${n(Math.round(w.entries / Math.max(1, w.passes)))} entries each), ${Math.round(w.objectsPerSecond)} objects/s; ` +
      `behind ${n(w.backlogStart)} → ${n(w.backlogEnd)} entries; all in the bucket ${((drain.at - ended) / 1000).toFixed(1)} s after the load. ` +
      `${keptUp ? '' : 'The mirror fell behind at this rate, so its lag grew through the run: the p99 is set by the run\'s length, not a steady state. '}Meanwhile: ${cpu}; ${loopWords(loop)}. ${limitWords(loop, w.objectsPerSecond, raw, w.objects / (w.entries / 256))}. ` +
      `The paced load: p50 ${r.p50} ms, p99 ${r.p99} ms per request${clean(r) ? '' : `, ${r.errors} errors, ${r.non2xx} non-2xx`}. A pass follows the checkpoint, so the mirror's lag is the checkpoint's plus a pass (its reads, ~${(w.objects / Math.max(1, w.passes)).toFixed(0)} PUTs ${MIRROR_CONCURRENCY} at a time, then the checkpoint PUT) plus the wait for the pass in flight`,
  };
}

/** 13c: inclusion proofs on a read replica against the primary. */
async function replicaProofs(svc: RunningService, mirror: Mirror, rgw: Rgw, plan: Plan): Promise<Row> {
  const { size } = await caughtUp(svc, mirror, 300_000);
  const replicaConfig = loadConfig({
    GUZHENG_REPLICA_OF: `s3://${BUCKET}/${PREFIX}`,
    GUZHENG_REPLICA_KEY: svc.ledger.verifierKey,
    GUZHENG_MIRROR_ENDPOINT: rgw.endpoint,
    AWS_ACCESS_KEY_ID: rgw.accessKeyId,
    AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey,
    AWS_REGION: rgw.region,
  }).replica;
  if (replicaConfig === undefined) throw new Error('bench: 13c: no replica configuration');
  const t0 = performance.now();
  const rep = await startGuzheng('mirror-replica', { replica: replicaConfig });
  try {
    const catchUp = since(t0);
    const verified = rep.replica?.verifiedSize ?? 0n;
    log(`13c: replica started and caught up with ${verified} entries in ${catchUp.toFixed(1)} s (${Math.round(Number(verified) / catchUp)} entries/s)`);
    if (verified !== size) throw new Error(`bench: 13c: the replica holds ${verified} entries, the primary ${size}`);
    const proofs = (url: string, connections: number, seconds: number) => runLoad({ url, kind: 'inclusion', size: Number(size), connections, seconds });
    // Warm-up of both (JIT, the node caches): not measured.
    await proofs(svc.url, 16, 2);
    await proofs(rep.url, 16, 2);
    // ABBA, so drift of a shared machine falls on both.
    const p16 = show('13c primary inclusion, 16 connections', await proofs(svc.url, 16, plan.proofSeconds));
    const r16 = show('13c replica inclusion, 16 connections', await proofs(rep.url, 16, plan.proofSeconds));
    const r64 = show('13c replica inclusion, 64 connections', await proofs(rep.url, 64, plan.proofSeconds));
    const p64 = show('13c primary inclusion, 64 connections', await proofs(svc.url, 64, plan.proofSeconds));
    const h = rep.replica?.status();
    return {
      scenario: '13 mirror',
      metric: `inclusion proofs/s on a read replica (--replica-of the bucket) at ${n(size)} entries: GET /v1/proof/inclusion, random index, 64 connections, ${plan.proofSeconds} s`,
      value: r64.rps,
      unit: 'proofs/s',
      baseline: { name: 'the primary, same load, same run', value: p64.rps, unit: 'proofs/s' },
      ratio: r64.rps / p64.rps,
      note:
        `16 connections: replica ${n(Math.round(r16.rps))}, primary ${n(Math.round(p16.rps))} proofs/s (${(r16.rps / p16.rps).toFixed(2)}); p99 at 64: replica ${r64.p99} ms, primary ${p64.p99} ms. ` +
        `Both in the bench process (the other idle), each from its own LevelDB with the same code; the load generator in a child process on the same ${cpus().length} cores, with the gateway's daemons idle. ` +
        `The replica started from an empty directory and verified the whole log from the bucket first: ${n(verified)} entries in ${catchUp.toFixed(1)} s (${n(Math.round(Number(verified) / catchUp))} entries/s; state ${h?.state ?? '?'}, lag ${h?.lagEntries ?? '?'} entries)` +
        `${[p16, r16, r64, p64].every(clean) ? '' : '; errors in the loads'}`,
    };
  } finally {
    await rep.close();
  }
}

/** benchMirror runs scenario 13 (its rows 13a, 13b and 13c) against a gateway it starts and stops. */
export async function benchMirror(sizes: Sizes): Promise<Row[]> {
  const plan = sizes.quick ? QUICK_PLAN : FULL_PLAN;
  const t0 = performance.now();
  const rgw = await startRgw();
  log(`13: Ceph RGW at ${rgw.endpoint} (cold start ${rgw.startSeconds.toFixed(1)} s)`);
  let svc: RunningService | undefined;
  try {
    await rgw.bucket(BUCKET);
    const mirrorConfig = loadConfig({
      GUZHENG_MIRROR: `s3://${BUCKET}/${PREFIX}`,
      GUZHENG_MIRROR_ENDPOINT: rgw.endpoint,
      AWS_ACCESS_KEY_ID: rgw.accessKeyId,
      AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey,
      AWS_REGION: rgw.region,
    }).mirror;
    if (mirrorConfig === undefined) throw new Error('bench: 13: no mirror configuration');
    svc = await startGuzheng('mirror-primary', { mirror: mirrorConfig });
    const mirror = svc.mirror;
    if (mirror === undefined) throw new Error('bench: 13: the service has no mirror');
    // A first pass (the bucket's checkpoint checked, the S3 client's sockets open): not measured.
    const first = await fetch(`${svc.url}/v1/entries/batch`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ entries: makeDigests(300).map((h, i) => entryJson(i, h)) }) });
    if (first.status !== 201) throw new Error(`bench: 13: first batch: ${first.status} ${await first.text()}`);
    await caughtUp(svc, mirror, 60_000);
    const rows: Row[] = [];
    const max = await maxRate(svc, mirror, rgw, plan);
    rows.push(max.row);
    rows.push(await lagAt10k(svc, mirror, rgw, plan, max.raw));
    rows.push(await replicaProofs(svc, mirror, rgw, plan));
    const c = mirror.counters;
    log(`13: done in ${since(t0).toFixed(0)} s; the mirror wrote ${c.uploads} objects in ${c.passes} passes (${c.failedPasses} failed, ${c.present} found present)`);
    if (c.failedPasses === 0) return rows;
    return rows.map((r) => ({ ...r, note: `${r.note ?? ''}; ${c.failedPasses} mirror passes failed and were retried (${mirror.status().lastError ?? 'recovered'})` }));
  } finally {
    await svc?.close();
    await rgw.stop();
  }
}
