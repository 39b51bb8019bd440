/**
 * The explorer's and the officer's reads (docs/console-api.md "Explorer and officer reads",
 * docs/api.md#explorer): search, statistics from the summaries kept beside the log
 * (src/log/summaries.ts), the case list, and the admin's health view. Every answer is bounded:
 * searches return at most 50 results, statistics read one bounded range of a record table, the
 * case list one page of one. The live feed, GET /v1/events, is in explorer-events.ts.
 */
import { z } from 'zod';
import { MAX_UINT64, fromHex } from '../../core/bytes.js';
import { caseIdSchema } from '../../core/entry/index.js';
import { MAX_PAGE } from '../../log/ledger.js';
import type { Summaries } from '../../log/summaries.js';
import { DAY_MS, HOUR_MS, floorHour, floorShanghaiDay, hourKeyAt, hourStart, parseInstant, shanghaiDayAt } from '../../log/summaries-time.js';
import type { AppContext } from '../context.js';
import { HttpProblem } from '../errors.js';
import { defineRoute, sendJson, type Route } from '../route.js';
import { decimalString, hashHex, limitParam } from '../schemas.js';
import { BlockEvents, eventRoutes } from './explorer-events.js';
import { healthReport, healthSchema } from './ops.js';

/** Most results of one search. */
export const MAX_SEARCH_RESULTS = 50;
/** Longest search text, characters (after trimming). */
export const MAX_QUERY_LENGTH = 200;
/** Widest range of hour buckets (31 days) and of day buckets (400 days). */
export const MAX_HOURS = 31 * 24;
export const MAX_DAYS = 400;
/** Widest range of the HJ 212 statistics (days), and most device-day rows read for it. */
export const MAX_HJ212_DAYS = 31;
export const MAX_HJ212_ROWS = 50_000;

const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;
const EVIDENCE_NUMBER = /^GZ-(0|[1-9][0-9]{0,19})-([0-9a-f]{12})$/i;
const BLOCK_QUERY = /^(?:#\s*|block\s+|区块\s*)(0|[1-9][0-9]{0,19})$/i;
const HEX_64 = /^[0-9a-f]{64}$/i;

const searchResultSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('entry'),
    index: decimalString,
    leafHash: hashHex,
    match: z.enum(['digest', 'leafHash', 'index', 'evidenceNumber']).describe('what matched: the content digest, the leaf hash, the index, or the evidence number'),
  }),
  z.object({ kind: z.literal('block'), height: decimalString, match: z.literal('height') }),
]);

/** Zod schema of GET /v1/search. */
export const searchSchema = z.object({ query: z.string(), results: z.array(searchResultSchema).max(MAX_SEARCH_RESULTS) });

const bucketSchema = z.object({
  start: z.string().describe('start of the bucket: RFC 3339, `…Z` for an hour (UTC), `…T00:00:00+08:00` for a day (Asia/Shanghai)'),
  entries: z.int().describe('entries sealed in blocks signed in the bucket'),
  blocks: z.int().describe('blocks signed in the bucket'),
});

/** Zod schema of GET /v1/stats/entries. */
export const entryStatsSchema = z.object({
  by: z.enum(['hour', 'day']),
  from: z.string().describe('start of the first bucket'),
  to: z.string().describe('end of the last bucket (exclusive)'),
  buckets: z.array(bucketSchema).describe('every bucket of the range, in order, empty ones included'),
  upTo: decimalString.describe('the counts cover the blocks below this height (the summary follows the log within about a second)'),
});

/** Zod schema of GET /v1/stats/hj212. */
export const hj212StatsSchema = z.object({
  from: z.string().describe('start of the first day (00:00 Asia/Shanghai)'),
  to: z.string().describe('end of the last day (exclusive)'),
  devices: z.array(
    z.object({
      mn: z.string().describe("the device's MN (empty for packets without a usable one)"),
      packets: z.int().describe('packets anchored in the range'),
      days: z.array(z.object({ day: z.string().describe('YYYY-MM-DD, Asia/Shanghai'), packets: z.int() })).describe('days with packets, in order'),
    }),
  ),
  truncated: z.boolean().optional().describe(`true when the range held more than ${MAX_HJ212_ROWS} device-days: narrow it`),
  upTo: decimalString.describe('the counts cover the entries below this index'),
});

const caseRowSchema = z.object({
  caseId: z.string(),
  entries: z.int().describe('entries in the case'),
  firstIndex: decimalString,
  lastIndex: decimalString,
  lastAt: z.string().describe('receive time of its last entry'),
});

/** Zod schema of GET /v1/cases. */
export const caseListSchema = z.object({
  cases: z.array(caseRowSchema),
  next: z.string().optional().describe('pass it as `before` for the next page; absent on the last page'),
  upTo: decimalString.describe('the list covers the entries below this index'),
});

const hj212HealthSchema = z.object({
  state: z.enum(['off', 'running']),
  address: z.string().optional(),
  connections: z.int().optional(),
  maxConnections: z.int().optional(),
});

const summariesHealthSchema = z.object({
  state: z.enum(['off', 'loading', 'catching-up', 'current', 'stopped', 'failed']),
  blocks: z.object({ upTo: decimalString, behind: decimalString }).optional().describe('the hour buckets cover blocks below upTo; behind: published blocks not counted yet'),
  entries: z.object({ upTo: decimalString, behind: decimalString }).optional().describe('the case list and HJ 212 counts cover entries below upTo; behind: entries not counted yet'),
  lastError: z.string().optional(),
  lastErrorAt: z.string().optional(),
});

/** Zod schema of GET /v1/admin/health. */
export const adminHealthSchema = healthSchema.extend({
  hj212: hj212HealthSchema.describe('the HJ 212 gateway of this process'),
  summaries: summariesHealthSchema.describe('the explorer summaries (statistics, case list): how far behind the log they are'),
  events: z.object({ clients: z.int() }).describe('open GET /v1/events streams'),
  checkpoint: z
    .object({ size: decimalString, height: decimalString, time: z.string(), ageSeconds: z.number() })
    .describe("the latest signed checkpoint: its size, its block's height and signed time, and how long ago that was (a growing age on a busy log means publishing is stuck)"),
});

/** A range bound of the statistics: a date (00:00 Asia/Shanghai) or an RFC 3339 time with an offset. */
const instantParam = (what: string) =>
  z
    .string()
    .max(40)
    .refine((s) => parseInstant(s) !== undefined, 'want a date YYYY-MM-DD (00:00 Asia/Shanghai) or an RFC 3339 time with Z or an offset, 1970-9999')
    .transform((s) => parseInstant(s) as number)
    .describe(what);

function summariesOf(ctx: AppContext): Summaries {
  const s = ctx.ledger.summaries;
  if (s === undefined) throw new HttpProblem(503, 'UNAVAILABLE', 'this log keeps no summaries (they are off)');
  return s;
}

/** The UTC hour key's bucket start, `YYYY-MM-DDTHH:00:00Z`. */
function hourLabel(ms: number): string {
  return `${hourKeyAt(ms)}:00:00Z`;
}

/** An Asia/Shanghai day's bucket start, `YYYY-MM-DDT00:00:00+08:00`. */
function dayLabel(ms: number): string {
  return `${shanghaiDayAt(ms)}T00:00:00+08:00`;
}

/** The explorer routes of one app (the event feed included). */
export function explorerRoutes(ctx: AppContext): Route[] {
  const { ledger } = ctx;
  const events = ctx.events ?? new BlockEvents(ledger);
  const suite = ledger.suite;

  type Result = z.infer<typeof searchResultSchema>;
  const entryAt = async (index: bigint, match: 'digest' | 'leafHash' | 'index' | 'evidenceNumber'): Promise<Result | undefined> => {
    if (index >= ledger.sequencer.size) return undefined;
    const [e] = await ledger.listEntries(index, 1);
    return e === undefined ? undefined : { kind: 'entry', index: index.toString(), leafHash: e.leafHash, match };
  };
  const blockAt = (height: bigint): Result | undefined => (height <= ledger.latest().block.height ? { kind: 'block', height: height.toString(), match: 'height' } : undefined);
  const decimal = (s: string): bigint | undefined => {
    const n = BigInt(s);
    return n <= MAX_UINT64 ? n : undefined;
  };

  async function search(q: string): Promise<Result[]> {
    const evidence = EVIDENCE_NUMBER.exec(q);
    if (evidence !== null) {
      const index = decimal(evidence[1] as string);
      const e = index === undefined ? undefined : await entryAt(index, 'evidenceNumber');
      // The number's 12 hex digits are the leaf hash's first: another entry's number finds nothing.
      return e !== undefined && e.kind === 'entry' && e.leafHash.startsWith((evidence[2] as string).toLowerCase()) ? [e] : [];
    }
    const block = BLOCK_QUERY.exec(q);
    if (block !== null) {
      const height = decimal(block[1] as string);
      const b = height === undefined ? undefined : blockAt(height);
      return b === undefined ? [] : [b];
    }
    if (HEX_64.test(q)) {
      const hex = q.toLowerCase();
      // A content digest of this log's algorithm (sha256, or sm3 on a gm log), and a leaf hash.
      const [byDigest, byLeaf] = await Promise.all([ctx.store.lookupDigest(suite.digestAlg, hex), ctx.store.lookupLeafHash(fromHex(hex, 32))]);
      const found = [...byDigest.slice(0, MAX_SEARCH_RESULTS).map((i) => [i, 'digest'] as const), ...byLeaf.slice(0, MAX_SEARCH_RESULTS).map((i) => [i, 'leafHash'] as const)];
      const seen = new Set<bigint>();
      const unique = found.filter(([i]) => !seen.has(i) && (seen.add(i), true)).slice(0, MAX_SEARCH_RESULTS);
      const out = await Promise.all(unique.map(([i, match]) => entryAt(i, match)));
      return out.filter((r): r is Result => r !== undefined);
    }
    if (DECIMAL.test(q)) {
      const n = decimal(q);
      if (n === undefined) return [];
      const both = [await entryAt(n, 'index'), blockAt(n)];
      return both.filter((r): r is Result => r !== undefined);
    }
    return [];
  }

  return [
    ...eventRoutes(events),
    defineRoute({
      method: 'get',
      path: '/v1/search',
      operationId: 'search',
      tag: 'explorer',
      summary: 'Find entries and blocks by content digest, leaf hash, index, height or evidence number',
      description: `q (trimmed, at most ${MAX_QUERY_LENGTH} characters) is one of: 64 hex digits (a content digest of this log's algorithm, ${suite.digestAlg}, and a leaf hash); a decimal (an entry index and a block height, where they exist); \`#123\`, \`block 123\` or \`区块 123\` (a block height); an evidence number \`GZ-<index>-<12 hex>\` (the entry, if the 12 hex digits begin its leaf hash). Anything else finds nothing. At most ${MAX_SEARCH_RESULTS} results.`,
      access: 'public',
      query: z.strictObject({
        q: z
          .string()
          .transform((s) => s.trim())
          .pipe(z.string().min(1, 'empty, want a digest, leaf hash, index, height or evidence number').max(MAX_QUERY_LENGTH, `want at most ${MAX_QUERY_LENGTH} characters`))
          .describe('what to look for'),
      }),
      responses: { 200: { description: 'what matched (possibly nothing)', schema: searchSchema } },
      errors: [400],
      async handle({ query, res }) {
        sendJson(res, 200, { query: query.q, results: await search(query.q) }, { 'Cache-Control': 'no-cache' });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/stats/entries',
      operationId: 'entryStats',
      tag: 'explorer',
      summary: 'Entries and blocks per hour (UTC) or per day (Asia/Shanghai), from the per-hour summary',
      description: `Buckets whose start is in [from, to): from and to are dates (00:00 Asia/Shanghai) or RFC 3339 times with an offset. Defaults: to = now, from = 48 hours (by=hour) or 30 days (by=day) before. At most ${MAX_HOURS} hour buckets or ${MAX_DAYS} day buckets. A block counts in the hour (the day) its checkpoint was signed. Read from the record table stats-hour, never from the log.`,
      access: 'public',
      query: z.strictObject({
        by: z.enum(['hour', 'day']).optional().describe('bucket size (default hour)'),
        from: instantParam('start of the range').optional(),
        to: instantParam('end of the range (exclusive; default now)').optional(),
      }),
      responses: { 200: { description: 'the buckets', schema: entryStatsSchema } },
      errors: [400, 503],
      async handle({ query, res }) {
        const hours = summariesOf(ctx).hours;
        const by = query.by ?? 'hour';
        const to = query.to ?? Date.now();
        const [unit, max, floor] = by === 'hour' ? [HOUR_MS, MAX_HOURS, floorHour] : [DAY_MS, MAX_DAYS, floorShanghaiDay];
        const end = floor(to - 1) + unit;
        const start = floor(query.from ?? end - (by === 'hour' ? 48 : 30) * unit);
        if (start >= end) throw new HttpProblem(400, 'INPUT_INVALID', 'from: want a time before to', { field: 'from' });
        if ((end - start) / unit > max) throw new HttpProblem(400, 'INPUT_INVALID', `from: the range holds ${(end - start) / unit} ${by}s, want at most ${max}`, { field: 'from' });
        const covered = hours.covered;
        const rows = await hours.hours(hourKeyAt(start), hourKeyAt(end), MAX_DAYS * 24);
        const counts = new Map<number, { entries: number; blocks: number }>();
        for (const [key, c] of rows) {
          const at = floor(hourStart(key));
          const b = counts.get(at);
          counts.set(at, b === undefined ? { ...c } : { entries: b.entries + c.entries, blocks: b.blocks + c.blocks });
        }
        const label = by === 'hour' ? hourLabel : dayLabel;
        const buckets = [];
        for (let at = start; at < end; at += unit) buckets.push({ start: label(at), entries: counts.get(at)?.entries ?? 0, blocks: counts.get(at)?.blocks ?? 0 });
        sendJson(res, 200, { by, from: label(start), to: label(end), buckets, upTo: covered.toString() }, { 'Cache-Control': 'no-cache' });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/stats/hj212',
      operationId: 'hj212Stats',
      tag: 'explorer',
      summary: 'HJ 212 packets per device per day (Asia/Shanghai), from the per-device summary',
      description: `Days whose start is in [from, to) (dates, or RFC 3339 times with an offset). Defaults: to = now, from = 7 days before. At most ${MAX_HJ212_DAYS} days. A packet counts on the day the log received it. Devices with the most packets first. Read from the record table stats-hj212, never from the log.`,
      access: 'public',
      query: z.strictObject({ from: instantParam('start of the range').optional(), to: instantParam('end of the range (exclusive; default now)').optional() }),
      responses: { 200: { description: 'the devices', schema: hj212StatsSchema } },
      errors: [400, 503],
      async handle({ query, res }) {
        const hj212 = summariesOf(ctx).hj212;
        const end = floorShanghaiDay((query.to ?? Date.now()) - 1) + DAY_MS;
        const start = floorShanghaiDay(query.from ?? end - 7 * DAY_MS);
        if (start >= end) throw new HttpProblem(400, 'INPUT_INVALID', 'from: want a time before to', { field: 'from' });
        if ((end - start) / DAY_MS > MAX_HJ212_DAYS) throw new HttpProblem(400, 'INPUT_INVALID', `from: the range holds ${(end - start) / DAY_MS} days, want at most ${MAX_HJ212_DAYS}`, { field: 'from' });
        const covered = hj212.covered;
        const { rows, truncated } = await hj212.days(shanghaiDayAt(start), shanghaiDayAt(end), MAX_HJ212_ROWS);
        const devices = new Map<string, { mn: string; packets: number; days: Array<{ day: string; packets: number }> }>();
        for (const r of rows) {
          let d = devices.get(r.mn);
          if (d === undefined) devices.set(r.mn, (d = { mn: r.mn, packets: 0, days: [] }));
          d.packets += r.packets;
          d.days.push({ day: r.day, packets: r.packets });
        }
        const list = [...devices.values()].sort((a, b) => b.packets - a.packets || (a.mn < b.mn ? -1 : a.mn > b.mn ? 1 : 0));
        sendJson(res, 200, { from: dayLabel(start), to: dayLabel(end), devices: list, ...(truncated ? { truncated } : {}), upTo: covered.toString() }, { 'Cache-Control': 'no-cache' });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/cases',
      operationId: 'listCases',
      tag: 'cases',
      summary: 'Cases with their counts, most recently touched first (or by case id under a prefix)',
      description: `Up to limit (default 50, at most ${MAX_PAGE}) cases. Without prefix: most recently touched first (by the index of their last entry). With prefix: the cases whose id starts with it, in case id order (UTF-8). next, when present, is the cursor of the next page: pass it as before. Read from the record tables cases and cases-recent, one range per page.`,
      access: ['submit', 'audit'],
      query: z.strictObject({
        prefix: caseIdSchema.optional().describe('only cases whose id starts with this'),
        before: z.string().max(600).optional().describe('cursor: the next of the previous page'),
        limit: limitParam(MAX_PAGE, 'page size (default 50)').optional(),
      }),
      responses: { 200: { description: 'a page of cases', schema: caseListSchema } },
      errors: [400, 503],
      async handle({ query, res }) {
        const cases = summariesOf(ctx).cases;
        const limit = query.limit ?? 50;
        const covered = cases.covered;
        let page;
        if (query.prefix === undefined) {
          const before = query.before;
          if (before !== undefined && (!DECIMAL.test(before) || BigInt(before) > MAX_UINT64)) throw new HttpProblem(400, 'INPUT_INVALID', 'before: want the next of the previous page (a canonical decimal)', { field: 'before' });
          page = await cases.recent(before === undefined ? undefined : BigInt(before), limit);
        } else {
          const after = query.before;
          if (after !== undefined && (!after.startsWith(query.prefix) || !caseIdSchema.safeParse(after).success)) {
            throw new HttpProblem(400, 'INPUT_INVALID', 'before: want the next of the previous page (a case id starting with prefix)', { field: 'before' });
          }
          page = await cases.byPrefix(query.prefix, after, limit);
        }
        const last = page.cases[page.cases.length - 1];
        const next = page.more && last !== undefined ? (query.prefix === undefined ? last.lastIndex.toString() : last.caseId) : undefined;
        sendJson(
          res,
          200,
          {
            cases: page.cases.map((c) => ({ caseId: c.caseId, entries: c.entries, firstIndex: c.firstIndex.toString(), lastIndex: c.lastIndex.toString(), lastAt: c.lastAt })),
            ...(next !== undefined ? { next } : {}),
            upTo: covered.toString(),
          },
          { 'Cache-Control': 'no-store' },
        );
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/admin/health',
      operationId: 'adminHealth',
      tag: 'operations',
      summary: 'GET /healthz, plus the HJ 212 gateway, the summaries\' lag and the event streams',
      description: 'Always 200: status says ok or degraded, as /healthz does (which answers 503 when degraded).',
      access: ['admin'],
      responses: { 200: { description: 'health', schema: adminHealthSchema } },
      handle({ res }) {
        const { body } = healthReport(ctx);
        const gw = ctx.hj212?.status();
        const s = ledger.summaries?.status();
        const latest = ledger.latest();
        sendJson(
          res,
          200,
          {
            ...body,
            hj212: gw === undefined ? { state: 'off' } : { state: 'running', ...gw },
            summaries:
              s === undefined
                ? { state: 'off' }
                : {
                    state: s.state,
                    blocks: { upTo: s.blocks.covered.toString(), behind: s.blocks.behind.toString() },
                    entries: { upTo: s.entries.covered.toString(), behind: s.entries.behind.toString() },
                    ...(s.lastError !== undefined ? { lastError: s.lastError, lastErrorAt: s.lastErrorAt } : {}),
                  },
            events: { clients: events.clients },
            checkpoint: { size: latest.checkpoint.checkpoint.size.toString(), height: latest.block.height.toString(), time: latest.block.time, ageSeconds: Math.max(0, Math.round((Date.now() - Date.parse(latest.block.time)) / 100) / 10) },
          },
          { 'Cache-Control': 'no-store' },
        );
      },
    }),
  ];
}
