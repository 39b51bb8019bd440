/**
 * `GET /v1/events`: the explorer's live feed, server-sent events (WHATWG HTML §9.2). Each newly
 * published block is one `event: block` whose `id` is its height and whose data is
 * `{height, first, count, size, time, blockHash}`. The publisher only queues the block: the
 * writes happen on a later turn, one shared text for every client. A client that does not read
 * (more than 64 KiB waiting) is dropped, never buffered for; a comment every 15 s keeps idle
 * connections (and proxies) open. At most 100 clients (then 503 OVERLOADED); {@link BlockEvents.close}
 * ends every stream so the server's close does not wait for them. Missed blocks (a reconnect,
 * a drop) are in `GET /v1/blocks`.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { blockHash } from '../../core/block.js';
import { toHex } from '../../core/bytes.js';
import type { Ledger } from '../../log/ledger.js';
import type { Published } from '../../log/publisher.js';
import { HttpProblem } from '../errors.js';
import { defineRoute, type Route } from '../route.js';
import { decimalString, hashHex } from '../schemas.js';

/** Zod schema of the data of one `block` event. */
export const blockEventSchema = z.object({
  height: decimalString,
  first: decimalString.describe('index of the first entry the block seals'),
  count: decimalString.describe('entries it seals'),
  size: decimalString.describe('tree size of its checkpoint (first + count)'),
  time: z.string().describe('when its checkpoint was signed, RFC 3339 UTC'),
  blockHash: hashHex,
});

/** Tuning of the event feed (tests). */
export interface BlockEventOptions {
  /** Most concurrent clients. Default 100. */
  readonly maxClients?: number;
  /** Interval of the keep-alive comment, ms. Default 15,000. */
  readonly heartbeatMs?: number;
  /** A client with more than this many bytes not yet sent is dropped. Default 64 KiB. */
  readonly maxBufferedBytes?: number;
}

/** BlockEvents fans published blocks out to the connected event streams. */
export class BlockEvents {
  readonly #ledger: Ledger;
  readonly #clients = new Set<Response>();
  readonly #maxClients: number;
  readonly #heartbeatMs: number;
  readonly #maxBuffered: number;
  #unsubscribe: (() => void) | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #queue: Published[] = [];
  #closed = false;

  constructor(ledger: Ledger, o: BlockEventOptions = {}) {
    this.#ledger = ledger;
    this.#maxClients = o.maxClients ?? 100;
    this.#heartbeatMs = o.heartbeatMs ?? 15_000;
    this.#maxBuffered = o.maxBufferedBytes ?? 64 * 1024;
  }

  /** Connected clients. */
  get clients(): number {
    return this.#clients.size;
  }

  /** open starts the event stream on `res` (refused with 503 past the client limit or after close). */
  open(req: Request, res: Response): void {
    if (this.#closed) throw new HttpProblem(503, 'UNAVAILABLE', 'the service is shutting down', { headers: { 'Retry-After': '5' } });
    if (this.#clients.size >= this.#maxClients) {
      throw new HttpProblem(503, 'OVERLOADED', `too many event streams open (${this.#maxClients}); retry later, or poll GET /v1/log`, { headers: { 'Retry-After': '10' } });
    }
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('X-Accel-Buffering', 'no');
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // Liveness is the heartbeat's business, not the idle timeout's.
    res.setTimeout(0);
    res.flushHeaders();
    res.write('retry: 5000\n: guzheng block events\n\n');
    this.#clients.add(res);
    res.on('close', () => this.#drop(res));
    if (this.#unsubscribe === undefined) this.#unsubscribe = this.#ledger.onBlock((p) => this.#enqueue(p));
    if (this.#heartbeat === undefined) {
      this.#heartbeat = setInterval(() => this.#send(': keep-alive\n\n'), this.#heartbeatMs);
      this.#heartbeat.unref();
    }
  }

  /** close ends every stream and refuses new ones. */
  close(): void {
    this.#closed = true;
    for (const res of [...this.#clients]) {
      this.#clients.delete(res);
      res.end();
    }
    this.#idle();
  }

  #drop(res: Response): void {
    if (this.#clients.delete(res) && this.#clients.size === 0) this.#idle();
  }

  /** #idle stops listening when nobody does. */
  #idle(): void {
    if (this.#clients.size > 0) return;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  /** #enqueue runs on the publisher's path: it only queues; the writes happen on a later turn. */
  #enqueue(p: Published): void {
    this.#queue.push(p);
    if (this.#queue.length === 1) setImmediate(() => this.#flush());
  }

  #flush(): void {
    const queue = this.#queue;
    this.#queue = [];
    const suite = this.#ledger.suite;
    let text = '';
    for (const { block } of queue) {
      const data = {
        height: block.height.toString(),
        first: block.first.toString(),
        count: block.count.toString(),
        size: (block.first + block.count).toString(),
        time: block.time,
        blockHash: toHex(blockHash(block, suite)),
      };
      text += `id: ${data.height}\nevent: block\ndata: ${JSON.stringify(data)}\n\n`;
    }
    this.#send(text);
  }

  #send(text: string): void {
    for (const res of [...this.#clients]) {
      if (res.writableLength > this.#maxBuffered) {
        // Not reading: dropped rather than buffered for. It reconnects and reads /v1/blocks.
        this.#clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(text);
    }
    if (this.#clients.size === 0) this.#idle();
  }
}

/** The event feed route over `events`, the app's feed (closed with the app). */
export function eventRoutes(events: BlockEvents): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/events',
      operationId: 'events',
      tag: 'explorer',
      summary: 'Server-sent events: one `block` event per newly published block',
      description:
        'Send `Accept: text/event-stream` (EventSource does); without it the answer is 406. Each event is `event: block`, `id: <height>`, `data: {height, first, count, size, time, blockHash}` (blockEvent below). A comment every 15 s keeps the stream open. A client that stops reading is dropped; blocks missed meanwhile are in GET /v1/blocks. At most 100 streams at a time: then 503 OVERLOADED with Retry-After.',
      access: 'public',
      responses: {
        200: { description: 'the event stream (text/event-stream); each data line is a blockEvent', contentType: 'text/event-stream', schema: blockEventSchema },
      },
      errors: [406, 503],
      handle({ req, res }) {
        if (!/\btext\/event-stream\b/i.test(req.get('accept') ?? '')) {
          throw new HttpProblem(406, 'INPUT_INVALID', 'this is a server-sent event stream: send Accept: text/event-stream (EventSource does; curl -N -H "Accept: text/event-stream")', { field: 'Accept' });
        }
        events.open(req, res);
      },
    }),
  ];
}
