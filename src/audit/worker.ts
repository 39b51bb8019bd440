/**
 * Worker thread entry of the replay pool (pool.ts): replays chunks ({@link replayChunk}), checks
 * blocks ({@link verifyBlocks}) and counts index records, with node:crypto SHA-256 installed and
 * the log's crypto suite taken once from the pinned key it is started with (SPEC.md#crypto-suites).
 * For a local audit the worker opens the same LevelDB as the main thread (classic-level's
 * `multithreading`) and reads its chunks itself.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseVerifierKey } from '../core/note.js';
import { suiteOfKey } from '../core/suite.js';
import { installNodeCrypto } from '../platform/node-crypto.js';
import { replayChunk, verifyBlocks, type ChunkTask } from './chunk.js';
import { LocalReader, openDb } from './local.js';
import type { IndexRange } from './reads.js';

/** A job for a worker. */
export type WorkerJob =
  | { readonly type: 'chunk'; readonly task: ChunkTask }
  | { readonly type: 'blocks'; readonly blocks: readonly unknown[] }
  | { readonly type: 'count'; readonly range: IndexRange; readonly size: bigint };
/** A request from the pool: a job and its id. */
export type WorkerRequest = WorkerJob & { readonly id: number };
/** What a worker is started with. */
export interface WorkerSetup {
  readonly verifierKey: string;
  /** The LevelDB of a local audit, how often to check index records, and the fingerprint secret. */
  readonly local?: { readonly path: string; readonly size: bigint; readonly secret: Uint8Array };
}

installNodeCrypto();
const port = parentPort;
if (port === null) throw new Error('audit worker: not started as a worker thread');
const setup = workerData as WorkerSetup;
const verifier = parseVerifierKey(setup.verifierKey);
const suite = suiteOfKey(verifier);
let reader: LocalReader | undefined;
if (setup.local !== undefined) {
  reader = new LocalReader(await openDb(setup.local.path));
  reader.size = setup.local.size;
}

port.on('message', (msg: WorkerRequest | 'close') => {
  if (msg === 'close') {
    void (async () => {
      await reader?.db.close();
      port.postMessage({ closed: true });
    })();
    return;
  }
  void (async () => {
    try {
      let result: unknown;
      if (msg.type === 'chunk') result = await replayChunk(msg.task, msg.task.read === undefined ? reader : undefined, setup.local?.secret, suite);
      else if (msg.type === 'blocks') result = verifyBlocks(msg.blocks, verifier);
      else if (reader !== undefined && setup.local !== undefined) result = await reader.countRange(msg.range, msg.size, setup.local.secret);
      else throw new Error('count needs a local database');
      port.postMessage({ id: msg.id, result });
    } catch (err) {
      port.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
    }
  })();
});
port.postMessage({ ready: true });
