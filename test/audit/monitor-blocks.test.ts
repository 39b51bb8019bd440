/**
 * `guzheng monitor` and the blocks a log serves (SPEC.md#blocks, docs/audit.md#guzheng-monitor):
 * checked on every poll, the idle ones included; gaps, reordered and backward pages reported;
 * format-1 logs checked for what format 1 offers, their times reported as unsigned.
 */
import { describe, it, expect, afterAll, afterEach } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { monitorOnce, type MonitorOutcome } from '../../src/audit/monitor.js';
import { CliError } from '../../src/cli/client.js';
import { registerMonitor } from '../../src/cli/monitor.js';
import { KEYS, appendEntries, cleanupDirs, tempDir } from './helpers.js';
import { WAVE1_KEY, aYearLater, closeAll, ledger, monitorOptions, problemsOf, proxyServer, rehash, rewriteBlocks, serve, wave1Ledger, type ServedPage } from './monitor-support.js';

afterEach(closeAll);
afterAll(cleanupDirs);

type Accepted = Exclude<MonitorOutcome, { status: 'fraud' }>;
const fail = (p: Promise<unknown>): Promise<unknown> => p.then(
  (x) => {
    throw new Error(`want a rejection, got ${JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
  },
  (e: unknown) => e,
);

/** A proxy moving the time of block `height` a year forward and recomputing its hash. */
const moveTime = (height: bigint) =>
  rewriteBlocks((page) => {
    for (const b of page.blocks) {
      if (BigInt(b.height) !== height) continue;
      b.time = aYearLater(b.time);
      rehash(b);
    }
  });

describe('every poll checks the newest blocks', () => {
  it('catches a proxy that moves the newest block of an idle log (re-hashed), on the first poll and when unchanged', async () => {
    const log = await ledger(30, { batch: 10 });
    const server = await serve(log);
    const tip = log.latest().block.height;
    const o = monitorOptions(server);
    const first = (await monitorOnce(o)) as Accepted;
    expect(first.status).toBe('initialized');
    const state = readFileSync(o.stateFile, 'utf8');

    // Nothing changes in the log; a proxy now forges its newest block.
    const err = await fail(monitorOnce({ ...o, fetch: moveTime(tip) }));
    const [p] = problemsOf(err);
    expect(p).toMatchObject({ kind: 'block-invalid', code: 'BLOCK_INVALID', height: tip.toString(), message: expect.stringMatching(/time .* differs from the signed block header/) });
    expect((p?.evidence?.servedBlock as { time: string }).time).toBe(aYearLater(log.latest().block.time));
    expect((err as Error).message).toMatch(/blocks that do not match its signed checkpoints: BLOCK_INVALID/);
    expect(readFileSync(o.stateFile, 'utf8')).toBe(state);

    // The first poll of a new monitor through the proxy is caught too, and saves nothing.
    const fresh = monitorOptions(server);
    problemsOf(await fail(monitorOnce({ ...fresh, fetch: moveTime(tip) })));
    expect(existsSync(fresh.stateFile)).toBe(false);

    // A proxy that only changes the served hash member.
    const badHash = rewriteBlocks((page) => {
      for (const b of page.blocks) if (BigInt(b.height) === tip) b.hash = '00'.repeat(32);
    });
    expect(problemsOf(await fail(monitorOnce({ ...o, fetch: badHash })))[0]).toMatchObject({ kind: 'block-invalid', height: tip.toString(), found: '00'.repeat(32) });

    // What the first poll checked and saved.
    expect(first).toMatchObject({ status: 'initialized', size: 30n, head: { height: tip, timeSigned: true, time: log.latest().block.time }, blocks: { from: tip - 1n, to: tip }, warnings: [] });
    expect(JSON.parse(state).block).toMatchObject({ format: 'guzheng-block/v2', height: tip.toString() });
    // Straight to the log: unchanged, the newest block checked.
    expect(await monitorOnce(o)).toMatchObject({ status: 'unchanged', size: 30n, head: { height: tip }, blocks: { from: tip, to: tip } });
  });

  it('reports a gap in /v1/blocks instead of dropping the link to the saved block', async () => {
    const log = await ledger(20, { batch: 10 });
    const server = await serve(log);
    const o = monitorOptions(server);
    await monitorOnce(o);
    const saved = log.latest().block.height;
    await appendEntries(log, 50, { batch: 10 });
    const missing = saved + 1n;
    const skip = rewriteBlocks((page) => ({ ...page, blocks: page.blocks.filter((b) => BigInt(b.height) !== missing) }));
    const [p] = problemsOf(await fail(monitorOnce({ ...o, fetch: skip })));
    expect(p).toMatchObject({ kind: 'blocks-gap', height: missing.toString(), expected: missing.toString(), found: (missing + 1n).toString() });
    expect(p?.evidence?.request).toBe(`/v1/blocks?from=${saved}&limit=${log.latest().block.height - saved + 1n}`);
    // An empty page where the signed checkpoint says blocks exist is a gap too.
    const empty = rewriteBlocks((page, url) => (url.searchParams.get('from') === saved.toString() ? { blocks: [] } : page));
    expect(problemsOf(await fail(monitorOnce({ ...o, fetch: empty })))[0]).toMatchObject({ kind: 'blocks-gap', height: saved.toString() });
    expect(await monitorOnce(o)).toMatchObject({ status: 'advanced', from: 20n, to: 50n, blocks: { from: saved, to: log.latest().block.height } });
  });

  it('pages strictly forward: a server answering with lower heights is reported, not followed', async () => {
    const log = await ledger(20, { batch: 10 });
    const server = await serve(log);
    const o = monitorOptions(server);
    await monitorOnce(o);
    await appendEntries(log, 60, { batch: 10 });
    let requests = 0;
    const genesisPage = { blocks: [] as ServedPage['blocks'] };
    // Always the first blocks of the chain, whatever was asked; gives up after 50 requests.
    const backwards = rewriteBlocks(
      () => {
        if (requests > 50) throw new Error('the monitor keeps paging');
        return genesisPage;
      },
      () => void requests++,
    );
    genesisPage.blocks = ((await (await fetch(`${server.url}/v1/blocks?from=0&limit=3`)).json()) as ServedPage).blocks;
    const [p] = problemsOf(await fail(monitorOnce({ ...o, fetch: backwards })));
    expect(p).toMatchObject({ kind: 'blocks-out-of-order', expected: '2', found: '0', evidence: { servedHeights: ['0', '1', '2'] } });
    expect(requests).toBe(1);

    // Heights out of order inside a page.
    const tip = log.latest().block.height;
    const swapped = rewriteBlocks((page) => {
      const i = page.blocks.findIndex((b) => BigInt(b.height) === tip - 1n);
      const [a, b] = [page.blocks[i], page.blocks[i + 1]];
      if (a !== undefined && b !== undefined) [page.blocks[i], page.blocks[i + 1]] = [b, a];
    });
    expect(problemsOf(await fail(monitorOnce({ ...o, fetch: swapped })))[0]).toMatchObject({ kind: 'blocks-gap', height: (tip - 1n).toString(), found: tip.toString() });

    // A server that hands out one block per page still ends, after one request per block.
    let pages = 0;
    const trickle = rewriteBlocks((page) => ({ blocks: page.blocks.slice(0, 1) }), () => void pages++);
    expect(await monitorOnce({ ...o, fetch: trickle })).toMatchObject({ status: 'advanced', from: 20n, to: 60n });
    expect(pages).toBe(Number(tip - 2n + 1n));
  });
});

describe('a log of the first format (format-1 blocks, SPEC.md#logs-created-before-signed-blocks)', () => {
  it('is checked for links, signatures and consistency, its times reported as unsigned', async () => {
    const log = await wave1Ledger();
    expect(log.latest().block.format).toBe(1);
    const server = await serve(log);
    const o = { ...monitorOptions(server), verifierKey: WAVE1_KEY };
    // No block header in the checkpoint: the monitor finds block 5 and checks it and block 4.
    const first = await monitorOnce(o);
    expect(first).toMatchObject({ status: 'initialized', size: 8n, head: { height: 5n, time: '2026-12-04T15:11:53.524Z', timeSigned: false }, blocks: { from: 4n, to: 5n } });
    expect(JSON.parse(readFileSync(o.stateFile, 'utf8')).block).toMatchObject({ height: '5', time: '2026-12-04T15:11:53.524Z' });

    // The unsigned time of the saved head, moved and re-hashed: it is not the block saved.
    const [changed] = problemsOf(await fail(monitorOnce({ ...o, fetch: moveTime(5n) })));
    expect(changed).toMatchObject({ kind: 'block-changed', height: '5', evidence: { savedBlock: { time: '2026-12-04T15:11:53.524Z' } } });

    // Block 4 moved (re-hashed) breaks the link from block 5, for a monitor starting now.
    const fresh = { ...monitorOptions(server), verifierKey: WAVE1_KEY };
    const [broken] = problemsOf(await fail(monitorOnce({ ...fresh, fetch: moveTime(4n) })));
    expect(broken).toMatchObject({ kind: 'chain-broken', code: 'CHAIN_BROKEN', height: '5', message: expect.stringMatching(/prev is not the hash of block 4/) });

    // A state file written before the monitor kept blocks: block 5 is found again.
    const state = JSON.parse(readFileSync(o.stateFile, 'utf8')) as Record<string, unknown>;
    delete state.block;
    writeFileSync(o.stateFile, JSON.stringify(state));
    expect(await monitorOnce(o)).toMatchObject({ status: 'unchanged', head: { height: 5n, timeSigned: false }, blocks: { from: 4n, to: 5n } });

    // The log is upgraded by new entries: a signed block 6 linked to format-1 block 5.
    await appendEntries(log, 10, { batch: 2 });
    const tip = log.latest().block;
    expect(tip.format).toBe(2);
    expect(problemsOf(await fail(monitorOnce({ ...o, fetch: moveTime(5n) })))[0]).toMatchObject({ kind: 'block-changed', height: '5' });
    expect(await monitorOnce(o)).toMatchObject({ status: 'advanced', from: 8n, to: 10n, head: { height: tip.height, timeSigned: true }, blocks: { from: 5n, to: tip.height } });
  });
});

describe('guzheng monitor and alarms', () => {
  it('--once exits 1 naming the forged block (--json: the evidence); the loop reports each alarm and goes on', async () => {
    const log = await ledger(30, { batch: 10 });
    const server = await serve(log);
    const tip = log.latest().block.height;
    const proxy = await proxyServer(server.url, moveTime(tip));
    const state = join(tempDir(), 'state.json');
    let out = '';
    let err = '';
    const run = async (url: string, args: string[], signal?: AbortSignal) => {
      const program = new Command().exitOverride();
      registerMonitor(program, { out: (t) => void (out += t), err: (t) => void (err += t), progress: false }, signal);
      await program.parseAsync(['monitor', '--url', url, '--key', KEYS.verifierKey, '--state', state, ...args], { from: 'user' });
    };
    await run(server.url, ['--once']);
    const once = await run(proxy.url, ['--once']).catch((e: unknown) => e);
    expect(once).toBeInstanceOf(CliError);
    expect((once as CliError).exitCode).toBe(1);
    expect((once as CliError).message).toMatch(new RegExp(`blocks that do not match its signed checkpoints: BLOCK_INVALID: block ${tip}: time`));
    out = '';
    await run(proxy.url, ['--once', '--json']).catch((e: unknown) => e);
    expect(JSON.parse(out.trim())).toMatchObject({ status: 'alarm', problems: [{ kind: 'block-invalid', height: tip.toString(), evidence: { servedBlock: { height: tip.toString() } } }] });
    // The loop: two alarms, then stopped; exit 0, nothing on stderr (alarms are results, not failures to check).
    out = '';
    const stop = new AbortController();
    const loop = run(proxy.url, ['--interval', '0.01'], stop.signal);
    while ((out.match(/ALARM/g) ?? []).length < 2) await new Promise((r) => setTimeout(r, 10));
    stop.abort();
    await loop;
    expect(out).toMatch(/^\S+ ALARM: the log serves blocks that do not match its signed checkpoints: BLOCK_INVALID: /);
    expect(err).toBe('');
  });
});
