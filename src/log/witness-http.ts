/**
 * The witness client's one HTTP exchange (c2sp.org/tlog-witness `POST <prefix>/add-checkpoint`),
 * on node:http(s) with a keep-alive agent. The client posts a checkpoint to every witness each
 * round, several rounds a second under load; undici's `fetch` spent about a millisecond of the
 * service's event loop per request (bench scenario 10), on the same thread that answers receipts.
 *
 * The answer's body is read up to {@link MAX_ANSWER} bytes (a cosignature line is under 200; a
 * 409's body is one decimal); the rest is discarded and the connection closed. Redirects are not
 * followed: a 3xx is an answer like any other, which the client counts as an error.
 */
import { Buffer } from 'node:buffer';
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';

/** Most bytes of an answer kept. */
export const MAX_ANSWER = 65_536;

/** A witness's answer: its status and (at most MAX_ANSWER bytes of) its body as UTF-8. */
export interface WitnessAnswer {
  readonly status: number;
  readonly text: string;
  /** A 429's or 503's Retry-After in seconds (RFC 9110 §10.2.3, the delay form only). */
  readonly retryAfter?: number;
}

/** parseRetryAfter reads a Retry-After given as delay-seconds; a date or anything else: undefined. */
export function parseRetryAfter(value: string | null | undefined): number | undefined {
  return value !== null && value !== undefined && /^[0-9]{1,9}$/.test(value.trim()) ? Number(value.trim()) : undefined;
}

// One agent per scheme for the process: a handful of witnesses, one request in flight each.
const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 4 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 4 }) };

/**
 * postCheckpoint POSTs `body` to `url` and resolves with the answer, or rejects on a network
 * error, a malformed URL or when no whole answer arrived within `timeoutMs`.
 */
export function postCheckpoint(url: string, body: string, timeoutMs: number): Promise<WitnessAnswer> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new Error(`not a URL: ${url}`));
      return;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      reject(new Error(`unsupported scheme ${u.protocol} in ${url}`));
      return;
    }
    const payload = Buffer.from(body, 'utf8');
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(u, {
      method: 'POST',
      agent: u.protocol === 'https:' ? agents.https : agents.http,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': payload.length },
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    req.on('error', fail);
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on('data', (chunk: Buffer) => {
        if (kept >= MAX_ANSWER) return;
        chunks.push(chunk.subarray(0, MAX_ANSWER - kept));
        kept += Math.min(chunk.length, MAX_ANSWER - kept);
        // An answer longer than any a witness gives: keep what fits, drop the connection.
        if (kept >= MAX_ANSWER) res.destroy();
      });
      let ended = false;
      res.on('end', () => (ended = true));
      // 'close' comes last on every path: after 'end', after our destroy of an overlong answer,
      // or when the connection broke mid-answer (then it is no answer).
      res.on('close', () => {
        if (!ended && kept < MAX_ANSWER) return fail(new Error('the answer was cut short'));
        clearTimeout(timer);
        const retryAfter = parseRetryAfter(res.headers['retry-after']);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ...(retryAfter !== undefined ? { retryAfter } : {}) });
      });
      res.on('error', fail);
    });
    req.end(payload);
  });
}
