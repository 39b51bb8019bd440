/**
 * A minimal, independent C2SP tlog-witness (c2sp.org/tlog-witness §add-checkpoint, with C2SP PR
 * #280's 422 for a same-size different root and the empty root at size 0), on node:http, keeping
 * its state in memory. Written from the spec text for interop tests; shares no code with src/.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cosign, ed25519Verify, parseSigLine, parseVkey, sha256, unb64, vkey, verifyConsistency, witnessKey, type WitnessKey } from './tlog.js';

export interface C2spWitness {
  readonly url: string;
  readonly vkey: string;
  close(): Promise<void>;
}

/** startC2spWitness serves POST /add-checkpoint for the logs given as vkeys (type 0x01, named by origin). */
export async function startC2spWitness(name: string, type: number, logVkeys: string[]): Promise<C2spWitness> {
  const key: WitnessKey = witnessKey(name, type);
  const logs = new Map(logVkeys.map((v) => [parseVkey(v).name, parseVkey(v)]));
  const state = new Map<string, { size: bigint; root: Uint8Array }>();
  const answer = (body: string): { status: number; type: string; body: string } => {
    const lines = body.split('\n');
    const m = /^old (0|[1-9][0-9]*)$/.exec(lines[0] ?? '');
    if (!m) return { status: 400, type: 'text/plain', body: 'bad old line\n' };
    const old = BigInt(m[1]!);
    let i = 1;
    const proof: Uint8Array[] = [];
    while (i < lines.length && lines[i] !== '') proof.push(unb64(lines[i++]!));
    if (i >= lines.length || proof.length > 63) return { status: 400, type: 'text/plain', body: 'bad proof\n' };
    const note = lines.slice(i + 1).join('\n');
    const sep = note.lastIndexOf('\n\n');
    const text = note.slice(0, sep + 1);
    const [origin, sizeLine, rootLine] = text.split('\n');
    if (sep < 0 || origin === undefined || !/^(0|[1-9][0-9]*)$/.test(sizeLine ?? '')) return { status: 400, type: 'text/plain', body: 'bad checkpoint\n' };
    const log = logs.get(origin);
    if (log === undefined) return { status: 404, type: 'text/plain', body: 'unknown origin\n' };
    const signed = note
      .slice(sep + 2, -1)
      .split('\n')
      .some((l) => {
        const p = parseSigLine(l);
        return p !== undefined && p.name === log.name && Buffer.compare(p.id, log.id) === 0 && ed25519Verify(log.pk, new TextEncoder().encode(text), p.rest);
      });
    if (!signed) return { status: 403, type: 'text/plain', body: 'not signed by the log\n' };
    const size = BigInt(sizeLine!);
    const root = unb64(rootLine!);
    if (old > size) return { status: 400, type: 'text/plain', body: 'old size above checkpoint size\n' };
    const prev = state.get(origin) ?? { size: 0n, root: sha256() };
    if (old !== prev.size) return { status: 409, type: 'text/x.tlog.size', body: `${prev.size}\n` };
    if (size === 0n && Buffer.compare(root, sha256()) !== 0) return { status: 422, type: 'text/plain', body: 'size 0 needs the empty root\n' };
    if (!verifyConsistency(old, size, proof, prev.root, root)) return { status: 422, type: 'text/plain', body: 'inconsistent\n' };
    state.set(origin, { size, root });
    return { status: 200, type: 'text/plain', body: cosign(key, text, BigInt(Math.floor(Date.now() / 1000))) + '\n' };
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let a = { status: 404, type: 'text/plain', body: 'not found\n' };
      try {
        if (req.method === 'POST' && req.url === '/add-checkpoint') a = answer(Buffer.concat(chunks).toString('utf8'));
      } catch {
        a = { status: 400, type: 'text/plain', body: 'malformed\n' };
      }
      res.writeHead(a.status, { 'content-type': a.type }).end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, vkey: vkey(name, type, key.pk), close: () => new Promise((resolve) => server.close(() => resolve())) };
}
