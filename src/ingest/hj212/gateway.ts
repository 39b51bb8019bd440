/**
 * The HJ 212 TCP gateway: a thin adapter (DESIGN.md §3) between data loggers and the ledger.
 * Every frame a device sends is anchored on arrival as an `hj212` entry whose digest is the hash
 * of the raw frame bytes with the log's suite (SHA-256 for a `c2sp` log, SM3 for a `gm` log:
 * SPEC.md#crypto-suites, #hj-212-entries); the raw frame is stored with the entry.
 *
 * Per connection, frames are handed to `Ledger.append` in arrival order, in the same event-loop
 * turn as the bytes that completed them (so the entry's `receivedAt` is the arrival time). Many
 * appends may be in flight at once (group commit); replies are written in arrival order, each only
 * after ITS entry is durable (the append resolved, i.e. the fsynced batch is on disk). If an
 * append fails (overload, shutdown, storage error) the packet gets no reply and the device
 * retries. CRC failures are anchored too (evidence of what was received), at most
 * `badCrcPerMinute` per connection (token bucket); beyond that they are counted and dropped.
 *
 * Limits: `maxConnections`; `idleTimeoutMs` without a byte closes a connection; reading pauses
 * while `maxInFlight` packets of one connection wait for the ledger. See docs/hj212.md.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { digestBytes } from '../../core/entry/digest.js';
import type { DigestAlg } from '../../core/entry/schema.js';
import { LedgerError } from '../../core/errors.js';
import type { Ledger } from '../../log/ledger.js';
import { LogClosedError, OverloadedError } from '../../log/sequencer.js';
import type { CrcVariant } from './crc.js';
import { Hj212Framer, type Frame, type FrameEvent } from './frame.js';
import { createGatewayMetrics, type GatewayMetrics, type NotAnchoredReason } from './metrics.js';
import { inspectFrame, PARSER_VERSION } from './packet.js';

/** Defaults, as documented in docs/hj212.md. */
export const GATEWAY_DEFAULTS = {
  submitter: 'gateway-hj212',
  idleTimeoutMs: 600_000,
  maxConnections: 10_000,
  badCrcPerMinute: 60,
  maxSegmentBytes: 9999,
  tailWaitMs: 100,
  maxInFlight: 256,
  maxDevices: 10_000,
  closeGraceMs: 5_000,
} as const;

/** What the gateway needs. */
export interface GatewayOptions {
  readonly ledger: Ledger;
  readonly port: number;
  readonly host: string;
  /** Where the metrics go (the HTTP app's registry); default a private one. */
  readonly registry?: Registry;
  /** Submitter key id written in every entry. Default `gateway-hj212`. */
  readonly submitter?: string;
  /** Legacy CRC variants allowed per device MN. Default none. */
  readonly legacyCrc?: ReadonlyMap<string, readonly CrcVariant[]>;
  /** Close a connection after this long without a byte from it (ms). Default 600,000. */
  readonly idleTimeoutMs?: number;
  /** Most simultaneous device connections. Default 10,000. */
  readonly maxConnections?: number;
  /** CRC-failed packets anchored per connection per minute (burst the same); 0 anchors none. Default 60. */
  readonly badCrcPerMinute?: number;
  /** Largest declared data-segment length accepted (≤ 9,999). Default 9,999. */
  readonly maxSegmentBytes?: number;
  /** How long a complete frame waits for its CR LF before it is taken without (ms). Default 100. */
  readonly tailWaitMs?: number;
  /** Packets of one connection waiting for the ledger before its reading pauses. Default 256. */
  readonly maxInFlight?: number;
  /** Most device MNs labelled in the metrics. Default 10,000. */
  readonly maxDevices?: number;
  /** On close, how long connections get to receive their last replies (ms). Default 5,000. */
  readonly closeGraceMs?: number;
  /** Where unexpected errors are reported (default console.error). */
  readonly log?: (message: string, err?: unknown) => void;
  /** Monotonic clock in ms for the rate limit and durations (default performance.now). */
  readonly now?: () => number;
  /** Wall clock for the metrics' last-seen times (default Date.now). */
  readonly wallClock?: () => number;
}

/**
 * peerOf renders a socket's remote address as `host:port`, or `[v6]:port` for an IPv6 address
 * (as recorded in `meta.peer`). Requires: nothing; undefined if either part is unknown.
 */
export function peerOf(address: string | undefined, port: number | undefined): string | undefined {
  if (address === undefined || port === undefined) return undefined;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function notAnchoredReason(err: unknown): NotAnchoredReason {
  if (err instanceof OverloadedError) return 'overloaded';
  if (err instanceof LogClosedError) return 'closed';
  if (err instanceof LedgerError) return 'invalid';
  return 'error';
}

/** One device connection. */
class Connection {
  readonly #gw: Hj212Gateway;
  readonly #socket: Socket;
  readonly #peer: string | undefined;
  readonly #framer: Hj212Framer;
  /** Replies are written in arrival order: each packet's step is chained after the previous one's. */
  #chain: Promise<void> = Promise.resolve();
  #inFlight = 0;
  #paused = false;
  #tokens: number;
  #refilledAt: number;
  #tail: NodeJS.Timeout | undefined;
  #ending = false;

  constructor(gw: Hj212Gateway, socket: Socket) {
    this.#gw = gw;
    this.#socket = socket;
    this.#peer = peerOf(socket.remoteAddress, socket.remotePort);
    this.#framer = new Hj212Framer({ maxSegmentBytes: gw.options.maxSegmentBytes });
    this.#tokens = gw.options.badCrcPerMinute;
    this.#refilledAt = gw.options.now();
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    socket.setTimeout(gw.options.idleTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.end());
    socket.on('timeout', () => this.end());
    socket.on('error', () => {
      /* a reset or broken pipe: 'close' follows */
    });
    socket.on('close', () => {
      this.#clearTail();
      gw.forget(this);
    });
  }

  #onData(chunk: Buffer): void {
    if (this.#ending) return;
    this.#clearTail();
    const view = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.#handle(this.#framer.push(view));
    if (this.#framer.pending) {
      this.#tail = setTimeout(() => {
        this.#tail = undefined;
        this.#handle(this.#framer.flush());
      }, this.#gw.options.tailWaitMs);
    }
  }

  #clearTail(): void {
    if (this.#tail !== undefined) clearTimeout(this.#tail);
    this.#tail = undefined;
  }

  #handle(events: readonly FrameEvent[]): void {
    for (const e of events) {
      if (e.kind === 'garbage') this.#gw.metrics.discarded(e.reason, e.bytes);
      else this.#packet(e);
    }
  }

  /** #takeToken spends one CRC-failure token (refilled at badCrcPerMinute per minute). */
  #takeToken(): boolean {
    const rate = this.#gw.options.badCrcPerMinute;
    if (rate === 0) return false;
    const now = this.#gw.options.now();
    this.#tokens = Math.min(rate, this.#tokens + ((now - this.#refilledAt) * rate) / 60_000);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  #packet(frame: Frame): void {
    const gw = this.#gw;
    const o = gw.options;
    const arrived = o.now();
    const inspected = inspectFrame(frame, { ...(this.#peer !== undefined ? { peer: this.#peer } : {}), legacyCrc: o.legacyCrc, parserVersion: PARSER_VERSION });
    gw.metrics.packet(inspected.segment.mn, inspected.crc.ok, o.wallClock() / 1000);
    if (!inspected.crc.ok && !this.#takeToken()) {
      gw.metrics.notAnchored('crc-rate-limit');
      return;
    }
    // Synchronous up to the queueing: the ledger reads its clock now, as the packet arrives.
    const appended = o.ledger.append([{ type: 'hj212', raw: frame.raw, digest: digestBytes(frame.raw, gw.digestAlg), meta: inspected.meta }], o.submitter).then(
      () => {
        gw.metrics.anchored((o.now() - arrived) / 1000);
        return true;
      },
      (err: unknown) => {
        const reason = notAnchoredReason(err);
        gw.metrics.notAnchored(reason);
        if (reason === 'error' || reason === 'invalid') o.log(`hj212: anchoring a packet from ${this.#peer ?? 'unknown peer'} failed; no reply sent`, err);
        return false;
      },
    );
    this.#inFlight++;
    if (this.#inFlight >= o.maxInFlight && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
    const reply = inspected.reply;
    this.#chain = this.#chain.then(async () => {
      const ok = await appended;
      this.#inFlight--;
      if (this.#paused && this.#inFlight < o.maxInFlight && !this.#ending) {
        this.#paused = false;
        this.#socket.resume();
      }
      if (ok && reply !== undefined && this.#socket.writable) {
        this.#socket.write(reply.bytes);
        gw.metrics.reply(reply.cn);
      }
    });
  }

  /**
   * end stops reading (the peer ended, went idle, or the gateway closes), takes a frame still
   * waiting for its CR LF, and ends the connection once every reply is written. Idempotent.
   */
  end(): Promise<void> {
    if (!this.#ending) {
      this.#ending = true;
      this.#clearTail();
      this.#socket.pause();
      this.#handle(this.#framer.flush());
      void this.#chain.then(() => {
        this.#socket.end();
        // A peer that never reads would hold the socket: destroy it after the grace period.
        setTimeout(() => this.#socket.destroy(), this.#gw.options.closeGraceMs).unref();
      });
    }
    return this.#chain;
  }

  /** destroy drops the connection at once. */
  destroy(): void {
    this.#socket.destroy();
  }
}

/** Gateway options with every default applied. */
type ResolvedOptions = Required<Omit<GatewayOptions, 'registry' | 'legacyCrc'>> & { readonly legacyCrc: ReadonlyMap<string, readonly CrcVariant[]> };

function submitterOf(id: string): string {
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(id)) throw new Error(`hj212 gateway: submitter got ${JSON.stringify(id)}, want 1-64 characters of [A-Za-z0-9._:-]`);
  return id;
}

function check(value: number, what: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new Error(`hj212 gateway: ${what} got ${value}, want an integer in [${min}, ${max}]`);
  return value;
}

/**
 * Hj212Gateway listens for HJ 212 data loggers and anchors every packet they send.
 * Start it with {@link Hj212Gateway.start}; close it BEFORE closing the ledger, so every packet
 * received is anchored (or refused) and every due reply is sent.
 */
export class Hj212Gateway {
  readonly options: ResolvedOptions;
  readonly metrics: GatewayMetrics;
  /** The log's content digest algorithm (SPEC.md#crypto-suites), taken once from its key. */
  readonly digestAlg: DigestAlg;
  readonly #server: Server;
  readonly #connections = new Set<Connection>();
  #closing: Promise<void> | undefined;

  private constructor(options: ResolvedOptions, metrics: GatewayMetrics) {
    this.options = options;
    this.metrics = metrics;
    this.digestAlg = options.ledger.suite.digestAlg;
    this.#server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, (socket) => this.#accept(socket));
    this.#server.maxConnections = options.maxConnections;
    this.#server.on('drop', () => metrics.refused());
  }

  /**
   * start listens on `host:port` (port 0 picks a free one) and resolves once listening.
   * Requires: `ledger` is open; numeric options are integers in their documented ranges (else a
   * plain Error naming the option).
   */
  static async start(o: GatewayOptions): Promise<Hj212Gateway> {
    const d = GATEWAY_DEFAULTS;
    const options: ResolvedOptions = {
      ledger: o.ledger,
      port: check(o.port, 'port', 0, 65535),
      host: o.host,
      submitter: submitterOf(o.submitter ?? d.submitter),
      legacyCrc: o.legacyCrc ?? new Map(),
      idleTimeoutMs: check(o.idleTimeoutMs ?? d.idleTimeoutMs, 'idleTimeoutMs', 1, 2 ** 31 - 1),
      maxConnections: check(o.maxConnections ?? d.maxConnections, 'maxConnections', 1, 1_000_000),
      badCrcPerMinute: check(o.badCrcPerMinute ?? d.badCrcPerMinute, 'badCrcPerMinute', 0, 1_000_000),
      maxSegmentBytes: check(o.maxSegmentBytes ?? d.maxSegmentBytes, 'maxSegmentBytes', 1, 9999),
      tailWaitMs: check(o.tailWaitMs ?? d.tailWaitMs, 'tailWaitMs', 1, 60_000),
      maxInFlight: check(o.maxInFlight ?? d.maxInFlight, 'maxInFlight', 1, 1_000_000),
      maxDevices: check(o.maxDevices ?? d.maxDevices, 'maxDevices', 1, 1_000_000),
      closeGraceMs: check(o.closeGraceMs ?? d.closeGraceMs, 'closeGraceMs', 0, 600_000),
      log: o.log ?? ((message, err) => console.error(message, err)),
      now: o.now ?? (() => performance.now()),
      wallClock: o.wallClock ?? (() => Date.now()),
    };
    const metrics = createGatewayMetrics(o.registry ?? new Registry(), options.maxDevices, options.legacyCrc.keys());
    const gw = new Hj212Gateway(options, metrics);
    await new Promise<void>((resolve, reject) => {
      gw.#server.once('error', reject);
      gw.#server.listen(options.port, options.host, () => {
        gw.#server.off('error', reject);
        resolve();
      });
    });
    gw.#server.on('error', (err) => options.log('hj212: server error', err));
    return gw;
  }

  /** The address listened on. */
  get address(): AddressInfo {
    return this.#server.address() as AddressInfo;
  }

  /** Open device connections. */
  get connections(): number {
    return this.#connections.size;
  }

  #accept(socket: Socket): void {
    if (this.#closing !== undefined) {
      socket.destroy();
      return;
    }
    this.#connections.add(new Connection(this, socket));
    this.metrics.connection(1);
  }

  /** forget drops a closed connection. @internal Called by the connection itself. */
  forget(c: Connection): void {
    if (this.#connections.delete(c)) this.metrics.connection(-1);
  }

  /**
   * close stops accepting connections, stops reading from every device, lets the packets already
   * received be anchored and their replies be written (the ledger must still be open), then ends
   * every connection (destroying any still open after `closeGraceMs`). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      await Promise.all([...this.#connections].map((c) => c.end()));
      const hard = setTimeout(() => {
        for (const c of this.#connections) c.destroy();
      }, this.options.closeGraceMs);
      await closed;
      clearTimeout(hard);
    })();
    return this.#closing;
  }
}
