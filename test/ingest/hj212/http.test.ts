/**
 * GET /v1/hj212/devices/{mn}/packets over a real HTTP server and a real gateway on the same ledger:
 * a device's packets come back with their raw bytes and receipts, and each receipt verifies
 * against those bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64 } from '../../../src/core/bytes.js';
import { Hj212Gateway } from '../../../src/ingest/hj212/gateway.js';
import { verifyReceipt } from '../../../src/verifier/index.js';
import { auth, json, pinned, problem, sha256Hex, startServer, type TestServer } from '../../http/helpers.js';
import { frameText, MN, SimLogger, upload } from './helpers.js';

let s: TestServer;
let gw: Hj212Gateway;
const OTHER = 'OTHER000000000000000001';
/** The packets sent, in order: device MN at DataTime hours 08..17 (upload(n) uses hour 8 + n % 10), one CRC failure, and another device. */
const sent: string[] = [];
let receivedBetween: { from: string; to: string };

beforeAll(async () => {
  s = await startServer();
  gw = await Hj212Gateway.start({ ledger: s.ledger, port: 0, host: '127.0.0.1', registry: s.app.registry, log: () => {} });
  const dev = await SimLogger.connect(gw.address.port);
  const send = async (text: string, replies: number) => {
    sent.push(text);
    dev.send(text);
    if (replies > dev.replies.length) await dev.waitReplies(replies);
  };
  for (let n = 0; n < 5; n++) await send(frameText(upload(n)), n + 1);
  await new Promise((r) => setTimeout(r, 30));
  const mid = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 30));
  for (let n = 5; n < 10; n++) await send(frameText(upload(n)), n + 1);
  await new Promise((r) => setTimeout(r, 30));
  receivedBetween = { from: mid, to: new Date().toISOString() };
  await new Promise((r) => setTimeout(r, 30));
  await send(frameText(upload(10), 'hj212', { crc: '0000' }), 10);
  await send(frameText(upload(11, { mn: OTHER })), 11);
  await s.ledger.publisher.waitFor(BigInt(sent.length), 5000);
  dev.destroy();
});

afterAll(async () => {
  await gw.close();
  await s.destroy();
});

interface Packet {
  index: string;
  leafHash: string;
  entry: { type: string; digest: { hex: string }; receivedAt: string; meta: { mn?: string; qn?: string; dataTime?: string; crc: { ok: boolean } } };
  raw: string;
  receipt?: unknown;
}
interface Page {
  mn: string;
  packets: Packet[];
  next?: string;
}

const list = (mn: string, query = '', key = s.keys.audit) => fetch(`${s.url}/v1/hj212/devices/${encodeURIComponent(mn)}/packets${query}`, { headers: auth(key) });

describe('GET /v1/hj212/devices/{mn}/packets', () => {
  it("lists a device's packets in log order, each with raw bytes and a receipt that verifies against them", async () => {
    const page = await json<Page>(await list(MN));
    expect(page.mn).toBe(MN);
    expect(page.next).toBeUndefined();
    expect(page.packets.map((p) => new TextDecoder().decode(fromBase64(p.raw)))).toEqual(sent.slice(0, 11));
    expect(page.packets.map((p) => p.index)).toEqual(Array.from({ length: 11 }, (_, i) => String(i)));
    for (const p of page.packets) {
      const raw = fromBase64(p.raw);
      expect(p.entry.digest.hex).toBe(sha256Hex(raw));
      const report = await verifyReceipt(p.receipt, { ...pinned, content: { bytes: raw } });
      expect(report.valid, JSON.stringify(report.checks)).toBe(true);
      expect(report.facts.index).toBe(p.index);
    }
    expect(page.packets.at(-1)?.entry.meta.crc.ok).toBe(false);
    const other = await json<Page>(await list(OTHER));
    expect(other.packets.map((p) => p.index)).toEqual(['11']);
  });

  it('answers an unknown device with an empty list', async () => {
    expect(await json<Page>(await list('NOBODY'))).toEqual({ mn: 'NOBODY', packets: [] });
  });

  it('filters on the receive time by default, half-open [from, to)', async () => {
    const page = await json<Page>(await list(MN, `?from=${receivedBetween.from}&to=${receivedBetween.to}`));
    expect(page.packets.map((p) => p.index)).toEqual(['5', '6', '7', '8', '9']);
    const first = page.packets[0]!.entry.receivedAt;
    const exact = await json<Page>(await list(MN, `?from=${first}&to=${first}`));
    expect(exact.packets).toEqual([]);
    const atFirst = await json<Page>(await list(MN, `?from=${first}&to=${new Date(Date.parse(first) + 1).toISOString()}`));
    expect(atFirst.packets.map((p) => p.entry.receivedAt).every((t) => t === first)).toBe(true);
    expect(atFirst.packets.length).toBeGreaterThan(0);
  });

  it("filters on the packet's DataTime with time=data (China time, any offset in the query)", async () => {
    // upload(n) carries DataTime 2026-03-01 (8 + n % 10):00 +08:00.
    const page = await json<Page>(await list(MN, '?time=data&from=2026-03-01T10:00:00%2B08:00&to=2026-03-01T04:00:00Z'));
    expect(page.packets.map((p) => p.entry.meta.dataTime)).toEqual(['2026-03-01T10:00:00+08:00', '2026-03-01T11:00:00+08:00']);
    expect(page.packets.map((p) => p.index)).toEqual(['2', '3']);
    const from = await json<Page>(await list(MN, '?time=data&from=2026-03-01T16:00:00%2B08:00'));
    expect(from.packets.map((p) => p.index)).toEqual(['8', '9']);
  });

  it('pages with limit and next', async () => {
    const a = await json<Page>(await list(MN, '?limit=4'));
    expect(a.packets.map((p) => p.index)).toEqual(['0', '1', '2', '3']);
    expect(a.next).toBe('4');
    const b = await json<Page>(await list(MN, `?limit=4&start=${a.next}`));
    expect(b.packets.map((p) => p.index)).toEqual(['4', '5', '6', '7']);
    const c = await json<Page>(await list(MN, `?limit=4&start=${b.next}`));
    expect(c.packets.map((p) => p.index)).toEqual(['8', '9', '10']);
    expect(c.next).toBeUndefined();
    const exact = await json<Page>(await list(OTHER, '?limit=1'));
    expect(exact.next).toBeUndefined();
  });

  it('needs the audit role', async () => {
    await problem(await fetch(`${s.url}/v1/hj212/devices/${MN}/packets`), 401);
    await problem(await list(MN, '', s.keys.submit), 403);
    await json(await list(MN, '', s.keys.admin));
  });

  it('names the bad input', async () => {
    expect((await problem(await list('A;B'), 400)).field).toBe('mn');
    expect((await problem(await list(MN, '?from=yesterday'), 400)).field).toBe('from');
    expect((await problem(await list(MN, '?to=2026-03-01T08:00:00'), 400)).field).toBe('to');
    expect((await problem(await list(MN, '?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z'), 400)).field).toBe('from');
    expect((await problem(await list(MN, '?time=device'), 400)).field).toBe('time');
    expect((await problem(await list(MN, '?limit=201'), 400)).field).toBe('limit');
    expect((await problem(await list(MN, '?start=01'), 400)).field).toBe('start');
    expect((await problem(await list(MN, '?colour=red'), 400)).field).toBe('colour');
  });

  it('is in the OpenAPI document, and the gateway metrics are on /metrics', async () => {
    const doc = await json<{ paths: Record<string, { get?: { operationId: string; parameters: Array<{ name: string }> } }> }>(await fetch(`${s.url}/openapi.json`));
    const op = doc.paths['/v1/hj212/devices/{mn}/packets']?.get;
    expect(op?.operationId).toBe('listHj212Packets');
    expect(op?.parameters.map((p) => p.name).sort()).toEqual(['from', 'limit', 'mn', 'start', 'time', 'to']);
    const text = await (await fetch(`${s.url}/metrics`)).text();
    expect(text).toContain(`guzheng_hj212_packets_total{mn="${MN}"} 11`);
    expect(text).toContain(`guzheng_hj212_crc_failures_total{mn="${MN}"} 1`);
    expect(text).toMatch(new RegExp(`^guzheng_hj212_last_seen_seconds\\{mn="${OTHER}"\\} \\d+(\\.\\d+)?$`, 'm'));
    expect(text).toContain('guzheng_hj212_replies_total{cn="9014"} 11');
  });
});
