/**
 * The log's witness client (src/log/witness-client.ts) against scripted witnesses: each test's
 * witness is a `fetch` (WitnessClientOptions.fetch) that answers as the test says, or, for the
 * timeout, a loopback HTTP server that never answers. The log is a real Ledger on a MemoryStore
 * with one block per size (0 … n), so proofs, signed sizes and the cosignature book are real.
 * Witness keys and cosignatures come from test/support/c2sp-witness/tlog.ts (no code from src/).
 *
 * Covers: timeouts (unavailable, anchoring not blocked, the same checkpoint asked again after the
 * backoff), 409 handling (retry from the named size with a proof, a 409 loop kept as a refusal, a
 * 409 without a size), 200s without a valid cosignature, 422 kept as evidence, rollback anomalies
 * (also after a restart, from the kept cosignatures), waitForQuorum, and two witnesses'
 * cosignatures in one note.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseBlock } from '../../src/core/block.js';
import { fromHex } from '../../src/core/bytes.js';
import { openCheckpoint } from '../../src/core/checkpoint.js';
import { openCosigned } from '../../src/core/cosignature.js';
import { generateSignerKey } from '../../src/core/note.js';
import { parsePolicy, verifyWithPolicy, type Policy } from '../../src/core/policy.js';
import { Ledger } from '../../src/log/ledger.js';
import type { Published } from '../../src/log/publisher.js';
import { MAX_CONFLICTS, WitnessClient, type WitnessClientOptions, type WitnessStatus } from '../../src/log/witness-client.js';
import { MemoryStore } from '../../src/storage/memory.js';
import { ED25519_COSIG, cosign, unb64, verifyConsistency, vkey, witnessKey, type WitnessKey } from '../support/c2sp-witness/tlog.js';

const LOG = generateSignerKey('guzheng.test/log', new Uint8Array(32).fill(7));

/** One add-checkpoint request as the witness received it. */
interface Sent {
  readonly url: string;
  readonly body: string;
  readonly old: bigint;
  readonly proof: Uint8Array[];
  readonly note: string;
  /** The checkpoint text (what a cosignature signs). */
  readonly text: string;
  readonly size: bigint;
}

/** parseSent splits an add-checkpoint body (tlog-witness §add-checkpoint), independently of src/witness. */
function parseSent(url: string, body: string): Sent {
  const m = /^old (0|[1-9][0-9]*)\n/.exec(body);
  if (!m) throw new Error(`bad body: ${JSON.stringify(body.slice(0, 40))}`);
  const rest = body.slice(m[0].length);
  // Proof lines, then an empty line, then the note.
  const end = rest.startsWith('\n') ? 0 : rest.indexOf('\n\n') + 1;
  if (end < 0) throw new Error('bad body: no empty line after the proof');
  const proof = rest.slice(0, end).split('\n').filter((l) => l !== '').map(unb64);
  const note = rest.slice(end + 1);
  const text = note.slice(0, note.lastIndexOf('\n\n') + 1);
  return { url, body, old: BigInt(m[1]!), proof, note, text, size: BigInt(text.split('\n')[1]!) };
}

type Answer = { readonly status: number; readonly body: string };

/** scripted returns a fetch whose witnesses answer with `answer` (by URL), and the requests it got. */
function scripted(answer: (req: Sent, n: number) => Answer | Promise<Answer>): { fetch: typeof fetch; sent: Sent[] } {
  const sent: Sent[] = [];
  const f = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const req = parseSent(String(input), String(init?.body));
    sent.push(req);
    const a = await answer(req, sent.length - 1);
    return new Response(a.body, { status: a.status, headers: { 'content-type': a.status === 409 ? 'text/x.tlog.size' : 'text/plain' } });
  };
  return { fetch: f, sent };
}

/** A witness of the tests: its key (independent code), its policy line and URL. */
interface TestWitness {
  readonly name: string;
  readonly key: WitnessKey;
  readonly vkey: string;
  readonly url: string;
  /** A 200 answer: this witness's cosignature of the request's checkpoint. */
  cosigns(req: Sent): Answer;
}

function testWitness(name: string, url = `http://${name}.invalid/w`): TestWitness {
  const key = witnessKey(`witness.test/${name}`, ED25519_COSIG);
  return { name, key, vkey: vkey(key.name, key.type, key.pk), url, cosigns: (req) => ({ status: 200, body: `${cosign(key, req.text, BigInt(Math.floor(Date.now() / 1000)))}\n` }) };
}

function policyOf(ws: readonly TestWitness[], quorum = 'all'): Policy {
  return parsePolicy(`log ${LOG.verifierKey}\n${ws.map((w) => `witness ${w.name} ${w.vkey} ${w.url}\n`).join('')}group q ${quorum} ${ws.map((w) => w.name).join(' ')}\nquorum q\n`);
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

/** logWithBlocks opens a ledger holding blocks 0 … n, block k signing size k. */
async function logWithBlocks(n: number, extra: Partial<Parameters<typeof Ledger.open>[0]> = {}): Promise<Ledger> {
  // Publishes only while someone waits: one append and one wait make exactly one block.
  const ledger = await Ledger.open({ store: new MemoryStore(), signerKey: LOG.signerKey, checkpointIntervalMs: 3_600_000, receiptIntervalMs: 1, ...extra });
  open.push(ledger);
  for (let i = 0; i < n; i++) {
    const [a] = await ledger.append([{ type: 'record', record: { i }, meta: {} }], 'officer-01');
    await ledger.waitForReceipt(a!.index, 10_000);
  }
  return ledger;
}

/** published returns block `height` of the ledger as the publisher announced it. */
async function published(ledger: Ledger, height: bigint): Promise<Published> {
  const json = await ledger.block(height);
  if (json === undefined) throw new Error(`no block ${height}`);
  const block = parseBlock(json);
  const p = { block, checkpoint: openCheckpoint(block.checkpoint, ledger.verifierKey) };
  expect(p.checkpoint.checkpoint.size).toBe(height);
  return p;
}

/** clientFor makes a client over the ledger's book and proofs (as Ledger.open wires it), with the test's fetch. */
function clientFor(ledger: Ledger, policy: Policy, f: typeof fetch, more: Partial<WitnessClientOptions> = {}): WitnessClient {
  const c = new WitnessClient({
    policy,
    book: ledger.cosignatures,
    prove: async (from, to) => (await ledger.consistencyProof(from, to)).path.map((h) => fromHex(h, 32)),
    signedSize: (size) => ledger.isSignedSize(size),
    checkpointAt: async (height) => (await ledger.block(height))?.checkpoint,
    fetch: f,
    timeoutMs: 5000,
    ...more,
  });
  open.push({ close: () => c.stop() });
  return c;
}

async function until(what: string, f: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const statusOf = (c: WitnessClient, name: string): WitnessStatus => {
  const s = c.status().find((x) => x.name === name);
  if (s === undefined) throw new Error(`no witness ${name}`);
  return s;
};
const settled = (c: WitnessClient, name: string) => () => {
  const r = statusOf(c, name).requests;
  return r.cosigned + r.conflict + r.refused + r.unavailable + r.error > 0;
};

describe('WitnessClient: a witness that never answers', () => {
  it('is timed out (unavailable) without blocking anchoring, and the same checkpoint is asked again after the backoff', async () => {
    // A real socket that accepts requests and never answers them.
    const received: string[] = [];
    const server: Server = createServer((req: IncomingMessage) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => received.push(body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    open.push({
      close: () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    });
    const w = testWitness('silent', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const events: string[] = [];
    const ledger = await logWithBlocks(0, { witnessPolicy: policyOf([w]), witnessTimeoutMs: 300, onWitnessEvent: (l) => events.push(l) });
    await until('the witness got the genesis checkpoint', () => received.length >= 1);
    // Anchoring goes on while the witness holds the request: the entry is acknowledged and gets
    // its receipt (with no cosignature) although no witness ever answered.
    const [a] = await ledger.append([{ type: 'record', record: { while: 'silent' }, meta: {} }], 'officer-01');
    const receipt = await ledger.waitForReceipt(a!.index, 10_000);
    expect(receipt.checkpoint).toBe(ledger.latest().block.checkpoint);
    const latest = ledger.latest().block.checkpoint;
    expect(ledger.checkpointSize).toBe(1n);
    // No newer checkpoint is published, yet the latest one is sent again after each timeout.
    await until('the latest checkpoint sent twice', () => received.filter((b) => parseSent('', b).note === latest).length >= 2);
    expect(ledger.checkpointSize).toBe(1n);
    const st = ledger.witnesses!.status()[0]!;
    expect(st.requests.unavailable).toBeGreaterThanOrEqual(2);
    expect(st.requests.cosigned).toBe(0);
    expect(st.consecutiveFailures).toBeGreaterThanOrEqual(2);
    expect(st.lastError).toMatch(/no answer to checkpoint [01]/);
    expect(events.some((e) => /witness silent: no answer to checkpoint/.test(e))).toBe(true);
    expect(ledger.witnesses!.witnessed).toBeUndefined();
  }, 30_000);
});

describe('WitnessClient: 409 answers', () => {
  it('retries from the size a 409 names, with the consistency proof from it', async () => {
    const ledger = await logWithBlocks(7);
    const w = testWitness('w');
    const { fetch: f, sent } = scripted((req, n) => (n === 0 ? { status: 409, body: '3\n' } : w.cosigns(req)));
    const c = clientFor(ledger, policyOf([w]), f);
    const p7 = await published(ledger, 7n);
    c.notify(p7);
    await until('cosigned', () => statusOf(c, 'w').requests.cosigned === 1);
    expect(sent).toHaveLength(2);
    expect(sent[0]!.old).toBe(0n);
    expect(sent[0]!.proof).toEqual([]);
    expect(sent[1]!.body.startsWith('old 3\n')).toBe(true);
    expect(sent[1]!.note).toBe(p7.block.checkpoint);
    // The proof lines prove size 3 (as the log signed it) a prefix of size 7: checked with the
    // independent RFC 9162 verifier.
    const root3 = (await published(ledger, 3n)).checkpoint.checkpoint.root;
    expect(sent[1]!.proof.length).toBeGreaterThan(0);
    expect(verifyConsistency(3n, 7n, sent[1]!.proof, root3, p7.checkpoint.checkpoint.root)).toBe(true);
    const st = statusOf(c, 'w');
    expect([st.requests.conflict, st.requests.cosigned, st.anomalies, st.cosignedSize]).toEqual([1, 1, 0, '7']);
    expect(await ledger.cosignatures.linesAt(7n)).toHaveLength(1);
  });

  it('ends a 409 loop after MAX_CONFLICTS retries as a refusal kept with the last exchange', async () => {
    const ledger = await logWithBlocks(5);
    const w = testWitness('looping');
    const { fetch: f, sent } = scripted(() => ({ status: 409, body: '2\n' }));
    const c = clientFor(ledger, policyOf([w]), f);
    c.notify(await published(ledger, 5n));
    await until('refused', () => statusOf(c, 'looping').requests.refused === 1);
    expect(sent).toHaveLength(MAX_CONFLICTS + 1);
    const kept = (await ledger.cosignatures.refusalsFrom(5n, 10)).find((k) => k.height === 5n)?.refusals ?? [];
    const loop = kept.find((r) => r.status === 409);
    expect(loop?.witness).toBe('looping');
    expect(loop?.reason).toMatch(new RegExp(`409 loop: ${MAX_CONFLICTS + 1} conflicts for checkpoint 5`));
    expect(loop?.request).toBe(sent.at(-1)!.body);
    expect(loop?.response).toBe('2\n');
    const st = statusOf(c, 'looping');
    expect([st.requests.conflict, st.requests.refused, st.requests.cosigned]).toEqual([MAX_CONFLICTS + 1, 1, 0]);
    expect(st.lastError).toMatch(/409 loop for checkpoint 5/);
    // A refusal is final for that checkpoint: it is not asked again after the backoff (1 s).
    await new Promise((r) => setTimeout(r, 1500));
    expect(sent).toHaveLength(MAX_CONFLICTS + 1);
  });

  it('counts a 409 without a size body as an error', async () => {
    const ledger = await logWithBlocks(3);
    const w = testWitness('sizeless');
    const { fetch: f, sent } = scripted(() => ({ status: 409, body: 'conflict, try again\n' }));
    const c = clientFor(ledger, policyOf([w]), f);
    c.notify(await published(ledger, 3n));
    await until('answered', settled(c, 'sizeless'));
    await until('error counted', () => statusOf(c, 'sizeless').requests.error === 1);
    expect(sent).toHaveLength(1);
    const st = statusOf(c, 'sizeless');
    expect([st.requests.conflict, st.requests.error, st.requests.cosigned, st.consecutiveFailures]).toEqual([1, 1, 0, 1]);
    expect(st.lastError).toMatch(/409 without a size body \("conflict, try again\\n"\)/);
    expect(st.cosignedSize).toBeUndefined();
  });

  it('reports a 409 naming a size below one the witness already cosigned as a rollback, with the exchange', async () => {
    const ledger = await logWithBlocks(5);
    const w = testWitness('forgetful');
    const events: string[] = [];
    const { fetch: f, sent } = scripted((req, n) => (n === 1 ? { status: 409, body: '1\n' } : w.cosigns(req)));
    const c = clientFor(ledger, policyOf([w]), f, { onEvent: (l) => events.push(l) });
    c.notify(await published(ledger, 3n));
    await until('size 3 cosigned', () => statusOf(c, 'forgetful').requests.cosigned === 1);
    c.notify(await published(ledger, 5n));
    await until('size 5 cosigned', () => statusOf(c, 'forgetful').requests.cosigned === 2);
    // Size 5 was sent from 3 (what the witness cosigned), the witness said 1, the client went on from 1.
    expect(sent.map((x) => [x.old, x.size])).toEqual([
      [0n, 3n],
      [3n, 5n],
      [1n, 5n],
    ]);
    const st = statusOf(c, 'forgetful');
    expect(st.anomalies).toBe(1);
    expect(events.filter((e) => /rolled back/.test(e))).toEqual(['witness forgetful: says its latest cosigned size is 1, but it cosigned size 3 before: its state was rolled back']);
    const kept = (await ledger.cosignatures.refusalsFrom(5n, 10)).find((k) => k.height === 5n)?.refusals ?? [];
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ witness: 'forgetful', status: 0, request: sent[1]!.body, response: '1\n' });
    expect(kept[0]!.reason).toMatch(/^anomaly: .*rolled back/);
  });
});

describe('WitnessClient: refusals and bad answers', () => {
  it('counts no 200 whose lines are not a valid cosignature by the witness: another key, another checkpoint, garbage', async () => {
    const ledger = await logWithBlocks(4);
    const other = testWitness('impostor');
    // Same name as witness a, another key: its lines must not count for a.
    const sameName = witnessKey('witness.test/a', ED25519_COSIG);
    const ws = [testWitness('a'), testWitness('b'), testWitness('c'), testWitness('d')] as const;
    const p4 = await published(ledger, 4n);
    const t3 = (await published(ledger, 3n)).checkpoint.text;
    const { fetch: f } = scripted((req) => {
      if (req.url.startsWith(ws[0].url)) return { status: 200, body: `${cosign(sameName, req.text, 1n)}\n${other.cosigns(req).body}` };
      // b's real key over another checkpoint of the log.
      if (req.url.startsWith(ws[1].url)) return { status: 200, body: `${cosign(ws[1].key, t3, 1n)}\n` };
      if (req.url.startsWith(ws[2].url)) return { status: 200, body: 'cosigned!\n— witness.test/c AAAA\n' };
      // d: garbage around one valid line: only that line counts.
      return { status: 200, body: `garbage\n${ws[3].cosigns(req).body}— witness.test/d !!\n` };
    });
    const c = clientFor(ledger, policyOf(ws, 'any'), f);
    c.notify(p4);
    await until('all answered', () => ws.every((w) => settled(c, w.name)()));
    for (const w of ws.slice(0, 3)) {
      const st = statusOf(c, w.name);
      expect([w.name, st.requests.error, st.requests.cosigned, st.cosignedSize]).toEqual([w.name, 1, 0, undefined]);
      expect(st.lastError).toBe(`200 without a valid cosignature by ${w.vkey}`);
    }
    await until('d cosigned', () => statusOf(c, 'd').requests.cosigned === 1);
    const lines = await ledger.cosignatures.linesAt(4n);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^— witness\.test\/d /);
    const opened = openCosigned(c.witnessed!.note, LOG.verifierKey, ws.map((w) => w.vkey));
    expect(opened.cosignatures.map((x) => x.name)).toEqual(['witness.test/d']);
    expect(opened.failed).toEqual([]);
  });

  it('keeps a 422 as a refusal with the request and the answer, and counts it as an anomaly', async () => {
    const ledger = await logWithBlocks(6);
    const w = testWitness('strict');
    const events: string[] = [];
    const { fetch: f, sent } = scripted((_req, n) => (n === 0 ? { status: 409, body: '2\n' } : { status: 422, body: 'consistency proof does not verify\n' }));
    const c = clientFor(ledger, policyOf([w]), f, { onEvent: (l) => events.push(l) });
    c.notify(await published(ledger, 6n));
    await until('refused', () => statusOf(c, 'strict').requests.refused === 1);
    expect(sent).toHaveLength(2);
    await until('kept', async () => ((await ledger.cosignatures.refusalsFrom(6n, 10))[0]?.refusals.length ?? 0) >= 2);
    const kept = (await ledger.cosignatures.refusalsFrom(6n, 10))[0]!.refusals;
    const r422 = kept.find((r) => r.status === 422);
    expect(r422).toMatchObject({ witness: 'strict', reason: 'refused checkpoint 6 from old size 2', request: sent[1]!.body, response: 'consistency proof does not verify\n' });
    expect(r422!.request.startsWith('old 2\n')).toBe(true);
    expect(kept.some((r) => r.status === 0 && /^anomaly: refused checkpoint 6 \(422\)/.test(r.reason))).toBe(true);
    const st = statusOf(c, 'strict');
    expect([st.anomalies, st.requests.refused, st.requests.cosigned]).toEqual([1, 1, 0]);
    expect(st.lastError).toBe('422: consistency proof does not verify');
    expect(events.some((e) => /witness strict: refused checkpoint 6 \(422\)/.test(e))).toBe(true);
    expect(c.witnessed).toBeUndefined();
  });
});

describe('WitnessClient: quorum', () => {
  it('waitForQuorum resolves once the quorum is met, and with undefined on timeout', async () => {
    const ledger = await logWithBlocks(3);
    const w = testWitness('w');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { fetch: f } = scripted(async (req) => {
      await gate;
      return w.cosigns(req);
    });
    const c = clientFor(ledger, policyOf([w]), f);
    const waiting = c.waitForQuorum(3n, 10_000);
    const early = c.waitForQuorum(2n, 10_000);
    c.notify(await published(ledger, 3n));
    // Nothing is cosigned while the witness holds the request.
    expect(await c.waitForQuorum(3n, 50)).toBeUndefined();
    release();
    const got = await waiting;
    expect(got?.size).toBe(3n);
    expect(got?.block.height).toBe(3n);
    expect(await early).toBe(got);
    expect(verifyWithPolicy(got!.note, policyOf([w]), LOG.verifierKey).quorum.met).toBe(true);
    // Met already: resolves at once; a size not cosigned yet: undefined after the timeout.
    expect(await c.waitForQuorum(3n, 10_000)).toBe(got);
    expect(await c.waitForQuorum(4n, 50)).toBeUndefined();
  });

  it('sends each round one checkpoint, to every witness: witnesses of different speeds cosign the same checkpoints, so the quorum keeps up', async () => {
    const ledger = await logWithBlocks(12);
    const ws = [testWitness('fast'), testWitness('middle'), testWitness('slow')];
    const delay: Record<string, number> = { [ws[0]!.url]: 2, [ws[1]!.url]: 15, [ws[2]!.url]: 40 };
    const { fetch: f, sent } = scripted(async (req) => {
      await new Promise((r) => setTimeout(r, delay[req.url.replace(/\/add-checkpoint$/, '')]));
      return ws.find((w) => req.url.startsWith(w.url))!.cosigns(req);
    });
    const c = clientFor(ledger, policyOf(ws, 'all'), f);
    // Checkpoints are published faster than the slowest witness answers.
    for (let h = 1n; h <= 12n; h++) {
      c.notify(await published(ledger, h));
      await new Promise((r) => setTimeout(r, 3));
    }
    await until('the last checkpoint cosigned by all three', () => c.witnessed?.size === 12n);
    const sizesOf = (w: TestWitness) => sent.filter((x) => x.url.startsWith(w.url)).map((x) => x.size);
    // Every witness was asked about exactly the same checkpoints, in order: rounds, not a race.
    expect(sizesOf(ws[0]!)).toEqual(sizesOf(ws[2]!));
    expect(sizesOf(ws[1]!)).toEqual(sizesOf(ws[2]!));
    expect(sizesOf(ws[2]!)).toEqual([...sizesOf(ws[2]!)].sort((a, b) => (a < b ? -1 : 1)));
    // Checkpoints published during a round are coalesced: fewer rounds than checkpoints.
    expect(sizesOf(ws[2]!).length).toBeLessThan(12);
    // Every round's checkpoint reached the quorum.
    for (const size of sizesOf(ws[2]!)) {
      const note = (await ledger.cosignatures.linesAt(size)).length;
      expect(note, `checkpoint ${size}`).toBe(3);
    }
  });

  it('puts the cosignatures of two witnesses of one checkpoint, answering at once, in its cosigned note', async () => {
    const ledger = await logWithBlocks(5);
    const ws = [testWitness('court'), testWitness('notary')];
    let arrived = 0;
    let release!: () => void;
    const both = new Promise<void>((r) => (release = r));
    const { fetch: f } = scripted(async (req) => {
      // Both requests are in flight before either is answered: their book writes race.
      if (++arrived === 2) release();
      await both;
      return ws.find((w) => req.url.startsWith(w.url))!.cosigns(req);
    });
    const policy = policyOf(ws, 'all');
    const c = clientFor(ledger, policy, f);
    const waiting = c.waitForQuorum(5n, 10_000);
    c.notify(await published(ledger, 5n));
    const got = await waiting;
    expect(got?.size).toBe(5n);
    const opened = openCosigned(got!.note, LOG.verifierKey, ws.map((w) => w.vkey));
    expect(opened.cosignatures.map((x) => x.name)).toEqual(['witness.test/court', 'witness.test/notary']);
    expect(verifyWithPolicy(got!.note, policy, LOG.verifierKey).quorum.met).toBe(true);
    expect(new Set(await ledger.cosignatures.linesAt(5n))).toEqual(new Set(opened.cosignatures.map((x) => x.line)));
  });
});

describe('WitnessClient.seed: what the witnesses cosigned before a restart', () => {
  it('reads the largest verified cosigned size per witness back from the book, and reports a rollback after the restart', async () => {
    const ledger = await logWithBlocks(8);
    const ws = [testWitness('kept'), testWitness('other')];
    const policy = policyOf(ws, 'any');
    const before = scripted((req) => ws.find((w) => req.url.startsWith(w.url))!.cosigns(req));
    const first = clientFor(ledger, policy, before.fetch);
    for (const size of [3n, 5n]) {
      first.notify(await published(ledger, size));
      await until(`size ${size} cosigned`, () => first.status().every((s) => s.cosignedSize === String(size)));
    }
    await first.stop();
    // A line by `kept`'s real key kept with block 6, but over checkpoint 7: it proves nothing about
    // size 6 and must not count (the book is read back, so it is checked again).
    await ledger.cosignatures.add(6n, [cosign(ws[0]!.key, (await published(ledger, 7n)).checkpoint.text, 1n)]);

    // The restart: a new client over the same book, knowing nothing in memory. `kept` was rolled
    // back to size 3; `other` was not.
    const events: string[] = [];
    let keptAsked = 0;
    const after = scripted((req) => {
      const w = ws.find((x) => req.url.startsWith(x.url))!;
      return w.name === 'kept' && keptAsked++ === 0 ? { status: 409, body: '3\n' } : w.cosigns(req);
    });
    const second = clientFor(ledger, policy, after.fetch, { onEvent: (l) => events.push(l) });
    await second.seed();
    expect(second.status().map((s) => [s.name, s.cosignedSize])).toEqual([
      ['kept', '5'],
      ['other', '5'],
    ]);
    second.notify(await published(ledger, 8n));
    await until('size 8 cosigned', () => second.status().every((s) => s.cosignedSize === '8'));
    // Sent from the seeded size (5) with its proof; kept's 3 is below what it cosigned.
    const root = async (n: bigint) => (await published(ledger, n)).checkpoint.checkpoint.root;
    const kept = after.sent.filter((x) => x.url.startsWith(ws[0]!.url));
    const other = after.sent.filter((x) => x.url.startsWith(ws[1]!.url));
    expect(kept.map((x) => x.old)).toEqual([5n, 3n]);
    expect(other.map((x) => x.old)).toEqual([5n]);
    expect(verifyConsistency(5n, 8n, kept[0]!.proof, await root(5n), await root(8n))).toBe(true);
    expect(second.status().map((s) => [s.name, s.anomalies])).toEqual([
      ['kept', 1],
      ['other', 0],
    ]);
    expect(events).toEqual(['witness kept: says its latest cosigned size is 3, but it cosigned size 5 before: its state was rolled back']);
  });

  it('knows nothing without kept cosignatures, or when they cannot be read (reported, not thrown)', async () => {
    const ledger = await logWithBlocks(2);
    const w = testWitness('w');
    const fresh = clientFor(ledger, policyOf([w]), scripted(() => ({ status: 500, body: '' })).fetch);
    await fresh.seed();
    expect(statusOf(fresh, 'w').cosignedSize).toBeUndefined();
    const events: string[] = [];
    const broken = clientFor(ledger, policyOf([w]), scripted(() => ({ status: 500, body: '' })).fetch, {
      checkpointAt: async () => {
        throw new Error('disk on fire');
      },
      onEvent: (l) => events.push(l),
    });
    await ledger.cosignatures.add(2n, [cosign(w.key, (await published(ledger, 2n)).checkpoint.text, 1n)]);
    await broken.seed();
    expect(statusOf(broken, 'w').cosignedSize).toBeUndefined();
    expect(events).toEqual([expect.stringMatching(/could not read the kept cosignatures back \(disk on fire\)/)]);
    // With the checkpoints readable, the same kept line seeds size 2.
    const ok = clientFor(ledger, policyOf([w]), scripted(() => ({ status: 500, body: '' })).fetch);
    await ok.seed();
    expect(statusOf(ok, 'w').cosignedSize).toBe('2');
  });
});

describe('WitnessClient: rounds and publication', () => {
  it('asks the log to publish when a round ends while receipts wait beyond the newest checkpoint, and only then', async () => {
    const ledger = await logWithBlocks(4);
    const w = testWitness('w');
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const { fetch: f, sent } = scripted(async (req, n) => {
      if (n === 0) await held;
      return w.cosigns(req);
    });
    let publishes = 0;
    const c = clientFor(ledger, policyOf([w]), f, { publish: async () => void publishes++, minRoundIntervalMs: 0 });
    c.notify(await published(ledger, 3n));
    await until('the round of checkpoint 3 is in flight', () => sent.length === 1);
    expect(c.roundInProgress).toBe(true);
    // A receipt waits for an entry beyond checkpoint 3, which no published checkpoint covers.
    const waiting = c.waitForQuorum(5n, 10_000);
    release();
    await until('the round is over', () => !c.roundInProgress);
    expect(publishes).toBe(1);
    // The log publishes (here: checkpoint 4, which still does not cover the waiting receipt, so
    // the end of its round asks again); a round that ends with nobody waiting beyond it asks for nothing.
    c.notify(await published(ledger, 4n));
    await until('checkpoint 4 cosigned', () => c.witnessed?.size === 4n);
    await until('the round is over', () => !c.roundInProgress);
    expect(publishes).toBe(2); // the receipt for 5 still waits beyond 4
    const [a] = await ledger.append([{ type: 'record', record: { i: 4 }, meta: {} }], 'officer-01');
    expect(a!.index).toBe(4n);
    await ledger.waitForReceipt(a!.index, 10_000); // the ledger publishes block 5 (size 5)
    c.notify(await published(ledger, 5n));
    expect((await waiting)?.size).toBe(5n);
    await until('the round is over', () => !c.roundInProgress);
    expect(publishes).toBe(2);
  });

  it('starts rounds at most once per minRoundIntervalMs, however fast the witness answers', async () => {
    const ledger = await logWithBlocks(6);
    const w = testWitness('w');
    const at: number[] = [];
    const { fetch: f } = scripted((req) => (at.push(Date.now()), w.cosigns(req)));
    const c = clientFor(ledger, policyOf([w]), f, { minRoundIntervalMs: 150 });
    for (let h = 1n; h <= 4n; h++) {
      c.notify(await published(ledger, h));
      await until(`checkpoint ${h} cosigned`, () => c.witnessed?.size === h);
    }
    expect(at).toHaveLength(4);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(145);
  });

  it('asks a rate-limited witness again after its Retry-After, counted as unavailable, not as a refusal', async () => {
    const ledger = await logWithBlocks(3);
    const w = testWitness('w');
    const at: number[] = [];
    const f = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      at.push(Date.now());
      if (at.length === 1) return new Response('too many requests from this address\n', { status: 429, headers: { 'retry-after': '1' } });
      const a = w.cosigns(parseSent(String(input), String(init?.body)));
      return new Response(a.body, { status: a.status });
    };
    const c = clientFor(ledger, policyOf([w]), f, { minRoundIntervalMs: 0 });
    c.notify(await published(ledger, 3n));
    await until('checkpoint 3 cosigned after the 429', () => c.witnessed?.size === 3n);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(950);
    const st = statusOf(c, 'w');
    expect(st.requests).toMatchObject({ unavailable: 1, cosigned: 1, refused: 0, error: 0 });
    expect(st.consecutiveFailures).toBe(0);
  });

  it('with every witness down, a receipt waits at most one witness deadline, not one per round', async () => {
    // Port 9 (discard) on loopback: nothing listens, every request is refused at once.
    const w = testWitness('down', 'http://127.0.0.1:9');
    const ledger = await logWithBlocks(0, { witnessPolicy: policyOf([w]), witnessTimeoutMs: 300 });
    const took: number[] = [];
    for (let i = 0; i < 6; i++) {
      const [a] = await ledger.append([{ type: 'record', record: { down: i }, meta: {} }], 'officer-01');
      const t0 = Date.now();
      await ledger.waitForReceipt(a!.index, 10_000);
      took.push(Date.now() - t0);
    }
    // At most the witness deadline plus 250 ms of grace (and scheduling), never two of them.
    expect(Math.max(...took), took.join(', ')).toBeLessThan(300 + 250 + 250);
    expect(ledger.witnesses!.status()[0]!.requests.unavailable).toBeGreaterThanOrEqual(1);
  }, 30_000);
});
