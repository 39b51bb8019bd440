/**
 * HJ 212 devices: the packets a data logger sent, as anchored by the gateway (src/ingest/hj212),
 * each with its raw bytes and its receipt, so any packet can be proven byte for byte.
 * See docs/hj212.md#proving-a-packet.
 */
import { z } from 'zod';
import { toBase64 } from '../../core/bytes.js';
import { entrySchema, isRfc3339, type Entry } from '../../core/entry/index.js';
import { hj212MnSchema } from '../../core/entry/hj212.js';
import { MAX_PAGE, SECONDARY } from '../../log/ledger.js';
import type { AppContext } from '../context.js';
import { HttpProblem } from '../errors.js';
import { receiptableSize } from '../receipts.js';
import { defineRoute, sendJson, type Route } from '../route.js';
import { decimalParam, decimalString, hashHex, limitParam, receiptSchema } from '../schemas.js';

/** Most index entries one request examines before it answers with `next` (bounds the work of a narrow window). */
export const SCAN_BUDGET = 10 * MAX_PAGE;

/** Most packets per page (each carries a receipt). */
export const MAX_PACKETS_PAGE = 200;

const timeParam = (description: string) =>
  z
    .string()
    .refine(isRfc3339, 'want an RFC 3339 date-time with offset, e.g. 2026-03-01T08:00:00+08:00')
    .describe(description)
    .transform((s) => Date.parse(s));

/** Zod schema of the packet listing query. */
export const packetsQuerySchema = z.strictObject({
  from: timeParam('earliest time, inclusive (RFC 3339 with offset)').optional(),
  to: timeParam('latest time, exclusive (RFC 3339 with offset)').optional(),
  time: z.enum(['received', 'data'], { error: 'want received or data' }).describe('which time from/to apply to: received (the entry receivedAt, default) or data (the packet DataTime; packets without one are left out)').optional(),
  start: decimalParam('resume at this entry index (the next of the previous page)').optional(),
  limit: limitParam(MAX_PACKETS_PAGE, `page size, default 100, at most ${MAX_PACKETS_PAGE}`).optional(),
});

/** Zod schema of one anchored packet as listed. */
export const packetSchema = z.object({
  index: decimalString,
  leafHash: hashHex,
  entry: entrySchema,
  raw: z.string().describe('standard base64 of the raw packet exactly as received, ## through the CRC and CR LF; its hash (SHA-256, or SM3 for a gm log) is entry.digest'),
  receipt: receiptSchema.optional().describe('guzheng-receipt/v1 against the latest checkpoint; absent while no checkpoint covers the entry yet'),
});

/** Zod schema of the packet listing. */
export const packetsSchema = z.object({
  mn: z.string(),
  packets: z.array(packetSchema),
  next: decimalString.optional().describe('pass as start to continue; absent when the device has no further packets'),
});

/** The time of `entry` that the window applies to, in ms since the epoch, or undefined. */
function timeOf(entry: Entry, which: 'received' | 'data'): number | undefined {
  if (which === 'received') return Date.parse(entry.receivedAt);
  const dataTime = entry.type === 'hj212' ? entry.meta.dataTime : undefined;
  return dataTime === undefined ? undefined : Date.parse(dataTime);
}

/** The HJ 212 routes of one app. */
export function hj212Routes(ctx: AppContext): Route[] {
  const { ledger } = ctx;
  return [
    defineRoute({
      method: 'get',
      path: '/v1/hj212/devices/{mn}/packets',
      operationId: 'listHj212Packets',
      tag: 'hj212',
      summary: "A data logger's anchored packets, with raw bytes and receipts",
      description:
        `Packets anchored from device MN, in log order, whose time (received, or the packet's DataTime with time=data) is in [from, to). ` +
        `Each has its raw bytes (their ${ctx.ledger.suite.digestAlg} digest = entry.digest) and its receipt. A page holds up to limit packets and examines at most ${SCAN_BUDGET} of the device's entries; ` +
        'next, when present, is where to continue (start=next), even if this page is short.',
      access: ['audit'],
      params: z.strictObject({ mn: hj212MnSchema.describe('device id (MN=)') }),
      query: packetsQuerySchema,
      responses: { 200: { description: 'a page of packets', schema: packetsSchema } },
      errors: [400],
      async handle({ params, query, res }) {
        const { from, to } = query;
        if (from !== undefined && to !== undefined && from > to) throw new HttpProblem(400, 'INPUT_INVALID', 'from: is after to, want from <= to', { field: 'from' });
        const which = query.time ?? 'received';
        const limit = query.limit ?? 100;
        const windowed = from !== undefined || to !== undefined;
        const packets: Array<z.input<typeof packetSchema>> = [];
        let cursor = query.start ?? 0n;
        let scanned = 0;
        let next: bigint | undefined;
        scan: for (;;) {
          const indexes = await ledger.lookupSecondary(SECONDARY.hj212Device, params.mn, cursor, MAX_PAGE);
          for (const index of indexes) {
            if (packets.length >= limit || scanned >= SCAN_BUDGET) {
              next = index;
              break scan;
            }
            scanned++;
            cursor = index + 1n;
            const [stored] = await ledger.listEntries(index, 1);
            if (stored === undefined || stored.entry.type !== 'hj212') continue;
            if (windowed) {
              const t = timeOf(stored.entry, which);
              if (t === undefined || (from !== undefined && t < from) || (to !== undefined && t >= to)) continue;
            }
            // In the mirror's strict mode, no receipt before the bucket holds the entry.
            const [raw, receipt] = await Promise.all([ctx.store.getAttachment(index), index < receiptableSize(ctx, ledger.checkpointSize) ? ledger.receipt(index) : undefined]);
            if (raw === undefined) throw new Error(`http: hj212 entry ${index} has no stored packet`);
            packets.push({ index: index.toString(), leafHash: stored.leafHash, entry: stored.entry, raw: toBase64(raw), ...(receipt !== undefined ? { receipt } : {}) });
          }
          if (indexes.length < MAX_PAGE) break;
        }
        sendJson(res, 200, { mn: params.mn, packets, ...(next !== undefined ? { next: next.toString() } : {}) }, { 'Cache-Control': 'no-store' });
      },
    }),
  ];
}
