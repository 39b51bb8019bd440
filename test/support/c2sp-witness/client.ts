/**
 * A minimal, independent C2SP tlog-witness client (c2sp.org/tlog-witness §add-checkpoint) for
 * interop tests: builds the request body, posts it, and checks the returned cosignature lines
 * with test/support/c2sp-witness/tlog.ts. Shares no code with src/.
 */
import { b64, verifyCosignatureLine } from './tlog.js';

export interface WitnessAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** requestBody: `old <n>\n`, one base64 hash per line, an empty line, the signed note. */
export const requestBody = (oldSize: bigint | number, proof: readonly Uint8Array[], note: string): string => `old ${oldSize}\n${proof.map((h) => b64(h) + '\n').join('')}\n${note}`;

/** addCheckpoint posts to `<prefix>/add-checkpoint`. */
export async function addCheckpoint(prefix: string, oldSize: bigint | number, proof: readonly Uint8Array[], note: string): Promise<WitnessAnswer> {
  const res = await fetch(`${prefix}/add-checkpoint`, { method: 'POST', body: requestBody(oldSize, proof, note) });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text() };
}

/**
 * cosignaturesFrom returns the times of the valid cosignatures in a 200 body by `witnessVkey`
 * over `text`, ignoring lines by other keys (tlog-witness: "The client MUST ignore any
 * cosignatures from unknown keys").
 */
export function cosignaturesFrom(body: string, text: string, witnessVkey: string): bigint[] {
  if (!body.endsWith('\n')) throw new Error('witness answer: lines must end in a newline');
  return body
    .slice(0, -1)
    .split('\n')
    .map((l) => verifyCosignatureLine(text, l, witnessVkey))
    .filter((t): t is bigint => t !== undefined);
}
