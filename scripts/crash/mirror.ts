/**
 * The crash campaign with the mirror on (`--mirror`, scripts/crash-campaign.ts; issue 15 item 7):
 * a real Ceph RADOS Gateway (scripts/ceph-rgw.sh through test/support/rgw.ts) beside the log, and
 * every server incarnation started with GUZHENG_MIRROR pointing at it. After each restart:
 *
 * 1. the mirror converges: `/healthz` says `mirror: ok`, no lag, the mirrored size is the log's
 *    checkpoint size, and the bucket's `checkpoint` is the one `/checkpoint` serves (as the log
 *    signed it: cosignatures may arrive in between);
 * 2. no object in the bucket disagrees with the log: every hash tile and entry bundle equals the
 *    service's `/tile/…` answer (with an audit key), every attachment bundle hashes to its entries'
 *    digests (checked by the audit of 3), every block bundle the canonical JSON of the
 *    blocks `/v1/blocks` serves, every time stamp the one the block carries, every cosignature line
 *    one of its block's and named by its SHA-256. An object beyond what the log has signed (a
 *    checkpoint lost in the crash) cannot be compared yet: it stays pending, compared in a later
 *    round, and must agree then;
 * 3. the bucket audits clean from genesis (src/audit/bucket.ts, every object accounted for).
 */
import { fromBase64, fromUtf8, toHex, utf8 } from '../../src/core/bytes.js';
import { noteSignedBy, splitNote, type VerifierKey } from '../../src/core/note.js';
import { sha256 } from '../../src/core/crypto.js';
import { parseTilePath } from '../../src/core/tiles.js';
import type { BlockJson } from '../../src/core/block.js';
import { encodeBlockBundle } from '../../src/mirror/layout.js';
import { S3ObjectStore } from '../../src/mirror/s3.js';
import { auditBucket, BucketSource } from '../../src/audit/bucket.js';
import { openBucket } from '../../src/audit/bucket-store.js';
import { formatReport } from '../../src/audit/report.js';
import { startRgw, type Rgw } from '../../test/support/rgw.js';

const BUCKET = 'crash';
const PREFIX = 'log';

/** What the mirror checks established over a campaign. */
export interface MirrorSummary {
  /** Restarts after which the mirror converged (and was checked). */
  readonly converged: number;
  /** The longest wait for convergence after a restart, ms. */
  readonly maxConvergeMs: number;
  /** Objects compared with the log, over all checks (an object compared at each check counts each time). */
  readonly objectsCompared: number;
  /** Objects in the bucket at the last check. */
  readonly objects: number;
  /** Objects beyond what the log had signed when last checked (never compared). */
  readonly pending: number;
  /** Bucket audits that came out clean. */
  readonly cleanAudits: number;
  /** Seconds the gateway took to start. */
  readonly rgwStartSeconds: number;
}

interface ServedBlock {
  readonly [member: string]: unknown;
  readonly checkpoint: string;
  readonly timestamps?: ReadonlyArray<{ readonly tsa: string; readonly token: string }>;
}

/** The gateway and the bucket the campaign's log mirrors to. */
export class MirrorCheck {
  readonly rgw: Rgw;
  readonly #s3: S3ObjectStore;
  readonly #pending = new Set<string>();
  #converged = 0;
  #maxConvergeMs = 0;
  #compared = 0;
  #objects = 0;
  #cleanAudits = 0;

  private constructor(rgw: Rgw) {
    this.rgw = rgw;
    this.#s3 = new S3ObjectStore({ bucket: BUCKET, endpoint: rgw.endpoint, region: rgw.region, credentials: rgw });
  }

  /** start starts a gateway (about 15–20 s cold) and creates the bucket. */
  static async start(): Promise<MirrorCheck> {
    const rgw = await startRgw();
    await rgw.bucket(BUCKET);
    return new MirrorCheck(rgw);
  }

  /** The server's environment: the mirror on, to this gateway. */
  env(): Record<string, string> {
    return {
      GUZHENG_MIRROR: `s3://${BUCKET}/${PREFIX}`,
      GUZHENG_MIRROR_ENDPOINT: this.rgw.endpoint,
      AWS_ACCESS_KEY_ID: this.rgw.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.rgw.secretAccessKey,
      AWS_REGION: this.rgw.region,
    };
  }

  summary(): MirrorSummary {
    return { converged: this.#converged, maxConvergeMs: Math.round(this.#maxConvergeMs), objectsCompared: this.#compared, objects: this.#objects, pending: this.#pending.size, cleanAudits: this.#cleanAudits, rgwStartSeconds: this.rgw.startSeconds };
  }

  /**
   * check waits for the mirror of the server at `url` to converge, then compares every object in
   * the bucket with what the server serves, then audits the bucket. Calls `fail` for each thing
   * wrong; returns once checked (or after 60 s without convergence).
   */
  async check(url: string, adminKey: string, verifier: VerifierKey, fail: (message: string) => void): Promise<void> {
    const auth = { authorization: `Bearer ${adminKey}` };
    const t0 = performance.now();
    let last = '';
    let note = '';
    for (;;) {
      const h = (await (await fetch(`${url}/healthz`)).json()) as { checkpointSize: string; mirror?: string; mirrorDetail?: { lagEntries: string; uploadedSize: string; lastError?: string } };
      note = await (await fetch(`${url}/checkpoint`)).text();
      const inBucket = await this.#s3.get(`${PREFIX}/checkpoint`);
      last = JSON.stringify({ mirror: h.mirror, ...h.mirrorDetail, checkpointSize: h.checkpointSize });
      if (h.mirror === 'ok' && h.mirrorDetail?.lagEntries === '0' && h.mirrorDetail.uploadedSize === h.checkpointSize && inBucket !== undefined && noteSignedBy(fromUtf8(inBucket), verifier) === noteSignedBy(note, verifier)) break;
      if (performance.now() - t0 > 60_000) {
        fail(`the mirror did not converge within 60 s of the restart: ${last}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const ms = performance.now() - t0;
    this.#converged++;
    if (ms > this.#maxConvergeMs) this.#maxConvergeMs = ms;

    // The blocks as the log serves them, for the block bundles, stamps and cosignatures.
    const blocks: ServedBlock[] = [];
    for (let from = '0'; ; ) {
      const page = (await (await fetch(`${url}/v1/blocks?from=${from}&limit=1000`, { headers: auth })).json()) as { blocks: ServedBlock[]; next?: string };
      blocks.push(...page.blocks);
      if (page.next === undefined) break;
      from = page.next;
    }
    const keys = await this.#s3.list(`${PREFIX}/`);
    this.#objects = keys.length;
    const bad = (key: string, why: string) => fail(`bucket object ${key} disagrees with the log: ${why}`);
    const compare = async (key: string): Promise<void> => {
      const path = key.slice(PREFIX.length + 1);
      if (path === 'checkpoint') return;
      const stored = await this.#s3.get(key);
      if (stored === undefined) return bad(key, 'listed, then gone');
      const parts = path.split('/');
      if (parts[0] === 'tile') {
        parseTilePath(path);
        const res = await fetch(`${url}/${path}`, { headers: auth });
        const served = new Uint8Array(await res.arrayBuffer());
        if (res.status === 404) return void this.#pending.add(key);
        if (res.status !== 200) return bad(key, `the log answers ${res.status} for /${path}`);
        this.#pending.delete(key);
        this.#compared++;
        if (toHex(sha256(stored)) !== toHex(sha256(served))) bad(key, `sha256 ${toHex(sha256(stored))}, the log serves ${toHex(sha256(served))}`);
        return;
      }
      if (parts[0] !== 'guzheng') return bad(key, 'not an object the mirror writes');
      // Attachment bundles (records' canonical JSON): the bucket audit below checks each against
      // its entry's digest, and the entries against the log's tiles; counted there.
      if (parts[1] === 'attachments') return;
      const group = parseTilePath(`tile/entries/${parts.slice(2, parts[1] === 'cosignatures' ? -1 : undefined).join('/')}`);
      if (parts[1] === 'blocks') {
        const first = Number(group.index) * 256;
        if (first + group.width > blocks.length) return void this.#pending.add(key);
        const want = encodeBlockBundle(
          blocks.slice(first, first + group.width).map((b) => {
            const { hash: _hash, timestamps: _timestamps, ...json } = b;
            return { ...json, checkpoint: noteSignedBy(b.checkpoint, verifier) } as unknown as BlockJson;
          }),
        );
        this.#pending.delete(key);
        this.#compared++;
        if (fromUtf8(stored) !== fromUtf8(want)) bad(key, `its blocks are not the log's blocks ${first}..${first + group.width - 1}`);
        return;
      }
      const height = Number(group.index);
      const block = blocks[height];
      if (block === undefined) return void this.#pending.add(key);
      this.#pending.delete(key);
      this.#compared++;
      if (parts[1] === 'tsa') {
        const kept = JSON.parse(fromUtf8(stored)) as { tsa?: unknown; token?: unknown };
        const served = block.timestamps?.[0];
        if (served === undefined || kept.tsa !== served.tsa || typeof kept.token !== 'string' || toHex(fromBase64(kept.token)) !== toHex(fromBase64(served.token))) bad(key, `not the time stamp the log keeps with block ${height}`);
      } else if (parts[1] === 'cosignatures') {
        const line = fromUtf8(stored).replace(/\n$/, '');
        if (parts.at(-1) !== toHex(sha256(utf8(line)))) bad(key, 'not named by the SHA-256 of its line');
        if (!splitNote(block.checkpoint).signatures.includes(line)) bad(key, `not a cosignature the log keeps with block ${height}`);
      } else bad(key, 'not an object the mirror writes');
    };
    for (let i = 0; i < keys.length; i += 16) await Promise.all(keys.slice(i, i + 16).map(compare));

    // And the bucket on its own, from genesis, as an auditor would read it.
    const source = new BucketSource(openBucket(`s3://${BUCKET}/${PREFIX}`, { endpoint: this.rgw.endpoint, region: this.rgw.region, credentials: this.rgw }), verifier);
    try {
      const { report, bucket } = await auditBucket(source, { verifierKey: verifier.text, workers: 0 });
      if (report.ok && bucket.unknownCount === 0) this.#cleanAudits++;
      else fail(`the bucket does not audit clean:\n${formatReport(report)}${bucket.unknown.join(', ')}`);
    } finally {
      await source.close();
    }
  }

  async stop(): Promise<void> {
    this.#s3.close();
    await this.rgw.stop();
  }
}
