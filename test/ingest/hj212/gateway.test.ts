/**
 * The HJ 212 gateway end to end: real TCP on 127.0.0.1 (ephemeral ports), a real LevelDB store in
 * a temp directory, a real Ledger, and simulated data loggers.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import type { Entry } from '../../../src/core/entry/index.js';
import { Hj212Gateway, peerOf, type GatewayOptions } from '../../../src/ingest/hj212/gateway.js';
import { checkCrc } from '../../../src/ingest/hj212/crc.js';
import { Ledger } from '../../../src/log/ledger.js';
import { startService } from '../../../src/server.js';
import { LevelStore } from '../../../src/storage/level.js';
import type { AppendBatch, LedgerStore } from '../../../src/storage/store.js';
import { verifyReceipt } from '../../../src/verifier/index.js';
import { TEST_LOG } from '../../http/helpers.js';
import { enc, frameText, MN, SimLogger, sleep, STANDARD_EXAMPLE_PACKET, upload } from './helpers.js';

const pinned = [TEST_LOG.verifierKey];
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** A store whose appendBatch can be held back (gate) or made to fail once, recording when writes finish. */
function controlledStore(inner: LedgerStore) {
  const control = {
    gate: Promise.resolve() as Promise<void>,
    open: () => {},
    failNext: false,
    writtenAt: [] as number[],
    close() {
      let open!: () => void;
      control.gate = new Promise<void>((r) => (open = r));
      control.open = open;
    },
  };
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'appendBatch') {
        return async (batch: AppendBatch) => {
          await control.gate;
          if (control.failNext) {
            control.failNext = false;
            throw new Error('disk full (simulated)');
          }
          await target.appendBatch(batch);
          control.writtenAt.push(performance.now());
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store, control };
}

interface Harness {
  readonly ledger: Ledger;
  readonly gw: Hj212Gateway;
  readonly port: number;
  readonly registry: Registry;
  readonly control: ReturnType<typeof controlledStore>['control'];
  readonly loggers: SimLogger[];
  connect(): Promise<SimLogger>;
  /** The stored entries, in index order, with their raw packets. */
  entries(): Promise<Array<{ index: bigint; entry: Entry; raw: Uint8Array }>>;
  metric(name: string, labels?: string): Promise<number | undefined>;
  stop(): Promise<void>;
}

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.stop();
});

async function start(options: Partial<GatewayOptions> = {}, sequencer: { maxQueuedEntries?: number } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'guzheng-hj212-'));
  const level = await LevelStore.open(dir);
  const { store, control } = controlledStore(level);
  const ledger = await Ledger.open({ store, signerKey: TEST_LOG.signerKey, checkpointIntervalMs: 20, sequencer });
  const registry = new Registry();
  const errors: unknown[] = [];
  const gw = await Hj212Gateway.start({ ledger, port: 0, host: '127.0.0.1', registry, log: (_m, err) => errors.push(err), ...options });
  const loggers: SimLogger[] = [];
  let stopped = false;
  const h: Harness = {
    ledger,
    gw,
    port: gw.address.port,
    registry,
    control,
    loggers,
    async connect() {
      const l = await SimLogger.connect(gw.address.port);
      loggers.push(l);
      return l;
    },
    async entries() {
      const out = [];
      for (const e of await ledger.listEntries(0n, 1000)) out.push({ index: e.index, entry: e.entry, raw: (await level.getAttachment(e.index)) ?? new Uint8Array(0) });
      return out;
    },
    async metric(name, labels = '') {
      const text = await registry.metrics();
      const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} ([0-9.e+-]+)$`, 'm').exec(text);
      return m === null ? undefined : Number(m[1]);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      control.open();
      for (const l of loggers) l.destroy();
      await gw.close();
      await ledger.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  harnesses.push(h);
  return h;
}

const qnOf = (seg: string) => /QN=([0-9]+)/.exec(seg)?.[1];

describe('HJ 212 gateway over TCP', () => {
  it('a data logger sends a mixed stream: 9014 only for valid packets that asked, and every packet is provable byte for byte', async () => {
    const h = await start();
    const dev = await h.connect();
    const valid = [
      frameText(upload(1)), // 2011, Flag=5 → 9014
      frameText(upload(2, { cn: '2051', flag: '4' })), // no ack asked
      frameText(upload(3, { cn: '2061', flag: '7' }).replace('Flag=7;', 'Flag=7;PNUM=2;PNO=1;')), // split, ack
      frameText(upload(4, { cn: '2061', flag: '7' }).replace('Flag=7;', 'Flag=7;PNO=2;PNUM=2;')), // split, PNO first, ack
      frameText(upload(5, { cn: '1013', flag: '4', cp: 'PolId=w01018' })), // notification → 9013
      frameText(upload(6, { cn: '9012', flag: '5', cp: 'ExeRtn=1' })), // an answer: never acknowledged
      frameText(upload(7), 'hj212', { lowercase: true }), // lowercase CRC digits, ack
      frameText(`ST=32;CN=2011;PW=123456;MN=${MN};CP=&&DataTime=20160801120000;011-Rtd=25.3,011-Flag=N;B01-Rtd=100.2&&`), // 2005 style: no QN, no Flag
      STANDARD_EXAMPLE_PACKET, // the standard's example, Flag=5 → 9014
    ];
    const invalid = [
      frameText(upload(8), 'hj212', { crc: '0000' }), // CRC failure, asks for ack: none
      frameText(upload(9), 'modbus'), // legacy CRC from a device not configured for it
    ];
    const last = frameText(upload(10), 'hj212', { crlf: false }); // last packet without CR LF, ack
    const stream = ['AT+CIPSEND\r\n', valid[0], valid[1], '\x00\x00##', invalid[0], valid[2], valid[3], 'garbage', valid[4], valid[5], invalid[1], valid[6], valid[7], valid[8], last].join('');
    const bytes = enc(stream);
    // Send it in uneven pieces, as a mobile link would.
    for (let at = 0, n = 1; at < bytes.length; at += n, n = (n * 7) % 300 || 1) dev.send(bytes.subarray(at, at + n));

    const wantReplies = [
      ['9014', qnOf(upload(1))],
      ['9014', qnOf(upload(3))],
      ['9014', qnOf(upload(4))],
      ['9013', qnOf(upload(5))],
      ['9014', qnOf(upload(7))],
      ['9014', '20160801085857223'],
      ['9014', qnOf(upload(10))],
    ];
    await dev.waitReplies(wantReplies.length);
    await sleep(200); // nothing else is coming
    expect(dev.replies.map((r) => [r.segment.cn, r.segment.qn])).toEqual(wantReplies);
    for (const r of dev.replies) {
      expect(checkCrc(r.frame.segment, r.frame.crc).ok).toBe(true);
      expect(r.segment).toMatchObject({ st: '91', flag: 4, cp: '', mn: r.segment.qn === '20160801085857223' ? '010000A8900016F000169DC0' : MN });
    }

    // Every frame was anchored exactly once, in arrival order, with its raw bytes as received.
    const sent = [valid[0], valid[1], invalid[0], valid[2], valid[3], valid[4], valid[5], invalid[1], valid[6], valid[7], valid[8], last].map((s) => s!);
    await h.ledger.publisher.waitFor(BigInt(sent.length), 5000);
    const entries = await h.entries();
    expect(entries.map((e) => new TextDecoder().decode(e.raw))).toEqual(sent);
    for (const [i, e] of entries.entries()) {
      expect(e.entry.type).toBe('hj212');
      expect(e.entry.digest).toEqual({ alg: 'sha256', hex: sha256(enc(sent[i]!)) });
      expect(e.entry.submitter).toBe('gateway-hj212');
      if (e.entry.type !== 'hj212') continue;
      expect(e.entry.meta.crc.ok).toBe(!invalid.includes(sent[i]!));
      expect(e.entry.meta.peer).toMatch(/^127\.0\.0\.1:\d+$|^\[::ffff:127\.0\.0\.1\]:\d+$/);
      // Every packet's receipt verifies against the raw bytes.
      const receipt = await h.ledger.receipt(e.index);
      const report = await verifyReceipt(receipt, { trustedKeys: pinned, content: { bytes: enc(sent[i]!) } });
      expect(report.valid, JSON.stringify(report.checks)).toBe(true);
      expect(report.checks.find((c) => c.id === 'content')?.status).toBe('pass');
      // ... and not against any other bytes.
      expect((await verifyReceipt(receipt, { trustedKeys: pinned, content: { bytes: enc(sent[i]!.replace('\r\n', '')) } })).valid).toBe(sent[i] === last);
    }
    const meta = entries.map((e) => (e.entry.type === 'hj212' ? e.entry.meta : undefined));
    expect(meta[2]?.crc).toEqual({ ok: false, variant: 'hj212' });
    expect(meta[7]?.warnings).toEqual(['crc-would-match-modbus']);
    expect(meta[3]).toMatchObject({ cn: '2061', flag: 7, version: 1, pnum: '2', pno: '1' });
    expect(meta[4]).toMatchObject({ pnum: '2', pno: '2', warnings: ['pno-before-pnum'] });
    expect(meta[9]).toMatchObject({ cn: '2011', pollutants: ['011', 'B01'], dataTime: '2016-08-01T12:00:00+08:00', warnings: ['no-qn', 'no-flag'] });
    expect(meta[9]?.qn).toBeUndefined();
    expect(meta[11]?.warnings).toEqual(['no-crlf']);
    expect(meta[0]).toMatchObject({ mn: MN, st: '31', cn: '2011', qn: qnOf(upload(1)), dataTime: '2026-03-01T09:00:00+08:00', pollutants: ['a21026', 'a34013'], flag: 5, version: 1 });
    // The device index lists this device's packets.
    const listed = await h.ledger.lookupSecondary('hj212-mn', MN, 0n, 100);
    expect(listed).toEqual(entries.filter((e) => e.entry.type === 'hj212' && e.entry.meta.mn === MN).map((e) => e.index));
    expect(listed).toHaveLength(12); // the standard's example has the same MN
    expect(await h.metric('guzheng_hj212_packets_total', `{mn="${MN}"}`)).toBe(12);
    expect(await h.metric('guzheng_hj212_crc_failures_total', `{mn="${MN}"}`)).toBe(2);
    expect(await h.metric('guzheng_hj212_replies_total', '{cn="9014"}')).toBe(6);
    expect(await h.metric('guzheng_hj212_replies_total', '{cn="9013"}')).toBe(1);
    expect(await h.metric('guzheng_hj212_discarded_bytes_total', '{reason="no-header"}')).toBeGreaterThan(0);
  });

  it('replies only after the packet is durably anchored (the fsynced batch is on disk)', async () => {
    const h = await start();
    const dev = await h.connect();
    h.control.close(); // storage writes are held back
    const packet = frameText(upload(1));
    dev.send(packet);
    await sleep(300);
    expect(dev.replies).toHaveLength(0);
    expect(h.ledger.sequencer.size).toBe(0n);
    expect(h.control.writtenAt).toEqual([]);
    const opened = performance.now();
    h.control.open();
    await dev.waitReplies(1);
    const written = h.control.writtenAt[0];
    expect(written).toBeDefined();
    expect(written!).toBeGreaterThanOrEqual(opened);
    expect(dev.replies[0]!.at).toBeGreaterThan(written!);
    expect((await h.ledger.lookupDigest('sha256', sha256(packet))).map((a) => a.index)).toEqual([0n]);
  });

  it('gives no reply when anchoring fails, so the device retries', async () => {
    const h = await start();
    const dev = await h.connect();
    h.control.failNext = true;
    const packet = frameText(upload(1));
    dev.send(packet);
    await sleep(300);
    expect(dev.replies).toHaveLength(0);
    expect(await h.metric('guzheng_hj212_not_anchored_total', '{reason="error"}')).toBe(1);
    dev.send(packet); // the retry
    await dev.waitReplies(1);
    expect(dev.replies[0]!.segment.qn).toBe(qnOf(upload(1)));
    expect(h.ledger.sequencer.size).toBe(1n);
  });

  it('gives no reply when the log is overloaded', async () => {
    const h = await start({}, { maxQueuedEntries: 1 });
    const dev = await h.connect();
    h.control.close();
    dev.send(frameText(upload(1)));
    await sleep(50); // the first is being written (held), the second queues, the third is refused
    dev.send(frameText(upload(2)) + frameText(upload(3)));
    await sleep(100);
    h.control.open();
    await dev.waitReplies(2);
    await sleep(100);
    expect(dev.replies.map((r) => r.segment.qn)).toEqual([qnOf(upload(1)), qnOf(upload(2))]);
    expect(await h.metric('guzheng_hj212_not_anchored_total', '{reason="overloaded"}')).toBe(1);
  });

  it('anchors CRC failures with their verdict, at most badCrcPerMinute per connection', async () => {
    let now = 0;
    const h = await start({ badCrcPerMinute: 3, now: () => now });
    const dev = await h.connect();
    const bad = (n: number) => frameText(upload(n), 'hj212', { crc: 'BEEF' });
    dev.send([1, 2, 3, 4, 5].map(bad).join('') + frameText(upload(6)));
    await dev.waitReplies(1);
    expect((await h.entries()).map((e) => (e.entry.type === 'hj212' ? [e.entry.meta.qn, e.entry.meta.crc.ok] : []))).toEqual([
      [qnOf(upload(1)), false],
      [qnOf(upload(2)), false],
      [qnOf(upload(3)), false],
      [qnOf(upload(6)), true],
    ]);
    expect(await h.metric('guzheng_hj212_not_anchored_total', '{reason="crc-rate-limit"}')).toBe(2);
    // Until a packet from an MN verifies, its CRC failures count under _unverified (the MN may be corrupt).
    expect(await h.metric('guzheng_hj212_crc_failures_total', '{mn="_unverified"}')).toBe(5);
    expect(await h.metric('guzheng_hj212_crc_failures_total', `{mn="${MN}"}`)).toBe(0);
    // The bucket refills: 20 s later one more is anchored.
    now = 20_000;
    dev.send(bad(7) + bad(8) + frameText(upload(9)));
    await dev.waitReplies(2);
    const qns = (await h.entries()).map((e) => (e.entry.type === 'hj212' ? e.entry.meta.qn : undefined));
    expect(qns.slice(4)).toEqual([qnOf(upload(7)), qnOf(upload(9))]);
    expect(await h.metric('guzheng_hj212_crc_failures_total', `{mn="${MN}"}`)).toBe(2);
    // A new connection has its own bucket; 0 anchors none.
    const h0 = await start({ badCrcPerMinute: 0 });
    const d0 = await h0.connect();
    d0.send(bad(1) + frameText(upload(2)));
    await d0.waitReplies(1);
    expect(h0.ledger.sequencer.size).toBe(1n);
  });

  it('accepts legacy CRCs only from the devices configured for them, and answers in their variant', async () => {
    const h = await start({ legacyCrc: new Map([['OLD0001', ['modbus-swapped'] as const]]) });
    const dev = await h.connect();
    dev.send(frameText(upload(1, { mn: 'OLD0001' }), 'modbus-swapped') + frameText(upload(2, { mn: 'NEW0001' }), 'modbus-swapped') + frameText(upload(3, { mn: 'OLD0001' })));
    await dev.waitReplies(2);
    await sleep(100);
    expect(dev.replies.map((r) => [r.segment.mn, r.segment.qn])).toEqual([
      ['OLD0001', qnOf(upload(1))],
      ['OLD0001', qnOf(upload(3))],
    ]);
    expect(checkCrc(dev.replies[0]!.frame.segment, dev.replies[0]!.frame.crc, ['modbus-swapped'])).toMatchObject({ ok: true, variant: 'modbus-swapped' });
    expect(checkCrc(dev.replies[1]!.frame.segment, dev.replies[1]!.frame.crc)).toMatchObject({ ok: true, variant: 'hj212' });
    const crcs = (await h.entries()).map((e) => (e.entry.type === 'hj212' ? e.entry.meta.crc : undefined));
    expect(crcs).toEqual([
      { ok: true, variant: 'modbus-swapped' },
      { ok: false, variant: 'hj212' },
      { ok: true, variant: 'hj212' },
    ]);
    // A legacy device is labelled in the metrics even before its first verified packet.
    expect(await h.metric('guzheng_hj212_packets_total', '{mn="OLD0001"}')).toBe(2);
    expect(await h.metric('guzheng_hj212_packets_total', '{mn="_unverified"}')).toBe(1);
  });

  it('takes a last packet without CR LF after a short wait, and answers before closing a half-closed connection', async () => {
    const h = await start({ tailWaitMs: 50 });
    const dev = await h.connect();
    const text = frameText(upload(1), 'hj212', { crlf: false });
    dev.send(text);
    await dev.waitReplies(1, 2000);
    expect(new TextDecoder().decode((await h.entries())[0]!.raw)).toBe(text);
    const dev2 = await h.connect();
    dev2.send(frameText(upload(2), 'hj212', { crlf: false }));
    dev2.end(); // the logger sends and half-closes at once
    await dev2.waitReplies(1);
    await dev2.waitClosed();
    expect(dev2.replies[0]!.segment.qn).toBe(qnOf(upload(2)));
  });

  it('closes idle connections', async () => {
    const h = await start({ idleTimeoutMs: 150 });
    const dev = await h.connect();
    dev.send(frameText(upload(1)));
    await dev.waitReplies(1);
    expect(h.gw.connections).toBe(1);
    await dev.waitClosed(3000);
    await sleep(20);
    expect(h.gw.connections).toBe(0);
    expect(await h.metric('guzheng_hj212_connections')).toBe(0);
    expect(await h.metric('guzheng_hj212_connections_total')).toBe(1);
  });

  it('refuses connections beyond maxConnections', async () => {
    const h = await start({ maxConnections: 2 });
    const a = await h.connect();
    const b = await h.connect();
    const c = await h.connect();
    await c.waitClosed(3000);
    a.send(frameText(upload(1)));
    b.send(frameText(upload(2)));
    await a.waitReplies(1);
    await b.waitReplies(1);
    expect(await h.metric('guzheng_hj212_connections_refused_total')).toBe(1);
  });

  it('serves 50 loggers at once: every packet anchored, every reply to the right device in order', async () => {
    const h = await start({ maxInFlight: 4 });
    const devices = await Promise.all(Array.from({ length: 50 }, () => h.connect()));
    const perDevice = 20;
    devices.forEach((d, k) => {
      const mn = `DEV${String(k).padStart(4, '0')}`;
      d.send(Array.from({ length: perDevice }, (_, i) => frameText(upload(i, { mn }))).join(''));
    });
    await Promise.all(devices.map((d) => d.waitReplies(perDevice, 10_000)));
    devices.forEach((d, k) => {
      expect(d.replies.map((r) => r.segment.mn)).toEqual(Array(perDevice).fill(`DEV${String(k).padStart(4, '0')}`));
      expect(d.replies.map((r) => r.segment.qn)).toEqual(Array.from({ length: perDevice }, (_, i) => qnOf(upload(i))));
    });
    expect(h.ledger.sequencer.size).toBe(1000n);
    expect(await h.metric('guzheng_hj212_packets_total', '{mn="DEV0049"}')).toBe(perDevice);
    expect(await h.ledger.lookupSecondary('hj212-mn', 'DEV0007', 0n, 100)).toHaveLength(perDevice);
    expect(h.ledger.sequencer.stats.flushes).toBeLessThan(1000); // group commit across connections
  });

  it('on close, anchors and answers what was already received, then ends the connections', async () => {
    const h = await start();
    const dev = await h.connect();
    h.control.close();
    dev.send(frameText(upload(1)) + frameText(upload(2), 'hj212', { crlf: false }));
    await sleep(50);
    const closing = h.gw.close();
    let closed = false;
    void closing.then(() => (closed = true));
    await sleep(100);
    expect(closed).toBe(false);
    expect(dev.replies).toHaveLength(0);
    h.control.open();
    await closing;
    expect(dev.replies.map((r) => r.segment.qn)).toEqual([qnOf(upload(1)), qnOf(upload(2))]);
    expect(h.ledger.sequencer.size).toBe(2n);
    await dev.waitClosed();
    await expect(SimLogger.connect(h.port)).rejects.toThrow();
  });

  it('formats peers', async () => {
    expect(peerOf('192.0.2.10', 50212)).toBe('192.0.2.10:50212');
    expect(peerOf('::1', 9)).toBe('[::1]:9');
    expect(peerOf(undefined, 9)).toBeUndefined();
  });

  it('rejects bad options', async () => {
    const h = await start();
    await expect(Hj212Gateway.start({ ledger: h.ledger, port: 0, host: '127.0.0.1', tailWaitMs: 0 })).rejects.toThrow(/tailWaitMs/);
    await expect(Hj212Gateway.start({ ledger: h.ledger, port: 70_000, host: '127.0.0.1' })).rejects.toThrow(/port/);
    await expect(Hj212Gateway.start({ ledger: h.ledger, port: 0, host: '127.0.0.1', submitter: 'gateway 212' })).rejects.toThrow(/submitter/);
    await expect(Hj212Gateway.start({ ledger: h.ledger, port: h.port, host: '127.0.0.1' })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('guzheng serve with --hj212-port', () => {
  it('starts the gateway beside the HTTP API, exposes its metrics, and closes it first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guzheng-hj212-serve-'));
    const lines: string[] = [];
    const service = await startService(loadConfig({ GUZHENG_DATA: dir, PORT: '0', GUZHENG_CHECKPOINT_INTERVAL_MS: '20' }, { hj212Port: '0' }), (l) => lines.push(l));
    try {
      expect(service.hj212).toBeDefined();
      const port = service.hj212!.address.port;
      expect(lines.join('\n')).toContain(`HJ 212 gateway: tcp://127.0.0.1:${port}`);
      const dev = await SimLogger.connect(port);
      dev.send(STANDARD_EXAMPLE_PACKET);
      await dev.waitReplies(1);
      expect(dev.replies[0]!.segment.cn).toBe('9014');
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      expect(metrics).toContain('guzheng_hj212_packets_total{mn="010000A8900016F000169DC0"} 1');
      await service.close();
      await dev.waitClosed();
      expect(service.ledger.sequencer.size).toBe(1n);
    } finally {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs without the gateway unless asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guzheng-hj212-serve-'));
    const service = await startService(loadConfig({ GUZHENG_DATA: dir, PORT: '0' }), () => {});
    expect(service.hj212).toBeUndefined();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
