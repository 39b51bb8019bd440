/**
 * A raw HTTP/1.1 client over a TCP socket, for hostile-input tests: it sends exactly the bytes it
 * is given (any method, request target, header or body, even ones fetch and node:http refuse to
 * send) and reads the answer until the server closes the connection.
 */
import { connect } from 'node:net';

/** What came back. `status` is 0 when the server closed without answering. */
export interface RawResponse {
  readonly status: number;
  readonly head: string;
  readonly body: Buffer;
  /** Milliseconds until the connection closed. */
  readonly ms: number;
}

/** One request, spelled out. */
export interface RawRequest {
  readonly method: string;
  /** The request target, sent as is (`/v1/entries?x=1`). */
  readonly target: string;
  /** Header lines without CRLF (`Content-Type: application/json`). Host and Connection are added. */
  readonly headers?: readonly string[];
  readonly body?: Uint8Array;
  /** Send the body with `Transfer-Encoding: chunked` instead of `Content-Length`. */
  readonly chunked?: boolean;
}

/** encodeRequest renders a request as bytes. */
export function encodeRequest(r: RawRequest): Buffer {
  const body = Buffer.from(r.body ?? new Uint8Array(0));
  const lines = [`${r.method} ${r.target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...(r.headers ?? [])];
  if (r.chunked) lines.push('Transfer-Encoding: chunked');
  else if (body.length > 0 || r.method === 'POST') lines.push(`Content-Length: ${body.length}`);
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
  if (!r.chunked) return Buffer.concat([head, body]);
  const parts: Buffer[] = [head];
  for (let at = 0; at < body.length; at += 1000) {
    const chunk = body.subarray(at, Math.min(body.length, at + 1000));
    parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`, 'latin1'), chunk, Buffer.from('\r\n', 'latin1'));
  }
  parts.push(Buffer.from('0\r\n\r\n', 'latin1'));
  return Buffer.concat(parts);
}

/**
 * send writes `bytes` to 127.0.0.1:`port` (all at once, or in `pieces` with `delayMs` between
 * them) and resolves with the answer once the server closes the connection (or after `timeoutMs`,
 * then with what arrived so far).
 */
export function send(port: number, bytes: Uint8Array | readonly Uint8Array[], o: { delayMs?: number; timeoutMs?: number } = {}): Promise<RawResponse> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const all = Buffer.concat(got);
      const split = all.indexOf('\r\n\r\n');
      const head = (split < 0 ? all : all.subarray(0, split)).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve({ status: m?.[1] !== undefined ? Number(m[1]) : 0, head, body: split < 0 ? Buffer.alloc(0) : all.subarray(split + 4), ms: performance.now() - t0 });
    };
    const timer = setTimeout(finish, o.timeoutMs ?? 20_000);
    socket.on('data', (d: Buffer) => got.push(d));
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', finish);
    socket.on('connect', () => {
      const pieces = bytes instanceof Uint8Array ? [bytes] : bytes;
      let i = 0;
      const next = () => {
        if (done || socket.destroyed) return;
        const p = pieces[i++];
        if (p === undefined) return;
        socket.write(p, () => {
          if (i < pieces.length) setTimeout(next, o.delayMs ?? 0);
        });
      };
      next();
    });
  });
}

/** request sends one request and reads the answer. */
export function request(port: number, r: RawRequest, timeoutMs?: number): Promise<RawResponse> {
  return send(port, encodeRequest(r), timeoutMs !== undefined ? { timeoutMs } : {});
}
