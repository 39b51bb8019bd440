/**
 * Audit source over a live log, through its public read API only:
 *
 * - `GET /checkpoint`, verified with the pinned key: the size to replay and the root to reach;
 * - `GET /tile/entries/<N>[.p/<W>]` (needs an API key with the audit role) and
 *   `GET /tile/<L>/<N>[.p/<W>]` (c2sp.org/tlog-tiles): the entries and the stored hashes at
 *   levels 0, 8, 16, …;
 * - `GET /v1/blocks?from=&limit=`: the block chain;
 * - `GET /v1/lookup/<alg>/<hex>` (sampled): the digest index, `alg` the content digest algorithm
 *   of the log's suite (`sha256`, or `sm3` for a `gm` log; SPEC.md#crypto-suites);
 * - `GET /v1/proof/consistency?from=&to=`: the log's own proofs, for fraud evidence.
 *
 * Transient failures (network errors, 5xx, 429) are retried with back-off; a tile that is still
 * missing or malformed afterwards is a finding (`tile-invalid`), and the replay stops there.
 */
import { fromBase64, fromHex, toHex } from '../core/bytes.js';
import { openCheckpoint } from '../core/checkpoint.js';
import { HASH_SIZE } from '../core/merkle/hash.js';
import type { VerifierKey } from '../core/note.js';
import { suiteOfKey, type CryptoSuite } from '../core/suite.js';
import { formatTilePath, TILE_WIDTH, type Tile } from '../core/tiles.js';
import { blockHash, parseBlock } from '../core/block.js';
import type { Problem } from './report.js';
import { checkTileBytes, firstLeaf, mapLimit, TileReads, type FetchedTile } from './tiled.js';
import type { EntryRead, IndexItem, StoredNodes } from './reads.js';
import { AuditAbort, type AuditSource, type BlockItem, type SourceInfo } from './source.js';

/** Options of {@link RemoteSource}. */
export interface RemoteOptions {
  /** API key (Bearer) with the audit role: entry bundles need it. */
  readonly apiKey?: string;
  /** Check the digest index of every n-th entry (default 256: one lookup per entry bundle). */
  readonly digestEvery?: number;
  /** Parallel requests (default 16). */
  readonly concurrency?: number;
  /** Per-request timeout in ms (default 30,000). */
  readonly timeoutMs?: number;
  /** Attempts per request for transient failures (default 4). */
  readonly attempts?: number;
  /** The fetch to use (default global fetch). */
  readonly fetch?: typeof fetch;
}

interface Got {
  readonly status: number;
  readonly body: Uint8Array;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An HTTP(S) client for one log, with retries; shared by the remote audit source and the monitor. */
export class LogClient {
  readonly base: string;
  readonly #o: RemoteOptions;
  readonly #fetch: typeof fetch;

  constructor(url: string, options: RemoteOptions = {}) {
    this.base = url.replace(/\/+$/, '');
    this.#o = options;
    this.#fetch = options.fetch ?? fetch;
  }

  /**
   * get fetches `path` (with the API key, if any) and returns the status and body. Retries
   * network errors, 5xx and 429 (honouring Retry-After up to 10 s); throws {@link AuditAbort}
   * when every attempt failed.
   */
  async get(path: string): Promise<Got> {
    const attempts = this.#o.attempts ?? 4;
    let last = '';
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await sleep(Math.min(10_000, 200 * 2 ** i));
      try {
        const headers: Record<string, string> = {};
        if (this.#o.apiKey !== undefined) headers['authorization'] = `Bearer ${this.#o.apiKey}`;
        const res = await this.#fetch(this.base + path, { headers, signal: AbortSignal.timeout(this.#o.timeoutMs ?? 30_000) });
        const body = new Uint8Array(await res.arrayBuffer());
        if (res.status >= 500 || res.status === 429) {
          last = `${res.status} ${res.statusText}`;
          const retry = Number(res.headers.get('retry-after'));
          if (Number.isFinite(retry) && retry > 0) await sleep(Math.min(10, retry) * 1000);
          continue;
        }
        return { status: res.status, body };
      } catch (err) {
        const cause = (err as Error).cause;
        last = cause instanceof Error ? cause.message : (err as Error).message;
      }
    }
    throw new AuditAbort(`GET ${this.base}${path} failed ${attempts} times (${last})`);
  }

  /** getText fetches a text resource that must exist (200), else {@link AuditAbort}. */
  async getText(path: string): Promise<string> {
    const r = await this.get(path);
    if (r.status !== 200) throw new AuditAbort(`GET ${this.base}${path}: status ${r.status}`);
    return new TextDecoder('utf-8', { fatal: true }).decode(r.body);
  }

  /** getJson fetches a JSON resource that must exist (200), else {@link AuditAbort}. */
  async getJson(path: string): Promise<unknown> {
    const text = await this.getText(path);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new AuditAbort(`GET ${this.base}${path}: not JSON`);
    }
  }

  /** consistencyProof asks the log for its RFC 9162 consistency proof between two sizes. */
  async consistencyProof(from: bigint, to: bigint): Promise<Uint8Array[]> {
    const j = (await this.getJson(`/v1/proof/consistency?from=${from}&to=${to}`)) as { from?: unknown; to?: unknown; path?: unknown };
    if (j.from !== from.toString() || j.to !== to.toString() || !Array.isArray(j.path)) {
      throw new AuditAbort(`the log's consistency proof ${from}→${to} is malformed`);
    }
    return j.path.map((h, i) => {
      try {
        return fromHex(String(h), HASH_SIZE, `path[${i}]`);
      } catch {
        throw new AuditAbort(`the log's consistency proof ${from}→${to} has a malformed hash at ${i}`);
      }
    });
  }
}

/** Reads a live log over HTTP for an audit. */
export class RemoteSource implements AuditSource {
  readonly description: string;
  readonly live = true;
  readonly #client: LogClient;
  readonly #verifier: VerifierKey;
  /** The log's suite, its pinned key's: block hashes and the digest algorithm looked up. */
  readonly #suite: CryptoSuite;
  readonly #every: bigint;
  readonly #concurrency: number;
  #size = 0n;
  readonly #tiles: TileReads;

  constructor(url: string, verifier: VerifierKey, options: RemoteOptions = {}) {
    this.#client = new LogClient(url, options);
    this.description = this.#client.base;
    this.#verifier = verifier;
    this.#suite = suiteOfKey(verifier);
    this.#every = BigInt(Math.max(1, Math.floor(options.digestEvery ?? TILE_WIDTH)));
    this.#concurrency = options.concurrency ?? 16;
    this.#tiles = new TileReads((t) => this.#tile(t), this.#concurrency);
  }

  async start(): Promise<SourceInfo> {
    const note = await this.#client.getText('/checkpoint');
    let opened;
    try {
      opened = openCheckpoint(note, this.#verifier);
    } catch (err) {
      throw new AuditAbort(`the log's /checkpoint does not verify with the pinned key ${this.#verifier.text}: ${(err as Error).message}`, { cause: err, exitCode: 1 });
    }
    this.#size = opened.checkpoint.size;
    this.#tiles.size = this.#size;
    return { size: this.#size, checkpoint: opened };
  }

  /** Fetches one tile; a status other than 200 or a wrong length is a problem, not an exception. */
  async #tile(tile: Tile): Promise<FetchedTile> {
    const path = formatTilePath(tile);
    const r = await this.#client.get(`/${path}`);
    if (tile.kind === 'entries' && (r.status === 401 || r.status === 403)) {
      throw new AuditAbort(`GET /${path}: ${r.status}: entry bundles need an API key with the audit role (--api-key)`);
    }
    if (r.status !== 200) {
      return { problem: { kind: 'tile-invalid', index: firstLeaf(tile), message: `${path} is not served (status ${r.status}) although the checkpoint of size ${this.#size} covers it`, expected: `status 200`, found: `status ${r.status}` } };
    }
    return checkTileBytes(tile, r.body, path);
  }

  readEntries(start: bigint, count: number): Promise<EntryRead> {
    return this.#tiles.readEntries(start, count);
  }

  readNodes(level: number, start: bigint, count: number): Promise<StoredNodes | undefined> {
    return this.#tiles.readNodes(level, start, count);
  }

  async *blocks(): AsyncIterable<BlockItem> {
    let from: bigint | undefined = 0n;
    while (from !== undefined) {
      const page = (await this.#client.getJson(`/v1/blocks?from=${from}&limit=1000`)) as { blocks?: unknown; next?: unknown };
      if (!Array.isArray(page.blocks)) throw new AuditAbort(`GET /v1/blocks?from=${from}: no blocks array`);
      let height: bigint = from;
      for (const raw of page.blocks as unknown[]) {
        const { hash, timestamps, ...json } = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
        if (typeof json['height'] === 'string' && /^(0|[1-9][0-9]*)$/.test(json['height'])) height = BigInt(json['height']);
        let problem: Problem | undefined;
        const tokens: Uint8Array[] = [];
        if (timestamps !== undefined) {
          const list = Array.isArray(timestamps) ? (timestamps as unknown[]) : [undefined];
          for (const t of list) {
            const token = (t as { token?: unknown } | undefined)?.token;
            try {
              if (typeof token !== 'string') throw new Error('no token');
              tokens.push(fromBase64(token));
            } catch {
              problem ??= { kind: 'timestamp-invalid', height, message: `the API serves block ${height} with a malformed timestamps member` };
            }
          }
        }
        try {
          const want = toHex(blockHash(parseBlock(json), this.#suite));
          if (hash !== want) problem = { kind: 'block-invalid', height, message: `the API serves block ${height} with hash ${String(hash)}, but the block hashes to ${want}`, expected: want, found: String(hash) };
        } catch {
          // parseBlock fails: the engine reports it.
        }
        yield { height, json, ...(problem ? { problem } : {}), ...(tokens.length > 0 ? { tokens } : {}) };
        height++;
      }
      from = typeof page.next === 'string' && /^(0|[1-9][0-9]*)$/.test(page.next) ? BigInt(page.next) : undefined;
    }
  }

  async checkIndexes(items: readonly IndexItem[]): Promise<{ problems: Problem[]; lookups: number }> {
    const alg = this.#suite.digestAlg;
    const chosen = items.filter((it) => it.index % this.#every === 0n && it.alg === alg);
    const problems: Problem[] = [];
    await mapLimit(chosen, Math.min(8, this.#concurrency), async (it) => {
      const hex = toHex(it.digest);
      const j = (await this.#client.getJson(`/v1/lookup/${alg}/${hex}`)) as { anchorings?: Array<{ index?: unknown }> };
      const indexes = Array.isArray(j.anchorings) ? j.anchorings.map((a) => String(a.index)) : [];
      if (!indexes.includes(it.index.toString())) {
        problems.push({
          kind: 'digest-index',
          index: it.index,
          message: `looking up ${alg}:${hex} does not list entry ${it.index}, which has that digest`,
          expected: `index ${it.index} among the anchorings`,
          found: indexes.length === 0 ? 'no anchorings' : `indexes ${indexes.slice(0, 10).join(', ')}`,
        });
      }
    });
    return { problems, lookups: chosen.length };
  }

  consistencyProof(from: bigint, to: bigint): Promise<Uint8Array[]> {
    return this.#client.consistencyProof(from, to);
  }

  async finish(): Promise<Problem[]> {
    return [];
  }

  async close(): Promise<void> {}
}
