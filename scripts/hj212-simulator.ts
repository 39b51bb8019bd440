/**
 * A data-logger (数采仪) simulator for the HJ 212 gateway: opens `--connections` TCP connections,
 * each a device with its own MN, and sends `--packets` real-time data packets (CN=2011) per device,
 * asking for an acknowledgement (Flag=5). Each device keeps at most `--window` packets waiting for
 * their 9014 (1 = send and wait, as real loggers do). `--bad-crc-every N` corrupts the CRC of every
 * Nth packet (no reply expected); `--crc modbus|modbus-swapped` sends a legacy CRC (configure the
 * gateway with GUZHENG_HJ212_LEGACY_CRC for the MNs). Reports throughput and reply latency, and
 * exits 1 if any expected reply is missing or unexpected.
 *
 *     npx tsx scripts/hj212-simulator.ts --port 9212 --connections 50 --packets 200 --window 8
 */
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import type { CrcVariant } from '../src/ingest/hj212/crc.js';
import { Hj212Framer } from '../src/ingest/hj212/frame.js';
import { encodePacket } from '../src/ingest/hj212/packet.js';
import { parseSegment } from '../src/ingest/hj212/parse.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '9212' },
    connections: { type: 'string', default: '1' },
    packets: { type: 'string', default: '100' },
    window: { type: 'string', default: '1' },
    'bad-crc-every': { type: 'string', default: '0' },
    crc: { type: 'string', default: 'hj212' },
    'mn-prefix': { type: 'string', default: 'SIM' },
    'timeout-ms': { type: 'string', default: '15000' },
  },
});

const int = (name: string, min: number): number => {
  const n = Number(values[name as keyof typeof values]);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name}: got ${String(values[name as keyof typeof values])}, want an integer >= ${min}`);
  return n;
};
const port = int('port', 1);
const connections = int('connections', 1);
const packets = int('packets', 1);
const windowSize = int('window', 1);
const badEvery = int('bad-crc-every', 0);
const timeoutMs = int('timeout-ms', 1);
const variant = values.crc as CrcVariant;
if (!['hj212', 'modbus', 'modbus-swapped'].includes(variant)) throw new Error(`--crc: got ${variant}, want hj212, modbus or modbus-swapped`);

function qn(i: number): string {
  const t = new Date(Date.UTC(2026, 2, 1, 0, 0, 0) + i * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${t.getUTCFullYear()}${p(t.getUTCMonth() + 1)}${p(t.getUTCDate())}${p(t.getUTCHours())}${p(t.getUTCMinutes())}${p(t.getUTCSeconds())}${p(i % 1000, 3)}`;
}

function packet(mn: string, i: number): { bytes: Uint8Array; qn: string; bad: boolean } {
  const q = qn(i);
  const seg = `QN=${q};ST=31;CN=2011;PW=123456;MN=${mn};Flag=5;CP=&&DataTime=${q.slice(0, 14)};a21026-Rtd=${(10 + (i % 50) / 10).toFixed(1)},a21026-Flag=N;a21002-Rtd=${(40 + (i % 30)).toFixed(1)},a21002-Flag=N;a34013-Rtd=3.${i % 10},a34013-Flag=N;a00000-Rtd=1234.5,a00000-Flag=N&&`;
  const bytes = encodePacket(seg, variant);
  const bad = badEvery > 0 && (i + 1) % badEvery === 0;
  if (bad) bytes[bytes.length - 3] = bytes[bytes.length - 3] === 0x30 ? 0x31 : 0x30; // flip the last CRC digit
  return { bytes, qn: q, bad };
}

interface DeviceResult {
  sent: number;
  acked: number;
  unexpected: number;
  latencies: number[];
}

function runDevice(mn: string): Promise<DeviceResult> {
  return new Promise((resolve, reject) => {
    const result: DeviceResult = { sent: 0, acked: 0, unexpected: 0, latencies: [] };
    const waiting = new Map<string, number>(); // QN → send time
    const framer = new Hj212Framer();
    let next = 0;
    const socket: Socket = connect({ host: values.host, port }, () => pump());
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(result);
    }, timeoutMs);
    const finish = () => {
      if (next >= packets && waiting.size === 0) {
        clearTimeout(timer);
        socket.end();
        resolve(result);
      }
    };
    function pump(): void {
      const chunks: Uint8Array[] = [];
      while (next < packets && waiting.size < windowSize) {
        const p = packet(mn, next++);
        chunks.push(p.bytes);
        result.sent++;
        if (!p.bad) {
          waiting.set(p.qn, performance.now());
        }
      }
      if (chunks.length > 0) socket.write(Buffer.concat(chunks));
      finish();
    }
    socket.on('data', (chunk: Buffer) => {
      for (const e of framer.push(new Uint8Array(chunk))) {
        if (e.kind !== 'frame') continue;
        const seg = parseSegment(e.segment);
        const sentAt = seg.qn === undefined ? undefined : waiting.get(seg.qn);
        if (seg.cn !== '9014' || sentAt === undefined) {
          result.unexpected++;
          continue;
        }
        waiting.delete(seg.qn!);
        result.acked++;
        result.latencies.push(performance.now() - sentAt);
      }
      pump();
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

const t0 = performance.now();
const results = await Promise.all(Array.from({ length: connections }, (_, k) => runDevice(`${values['mn-prefix']}${String(k).padStart(6, '0')}`)));
const seconds = (performance.now() - t0) / 1000;
const sent = results.reduce((n, r) => n + r.sent, 0);
const acked = results.reduce((n, r) => n + r.acked, 0);
const unexpected = results.reduce((n, r) => n + r.unexpected, 0);
const bad = badEvery > 0 ? connections * Math.floor(packets / badEvery) : 0;
const lat = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
const pct = (p: number) => (lat.length === 0 ? NaN : (lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? NaN));
process.stdout.write(
  [
    `connections ${connections}, packets/device ${packets}, window ${windowSize}, crc ${variant}${badEvery > 0 ? `, bad CRC every ${badEvery}` : ''}`,
    `sent ${sent} packets in ${seconds.toFixed(2)} s: ${(sent / seconds).toFixed(0)} packets/s`,
    `replies: ${acked} 9014 of ${sent - bad} expected; ${unexpected} unexpected`,
    `reply latency ms: p50 ${pct(50).toFixed(1)}, p99 ${pct(99).toFixed(1)}, max ${(lat.at(-1) ?? NaN).toFixed(1)}`,
  ].join('\n') + '\n',
);
process.exitCode = acked === sent - bad && unexpected === 0 ? 0 : 1;
