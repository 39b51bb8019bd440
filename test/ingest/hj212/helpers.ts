/**
 * Helpers for the HJ 212 tests: packet builders (segments, whole frames under each CRC variant) and
 * a simulated data logger that talks to the gateway over real TCP and frames what it gets back.
 */
import { connect, type Socket } from 'node:net';
import { crcText, type CrcVariant } from '../../../src/ingest/hj212/crc.js';
import { Hj212Framer, type Frame } from '../../../src/ingest/hj212/frame.js';
import { parseSegment, type Hj212Segment } from '../../../src/ingest/hj212/parse.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The standard's own example (HJ 212-2017): length 0101, CRC 1C80. */
export const STANDARD_EXAMPLE_SEGMENT = 'QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&';
export const STANDARD_EXAMPLE_PACKET = `##0101${STANDARD_EXAMPLE_SEGMENT}1C80\r\n`;

export const MN = '010000A8900016F000169DC0';

/** segment builds `QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;CP=&&cp&&` from header fields (in order; undefined left out). */
export function segment(header: Record<string, string | undefined>, cp: string): string {
  const parts = Object.entries(header)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  return [...parts, `CP=&&${cp}&&`].join(';');
}

/** frameText frames a segment by hand (independently of encodePacket): `##` + byte length + segment + CRC + CR LF. */
export function frameText(seg: string, variant: CrcVariant = 'hj212', options: { crlf?: boolean; lowercase?: boolean; crc?: string } = {}): string {
  const bytes = enc(seg);
  let crc = options.crc ?? crcText(bytes, variant);
  if (options.lowercase === true) crc = crc.toLowerCase();
  return `##${String(bytes.length).padStart(4, '0')}${seg}${crc}${options.crlf === false ? '' : '\r\n'}`;
}

/** A data upload from device `mn` (default {@link MN}) with QN from `n`. */
export function upload(n: number, o: { cn?: string; flag?: string; mn?: string; cp?: string; st?: string } = {}): string {
  const qn = `20260301080000${String(n % 1000).padStart(3, '0')}`;
  const cp = o.cp ?? `DataTime=20260301${String(8 + (n % 10)).padStart(2, '0')}0000;a21026-Rtd=${(12 + n / 10).toFixed(1)},a21026-Flag=N;a34013-Rtd=3.${n % 10},a34013-Flag=N`;
  return segment({ QN: qn, ST: o.st ?? '31', CN: o.cn ?? '2011', PW: '123456', MN: o.mn ?? MN, Flag: o.flag ?? '5' }, cp);
}

/** A simulated data logger: one TCP connection to the gateway, collecting its replies. */
export class SimLogger {
  readonly socket: Socket;
  readonly replies: Array<{ frame: Frame; segment: Hj212Segment; at: number }> = [];
  readonly #framer = new Hj212Framer();
  #waiters: Array<() => void> = [];
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const e of this.#framer.push(new Uint8Array(chunk))) {
        if (e.kind === 'frame') this.replies.push({ frame: e, segment: parseSegment(e.segment), at: performance.now() });
      }
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  static connect(port: number, host = '127.0.0.1'): Promise<SimLogger> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host }, () => resolve(new SimLogger(s)));
      s.once('error', reject);
    });
  }

  send(data: string | Uint8Array): void {
    this.socket.write(typeof data === 'string' ? enc(data) : data);
  }

  /** until resolves once `cond()` holds (checked after each reply or close), or rejects after `ms`. */
  until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; replies: ${this.replies.map((r) => r.segment.text).join(' | ')}`)), ms);
      const check = () => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else this.#waiters.push(check);
      };
      check();
    });
  }

  /** waitReplies resolves once at least `n` replies arrived. */
  waitReplies(n: number, ms = 5000): Promise<void> {
    return this.until(() => this.replies.length >= n, ms, `${n} replies`);
  }

  /** waitClosed resolves when the gateway closed the connection. */
  waitClosed(ms = 5000): Promise<void> {
    return this.until(() => this.closed, ms, 'close');
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
